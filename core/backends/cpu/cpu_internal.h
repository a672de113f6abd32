/* cpu_internal.h: what the CPU backend's files share: the backend struct,
 * its growable workspaces, the range split, and the entry points that live
 * outside cpu.c (backward passes, Winograd convolution). Every GEMM is
 * single-threaded (our own, gemm.h, or OpenBLAS when SEGRANK_CPU_GEMM=
 * openblas); all parallelism comes from the pool. */
#ifndef SR_CPU_INTERNAL_H
#define SR_CPU_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "../backend_impl.h"
#include "cpu_isa.h"
#include "gemm.h"
#include "threadpool.h"

/* Shared (not per-thread) workspaces. */
/* (CPU_WS_WINO_PLAIN: Winograd filters before their packing for the GEMM.) */
enum { CPU_WS_COL, CPU_WS_GRAD, CPU_WS_WINO, CPU_WS_S2D, CPU_WS_S2D_W, CPU_WS_WINO_PLAIN, CPU_WS_SLOTS };
/* Per-thread workspaces: a task's scratch, a frame's transformed tiles
 * (Winograd, when threads take whole frames), and the GEMM's packed panels. */
enum { CPU_TWS_SCRATCH, CPU_TWS_TILES, CPU_TWS_GEMM, CPU_TWS_SLOTS };

/* A buffer from the backend's alloc. Once a single upload has filled it
 * whole (the net's weights), its Winograd filters are transformed on first
 * use (packed into the GEMM's panels) and kept until the next upload into
 * it or its release. */
typedef struct {
  const float *buf;
  size_t count;
  bool uploaded; /* filled whole by one upload, unchanged since */
  float *U[2];   /* per Winograd tile side (2, 4): NULL until used */
  sr_conv_params p[2];
} cpu_frozen;

typedef struct {
  sr_backend base;
  sr_pool *pool;
  bool winograd; /* Winograd convolutions (SEGRANK_CPU_WINOGRAD=0: off) */
  int wino_tile;  /* forward tile side forced by SEGRANK_CPU_WINOGRAD_TILE (2, 4), or 0: chosen per layer */
  sr_cpu_isa isa; /* the variant of the vectorised loops (cpu_isa.h) */
  int gemm;       /* the GEMM level (gemm.h): isa, or SR_GEMM_OPENBLAS */
  cpu_frozen *frozen; /* every live allocation */
  int n_frozen, cap_frozen;
  float *ws[CPU_WS_SLOTS]; /* grown on demand */
  size_t ws_count[CPU_WS_SLOTS];
  float **tws; /* per-thread workspaces: [thread · CPU_TWS_SLOTS + slot] */
  size_t *tws_count;
} cpu_backend;

/* A workspace of at least @count floats (contents undefined); NULL when out
 * of memory. Shared slots belong to the calling op; thread slots to the
 * task running on @thread. */
float *sr__cpu_workspace(cpu_backend *cb, int slot, size_t count);
float *sr__cpu_thread_workspace(cpu_backend *cb, int thread, size_t count);
float *sr__cpu_thread_slot(cpu_backend *cb, int thread, int slot, size_t count);

/* sr__gemm at the backend's level with @thread's GEMM workspace; false
 * when that cannot be allocated. */
bool sr__cpu_gemm(cpu_backend *cb, int thread, int flags, int M, int N, int K, const float *a, int lda, const float *b,
                  int ldb, float beta, float *c, int ldc);

/* Makes OpenBLAS single-threaded (our tasks call it from the pool). */
void sr__cpu_blas_single(void);

/* Splits [0, total) into @parts nearly equal ranges; range @i is [lo, hi). */
static inline void sr__split(int total, int parts, int i, int *lo, int *hi) {
  *lo = (int)((long)total * i / parts);
  *hi = (int)((long)total * (i + 1) / parts);
}

