/* gemm_avx512.c: the AVX-512 micro-kernels of gemm.h: a 12 × 32 tile of C
 * in 24 zmm accumulators; per k step two loads of B's panel and twelve
 * broadcasts of A's (as FMA memory operands), 24 independent FMA chains,
 * enough to cover the FMA latency on two pipes; and a narrow 12 × 16 one
 * (12 chains, one load of B per step) for GEMMs of at most 16 columns per
 * panel, where the wide one would compute up to half its columns for
 * nothing (a 13×13 map's 16 F(4×4) tiles). Same A panels for both. */
#include "gemm.h"

#if SR_HAVE_AVX512_VARIANTS
#include <immintrin.h>

#define MR SR_GEMM_MR_AVX512

SR_TARGET_AVX512 void sr__gemm_kernel_avx512(int kc, const float *restrict ap, const float *restrict bp,
                                             float *restrict c, size_t ldc, int acc, int rows, int cols) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) c0[i] = _mm512_setzero_ps(), c1[i] = _mm512_setzero_ps();
  for (int k = 0; k < kc; k++, ap += MR, bp += 32) {
    __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      __m512 a = _mm512_set1_ps(ap[i]);
      c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
    }
  }
  if (rows == MR && cols == 32) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      float *r = c + i * ldc;
      if (acc) {
        c0[i] = _mm512_add_ps(_mm512_loadu_ps(r), c0[i]);
        c1[i] = _mm512_add_ps(_mm512_loadu_ps(r + 16), c1[i]);
      }
      _mm512_storeu_ps(r, c0[i]);
      _mm512_storeu_ps(r + 16, c1[i]);
    }
    return;
  }
  /* an edge tile: columns masked, rows cut */
  __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xffff : (1u << cols) - 1);
  __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xffff : cols > 16 ? (1u << (cols - 16)) - 1 : 0);
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    if (i >= rows) break;
    float *r = c + i * ldc;
    if (acc) {
      c0[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, r), c0[i]);
      c1[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, r + 16), c1[i]);
    }
    _mm512_mask_storeu_ps(r, m0, c0[i]);
    _mm512_mask_storeu_ps(r + 16, m1, c1[i]);
  }
}

SR_TARGET_AVX512 void sr__gemm_kernel_avx512_n16(int kc, const float *restrict ap, const float *restrict bp,
                                                 float *restrict c, size_t ldc, int acc, int rows, int cols) {
  __m512 c0[MR];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) c0[i] = _mm512_setzero_ps();
  for (int k = 0; k < kc; k++, ap += MR, bp += 16) {
    __m512 b0 = _mm512_loadu_ps(bp);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) c0[i] = _mm512_fmadd_ps(_mm512_set1_ps(ap[i]), b0, c0[i]);
  }
  __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xffff : (1u << cols) - 1);
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    if (i >= rows) break;
    float *r = c + i * ldc;
    if (acc) c0[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, r), c0[i]);
    _mm512_mask_storeu_ps(r, m0, c0[i]);
  }
}
#endif
