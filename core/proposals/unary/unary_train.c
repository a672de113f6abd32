/* unary_train.c: training the unary classifier on a labelled dataset:
 *  1. texton dictionary: filter-bank responses at random grid points of the
 *     training frames, standardised per filter, k-means (textons.c);
 *  2. per training frame (every frame_stride-th): SLIC superpixels, raw
 *     features, each superpixel labelled with its majority non-void class;
 *  3. normalisation: scalars to zero mean and unit variance; every χ²-mapped
 *     histogram block scaled (not shifted, so it stays sparse) to unit mean
 *     square per dimension;
 *  4. liblinear L2-regularised logistic regression (primal trust-region
 *     Newton, deterministic), one-vs-rest, the classes trained in parallel.
 * liblinear has no per-instance weights, so the sample weight (non-void
 * pixels × class frequency^−exponent) is realised by systematic resampling:
 * each superpixel enters the problem ⌊·⌋ or ⌈·⌉ of RESAMPLE · weight / mean
 * weight times (repeated pointers, no copies of the data). */
#include <linear.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../classes.h"
#include "unary_internal.h"

#define RESAMPLE 2.0
#define KMEANS_SEED_SALT 0x7465787475726573ull

void sr_unary_train_params_default(sr_unary_train_params *p) {
  memset(p, 0, sizeof *p);
  p->dataset = "camvid";
  p->n_textons = 64;
  p->texton_samples = 400000;
  p->frame_stride = 1;
  p->class_weight_exponent = 0.5;
  p->C = 0.1; /* leave-one-sequence-out on CamVid train: 0.1 beat 1 on every held-out sequence */
  sr_slic_params_default(&p->slic);
  p->threads = 0;
  p->seed = 1;
}

typedef struct {
  int n, cap, raw_dim;
  float *raw;
  uint8_t *label;
  int *pixels; /* non-void pixels */
} sample_set;

static int samples_reserve(sample_set *s, int more) {
  if (s->n + more <= s->cap) return 0;
  int cap = s->cap ? s->cap : 4096;
  while (cap < s->n + more) cap *= 2;
  float *raw = realloc(s->raw, sizeof(float) * (size_t)cap * s->raw_dim);
  if (raw) s->raw = raw;
  uint8_t *label = realloc(s->label, cap);
  if (label) s->label = label;
  int *pixels = realloc(s->pixels, sizeof(int) * cap);
  if (pixels) s->pixels = pixels;
  if (!raw || !label || !pixels) return -1;
  s->cap = cap;
  return 0;
}

static void report(void (*progress)(const char *, int, int, void *), void *data, const char *stage, int done,
                   int total) {
  if (progress) progress(stage, done, total, data);
}

