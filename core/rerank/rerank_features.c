/* rerank_features.c: the ranking SVM's per-proposal features (SegNet,
 * classification and source groups; definitions and names in
 * rerank_features.h). */
#include "rerank_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../losses/losses.h"

static const char *const source_scalar_names[SR_RERANK_SOURCE_SCALARS] = {
    "rank",           "inv_rank",           "is_map",          "score",          "score_missing",
    "energy",         "energy_missing",     "unary",           "unary_missing",  "pairwise",
    "pairwise_missing", "energy_gap",       "energy_gap_rel",  "energy_gap_missing", "unary_gap",
    "pairwise_gap",   "gap_parts_missing",  "map_agreement",   "consensus",
};

static const char *const segnet_class_blocks[4] = {"inter", "union", "iou", "log_uoi"};

void sr_rerank_feature_params_default(sr_rerank_feature_params *p) { p->eps = 1e-6; }

static int mask_ok(unsigned groups) { return groups && !(groups & ~(unsigned)SR_RERANK_ALL); }

int sr_rerank_feature_dim(unsigned groups, int n_classes) {
  if (!mask_ok(groups) || n_classes < 1) return 0;
  int d = 0;
  if (groups & SR_RERANK_SEGNET) d += 2 + 4 * n_classes;
  if (groups & SR_RERANK_CLS) d += (1 + SR_RERANK_COVER_LEVELS) * n_classes;
  if (groups & SR_RERANK_SOURCE) d += SR_RERANK_SOURCE_SCALARS + n_classes;
  return d;
}

void sr_rerank_feature_names_free(char **names) {
  if (!names) return;
  for (char **n = names; *n; n++) free(*n);
  free(names);
}

sr_status sr_rerank_feature_names(unsigned groups, const sr_class *classes, int n_classes, char ***out,
                                  sr_error *err) {
  *out = NULL;
  int dim = sr_rerank_feature_dim(groups, n_classes);
  if (!dim) return sr_error_set(err, SR_ERR_INVALID, "rerank features: bad group mask 0x%x or %d classes", groups, n_classes);
  for (int c = 0; c < n_classes; c++)
    if (!classes[c].name[0]) return sr_error_set(err, SR_ERR_INVALID, "rerank features: class %d has no name", c);
  char **names = calloc((size_t)dim + 1, sizeof *names);
  if (!names) return sr_error_set(err, SR_ERR_NOMEM, "rerank features: out of memory");
  int at = 0, failed = 0;
  char buf[128];
#define ADD(...)                                        \
  do {                                                  \
    snprintf(buf, sizeof buf, __VA_ARGS__);             \
    if (!(names[at++] = strdup(buf))) failed = 1;       \
  } while (0)
  if (groups & SR_RERANK_SEGNET) {
    ADD("segnet.kl_pq");
    ADD("segnet.kl_qp");
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < n_classes; c++) ADD("segnet.%s.%s", segnet_class_blocks[b], classes[c].name);
  }
  if (groups & SR_RERANK_CLS) {
    for (int c = 0; c < n_classes; c++) ADD("cls.present.%s", classes[c].name);
    for (int j = 0; j < SR_RERANK_COVER_LEVELS; j++)
      for (int c = 0; c < n_classes; c++) ADD("cls.cover%d.%s", j, classes[c].name);
  }
  if (groups & SR_RERANK_SOURCE) {
    for (int i = 0; i < SR_RERANK_SOURCE_SCALARS; i++) ADD("source.%s", source_scalar_names[i]);
    for (int c = 0; c < n_classes; c++) ADD("source.area.%s", classes[c].name);
  }
#undef ADD
  if (failed) {
    sr_rerank_feature_names_free(names);
    return sr_error_set(err, SR_ERR_NOMEM, "rerank features: out of memory");
  }
  *out = names;
  return SR_OK;
}

static const struct {
  const char *word;
  unsigned bit;
} group_words[] = {{"segnet", SR_RERANK_SEGNET}, {"cls", SR_RERANK_CLS}, {"source", SR_RERANK_SOURCE}};

sr_status sr_rerank_groups_parse(const char *text, unsigned *groups, sr_error *err) {
  unsigned g = 0;
  const char *s = text ? text : "";
  while (*s) {
    size_t n = strcspn(s, ",");
    int known = 0;
    if (n == 3 && !strncmp(s, "all", 3)) g |= SR_RERANK_ALL, known = 1;
    for (size_t i = 0; i < sizeof group_words / sizeof *group_words; i++)
      if (strlen(group_words[i].word) == n && !strncmp(s, group_words[i].word, n)) g |= group_words[i].bit, known = 1;
    if (!known)
      return sr_error_set(err, SR_ERR_INVALID, "rerank features: unknown group '%.*s' (segnet, cls, source, all)",
                          (int)n, s);
    s += n;
    if (*s == ',') s++;
  }
  if (!g) return sr_error_set(err, SR_ERR_INVALID, "rerank features: no feature group in '%s'", text ? text : "");
  *groups = g;
  return SR_OK;
}

