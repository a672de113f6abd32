/* gemm.h: the CPU backend's own single-precision GEMM, C = A·B + β·C
 * (β 0 or 1), row-major, with either operand transposed, single-threaded
 * per call (the thread pool gives the parallelism). Blocked for the caches
 * (K in blocks of at most 384, A in 192-row blocks, B in 1024-column
 * blocks), both operands packed into the micro-kernel's panels in a
 * per-thread workspace; a micro-kernel per level of cpu_isa.h: AVX-512
 * (12 × 32 tile, zmm; 12 × 16 where N is narrow), AVX2+FMA (6 × 16, ymm),
 * portable C (6 × 8).
 * A can be packed once ahead (the Winograd filters at upload): see
 * sr__gemm_pack_a. The level @lv of every call is a sr_cpu_isa, or
 * SR_GEMM_OPENBLAS: cblas_sgemm (SEGRANK_CPU_GEMM=openblas, the previous
 * approach, kept for comparison). */
#ifndef SR_CPU_GEMM_H
#define SR_CPU_GEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "cpu_isa.h"

#define SR_GEMM_OPENBLAS SR_CPU_ISA_COUNT

enum {
  SR_GEMM_TA = 1,       /* A is stored K × M: A(i, k) = a[k·lda + i] */
  SR_GEMM_TB = 2,       /* B is stored N × K: B(k, j) = b[j·ldb + k] */
  SR_GEMM_A_PACKED = 4, /* a is sr__gemm_pack_a's output (lda unused) */
  SR_GEMM_B_PACKED = 8, /* b is laid out in the kernel's panels (ldb unused): see sr__gemm_b_panel */
};

/* The panel width for B of a GEMM of @N columns and depth @K when the
 * caller can lay B out itself: B(k, j) at b[(j / nr)·K·nr + k·nr + j % nr]
 * (panels of nr columns, each K × nr, columns past N never stored to C);
 * 0 when that layout is not available (K or N larger than one cache block,
 * or OpenBLAS). */
int sr__gemm_b_panel(int lv, int N, int K);

/* The columns level @lv's micro-kernels compute for a GEMM of @N columns:
 * N rounded up to the panel width used (OpenBLAS: to 16, a guess). */
int sr__gemm_cols(int lv, int N);
/* Floats of A (M × K) packed for level @lv. */
size_t sr__gemm_packed_a_count(int lv, int M, int K);
/* Packs A (M × K; @trans as SR_GEMM_TA) into @ap (sr__gemm_packed_a_count floats). */
void sr__gemm_pack_a(int lv, int M, int K, const float *a, int lda, bool trans, float *ap);
/* Floats of workspace a call with these sizes and @flags needs. */
size_t sr__gemm_workspace(int lv, int flags, int M, int N, int K);
/* C (M × N, ldc) = A·B (+ C when @beta is 1; @beta is 0 or 1) with
 * level @lv's kernel and @ws (sr__gemm_workspace floats). */
void sr__gemm(int lv, int flags, int M, int N, int K, const float *a, int lda, const float *b, int ldb,
              float beta, float *c, int ldc, float *ws);

/* The micro-kernels: C tile (at c, ldc) = Σ_k ap[k·MR + i]·bp[k·NR + j]
 * over @kc steps, plus the old C when @acc; only its first @rows ≤ MR rows
 * and @cols ≤ NR columns are read and written (edge tiles, masked). */
typedef void (*sr_gemm_kernel)(int kc, const float *ap, const float *bp, float *c, size_t ldc, int acc, int rows,
                               int cols);
void sr__gemm_kernel_avx512(int kc, const float *ap, const float *bp, float *c, size_t ldc, int acc, int rows, int cols);
void sr__gemm_kernel_avx512_n16(int kc, const float *ap, const float *bp, float *c, size_t ldc, int acc, int rows,
                                int cols);
void sr__gemm_kernel_avx2(int kc, const float *ap, const float *bp, float *c, size_t ldc, int acc, int rows, int cols);
#define SR_GEMM_MR_AVX512 12
#define SR_GEMM_NR_AVX512 32
#define SR_GEMM_MR_AVX2 6
#define SR_GEMM_NR_AVX2 16

#endif
