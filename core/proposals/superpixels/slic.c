/* slic.c: SLIC superpixels (Achanta et al. 2012) with skimage's semantics:
 * centres on skimage's regular grid (step S = sqrt(W·H/n) rounded to whole
 * pixels, first centre at S/2), distance d² = ‖ΔLab‖² + (m/S)²·‖Δxy‖²,
 * each centre competing for the pixels of its 2S×2S window, a fixed number
 * of k-means passes, then connectivity (slic_connectivity.c). A pass runs
 * on bands of rows across the thread pool, and nothing depends on which
 * thread takes which band: in the assignment a pixel meets the centres in
 * index order whatever the band (ties keep the lower index); the update's
 * sums are exact integers (positions, and Lab in 1/64 units from row
 * prefix sums), added per thread and then across threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backends/cpu/cpu_isa.h"
#include "slic_internal.h"
#include "superpixels.h"

/* The k-means loops are built for AVX2 too (band_task_avx2), picked per
 * call by cpu_isa.h's rule as the CPU backend's kernels are. */

#define LAB_SCALE 64 /* Lab sums are exact integers of 1/64 units (a row's fit in int32) */
#define MAX_WIDTH 262144 /* so that a row's Lab sums fit in int32 */
#define ACC_BYTES_MAX ((size_t)64 << 20) /* per-thread sums beyond this: fewer threads */
#define PREP_ROWS 16
#define MIN_SIZE_FACTOR 0.5 /* components below this share of W·H/K are merged (skimage) */

void sr_slic_params_default(sr_slic_params *p) {
  p->n_superpixels = 1000;
  p->compactness = 10;
  p->iterations = 10;
  p->threads = 0;
}

void sr_superpixels_clear(sr_superpixels *sp) {
  if (!sp) return;
  free(sp->labels);
  memset(sp, 0, sizeof *sp);
}

/* skimage's regular_grid in two dimensions: step sqrt(W·H/n) on both axes,
 * unless the short side is shorter than that (then one row or column of
 * centres, and the long side's step is its length / n); every pixel is a
 * centre when n ≥ W·H. */
static void grid_layout(int width, int height, int n, int *step_x, int *step_y, int *start_x, int *start_y) {
  double area = (double)width * height;
  if (area <= n) {
    *step_x = *step_y = 1, *start_x = *start_y = 0;
    return;
  }
  double s = sqrt(area / n), sx = s, sy = s;
  if (width < s || height < s) {
    if (width <= height)
      sx = width, sy = (double)height / n;
    else
      sy = height, sx = (double)width / n;
  }
  *start_x = (int)floor(sx / 2), *start_y = (int)floor(sy / 2);
  *step_x = (int)rint(sx), *step_y = (int)rint(sy);
  if (*step_x < 1) *step_x = 1;
  if (*step_y < 1) *step_y = 1;
}

typedef struct {
  int width, height, step_x, step_y, k;
  float weight; /* (m / S)² */
  const float *L, *A, *B, *xs;
  const int32_t *prefix;       /* 3 planes of H × (W + 1): row prefix sums of Lab in 1/LAB_SCALE units */
  const float *center;         /* k × 5: x, y, L, a, b */
  int32_t *label;
  float *dist;
  int64_t *acc; /* per thread: k × 6 sums (count, x, y, L, a, b) */
  int band_rows;
  int assign, accumulate; /* what a band task does in this pass */
} kmeans;

/* The window of centre @c: rows [*y0, *y1] and columns [*x0, *x1]. */
static inline void center_window(const kmeans *km, const float *c, int *x0, int *x1, int *y0, int *y1) {
  int ix = (int)floorf(c[0] + 0.5f), iy = (int)floorf(c[1] + 0.5f);
  *x0 = ix - km->step_x > 0 ? ix - km->step_x : 0;
  *x1 = ix + km->step_x < km->width - 1 ? ix + km->step_x : km->width - 1;
  *y0 = iy - km->step_y > 0 ? iy - km->step_y : 0;
  *y1 = iy + km->step_y < km->height - 1 ? iy + km->step_y : km->height - 1;
}

typedef struct {
  float cx, cl, ca, cb, dyw, w;
  int32_t id;
} offer;

/* Centre o.id against 8 pixels from @x: one vector with AVX2. Running it
 * again over the same pixels changes nothing (ties keep the pixel's
 * label), so a row's last 8 may overlap the previous 8. */
