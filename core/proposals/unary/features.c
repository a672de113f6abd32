/* features.c: the per-superpixel feature vector of the unary classifier.
 * Raw layout (sr_feature_blocks): L1-normalised histograms of the
 * superpixel's own pixels — Lab (3 × 16 bins, linear interpolation between
 * bins), textons (nearest of the dictionary at the 2-pixel grid point
 * covering the pixel), magnitude-weighted unsigned gradient orientation
 * (9 bins, σ 1 and σ 3, interpolated), row (8) and column (6) bands — then
 * the same histograms averaged over the neighbouring superpixels
 * (context), then 18 shape and appearance scalars. Histogram blocks go
 * through the additive-χ² map; every output is standardised with the
 * shift/scale fitted at training.
 * Work is split into tasks fixed by the image size and superpixel count
 * (row bands, superpixel chunks), each sum taken in raster order, so the
 * features do not depend on the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unary_internal.h"

#define LAB_BINS 16
#define GRAD_BINS 9
#define ROW_BINS 8
#define COL_BINS 6
#define AB_RANGE 48.0f /* a and b bins span [−48, 48] */
#define LAB_ROWS_PER_TASK 32
#define GRID_ROWS_PER_TASK 8
#define SP_PER_TASK 32
#define N_OWN_BLOCKS 8

static const sr_feature_block blocks[] = {
    {"lab_l", LAB_BINS, 1},         {"lab_a", LAB_BINS, 1},         {"lab_b", LAB_BINS, 1},
    {"texton", 0, 1},               {"grad_s1", GRAD_BINS, 1},      {"grad_s3", GRAD_BINS, 1},
    {"row", ROW_BINS, 1},           {"col", COL_BINS, 1},           {"context_lab_l", LAB_BINS, 1},
    {"context_lab_a", LAB_BINS, 1}, {"context_lab_b", LAB_BINS, 1}, {"context_texton", 0, 1},
    {"context_grad_s1", GRAD_BINS, 1}, {"context_grad_s3", GRAD_BINS, 1}, {"context_row", ROW_BINS, 1},
    {"context_col", COL_BINS, 1},   {"centroid", 2, 0},             {"bbox", 4, 0},
    {"log_area", 1, 0},             {"perimeter_ratio", 1, 0},      {"bbox_fill", 1, 0},
    {"aspect", 1, 0},               {"grad_energy", 2, 0},          {"lab_mean", 3, 0},
    {"lab_std", 3, 0},
};
#define N_BLOCKS ((int)(sizeof blocks / sizeof *blocks))

int sr_feature_blocks(const sr_feature_block **b) {
  *b = blocks;
  return N_BLOCKS;
}

int sr_feature_block_dims(const sr_feature_block *b, int n_textons) { return b->dims ? b->dims : n_textons; }

int sr_feature_raw_dim(int n_textons) {
  int d = 0;
  for (int i = 0; i < N_BLOCKS; i++) d += sr_feature_block_dims(&blocks[i], n_textons);
  return d;
}

int sr_feature_mapped_dim(int n_textons, int chi2_steps) {
  int d = 0;
  for (int i = 0; i < N_BLOCKS; i++)
    d += sr_feature_block_dims(&blocks[i], n_textons) * (blocks[i].histogram ? 2 * chi2_steps - 1 : 1);
  return d;
}