/* The input range [lo, hi) of pooling window @o along an axis of @size. */
static inline void sr__pool_window(int o, int stride, int pad, int kernel, int size, int *lo, int *hi) {
  *lo = o * stride - pad, *hi = *lo + kernel;
  if (*lo < 0) *lo = 0;
  if (*hi > size) *hi = size;
}

/* backward.c */
sr_status sr__cpu_conv2d_backward(sr_backend *b, const sr_conv_params *p, const sr_tensor *x, const float *w,
                                  const sr_tensor *dy, sr_tensor *dx, float *dw, float *db);
sr_status sr__cpu_maxpool_backward(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, const sr_tensor *dy,
                                   sr_tensor *dx);
sr_status sr__cpu_lrn_backward(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, const sr_tensor *y,
                               const sr_tensor *dy, sr_tensor *dx);

/* winograd.c */
bool sr__cpu_winograd_applies(const sr_conv_params *p);
/* The forward pass also takes 5×5 stride-1 kernels (as four 3×3). */
bool sr__cpu_winograd_forward_applies(const sr_conv_params *p);
/* Floats of the transformed filters of a layer. */
size_t sr__cpu_winograd_filter_count(const sr_conv_params *p);
/* The output tile side, 2 (F(2×2, 3×3)) or 4 (F(4×4, 3×3)), for a stride-1
 * forward convolution @p of @n frames with an @oh × @ow output: the one whose
 * GEMMs compute fewer multiply-adds, counting the micro-kernel's padded
 * columns; F(2×2) for small calls whose filters are not @cached (transformed
 * per call). SEGRANK_CPU_WINOGRAD_TILE=2|4 forces one. */
int sr__cpu_winograd_tile(cpu_backend *cb, const sr_conv_params *p, int n, int oh, int ow, bool cached);
/* Floats of the filters transformed for tile side @m and packed for the
 * backend's GEMM (@transpose as below). */
size_t sr__cpu_winograd_packed_count(const cpu_backend *cb, const sr_conv_params *p, bool transpose, int m);
/* U for @w (out_c × in_c/group × 3 × 3) and tile side @m, packed for the
 * backend's GEMM (sr__cpu_winograd_packed_count floats); @transpose: of the
 * input gradient's convolution (flipped filters, in and out channels
 * swapped). */
sr_status sr__cpu_winograd_filters(cpu_backend *cb, const sr_conv_params *p, const float *w, bool transpose, int m,
                                   float *U);
/* y = conv(x) + bias (ReLU when @relu) with filters U of a @ksize × @ksize
 * kernel (3 or 5) transformed for tile side @m and packed; x->c and y->c are
 * the convolution's in and out channels. */
sr_status sr__cpu_winograd_conv(cpu_backend *cb, int group, int ksize, int pad, int m, const sr_tensor *x,
                                const float *U, const float *bias, bool relu, sr_tensor *y);
/* dw (overwritten) = the weight gradient of y = conv(x), given dy. */
sr_status sr__cpu_winograd_weight_grad(cpu_backend *cb, const sr_conv_params *p, const sr_tensor *x,
                                       const sr_tensor *dy, float *dw);

/* space_to_depth.c: strided k × k convolutions with ⌈k/stride⌉ = 3 (conv1)
 * as 3×3 stride-1 ones over stride² times the channels. */
bool sr__cpu_s2d_applies(const sr_conv_params *p);
/* The equivalent 3×3 stride-1 layer. */
void sr__cpu_s2d_params(const sr_conv_params *p, sr_conv_params *q);
/* Its weights (out_c × in_c·s²/group × 3 × 3) from the layer's. */
void sr__cpu_s2d_weights(const sr_conv_params *p, const float *w, float *w2);
/* y = conv(x) with the equivalent layer's Winograd filters U (tile side @m). */
sr_status sr__cpu_s2d_conv(cpu_backend *cb, const sr_conv_params *p, int m, const sr_tensor *x, const float *U,
                           const float *bias, sr_tensor *y);

#endif
