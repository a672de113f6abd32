/* gemm.c: the driver of the CPU backend's own sgemm (gemm.h): cache
 * blocking, packing of A and B into micro-panels, edge tiles, the
 * portable C micro-kernel, and OpenBLAS as a fourth level
 * (SEGRANK_CPU_GEMM=openblas, for comparison). The AVX2 and AVX-512
 * kernels are in gemm_avx2.c and gemm_avx512.c. Loop order (outer to
 * inner): 1024-column blocks of B, K blocks (B's block packed once, K × NR
 * panels), 192-row blocks of A (packed, MR × K panels, unless packed
 * ahead), NR-column panels of B (kept in L1), MR-row panels of A
 * (streamed from L2). */
#include "gemm.h"

#include <assert.h>
#include <cblas.h>
#include <string.h>

#define KC_MAX 384 /* K block: a B panel (KC × NR) stays in L1 */
#define MC_MAX 192 /* A block rows (a multiple of every MR) */
#define NC_MAX 1024

/* The portable kernel: 6 × 8, in GCC's generic vectors of 4 floats (SSE
 * on x86-64, NEON on Arm): 12 accumulators, no FMA. */
#define MR_GEN 6
#define NR_GEN 8
typedef float v4sf __attribute__((vector_size(16), aligned(4), may_alias));

