/* cpu.c: the CPU backend's op table, workspaces and forward ops. 3×3 and
 * 5×5 stride-1 convolutions, and strided ones with ⌈k/stride⌉ = 3, go to
 * Winograd (winograd.c, space_to_depth.c; filters of uploaded weights are
 * cached here); the others are split into tasks (frame, group, column range)
 * run on our own thread pool, each unfolding its columns (im2col) and
 * calling our single-threaded sgemm (gemm.h) with the bias preloaded and
 * ReLU applied in the same task. Pooling, LRN and softmax are loops over
 * contiguous planes, split across the pool too. The backward passes are in
 * backward.c. */
#include <cblas.h>
#include <stdatomic.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "im2col.h"

/* *buf, reallocated to @count floats when smaller (contents not kept). */
static float *grow(cpu_backend *cb, float **buf, size_t *cap, size_t count) {
  if (count > *cap) {
    free(*buf);
    *buf = sr__host_alloc(&cb->base, count);
    *cap = *buf ? count : 0;
  }
  return *buf;
}

float *sr__cpu_workspace(cpu_backend *cb, int slot, size_t count) {
  return grow(cb, &cb->ws[slot], &cb->ws_count[slot], count);
}

float *sr__cpu_thread_slot(cpu_backend *cb, int thread, int slot, size_t count) {
  int t = thread * CPU_TWS_SLOTS + slot;
  return grow(cb, &cb->tws[t], &cb->tws_count[t], count);
}

float *sr__cpu_thread_workspace(cpu_backend *cb, int thread, size_t count) {
  return sr__cpu_thread_slot(cb, thread, CPU_TWS_SCRATCH, count);
}

bool sr__cpu_gemm(cpu_backend *cb, int thread, int flags, int M, int N, int K, const float *a, int lda, const float *b,
                  int ldb, float beta, float *c, int ldc) {
  float *ws = sr__cpu_thread_slot(cb, thread, CPU_TWS_GEMM, sr__gemm_workspace(cb->gemm, flags, M, N, K));
  if (!ws) return false;
  sr__gemm(cb->gemm, flags, M, N, K, a, lda, b, ldb, beta, c, ldc, ws);
  return true;
}

/* OpenBLAS keeps one process-wide thread count, which other code (the
 * benchmark's sgemm peak) may change: checked on every op. */
