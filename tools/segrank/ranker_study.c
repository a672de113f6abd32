/* ranker_study.c: a split's proposals reduced to features, IoUs and
 * confusion counts (see ranker_study.h). */
#include "ranker_study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rerank/image_classifier.h"
#include "rerank/ranker.h"
#include "rerank/rerank_features.h"

void ranker_study_clear(ranker_study *st) {
  sr_rerank_feature_names_free(st->names);
  for (int g = 0; g < st->n_groups; g++) g_free(st->group_names[g]);
  free(st->group_names), free(st->count), free(st->group), free(st->features), free(st->iou), free(st->conf);
  free(st->rank);
  memset(st, 0, sizeof *st);
}

static int group_of(ranker_study *st, const char *name) {
  char *seq = g_strndup(name, strcspn(name, "_"));
  for (int g = 0; g < st->n_groups; g++)
    if (!strcmp(st->group_names[g], seq)) {
      g_free(seq);
      return g;
    }
  st->group_names = realloc(st->group_names, sizeof(char *) * (st->n_groups + 1));
  st->group_names[st->n_groups] = seq;
  return st->n_groups++;
}

sr_status ranker_study_build(const sr_dataset *ds, const char *dir, int m, const ranker_inputs *in, const float *cls,
                             const float *thr, const sr_class *classes, const sr_rerank_feature_params *par,
                             ranker_study *st, sr_error *err) {
  memset(st, 0, sizeof *st);
  const int k = in->k;
  st->n = ds->n, st->m = m, st->k = k;
  sr_status s = sr_rerank_feature_names(SR_RERANK_ALL, classes, k, &st->names, err);
  if (s != SR_OK) return s;
  st->dim = sr_rerank_feature_dim(SR_RERANK_ALL, k);
  if (st->dim < 2 || strcmp(st->names[0], "segnet.kl_pq") || strcmp(st->names[1], "segnet.kl_qp")) {
    ranker_study_clear(st); /* key_eq17 reads the first two columns */
    return sr_error_set(err, SR_ERR_INVALID, "feature list does not start with segnet.kl_pq, segnet.kl_qp");
  }
  st->count = calloc(ds->n, sizeof(int));
  st->group = calloc(ds->n, sizeof(int));
  st->features = calloc((size_t)ds->n * m * st->dim, sizeof(double));
  st->iou = calloc((size_t)ds->n * m, sizeof(double));
  st->conf = calloc((size_t)ds->n * m * k * k, sizeof(uint64_t));
  st->rank = calloc((size_t)ds->n * m, sizeof(int));
  float *zeros = calloc(SR_IMAGE_CLASSIFIER_OUTPUTS(k), sizeof(float));
  if (!st->count || !st->group || !st->features || !st->iou || !st->conf || !st->rank || !zeros) {
    free(zeros);
    ranker_study_clear(st);
    return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the features of %d images", ds->n);
  }
  sr_rerank_feature_params fp;
  sr_rerank_feature_params_default(&fp);
  if (par) fp = *par;
  sr_confusion conf;
  cli_confusion_init(&conf, k);
  double t0 = cli_now_s();
  for (int i = 0; i < ds->n && s == SR_OK; i++) {
    const sr_image *gt = &ds->labels[i];
    size_t px = (size_t)gt->width * gt->height;
    char *stem = cli_stem(ds->names[i]), *sub = g_build_filename(dir, stem, NULL);
    sr_proposal_set set = {0};
    s = sr_proposal_set_load_dir(sub, k, ds->void_label, gt->width, gt->height, m, &set, err);
    if (s == SR_OK) {
      sr_coarse_dist d = ranker_inputs_dist(in, i);
      int ncls = SR_IMAGE_CLASSIFIER_OUTPUTS(k), nthr = SR_RERANK_COVER_LEVELS * k;
      sr_rerank_input ri = {&set, &d, cls ? cls + (size_t)i * ncls : zeros, thr ? thr + (size_t)i * nthr : zeros};
      s = sr_rerank_features(SR_RERANK_ALL, &fp, &ri, m, st->features + (size_t)i * m * st->dim, err);
      if (s != SR_OK) sr_error_prefix(err, "%s", sub);
    }
    if (s == SR_OK) {
      st->count[i] = set.n < m ? set.n : m;
      st->group[i] = group_of(st, ds->names[i]);
      for (int j = 0; j < st->count[i]; j++) {
        const uint8_t *lab = sr_proposal_labels(&set, j);
        st->iou[(size_t)i * m + j] = sr_image_miou(gt->data, lab, px, k);
        st->rank[(size_t)i * m + j] = set.rank[j];
        memset(conf.m, 0, sizeof(uint64_t) * k * k);
        sr_confusion_add(&conf, gt->data, lab, px);
        memcpy(st->conf + ((size_t)i * m + j) * k * k, conf.m, sizeof(uint64_t) * k * k);
      }
    }
    sr_proposal_set_clear(&set);
    g_free(sub), g_free(stem);
    cli_progress("features", i + 1, ds->n, t0);
  }
  sr_confusion_clear(&conf);
  free(zeros);
  if (s != SR_OK) ranker_study_clear(st);
  return s;
}

