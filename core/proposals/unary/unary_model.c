/* unary_model.c: the unary model object: allocation, accessors, the
 * default model path, and classification (softmax of the linear decision
 * values). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sr_config.h"
#include "unary_internal.h"

sr_status sr_unary_model_alloc(sr_unary_model *m, sr_error *err) {
  m->raw_dim = sr_feature_raw_dim(m->n_textons);
  m->feature_dim = sr_feature_mapped_dim(m->n_textons, m->chi2_steps);
  const size_t d = (size_t)m->feature_dim, k = (size_t)m->n_classes;
  m->classes = calloc(k, sizeof *m->classes);
  m->textons = calloc((size_t)m->n_textons * SR_N_FILTERS, sizeof(float));
  m->norm_shift = calloc(d, sizeof(float));
  m->norm_scale = calloc(d, sizeof(float));
  m->weights = calloc(d * k, sizeof(float));
  m->weights_t = calloc(d * k, sizeof(float));
  m->bias = calloc(k, sizeof(float));
  if (!m->classes || !m->textons || !m->norm_shift || !m->norm_scale || !m->weights || !m->weights_t || !m->bias)
    return sr_error_set(err, SR_ERR_NOMEM, "unary model: out of memory (%zu features × %zu classes)", d, k);
  for (size_t i = 0; i < d; i++) m->norm_scale[i] = 1;
  for (int f = 0; f < SR_N_FILTERS; f++) m->filter_std[f] = 1;
  return SR_OK;
}

void sr_unary_model_finish(sr_unary_model *m) {
  const int d = m->feature_dim, k = m->n_classes;
  for (int c = 0; c < k; c++)
    for (int i = 0; i < d; i++) m->weights_t[(size_t)i * k + c] = m->weights[(size_t)c * d + i];
}

void sr_unary_model_free(sr_unary_model *m) {
  if (!m) return;
  free(m->classes), free(m->textons), free(m->norm_shift), free(m->norm_scale);
  free(m->weights), free(m->weights_t), free(m->bias), free(m->provenance);
  free(m);
}

int sr_unary_model_n_classes(const sr_unary_model *m) { return m->n_classes; }
const sr_class *sr_unary_model_classes(const sr_unary_model *m) { return m->classes; }
int sr_unary_model_feature_dim(const sr_unary_model *m) { return m->feature_dim; }
const char *sr_unary_model_provenance(const sr_unary_model *m) { return m->provenance; }

void sr_unary_model_slic_params(const sr_unary_model *m, sr_slic_params *p) {
  *p = m->slic;
  p->threads = 0;
}


void sr_unary_classify(const sr_unary_model *m, const float *features, int n, float *probs) {
  const int d = m->feature_dim, k = m->n_classes;
  for (int i = 0; i < n; i++) {
    const float *f = features + (size_t)i * d;
    float *p = probs + (size_t)i * k;
    for (int c = 0; c < k; c++) p[c] = m->bias[c];
    for (int j = 0; j < d; j++) {
      const float v = f[j];
      if (v == 0) continue;
      const float *wt = m->weights_t + (size_t)j * k;
      for (int c = 0; c < k; c++) p[c] += v * wt[c];
    }
    float mx = p[0];
    for (int c = 1; c < k; c++) mx = p[c] > mx ? p[c] : mx;
    float sum = 0;
    for (int c = 0; c < k; c++) sum += p[c] = expf(p[c] - mx);
    for (int c = 0; c < k; c++) p[c] /= sum;
  }
}
