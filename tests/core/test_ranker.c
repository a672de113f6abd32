/* test_ranker.c: the learned re-ranker (core/rerank/ranker.h) and its
 * image classifier (image_classifier.h):
 *  - ranking SVM training recovers a known ranking: synthetic features of
 *    very different scales with per-image offsets, IoU a monotone function
 *    of a hidden weight vector; the trained ranker picks the best proposal
 *    in ≥ 90% of held-out images, its weights point along the hidden ones
 *    and a pure-noise feature gets a small weight;
 *  - pair selection (margin, cap), scoring ties and refused inputs;
 *  - the classifier learns a separable synthetic problem, its thresholds
 *    equal a plain percentile reference, classes present in all or no
 *    image give constant outputs, out-of-fold prediction equals explicit
 *    per-fold training;
 *  - the .srranker file round trip (all groups, with the classifier) and
 *    its refusals: class or feature-list mismatch (naming the first
 *    differing name), a truncated file, a NAN weight, a zero std. */
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <string.h>

#include "proposals/oracle.h"
#include "rerank/ranker.h"
#include "test_util.h"

static const sr_class three[3] = {{"Sky", {0, 0, 0}}, {"Road", {0, 0, 0}}, {"Car", {0, 0, 0}}};

/* ---- ranking SVM on synthetic data ---- */

#define N_PROP 20
#define NOISE_FEATURE 13 /* of 14 (segnet group, 3 classes) */

typedef struct {
  int n_images, dim;
  double *features, *iou; /* n_images × N_PROP × dim, n_images × N_PROP */
} synthetic;

/* Latent z ~ N(0, 1) per feature; feature = offset_d + image offset +
 * scale_d · z (scales e^-3..e^3); IoU = 50 + 40 tanh(0.5 w*·z). */
static void make_synthetic(synthetic *s, int n_images, int dim, const double *w_true, const double *scale,
                           const double *offset, sr_rng *rng) {
  s->n_images = n_images, s->dim = dim;
  s->features = malloc(sizeof(double) * n_images * N_PROP * dim);
  s->iou = malloc(sizeof(double) * n_images * N_PROP);
  double *image_offset = malloc(sizeof(double) * dim);
  for (int i = 0; i < n_images; i++) {
    for (int d = 0; d < dim; d++) image_offset[d] = scale[d] * sr_rng_normal(rng);
    for (int k = 0; k < N_PROP; k++) {
      double *f = s->features + ((size_t)i * N_PROP + k) * dim, u = 0;
      for (int d = 0; d < dim; d++) {
        double z = sr_rng_normal(rng);
        u += w_true[d] * z;
        f[d] = offset[d] + image_offset[d] + scale[d] * z;
      }
      s->iou[i * N_PROP + k] = 50 + 40 * tanh(0.5 * u);
    }
  }
  free(image_offset);
}

static void examples_of(const synthetic *s, sr_ranker_example *ex) {
  for (int i = 0; i < s->n_images; i++)
    ex[i] = (sr_ranker_example){N_PROP, s->features + (size_t)i * N_PROP * s->dim, s->iou + i * N_PROP};
}