void ranker_study_columns(const ranker_study *st, unsigned groups, int *cols) {
  static const struct {
    unsigned bit;
    const char *prefix;
  } parts[] = {{SR_RERANK_SEGNET, "segnet."}, {SR_RERANK_CLS, "cls."}, {SR_RERANK_SOURCE, "source."}};
  int n = 0;
  for (int d = 0; d < st->dim; d++)
    for (size_t p = 0; p < G_N_ELEMENTS(parts); p++)
      if ((groups & parts[p].bit) && g_str_has_prefix(st->names[d], parts[p].prefix)) cols[n++] = d;
}

void ranker_study_rows(const ranker_study *st, int i, const int *cols, int ncols, double *out) {
  for (int j = 0; j < st->count[i]; j++) {
    const double *row = st->features + ((size_t)i * st->m + j) * st->dim;
    for (int c = 0; c < ncols; c++) out[(size_t)j * ncols + c] = row[cols[c]];
  }
}

double ranker_study_miou(const ranker_study *st, const int *pick, const bool *use) {
  sr_confusion c;
  cli_confusion_init(&c, st->k);
  const size_t kk = (size_t)st->k * st->k;
  for (int i = 0; i < st->n; i++) {
    if ((use && !use[i]) || st->count[i] == 0) continue;
    const uint64_t *src = st->conf + ((size_t)i * st->m + pick[i]) * kk;
    for (size_t e = 0; e < kk; e++) c.m[e] += src[e];
  }
  double v = sr_confusion_miou(&c, NULL);
  sr_confusion_clear(&c);
  return v;
}

/* The index among the first min(@m, count) of image @i minimising @key. */
static int argmin_by(const ranker_study *st, int i, int m, double (*key)(const ranker_study *, int, int)) {
  int n = st->count[i] < m ? st->count[i] : m, b = 0;
  for (int j = 1; j < n; j++)
    if (key(st, i, j) < key(st, i, b)) b = j;
  return b;
}

static double key_rank(const ranker_study *st, int i, int j) { return st->rank[(size_t)i * st->m + j]; }
static double key_neg_iou(const ranker_study *st, int i, int j) { return -st->iou[(size_t)i * st->m + j]; }
static double key_eq17(const ranker_study *st, int i, int j) {
  const double *row = st->features + ((size_t)i * st->m + j) * st->dim;
  return row[0] + row[1]; /* segnet.kl_pq + segnet.kl_qp: the first two features */
}

void ranker_study_pick_map(const ranker_study *st, int m, int *pick) {
  for (int i = 0; i < st->n; i++) pick[i] = argmin_by(st, i, m, key_rank);
}
void ranker_study_pick_eq17(const ranker_study *st, int m, int *pick) {
  for (int i = 0; i < st->n; i++) pick[i] = argmin_by(st, i, m, key_eq17);
}
void ranker_study_pick_oracle(const ranker_study *st, int m, int *pick) {
  for (int i = 0; i < st->n; i++) pick[i] = argmin_by(st, i, m, key_neg_iou);
}

void ranker_study_pick_ranker(const ranker_study *s, const sr_ranker *r, const bool *use, int *pick) {
  const int nc = sr_ranker_dim(r);
  int *cols = malloc(sizeof(int) * nc);
  ranker_study_columns(s, sr_ranker_groups(r), cols);
  double *rows = malloc(sizeof(double) * s->m * nc);
  for (int i = 0; i < s->n; i++) {
    if ((use && !use[i]) || s->count[i] == 0) continue;
    ranker_study_rows(s, i, cols, nc, rows);
    sr_error e = {0};
    if (sr_ranker_score_features(r, rows, s->count[i], NULL, &pick[i], &e) != SR_OK) pick[i] = 0;
  }
  free(cols), free(rows);
}
