/* ranker_train.c: the ranking SVM: feature standardisation, per-image
 * pairs ordered by IoU (margin, cap, best-first sampling), the pairwise
 * difference transform and liblinear without bias (details in ranker.h). */
#include <linear.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../rng.h"
#include "rerank_internal.h"

void sr_ranker_train_params_default(sr_ranker_train_params *p) {
  *p = (sr_ranker_train_params){.C = 1.0, .margin = 0.5, .max_pairs = 200, .seed = 1};
}

typedef struct {
  int image, better, worse;
} rank_pair;

static void shuffle(rank_pair *a, int n, sr_rng *rng) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(sr_rng_uniform(rng) * (i + 1));
    if (j > i) j = i;
    rank_pair t = a[i];
    a[i] = a[j], a[j] = t;
  }
}

/* The kept pairs of image @img, appended at @out (room for n(n−1)/2). */
static int image_pairs(const sr_ranker_example *e, int img, const sr_ranker_train_params *p, sr_rng *rng,
                       rank_pair *out) {
  int best = 0;
  for (int i = 1; i < e->n; i++)
    if (e->iou[i] > e->iou[best]) best = i;
  int n_best = 0, n = 0;
  /* Pairs with the best proposal first, then the others. */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < e->n; i++)
      for (int j = i + 1; j < e->n; j++) {
        if ((i == best || j == best) != (pass == 0)) continue;
        double d = e->iou[i] - e->iou[j];
        if (fabs(d) < p->margin || d == 0) continue;
        out[n++] = d > 0 ? (rank_pair){img, i, j} : (rank_pair){img, j, i};
        n_best += pass == 0;
      }
  shuffle(out, n_best, rng);
  shuffle(out + n_best, n - n_best, rng);
  return p->max_pairs > 0 && n > p->max_pairs ? p->max_pairs : n;
}

static void quiet(const char *s) { (void)s; }

static sr_status check_examples(const sr_ranker *r, const sr_ranker_example *ex, int n_ex,
                                const sr_ranker_train_params *p, sr_error *err) {
  if (!(p->C > 0) || !isfinite(p->C) || !(p->margin >= 0) || !isfinite(p->margin))
    return sr_error_set(err, SR_ERR_INVALID, "train-ranker: C %g must be positive, margin %g ≥ 0", p->C, p->margin);
  if (n_ex < 1) return sr_error_set(err, SR_ERR_INVALID, "train-ranker: no training images");
  for (int e = 0; e < n_ex; e++) {
    if (ex[e].n < 0 || (ex[e].n > 0 && (!ex[e].features || !ex[e].iou)))
      return sr_error_set(err, SR_ERR_INVALID, "train-ranker: image %d: bad proposal list", e);
    for (int i = 0; i < ex[e].n; i++) {
      if (!isfinite(ex[e].iou[i]))
        return sr_error_set(err, SR_ERR_INVALID, "train-ranker: image %d proposal %d: IoU is not finite", e, i);
      for (int d = 0; d < r->dim; d++)
        if (!isfinite(ex[e].features[(size_t)i * r->dim + d]))
          return sr_error_set(err, SR_ERR_INVALID, "train-ranker: image %d proposal %d: feature %s is not finite", e,
                              i, r->names[d]);
    }
  }
  return SR_OK;
}

static int fit_normalisation(sr_ranker *r, const sr_ranker_example *ex, int n_ex) {
  const int D = r->dim;
  double *sum = calloc(D, sizeof(double)), *ss = calloc(D, sizeof(double));
  if (!sum || !ss) {
    free(sum), free(ss);
    return -1;
  }
  long n = 0;
  for (int e = 0; e < n_ex; e++)
    for (int i = 0; i < ex[e].n; i++, n++)
      for (int d = 0; d < D; d++) sum[d] += ex[e].features[(size_t)i * D + d];
  for (int d = 0; d < D; d++) sum[d] = n ? sum[d] / n : 0;
  for (int e = 0; e < n_ex; e++)
    for (int i = 0; i < ex[e].n; i++)
      for (int d = 0; d < D; d++) {
        double v = ex[e].features[(size_t)i * D + d] - sum[d];
        ss[d] += v * v;
      }
  for (int d = 0; d < D; d++) {
    double sd = n ? sqrt(ss[d] / n) : 0;
    r->mean[d] = (float)sum[d];
    r->std[d] = sd > 1e-12 && isfinite((float)sd) ? (float)sd : 1.0f;
  }
  free(sum), free(ss);
  return 0;
}