void sr__cpu_blas_single(void) {
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

/* Output maps below this many pixels use the row-split path. */
#define SMALL_MAP 1024

typedef struct {
  cpu_backend *cb;
  const sr_conv_params *p;
  const sr_tensor *x;
  const float *w, *bias;
  sr_tensor *y;
  int chunks; /* column ranges per (frame, group) */
  bool direct;
  atomic_int failed;
} conv_job;

static void conv_task(void *ctx, int task, int thread) {
  conv_job *j = ctx;
  const sr_conv_params *p = j->p;
  int icg = p->in_c / p->group, ocg = p->out_c / p->group;
  int K = icg * p->kh * p->kw, N = j->y->h * j->y->w;
  int chunk = task % j->chunks, g = (task / j->chunks) % p->group, n = task / j->chunks / p->group;
  int c0, c1;
  sr__split(N, j->chunks, chunk, &c0, &c1);
  if (c1 <= c0) return;
  const float *in = j->x->data + ((size_t)n * j->x->c + (size_t)g * icg) * j->x->h * j->x->w;
  float *out = j->y->data + ((size_t)n * p->out_c + (size_t)g * ocg) * N;
  const float *B = in + c0;
  int ldb = N;
  if (!j->direct) {
    float *col = sr__cpu_thread_workspace(j->cb, thread, (size_t)K * (c1 - c0));
    if (!col) {
      atomic_store(&j->failed, 1);
      return;
    }
    sr__im2col_cols(in, icg, j->x->h, j->x->w, p->kh, p->kw, p->stride, p->pad, j->y->h, j->y->w, c0, c1, col);
    B = col, ldb = c1 - c0;
  }
  for (int oc = 0; oc < ocg; oc++) {
    float bv = j->bias ? j->bias[g * ocg + oc] : 0.f, *o = out + (size_t)oc * N;
    for (int i = c0; i < c1; i++) o[i] = bv;
  }
  if (!sr__cpu_gemm(j->cb, thread, 0, ocg, c1 - c0, K, j->w + (size_t)g * ocg * K, K, B, ldb, 1.f, out + c0, N)) {
    atomic_store(&j->failed, 1);
    return;
  }
  if (p->relu)
    for (int oc = 0; oc < ocg; oc++) {
      float *o = out + (size_t)oc * N;
      for (int i = c0; i < c1; i++) o[i] = o[i] > 0 ? o[i] : 0;
    }
}

/* Small output maps (conv3-8: 13×13 at 227) make column ranges too narrow
 * for an efficient GEMM, so there the unfolding is shared and the threads
 * split output channels instead: phase 1 unfolds channel ranges of every
 * (frame, group) in parallel, phase 2 runs row blocks of the GEMM. */
typedef struct {
  conv_job *j;
  float *col; /* units × K × N */
  int cparts, mparts;
} rows_job;

static void unfold_task(void *ctx, int task, int thread) {
  (void)thread;
  rows_job *r = ctx;
  const sr_conv_params *p = r->j->p;
  const sr_tensor *x = r->j->x, *y = r->j->y;
  int icg = p->in_c / p->group, K = icg * p->kh * p->kw, N = y->h * y->w;
  int unit = task / r->cparts, c0, c1;
  sr__split(icg, r->cparts, task % r->cparts, &c0, &c1);
  int n = unit / p->group, g = unit % p->group;
  const float *in = x->data + ((size_t)n * x->c + (size_t)g * icg + c0) * x->h * x->w;
  sr__im2col(in, c1 - c0, x->h, x->w, p->kh, p->kw, p->stride, p->pad, y->h, y->w,
             r->col + (size_t)unit * K * N + (size_t)c0 * p->kh * p->kw * N, (size_t)N);
}

static void rows_task(void *ctx, int task, int thread) {
  rows_job *r = ctx;
  conv_job *j = r->j;
  const sr_conv_params *p = j->p;
  int icg = p->in_c / p->group, ocg = p->out_c / p->group, K = icg * p->kh * p->kw, N = j->y->h * j->y->w;
  int unit = task / r->mparts, m0, m1;
  sr__split(ocg, r->mparts, task % r->mparts, &m0, &m1);
  if (m1 <= m0) return;
  int n = unit / p->group, g = unit % p->group;
  const float *B = j->direct ? j->x->data + ((size_t)n * j->x->c + (size_t)g * icg) * N : r->col + (size_t)unit * K * N;
  float *out = j->y->data + ((size_t)n * p->out_c + (size_t)g * ocg + m0) * N;
  for (int oc = m0; oc < m1; oc++) {
    float bv = j->bias ? j->bias[g * ocg + oc] : 0.f, *o = out + (size_t)(oc - m0) * N;
    for (int i = 0; i < N; i++) o[i] = bv;
  }
  if (!sr__cpu_gemm(j->cb, thread, 0, m1 - m0, N, K, j->w + ((size_t)g * ocg + m0) * K, K, B, N, 1.f, out, N)) {
    atomic_store(&j->failed, 1);
    return;
  }
  if (p->relu)
    for (size_t i = 0; i < (size_t)(m1 - m0) * N; i++) out[i] = out[i] > 0 ? out[i] : 0;
}

/* ---- allocations, whole uploads, and their cached Winograd filters ---- */

static void frozen_drop(cpu_backend *cb, int i) {
  free(cb->frozen[i].U[0]), free(cb->frozen[i].U[1]);
  cb->frozen[i] = cb->frozen[--cb->n_frozen];
}

static float *cpu_alloc(sr_backend *b, size_t count) {
  cpu_backend *cb = (cpu_backend *)b;
  if (cb->n_frozen == cb->cap_frozen) {
    int cap = cb->cap_frozen ? 2 * cb->cap_frozen : 32;
    cpu_frozen *f = realloc(cb->frozen, cap * sizeof *f);
    if (!f) return NULL;
    cb->frozen = f, cb->cap_frozen = cap;
  }
  float *buf = sr__host_alloc(b, count);
  if (buf) cb->frozen[cb->n_frozen++] = (cpu_frozen){buf, count, false, {NULL, NULL}, {{0}, {0}}};
  return buf;
}

static sr_status cpu_upload(sr_backend *b, float *dst, const float *src, size_t count) {
  cpu_backend *cb = (cpu_backend *)b;
  memcpy(dst, src, count * sizeof(float));
  for (int i = 0; i < cb->n_frozen; i++) {
    cpu_frozen *f = &cb->frozen[i];
    if (!(f->buf < dst + count && dst < f->buf + f->count)) continue;
    free(f->U[0]), free(f->U[1]), f->U[0] = f->U[1] = NULL;
    f->uploaded = f->buf == dst && f->count == count;
  }
  return SR_OK;
}

static void cpu_release(sr_backend *b, float *buf) {
  cpu_backend *cb = (cpu_backend *)b;
  for (int i = cb->n_frozen - 1; i >= 0; i--)
    if (cb->frozen[i].buf == buf) frozen_drop(cb, i);
  sr__host_release(b, buf);
}

static bool same_conv(const sr_conv_params *a, const sr_conv_params *b) {
  return a->in_c == b->in_c && a->out_c == b->out_c && a->group == b->group && a->kh == b->kh &&
         a->stride == b->stride;
}

/* The Winograd filters of layer @p into @U, packed for the GEMM: of its own kernel (stride 1), or
 * of the equivalent 3×3 layer over its space-to-depth input. */
static sr_status make_filters(cpu_backend *cb, const sr_conv_params *p, const float *w, int m, float *U) {
  if (p->stride == 1) return sr__cpu_winograd_filters(cb, p, w, false, m, U);
  sr_conv_params q;
  sr__cpu_s2d_params(p, &q);
  float *w2 = sr__cpu_workspace(cb, CPU_WS_S2D_W, (size_t)q.out_c * (q.in_c / q.group) * 9);
  if (!w2) return SR_ERR_NOMEM;
  sr__cpu_s2d_weights(p, w, w2);
  return sr__cpu_winograd_filters(cb, &q, w2, false, m, U);
}

/* The allocation @w is, when it was filled whole by one upload and holds
 * layer @p's weights: its Winograd filters are kept between calls. */
static cpu_frozen *frozen_weights(cpu_backend *cb, const sr_conv_params *p, const float *w) {
  size_t wc = (size_t)p->out_c * (p->in_c / p->group) * p->kh * p->kw;
  for (int i = 0; i < cb->n_frozen; i++)
    if (cb->frozen[i].buf == w) return cb->frozen[i].uploaded && cb->frozen[i].count >= wc ? &cb->frozen[i] : NULL;
  return NULL;
}

/* The Winograd filters of @w for tile side @m: cached in @f (one set per
 * tile side; frozen_weights), else transformed into a workspace. @q is the
 * stride-1 layer they are for. */
static const float *winograd_filters(cpu_backend *cb, cpu_frozen *f, const sr_conv_params *p,
                                     const sr_conv_params *q, const float *w, int m) {
  size_t uc = sr__cpu_winograd_packed_count(cb, q, false, m);
  int slot = m == 4;
  if (f) {
    if (f->U[slot] && same_conv(&f->p[slot], p)) return f->U[slot];
    free(f->U[slot]);
    f->U[slot] = sr__host_alloc(&cb->base, uc);
    if (f->U[slot]) {
      f->p[slot] = *p;
      if (make_filters(cb, p, w, m, f->U[slot]) == SR_OK) return f->U[slot];
      free(f->U[slot]), f->U[slot] = NULL;
      return NULL;
    }
  }
  float *U = sr__cpu_workspace(cb, CPU_WS_WINO, uc);
  return U && make_filters(cb, p, w, m, U) == SR_OK ? U : NULL;
}

static sr_status cpu_conv2d(sr_backend *b, const sr_conv_params *p, const sr_tensor *x, const float *w,
                            const float *bias, sr_tensor *y) {
  cpu_backend *cb = (cpu_backend *)b;
  sr__cpu_blas_single();
  if (cb->winograd && (sr__cpu_winograd_forward_applies(p) || sr__cpu_s2d_applies(p))) {
    sr_conv_params q = *p; /* the stride-1 layer it runs as */
    if (p->stride > 1) sr__cpu_s2d_params(p, &q);
    cpu_frozen *f = frozen_weights(cb, p, w);
    int m = sr__cpu_winograd_tile(cb, &q, x->n, y->h, y->w, f != NULL);
    const float *U = winograd_filters(cb, f, p, &q, w, m);
    if (!U) return SR_ERR_NOMEM;
    return p->stride == 1 ? sr__cpu_winograd_conv(cb, p->group, p->kh, p->pad, m, x, U, bias, p->relu, y)
                          : sr__cpu_s2d_conv(cb, p, m, x, U, bias, y);
  }
  if (y->h * y->w < SMALL_MAP) {
    int units = x->n * p->group, T = sr_pool_size(cb->pool), icg = p->in_c / p->group;
    int K = icg * p->kh * p->kw, N = y->h * y->w;
    conv_job j = {cb, p, x, w, bias, y, 1, p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad == 0, 0};
    rows_job r = {&j, NULL, 1, 1};
    if (!j.direct) {
      r.col = sr__cpu_workspace(cb, CPU_WS_COL, (size_t)units * K * N);
      if (!r.col) return SR_ERR_NOMEM;
      r.cparts = units >= 2 * T ? 1 : (2 * T + units - 1) / units;
      if (r.cparts > icg) r.cparts = icg;
      sr_pool_run(cb->pool, units * r.cparts, unfold_task, &r);
    }
    /* As few row blocks as make units × blocks a multiple of the threads:
     * big blocks keep each GEMM efficient, equal counts keep threads busy. */
    int a = units, bb = T;
    while (bb) {
      int t = a % bb;
      a = bb, bb = t;
    }
    r.mparts = T / a;
    if (r.mparts > (p->out_c / p->group) / 16) r.mparts = (p->out_c / p->group) / 16 > 1 ? (p->out_c / p->group) / 16 : 1;
    sr_pool_run(cb->pool, units * r.mparts, rows_task, &r);
    return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
  }
  int units = x->n * p->group, T = sr_pool_size(cb->pool), N = y->h * y->w;
  /* Enough tasks to balance the threads, columns wide enough for sgemm. */
  int chunks = units >= 2 * T ? 1 : (2 * T + units - 1) / units;
  if (chunks > N / 48) chunks = N / 48 > 1 ? N / 48 : 1;
  conv_job j = {cb, p, x, w, bias, y, chunks, p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad == 0, 0};
  sr_pool_run(cb->pool, units * chunks, conv_task, &j);
  return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
}

static sr_status cpu_relu(sr_backend *b, sr_tensor *x) {
  (void)b;
  size_t count = sr_tensor_count(x);
  float *d = x->data;
  for (size_t i = 0; i < count; i++) d[i] = d[i] > 0 ? d[i] : 0;
  return SR_OK;
}

typedef struct {
  cpu_backend *cb;
  const sr_pool_params *pp;
  const sr_lrn_params *lp;
  const sr_tensor *x;
  sr_tensor *y;
  int parts; /* tasks per frame (LRN) or in all (pooling) */
  atomic_int failed;
} plane_job;

static void maxpool_task(void *ctx, int task, int thread) {
  (void)thread;
  plane_job *j = ctx;
  const sr_pool_params *p = j->pp;
  const sr_tensor *x = j->x, *y = j->y;
  int lo, hi;
  sr__split(x->n * x->c, j->parts, task, &lo, &hi);
  for (int pl = lo; pl < hi; pl++) {
    const float *in = x->data + (size_t)pl * x->h * x->w;
    float *out = y->data + (size_t)pl * y->h * y->w;
    for (int oy = 0; oy < y->h; oy++) {
      int y0, y1;
      sr__pool_window(oy, p->stride, p->pad, p->kernel, x->h, &y0, &y1);
      for (int ox = 0; ox < y->w; ox++) {
        int x0, x1;
        sr__pool_window(ox, p->stride, p->pad, p->kernel, x->w, &x0, &x1);
        float m = y0 < y1 && x0 < x1 ? -FLT_MAX : 0.f; /* an empty window (outside the input) gives 0 */
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++) m = in[iy * x->w + ix] > m ? in[iy * x->w + ix] : m;
        out[oy * y->w + ox] = m;
      }
    }
  }
}

