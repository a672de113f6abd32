/* image_classifier.c: the image-level presence and coverage SVMs of the
 * classification features: coverage thresholds, descriptor
 * standardisation, liblinear training, prediction, and out-of-fold
 * prediction (conventions in image_classifier.h). */
#include <linear.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rerank_internal.h"

#define CONSTANT_DECISION 1.0f

void sr_label_coverage(const uint8_t *labels, size_t n, int n_classes, double *coverage) {
  size_t counts[256] = {0}, total = 0;
  for (size_t i = 0; i < n; i++)
    if (labels[i] < n_classes) counts[labels[i]]++, total++;
  for (int c = 0; c < n_classes; c++) coverage[c] = total ? (double)counts[c] / (double)total : 0.0;
}

void sr_image_classifier_params_default(sr_image_classifier_params *p) { p->C = 1.0; }

void sr_image_classifier_free(sr_image_classifier *c) {
  if (!c) return;
  free(c->desc_mean), free(c->desc_std), free(c->weights), free(c->bias), free(c->thresholds);
  free(c);
}

sr_status sr_image_classifier_alloc(int n_classes, int dim, sr_image_classifier **out, sr_error *err) {
  *out = NULL;
  if (n_classes < 1 || n_classes > 255 || dim < 1 || dim > (1 << 24))
    return sr_error_set(err, SR_ERR_INVALID, "image classifier: %d classes (1..255), descriptor length %d", n_classes,
                        dim);
  sr_image_classifier *c = calloc(1, sizeof *c);
  if (!c) return sr_error_set(err, SR_ERR_NOMEM, "image classifier: out of memory");
  c->n_classes = n_classes, c->dim = dim, c->n_outputs = SR_IMAGE_CLASSIFIER_OUTPUTS(n_classes);
  c->desc_mean = calloc(dim, sizeof(float));
  c->desc_std = calloc(dim, sizeof(float));
  c->weights = calloc((size_t)c->n_outputs * dim, sizeof(float));
  c->bias = calloc(c->n_outputs, sizeof(float));
  c->thresholds = calloc((size_t)n_classes * SR_RERANK_COVER_LEVELS, sizeof(float));
  if (!c->desc_mean || !c->desc_std || !c->weights || !c->bias || !c->thresholds) {
    sr_image_classifier_free(c);
    return sr_error_set(err, SR_ERR_NOMEM, "image classifier: out of memory for %d x %d weights", c->n_outputs, dim);
  }
  *out = c;
  return SR_OK;
}

sr_status sr_image_classifier_copy(const sr_image_classifier *c, sr_image_classifier **out, sr_error *err) {
  sr_status st = sr_image_classifier_alloc(c->n_classes, c->dim, out, err);
  if (st != SR_OK) return st;
  sr_image_classifier *d = *out;
  d->C = c->C;
  memcpy(d->desc_mean, c->desc_mean, sizeof(float) * c->dim);
  memcpy(d->desc_std, c->desc_std, sizeof(float) * c->dim);
  memcpy(d->weights, c->weights, sizeof(float) * (size_t)c->n_outputs * c->dim);
  memcpy(d->bias, c->bias, sizeof(float) * c->n_outputs);
  memcpy(d->thresholds, c->thresholds, sizeof(float) * (size_t)c->n_classes * SR_RERANK_COVER_LEVELS);
  return SR_OK;
}

