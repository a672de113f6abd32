/* test_unary.c: the proposal source's unary classifier:
 *  - the additive-χ² map against its closed form and the kernel it approximates;
 *  - the Lab conversion, the filter bank and the gradient against plain
 *    double-precision references (direct 2-D correlation);
 *  - features: histogram blocks are distributions, deterministic, identical
 *    for 1, 2 and 3 threads;
 *  - a model trained on six synthetic images (three regions told apart by
 *    colour and texture, placed at random) labels three held-out images well;
 *  - save/load round trip gives identical probabilities;
 *  - the loader rejects a class-count mismatch, an unknown feature, a
 *    truncated file and a non-finite weight, naming the file;
 *  - for a known dataset (CamVid) it rejects class names swapped or renamed
 *    against the dataset's class table. */
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "classes.h"
#include "proposals/unary/unary_internal.h"
#include "proposals/color_lab.h"
#include "synthetic_scenes.h"
#include "test_util.h"

/* ---- χ² map ---- */

static void test_chi2(void) {
  const float xs[] = {0.0f, 1e-6f, 0.003f, 0.05f, 0.31f, 0.77f, 1.0f};
  double worst = 0;
  for (int steps = 1; steps <= 3; steps++) {
    float L = sr_chi2_default_interval(steps);
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
      float out[8];
      sr_chi2_map(xs[i], steps, L, out);
      double x = xs[i];
      for (int j = 0; j < steps; j++) {
        double f = x > 0 ? sqrt((j ? 2 : 1) * x * L / cosh(M_PI * j * L)) : 0;
        double ph = x > 0 ? j * L * log(x) : 0;
        double want_c = f * cos(ph), want_s = f * sin(ph);
        double got_c = out[j ? 2 * j - 1 : 0];
        worst = fmax(worst, fabs(got_c - want_c));
        if (j) worst = fmax(worst, fabs(out[2 * j] - want_s));
      }
    }
  }
  CHECK(worst < 2e-6, "χ² map differs from its closed form by %g", worst);
  printf("χ² map vs closed form (1-3 steps): max error %.2g\n", worst);
  /* Σψ(x)ψ(y) ≈ 2xy/(x+y): the sampling error of 3 steps at L 0.4 is
   * 0.025·(x+y) at worst on [0.001, 1] (values far apart). */
  double kworst = 0;
  for (double x = 0.001; x <= 1; x *= 1.7)
    for (double y = 0.001; y <= 1; y *= 1.7) {
      float px[5], py[5];
      sr_chi2_map((float)x, 3, 0.4f, px);
      sr_chi2_map((float)y, 3, 0.4f, py);
      double dot = 0;
      for (int i = 0; i < 5; i++) dot += (double)px[i] * py[i];
      kworst = fmax(kworst, fabs(dot - 2 * x * y / (x + y)) / (x + y));
    }
  CHECK(kworst < 0.03, "χ² map with 3 steps: kernel error %g of (x+y)", kworst);
  printf("χ² map, 3 steps: |ψ(x)·ψ(y) − 2xy/(x+y)| ≤ %.3g·(x+y)\n", kworst);
}

/* ---- pixel references ---- */

/* Direct 2-D correlation of @img at (x, y) with ky ⊗ kx, borders clamped. */
static double ref_corr(const float *img, int w, int h, int x, int y, const float *kx, int rx, const float *ky, int ry) {
  double s = 0;
  for (int dy = -ry; dy <= ry; dy++)
    for (int dx = -rx; dx <= rx; dx++) {
      int yy = y + dy < 0 ? 0 : y + dy >= h ? h - 1 : y + dy, xx = x + dx < 0 ? 0 : x + dx >= w ? w - 1 : x + dx;
      s += (double)ky[dy + ry] * kx[dx + rx] * img[(size_t)yy * w + xx];
    }
  return s;
}