/* Step 1. */
static sr_status learn_textons(const sr_dataset *ds, const int *frames, int n_frames, const sr_unary_train_params *p,
                               sr_pool *pool, sr_unary_model *m,
                               void (*progress)(const char *, int, int, void *), void *data, sr_error *err) {
  const int per_frame = (p->texton_samples + n_frames - 1) / n_frames;
  float *x = malloc(sizeof(float) * (size_t)per_frame * n_frames * SR_N_FILTERS);
  if (!x) return sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory for %d texton samples", p->texton_samples);
  sr_rng rng;
  sr_rng_seed(&rng, p->seed);
  int n = 0;
  sr_status st = SR_OK;
  for (int f = 0; f < n_frames && st == SR_OK; f++) {
    const sr_image *img = &ds->images[frames[f]];
    int gw = sr_texton_grid(img->width), gh = sr_texton_grid(img->height);
    float *resp = malloc(sizeof(float) * (size_t)gw * gh * SR_N_FILTERS);
    if (!resp) {
      st = sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory");
      break;
    }
    st = sr_unary_frame_responses(img, pool, resp, err);
    for (int s = 0; st == SR_OK && s < per_frame; s++) {
      size_t at = (size_t)(sr_rng_uniform(&rng) * gw * gh);
      memcpy(x + (size_t)n++ * SR_N_FILTERS, resp + at * SR_N_FILTERS, sizeof(float) * SR_N_FILTERS);
    }
    free(resp);
    report(progress, data, "texton responses", f + 1, n_frames);
  }
  if (st == SR_OK) {
    for (int d = 0; d < SR_N_FILTERS; d++) {
      double s = 0, s2 = 0;
      for (int i = 0; i < n; i++) s += x[(size_t)i * SR_N_FILTERS + d], s2 += (double)x[(size_t)i * SR_N_FILTERS + d] * x[(size_t)i * SR_N_FILTERS + d];
      double mean = s / n, var = s2 / n - mean * mean;
      m->filter_mean[d] = (float)mean;
      m->filter_std[d] = (float)(var > 1e-12 ? sqrt(var) : 1.0);
    }
    for (int i = 0; i < n; i++)
      for (int d = 0; d < SR_N_FILTERS; d++) {
        float *v = &x[(size_t)i * SR_N_FILTERS + d];
        *v = (*v - m->filter_mean[d]) / m->filter_std[d];
      }
    report(progress, data, "texton k-means", 0, 1);
    st = sr_textons_learn(x, n, m->n_textons, p->seed ^ KMEANS_SEED_SALT, pool, m->textons, err);
    report(progress, data, "texton k-means", 1, 1);
  }
  free(x);
  return st;
}

/* Step 2 for one frame: superpixels, features, majority labels. */
static sr_status frame_samples(const sr_unary_model *m, const sr_image *img, const sr_image *lab, int n_classes,
                               const sr_slic_params *slic, sr_pool *pool, sample_set *s, double *class_pixels,
                               sr_error *err) {
  sr_superpixels sp = {0};
  sr_sp_graph g = {0};
  sr_status st = sr_slic(img, slic, &sp, err);
  if (st == SR_OK) st = sr_sp_graph_build(&sp, &g, err);
  float *raw = NULL;
  int *counts = NULL;
  if (st == SR_OK) {
    raw = malloc(sizeof(float) * (size_t)sp.n * m->raw_dim);
    counts = calloc((size_t)sp.n * n_classes, sizeof(int));
    if (!raw || !counts) st = sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory");
  }
  if (st == SR_OK) st = sr_unary_raw_features(m, img, &sp, &g, pool, raw, err);
  if (st == SR_OK) {
    size_t np = (size_t)img->width * img->height;
    for (size_t q = 0; q < np; q++) {
      int c = lab->data[q];
      if (c >= n_classes) continue;
      counts[(size_t)sp.labels[q] * n_classes + c]++;
      class_pixels[c]++;
    }
    if (samples_reserve(s, sp.n)) st = sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory for samples");
  }
  for (int i = 0; st == SR_OK && i < sp.n; i++) {
    const int *ci = counts + (size_t)i * n_classes;
    int best = 0, total = 0;
    for (int c = 0; c < n_classes; c++) {
      total += ci[c];
      if (ci[c] > ci[best]) best = c;
    }
    if (!total) continue;
    memcpy(s->raw + (size_t)s->n * m->raw_dim, raw + (size_t)i * m->raw_dim, sizeof(float) * m->raw_dim);
    s->label[s->n] = (uint8_t)best;
    s->pixels[s->n] = total;
    s->n++;
  }
  free(raw);
  free(counts);
  sr_sp_graph_clear(&g);
  sr_superpixels_clear(&sp);
  return st;
}