static void kernel_generic(int kc, const float *restrict ap, const float *restrict bp, float *restrict c, size_t ldc,
                           int acc, int rows, int cols) {
  v4sf t0[MR_GEN], t1[MR_GEN];
  for (int i = 0; i < MR_GEN; i++) t0[i] = t1[i] = (v4sf){0, 0, 0, 0};
  for (int k = 0; k < kc; k++, ap += MR_GEN, bp += NR_GEN) {
    v4sf b0 = *(const v4sf *)bp, b1 = *(const v4sf *)(bp + 4);
    for (int i = 0; i < MR_GEN; i++) {
      v4sf a = {ap[i], ap[i], ap[i], ap[i]};
      t0[i] += a * b0, t1[i] += a * b1;
    }
  }
  if (rows == MR_GEN && cols == NR_GEN) {
    for (int i = 0; i < MR_GEN; i++) {
      v4sf *r = (v4sf *)(c + i * ldc);
      if (acc) t0[i] += r[0], t1[i] += r[1];
      r[0] = t0[i], r[1] = t1[i];
    }
    return;
  }
  for (int i = 0; i < rows; i++) { /* an edge tile */
    float v[NR_GEN];
    *(v4sf *)v = t0[i], *(v4sf *)(v + 4) = t1[i];
    for (int j = 0; j < cols; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + v[j] : v[j];
  }
}

typedef struct {
  int mr, nr;
  sr_gemm_kernel kernel;
  int nr_narrow; /* 0, or a second kernel's narrower panel (same MR) */
  sr_gemm_kernel narrow;
} gemm_level;

static const gemm_level *level(int lv) {
  static const gemm_level levels[SR_CPU_ISA_COUNT] = {
      {MR_GEN, NR_GEN, kernel_generic, 0, NULL},
#if SR_HAVE_AVX2_VARIANTS
      {SR_GEMM_MR_AVX2, SR_GEMM_NR_AVX2, sr__gemm_kernel_avx2, 0, NULL},
      {SR_GEMM_MR_AVX512, SR_GEMM_NR_AVX512, sr__gemm_kernel_avx512, 16, sr__gemm_kernel_avx512_n16},
#else
      {MR_GEN, NR_GEN, kernel_generic, 0, NULL},
      {MR_GEN, NR_GEN, kernel_generic, 0, NULL},
#endif
  };
  return &levels[lv >= 0 && lv < SR_CPU_ISA_COUNT ? lv : SR_CPU_ISA_GENERIC];
}

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

/* 4 × 4 blocks transposed in registers (the packs that turn rows into
 * k-major panels): four floats from each of s0..s3 become the four
 * vectors at d, d + ds, d + 2ds, d + 3ds. */
typedef int v4si __attribute__((vector_size(16)));
#ifdef __clang__
#define SHUF(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define SHUF(a, b, i, j, k, l) __builtin_shuffle(a, b, (v4si){i, j, k, l})
#endif
static inline void transpose4(const float *s0, const float *s1, const float *s2, const float *s3, float *d,
                              size_t ds) {
  v4sf r0 = *(const v4sf *)s0, r1 = *(const v4sf *)s1, r2 = *(const v4sf *)s2, r3 = *(const v4sf *)s3;
  v4sf t0 = SHUF(r0, r1, 0, 4, 1, 5), t1 = SHUF(r0, r1, 2, 6, 3, 7);
  v4sf t2 = SHUF(r2, r3, 0, 4, 1, 5), t3 = SHUF(r2, r3, 2, 6, 3, 7);
  *(v4sf *)d = SHUF(t0, t2, 0, 1, 4, 5), *(v4sf *)(d + ds) = SHUF(t0, t2, 2, 3, 6, 7);
  *(v4sf *)(d + 2 * ds) = SHUF(t1, t3, 0, 1, 4, 5), *(v4sf *)(d + 3 * ds) = SHUF(t1, t3, 2, 3, 6, 7);
}

/* dst[k·ds + q] = src_q[k] for q < 4 (rows src, src + ld, …), k < n. */
static void transpose_rows4(const float *src, size_t ld, int n, float *dst, size_t ds) {
  const float *s1 = src + ld, *s2 = src + 2 * ld, *s3 = src + 3 * ld;
  int k = 0;
  for (; k + 4 <= n; k += 4) transpose4(src + k, s1 + k, s2 + k, s3 + k, dst + (size_t)k * ds, ds);
  for (; k < n; k++) {
    float *d = dst + (size_t)k * ds;
    d[0] = src[k], d[1] = s1[k], d[2] = s2[k], d[3] = s3[k];
  }
}

/* K in nearly equal blocks of at most KC_MAX: the block length. */
static int k_block(int K) {
  int nb = (K + KC_MAX - 1) / KC_MAX;
  return nb > 1 ? (K + nb - 1) / nb : K;
}

/* Rows [i0, i0 + m) and K range [k0, k0 + kc) of A into MR-row panels
 * (each kc × MR, k-major), rows past @m zero. */
static void pack_a(const float *a, int lda, bool trans, int i0, int m, int k0, int kc, int mr, float *restrict ap) {
  for (int p = 0; p < m; p += mr, ap += (size_t)kc * mr) {
    int rows = m - p < mr ? m - p : mr;
    if (trans) { /* A(i, k) = a[k·lda + i]: rows of the panel are contiguous */
      for (int k = 0; k < kc; k++) {
        const float *src = a + (size_t)(k0 + k) * lda + i0 + p;
        float *dst = ap + (size_t)k * mr;
        memcpy(dst, src, sizeof(float) * rows);
        for (int i = rows; i < mr; i++) dst[i] = 0.f;
      }
    } else { /* rows of A become columns of the panel: four at a time */
      int i = 0;
      for (; i + 4 <= rows; i += 4) transpose_rows4(a + (size_t)(i0 + p + i) * lda + k0, (size_t)lda, kc, ap + i, mr);
      for (; i < rows; i++) {
        const float *src = a + (size_t)(i0 + p + i) * lda + k0;
        for (int k = 0; k < kc; k++) ap[(size_t)k * mr + i] = src[k];
      }
      for (int i = rows; i < mr; i++)
        for (int k = 0; k < kc; k++) ap[(size_t)k * mr + i] = 0.f;
    }
  }
}

/* Columns [j0, j0 + n) and K range [k0, k0 + kc) of B into NR-column
 * panels (each kc × NR), columns past @n zero. */
static void pack_b(const float *b, int ldb, bool trans, int j0, int n, int k0, int kc, int nr, float *restrict bp) {
  for (int p = 0; p < n; p += nr, bp += (size_t)kc * nr) {
    int cols = n - p < nr ? n - p : nr;
    if (!trans) { /* B(k, j) = b[k·ldb + j] */
      for (int k = 0; k < kc; k++) {
        const float *src = b + (size_t)(k0 + k) * ldb + j0 + p;
        float *dst = bp + (size_t)k * nr;
        memcpy(dst, src, sizeof(float) * cols);
        for (int j = cols; j < nr; j++) dst[j] = 0.f;
      }
    } else { /* B(k, j) = b[j·ldb + k]: four columns at a time */
      int j = 0;
      for (; j + 4 <= cols; j += 4) transpose_rows4(b + (size_t)(j0 + p + j) * ldb + k0, (size_t)ldb, kc, bp + j, nr);
      for (; j < cols; j++) {
        const float *src = b + (size_t)(j0 + p + j) * ldb + k0;
        for (int k = 0; k < kc; k++) bp[(size_t)k * nr + j] = src[k];
      }
      for (; j < nr; j++)
        for (int k = 0; k < kc; k++) bp[(size_t)k * nr + j] = 0.f;
    }
  }
}

/* Whether a GEMM of @N columns runs the narrow kernel: when the wide one
 * would leave at least half of its last panel empty and there are few
 * panels (the narrow kernel does half the FMAs per broadcast of A). */
static bool use_narrow(const gemm_level *l, int N) {
  return l->narrow && N < 4 * l->nr && N % l->nr != 0 && N % l->nr <= l->nr_narrow;
}

/* The panel width of B that sr__gemm uses for @N columns. */
static int panel_width(const gemm_level *l, int N) { return use_narrow(l, N) ? l->nr_narrow : l->nr; }

int sr__gemm_b_panel(int lv, int N, int K) {
  if (lv == SR_GEMM_OPENBLAS || K > KC_MAX || N > NC_MAX || N <= 0 || K <= 0) return 0;
  return panel_width(level(lv), N);
}

int sr__gemm_cols(int lv, int N) { return round_up(N, lv == SR_GEMM_OPENBLAS ? 16 : panel_width(level(lv), N)); }

size_t sr__gemm_packed_a_count(int lv, int M, int K) {
  if (lv == SR_GEMM_OPENBLAS) return (size_t)(M > 0 ? M : 1) * (K > 0 ? K : 1);
  return (size_t)round_up(M > 0 ? M : 1, level(lv)->mr) * (K > 0 ? K : 1);
}

/* Layout: K block by K block (block starting at k0 = b·kc at offset
 * k0·Mpad), each as pack_a lays out all of M. For OpenBLAS: A as it is
 * (M × K, row-major). */
void sr__gemm_pack_a(int lv, int M, int K, const float *a, int lda, bool trans, float *ap) {
  if (lv == SR_GEMM_OPENBLAS) {
    for (int i = 0; i < M; i++)
      for (int k = 0; k < K; k++) ap[(size_t)i * K + k] = trans ? a[(size_t)k * lda + i] : a[(size_t)i * lda + k];
    return;
  }
  const gemm_level *l = level(lv);
  int kc = k_block(K), mp = round_up(M, l->mr);
  for (int k0 = 0; k0 < K; k0 += kc) {
    int kb = K - k0 < kc ? K - k0 : kc;
    pack_a(a, lda, trans, 0, M, k0, kb, l->mr, ap + (size_t)k0 * mp);
  }
}

size_t sr__gemm_workspace(int lv, int flags, int M, int N, int K) {
  if (lv == SR_GEMM_OPENBLAS) return 1;
  const gemm_level *l = level(lv);
  int kc = k_block(K > 0 ? K : 1), nc = N < NC_MAX ? N : NC_MAX, mc = M < MC_MAX ? M : MC_MAX;
  size_t w = (size_t)kc * round_up(nc > 0 ? nc : 1, l->nr);
  if (!(flags & SR_GEMM_A_PACKED)) w += (size_t)kc * round_up(mc > 0 ? mc : 1, l->mr);
  return w;
}

void sr__gemm(int lv, int flags, int M, int N, int K, const float *a, int lda, const float *b, int ldb, float beta,
              float *c, int ldc, float *ws) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (beta == 0.f)
      for (int i = 0; i < M; i++) memset(c + (size_t)i * ldc, 0, sizeof(float) * N);
    return;
  }
  if (lv == SR_GEMM_OPENBLAS) {
    bool ta = (flags & SR_GEMM_TA) && !(flags & SR_GEMM_A_PACKED);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, flags & SR_GEMM_TB ? CblasTrans : CblasNoTrans, M, N,
                K, 1.f, a, flags & SR_GEMM_A_PACKED ? K : lda, b, ldb, beta, c, ldc);
    return;
  }
  const gemm_level *l = level(lv);
  const int MR = l->mr, NR = panel_width(l, N);
  sr_gemm_kernel kernel = NR == l->nr ? l->kernel : l->narrow;
  bool packed = flags & SR_GEMM_A_PACKED;
  int kc = k_block(K), mp = round_up(M, MR);
  float *bp = ws, *apw = bp + (size_t)kc * round_up(N < NC_MAX ? N : NC_MAX, NR);
  for (int j0 = 0; j0 < N; j0 += NC_MAX) {
    int nc = N - j0 < NC_MAX ? N - j0 : NC_MAX;
    for (int k0 = 0; k0 < K; k0 += kc) {
      int kb = K - k0 < kc ? K - k0 : kc, acc = k0 > 0 || beta != 0.f;
      if (flags & SR_GEMM_B_PACKED) { /* one block, of sr__gemm_b_panel's width */
        assert(j0 == 0 && k0 == 0 && kb == K && NR == sr__gemm_b_panel(lv, N, K));
        bp = (float *)b;
      }
      else
        pack_b(b, ldb, flags & SR_GEMM_TB, j0, nc, k0, kb, NR, bp);
      int mc_step = packed ? mp : MC_MAX;
      for (int i0 = 0; i0 < M; i0 += mc_step) {
        int mc = M - i0 < mc_step ? M - i0 : mc_step;
        const float *ab;
        if (packed) {
          ab = a + (size_t)k0 * mp;
        } else {
          pack_a(a, lda, flags & SR_GEMM_TA, i0, mc, k0, kb, MR, apw);
          ab = apw;
        }
        for (int jr = 0; jr < nc; jr += NR) {
          int cols = nc - jr < NR ? nc - jr : NR;
          const float *bpan = bp + (size_t)(jr / NR) * kb * NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int rows = mc - ir < MR ? mc - ir : MR;
            const float *apan = ab + (size_t)(ir / MR) * kb * MR;
            float *ct = c + (size_t)(i0 + ir) * ldc + j0 + jr;
            kernel(kb, apan, bpan, ct, (size_t)ldc, acc, rows, cols);
          }
        }
      }
    }
  }
}
