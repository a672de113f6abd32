/* kl_score.c: eq. 17, the symmetric-KL score of a proposal against the
 * net's coarse distribution (conventions in kl_score.h). */
#include "kl_score.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../losses/losses.h"

void sr_kl_score_params_default(sr_kl_score_params *p) {
  *p = (sr_kl_score_params){.eps = 1e-6, .penalty_class = -1, .penalty_weight = 0};
}

static sr_status check_inputs(const sr_coarse_dist *p, int width, int height, const sr_kl_score_params *par,
                              sr_error *err) {
  if (!(par->eps > 0) || !isfinite(par->eps))
    return sr_error_set(err, SR_ERR_INVALID, "eq. 17: smoothing eps %g must be a positive number", par->eps);
  if (par->penalty_class < -1 || par->penalty_class >= p->k)
    return sr_error_set(err, SR_ERR_INVALID, "eq. 17: penalty class %d outside -1..%d", par->penalty_class,
                        p->k - 1);
  if (!isfinite(par->penalty_weight))
    return sr_error_set(err, SR_ERR_INVALID, "eq. 17: penalty weight %g is not finite", par->penalty_weight);
  if (!p->p || p->k < 1 || p->h < 1 || p->w < 1 || p->k > 255)
    return sr_error_set(err, SR_ERR_INVALID, "eq. 17: bad net distribution %d x %d x %d", p->k, p->h, p->w);
  if (p->h > height || p->w > width)
    return sr_error_set(err, SR_ERR_INVALID, "eq. 17: the net's %d x %d grid is finer than the %d x %d frame", p->w,
                        p->h, width, height);
  return SR_OK;
}

/* The score of the soft map @q (K × h × w, @valid h × w) against @p. */
static void score_soft(const sr_coarse_dist *p, const float *q, const uint8_t *valid, const sr_kl_score_params *par,
                       sr_kl_score *out) {
  const int K = p->k;
  const size_t plane = (size_t)p->h * p->w;
  const double norm = 1.0 + K * par->eps;
  double kl_pq = 0, kl_qp = 0, mass = 0;
  int cells = 0;
  for (size_t c = 0; c < plane; c++) {
    if (!valid[c]) continue;
    cells++;
    for (int k = 0; k < K; k++) {
      double pk = fmax((double)p->p[k * plane + c], FLT_MIN);
      double qt = ((double)q[k * plane + c] + par->eps) / norm;
      double lr = log(pk / qt);
      kl_pq += pk * lr;
      kl_qp -= qt * lr;
    }
    if (par->penalty_class >= 0) mass += q[par->penalty_class * plane + c];
  }
  out->kl_pq = kl_pq, out->kl_qp = kl_qp, out->cells = cells;
  out->penalty = par->penalty_class >= 0 ? par->penalty_weight * mass : 0;
  out->score = kl_pq + kl_qp + out->penalty;
}

typedef struct {
  float *q;
  uint8_t *valid;
} soft_buffers;

static sr_status buffers_alloc(const sr_coarse_dist *p, soft_buffers *b, sr_error *err) {
  size_t plane = (size_t)p->h * p->w;
  b->q = malloc(sizeof(float) * plane * p->k);
  b->valid = malloc(plane);
  if (!b->q || !b->valid) {
    free(b->q), free(b->valid);
    return sr_error_set(err, SR_ERR_NOMEM, "eq. 17: out of memory for a %d x %d x %d soft map", p->k, p->h, p->w);
  }
  return SR_OK;
}

static sr_status score_one(const sr_coarse_dist *p, const uint8_t *labels, int width, int height,
                           const sr_kl_score_params *par, soft_buffers *b, sr_kl_score *out, sr_error *err) {
  sr_soft_target(labels, height, width, p->k, p->h, p->w, b->q, b->valid);
  score_soft(p, b->q, b->valid, par, out);
  if (out->cells == 0) return sr_error_set(err, SR_ERR_INVALID, "eq. 17: the label map is void everywhere");
  return SR_OK;
}

sr_status sr_kl_score_labels(const sr_coarse_dist *p, const uint8_t *labels, int width, int height,
                             const sr_kl_score_params *par, sr_kl_score *out, sr_error *err) {
  sr_status st = check_inputs(p, width, height, par, err);
  if (st != SR_OK) return st;
  soft_buffers b;
  if ((st = buffers_alloc(p, &b, err)) != SR_OK) return st;
  st = score_one(p, labels, width, height, par, &b, out, err);
  free(b.q), free(b.valid);
  return st;
}

sr_status sr_kl_rerank(const sr_coarse_dist *p, const sr_proposal_set *s, int m, const sr_kl_score_params *par,
                       sr_kl_score *scores, int *best, sr_error *err) {
  sr_status st = check_inputs(p, s->width, s->height, par, err);
  if (st != SR_OK) return st;
  if (s->n_classes != p->k)
    return sr_error_set(err, SR_ERR_INVALID, "eq. 17: proposals have %d classes, the net %d", s->n_classes, p->k);
  if (s->n < 1) return sr_error_set(err, SR_ERR_INVALID, "eq. 17: no proposals to score");
  if (m <= 0 || m > s->n) m = s->n;
  soft_buffers b;
  if ((st = buffers_alloc(p, &b, err)) != SR_OK) return st;
  double lowest = INFINITY;
  *best = 0;
  for (int k = 0; k < m && st == SR_OK; k++) {
    sr_kl_score sc;
    st = score_one(p, sr_proposal_labels(s, k), s->width, s->height, par, &b, &sc, err);
    if (st != SR_OK) {
      sr_error_prefix(err, "proposal %d", k);
      break;
    }
    if (scores) scores[k] = sc;
    if (sc.score < lowest) lowest = sc.score, *best = k;
  }
  free(b.q), free(b.valid);
  return st;
}