/* Step 3. */
static void fit_normalisation(sr_unary_model *m, const sample_set *s) {
  const sr_feature_block *blocks;
  int nb = sr_feature_blocks(&blocks);
  const int per = 2 * m->chi2_steps - 1, D = m->feature_dim;
  double *sum = calloc(D, sizeof(double)), *sum2 = calloc(D, sizeof(double));
  float *v = malloc(sizeof(float) * D);
  for (int i = 0; i < s->n; i++) {
    sr_unary_map_features(m, s->raw + (size_t)i * m->raw_dim, 0, v);
    for (int d = 0; d < D; d++) sum[d] += v[d], sum2[d] += (double)v[d] * v[d];
  }
  int o = 0;
  for (int bi = 0; bi < nb; bi++) {
    int dims = sr_feature_block_dims(&blocks[bi], m->n_textons);
    if (blocks[bi].histogram) {
      int n = dims * per;
      double ms = 0;
      for (int d = o; d < o + n; d++) ms += sum2[d];
      ms /= (double)n * s->n;
      float scale = ms > 1e-20 ? (float)(1.0 / sqrt(ms)) : 1.0f;
      for (int d = o; d < o + n; d++) m->norm_shift[d] = 0, m->norm_scale[d] = scale;
      o += n;
    } else {
      for (int d = o; d < o + dims; d++) {
        double mean = sum[d] / s->n, var = sum2[d] / s->n - mean * mean;
        m->norm_shift[d] = (float)mean;
        m->norm_scale[d] = var > 1e-12 ? (float)(1.0 / sqrt(var)) : 1.0f;
      }
      o += dims;
    }
  }
  free(sum), free(sum2), free(v);
}

/* Step 4. */
typedef struct {
  struct problem base; /* x shared; y per class */
  const uint8_t *label;
  const sr_unary_train_params *p;
  sr_unary_model *m;
  int failed;
  void (*progress)(const char *, int, int, void *);
  void *data;
  int done;
  pthread_mutex_t lock; /* serialises @progress and @done */
} ovr_ctx;

static void class_done(ovr_ctx *c) {
  pthread_mutex_lock(&c->lock);
  c->done++;
  if (c->progress) c->progress("liblinear", c->done, c->m->n_classes, c->data);
  pthread_mutex_unlock(&c->lock);
}

static void quiet(const char *s) { (void)s; }

static void train_class(void *vc, int k, int thread) {
  (void)thread;
  ovr_ctx *c = vc;
  struct problem prob = c->base;
  prob.y = malloc(sizeof(double) * prob.l);
  if (!prob.y) {
    c->failed = 1;
    return;
  }
  int positives = 0;
  for (int i = 0; i < prob.l; i++) positives += (prob.y[i] = c->label[i] == k ? 1.0 : -1.0) > 0;
  const int D = c->m->feature_dim;
  if (positives == 0 || positives == prob.l) {
    /* A class absent from (or alone in) the training set: a constant decision. */
    free(prob.y);
    for (int d = 0; d < D; d++) c->m->weights[(size_t)k * D + d] = 0;
    c->m->bias[k] = positives ? 20.0f : -20.0f;
    class_done(c);
    return;
  }
  struct parameter param = {.solver_type = L2R_LR, .eps = 0.01, .C = c->p->C};
  struct model *lm = train(&prob, &param);
  free(prob.y);
  if (!lm) {
    c->failed = 1;
    return;
  }
  /* liblinear's w scores its first label. */
  double sign = lm->label[0] == -1 ? -1.0 : 1.0;
  for (int d = 0; d < D; d++) c->m->weights[(size_t)k * D + d] = (float)(sign * lm->w[d]);
  c->m->bias[k] = (float)(sign * lm->w[D]);
  free_and_destroy_model(&lm);
  class_done(c);
}

