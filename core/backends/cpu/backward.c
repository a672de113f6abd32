/* backward.c: the CPU backend's training passes, all on the thread pool
 * with single-threaded sgemm (gemm.h) per task. Convolution puts the frames of a
 * chunk side by side (K × frames·pixels) so the weight gradient is one wide
 * GEMM split across threads by weight columns, and the input gradient is
 * computed per (frame, channel range) and folded back (col2im) by the same
 * task while it is in cache. Max pooling and LRN split planes / frames. */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "cpu_internal.h"
#include "im2col.h"

/* Frames per chunk are capped so the unfolded chunk stays below this many
 * floats (64 MiB); weight gradients accumulate across chunks. */
#define CHUNK_FLOATS ((size_t)16 << 20)

typedef struct {
  cpu_backend *cb;
  const sr_conv_params *p;
  const sr_tensor *x, *dy;
  sr_tensor *dx;
  const float *w;
  float *dw, *db;
  int f0, nf, g;  /* frames [f0, f0 + nf) of group g */
  int icg, ocg, K, N;
  size_t ld;      /* nf · N: the row length of col and gy */
  float *col;     /* K × ld: the chunk's unfolded inputs */
  float *gy;      /* ocg × ld: its output gradients */
  int cparts;     /* channel ranges per frame (unfold, input gradient) */
  int kparts;     /* weight-column ranges of the weight gradient */
  bool accumulate;
  atomic_int failed;
} bwd_job;

/* Phase 1: unfold a channel range of one frame into its columns of col;
 * the range-0 task also copies the frame's output gradients into gy. */
static void gather_task(void *ctx, int task, int thread) {
  (void)thread;
  bwd_job *j = ctx;
  const sr_conv_params *p = j->p;
  int f = task / j->cparts, c0, c1;
  sr__split(j->icg, j->cparts, task % j->cparts, &c0, &c1);
  int n = j->f0 + f, kk = p->kh * p->kw;
  size_t in_plane = (size_t)j->x->h * j->x->w;
  const float *in = j->x->data + ((size_t)n * j->x->c + (size_t)j->g * j->icg + c0) * in_plane;
  sr__im2col(in, c1 - c0, j->x->h, j->x->w, p->kh, p->kw, p->stride, p->pad, j->dy->h, j->dy->w,
             j->col + (size_t)c0 * kk * j->ld + (size_t)f * j->N, j->ld);
  if (task % j->cparts) return;
  const float *src = j->dy->data + ((size_t)n * p->out_c + (size_t)j->g * j->ocg) * j->N;
  for (int oc = 0; oc < j->ocg; oc++)
    memcpy(j->gy + (size_t)oc * j->ld + (size_t)f * j->N, src + (size_t)oc * j->N, sizeof(float) * j->N);
}

/* Phase 2: dW_g[:, k0:k1] (+)= gy · col[k0:k1, :]ᵀ, and the bias gradient
 * of a slice of the output channels. */
static void dw_task(void *ctx, int task, int thread) {
  bwd_job *j = ctx;
  int k0, k1, m0, m1;
  sr__split(j->K, j->kparts, task, &k0, &k1);
  if (k1 > k0 && !sr__cpu_gemm(j->cb, thread, SR_GEMM_TB, j->ocg, k1 - k0, (int)j->ld, j->gy, (int)j->ld,
                               j->col + (size_t)k0 * j->ld, (int)j->ld, j->accumulate ? 1.f : 0.f,
                               j->dw + (size_t)j->g * j->ocg * j->K + k0, j->K))
    atomic_store(&j->failed, 1);
  sr__split(j->ocg, j->kparts, task, &m0, &m1);
  for (int oc = m0; oc < m1; oc++) {
    const float *r = j->gy + (size_t)oc * j->ld;
    float s = 0;
    for (size_t i = 0; i < j->ld; i++) s += r[i];
    float *d = j->db + j->g * j->ocg + oc;
    *d = j->accumulate ? *d + s : s;
  }
}

/* Phase 3: the input gradient of a channel range of one frame:
 * dcol = W_g[:, range]ᵀ · gy[:, frame], folded back onto the image. */
static void dx_task(void *ctx, int task, int thread) {
  bwd_job *j = ctx;
  const sr_conv_params *p = j->p;
  int f = task / j->cparts, c0, c1;
  sr__split(j->icg, j->cparts, task % j->cparts, &c0, &c1);
  if (c1 <= c0) return;
  int n = j->f0 + f, kk = p->kh * p->kw, rows = (c1 - c0) * kk;
  size_t in_plane = (size_t)j->x->h * j->x->w;
  float *gin = j->dx->data + ((size_t)n * j->dx->c + (size_t)j->g * j->icg + c0) * in_plane;
  bool direct = kk == 1 && p->stride == 1 && p->pad == 0;
  float *dcol = direct ? gin : sr__cpu_thread_workspace(j->cb, thread, (size_t)rows * j->N);
  if (!dcol) {
    atomic_store(&j->failed, 1);
    return;
  }
  if (!sr__cpu_gemm(j->cb, thread, SR_GEMM_TA, rows, j->N, j->ocg, j->w + (size_t)j->g * j->ocg * j->K + (size_t)c0 * kk,
                    j->K, j->gy + (size_t)f * j->N, (int)j->ld, 0.f, dcol, j->N)) {
    atomic_store(&j->failed, 1);
    return;
  }
  if (!direct)
    sr__col2im(dcol, c1 - c0, j->x->h, j->x->w, p->kh, p->kw, p->stride, p->pad, j->dy->h, j->dy->w, gin);
}