static sr_status cpu_maxpool(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, sr_tensor *y) {
  cpu_backend *cb = (cpu_backend *)b;
  int planes = x->n * x->c, parts = sr_pool_size(cb->pool) * 4;
  plane_job j = {cb, p, NULL, x, y, parts < planes ? parts : planes, 0};
  sr_pool_run(cb->pool, j.parts, maxpool_task, &j);
  return SR_OK;
}

/* Across-channel LRN over a range of pixels of one frame, with a running
 * sum of squares over the channel window; beta = 0.75 (CaffeNet's) avoids
 * powf. */
static void lrn_task(void *ctx, int task, int thread) {
  plane_job *j = ctx;
  const sr_lrn_params *p = j->lp;
  const sr_tensor *x = j->x;
  size_t plane = (size_t)x->h * x->w;
  int n = task / j->parts, lo, hi;
  sr__split((int)plane, j->parts, task % j->parts, &lo, &hi);
  int len = hi - lo;
  if (len <= 0) return;
  float *sum = sr__cpu_thread_workspace(j->cb, thread, len);
  if (!sum) {
    atomic_store(&j->failed, 1);
    return;
  }
  int pre = (p->size - 1) / 2, post = p->size - pre - 1;
  float a = p->alpha / p->size;
  bool b075 = fabsf(p->beta - 0.75f) < 1e-7f;
  const float *in = x->data + (size_t)n * x->c * plane + lo;
  float *out = j->y->data + (size_t)n * x->c * plane + lo;
  memset(sum, 0, len * sizeof(float));
  for (int c = 0; c < post && c < x->c; c++)
    for (int i = 0; i < len; i++) sum[i] += in[c * plane + i] * in[c * plane + i];
  for (int c = 0; c < x->c; c++) {
    int add = c + post, drop = c - pre - 1;
    if (add < x->c)
      for (int i = 0; i < len; i++) sum[i] += in[add * plane + i] * in[add * plane + i];
    if (drop >= 0)
      for (int i = 0; i < len; i++) sum[i] -= in[drop * plane + i] * in[drop * plane + i];
    const float *ic = in + c * plane;
    float *oc = out + c * plane;
    if (b075) {
      for (int i = 0; i < len; i++) {
        float s = p->k + a * (sum[i] > 0 ? sum[i] : 0);
        float r = sqrtf(s);
        oc[i] = ic[i] / (r * sqrtf(r));
      }
    } else {
      for (int i = 0; i < len; i++) oc[i] = ic[i] * powf(p->k + a * (sum[i] > 0 ? sum[i] : 0), -p->beta);
    }
  }
}