static SR_ALWAYS_INLINE void offer8(const float *restrict L, const float *restrict A, const float *restrict B,
                          const float *restrict xs, float *restrict D, int32_t *restrict lab, int x, offer o) {
  for (int j = 0; j < 8; j++) {
    float dl = L[x + j] - o.cl, da = A[x + j] - o.ca, db = B[x + j] - o.cb, dx = xs[x + j] - o.cx;
    float d = dl * dl + da * da + db * db + (o.w * (dx * dx) + o.dyw);
    int better = d < D[x + j];
    D[x + j] = better ? d : D[x + j];
    lab[x + j] = better ? o.id : lab[x + j];
  }
}

static SR_ALWAYS_INLINE void offer1(const float *L, const float *A, const float *B, const float *xs, float *D, int32_t *lab,
                          int x, offer o) {
  float dl = L[x] - o.cl, da = A[x] - o.ca, db = B[x] - o.cb, dx = xs[x] - o.cx;
  float d = dl * dl + da * da + db * db + (o.w * (dx * dx) + o.dyw);
  if (d < D[x]) D[x] = d, lab[x] = o.id;
}

/* One band of rows: the assignment (every centre whose window meets the
 * band offers itself to its pixels there, in index order), then the sums
 * of the band's pixels per label into this thread's accumulator (integer,
 * so the totals do not depend on which thread took which band). */
static SR_ALWAYS_INLINE void band_body(void *ctx, int task, int thread) {
  const kmeans *km = ctx;
  const int W = km->width;
  const int b0 = task * km->band_rows, b1 = b0 + km->band_rows < km->height ? b0 + km->band_rows : km->height;
  if (km->assign) {
    float *restrict band_dist = km->dist + (size_t)b0 * W;
    for (size_t i = 0; i < (size_t)(b1 - b0) * W; i++) band_dist[i] = INFINITY;
    for (int c = 0; c < km->k; c++) {
      const float *ce = km->center + 5 * (size_t)c;
      int x0, x1, y0, y1;
      center_window(km, ce, &x0, &x1, &y0, &y1);
      if (y0 < b0) y0 = b0;
      if (y1 > b1 - 1) y1 = b1 - 1;
      offer o = {ce[0], ce[2], ce[3], ce[4], 0, km->weight, c};
      for (int y = y0; y <= y1; y++) {
        const size_t off = (size_t)y * W;
        const float *L = km->L + off, *A = km->A + off, *B = km->B + off;
        float *D = km->dist + off;
        int32_t *lab = km->label + off;
        const float dy = (float)y - ce[1];
        o.dyw = km->weight * (dy * dy);
        if (x1 - x0 + 1 >= 8) {
          int x = x0;
          for (; x + 7 <= x1; x += 8) offer8(L, A, B, km->xs, D, lab, x, o);
          if (x <= x1) offer8(L, A, B, km->xs, D, lab, x1 - 7, o);
        } else
          for (int x = x0; x <= x1; x++) offer1(L, A, B, km->xs, D, lab, x, o);
      }
    }
  }
  if (km->accumulate) {
    /* Per run of one label along a row: its sums from the prefix sums. */
    int64_t *acc = km->acc + (size_t)thread * km->k * 6;
    const size_t plane = (size_t)(W + 1) * km->height;
    for (int y = b0; y < b1; y++) {
      const int32_t *lab = km->label + (size_t)y * W, *pl = km->prefix + (size_t)y * (W + 1);
      for (int x = 0; x < W;) {
        const int32_t c = lab[x];
        const int x0 = x;
        while (x + 1 < W && lab[x + 1] == c) x++;
        const int64_t len = x - x0 + 1;
        int64_t *a = acc + 6 * (size_t)c;
        a[0] += len, a[1] += (int64_t)(x0 + x) * len / 2, a[2] += len * y;
        for (int q = 0; q < 3; q++) a[3 + q] += pl[q * plane + x + 1] - pl[q * plane + x0];
        x++;
      }
    }
  }
}

SR_TARGET_AVX2 static void band_task_avx2(void *ctx, int task, int thread) { band_body(ctx, task, thread); }
static void band_task_generic(void *ctx, int task, int thread) { band_body(ctx, task, thread); }

static void run_bands(sr_pool *pool, int bands, sr_cpu_isa isa, kmeans *km) {
  void (*band_task)(void *, int, int) = isa >= SR_CPU_ISA_AVX2 ? band_task_avx2 : band_task_generic;
  if (pool)
    sr_pool_run(pool, bands, band_task, km);
  else
    for (int t = 0; t < bands; t++) band_task(km, t, 0);
}