static void test_ranking_recovery(void) {
  sr_rng rng;
  sr_rng_seed(&rng, 11);
  sr_ranker *r = NULL;
  sr_error err = {0};
  CHECK(sr_ranker_new(SR_RERANK_SEGNET, three, 3, NULL, NULL, &r, &err) == SR_OK, "%s", err.msg);
  const int D = sr_ranker_dim(r);
  CHECK(D == 14, "dim %d", D);
  double w_true[14] = {0}, scale[14], offset[14];
  for (int d = 0; d < D; d++) {
    scale[d] = exp(6 * sr_rng_uniform(&rng) - 3);
    offset[d] = 10 * sr_rng_normal(&rng);
    if (d < 6) w_true[d] = sr_rng_normal(&rng) + (d % 2 ? 0.5 : -0.5);
  }
  synthetic train, test;
  make_synthetic(&train, 80, D, w_true, scale, offset, &rng);
  make_synthetic(&test, 100, D, w_true, scale, offset, &rng);
  sr_ranker_example ex[80];
  examples_of(&train, ex);
  sr_ranker_train_params p;
  sr_ranker_train_params_default(&p);
  p.max_pairs = 100;
  CHECK(sr_ranker_train(r, ex, 80, &p, &err) == SR_OK, "%s", err.msg);
  const sr_ranker_train_info *info = sr_ranker_train_info_get(r);
  CHECK(info->trained && info->images == 80 && info->proposals == 80 * N_PROP && info->pairs == 80 * 100,
        "train info: trained %d images %d proposals %d pairs %d", info->trained, info->images, info->proposals,
        info->pairs);
  int right = 0;
  double regret = 0;
  for (int i = 0; i < test.n_images; i++) {
    int best = -1;
    double scores[N_PROP];
    CHECK(sr_ranker_score_features(r, test.features + (size_t)i * N_PROP * D, N_PROP, scores, &best, &err) == SR_OK,
          "%s", err.msg);
    int truth = 0;
    for (int k = 1; k < N_PROP; k++)
      if (test.iou[i * N_PROP + k] > test.iou[i * N_PROP + truth]) truth = k;
    right += best == truth;
    regret += test.iou[i * N_PROP + truth] - test.iou[i * N_PROP + best];
  }
  /* The weights in standardised space should be ∝ w*_d · std_d / scale_d. */
  const float *w = sr_ranker_weights(r), *sd = sr_ranker_std(r);
  double dot = 0, nw = 0, nt = 0, wmax = 0;
  for (int d = 0; d < D; d++) {
    double t = w_true[d] * sd[d] / scale[d];
    dot += w[d] * t, nw += (double)w[d] * w[d], nt += t * t;
    wmax = fmax(wmax, fabs(w[d]));
  }
  double cosine = dot / sqrt(nw * nt);
  printf("ranking SVM: held-out picks %d/%d best, mean IoU regret %.3f points, cosine to hidden weights %.4f, "
         "|w_noise|/max|w| %.4f\n",
         right, test.n_images, regret / test.n_images, cosine, fabs(w[NOISE_FEATURE]) / wmax);
  CHECK(right >= 90, "picked the best proposal in %d of 100 held-out images (want ≥ 90)", right);
  CHECK(cosine > 0.98, "cosine %g to the hidden weights", cosine);
  CHECK(fabs(w[NOISE_FEATURE]) < 0.05 * wmax, "noise feature weight %g vs max %g", w[NOISE_FEATURE], wmax);
  free(train.features), free(train.iou), free(test.features), free(test.iou);
  sr_ranker_free(r);
}