static void make_texture(sr_image *img, int w, int h, uint64_t seed) {
  sr_rng r;
  sr_rng_seed(&r, seed);
  img->width = w, img->height = h, img->channels = 3;
  img->data = malloc((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        double v = 128 + 60 * sin(x * (0.3 + 0.1 * c) + y * 0.17) + 40 * (sr_rng_uniform(&r) - 0.5);
        img->data[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
}

static void test_pixels(void) {
  const int w = 61, h = 47; /* odd sizes: the texton grid's last column and row */
  sr_image img;
  make_texture(&img, w, h, 5);
  float *L = malloc(sizeof(float) * w * h), *A = malloc(sizeof(float) * w * h), *B = malloc(sizeof(float) * w * h);
  /* Lab itself is tested against its double reference in test_slic. */
  sr_lab_from_pixels(img.data, w, h, w * 3, (sr_pixel_layout){3, 0, 1, 2}, L, A, B, NULL);

  /* Filter bank at every grid point against direct 2-D correlation. */
  float k[8][3][64];
  int r[8][3];
  const float sig[4] = {1, 2, 4, 8};
  for (int i = 0; i < 4; i++)
    for (int o = 0; o < 3; o++) r[i][o] = sr_gauss_kernel(sig[i], o, k[i][o], 64);
  sr_filter_scratch *s = sr_filter_scratch_new(w);
  int gw = sr_texton_grid(w), gh = sr_texton_grid(h);
  float *resp = malloc(sizeof(float) * gw * SR_N_FILTERS);
  double bank_err = 0, bank_scale = 0;
  for (int gy = 0; gy < gh; gy++) {
    sr_filter_bank_row(L, A, B, w, h, gy, s, resp);
    for (int gx = 0; gx < gw; gx++) {
      int x = gx * SR_TEXTON_STEP, y = gy * SR_TEXTON_STEP;
      double want[SR_N_FILTERS];
      const float *planes[3] = {L, A, B};
      for (int c = 0; c < 3; c++)
        for (int i = 0; i < 3; i++) want[3 * c + i] = ref_corr(planes[c], w, h, x, y, k[i][0], r[i][0], k[i][0], r[i][0]);
      for (int i = 0; i < 4; i++)
        want[9 + i] = ref_corr(L, w, h, x, y, k[i][2], r[i][2], k[i][0], r[i][0]) +
                      ref_corr(L, w, h, x, y, k[i][0], r[i][0], k[i][2], r[i][2]);
      for (int i = 0; i < 2; i++) {
        want[13 + i] = ref_corr(L, w, h, x, y, k[i + 1][1], r[i + 1][1], k[i + 1][0], r[i + 1][0]);
        want[15 + i] = ref_corr(L, w, h, x, y, k[i + 1][0], r[i + 1][0], k[i + 1][1], r[i + 1][1]);
      }
      for (int f = 0; f < SR_N_FILTERS; f++) {
        bank_err = fmax(bank_err, fabs(resp[gx * SR_N_FILTERS + f] - want[f]));
        bank_scale = fmax(bank_scale, fabs(want[f]));
      }
    }
  }
  CHECK(bank_err < 1e-4 * bank_scale, "filter bank differs from 2-D correlation by %g (scale %g)", bank_err, bank_scale);
  printf("filter bank (17 filters, %dx%d grid) vs 2-D correlation: max error %.3g (responses up to %.3g)\n", gw, gh,
         bank_err, bank_scale);
  /* Derivative sign: intensity rising with x gives a positive x response. */
  float *ramp = malloc(sizeof(float) * w * h);
  for (int i = 0; i < w * h; i++) ramp[i] = (float)(i % w);
  sr_filter_bank_row(ramp, ramp, ramp, w, h, gh / 2, s, resp);
  CHECK(fabs(resp[(gw / 2) * SR_N_FILTERS + 13] - 1) < 1e-3, "d/dx of a unit ramp is %g", resp[(gw / 2) * SR_N_FILTERS + 13]);
  CHECK(fabs(resp[(gw / 2) * SR_N_FILTERS + 15]) < 1e-4, "d/dy of an x ramp is %g", resp[(gw / 2) * SR_N_FILTERS + 15]);
  /* LoG of the parabola x² is 2 (away from the clamped borders). */
  for (int i = 0; i < w * h; i++) ramp[i] = (float)((i % w - w / 2) * (i % w - w / 2)) * 0.01f;
  sr_filter_bank_row(ramp, ramp, ramp, w, h, gh / 2, s, resp);
  CHECK(fabs(resp[(gw / 2) * SR_N_FILTERS + 10] - 0.02) < 1e-4, "LoG σ2 of 0.01·x² is %g", resp[(gw / 2) * SR_N_FILTERS + 10]);

  /* Gradients at σ 1, 3 against the reference and atan2. */
  float *mag = malloc(sizeof(float) * 2 * w), *ori = malloc(sizeof(float) * 2 * w);
  double mag_err = 0, ori_err = 0;
  const float gsig[2] = {1, 3};
  for (int y = 0; y < h; y++) {
    sr_gradient_row(L, w, h, y, s, mag, ori);
    for (int sc = 0; sc < 2; sc++) {
      float g0[64], g1[64];
      int r0 = sr_gauss_kernel(gsig[sc], 0, g0, 64), r1 = sr_gauss_kernel(gsig[sc], 1, g1, 64);
      for (int x = 0; x < w; x++) {
        double gx = ref_corr(L, w, h, x, y, g1, r1, g0, r0), gy = ref_corr(L, w, h, x, y, g0, r0, g1, r1);
        double m = hypot(gx, gy), th = atan2(gy, gx);
        if (th < 0) th += M_PI;
        double bin = th * 9 / M_PI, d = fabs(bin - ori[sc * w + x]);
        d = fmin(d, 9 - d);
        mag_err = fmax(mag_err, fabs(m - mag[sc * w + x]));
        if (m > 0.5) ori_err = fmax(ori_err, d);
      }
    }
  }
  CHECK(mag_err < 1e-3, "gradient magnitude differs by %g", mag_err);
  CHECK(ori_err < 2e-3, "gradient orientation differs by %g bins", ori_err);
  printf("gradients σ 1, 3 vs reference: magnitude error %.3g, orientation error %.3g bins\n", mag_err, ori_err);
  free(mag), free(ori), free(ramp), free(resp), free(L), free(A), free(B);
  sr_filter_scratch_free(s);
  sr_image_clear(&img);
}

/* ---- features ---- */

/* A model with @k random textons and identity normalisation. */
static sr_unary_model *random_model(int k, int classes, uint64_t seed) {
  sr_unary_model *m = calloc(1, sizeof *m);
  m->n_classes = classes, m->n_textons = k, m->chi2_steps = 2, m->chi2_interval = 0.5f;
  sr_slic_params_default(&m->slic);
  snprintf(m->dataset, sizeof m->dataset, "synthetic");
  snprintf(m->solver, sizeof m->solver, "L2R_LR");
  if (sr_unary_model_alloc(m, NULL) != SR_OK) return NULL;
  sr_rng r;
  sr_rng_seed(&r, seed);
  fill_normal(m->textons, (size_t)k * SR_N_FILTERS, &r, 1.0);
  for (int f = 0; f < SR_N_FILTERS; f++) m->filter_mean[f] = 0, m->filter_std[f] = f < 9 ? 30.0f : 5.0f;
  fill_normal(m->weights, (size_t)classes * m->feature_dim, &r, 0.1);
  for (int c = 0; c < classes; c++) snprintf(m->classes[c].name, sizeof m->classes[c].name, "c%d", c);
  sr_unary_model_finish(m);
  return m;
}

/* Grid superpixels of @cell pixels with a jagged border (still 4-connected). */
static void grid_superpixels(int w, int h, int cell, sr_superpixels *sp) {
  int cw = (w + cell - 1) / cell, ch = (h + cell - 1) / cell;
  sp->width = w, sp->height = h, sp->n = cw * ch;
  sp->labels = malloc(sizeof(int32_t) * w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) sp->labels[y * w + x] = (y / cell) * cw + x / cell;
}

static void test_features(void) {
  const int w = 160, h = 120;
  sr_image img;
  make_texture(&img, w, h, 9);
  sr_superpixels sp;
  grid_superpixels(w, h, 10, &sp);
  sr_sp_graph g;
  sr_error err = {0};
  CHECK(sr_sp_graph_build(&sp, &g, &err) == SR_OK, "graph: %s", err.msg);
  sr_unary_model *m = random_model(16, 3, 3);
  const int D = m->feature_dim;
  CHECK(m->raw_dim == 2 * (48 + 16 + 18 + 14) + SR_N_SCALARS, "raw dim %d", m->raw_dim);
  float *f[4];
  for (int t = 0; t < 4; t++) {
    f[t] = malloc(sizeof(float) * sp.n * D);
    int threads = t == 3 ? 2 : t + 1;
    CHECK(sr_unary_features(m, &img, &sp, &g, threads, f[t], &err) == SR_OK, "features: %s", err.msg);
  }
  for (int t = 1; t < 4; t++)
    CHECK(!memcmp(f[0], f[t], sizeof(float) * sp.n * D), "features with %d threads differ from 1 thread",
          t == 3 ? 2 : t + 1);
  printf("features of %d superpixels × %d dims: identical for 1, 2, 3 threads and on a repeat\n", sp.n, D);
  /* Raw histogram blocks are distributions; scalars match the graph. */
  sr_pool *pool = sr_pool_new(2);
  float *raw = malloc(sizeof(float) * sp.n * m->raw_dim);
  CHECK(sr_unary_raw_features(m, &img, &sp, &g, pool, raw, &err) == SR_OK, "raw: %s", err.msg);
  const sr_feature_block *blocks;
  int nb = sr_feature_blocks(&blocks), bad_sum = 0, bad_scalar = 0;
  for (int i = 0; i < sp.n; i++) {
    const float *v = raw + (size_t)i * m->raw_dim;
    for (int bi = 0; bi < nb; bi++) {
      int dims = sr_feature_block_dims(&blocks[bi], m->n_textons);
      if (blocks[bi].histogram) {
        double s = 0;
        for (int d = 0; d < dims; d++) s += v[d];
        bad_sum += fabs(s - 1) > 1e-4;
      }
      v += dims;
    }
    const float *s = raw + (size_t)i * m->raw_dim + m->raw_dim - SR_N_SCALARS;
    bad_scalar += fabsf(s[0] - g.centroid[2 * i] / w) > 1e-6f || fabsf(s[6] - logf((float)g.area[i])) > 1e-5f ||
                  fabsf(s[8] - 1) > 1e-6f; /* grid cells fill their box */
  }
  CHECK(!bad_sum, "%d histogram blocks do not sum to 1", bad_sum);
  CHECK(!bad_scalar, "%d superpixels have wrong centroid/area/fill scalars", bad_scalar);
  /* The mapped vector: χ² of each histogram value. */
  float *mapped = malloc(sizeof(float) * D), want[3];
  sr_unary_map_features(m, raw, 0, mapped);
  sr_chi2_map(raw[0], 2, 0.5f, want);
  CHECK(!memcmp(mapped, want, sizeof want), "mapped feature 0..2 is not χ²(raw 0)");
  CHECK(mapped[D - 1] == raw[m->raw_dim - 1], "scalars are not passed through the map");
  printf("raw histogram blocks sum to 1; centroid, log area, bbox fill match the graph\n");
  free(mapped), free(raw);
  sr_pool_free(pool);
  for (int t = 0; t < 4; t++) free(f[t]);
  sr_unary_model_free(m);
  sr_sp_graph_clear(&g);
  sr_superpixels_clear(&sp);
  sr_image_clear(&img);
}

/* ---- training on synthetic images ---- */

/* Rewrites @src into @dst with @edit applied to the JSON header, or the
 * data cut by @cut bytes, or the float at data byte @poison set to NaN. */
static int rewrite(const char *src, const char *dst, const char *from, const char *to, size_t cut, long poison) {
  gchar *c;
  gsize n;
  if (!g_file_get_contents(src, &c, &n, NULL)) return -1;
  guint64 hlen;
  memcpy(&hlen, c, 8);
  GString *h = g_string_new_len(c + 8, (gssize)hlen);
  if (from) {
    char *at = strstr(h->str, from);
    if (!at) return -1;
    gssize pos = at - h->str;
    g_string_erase(h, pos, (gssize)strlen(from));
    g_string_insert(h, pos, to);
  }
  while (h->len % 8) g_string_append_c(h, ' ');
  guint64 nl = h->len;
  GString *out = g_string_new_len((const char *)&nl, 8);
  g_string_append_len(out, h->str, (gssize)h->len);
  size_t data_len = n - 8 - hlen - cut;
  g_string_append_len(out, c + 8 + hlen, (gssize)data_len);
  if (poison >= 0) {
    float nan = NAN;
    memcpy(out->str + 8 + nl + poison, &nan, 4);
  }
  int rc = g_file_set_contents(dst, out->str, (gssize)out->len, NULL) ? 0 : -1;
  g_string_free(out, TRUE), g_string_free(h, TRUE), g_free(c);
  return rc;
}

static void expect_reject(const char *path, const char *what, const char *needle) {
  sr_unary_model *m = NULL;
  sr_error err = {0};
  sr_status st = sr_unary_model_load(path, &m, &err);
  CHECK(st != SR_OK, "%s: loaded", what);
  CHECK(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s", what, err.msg);
  CHECK(strstr(err.msg, needle) != NULL, "%s: message lacks '%s': %s", what, needle, err.msg);
  printf("rejects %s: %s\n", what, err.msg);
  if (st == SR_OK) sr_unary_model_free(m);
}

static void progress(const char *stage, int done, int total, void *data) {
  (void)stage, (void)done, (void)total, (void)data;
}

static void test_training(void) {
  sr_dataset train, test;
  synth_dataset(6, 100, 128, 96, &train);
  synth_dataset(3, 200, 128, 96, &test);
  sr_unary_train_params p;
  sr_unary_train_params_default(&p);
  p.dataset = "synthetic";
  p.n_textons = 12, p.texton_samples = 6000, p.frame_stride = 1, p.threads = 2, p.seed = 4;
  p.slic.n_superpixels = 150;
  p.provenance = "{\"command\":\"test_unary\"}";
  sr_unary_model *m = NULL;
  sr_error err = {0};
  sr_status st = sr_unary_train(&train, &p, &m, progress, NULL, &err);
  CHECK(st == SR_OK, "training: %s", err.msg);
  if (st != SR_OK) return;
  sr_confusion conf;
  sr_confusion_init(&conf, 3);
  sr_unary_times t;
  st = sr_unary_evaluate(m, &test, 2, &conf, &t, NULL, NULL, &err);
  CHECK(st == SR_OK, "evaluation: %s", err.msg);
  double miou = sr_confusion_miou(&conf, NULL), acc = sr_confusion_pixel_accuracy(&conf);
  CHECK(miou > 80, "held-out synthetic mIoU %.1f", miou);
  printf("trained on 6 synthetic images, 3 held out: mIoU %.1f, pixel accuracy %.1f (%d superpixels)\n", miou,
         acc, t.superpixels);
  sr_confusion_clear(&conf);

  /* Round trip. */
  char dir[] = "/tmp/test_unary_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  char *path = g_build_filename(dir, "m.srunary", NULL);
  CHECK(sr_unary_model_save(m, path, &err) == SR_OK, "save: %s", err.msg);
  sr_unary_model *m2 = NULL;
  CHECK(sr_unary_model_load(path, &m2, &err) == SR_OK, "load: %s", err.msg);
  if (m2) {
    sr_superpixels sp;
    sr_sp_graph g;
    sr_slic_params sl;
    sr_unary_model_slic_params(m2, &sl);
    CHECK(sl.n_superpixels == 150 && sl.compactness == p.slic.compactness, "SLIC settings not kept");
    CHECK(sr_slic(&test.images[0], &sl, &sp, &err) == SR_OK && sr_sp_graph_build(&sp, &g, &err) == SR_OK, "%s", err.msg);
    int D = sr_unary_model_feature_dim(m);
    CHECK(D == sr_unary_model_feature_dim(m2), "feature dim %d after load, %d before", sr_unary_model_feature_dim(m2), D);
    float *f1 = malloc(sizeof(float) * sp.n * D), *f2 = malloc(sizeof(float) * sp.n * D);
    float *p1 = malloc(sizeof(float) * sp.n * 3), *p2 = malloc(sizeof(float) * sp.n * 3);
    CHECK(sr_unary_features(m, &test.images[0], &sp, &g, 1, f1, &err) == SR_OK, "%s", err.msg);
    CHECK(sr_unary_features(m2, &test.images[0], &sp, &g, 2, f2, &err) == SR_OK, "%s", err.msg);
    sr_unary_classify(m, f1, sp.n, p1);
    sr_unary_classify(m2, f2, sp.n, p2);
    CHECK(!memcmp(p1, p2, sizeof(float) * sp.n * 3), "probabilities differ after a save/load round trip");
    double rowsum = 0;
    for (int i = 0; i < sp.n; i++) rowsum = fmax(rowsum, fabs(p1[3 * i] + p1[3 * i + 1] + p1[3 * i + 2] - 1));
    CHECK(rowsum < 1e-5, "probabilities do not sum to 1 (%g)", rowsum);
    CHECK(sr_unary_model_provenance(m2) && strstr(sr_unary_model_provenance(m2), "test_unary"), "provenance lost");
    CHECK(sr_unary_model_n_classes(m2) == 3 && !strcmp(sr_unary_model_classes(m2)[2].name, "class2"), "classes lost");
    printf("save/load round trip: identical probabilities for %d superpixels\n", sp.n);
    free(f1), free(f2), free(p1), free(p2);
    sr_sp_graph_clear(&g);
    sr_superpixels_clear(&sp);
    sr_unary_model_free(m2);
  }

  /* Rejections. */
  char *bad = g_build_filename(dir, "bad.srunary", NULL);
  /* one class dropped: weights no longer match */
  gchar *text;
  g_file_get_contents(path, &text, NULL, NULL);
  char *c1 = strstr(text + 8, "\"class1\"");
  char *obj0 = c1 ? g_strrstr_len(text + 8, c1 - text - 8, "{") : NULL;
  char *obj1 = c1 ? strstr(c1, "}") : NULL;
  if (obj0 && obj1) {
    char *seg = g_strndup(obj0, obj1 - obj0 + 2); /* "{...}," */
    CHECK(!rewrite(path, bad, seg, "", 0, -1), "rewrite");
    g_free(seg);
    expect_reject(bad, "a class-count mismatch", "class count");
  } else {
    CHECK(0, "class entry not found in the header");
  }
  CHECK(!rewrite(path, bad, "\"dataset\" : \"synthetic\"", "\"dataset\" : \"camvid\"", 0, -1), "rewrite dataset");
  expect_reject(bad, "a class count unlike the dataset's", "camvid has 11 classes");
  CHECK(!rewrite(path, bad, "\"version\" : 1", "\"version\" : 2", 0, -1), "rewrite version");
  expect_reject(bad, "a newer format version", "format version 2 is newer than this build reads (1; segrank ");
  CHECK(!rewrite(path, bad, "\"grad_s3\"", "\"grad_s5\"", 0, -1), "rewrite");
  expect_reject(bad, "an unknown feature", "unknown feature 'grad_s5'");
  CHECK(!rewrite(path, bad, NULL, NULL, 100, -1), "rewrite");
  expect_reject(bad, "a truncated file", "truncated");
  long woff = 4L * (12 * SR_N_FILTERS + 2 * SR_N_FILTERS + 2 * (long)sr_unary_model_feature_dim(m) + 7);
  CHECK(!rewrite(path, bad, NULL, NULL, 0, woff), "rewrite");
  expect_reject(bad, "a non-finite weight", "weights: value 7 is not finite");
  g_free(text);
  unlink(bad), unlink(path), rmdir(dir);
  g_free(bad), g_free(path);
  sr_unary_model_free(m);
  synth_dataset_free(&train), synth_dataset_free(&test);
}

/* A CamVid model with the dataset's class table loads; the same file with
 * two classes swapped, or one renamed, does not. */
static void test_class_names(void) {
  const sr_class *camvid;
  int n = sr_dataset_classes("camvid", &camvid);
  CHECK(n == 11, "camvid has %d classes", n);
  sr_unary_model *m = random_model(4, n, 11);
  snprintf(m->dataset, sizeof m->dataset, "camvid");
  for (int c = 0; c < n; c++) m->classes[c] = camvid[c];
  char dir[] = "/tmp/test_unary_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  char *path = g_build_filename(dir, "camvid.srunary", NULL), *a = g_build_filename(dir, "a.srunary", NULL),
       *b = g_build_filename(dir, "b.srunary", NULL);
  sr_error err = {0};
  CHECK(sr_unary_model_save(m, path, &err) == SR_OK, "save: %s", err.msg);
  sr_unary_model *m2 = NULL;
  CHECK(sr_unary_model_load(path, &m2, &err) == SR_OK, "the CamVid class table is accepted: %s", err.msg);
  if (m2) sr_unary_model_free(m2);
  /* Swap Sky (0) and Building (1) through a placeholder. */
  CHECK(!rewrite(path, a, "\"Sky\"", "\"@swap@\"", 0, -1) && !rewrite(a, b, "\"Building\"", "\"Sky\"", 0, -1) &&
            !rewrite(b, a, "\"@swap@\"", "\"Building\"", 0, -1),
        "rewrite classes");
  expect_reject(a, "CamVid classes 0 and 1 swapped", "class 0 is 'Building'");
  CHECK(!rewrite(path, a, "\"Pole\"", "\"Lamppost\"", 0, -1), "rewrite class");
  expect_reject(a, "a renamed CamVid class", "class 2 is 'Lamppost'");
  unlink(a), unlink(b), unlink(path), rmdir(dir);
  g_free(a), g_free(b), g_free(path);
  sr_unary_model_free(m);
}

int main(void) {
  test_chi2();
  test_pixels();
  test_features();
  test_training();
  test_class_names();
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