/* New centres: the means of the pixels that chose them, from the threads'
 * sums (cleared for the next pass); a centre nobody chose stays. */
static void update_centers(kmeans *km, float *center, int threads) {
  for (int c = 0; c < km->k; c++) {
    int64_t s[6] = {0};
    for (int t = 0; t < threads; t++) {
      int64_t *a = km->acc + ((size_t)t * km->k + c) * 6;
      for (int q = 0; q < 6; q++) s[q] += a[q], a[q] = 0;
    }
    if (s[0] == 0) continue;
    float *ce = center + 5 * (size_t)c;
    const double n = (double)s[0];
    ce[0] = (float)(s[1] / n), ce[1] = (float)(s[2] / n);
    for (int q = 0; q < 3; q++) ce[2 + q] = (float)(s[3 + q] / n / LAB_SCALE);
  }
}

static sr_status check_params(const sr_slic_params *p, sr_error *err) {
  if (!p) return sr_error_set(err, SR_ERR_INVALID, "slic: no parameters");
  if (p->n_superpixels < 1)
    return sr_error_set(err, SR_ERR_INVALID, "slic: n_superpixels %d: must be at least 1", p->n_superpixels);
  if (!(p->compactness >= 0) || !isfinite(p->compactness))
    return sr_error_set(err, SR_ERR_INVALID, "slic: compactness %g: must be finite and ≥ 0", (double)p->compactness);
  if (p->iterations < 1)
    return sr_error_set(err, SR_ERR_INVALID, "slic: iterations %d: must be at least 1", p->iterations);
  if (p->threads < 0) return sr_error_set(err, SR_ERR_INVALID, "slic: threads %d: must be ≥ 0", p->threads);
  return SR_OK;
}

/* Rows ahead of k-means: Lab as exact row prefix sums, and the labels of
 * the grid cells. */
typedef struct {
  int width, height, start_x, start_y, step_y, grid_x, grid_y;
  const float *L, *A, *B;
  const int32_t *cell_u; /* grid column of each x */
  int32_t *prefix, *label;
} row_prep;

static void prepare_rows(void *ctx, int task, int thread) {
  (void)thread;
  const row_prep *r = ctx;
  const int W = r->width, H = r->height;
  const float *planes[3] = {r->L, r->A, r->B};
  const int y0 = task * PREP_ROWS, y1 = y0 + PREP_ROWS < H ? y0 + PREP_ROWS : H;
  for (int y = y0; y < y1; y++) {
    for (int q = 0; q < 3; q++) {
      const float *v = planes[q] + (size_t)y * W;
      int32_t *pre = r->prefix + ((size_t)q * H + y) * (W + 1);
      pre[0] = 0;
      /* Rounded by truncating a positive value (|Lab| < 200, no libm call). */
      for (int x = 0; x < W; x++) pre[x + 1] = pre[x] + ((int32_t)(v[x] * LAB_SCALE + 16384.5f) - 16384);
    }
    int v = (y - r->start_y + r->step_y / 2) / r->step_y;
    v = v < 0 ? 0 : v >= r->grid_y ? r->grid_y - 1 : v;
    for (int x = 0; x < W; x++) r->label[(size_t)y * W + x] = v * r->grid_x + r->cell_u[x];
  }
}

/* Scratch buffers of a workspace, by use. */
enum { BUF_L, BUF_A, BUF_B, BUF_DIST, BUF_XS, BUF_CENTER, BUF_PREFIX, BUF_ACC, BUF_KMEANS, BUF_COUNT };

struct sr_slic_workspace {
  sr_scratch buf[BUF_COUNT];
  sr_scratch connectivity[SR_CONNECTIVITY_SCRATCH];
  sr_pool *pool;
};

sr_slic_workspace *sr_slic_workspace_new(void) { return calloc(1, sizeof(sr_slic_workspace)); }

void sr_slic_workspace_free(sr_slic_workspace *ws) {
  if (!ws) return;
  for (int i = 0; i < BUF_COUNT; i++) sr_scratch_free(&ws->buf[i]);
  for (int i = 0; i < SR_CONNECTIVITY_SCRATCH; i++) sr_scratch_free(&ws->connectivity[i]);
  sr_pool_free(ws->pool);
  free(ws);
}