static sr_status fit_linear(sr_unary_model *m, const sample_set *s, double *class_pixels,
                            const sr_unary_train_params *p, sr_pool *pool,
                            void (*progress)(const char *, int, int, void *), void *data, sr_error *err) {
  const int D = m->feature_dim, K = m->n_classes;
  /* Sample weights, mean 1, and their systematic resampling. */
  double total_pixels = 0;
  for (int c = 0; c < K; c++) total_pixels += class_pixels[c];
  double *w = malloc(sizeof(double) * s->n), wsum = 0;
  int *copies = malloc(sizeof(int) * s->n);
  if (!w || !copies) {
    free(w), free(copies);
    return sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory");
  }
  for (int i = 0; i < s->n; i++) {
    double freq = class_pixels[s->label[i]] / total_pixels;
    wsum += w[i] = s->pixels[i] * pow(freq, -p->class_weight_exponent);
  }
  sr_rng rng;
  sr_rng_seed(&rng, p->seed + 1);
  double u = sr_rng_uniform(&rng), cum = 0, scale = RESAMPLE * s->n / wsum;
  long l = 0;
  for (int i = 0; i < s->n; i++) {
    double before = floor(u + cum);
    cum += w[i] * scale;
    copies[i] = (int)(floor(u + cum) - before);
    l += copies[i];
  }
  free(w);
  /* The mapped, normalised features as liblinear rows (non-zeros + bias). */
  size_t cap = (size_t)s->n * 64, used = 0;
  struct feature_node *nodes = malloc(sizeof *nodes * cap);
  size_t *start = malloc(sizeof(size_t) * (s->n + 1));
  float *v = malloc(sizeof(float) * D);
  sr_status st = nodes && start && v ? SR_OK : sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory");
  for (int i = 0; st == SR_OK && i < s->n; i++) {
    start[i] = used;
    if (!copies[i]) continue;
    sr_unary_map_features(m, s->raw + (size_t)i * m->raw_dim, 1, v);
    if (used + D + 2 > cap) {
      while (used + D + 2 > cap) cap *= 2;
      struct feature_node *nn = realloc(nodes, sizeof *nodes * cap);
      if (!nn) {
        st = sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory for the liblinear problem (%zu entries)", cap);
        break;
      }
      nodes = nn;
    }
    for (int d = 0; d < D; d++)
      if (v[d] != 0) nodes[used++] = (struct feature_node){d + 1, v[d]};
    nodes[used++] = (struct feature_node){D + 1, 1.0}; /* bias */
    nodes[used++] = (struct feature_node){-1, 0};
  }
  free(v);
  ovr_ctx c = {.p = p, .m = m, .progress = progress, .data = data, .lock = PTHREAD_MUTEX_INITIALIZER};
  uint8_t *label = NULL;
  if (st == SR_OK) {
    start[s->n] = used;
    c.base.l = (int)l;
    c.base.n = D + 1;
    c.base.bias = 1;
    c.base.x = malloc(sizeof(struct feature_node *) * l);
    label = malloc(l);
    if (!c.base.x || !label) st = sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory");
  }
  if (st == SR_OK) {
    long at = 0;
    for (int i = 0; i < s->n; i++)
      for (int r = 0; r < copies[i]; r++) c.base.x[at] = nodes + start[i], label[at++] = s->label[i];
    c.label = label;
    set_print_string_function(quiet);
    report(progress, data, "liblinear", 0, K);
    sr_pool_run(pool, K, train_class, &c);
    if (c.failed) st = sr_error_set(err, SR_ERR_NOMEM, "train-unary: liblinear failed (out of memory?)");
  }
  free(c.base.x), free(label), free(nodes), free(start), free(copies);
  pthread_mutex_destroy(&c.lock);
  return st;
}