int sr_image_classifier_n_classes(const sr_image_classifier *c) { return c->n_classes; }
int sr_image_classifier_dim(const sr_image_classifier *c) { return c->dim; }
const float *sr_image_classifier_thresholds(const sr_image_classifier *c) { return c->thresholds; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Percentiles 20, 40, 60, 80 of each class's coverage over the images that
 * contain it (linear interpolation); 1 for a class no image contains. */
static sr_status fit_thresholds(sr_image_classifier *c, const double *coverage, int n, sr_error *err) {
  const int C = c->n_classes;
  double *v = malloc(sizeof(double) * n);
  if (!v) return sr_error_set(err, SR_ERR_NOMEM, "image classifier: out of memory");
  for (int k = 0; k < C; k++) {
    int m = 0;
    for (int i = 0; i < n; i++)
      if (coverage[(size_t)i * C + k] > SR_RERANK_PRESENCE_MIN) v[m++] = coverage[(size_t)i * C + k];
    qsort(v, m, sizeof *v, cmp_double);
    for (int j = 0; j < SR_RERANK_COVER_LEVELS; j++) {
      double t = 1.0;
      if (m > 0) {
        double pos = 0.2 * (j + 1) * (m - 1);
        int lo = (int)floor(pos);
        int hi = lo + 1 < m ? lo + 1 : lo;
        t = v[lo] + (pos - lo) * (v[hi] - v[lo]);
      }
      c->thresholds[k * SR_RERANK_COVER_LEVELS + j] = (float)t;
    }
  }
  free(v);
  return SR_OK;
}

/* The label of output @o for an image of coverage @cov. */
static int output_label(const sr_image_classifier *c, int o, const double *cov) {
  const int C = c->n_classes;
  if (o < C) return cov[o] > SR_RERANK_PRESENCE_MIN;
  int k = (o - C) / SR_RERANK_COVER_LEVELS, j = (o - C) % SR_RERANK_COVER_LEVELS;
  return cov[k] > c->thresholds[k * SR_RERANK_COVER_LEVELS + j];
}

static void quiet(const char *s) { (void)s; }

static sr_status check_train_inputs(const float *x, int n, int dim, const double *coverage, int n_classes,
                                    const sr_image_classifier_params *p, sr_error *err) {
  if (n < 2 || dim < 1 || n_classes < 1 || n_classes > 255)
    return sr_error_set(err, SR_ERR_INVALID, "image classifier: need ≥ 2 images, a descriptor, 1..255 classes (got %d, %d, %d)",
                        n, dim, n_classes);
  if (!(p->C > 0) || !isfinite(p->C))
    return sr_error_set(err, SR_ERR_INVALID, "image classifier: C %g must be positive", p->C);
  for (size_t i = 0; i < (size_t)n * dim; i++)
    if (!isfinite(x[i]))
      return sr_error_set(err, SR_ERR_INVALID, "image classifier: descriptor %zu value %zu is not finite", i / dim,
                          i % dim);
  for (size_t i = 0; i < (size_t)n * n_classes; i++)
    if (!(coverage[i] >= 0 && coverage[i] <= 1))
      return sr_error_set(err, SR_ERR_INVALID, "image classifier: image %zu coverage of class %zu is %g (not in [0, 1])",
                          i / n_classes, i % n_classes, coverage[i]);
  return SR_OK;
}

sr_status sr_image_classifier_train(const float *x, int n, int dim, const double *coverage, int n_classes,
                                    const sr_image_classifier_params *p, sr_image_classifier **out, sr_error *err) {
  *out = NULL;
  sr_status st = check_train_inputs(x, n, dim, coverage, n_classes, p, err);
  if (st != SR_OK) return st;
  sr_image_classifier *c;
  if ((st = sr_image_classifier_alloc(n_classes, dim, &c, err)) != SR_OK) return st;
  c->C = p->C;
  for (int d = 0; d < dim; d++) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) s += x[(size_t)i * dim + d];
    double mean = s / n;
    for (int i = 0; i < n; i++) s2 += (x[(size_t)i * dim + d] - mean) * (x[(size_t)i * dim + d] - mean);
    double sd = sqrt(s2 / n);
    c->desc_mean[d] = (float)mean;
    c->desc_std[d] = sd > 1e-12 ? (float)sd : 1.0f;
  }
  if ((st = fit_thresholds(c, coverage, n, err)) != SR_OK) {
    sr_image_classifier_free(c);
    return st;
  }
  /* Dense standardised rows plus the bias node and the terminator. */
  struct feature_node *nodes = malloc(sizeof *nodes * (size_t)n * (dim + 2));
  struct feature_node **rows = malloc(sizeof *rows * n);
  double *y = malloc(sizeof(double) * n);
  if (!nodes || !rows || !y) st = sr_error_set(err, SR_ERR_NOMEM, "image classifier: out of memory for %d x %d", n, dim);
  for (int i = 0; st == SR_OK && i < n; i++) {
    struct feature_node *r = rows[i] = nodes + (size_t)i * (dim + 2);
    for (int d = 0; d < dim; d++)
      r[d] = (struct feature_node){d + 1, (x[(size_t)i * dim + d] - c->desc_mean[d]) / c->desc_std[d]};
    r[dim] = (struct feature_node){dim + 1, 1.0};
    r[dim + 1] = (struct feature_node){-1, 0};
  }
  set_print_string_function(quiet);
  for (int o = 0; st == SR_OK && o < c->n_outputs; o++) {
    int positives = 0;
    for (int i = 0; i < n; i++) positives += (y[i] = output_label(c, o, coverage + (size_t)i * n_classes) ? 1 : -1) > 0;
    float *w = c->weights + (size_t)o * dim;
    if (positives == 0 || positives == n) {
      c->bias[o] = positives ? CONSTANT_DECISION : -CONSTANT_DECISION;
      continue;
    }
    struct problem prob = {.l = n, .n = dim + 1, .y = y, .x = rows, .bias = 1};
    struct parameter param = {.solver_type = L2R_L2LOSS_SVC, .eps = 0.01, .C = p->C};
    struct model *lm = train(&prob, &param);
    if (!lm) {
      st = sr_error_set(err, SR_ERR_NOMEM, "image classifier: liblinear failed on output %d (out of memory?)", o);
      break;
    }
    double sign = lm->label[0] == -1 ? -1.0 : 1.0; /* w scores liblinear's first label */
    for (int d = 0; d < dim; d++) w[d] = (float)(sign * lm->w[d]);
    c->bias[o] = (float)(sign * lm->w[dim]);
    free_and_destroy_model(&lm);
  }
  free(nodes), free(rows), free(y);
  if (st != SR_OK) {
    sr_image_classifier_free(c);
    return st;
  }
  *out = c;
  return SR_OK;
}