static sr_status check_input(const uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout layout,
                             const sr_slic_params *p, sr_error *err) {
  sr_status st = check_params(p, err);
  if (st != SR_OK) return st;
  if (!pixels) return sr_error_set(err, SR_ERR_INVALID, "slic: no pixels");
  if (width < 1 || height < 1)
    return sr_error_set(err, SR_ERR_INVALID, "slic: image size %dx%d: must be at least 1x1", width, height);
  if (width > MAX_WIDTH) return sr_error_set(err, SR_ERR_INVALID, "slic: image width %d above %d", width, MAX_WIDTH);
  if ((size_t)width * height > (size_t)INT32_MAX / 2)
    return sr_error_set(err, SR_ERR_INVALID, "slic: image size %dx%d: too large", width, height);
  const int ps = layout.pixel_stride;
  if ((ps != 3 && ps != 4) || layout.r < 0 || layout.g < 0 || layout.b < 0 || layout.r >= ps || layout.g >= ps ||
      layout.b >= ps)
    return sr_error_set(err, SR_ERR_INVALID, "slic: pixel layout (stride %d, r %d g %d b %d) is not RGB-like", ps,
                        layout.r, layout.g, layout.b);
  if (row_stride < width * ps)
    return sr_error_set(err, SR_ERR_INVALID, "slic: row stride %d below %d pixels of %d bytes", row_stride, width, ps);
  return SR_OK;
}

sr_status sr_slic_pixels_ws(sr_slic_workspace *ws, const uint8_t *pixels, int width, int height, int row_stride,
                            sr_pixel_layout layout, const sr_slic_params *p, sr_superpixels *out, sr_error *err) {
  if (!out) return sr_error_set(err, SR_ERR_INVALID, "slic: no output");
  memset(out, 0, sizeof *out);
  if (!ws) return sr_slic_pixels(pixels, width, height, row_stride, layout, p, out, err);
  sr_status st = check_input(pixels, width, height, row_stride, layout, p, err);
  if (st != SR_OK) return st;
  sr_cpu_isa isa;
  st = sr__cpu_isa_select(&isa, err);
  if (st != SR_OK) return st;

  const int W = width, H = height;
  const size_t n = (size_t)W * H;
  int sx, sy, ox, oy;
  grid_layout(W, H, p->n_superpixels, &sx, &sy, &ox, &oy);
  const int gx = (W - 1 - ox) / sx + 1, gy = (H - 1 - oy) / sy + 1, K = gx * gy;
  const int S = sx > sy ? sx : sy;

  int threads = p->threads > 0 ? p->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  const size_t acc_bytes = (size_t)K * 6 * sizeof(int64_t);
  if ((size_t)threads * acc_bytes > ACC_BYTES_MAX)
    threads = acc_bytes >= ACC_BYTES_MAX ? 1 : (int)(ACC_BYTES_MAX / acc_bytes);

  float *L = sr_scratch_get(&ws->buf[BUF_L], n * sizeof(float));
  float *A = sr_scratch_get(&ws->buf[BUF_A], n * sizeof(float));
  float *B = sr_scratch_get(&ws->buf[BUF_B], n * sizeof(float));
  float *dist = sr_scratch_get(&ws->buf[BUF_DIST], n * sizeof(float));
  float *xs = sr_scratch_get(&ws->buf[BUF_XS], (size_t)W * sizeof(float));
  float *center = sr_scratch_get(&ws->buf[BUF_CENTER], (size_t)K * 5 * sizeof(float));
  int32_t *prefix = sr_scratch_get(&ws->buf[BUF_PREFIX], 3 * (size_t)(W + 1) * H * sizeof(int32_t));
  int64_t *acc = sr_scratch_get(&ws->buf[BUF_ACC], (size_t)threads * acc_bytes);
  int32_t *label = sr_scratch_get(&ws->buf[BUF_KMEANS], n * sizeof(int32_t));
  int32_t *result = malloc(n * sizeof(int32_t));
  if (!L || !A || !B || !dist || !xs || !center || !prefix || !acc || !label || !result) {
    free(result);
    return sr_error_set(err, SR_ERR_NOMEM, "slic: out of memory for a %dx%d image", W, H);
  }
  memset(acc, 0, (size_t)threads * acc_bytes);
  if (threads > 1 && (!ws->pool || sr_pool_size(ws->pool) != threads)) {
    sr_pool_free(ws->pool);
    ws->pool = sr_pool_new(threads);
  }
  sr_pool *pool = threads > 1 ? ws->pool : NULL;
  int32_t *cell_u = (int32_t *)dist; /* scratch until the first assignment */

  sr_lab_from_pixels(pixels, W, H, row_stride, layout, L, A, B, pool);
  for (int x = 0; x < W; x++) {
    int u = (x - ox + sx / 2) / sx;
    xs[x] = (float)x;
    cell_u[x] = u < 0 ? 0 : u >= gx ? gx - 1 : u;
  }
  /* The first assignment is the grid itself (skimage's first pass, whose
   * centres all have colour 0, so only space counts), then `iterations - 1`
   * passes of update and assignment. A pixel that no window reaches keeps
   * its label (it cannot happen in the first pass: every pixel lies within
   * a step of a grid centre). */
  row_prep rp = {W, H, ox, oy, sy, gx, gy, L, A, B, cell_u, prefix, label};
  const int prep_tasks = (H + PREP_ROWS - 1) / PREP_ROWS;
  if (pool)
    sr_pool_run(pool, prep_tasks, prepare_rows, &rp);
  else
    for (int t = 0; t < prep_tasks; t++) prepare_rows(&rp, t, 0);
  for (int v = 0, c = 0; v < gy; v++)
    for (int u = 0; u < gx; u++, c++) {
      int x = ox + u * sx, y = oy + v * sy;
      size_t i = (size_t)y * W + x;
      float *ce = center + 5 * (size_t)c;
      ce[0] = (float)x, ce[1] = (float)y, ce[2] = L[i], ce[3] = A[i], ce[4] = B[i];
    }
  float ratio = p->compactness / (float)S;
  kmeans km = {W, H, sx, sy, K, ratio * ratio, L, A, B, xs, prefix, center, label, dist, acc, sy > 4 ? sy : 4, 0, 1};
  const int bands = (H + km.band_rows - 1) / km.band_rows;
  run_bands(pool, bands, isa, &km); /* the grid's sums */
  for (int it = 1; it < p->iterations; it++) {
    update_centers(&km, center, threads);
    km.assign = 1, km.accumulate = it + 1 < p->iterations;
    run_bands(pool, bands, isa, &km);
  }

  int min_size = (int)(MIN_SIZE_FACTOR * (double)n / K);
  int count = sr_sp_enforce_connectivity(label, result, W, H, prefix, min_size, ws->connectivity);
  if (count < 0) {
    free(result);
    return sr_error_set(err, SR_ERR_NOMEM, "slic: out of memory for a %dx%d image", W, H);
  }
  out->width = W, out->height = H, out->n = count, out->labels = result;
  return SR_OK;
}