static sr_status cpu_lrn(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, sr_tensor *y) {
  cpu_backend *cb = (cpu_backend *)b;
  int plane = x->h * x->w, parts = (2 * sr_pool_size(cb->pool) + x->n - 1) / x->n;
  if (parts > plane / 16) parts = plane / 16 > 1 ? plane / 16 : 1;
  plane_job j = {cb, NULL, p, x, y, parts, 0};
  sr_pool_run(cb->pool, x->n * parts, lrn_task, &j);
  return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
}

static sr_status cpu_softmax(sr_backend *b, const sr_tensor *x, sr_tensor *y) {
  (void)b;
  size_t plane = (size_t)x->h * x->w;
  for (int n = 0; n < x->n; n++) {
    const float *in = x->data + (size_t)n * x->c * plane;
    float *out = y->data + (size_t)n * x->c * plane;
    for (size_t i = 0; i < plane; i++) {
      float m = -FLT_MAX, s = 0;
      for (int c = 0; c < x->c; c++) m = in[c * plane + i] > m ? in[c * plane + i] : m;
      for (int c = 0; c < x->c; c++) s += out[c * plane + i] = expf(in[c * plane + i] - m);
      float inv = 1.f / s;
      for (int c = 0; c < x->c; c++) out[c * plane + i] *= inv;
    }
  }
  return SR_OK;
}

