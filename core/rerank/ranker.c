/* ranker.c: the linear re-ranker in memory: construction, accessors,
 * provenance, and scoring a frame's proposals (ranker.h). */
#include "ranker.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rerank_internal.h"

void sr_ranker_free(sr_ranker *r) {
  if (!r) return;
  free(r->classes);
  sr_rerank_feature_names_free(r->names);
  free(r->mean), free(r->std), free(r->weights);
  sr_image_classifier_free(r->cls);
  free(r->provenance);
  free(r);
}

sr_status sr_ranker_new(unsigned groups, const sr_class *classes, int n_classes, const sr_rerank_feature_params *fp,
                        const sr_image_classifier *cls, sr_ranker **out, sr_error *err) {
  *out = NULL;
  if (n_classes < 1 || n_classes > 255 || !classes)
    return sr_error_set(err, SR_ERR_INVALID, "ranker: %d classes (1..255)", n_classes);
  if (groups & SR_RERANK_CLS) {
    if (!cls) return sr_error_set(err, SR_ERR_INVALID, "ranker: the cls feature group needs an image classifier");
    if (cls->n_classes != n_classes)
      return sr_error_set(err, SR_ERR_INVALID, "ranker: the image classifier has %d classes, the ranker %d",
                          cls->n_classes, n_classes);
  }
  sr_ranker *r = calloc(1, sizeof *r);
  if (!r) return sr_error_set(err, SR_ERR_NOMEM, "ranker: out of memory");
  r->groups = groups;
  r->n_classes = n_classes;
  if (fp)
    r->fp = *fp;
  else
    sr_rerank_feature_params_default(&r->fp);
  sr_status st = sr_rerank_feature_names(groups, classes, n_classes, &r->names, err);
  if (st == SR_OK) {
    r->dim = sr_rerank_feature_dim(groups, n_classes);
    r->classes = malloc(sizeof *r->classes * n_classes);
    r->mean = calloc(r->dim, sizeof(float));
    r->std = malloc(sizeof(float) * r->dim);
    r->weights = calloc(r->dim, sizeof(float));
    if (!r->classes || !r->mean || !r->std || !r->weights) st = sr_error_set(err, SR_ERR_NOMEM, "ranker: out of memory");
  }
  if (st == SR_OK) {
    memcpy(r->classes, classes, sizeof *r->classes * n_classes);
    for (int d = 0; d < r->dim; d++) r->std[d] = 1;
    if (groups & SR_RERANK_CLS) st = sr_image_classifier_copy(cls, &r->cls, err);
  }
  if (st != SR_OK) {
    sr_ranker_free(r);
    return st;
  }
  *out = r;
  return SR_OK;
}

unsigned sr_ranker_groups(const sr_ranker *r) { return r->groups; }
int sr_ranker_dim(const sr_ranker *r) { return r->dim; }
char *const *sr_ranker_feature_names(const sr_ranker *r) { return r->names; }
int sr_ranker_n_classes(const sr_ranker *r) { return r->n_classes; }
const sr_class *sr_ranker_classes(const sr_ranker *r) { return r->classes; }
const sr_rerank_feature_params *sr_ranker_feature_params(const sr_ranker *r) { return &r->fp; }
const sr_image_classifier *sr_ranker_classifier(const sr_ranker *r) { return r->cls; }
int sr_ranker_descriptor_dim(const sr_ranker *r) { return r->cls ? r->cls->dim : 0; }
const float *sr_ranker_weights(const sr_ranker *r) { return r->weights; }
const float *sr_ranker_mean(const sr_ranker *r) { return r->mean; }
const float *sr_ranker_std(const sr_ranker *r) { return r->std; }
const sr_ranker_train_info *sr_ranker_train_info_get(const sr_ranker *r) { return &r->train; }
const char *sr_ranker_provenance(const sr_ranker *r) { return r->provenance; }

sr_status sr_ranker_set_provenance(sr_ranker *r, const char *json, sr_error *err) {
  char *copy = NULL;
  if (json) {
    JsonNode *n = json_from_string(json, NULL);
    if (!n) return sr_error_set(err, SR_ERR_INVALID, "ranker: provenance is not JSON: %.80s", json);
    json_node_unref(n);
    if (!(copy = strdup(json))) return sr_error_set(err, SR_ERR_NOMEM, "ranker: out of memory");
  }
  free(r->provenance);
  r->provenance = copy;
  return SR_OK;
}

sr_status sr_ranker_score_features(const sr_ranker *r, const double *f, int n, double *scores, int *best,
                                   sr_error *err) {
  if (n < 1) return sr_error_set(err, SR_ERR_INVALID, "ranker: no proposals to score");
  double top = -INFINITY;
  *best = 0;
  for (int i = 0; i < n; i++) {
    const double *fi = f + (size_t)i * r->dim;
    double s = 0;
    for (int d = 0; d < r->dim; d++) {
      if (!isfinite(fi[d]))
        return sr_error_set(err, SR_ERR_INVALID, "ranker: proposal %d feature %s is not finite", i, r->names[d]);
      s += r->weights[d] * ((fi[d] - r->mean[d]) / r->std[d]);
    }
    if (scores) scores[i] = s;
    if (s > top) top = s, *best = i;
  }
  return SR_OK;
}

sr_status sr_ranker_score_set(const sr_ranker *r, const sr_proposal_set *set, const sr_coarse_dist *net,
                              const float *descriptor, int descriptor_dim, int m, double *scores, int *best,
                              sr_error *err) {
  if (!set || set->n < 1) return sr_error_set(err, SR_ERR_INVALID, "ranker: no proposals to score");
  if (set->n_classes != r->n_classes)
    return sr_error_set(err, SR_ERR_INVALID, "ranker: proposals have %d classes, the ranker %d", set->n_classes,
                        r->n_classes);
  if (m <= 0 || m > set->n) m = set->n;
  float *cls_scores = NULL;
  double *f = malloc(sizeof(double) * (size_t)m * r->dim);
  sr_status st = f ? SR_OK : sr_error_set(err, SR_ERR_NOMEM, "ranker: out of memory");
  sr_rerank_input in = {.set = set, .net = net};
  if (st == SR_OK && r->cls) {
    if (!descriptor) {
      st = sr_error_set(err, SR_ERR_INVALID, "ranker: the cls feature group needs the image descriptor");
    } else if (!(cls_scores = malloc(sizeof(float) * r->cls->n_outputs))) {
      st = sr_error_set(err, SR_ERR_NOMEM, "ranker: out of memory");
    } else {
      st = sr_image_classifier_predict(r->cls, descriptor, descriptor_dim, cls_scores, err);
      in.cls_scores = cls_scores, in.cls_thresholds = r->cls->thresholds;
    }
  }
  if (st == SR_OK) st = sr_rerank_features(r->groups, &r->fp, &in, m, f, err);
  if (st == SR_OK) st = sr_ranker_score_features(r, f, m, scores, best, err);
  free(f), free(cls_scores);
  return st;
}