sr_status sr_unary_train(const sr_dataset *ds, const sr_unary_train_params *p, sr_unary_model **out,
                         void (*progress)(const char *stage, int done, int total, void *data), void *data,
                         sr_error *err) {
  if (!ds || ds->n < 1) return sr_error_set(err, SR_ERR_INVALID, "train-unary: empty dataset");
  if (p->n_textons < 2 || p->n_textons > SR_MAX_TEXTONS || p->frame_stride < 1 || !(p->C > 0) ||
      p->texton_samples < p->n_textons || !(p->class_weight_exponent >= 0))
    return sr_error_set(err, SR_ERR_INVALID,
                        "train-unary: need 2..%d textons, frame stride ≥ 1, C > 0, texton samples ≥ textons, "
                        "class weight exponent ≥ 0",
                        SR_MAX_TEXTONS);
  const sr_class *known = NULL;
  int n_known = p->dataset ? sr_dataset_classes(p->dataset, &known) : 0;
  if (n_known && n_known != ds->n_classes)
    return sr_error_set(err, SR_ERR_INVALID, "train-unary: dataset has %d classes, %s %d", ds->n_classes, p->dataset,
                        n_known);
  if (ds->n_classes < 2 || ds->n_classes > 255)
    return sr_error_set(err, SR_ERR_INVALID, "train-unary: %d classes (2..255)", ds->n_classes);
  sr_unary_model *m = calloc(1, sizeof *m);
  if (!m) return sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory");
  snprintf(m->dataset, sizeof m->dataset, "%s", p->dataset ? p->dataset : "unknown");
  m->n_classes = ds->n_classes;
  m->n_textons = p->n_textons;
  m->chi2_steps = 2;
  m->chi2_interval = sr_chi2_default_interval(m->chi2_steps);
  m->slic = p->slic;
  m->slic.threads = 0;
  snprintf(m->solver, sizeof m->solver, "L2R_LR");
  m->C = p->C;
  m->class_weight_exponent = p->class_weight_exponent;
  sr_status st = sr_unary_model_alloc(m, err);
  if (st != SR_OK) {
    sr_unary_model_free(m);
    return st;
  }
  for (int c = 0; c < m->n_classes; c++) {
    if (n_known) {
      m->classes[c] = known[c];
    } else {
      snprintf(m->classes[c].name, sizeof m->classes[c].name, "class%d", c);
      m->classes[c].rgb[0] = (uint8_t)(c * 67), m->classes[c].rgb[1] = (uint8_t)(c * 131), m->classes[c].rgb[2] = (uint8_t)(c * 199);
    }
  }
  if (p->provenance) m->provenance = strdup(p->provenance);
  int n_frames = (ds->n + p->frame_stride - 1) / p->frame_stride;
  int *frames = malloc(sizeof(int) * n_frames);
  double *class_pixels = calloc(m->n_classes, sizeof(double));
  sample_set s = {.raw_dim = m->raw_dim};
  sr_pool *pool = sr_pool_new(sr_unary_resolve_threads(p->threads));
  if (!frames || !class_pixels) st = sr_error_set(err, SR_ERR_NOMEM, "train-unary: out of memory");
  for (int f = 0; st == SR_OK && f < n_frames; f++) frames[f] = f * p->frame_stride;
  if (st == SR_OK) st = learn_textons(ds, frames, n_frames, p, pool, m, progress, data, err);
  sr_slic_params slic = p->slic;
  slic.threads = sr_pool_size(pool);
  for (int f = 0; st == SR_OK && f < n_frames; f++) {
    int i = frames[f];
    st = frame_samples(m, &ds->images[i], &ds->labels[i], m->n_classes, &slic, pool, &s, class_pixels, err);
    if (st != SR_OK) sr_error_prefix(err, "%s", ds->names ? ds->names[i] : "frame");
    report(progress, data, "features", f + 1, n_frames);
  }
  if (st == SR_OK && s.n < 2) st = sr_error_set(err, SR_ERR_INVALID, "train-unary: no labelled superpixels");
  if (st == SR_OK) {
    fit_normalisation(m, &s);
    st = fit_linear(m, &s, class_pixels, p, pool, progress, data, err);
  }
  sr_pool_free(pool);
  free(frames), free(class_pixels), free(s.raw), free(s.label), free(s.pixels);
  if (st != SR_OK) {
    sr_unary_model_free(m);
    return st;
  }
  sr_unary_model_finish(m);
  *out = m;
  return SR_OK;
}