sr_status sr_slic_pixels(const uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout layout,
                         const sr_slic_params *p, sr_superpixels *out, sr_error *err) {
  if (out) memset(out, 0, sizeof *out);
  sr_status st = check_input(pixels, width, height, row_stride, layout, p, err);
  if (st != SR_OK) return st;
  sr_slic_workspace *ws = sr_slic_workspace_new();
  if (!ws) return sr_error_set(err, SR_ERR_NOMEM, "slic: out of memory");
  st = sr_slic_pixels_ws(ws, pixels, width, height, row_stride, layout, p, out, err);
  sr_slic_workspace_free(ws);
  return st;
}

sr_status sr_slic_ws(sr_slic_workspace *ws, const sr_image *rgb, const sr_slic_params *p, sr_superpixels *out,
                     sr_error *err) {
  if (out) memset(out, 0, sizeof *out);
  if (!rgb || !rgb->data) return sr_error_set(err, SR_ERR_INVALID, "slic: no image");
  if (rgb->channels != 3)
    return sr_error_set(err, SR_ERR_INVALID, "slic: image has %d channels, expected 3 (RGB)", rgb->channels);
  if (rgb->width < 1 || rgb->height < 1 || rgb->width > INT32_MAX / 3)
    return sr_error_set(err, SR_ERR_INVALID, "slic: image size %dx%d: must be at least 1x1", rgb->width,
                        rgb->height);
  sr_pixel_layout rgb_layout = {3, 0, 1, 2};
  if (!ws) return sr_slic_pixels(rgb->data, rgb->width, rgb->height, rgb->width * 3, rgb_layout, p, out, err);
  return sr_slic_pixels_ws(ws, rgb->data, rgb->width, rgb->height, rgb->width * 3, rgb_layout, p, out, err);
}

sr_status sr_slic(const sr_image *rgb, const sr_slic_params *p, sr_superpixels *out, sr_error *err) {
  return sr_slic_ws(NULL, rgb, p, out, err);
}