const char *sr_rerank_groups_format(unsigned groups, char *buf, size_t len) {
  if (!len) return buf;
  buf[0] = 0;
  size_t at = 0;
  for (size_t i = 0; i < sizeof group_words / sizeof *group_words; i++) {
    if (!(groups & group_words[i].bit)) continue;
    int w = snprintf(buf + at, len - at, "%s%s", at ? "," : "", group_words[i].word);
    if (w < 0 || (size_t)w >= len - at) break;
    at += (size_t)w;
  }
  return buf;
}

/* ---- computing ---- */

static sr_status check_input(unsigned groups, const sr_rerank_feature_params *par, const sr_rerank_input *in,
                             sr_error *err) {
  if (!mask_ok(groups)) return sr_error_set(err, SR_ERR_INVALID, "rerank features: bad group mask 0x%x", groups);
  const sr_proposal_set *s = in->set;
  if (!s || s->n < 1 || s->n_classes < 1)
    return sr_error_set(err, SR_ERR_INVALID, "rerank features: no proposals to describe");
  const int C = s->n_classes;
  if (groups & SR_RERANK_SEGNET) {
    if (!(par->eps > 0) || !isfinite(par->eps))
      return sr_error_set(err, SR_ERR_INVALID, "rerank features: eps %g must be a positive number", par->eps);
    if (!in->net) return sr_error_set(err, SR_ERR_INVALID, "rerank features: the segnet group needs the net's output");
    if (in->net->k != C)
      return sr_error_set(err, SR_ERR_INVALID, "rerank features: proposals have %d classes, the net %d", C, in->net->k);
  }
  if (groups & SR_RERANK_CLS) {
    if (!in->cls_scores || !in->cls_thresholds)
      return sr_error_set(err, SR_ERR_INVALID, "rerank features: the cls group needs classifier scores and thresholds");
    for (int i = 0; i < (1 + SR_RERANK_COVER_LEVELS) * C; i++)
      if (!isfinite(in->cls_scores[i]))
        return sr_error_set(err, SR_ERR_INVALID, "rerank features: classifier score %d is not finite", i);
    for (int i = 0; i < SR_RERANK_COVER_LEVELS * C; i++)
      if (!isfinite(in->cls_thresholds[i]))
        return sr_error_set(err, SR_ERR_INVALID, "rerank features: coverage threshold %d is not finite", i);
  }
  return SR_OK;
}

/* SegNet group of one proposal: KLs via eq. 17's own code, then expected
 * intersection and union with the unsmoothed soft map. */
static sr_status segnet_features(const sr_coarse_dist *p, const uint8_t *labels, int W, int H, double eps, float *q,
                                 uint8_t *valid, double *f, sr_error *err) {
  sr_kl_score_params kp;
  sr_kl_score_params_default(&kp);
  kp.eps = eps;
  sr_kl_score kl;
  sr_status st = sr_kl_score_labels(p, labels, W, H, &kp, &kl, err);
  if (st != SR_OK) return st;
  const int C = p->k;
  const size_t plane = (size_t)p->h * p->w;
  sr_soft_target(labels, H, W, C, p->h, p->w, q, valid);
  f[0] = kl.kl_pq, f[1] = kl.kl_qp;
  double *inter = f + 2, *uni = inter + C, *iou = uni + C, *luoi = iou + C;
  for (int c = 0; c < C; c++) {
    double ei = 0, eu = 0;
    const float *pc = p->p + c * plane, *qc = q + c * plane;
    for (size_t i = 0; i < plane; i++) {
      if (!valid[i]) continue;
      double a = pc[i], b = qc[i];
      ei += a * b;
      eu += a + b - a * b;
    }
    ei /= kl.cells, eu /= kl.cells;
    inter[c] = ei, uni[c] = eu;
    iou[c] = eu > 0 ? ei / eu : 1.0;
    luoi[c] = eu <= 0 ? 0.0 : ei <= 0 ? log(SR_RERANK_UOI_CAP) : log(fmin(eu / ei, SR_RERANK_UOI_CAP));
  }
  return SR_OK;
}

/* Classification group: each score paired with the proposal's answer. */
static void cls_features(const sr_rerank_input *in, const double *coverage, int C, double *f) {
  for (int c = 0; c < C; c++) {
    double answer = coverage[c] > SR_RERANK_PRESENCE_MIN ? 1.0 : -1.0;
    f[c] = in->cls_scores[c] * answer;
  }
  for (int j = 0; j < SR_RERANK_COVER_LEVELS; j++)
    for (int c = 0; c < C; c++) {
      int at = c * SR_RERANK_COVER_LEVELS + j;
      double answer = coverage[c] > in->cls_thresholds[at] ? 1.0 : -1.0;
      f[(1 + j) * C + c] = in->cls_scores[C + at] * answer;
    }
}

static void known(double v, double *value, double *missing) {
  int ok = isfinite(v);
  *value = ok ? v : 0.0;
  *missing = ok ? 0.0 : 1.0;
}