int sr_unary_resolve_threads(int threads) {
  if (threads > 0) return threads;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* ---- per-pixel stages ---- */

typedef struct {
  const sr_unary_model *m;
  const sr_image *rgb;
  int w, h, gw, gh;
  float *L, *a, *b;       /* planar Lab */
  float *mag, *ori;       /* 2 scales × w × h each */
  uint8_t *texton;        /* gw × gh */
  float tt[SR_N_FILTERS * SR_MAX_TEXTONS], cc[SR_MAX_TEXTONS];
  sr_filter_scratch **scratch; /* per thread */
  float **resp;                /* per thread: gw × SR_N_FILTERS */
  /* superpixel stage */
  const sr_superpixels *sp;
  const sr_sp_graph *g;
  int *pix_start, *pix;   /* pixels of superpixel i: pix[pix_start[i] .. pix_start[i+1]) */
  float *raw;
  int raw_dim, hist_dim;  /* hist_dim: the own histograms (first N_OWN_BLOCKS blocks) */
} frame_ctx;

static void lab_task(void *vc, int task, int thread) {
  (void)thread;
  frame_ctx *c = vc;
  int y0 = task * LAB_ROWS_PER_TASK, y1 = y0 + LAB_ROWS_PER_TASK < c->h ? y0 + LAB_ROWS_PER_TASK : c->h;
  size_t off = (size_t)y0 * c->w;
  sr_lab_from_pixels(c->rgb->data + 3 * off, c->w, y1 - y0, c->w * 3, (sr_pixel_layout){3, 0, 1, 2}, c->L + off,
                     c->a + off, c->b + off, NULL);
}

static void pixel_task(void *vc, int task, int thread) {
  frame_ctx *c = vc;
  sr_filter_scratch *s = c->scratch[thread];
  const int k = c->m->n_textons;
  int gy0 = task * GRID_ROWS_PER_TASK, gy1 = gy0 + GRID_ROWS_PER_TASK < c->gh ? gy0 + GRID_ROWS_PER_TASK : c->gh;
  for (int gy = gy0; gy < gy1; gy++) {
    float *resp = c->resp[thread];
    sr_filter_bank_row(c->L, c->a, c->b, c->w, c->h, gy, s, resp);
    for (int gx = 0; gx < c->gw; gx++) {
      float *r = resp + gx * SR_N_FILTERS;
      for (int f = 0; f < SR_N_FILTERS; f++) r[f] = (r[f] - c->m->filter_mean[f]) / c->m->filter_std[f];
      c->texton[(size_t)gy * c->gw + gx] = (uint8_t)sr_texton_nearest(r, c->tt, c->cc, k);
    }
  }
  int y0 = gy0 * SR_TEXTON_STEP, y1 = gy1 * SR_TEXTON_STEP < c->h ? gy1 * SR_TEXTON_STEP : c->h;
  float mag[2 * c->w], ori[2 * c->w];
  for (int y = y0; y < y1; y++) {
    sr_gradient_row(c->L, c->w, c->h, y, s, mag, ori);
    for (int sc = 0; sc < 2; sc++) {
      memcpy(c->mag + (size_t)sc * c->w * c->h + (size_t)y * c->w, mag + sc * c->w, sizeof(float) * c->w);
      memcpy(c->ori + (size_t)sc * c->w * c->h + (size_t)y * c->w, ori + sc * c->w, sizeof(float) * c->w);
    }
  }
}

/* Linear interpolation into @bins bins of a value already in bin units
 * (bin b centred at b + 0.5), clamped at the ends. */
static inline void soft_bin(float *hist, int bins, float u, float weight) {
  float t = u - 0.5f;
  if (t <= 0) {
    hist[0] += weight;
    return;
  }
  if (t >= bins - 1) {
    hist[bins - 1] += weight;
    return;
  }
  int b0 = (int)t;
  float f = t - (float)b0;
  hist[b0] += weight * (1 - f);
  hist[b0 + 1] += weight * f;
}

/* The same on a circle (orientations). */
static inline void soft_bin_circular(float *hist, int bins, float u, float weight) {
  float t = u - 0.5f;
  if (t < 0) t += bins;
  int b0 = (int)t;
  if (b0 >= bins) b0 = bins - 1;
  float f = t - (float)b0;
  hist[b0] += weight * (1 - f);
  hist[(b0 + 1) % bins] += weight * f;
}

static void normalise_l1(float *h, int n, double total) {
  if (total <= 0) return;
  float inv = (float)(1.0 / total);
  for (int i = 0; i < n; i++) h[i] *= inv;
}

static void superpixel_task(void *vc, int task, int thread) {
  (void)thread;
  frame_ctx *c = vc;
  const int w = c->w, h = c->h, k = c->m->n_textons, plane = w * h;
  int i0 = task * SP_PER_TASK, i1 = i0 + SP_PER_TASK < c->sp->n ? i0 + SP_PER_TASK : c->sp->n;
  for (int i = i0; i < i1; i++) {
    float *v = c->raw + (size_t)i * c->raw_dim;
    memset(v, 0, sizeof(float) * c->raw_dim);
    float *hl = v, *ha = hl + LAB_BINS, *hb = ha + LAB_BINS, *ht = hb + LAB_BINS, *hg1 = ht + k,
          *hg3 = hg1 + GRAD_BINS, *hr = hg3 + GRAD_BINS, *hc = hr + ROW_BINS;
    double sum[3] = {0}, sum2[3] = {0}, energy[2] = {0};
    const int *px = c->pix + c->pix_start[i];
    const int area = c->pix_start[i + 1] - c->pix_start[i];
    for (int q = 0; q < area; q++) {
      const int p = px[q], y = p / w, x = p - y * w;
      const float L = c->L[p], A = c->a[p], B = c->b[p];
      soft_bin(hl, LAB_BINS, L * (LAB_BINS / 100.0f), 1);
      soft_bin(ha, LAB_BINS, (A + AB_RANGE) * (LAB_BINS / (2 * AB_RANGE)), 1);
      soft_bin(hb, LAB_BINS, (B + AB_RANGE) * (LAB_BINS / (2 * AB_RANGE)), 1);
      sum[0] += L, sum[1] += A, sum[2] += B;
      sum2[0] += (double)L * L, sum2[1] += (double)A * A, sum2[2] += (double)B * B;
      ht[c->texton[(size_t)(y / SR_TEXTON_STEP) * c->gw + x / SR_TEXTON_STEP]] += 1;
      const float m1 = c->mag[p], m3 = c->mag[plane + p];
      soft_bin_circular(hg1, GRAD_BINS, c->ori[p], m1);
      soft_bin_circular(hg3, GRAD_BINS, c->ori[plane + p], m3);
      energy[0] += m1, energy[1] += m3;
      hr[y * ROW_BINS / h] += 1;
      hc[x * COL_BINS / w] += 1;
    }
    normalise_l1(hl, LAB_BINS * 3, area); /* each channel sums to 1 */
    for (int j = 0; j < k; j++) ht[j] /= (float)area;
    normalise_l1(hg1, GRAD_BINS, energy[0]);
    normalise_l1(hg3, GRAD_BINS, energy[1]);
    normalise_l1(hr, ROW_BINS + COL_BINS, area);
    float *s = v + 2 * c->hist_dim;
    const sr_sp_graph *g = c->g;
    const int x0 = g->bbox[4 * i], y0 = g->bbox[4 * i + 1], x1 = g->bbox[4 * i + 2], y1 = g->bbox[4 * i + 3];
    const float bw = (float)(x1 - x0 + 1), bh = (float)(y1 - y0 + 1);
    s[0] = g->centroid[2 * i] / w;
    s[1] = g->centroid[2 * i + 1] / h;
    s[2] = (float)x0 / w, s[3] = (float)y0 / h, s[4] = (float)(x1 + 1) / w, s[5] = (float)(y1 + 1) / h;
    s[6] = logf((float)area);
    s[7] = (float)g->perimeter[i] / sqrtf((float)area);
    s[8] = (float)area / (bw * bh);
    s[9] = logf(bw / bh);
    s[10] = logf(1.0f + (float)(energy[0] / area));
    s[11] = logf(1.0f + (float)(energy[1] / area));
    for (int ch = 0; ch < 3; ch++) {
      double mean = sum[ch] / area, var = sum2[ch] / area - mean * mean;
      s[12 + ch] = (float)mean;
      s[15 + ch] = (float)sqrt(var > 0 ? var : 0);
    }
  }
}

/* Context: the mean of the neighbours' own histograms (own ones when the
 * superpixel has no neighbour). */
static void context_task(void *vc, int task, int thread) {
  (void)thread;
  frame_ctx *c = vc;
  const sr_sp_graph *g = c->g;
  int i0 = task * SP_PER_TASK, i1 = i0 + SP_PER_TASK < c->sp->n ? i0 + SP_PER_TASK : c->sp->n;
  for (int i = i0; i < i1; i++) {
    float *ctx = c->raw + (size_t)i * c->raw_dim + c->hist_dim;
    int n0 = g->adj_start[i], n1 = g->adj_start[i + 1];
    if (n1 == n0) {
      memcpy(ctx, ctx - c->hist_dim, sizeof(float) * c->hist_dim);
      continue;
    }
    memset(ctx, 0, sizeof(float) * c->hist_dim);
    for (int e = n0; e < n1; e++) {
      const float *o = c->raw + (size_t)g->adj[e] * c->raw_dim;
      for (int d = 0; d < c->hist_dim; d++) ctx[d] += o[d];
    }
    const float inv = 1.0f / (float)(n1 - n0);
    for (int d = 0; d < c->hist_dim; d++) ctx[d] *= inv;
  }
}

static sr_status check_inputs(const sr_unary_model *m, const sr_image *rgb, const sr_superpixels *sp,
                              const sr_sp_graph *g, sr_error *err) {
  if (!rgb || rgb->channels != 3 || rgb->width < 1 || rgb->height < 1)
    return sr_error_set(err, SR_ERR_INVALID, "unary features: need an RGB image");
  if (!sp || sp->width != rgb->width || sp->height != rgb->height || sp->n < 1)
    return sr_error_set(err, SR_ERR_INVALID, "unary features: superpixel map %dx%d does not match the %dx%d image",
                        sp ? sp->width : 0, sp ? sp->height : 0, rgb->width, rgb->height);
  if (!g || g->n != sp->n)
    return sr_error_set(err, SR_ERR_INVALID, "unary features: graph has %d nodes, superpixel map %d", g ? g->n : 0,
                        sp->n);
  if (m->n_textons < 2 || m->n_textons > SR_MAX_TEXTONS)
    return sr_error_set(err, SR_ERR_INVALID, "unary features: %d textons", m->n_textons);
  return SR_OK;
}

static void frame_free(frame_ctx *c, int threads) {
  free(c->L), free(c->a), free(c->b), free(c->mag), free(c->ori), free(c->texton), free(c->pix_start), free(c->pix);
  for (int t = 0; c->scratch && t < threads; t++) sr_filter_scratch_free(c->scratch[t]);
  for (int t = 0; c->resp && t < threads; t++) free(c->resp[t]);
  free(c->scratch), free(c->resp);
}

/* Lab, texton and gradient maps of @rgb. */
static sr_status frame_pixels(frame_ctx *c, sr_pool *pool, sr_error *err) {
  const int threads = sr_pool_size(pool);
  const size_t plane = (size_t)c->w * c->h;
  c->gw = sr_texton_grid(c->w), c->gh = sr_texton_grid(c->h);
  c->L = malloc(sizeof(float) * plane), c->a = malloc(sizeof(float) * plane), c->b = malloc(sizeof(float) * plane);
  c->mag = malloc(sizeof(float) * 2 * plane), c->ori = malloc(sizeof(float) * 2 * plane);
  c->texton = malloc((size_t)c->gw * c->gh);
  c->scratch = calloc(threads, sizeof *c->scratch);
  c->resp = calloc(threads, sizeof *c->resp);
  int ok = c->L && c->a && c->b && c->texton && c->scratch && c->resp && c->mag && c->ori;
  for (int t = 0; ok && t < threads; t++) {
    c->scratch[t] = sr_filter_scratch_new(c->w);
    c->resp[t] = malloc(sizeof(float) * c->gw * SR_N_FILTERS);
    ok = c->scratch[t] && c->resp[t];
  }
  if (!ok) return sr_error_set(err, SR_ERR_NOMEM, "unary features: out of memory for a %dx%d frame", c->w, c->h);
  const int k = c->m->n_textons;
  for (int j = 0; j < k; j++) {
    float s = 0;
    for (int d = 0; d < SR_N_FILTERS; d++) {
      float v = c->m->textons[j * SR_N_FILTERS + d];
      c->tt[d * k + j] = v;
      s += v * v;
    }
    c->cc[j] = s;
  }
  sr_pool_run(pool, (c->h + LAB_ROWS_PER_TASK - 1) / LAB_ROWS_PER_TASK, lab_task, c);
  sr_pool_run(pool, (c->gh + GRID_ROWS_PER_TASK - 1) / GRID_ROWS_PER_TASK, pixel_task, c);
  return SR_OK;
}

sr_status sr_unary_raw_features(const sr_unary_model *m, const sr_image *rgb, const sr_superpixels *sp,
                                const sr_sp_graph *g, sr_pool *pool, float *raw, sr_error *err) {
  sr_status st = check_inputs(m, rgb, sp, g, err);
  if (st != SR_OK) return st;
  frame_ctx c = {.m = m, .rgb = rgb, .w = rgb->width, .h = rgb->height, .sp = sp, .g = g, .raw = raw};
  c.raw_dim = sr_feature_raw_dim(m->n_textons);
  c.hist_dim = 0;
  for (int i = 0; i < N_OWN_BLOCKS; i++) c.hist_dim += sr_feature_block_dims(&blocks[i], m->n_textons);
  st = frame_pixels(&c, pool, err);
  const size_t plane = (size_t)c.w * c.h;
  if (st == SR_OK) {
    /* Pixel lists by counting sort (raster order within each superpixel). */
    c.pix_start = calloc((size_t)sp->n + 1, sizeof(int));
    c.pix = malloc(sizeof(int) * plane);
    if (!c.pix_start || !c.pix) st = sr_error_set(err, SR_ERR_NOMEM, "unary features: out of memory");
  }
  if (st == SR_OK) {
    for (size_t p = 0; p < plane; p++) {
      int l = sp->labels[p];
      if (l < 0 || l >= sp->n) {
        st = sr_error_set(err, SR_ERR_INVALID, "unary features: pixel %zu has superpixel label %d of %d", p, l, sp->n);
        break;
      }
      c.pix_start[l + 1]++;
    }
  }
  for (int i = 0; st == SR_OK && i < sp->n; i++) {
    if (c.pix_start[i + 1] == 0)
      st = sr_error_set(err, SR_ERR_INVALID, "unary features: superpixel %d has no pixel", i);
    c.pix_start[i + 1] += c.pix_start[i];
  }
  if (st == SR_OK) {
    int *fill = malloc(sizeof(int) * sp->n);
    if (!fill) {
      st = sr_error_set(err, SR_ERR_NOMEM, "unary features: out of memory");
    } else {
      memcpy(fill, c.pix_start, sizeof(int) * sp->n);
      for (size_t p = 0; p < plane; p++) c.pix[fill[sp->labels[p]]++] = (int)p;
      free(fill);
      int tasks = (sp->n + SP_PER_TASK - 1) / SP_PER_TASK;
      sr_pool_run(pool, tasks, superpixel_task, &c);
      sr_pool_run(pool, tasks, context_task, &c);
    }
  }
  frame_free(&c, sr_pool_size(pool));
  return st;
}

typedef struct {
  frame_ctx *c;
  float *out;
} resp_ctx;

static void resp_task(void *vc, int task, int thread) {
  resp_ctx *r = vc;
  frame_ctx *c = r->c;
  int gy0 = task * GRID_ROWS_PER_TASK, gy1 = gy0 + GRID_ROWS_PER_TASK < c->gh ? gy0 + GRID_ROWS_PER_TASK : c->gh;
  for (int gy = gy0; gy < gy1; gy++)
    sr_filter_bank_row(c->L, c->a, c->b, c->w, c->h, gy, c->scratch[thread],
                       r->out + (size_t)gy * c->gw * SR_N_FILTERS);
}

sr_status sr_unary_frame_responses(const sr_image *rgb, sr_pool *pool, float *resp, sr_error *err) {
  const int threads = sr_pool_size(pool);
  frame_ctx c = {.rgb = rgb, .w = rgb->width, .h = rgb->height};
  c.gw = sr_texton_grid(c.w), c.gh = sr_texton_grid(c.h);
  const size_t plane = (size_t)c.w * c.h;
  c.L = malloc(sizeof(float) * plane), c.a = malloc(sizeof(float) * plane), c.b = malloc(sizeof(float) * plane);
  c.scratch = calloc(threads, sizeof *c.scratch);
  int ok = c.L && c.a && c.b && c.scratch;
  for (int t = 0; ok && t < threads; t++) ok = (c.scratch[t] = sr_filter_scratch_new(c.w)) != NULL;
  sr_status st = SR_OK;
  if (!ok) {
    st = sr_error_set(err, SR_ERR_NOMEM, "filter bank: out of memory for a %dx%d frame", c.w, c.h);
  } else {
    sr_pool_run(pool, (c.h + LAB_ROWS_PER_TASK - 1) / LAB_ROWS_PER_TASK, lab_task, &c);
    resp_ctx r = {&c, resp};
    sr_pool_run(pool, (c.gh + GRID_ROWS_PER_TASK - 1) / GRID_ROWS_PER_TASK, resp_task, &r);
  }
  frame_free(&c, threads);
  return st;
}

void sr_unary_map_features(const sr_unary_model *m, const float *raw, int normalise, float *out) {
  const int per = 2 * m->chi2_steps - 1;
  float *o = out;
  for (int bi = 0; bi < N_BLOCKS; bi++) {
    int dims = sr_feature_block_dims(&blocks[bi], m->n_textons);
    if (blocks[bi].histogram) {
      sr_chi2_map_block(raw, dims, m->chi2_steps, m->chi2_interval, o);
      o += (size_t)dims * per;
    } else {
      memcpy(o, raw, sizeof(float) * dims);
      o += dims;
    }
    raw += dims;
  }
  if (normalise)
    for (int d = 0; d < m->feature_dim; d++) out[d] = (out[d] - m->norm_shift[d]) * m->norm_scale[d];
}

typedef struct {
  const sr_unary_model *m;
  const float *raw;
  float *out;
  int n;
} map_ctx;

static void map_task(void *vc, int task, int thread) {
  (void)thread;
  map_ctx *c = vc;
  int i0 = task * SP_PER_TASK, i1 = i0 + SP_PER_TASK < c->n ? i0 + SP_PER_TASK : c->n;
  for (int i = i0; i < i1; i++)
    sr_unary_map_features(c->m, c->raw + (size_t)i * c->m->raw_dim, 1, c->out + (size_t)i * c->m->feature_dim);
}

sr_status sr_unary_features(const sr_unary_model *m, const sr_image *rgb, const sr_superpixels *sp,
                            const sr_sp_graph *g, int threads, float *features, sr_error *err) {
  sr_status st = check_inputs(m, rgb, sp, g, err);
  if (st != SR_OK) return st;
  float *raw = malloc(sizeof(float) * (size_t)sp->n * m->raw_dim);
  if (!raw) return sr_error_set(err, SR_ERR_NOMEM, "unary features: out of memory for %d superpixels", sp->n);
  sr_pool *pool = sr_pool_new(sr_unary_resolve_threads(threads));
  st = sr_unary_raw_features(m, rgb, sp, g, pool, raw, err);
  if (st == SR_OK) {
    map_ctx c = {m, raw, features, sp->n};
    sr_pool_run(pool, (sp->n + SP_PER_TASK - 1) / SP_PER_TASK, map_task, &c);
  }
  sr_pool_free(pool);
  free(raw);
  return st;
}