/* Pairs: margin, cap, and too few pairs; scoring: ties and bad features. */
static void test_pairs_and_scoring(void) {
  sr_ranker *r = NULL;
  sr_error err = {0};
  CHECK(sr_ranker_new(SR_RERANK_SEGNET, three, 3, NULL, NULL, &r, &err) == SR_OK, "%s", err.msg);
  const int D = sr_ranker_dim(r);
  double f[30 * 14], iou[30];
  sr_rng rng;
  sr_rng_seed(&rng, 3);
  for (int i = 0; i < 30 * D; i++) f[i] = sr_rng_normal(&rng);
  for (int k = 0; k < 30; k++) iou[k] = k;
  sr_ranker_example one = {30, f, iou};
  sr_ranker_train_params p;
  sr_ranker_train_params_default(&p);
  p.max_pairs = 0;
  CHECK(sr_ranker_train(r, &one, 1, &p, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_ranker_train_info_get(r)->pairs == 435, "uncapped pairs %d, want 30·29/2", sr_ranker_train_info_get(r)->pairs);
  p.max_pairs = 50;
  CHECK(sr_ranker_train(r, &one, 1, &p, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_ranker_train_info_get(r)->pairs == 50, "capped pairs %d", sr_ranker_train_info_get(r)->pairs);
  /* Margin: IoUs 10, 10.2, 20 → (20, 10) and (20, 10.2) only. */
  double iou3[3] = {10, 10.2, 20};
  sr_ranker_example three_props = {3, f, iou3};
  p.max_pairs = 0, p.margin = 0.5;
  CHECK(sr_ranker_train(r, &three_props, 1, &p, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_ranker_train_info_get(r)->pairs == 2, "margin pairs %d, want 2", sr_ranker_train_info_get(r)->pairs);
  double flat[3] = {40, 40.1, 40.2};
  sr_ranker_example none = {3, f, flat};
  CHECK(sr_ranker_train(r, &none, 1, &p, &err) == SR_ERR_INVALID, "no usable pairs accepted");
  printf("no pairs refused: %s\n", err.msg);
  f[5] = NAN;
  CHECK(sr_ranker_train(r, &one, 1, &p, &err) == SR_ERR_INVALID, "NaN training feature accepted");
  int best = -1;
  CHECK(sr_ranker_score_features(r, f, 2, NULL, &best, &err) == SR_ERR_INVALID, "NaN feature scored");
  f[5] = 0;
  p.C = 0;
  CHECK(sr_ranker_train(r, &one, 1, &p, &err) == SR_ERR_INVALID, "C = 0 accepted");
  sr_ranker_free(r);
  /* Ties: an untrained ranker scores everything 0 and picks index 0;
   * identical rows tie to the lower index. */
  CHECK(sr_ranker_new(SR_RERANK_SEGNET, three, 3, NULL, NULL, &r, &err) == SR_OK, "%s", err.msg);
  double s[3];
  CHECK(sr_ranker_score_features(r, f, 3, s, &best, &err) == SR_OK && best == 0 && s[0] == 0 && s[2] == 0,
        "untrained pick %d", best);
  sr_ranker_free(r);
  CHECK(sr_ranker_new(SR_RERANK_CLS, three, 3, NULL, NULL, &r, &err) == SR_ERR_INVALID, "cls group without classifier");
  printf("pairs: all 435 uncapped, cap 50, margin keeps 2 of 3; ties to index 0; bad inputs refused\n");
}

/* ---- image classifier ---- */

#define DESC 8

/* Hidden x ~ N(0, 1)^8, descriptor_d = 5d + (d+1)² x_d. Class 0 is in
 * every image, coverage 0.3 + 0.2 tanh(x0); class 1 is present iff x1 > 0,
 * coverage 0.2 + 0.2 tanh(x1); class 2 never occurs. Every label is then
 * a half-space in x (separable), except the constant ones. */
static void make_images(int n, sr_rng *rng, float *desc, double *cov) {
  for (int i = 0; i < n; i++) {
    double x[DESC];
    for (int d = 0; d < DESC; d++) {
      x[d] = sr_rng_normal(rng);
      desc[i * DESC + d] = (float)(5 * d + (d + 1) * (d + 1) * x[d]);
    }
    cov[i * 3 + 0] = 0.3 + 0.2 * tanh(x[0]);
    cov[i * 3 + 1] = x[1] > 0 ? 0.2 + 0.2 * tanh(x[1]) : 0;
    cov[i * 3 + 2] = 0;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Plain percentile (numpy's linear interpolation). */
static double percentile(const double *v, int n, double q) {
  double pos = q * (n - 1);
  int lo = (int)pos;
  return lo + 1 < n ? v[lo] + (pos - lo) * (v[lo + 1] - v[lo]) : v[lo];
}

static int true_label(int o, const double *cov, const float *thr) {
  if (o < 3) return cov[o] > SR_RERANK_PRESENCE_MIN;
  int k = (o - 3) / 4, j = (o - 3) % 4;
  return cov[k] > thr[k * 4 + j];
}

static sr_image_classifier *test_classifier(void) {
  enum { N = 200, NT = 200 };
  static float desc[N * DESC], tdesc[NT * DESC];
  static double cov[N * 3], tcov[NT * 3];
  sr_rng rng;
  sr_rng_seed(&rng, 21);
  make_images(N, &rng, desc, cov);
  make_images(NT, &rng, tdesc, tcov);
  sr_image_classifier_params p;
  sr_image_classifier_params_default(&p);
  p.C = 10;
  sr_image_classifier *c = NULL;
  sr_error err = {0};
  CHECK(sr_image_classifier_train(desc, N, DESC, cov, 3, &p, &c, &err) == SR_OK, "%s", err.msg);
  if (!c) return NULL;
  /* Thresholds against the plain reference. */
  const float *thr = sr_image_classifier_thresholds(c);
  for (int k = 0; k < 3; k++) {
    double v[N];
    int m = 0;
    for (int i = 0; i < N; i++)
      if (cov[i * 3 + k] > SR_RERANK_PRESENCE_MIN) v[m++] = cov[i * 3 + k];
    qsort(v, m, sizeof *v, cmp_double);
    for (int j = 0; j < 4; j++) {
      double want = m ? percentile(v, m, 0.2 * (j + 1)) : 1.0;
      CHECK(thr[k * 4 + j] == (float)want, "threshold class %d level %d: %g, want %g", k, j, thr[k * 4 + j], want);
    }
  }
  printf("classifier thresholds: Sky %.3f %.3f %.3f %.3f, Road %.3f .. %.3f, Car (absent) %.0f\n", thr[0], thr[1],
         thr[2], thr[3], thr[4], thr[7], thr[8]);
  /* Held-out accuracy per output; constant outputs are exactly constant. */
  int worst_right = NT, worst_o = -1;
  float s[15];
  for (int o = 0; o < 15; o++) {
    int right = 0;
    for (int i = 0; i < NT; i++) {
      CHECK(sr_image_classifier_predict(c, tdesc + i * DESC, DESC, s, &err) == SR_OK, "%s", err.msg);
      right += (s[o] > 0) == true_label(o, tcov + i * 3, thr);
    }
    if (right < worst_right) worst_right = right, worst_o = o;
  }
  printf("classifier: worst held-out output %d right on %d/%d images\n", worst_o, worst_right, NT);
  CHECK(worst_right >= 0.95 * NT, "output %d right on only %d of %d held-out images", worst_o, worst_right, NT);
  CHECK(sr_image_classifier_predict(c, tdesc, DESC - 1, s, &err) == SR_ERR_INVALID, "short descriptor accepted");
  /* Out-of-fold: equal to explicitly training without each fold. */
  int fold[N];
  for (int i = 0; i < N; i++) fold[i] = i % 3;
  static float oof[N * 15], othr[N * 12];
  CHECK(sr_image_classifier_predict_out_of_fold(desc, N, DESC, cov, 3, fold, &p, oof, othr, &err) == SR_OK, "%s",
        err.msg);
  static float sub[N * DESC];
  static double subc[N * 3];
  int same = 1, oof_right = 0;
  for (int f = 0; f < 3; f++) {
    int m = 0;
    for (int i = 0; i < N; i++)
      if (fold[i] != f) {
        memcpy(sub + m * DESC, desc + i * DESC, sizeof(float) * DESC);
        memcpy(subc + m * 3, cov + i * 3, sizeof(double) * 3);
        m++;
      }
    sr_image_classifier *cf = NULL;
    CHECK(sr_image_classifier_train(sub, m, DESC, subc, 3, &p, &cf, &err) == SR_OK, "%s", err.msg);
    for (int i = f; cf && i < N; i += 3) {
      CHECK(sr_image_classifier_predict(cf, desc + i * DESC, DESC, s, &err) == SR_OK, "%s", err.msg);
      same &= !memcmp(s, oof + i * 15, sizeof s) && !memcmp(sr_image_classifier_thresholds(cf), othr + i * 12, 48);
      oof_right += (oof[i * 15 + 1] > 0) == (cov[i * 3 + 1] > SR_RERANK_PRESENCE_MIN);
    }
    sr_image_classifier_free(cf);
  }
  printf("out-of-fold: identical to per-fold training: %s; presence of Road right on %d/%d\n", same ? "yes" : "no",
         oof_right, N);
  CHECK(same, "out-of-fold scores or thresholds differ from explicit per-fold training");
  CHECK(oof_right >= 0.9 * N, "out-of-fold presence right on %d of %d", oof_right, N);
  for (int i = 0; i < N; i++) fold[i] = 7;
  CHECK(sr_image_classifier_predict_out_of_fold(desc, N, DESC, cov, 3, fold, &p, oof, NULL, &err) == SR_ERR_INVALID,
        "a single fold accepted");
  cov[5] = 1.5;
  sr_image_classifier *bad = NULL;
  CHECK(sr_image_classifier_train(desc, N, DESC, cov, 3, &p, &bad, &err) == SR_ERR_INVALID, "coverage 1.5 accepted");
  return c;
}

/* ---- the ranker file ---- */

static char *read_all(const char *path, gsize *len) {
  gchar *c = NULL;
  g_file_get_contents(path, &c, len, NULL);
  return c;
}

static void write_all(const char *path, const char *data, gsize len) { g_file_set_contents(path, data, (gssize)len, NULL); }

/* Loads @path expecting failure whose message contains @needle. */
static void expect_refused(const char *path, const sr_class *cls, int n, const char *needle, const char *what) {
  sr_ranker *r = NULL;
  sr_error err = {0};
  sr_status st = sr_ranker_load(path, cls, n, &r, &err);
  CHECK(st == SR_ERR_FORMAT && r == NULL, "%s accepted (status %d)", what, st);
  CHECK(strstr(err.msg, path) && strstr(err.msg, needle), "%s: message '%s' lacks the path or '%s'", what, err.msg,
        needle);
  printf("refused %s: %s\n", what, err.msg);
  sr_ranker_free(r);
}

static void test_file(sr_image_classifier *cls) {
  sr_error err = {0};
  sr_ranker *r = NULL;
  CHECK(sr_ranker_new(SR_RERANK_ALL, three, 3, NULL, cls, &r, &err) == SR_OK, "%s", err.msg);
  if (!r) return;
  const int D = sr_ranker_dim(r);
  /* Train on random features so that every array is non-trivial. */
  sr_rng rng;
  sr_rng_seed(&rng, 8);
  enum { IMGS = 6, M = 8 };
  double *f = malloc(sizeof(double) * IMGS * M * D), iou[IMGS * M];
  for (int i = 0; i < IMGS * M * D; i++) f[i] = sr_rng_normal(&rng) * (1 + i % 7);
  for (int i = 0; i < IMGS * M; i++) iou[i] = 100 * sr_rng_uniform(&rng);
  sr_ranker_example ex[IMGS];
  for (int i = 0; i < IMGS; i++) ex[i] = (sr_ranker_example){M, f + (size_t)i * M * D, iou + i * M};
  sr_ranker_train_params p;
  sr_ranker_train_params_default(&p);
  CHECK(sr_ranker_train(r, ex, IMGS, &p, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_ranker_set_provenance(r, "{not json", &err) == SR_ERR_INVALID, "bad provenance accepted");
  CHECK(sr_ranker_set_provenance(r, "{\"command\": \"test_ranker\", \"folds\": 5}", &err) == SR_OK, "%s", err.msg);
  gchar *dir = g_dir_make_tmp("test_ranker-XXXXXX", NULL);
  gchar *path = g_build_filename(dir, "r.srranker", NULL), *bad = g_build_filename(dir, "bad.srranker", NULL);
  CHECK(sr_ranker_save(r, path, &err) == SR_OK, "%s", err.msg);
  sr_ranker *l = NULL;
  CHECK(sr_ranker_load(path, three, 3, &l, &err) == SR_OK, "%s", err.msg);
  if (l) {
    int same = sr_ranker_dim(l) == D && sr_ranker_groups(l) == SR_RERANK_ALL && sr_ranker_n_classes(l) == 3 &&
               sr_ranker_descriptor_dim(l) == DESC;
    for (int d = 0; same && d < D; d++)
      same = !strcmp(sr_ranker_feature_names(l)[d], sr_ranker_feature_names(r)[d]) &&
             sr_ranker_weights(l)[d] == sr_ranker_weights(r)[d] && sr_ranker_mean(l)[d] == sr_ranker_mean(r)[d] &&
             sr_ranker_std(l)[d] == sr_ranker_std(r)[d];
    const sr_ranker_train_info *a = sr_ranker_train_info_get(r), *b = sr_ranker_train_info_get(l);
    same = same && a->trained == b->trained && a->C == b->C && a->pairs == b->pairs && a->images == b->images &&
           a->margin == b->margin && a->max_pairs == b->max_pairs;
    CHECK(same, "loaded ranker differs from the saved one");
    CHECK(sr_ranker_provenance(l) && strstr(sr_ranker_provenance(l), "test_ranker"), "provenance %s",
          sr_ranker_provenance(l) ? sr_ranker_provenance(l) : "(none)");
    CHECK(sr_ranker_feature_params(l)->eps == sr_ranker_feature_params(r)->eps, "eps differs");
    /* Whole-frame scores equal (features, classifier and weights). */
    const int W = 9, H = 7, h = 3, w = 4;
    sr_proposal_set set;
    CHECK(sr_proposal_set_alloc(&set, W, H, 3, 5, &err) == SR_OK, "%s", err.msg);
    for (int k = 0; k < 5; k++) {
      for (int x = 0; x < W * H; x++) sr_proposal_labels(&set, k)[x] = (uint8_t)(sr_rng_uniform(&rng) * 3);
      set.energy[k] = set.unary[k] = 10 + k, set.pairwise[k] = 0, set.score[k] = 10 + k;
    }
    float pn[3 * h * w], desc[DESC];
    for (int c = 0; c < h * w; c++) pn[c] = 0.5f, pn[h * w + c] = 0.3f, pn[2 * h * w + c] = 0.2f;
    for (int d = 0; d < DESC; d++) desc[d] = (float)(5 * d + sr_rng_normal(&rng));
    sr_coarse_dist net = {pn, 3, h, w};
    double s1[5], s2[5];
    int b1 = -1, b2 = -2;
    CHECK(sr_ranker_score_set(r, &set, &net, desc, DESC, 0, s1, &b1, &err) == SR_OK, "%s", err.msg);
    CHECK(sr_ranker_score_set(l, &set, &net, desc, DESC, 0, s2, &b2, &err) == SR_OK, "%s", err.msg);
    CHECK(b1 == b2 && !memcmp(s1, s2, sizeof s1), "scores differ after the round trip");
    CHECK(sr_ranker_score_set(l, &set, &net, NULL, DESC, 0, s2, &b2, &err) == SR_ERR_INVALID, "no descriptor accepted");
    CHECK(sr_ranker_score_set(l, &set, NULL, desc, DESC, 0, s2, &b2, &err) == SR_ERR_INVALID, "no net accepted");
    printf("round trip: %d features, classifier %d x %d, provenance %s, frame scores identical (best %d)\n", D, 15,
           DESC, sr_ranker_provenance(l), b1);
    sr_proposal_set_clear(&set);
  }
  sr_ranker_free(l);
  /* Mismatched expectations. */
  const sr_class other[3] = {{"Sky", {0}}, {"Road", {0}}, {"Bus", {0}}};
  expect_refused(path, other, 3, "'Car'", "a class mismatch");
  expect_refused(path, three, 2, "3 classes, expected 2", "a class count mismatch");
  /* Edited copies. */
  gsize len = 0;
  char *data = read_all(path, &len);
  guint64 hlen;
  memcpy(&hlen, data, 8);
  char *copy = g_malloc(len);
  memcpy(copy, data, len);
  char *at = g_strstr_len(copy + 8, (gssize)hlen, "source.consensus");
  CHECK(at != NULL, "no source.consensus in the header");
  if (at) {
    memcpy(at, "source.consensuz", 16);
    write_all(bad, copy, len);
    expect_refused(bad, three, 3, "'source.consensuz'", "a feature-list mismatch");
  }
  write_all(bad, data, len - 4);
  expect_refused(bad, three, 3, "truncated", "a truncated file");
  write_all(bad, data, 20);
  expect_refused(bad, three, 3, "truncated", "a file cut inside its header");
  memcpy(copy, data, len);
  const float nan_value = NAN;
  memcpy(copy + 8 + hlen + (size_t)(2 * D + 1) * 4, &nan_value, 4); /* weights[1] */
  write_all(bad, copy, len);
  expect_refused(bad, three, 3, "weights: value 1 is not finite", "a NAN weight");
  memcpy(copy, data, len);
  const float zero = 0;
  memcpy(copy + 8 + hlen + (size_t)(D + 2) * 4, &zero, 4); /* std[2] */
  write_all(bad, copy, len);
  expect_refused(bad, three, 3, "not positive", "a zero std");
  memcpy(copy, data, len);
  at = g_strstr_len(copy + 8, (gssize)hlen, "segrank-ranker");
  if (at) memcpy(at, "segrank-unary ", 14);
  write_all(bad, copy, len);
  expect_refused(bad, three, 3, "not a segrank ranker", "another format");
  memcpy(copy, data, len);
  at = g_strstr_len(copy + 8, (gssize)hlen, "\"version\" : 1");
  CHECK(at != NULL, "no version member in the ranker header");
  if (at) at[strlen("\"version\" : ")] = '3';
  write_all(bad, copy, len);
  expect_refused(bad, three, 3, "format version 3 is newer than this build reads (1; segrank ", "a newer format");
  /* A header of 100000 nested arrays (json-glib would recurse off the
   * stack) and a FIFO with no writer (reading would block for ever). */
  GString *deep = g_string_new(NULL);
  guint64 deep_len = GUINT64_TO_LE(200000);
  g_string_append_len(deep, (const char *)&deep_len, 8);
  for (int i = 0; i < 200000; i++) g_string_append_c(deep, i < 100000 ? '[' : ']');
  write_all(bad, deep->str, deep->len);
  g_string_free(deep, TRUE);
  expect_refused(bad, three, 3, "nests arrays or objects deeper", "a deeply nested header");
  g_unlink(bad);
  CHECK(mkfifo(bad, 0600) == 0, "mkfifo %s", bad);
  sr_ranker *from_fifo = (sr_ranker *)&err; /* not NULL: the loader must clear it */
  CHECK(sr_ranker_load(bad, NULL, 0, &from_fifo, &err) != SR_OK && from_fifo == NULL &&
            strstr(err.msg, "not a regular file"),
        "a FIFO: %s", err.msg);
  printf("refused a FIFO: %s\n", err.msg);
  g_unlink(bad);
  sr_ranker *none = NULL;
  CHECK(sr_ranker_load("/nonexistent/r.srranker", NULL, 0, &none, &err) == SR_ERR_IO, "a missing file loaded");
  /* Saving refuses a non-finite weight (poked in for the test). */
  ((float *)sr_ranker_weights(r))[0] = NAN;
  CHECK(sr_ranker_save(r, bad, &err) == SR_ERR_INVALID, "a NAN weight was written");
  g_free(data), g_free(copy);
  g_unlink(path), g_unlink(bad), g_rmdir(dir);
  g_free(path), g_free(bad), g_free(dir);
  free(f);
  sr_ranker_free(r);
}

int main(void) {
  test_ranking_recovery();
  test_pairs_and_scoring();
  sr_image_classifier *c = test_classifier();
  if (c) test_file(c);
  sr_image_classifier_free(c);
  if (test_failures) {
    fprintf(stderr, "%d check(s) failed\n", test_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