static void bias_grad_task(void *ctx, int task, int thread) {
  (void)thread;
  const sr_tensor *dy = ((void **)ctx)[0];
  float *db = ((void **)ctx)[1];
  size_t plane = (size_t)dy->h * dy->w;
  float s = 0;
  for (int n = 0; n < dy->n; n++) {
    const float *r = dy->data + ((size_t)n * dy->c + task) * plane;
    for (size_t i = 0; i < plane; i++) s += r[i];
  }
  db[task] = s;
}

/* 3×3 stride-1 layers: weight gradient by F(3×3, 2×2), input gradient as
 * the Winograd convolution of dy with the flipped, transposed filters. */
static sr_status winograd_backward(cpu_backend *cb, const sr_conv_params *p, const sr_tensor *x, const float *w,
                                   const sr_tensor *dy, sr_tensor *dx, float *dw, float *db) {
  void *bctx[2] = {(void *)dy, db};
  sr_pool_run(cb->pool, p->out_c, bias_grad_task, bctx);
  sr_status st = sr__cpu_winograd_weight_grad(cb, p, x, dy, dw);
  if (st != SR_OK || !dx) return st;
  sr_conv_params t = *p; /* the input gradient's convolution */
  t.in_c = p->out_c, t.out_c = p->in_c, t.pad = 2 - p->pad;
  int m = sr__cpu_winograd_tile(cb, &t, dy->n, dx->h, dx->w, false);
  float *U = sr__cpu_workspace(cb, CPU_WS_WINO, sr__cpu_winograd_packed_count(cb, p, true, m));
  if (!U) return SR_ERR_NOMEM;
  if ((st = sr__cpu_winograd_filters(cb, p, w, true, m, U)) != SR_OK) return st;
  return sr__cpu_winograd_conv(cb, p->group, 3, 2 - p->pad, m, dy, U, NULL, false, dx);
}

sr_status sr__cpu_conv2d_backward(sr_backend *b, const sr_conv_params *p, const sr_tensor *x, const float *w,
                                  const sr_tensor *dy, sr_tensor *dx, float *dw, float *db) {
  cpu_backend *cb = (cpu_backend *)b;
  sr__cpu_blas_single();
  if (cb->winograd && sr__cpu_winograd_applies(p)) return winograd_backward(cb, p, x, w, dy, dx, dw, db);
  int T = sr_pool_size(cb->pool);
  bwd_job j = {.cb = cb, .p = p, .x = x, .dy = dy, .dx = dx, .w = w, .dw = dw, .db = db};
  j.icg = p->in_c / p->group, j.ocg = p->out_c / p->group;
  j.K = j.icg * p->kh * p->kw, j.N = dy->h * dy->w;
  int chunk = (int)(CHUNK_FLOATS / ((size_t)(j.K + j.ocg) * j.N));
  if (chunk < 1) chunk = 1;
  if (chunk > dy->n) chunk = dy->n;
  /* Enough weight-column ranges to keep every thread busy, each wide
   * enough for an efficient GEMM. */
  j.kparts = 2 * T;
  if (j.kparts > j.K / 64) j.kparts = j.K / 64 > 1 ? j.K / 64 : 1;
  for (int f0 = 0; f0 < dy->n; f0 += chunk) {
    j.f0 = f0, j.nf = dy->n - f0 < chunk ? dy->n - f0 : chunk;
    j.ld = (size_t)j.nf * j.N;
    j.cparts = j.nf >= 2 * T ? 1 : (2 * T + j.nf - 1) / j.nf;
    if (j.cparts > j.icg) j.cparts = j.icg;
    j.col = sr__cpu_workspace(cb, CPU_WS_COL, (size_t)j.K * j.ld);
    j.gy = sr__cpu_workspace(cb, CPU_WS_GRAD, (size_t)j.ocg * j.ld);
    if (!j.col || !j.gy) return SR_ERR_NOMEM;
    for (j.g = 0; j.g < p->group; j.g++) {
      j.accumulate = f0 > 0;
      sr_pool_run(cb->pool, j.nf * j.cparts, gather_task, &j);
      sr_pool_run(cb->pool, j.kparts, dw_task, &j);
      if (dx) sr_pool_run(cb->pool, j.nf * j.cparts, dx_task, &j);
    }
  }
  return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
}