sr_status sr_image_classifier_predict(const sr_image_classifier *c, const float *x, int dim, float *scores,
                                      sr_error *err) {
  if (dim != c->dim)
    return sr_error_set(err, SR_ERR_INVALID, "image classifier: descriptor length %d, the classifier takes %d", dim,
                        c->dim);
  for (int d = 0; d < dim; d++)
    if (!isfinite(x[d])) return sr_error_set(err, SR_ERR_INVALID, "image classifier: descriptor value %d is not finite", d);
  for (int o = 0; o < c->n_outputs; o++) {
    const float *w = c->weights + (size_t)o * dim;
    double s = c->bias[o];
    for (int d = 0; d < dim; d++) s += w[d] * ((x[d] - c->desc_mean[d]) / c->desc_std[d]);
    scores[o] = (float)s;
  }
  return SR_OK;
}

sr_status sr_image_classifier_predict_out_of_fold(const float *x, int n, int dim, const double *coverage,
                                                  int n_classes, const int *fold,
                                                  const sr_image_classifier_params *p, float *scores,
                                                  float *thresholds, sr_error *err) {
  sr_status st = check_train_inputs(x, n, dim, coverage, n_classes, p, err);
  if (st != SR_OK) return st;
  float *tx = malloc(sizeof(float) * (size_t)n * dim);
  double *tc = malloc(sizeof(double) * (size_t)n * n_classes);
  uint8_t *done = calloc(n, 1);
  if (!tx || !tc || !done) st = sr_error_set(err, SR_ERR_NOMEM, "image classifier: out of memory");
  int folds = 0;
  for (int i = 0; st == SR_OK && i < n; i++) {
    if (done[i]) continue;
    int f = fold[i], m = 0;
    for (int j = 0; j < n; j++) {
      if (fold[j] == f) continue;
      memcpy(tx + (size_t)m * dim, x + (size_t)j * dim, sizeof(float) * dim);
      memcpy(tc + (size_t)m * n_classes, coverage + (size_t)j * n_classes, sizeof(double) * n_classes);
      m++;
    }
    if (m == 0) {
      st = sr_error_set(err, SR_ERR_INVALID, "image classifier: out-of-fold prediction needs at least two folds");
      break;
    }
    sr_image_classifier *c;
    st = sr_image_classifier_train(tx, m, dim, tc, n_classes, p, &c, err);
    if (st != SR_OK) {
      sr_error_prefix(err, "training without fold %d", f);
      break;
    }
    for (int j = 0; st == SR_OK && j < n; j++) {
      if (fold[j] != f) continue;
      st = sr_image_classifier_predict(c, x + (size_t)j * dim, dim, scores + (size_t)j * c->n_outputs, err);
      const size_t nt = (size_t)n_classes * SR_RERANK_COVER_LEVELS;
      if (thresholds) memcpy(thresholds + (size_t)j * nt, c->thresholds, sizeof(float) * nt);
      done[j] = 1;
    }
    sr_image_classifier_free(c);
    folds++;
  }
  free(tx), free(tc), free(done);
  return st;
}