static void cpu_destroy(sr_backend *b) {
  cpu_backend *cb = (cpu_backend *)b;
  for (int t = 0; t < sr_pool_size(cb->pool) * CPU_TWS_SLOTS; t++) free(cb->tws[t]);
  free(cb->tws), free(cb->tws_count);
  sr_pool_free(cb->pool);
  for (int i = 0; i < CPU_WS_SLOTS; i++) free(cb->ws[i]);
  for (int i = 0; i < cb->n_frozen; i++) free(cb->frozen[i].U[0]), free(cb->frozen[i].U[1]);
  free(cb->frozen);
  free(cb);
}

typedef struct {
  void (*fn)(void *ctx, int i);
  void *ctx;
} host_job;

static void host_task(void *ctx, int task, int thread) {
  (void)thread;
  const host_job *h = ctx;
  h->fn(h->ctx, task);
}

static void cpu_host_parallel(sr_backend *b, int n, void (*fn)(void *ctx, int i), void *ctx) {
  host_job h = {fn, ctx};
  sr_pool_run(((cpu_backend *)b)->pool, n, host_task, &h);
}

static const struct sr_backend_ops cpu_ops = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .release = cpu_release,
    .upload = cpu_upload,
    .download = sr__host_copy,
    .conv2d = cpu_conv2d,
    .relu = cpu_relu,
    .maxpool = cpu_maxpool,
    .lrn = cpu_lrn,
    .softmax = cpu_softmax,
    .conv2d_backward = sr__cpu_conv2d_backward,
    .maxpool_backward = sr__cpu_maxpool_backward,
    .lrn_backward = sr__cpu_lrn_backward,
    .host_parallel = cpu_host_parallel,
    .destroy = cpu_destroy,
};