typedef struct {
  cpu_backend *cb;
  const void *params;
  const sr_tensor *x, *y, *dy;
  sr_tensor *dx;
  int parts;
  atomic_int failed;
} grad_job;

static void maxpool_backward_task(void *ctx, int task, int thread) {
  (void)thread;
  grad_job *j = ctx;
  const sr_pool_params *p = j->params;
  const sr_tensor *x = j->x, *dy = j->dy;
  int lo, hi;
  sr__split(x->n * x->c, j->parts, task, &lo, &hi);
  for (int pl = lo; pl < hi; pl++) {
    const float *in = x->data + (size_t)pl * x->h * x->w;
    const float *g = dy->data + (size_t)pl * dy->h * dy->w;
    float *out = j->dx->data + (size_t)pl * x->h * x->w;
    memset(out, 0, sizeof(float) * x->h * x->w);
    for (int oy = 0; oy < dy->h; oy++) {
      int y0, y1;
      sr__pool_window(oy, p->stride, p->pad, p->kernel, x->h, &y0, &y1);
      for (int ox = 0; ox < dy->w; ox++) {
        int x0, x1;
        sr__pool_window(ox, p->stride, p->pad, p->kernel, x->w, &x0, &x1);
        if (y0 >= y1 || x0 >= x1) continue; /* an empty window: no input, no gradient */
        /* The first maximum, without branches on the data (random
         * comparisons mispredict half the time): selects, not jumps. */
        int best = y0 * x->w + x0;
        float m = in[best];
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++) {
            int at = iy * x->w + ix;
            float v = in[at];
            bool gt = v > m;
            m = gt ? v : m;
            best = gt ? at : best;
          }
        out[best] += g[oy * dy->w + ox];
      }
    }
  }
}

sr_status sr__cpu_maxpool_backward(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, const sr_tensor *dy,
                                   sr_tensor *dx) {
  cpu_backend *cb = (cpu_backend *)b;
  int planes = x->n * x->c, parts = 4 * sr_pool_size(cb->pool);
  grad_job j = {cb, p, x, NULL, dy, dx, parts < planes ? parts : planes, 0};
  sr_pool_run(cb->pool, j.parts, maxpool_backward_task, &j);
  return SR_OK;
}

/* LRN's gradient for one frame: with s = k + α/n·Σ x² over the window,
 * dx_c = dy_c·s_c^−β − (2αβ/n)·x_c·Σ_{windows holding c} dy_j·y_j/s_j. */
static void lrn_backward_task(void *ctx, int task, int thread) {
  grad_job *j = ctx;
  const sr_lrn_params *p = j->params;
  const sr_tensor *x = j->x;
  size_t plane = (size_t)x->h * x->w;
  float *scale = sr__cpu_thread_workspace(j->cb, thread, plane * (x->c + 1));
  if (!scale) {
    atomic_store(&j->failed, 1);
    return;
  }
  float *acc = scale + plane * x->c;
  int pre = (p->size - 1) / 2, post = p->size - pre - 1, n = task;
  float a = p->alpha / p->size, coef = 2.f * p->alpha * p->beta / p->size;
  const float *in = x->data + (size_t)n * x->c * plane, *out = j->y->data + (size_t)n * x->c * plane;
  const float *g = j->dy->data + (size_t)n * x->c * plane;
  float *gx = j->dx->data + (size_t)n * x->c * plane;
  for (int c = 0; c < x->c; c++)
    for (size_t i = 0; i < plane; i++) {
      double s = 0;
      for (int k = c - pre; k <= c + post; k++)
        if (k >= 0 && k < x->c) s += (double)in[k * plane + i] * in[k * plane + i];
      scale[c * plane + i] = p->k + a * (float)s;
    }
  memset(acc, 0, plane * sizeof(float));
  for (int k = 0; k < post && k < x->c; k++)
    for (size_t i = 0; i < plane; i++) acc[i] += g[k * plane + i] * out[k * plane + i] / scale[k * plane + i];
  for (int c = 0; c < x->c; c++) {
    int add = c + post, drop = c - pre - 1;
    if (add < x->c)
      for (size_t i = 0; i < plane; i++) acc[i] += g[add * plane + i] * out[add * plane + i] / scale[add * plane + i];
    if (drop >= 0)
      for (size_t i = 0; i < plane; i++)
        acc[i] -= g[drop * plane + i] * out[drop * plane + i] / scale[drop * plane + i];
    for (size_t i = 0; i < plane; i++)
      gx[c * plane + i] = g[c * plane + i] * powf(scale[c * plane + i], -p->beta) - coef * in[c * plane + i] * acc[i];
  }
}

sr_status sr__cpu_lrn_backward(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, const sr_tensor *y,
                               const sr_tensor *dy, sr_tensor *dx) {
  cpu_backend *cb = (cpu_backend *)b;
  grad_job j = {cb, p, x, y, dy, dx, x->n, 0};
  sr_pool_run(cb->pool, x->n, lrn_backward_task, &j);
  return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
}