sr_status sr_ranker_train(sr_ranker *r, const sr_ranker_example *ex, int n_ex, const sr_ranker_train_params *p,
                          sr_error *err) {
  sr_status st = check_examples(r, ex, n_ex, p, err);
  if (st != SR_OK) return st;
  const int D = r->dim;
  if (fit_normalisation(r, ex, n_ex)) return sr_error_set(err, SR_ERR_NOMEM, "train-ranker: out of memory");
  /* Pairs. */
  size_t cap = 0, scratch = 0;
  long proposals = 0;
  for (int e = 0; e < n_ex; e++) {
    size_t all = (size_t)ex[e].n * (ex[e].n > 0 ? ex[e].n - 1 : 0) / 2;
    if (all > scratch) scratch = all;
    cap += p->max_pairs > 0 && all > (size_t)p->max_pairs ? (size_t)p->max_pairs : all;
    proposals += ex[e].n;
  }
  rank_pair *pairs = malloc(sizeof *pairs * (cap ? cap : 1)), *tmp = malloc(sizeof *tmp * (scratch ? scratch : 1));
  if (!pairs || !tmp) {
    free(pairs), free(tmp);
    return sr_error_set(err, SR_ERR_NOMEM, "train-ranker: out of memory for %zu pairs", cap);
  }
  sr_rng rng;
  sr_rng_seed(&rng, p->seed);
  size_t n_pairs = 0;
  for (int e = 0; e < n_ex; e++) {
    int k = image_pairs(&ex[e], e, p, &rng, tmp);
    memcpy(pairs + n_pairs, tmp, sizeof *tmp * k);
    n_pairs += k;
  }
  free(tmp);
  if (n_pairs < 2) {
    free(pairs);
    return sr_error_set(err, SR_ERR_INVALID,
                        "train-ranker: %zu usable pairs (proposals whose IoU differs by ≥ %g within an image); need 2",
                        n_pairs, p->margin);
  }
  if (n_pairs > (size_t)1 << 30) {
    free(pairs);
    return sr_error_set(err, SR_ERR_INVALID, "train-ranker: %zu pairs is too many: lower max_pairs", n_pairs);
  }
  /* Pairwise differences of standardised features, alternating orientation. */
  struct feature_node *nodes = malloc(sizeof *nodes * n_pairs * (D + 1));
  struct feature_node **rows = malloc(sizeof *rows * n_pairs);
  double *y = malloc(sizeof(double) * n_pairs);
  if (!nodes || !rows || !y) {
    free(pairs), free(nodes), free(rows), free(y);
    return sr_error_set(err, SR_ERR_NOMEM, "train-ranker: out of memory for %zu pairs x %d features", n_pairs, D);
  }
  for (size_t t = 0; t < n_pairs; t++) {
    const sr_ranker_example *e = &ex[pairs[t].image];
    const double *a = e->features + (size_t)pairs[t].better * D, *b = e->features + (size_t)pairs[t].worse * D;
    double sign = t % 2 ? -1.0 : 1.0;
    struct feature_node *row = rows[t] = nodes + t * (D + 1);
    int at = 0;
    for (int d = 0; d < D; d++) {
      double v = sign * (a[d] - b[d]) / r->std[d];
      if (v != 0) row[at++] = (struct feature_node){d + 1, v};
    }
    row[at] = (struct feature_node){-1, 0};
    y[t] = sign;
  }
  free(pairs);
  struct problem prob = {.l = (int)n_pairs, .n = D, .y = y, .x = rows, .bias = -1};
  struct parameter param = {.solver_type = L2R_L2LOSS_SVC, .eps = 0.01, .C = p->C};
  set_print_string_function(quiet);
  struct model *lm = train(&prob, &param);
  free(nodes), free(rows), free(y);
  if (!lm) return sr_error_set(err, SR_ERR_NOMEM, "train-ranker: liblinear failed (out of memory?)");
  double sign = lm->label[0] == -1 ? -1.0 : 1.0; /* w scores liblinear's first label */
  for (int d = 0; d < D; d++) r->weights[d] = (float)(sign * lm->w[d]);
  free_and_destroy_model(&lm);
  r->train = (sr_ranker_train_info){.trained = 1,
                                    .C = p->C,
                                    .margin = p->margin,
                                    .max_pairs = p->max_pairs,
                                    .images = n_ex,
                                    .proposals = (int)proposals,
                                    .pairs = (int)n_pairs};
  return SR_OK;
}