sr_status sr__backend_cpu_new(int threads, sr_backend **out, sr_error *err) {
  sr_cpu_isa isa;
  sr_status st = sr__cpu_isa_pick(&isa, err);
  if (st != SR_OK) {
    sr_error_prefix(err, "cpu backend");
    return st;
  }
  cpu_backend *cb = calloc(1, sizeof *cb);
  if (!cb) return sr_error_set(err, SR_ERR_NOMEM, "cpu backend: out of memory");
  cb->isa = isa;
  const char *tile = getenv("SEGRANK_CPU_WINOGRAD_TILE");
  if (tile && *tile && strcmp(tile, "auto")) {
    if (strcmp(tile, "2") && strcmp(tile, "4")) {
      free(cb);
      return sr_error_set(err, SR_ERR_INVALID,
                          "cpu backend: SEGRANK_CPU_WINOGRAD_TILE=%s: expected 2 (F(2x2, 3x3)), 4 (F(4x4, 3x3)) or auto",
                          tile);
    }
    cb->wino_tile = atoi(tile);
  }
  /* SEGRANK_CPU_GEMM=openblas: every GEMM by OpenBLAS, as before issue 11 (for comparisons). */
  const char *gemm = getenv("SEGRANK_CPU_GEMM");
  cb->gemm = gemm && !strcmp(gemm, "openblas") ? SR_GEMM_OPENBLAS : (int)isa;
  cb->base.ops = &cpu_ops;
  cb->base.threads = threads;
  cb->pool = sr_pool_new(threads);
  cb->tws = calloc((size_t)threads * CPU_TWS_SLOTS, sizeof(float *));
  cb->tws_count = calloc((size_t)threads * CPU_TWS_SLOTS, sizeof(size_t));
  sr__cpu_blas_single();
  const char *wino = getenv("SEGRANK_CPU_WINOGRAD");
  cb->winograd = !wino || strcmp(wino, "0");
  *out = &cb->base;
  return SR_OK;
}
