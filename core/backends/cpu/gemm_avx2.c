/* gemm_avx2.c: the AVX2+FMA micro-kernel of gemm.h: a 6 × 16 tile of C in
 * 12 ymm accumulators; per k step two loads of B's panel and six
 * broadcasts of A's, 12 independent FMA chains. */
#include "gemm.h"

#if SR_HAVE_AVX2_VARIANTS
#include <immintrin.h>

#define MR SR_GEMM_MR_AVX2

SR_TARGET_AVX2_FMA void sr__gemm_kernel_avx2(int kc, const float *restrict ap, const float *restrict bp,
                                             float *restrict c, size_t ldc, int acc, int rows, int cols) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) c0[i] = _mm256_setzero_ps(), c1[i] = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++, ap += MR, bp += 16) {
    __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      __m256 a = _mm256_broadcast_ss(ap + i);
      c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
    }
  }
  if (rows == MR && cols == 16) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      float *r = c + i * ldc;
      if (acc) {
        c0[i] = _mm256_add_ps(_mm256_loadu_ps(r), c0[i]);
        c1[i] = _mm256_add_ps(_mm256_loadu_ps(r + 8), c1[i]);
      }
      _mm256_storeu_ps(r, c0[i]);
      _mm256_storeu_ps(r + 8, c1[i]);
    }
    return;
  }
  /* an edge tile: columns masked (lane j on when j < cols), rows cut */
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane);
  __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - 8), lane);
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) {
    if (i >= rows) break;
    float *r = c + i * ldc;
    if (acc) {
      c0[i] = _mm256_add_ps(_mm256_maskload_ps(r, m0), c0[i]);
      c1[i] = _mm256_add_ps(_mm256_maskload_ps(r + 8, m1), c1[i]);
    }
    _mm256_maskstore_ps(r, m0, c0[i]);
    _mm256_maskstore_ps(r + 8, m1, c1[i]);
  }
}
#endif