/* Source group of proposal @k (@map: the lowest-rank proposal). */
static void source_features(const sr_proposal_set *s, int k, int map, double map_agreement, double consensus,
                            const double *counts, double px, double *f) {
  int r = s->rank[k];
  f[0] = r;
  f[1] = 1.0 / (1.0 + (r > 0 ? r : 0));
  f[2] = k == map;
  known(s->score[k], &f[3], &f[4]);
  known(s->energy[k], &f[5], &f[6]);
  known(s->unary[k], &f[7], &f[8]);
  known(s->pairwise[k], &f[9], &f[10]);
  double e = s->energy[k], e0 = s->energy[map];
  if (isfinite(e) && isfinite(e0)) {
    f[11] = e - e0;
    f[12] = (e - e0) / fmax(fabs(e0), 1e-9);
    f[13] = 0;
  } else {
    f[11] = f[12] = 0, f[13] = 1;
  }
  double u = s->unary[k], u0 = s->unary[map], w = s->pairwise[k], w0 = s->pairwise[map];
  if (isfinite(u) && isfinite(u0) && isfinite(w) && isfinite(w0)) {
    f[14] = u - u0, f[15] = w - w0, f[16] = 0;
  } else {
    f[14] = f[15] = 0, f[16] = 1;
  }
  f[17] = map_agreement;
  f[18] = consensus;
  for (int c = 0; c < s->n_classes; c++) f[SR_RERANK_SOURCE_SCALARS + c] = counts[c] / px;
}

/* Per-pixel class counts over the first @m proposals (px × C, uint16), so
 * consensus costs O(m · pixels). */
static uint16_t *pixel_class_counts(const sr_proposal_set *s, int m) {
  const size_t px = (size_t)s->width * s->height;
  const int C = s->n_classes;
  uint16_t *cnt = calloc(px * C, sizeof *cnt);
  if (!cnt) return NULL;
  for (int k = 0; k < m; k++) {
    const uint8_t *l = sr_proposal_labels(s, k);
    for (size_t i = 0; i < px; i++)
      if (l[i] < C) cnt[i * C + l[i]]++;
  }
  return cnt;
}

sr_status sr_rerank_features(unsigned groups, const sr_rerank_feature_params *par, const sr_rerank_input *in, int m,
                             double *out, sr_error *err) {
  sr_status st = check_input(groups, par, in, err);
  if (st != SR_OK) return st;
  const sr_proposal_set *s = in->set;
  if (m <= 0 || m > s->n) m = s->n;
  if (m > 65535) return sr_error_set(err, SR_ERR_INVALID, "rerank features: %d proposals is too many (65535)", m);
  const int C = s->n_classes, dim = sr_rerank_feature_dim(groups, C);
  const size_t px = (size_t)s->width * s->height;
  float *q = NULL;
  uint8_t *valid = NULL;
  uint16_t *cnt = NULL;
  double *counts = calloc(C, sizeof *counts), *coverage = calloc(C, sizeof *coverage);
  if (groups & SR_RERANK_SEGNET) {
    const sr_coarse_dist *p = in->net;
    q = malloc(sizeof(float) * (size_t)p->k * p->h * p->w);
    valid = malloc((size_t)p->h * p->w);
  }
  int map = 0;
  for (int k = 1; k < s->n; k++)
    if (s->rank[k] < s->rank[map]) map = k;
  if (groups & SR_RERANK_SOURCE) cnt = pixel_class_counts(s, m);
  if (!counts || !coverage || ((groups & SR_RERANK_SEGNET) && (!q || !valid)) ||
      ((groups & SR_RERANK_SOURCE) && !cnt))
    st = sr_error_set(err, SR_ERR_NOMEM, "rerank features: out of memory for a %dx%d frame", s->width, s->height);
  for (int k = 0; k < m && st == SR_OK; k++) {
    const uint8_t *l = sr_proposal_labels(s, k), *l0 = sr_proposal_labels(s, map);
    memset(counts, 0, sizeof(double) * C);
    double agree_map = 0, agree_all = 0, labelled = 0;
    for (size_t i = 0; i < px; i++) {
      int c = l[i];
      if (c >= C) continue;
      counts[c]++;
      if (cnt) {
        agree_map += l0[i] == c;
        agree_all += cnt[i * C + c] - 1;
      }
    }
    for (int c = 0; c < C; c++) labelled += counts[c];
    for (int c = 0; c < C; c++) coverage[c] = labelled > 0 ? counts[c] / labelled : 0.0;
    double *f = out + (size_t)k * dim;
    if (groups & SR_RERANK_SEGNET) {
      st = segnet_features(in->net, l, s->width, s->height, par->eps, q, valid, f, err);
      if (st != SR_OK) {
        sr_error_prefix(err, "rerank features: proposal %d", k);
        break;
      }
      f += 2 + 4 * C;
    }
    if (groups & SR_RERANK_CLS) {
      cls_features(in, coverage, C, f);
      f += (1 + SR_RERANK_COVER_LEVELS) * C;
    }
    if (groups & SR_RERANK_SOURCE)
      source_features(s, k, map, agree_map / (double)px, m > 1 ? agree_all / ((double)(m - 1) * px) : 0.0, counts,
                      (double)px, f);
  }
  free(q), free(valid), free(cnt), free(counts), free(coverage);
  return st;
}
