/* winograd.c: 3×3 (and, forward only, 5×5) stride-1 convolutions of the CPU backend with Winograd's
 * minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016): each 2×2 output tile comes from a
 * 4×4 input tile as Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, so the channel sums become 16
 * GEMMs (one per transform point ξ) over all tiles of all frames, with 2.25×
 * fewer multiplications than the direct convolution. The same tiling gives
 * the training passes: the input gradient is the forward convolution of dy
 * with the flipped, transposed filters, and the weight gradient is F(3×3,
 * 2×2) (same Bᵀ d B of the input tiles, G₂ on the dy tiles, A₃ back).
 *
 * The matrices (interpolation points 0, 1, −1, ∞):
 *   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
 *   G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]       Aᵀ  = [1 1 1 0; 0 1 −1 −1]
 *   G₂ = [1 0; ½ ½; ½ −½; 0 1]                A₃ᵀ = [1 1 1 0; 0 1 −1 0; 0 1 1 −1]
 *
 * Layouts (t = frame·tiles + tile, T tiles in the chunk, per group g; a
 * frame's tile (ty, tx) is tile ty·ts + tx, ts = tw + 1: one unused tile
 * per tile row, so that the transforms run over all tiles of a frame as
 * one long vector; dy's transformed tiles are zero there):
 *   V[g][ξ][c][t]    input tiles, transformed
 *   U[g][ξ][oc][c]   filters, transformed (then packed: gemm.h)
 *   M[g][ξ][oc][t]   their products, before the output transform.
 * The GEMMs are gemm.h's, each U[g][ξ] packed into the micro-kernel's
 * panels when transformed. Filters of weights uploaded to the backend are
 * transformed once and cached (see cpu.c's upload); others (training) are
 * transformed per call. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

#define XI 16 /* transform points: 4×4 */

/* The tile transforms are memory- and shuffle-bound loops: built for
 * AVX-512 and AVX2 too (each *_body below, compiled into an _avx512, an
 * _avx2 and a _generic task), the backend's cb->isa picking one
 * (cpu_isa.h). They only add, subtract and halve: all three give the same
 * bits. */

/* Frames per chunk keep V near this many floats (1 MiB), so the transformed
 * tiles are still in cache when the GEMMs read them: with 64 MiB chunks the
 * input transform was memory-bound and the conv6-8 training step took 38 ms
 * instead of 31.5 (batch 16, measured alternately in one session). */
#define WINO_CHUNK_FLOATS ((size_t)256 << 10)
/* ... but never fewer tiles than this in a chunk, or the GEMMs (N = tiles)
 * lose more than the cache gains (conv3 at 480×360 in chunks of 33 tiles:
 * 5.2–6.2 ms against 3.7–4.3 in one chunk of 165). */
#define MIN_CHUNK_TILES 128

bool sr__cpu_winograd_applies(const sr_conv_params *p) {
  return p->kh == 3 && p->kw == 3 && p->stride == 1 && p->pad >= 0 && p->pad <= 2;
}

bool sr__cpu_winograd_forward_applies(const sr_conv_params *p) {
  return sr__cpu_winograd_applies(p) || (p->kh == 5 && p->kw == 5 && p->stride == 1 && p->pad >= 0 && p->pad <= 4);
}

/* Sub-kernels per axis for a kernel side. */
static int sub_kernels(int k) { return k == 5 ? 2 : 1; }

/* ---- the transforms of one tile ---- */

/* The 3×3 weight-gradient tile A₃ᵀ m A₃, A₃ᵀ = [1 1 1 0; 0 1 −1 0; 0 1 1 −1]. */
static inline void weight_grad_tile(const float m[16], float w[9]) {
  float s[12];
  for (int j = 0; j < 4; j++) {
    s[j] = m[j] + m[4 + j] + m[8 + j];
    s[4 + j] = m[4 + j] - m[8 + j];
    s[8 + j] = m[4 + j] + m[8 + j] - m[12 + j];
  }
  for (int i = 0; i < 3; i++) {
    const float *r = s + 4 * i;
    w[3 * i] = r[0] + r[1] + r[2];
    w[3 * i + 1] = r[1] - r[2];
    w[3 * i + 2] = r[1] + r[2] - r[3];
  }
}

/* ---- the jobs ---- */

/* Each pool task with a hand-vectorised body comes in three variants, the
 * body compiled into each (cpu_isa.h); tasks() gives the backend's. */
#define SR_WINO_VARIANTS(name)                                                                                   \
  SR_TARGET_AVX512 static void name##_avx512(void *ctx, int task, int thread) { name##_body(ctx, task, thread); } \
  SR_TARGET_AVX2 static void name##_avx2(void *ctx, int task, int thread) { name##_body(ctx, task, thread); }     \
  static void name##_generic(void *ctx, int task, int thread) { name##_body(ctx, task, thread); }

typedef void (*wino_task)(void *ctx, int task, int thread);
typedef struct {
  wino_task input, output, weight, grad_input;
} wino_tasks;
static const wino_tasks *tasks(const cpu_backend *cb);

typedef struct {
  cpu_backend *cb;
  int group, icg, ocg, pad;
  /* A 5×5 kernel (zero-padded to 6×6) is sub × sub = 2 × 2 stacked 3×3
   * kernels, sub-kernel (a, b) reading the input shifted by (3a, 3b): the
   * GEMMs see kg = sub²·icg input channels, channel (a·sub + b)·icg + ic. */
  int sub, kg;
  /* the layer's input (x) and output-shaped tensor (y or dy) */
  const sr_tensor *x;
  int oh, ow;
  int ty0, th, tw, ts, tiles; /* this chunk's tile rows [ty0, ty0 + th) of each frame; tiles = th · ts */
  int f0, nf;
  size_t T;
  int parts; /* channel ranges per frame in the per-frame jobs */
  float *V, *M;
  const float *U;
  /* forward output */
  sr_tensor *y;
  const float *bias;
  bool relu;
  /* weight transform: source filters, and whether to flip and transpose */
  const float *w;
  float *Uw;
  bool transpose;
  int wparts;
  /* weight gradient */
  const sr_tensor *dy;
  float *dw;
  bool accumulate; /* add to D (later frames) instead of overwriting it */
  atomic_int failed; /* a thread workspace could not be allocated */
} wino_job;

/* The transforms' unit-stride loops, with restrict parameters (which
 * the vectoriser needs: pointers into one buffer look aliased otherwise). */
/* Bᵀ applied down four rows, element by element. */
static SR_ALWAYS_INLINE void bt_rows(const float *restrict r0, const float *restrict r1, const float *restrict r2,
                                     const float *restrict r3, float *restrict t0, float *restrict t1,
                                     float *restrict t2, float *restrict t3, size_t n) {
  for (size_t k = 0; k < n; k++) {
    t0[k] = r0[k] - r2[k];
    t1[k] = r1[k] + r2[k];
    t2[k] = r2[k] - r1[k];
    t3[k] = r1[k] - r3[k];
  }
}

/* B applied across each tile: E, O are its even and odd columns (E[u + 1],
 * O[u + 1] the tile's third and fourth). */
static SR_ALWAYS_INLINE void b_cols(const float *restrict E, const float *restrict O, float *restrict o0,
                                    float *restrict o1, float *restrict o2, float *restrict o3, size_t n) {
  for (size_t u = 0; u < n; u++) {
    o0[u] = E[u] - E[u + 1];
    o1[u] = O[u] + E[u + 1];
    o2[u] = E[u + 1] - O[u];
    o3[u] = O[u] - O[u + 1];
  }
}

static SR_ALWAYS_INLINE void deinterleave(const float *restrict in, float *restrict even, float *restrict odd, int n) {
  for (int k = 0; k < n; k++) even[k] = in[2 * k], odd[k] = in[2 * k + 1];
}

/* Aᵀ down a column of the tiles: s0 = m0 + m1 + m2, s1 = m1 − m2 − m3. */
static SR_ALWAYS_INLINE void at_rows(const float *restrict m0, const float *restrict m1, const float *restrict m2,
                                     const float *restrict m3, float *restrict s0, float *restrict s1, size_t n) {
  for (size_t u = 0; u < n; u++) {
    s0[u] = m0[u] + m1[u] + m2[u];
    s1[u] = m1[u] - m2[u] - m3[u];
  }
}

/* (Aᵀ m) A + bias (ReLU when @relu), each tile's two outputs interleaved. */
static SR_ALWAYS_INLINE void a_cols(const float *restrict a, const float *restrict b, const float *restrict c,
                                    const float *restrict d, float bv, bool relu, float *restrict o, size_t n) {
  if (relu)
    for (size_t u = 0; u < n; u++) {
      float v0 = a[u] + b[u] + c[u] + bv, v1 = b[u] - c[u] - d[u] + bv;
      o[2 * u] = v0 < 0 ? 0.f : v0;
      o[2 * u + 1] = v1 < 0 ? 0.f : v1;
    }
  else
    for (size_t u = 0; u < n; u++) {
      o[2 * u] = a[u] + b[u] + c[u] + bv;
      o[2 * u + 1] = b[u] - c[u] - d[u] + bv;
    }
}

/* Bᵀ d B of every tile of a channel range of one frame (for each of the
 * sub² shifted sub-kernels). The channel is first split into four planes
 * by row and column parity (Q[rp][cp], row R, column C: pixel (2R + rp,
 * 2C + cp) of the zero-padded input, columns shifted by 3b for sub-kernel
 * column b), ts = tw + 1 columns each; then, with u = ty·ts + tx the
 * flattened tile index, every input of tile u is Q[rp][cp][u + offset],
 * so Bᵀ (down the rows) and B (across) are unit-stride loops over all the
 * frame's tiles at once, which the compiler vectorises. */
static SR_ALWAYS_INLINE void input_task_body(void *ctx, int task, int thread) {
  wino_job *j = ctx;
  const sr_tensor *x = j->x;
  int f = task / j->parts, c0, c1;
  sr__split(x->c, j->parts, task % j->parts, &c0, &c1);
  int sub = j->sub, ts = j->ts, QR = j->th + 1 + (3 * (sub - 1) + 1) / 2 + 1; /* plane rows */
  size_t qn = (size_t)QR * ts, L = (size_t)j->th * ts;                       /* floats per plane, tiles */
  float *pb = sr__cpu_thread_workspace(j->cb, thread, 4 * sub * qn + 8 * (L + 1) + 2 * (size_t)ts + 8);
  if (!pb) {
    atomic_store(&j->failed, 1);
    return;
  }
  float *T = pb + 4 * sub * qn, *prow = T + 8 * (L + 1); /* T[k][cp]: Bᵀ d, 8 × (L + 1) */
  size_t xs = (size_t)j->kg * j->T;                        /* between transform points */
  int W2 = 2 * ts;                                           /* padded row width per b */
  for (int c = c0; c < c1; c++) {
    int g = c / j->icg, ic = c % j->icg;
    const float *in = x->data + ((size_t)(j->f0 + f) * x->c + c) * x->h * x->w;
    for (int r = 0; r < 2 * QR; r++) {
      int iy = 2 * j->ty0 + r - j->pad;
      size_t at = (size_t)(r >> 1) * ts;
      for (int b = 0; b < sub; b++) {
        float *q0 = pb + (size_t)(4 * b + (r & 1) * 2) * qn + at, *q1 = q0 + qn;
        if (iy < 0 || iy >= x->h) {
          memset(q0, 0, sizeof(float) * ts), memset(q1, 0, sizeof(float) * ts);
          continue;
        }
        /* the padded row from column 3b on, then its even and odd columns */
        int x0 = 3 * b - j->pad; /* input column of padded column 3b */
        const float *src = in + (size_t)iy * x->w;
        int k0 = x0 < 0 ? -x0 : 0, k1 = x->w - x0 < W2 ? x->w - x0 : W2; /* [k0, k1): inside the image */
        if (k0 > 0 || k1 < W2) memset(prow, 0, sizeof(float) * W2);
        if (k1 > k0) memcpy(prow + k0, src + x0 + k0, sizeof(float) * (k1 - k0));
        deinterleave(prow, q0, q1, ts);
      }
    }
    for (int a = 0; a < sub; a++)
      for (int b = 0; b < sub; b++) {
        const float *Q = pb + (size_t)4 * b * qn; /* Q[rp·2 + cp] at Q + (rp·2 + cp)·qn */
        for (int cp = 0; cp < 2; cp++) {
          /* rows 3a + i, i = 0..3: parity and row offset */
          const float *restrict d[4];
          for (int i = 0; i < 4; i++) {
            int rr = 3 * a + i;
            d[i] = Q + (size_t)((rr & 1) * 2 + cp) * qn + (size_t)(rr >> 1) * ts;
          }
          bt_rows(d[0], d[1], d[2], d[3], T + (size_t)cp * (L + 1), T + (size_t)(2 + cp) * (L + 1),
                  T + (size_t)(4 + cp) * (L + 1), T + (size_t)(6 + cp) * (L + 1), L + 1);
        }
        int vc = (a * sub + b) * j->icg + ic;
        float *out = j->V + ((size_t)g * XI * j->kg + vc) * j->T + (size_t)f * j->tiles;
        for (int k = 0; k < 4; k++) { /* (Bᵀ d) B: E = column 2tx, O = 2tx + 1, then 2tx + 2, 2tx + 3 */
          float *o0 = out + (size_t)(4 * k) * xs;
          b_cols(T + (size_t)(k * 2) * (L + 1), T + (size_t)(k * 2 + 1) * (L + 1), o0, o0 + xs, o0 + 2 * xs,
                 o0 + 3 * xs, L);
        }
      }
  }
}
SR_WINO_VARIANTS(input_task)

/* M[g][ξ] = U[g][ξ] · V[g][ξ]: one GEMM per task, U[g][ξ] packed. */
static void gemm_task(void *ctx, int task, int thread) {
  wino_job *j = ctx;
  size_t pu = sr__gemm_packed_a_count(j->cb->gemm, j->ocg, j->kg);
  if (!sr__cpu_gemm(j->cb, thread, SR_GEMM_A_PACKED, j->ocg, (int)j->T, j->kg, j->U + (size_t)task * pu, j->kg,
                    j->V + (size_t)task * j->kg * j->T, (int)j->T, 0.f, j->M + (size_t)task * j->ocg * j->T, (int)j->T))
    atomic_store(&j->failed, 1);
}

/* Aᵀ m A + bias (+ ReLU) of every tile of an output-channel range of one
 * frame, over all its tiles at once (u = ty·ts + tx): Aᵀ m into eight
 * arrays, (Aᵀ m) A into two interleaved output rows per tile row, then
 * copied to the image. */
static SR_ALWAYS_INLINE void output_task_body(void *ctx, int task, int thread) {
  wino_job *j = ctx;
  const sr_tensor *y = j->y;
  int f = task / j->parts, c0, c1, ts = j->ts;
  sr__split(y->c, j->parts, task % j->parts, &c0, &c1);
  size_t L = (size_t)j->th * ts;
  float *sb = sr__cpu_thread_workspace(j->cb, thread, 12 * L);
  if (!sb) {
    atomic_store(&j->failed, 1);
    return;
  }
  float *row = sb + 8 * L; /* two output rows of 2·L */
  size_t xs = (size_t)j->ocg * j->T;
  for (int c = c0; c < c1; c++) {
    int g = c / j->ocg, oc = c % j->ocg;
    const float *m = j->M + ((size_t)g * XI * j->ocg + oc) * j->T + (size_t)f * j->tiles;
    float *out = y->data + ((size_t)(j->f0 + f) * y->c + c) * y->h * y->w;
    float bv = j->bias ? j->bias[c] : 0.f;
    for (int q = 0; q < 4; q++) { /* Aᵀ m, column q of every tile */
      const float *m0 = m + (size_t)q * xs;
      at_rows(m0, m0 + 4 * xs, m0 + 8 * xs, m0 + 12 * xs, sb + (size_t)q * L, sb + (size_t)(4 + q) * L, L);
    }
    for (int r = 0; r < 2; r++) { /* (Aᵀ m) A + bias */
      const float *a = sb + (size_t)4 * r * L;
      a_cols(a, a + L, a + 2 * L, a + 3 * L, bv, j->relu, row + (size_t)2 * r * L, L);
    }
    for (int ty = 0; ty < j->th; ty++)
      for (int r = 0, oy = 2 * (j->ty0 + ty); r < 2 && oy + r < y->h; r++)
        memcpy(out + (size_t)(oy + r) * y->w, row + (size_t)2 * r * L + (size_t)2 * ty * ts, sizeof(float) * y->w);
  }
}
SR_WINO_VARIANTS(output_task)

/* G g Gᵀ of @n filters at once: g[e·n + i] is element e = 3y + x of filter
 * i; u[k·xs + i] receives transform point k. Eight filters per step with
 * GCC's vector extension (the auto-vectoriser gives up on this many
 * streams), then one at a time. */
typedef float v8sf __attribute__((vector_size(32), aligned(4), may_alias)); /* unaligned, aliases float */
#define LOAD8(p) (*(const v8sf *)(p))
#define STORE8(p, v) (*(v8sf *)(p) = (v))

#define FILTER_TILE(T, LOAD, STORE)                                                                          \
  do {                                                                                                       \
    T a0 = LOAD(g + i), a1 = LOAD(g + n + i), a2 = LOAD(g + 2 * n + i);                                      \
    T b0 = LOAD(g + 3 * n + i), b1 = LOAD(g + 4 * n + i), b2 = LOAD(g + 5 * n + i);                          \
    T c0 = LOAD(g + 6 * n + i), c1 = LOAD(g + 7 * n + i), c2 = LOAD(g + 8 * n + i);                          \
    /* G g: rows a, (a+b+c)/2, (a−b+c)/2, c; then the same across each row */                                 \
    T h0 = 0.5f * (a0 + b0 + c0), h1 = 0.5f * (a1 + b1 + c1), h2 = 0.5f * (a2 + b2 + c2);                     \
    T k0 = 0.5f * (a0 - b0 + c0), k1 = 0.5f * (a1 - b1 + c1), k2 = 0.5f * (a2 - b2 + c2);                     \
    STORE(u + i, a0), STORE(u + xs + i, 0.5f * (a0 + a1 + a2));                                              \
    STORE(u + 2 * xs + i, 0.5f * (a0 - a1 + a2)), STORE(u + 3 * xs + i, a2);                                 \
    STORE(u + 4 * xs + i, h0), STORE(u + 5 * xs + i, 0.5f * (h0 + h1 + h2));                                 \
    STORE(u + 6 * xs + i, 0.5f * (h0 - h1 + h2)), STORE(u + 7 * xs + i, h2);                                 \
    STORE(u + 8 * xs + i, k0), STORE(u + 9 * xs + i, 0.5f * (k0 + k1 + k2));                                 \
    STORE(u + 10 * xs + i, 0.5f * (k0 - k1 + k2)), STORE(u + 11 * xs + i, k2);                               \
    STORE(u + 12 * xs + i, c0), STORE(u + 13 * xs + i, 0.5f * (c0 + c1 + c2));                               \
    STORE(u + 14 * xs + i, 0.5f * (c0 - c1 + c2)), STORE(u + 15 * xs + i, c2);                               \
  } while (0)
#define LOAD1(p) (*(p))
#define STORE1(p, v) (*(p) = (v))

static SR_ALWAYS_INLINE void filter_tiles(const float *restrict g, int n, float *restrict u, size_t xs) {
  int i = 0;
  for (; i + 8 <= n; i += 8) FILTER_TILE(v8sf, LOAD8, STORE8);
  for (; i < n; i++) FILTER_TILE(float, LOAD1, STORE1);
}

/* U of an output-channel range: G g Gᵀ of filter (oc, c); with transpose,
 * of filter (c, oc) rotated by 180° (the input gradient's convolution); for
 * a 5×5 kernel, of its four 3×3 sub-kernels (zero beyond the 5th row and
 * column). Each output channel's filters are first gathered element-major. */
static SR_ALWAYS_INLINE void weight_task_body(void *ctx, int task, int thread) {
  wino_job *j = ctx;
  int n_out = j->group * j->ocg, c0, c1, k = 3 * j->sub - (j->sub > 1); /* kernel side: 3 or 5 */
  sr__split(n_out, j->wparts, task, &c0, &c1);
  float *tmp = sr__cpu_thread_workspace(j->cb, thread, (size_t)9 * j->kg);
  if (!tmp) {
    atomic_store(&j->failed, 1);
    return;
  }
  size_t xs = (size_t)j->ocg * j->kg;
  for (int c = c0; c < c1; c++) {
    int g = c / j->ocg, oc = c % j->ocg;
    for (int ic = 0; ic < j->icg; ic++) {
      if (j->transpose) { /* source filters: (g·icg + ic) × ocg × 3 × 3, flipped */
        const float *f = j->w + (((size_t)g * j->icg + ic) * j->ocg + oc) * 9;
        for (int e = 0; e < 9; e++) tmp[(size_t)e * j->kg + ic] = f[8 - e];
        continue;
      }
      const float *f = j->w + ((size_t)c * j->icg + ic) * k * k;
      for (int a = 0; a < j->sub; a++)
        for (int b = 0; b < j->sub; b++) {
          int vc = (a * j->sub + b) * j->icg + ic;
          for (int e = 0; e < 9; e++) {
            int ky = 3 * a + e / 3, kx = 3 * b + e % 3;
            tmp[(size_t)e * j->kg + vc] = ky < k && kx < k ? f[ky * k + kx] : 0.f;
          }
        }
    }
    filter_tiles(tmp, j->kg, j->Uw + ((size_t)g * XI * j->ocg + oc) * j->kg, xs);
  }
}
SR_WINO_VARIANTS(weight_task)

/* ---- entry points ---- */

static void set_geometry(wino_job *j, const sr_tensor *x, int pad, int oh, int ow) {
  j->x = x, j->pad = pad, j->oh = oh, j->ow = ow;
  j->ty0 = 0, j->th = (oh + 1) / 2, j->tw = (ow + 1) / 2, j->ts = j->tw + 1, j->tiles = j->th * j->ts;
}

/* Channel ranges per frame so a job over @nf frames has about 2 tasks per thread. */
static int per_frame_parts(cpu_backend *cb, int nf, int channels) {
  int T = sr_pool_size(cb->pool), parts = nf >= 2 * T ? 1 : (2 * T + nf - 1) / nf;
  return parts > channels ? channels : parts;
}

static int frames_per_chunk(const wino_job *j, int n, int channels) {
  size_t per_frame = (size_t)XI * channels * j->tiles;
  int chunk = (int)(WINO_CHUNK_FLOATS / (per_frame ? per_frame : 1));
  return chunk < 1 ? 1 : chunk > n ? n : chunk;
}

/* The filter job's channel counts: the transposed convolution (3×3 only)
 * swaps the channel roles. */
static void filter_dims(wino_job *j, const sr_conv_params *p, bool transpose) {
  j->group = p->group;
  j->icg = (transpose ? p->out_c : p->in_c) / p->group;
  j->ocg = (transpose ? p->in_c : p->out_c) / p->group;
  j->sub = transpose ? 1 : sub_kernels(p->kh), j->kg = j->sub * j->sub * j->icg;
}

size_t sr__cpu_winograd_packed_count(const cpu_backend *cb, const sr_conv_params *p, bool transpose) {
  wino_job j;
  filter_dims(&j, p, transpose);
  return (size_t)j.group * XI * sr__gemm_packed_a_count(cb->gemm, j.ocg, j.kg);
}

/* U[g][ξ] (plain, in j->Uw) packed into j->U for the GEMM: one per task. */
static void pack_task(void *ctx, int task, int thread) {
  (void)thread;
  wino_job *j = ctx;
  size_t pu = sr__gemm_packed_a_count(j->cb->gemm, j->ocg, j->kg);
  sr__gemm_pack_a(j->cb->gemm, j->ocg, j->kg, j->Uw + (size_t)task * j->ocg * j->kg, j->kg, false,
                  (float *)j->U + (size_t)task * pu);
}

sr_status sr__cpu_winograd_filters(cpu_backend *cb, const sr_conv_params *p, const float *w, bool transpose,
                                   float *U) {
  wino_job j = {.cb = cb, .w = w, .U = U, .transpose = transpose};
  filter_dims(&j, p, transpose);
  j.Uw = sr__cpu_workspace(cb, CPU_WS_WINO_PLAIN, (size_t)XI * j.group * j.ocg * j.kg);
  if (!j.Uw) return SR_ERR_NOMEM;
  int n_out = p->group * j.ocg;
  j.wparts = 4 * sr_pool_size(cb->pool) < n_out ? 4 * sr_pool_size(cb->pool) : n_out;
  sr_pool_run(cb->pool, j.wparts, tasks(cb)->weight, &j);
  if (atomic_load(&j.failed)) return SR_ERR_NOMEM;
  sr_pool_run(cb->pool, XI * j.group, pack_task, &j);
  return SR_OK;
}

size_t sr__cpu_winograd_filter_count(const sr_conv_params *p) {
  int sub = sub_kernels(p->kh);
  return (size_t)XI * p->out_c * sub * sub * (p->in_c / p->group);
}

/* Frames [j->f0, j->f0 + chunk) (fewer at the end): shared V and M buffers
 * for them (M with @m_channels channels), and their input transform. */
static sr_status chunk_input(wino_job *j, int chunk, int m_channels) {
  const sr_tensor *x = j->x;
  j->nf = x->n - j->f0 < chunk ? x->n - j->f0 : chunk;
  j->T = (size_t)j->nf * j->tiles;
  j->V = sr__cpu_workspace(j->cb, CPU_WS_COL, (size_t)XI * j->group * j->kg * j->T);
  j->M = sr__cpu_workspace(j->cb, CPU_WS_GRAD, (size_t)XI * m_channels * j->T);
  if (!j->V || !j->M) return SR_ERR_NOMEM;
  j->parts = per_frame_parts(j->cb, j->nf, x->c);
  sr_pool_run(j->cb->pool, j->nf * j->parts, tasks(j->cb)->input, j);
  return SR_OK;
}

/* A job for one thread working alone on single frames: @j's geometry and
 * operands, @parts channel ranges per frame, and tile buffers of its own
 * (V for all input channels, M for @m_channels). False, with j->failed set,
 * when the buffers cannot be had. */
static bool frame_job(const wino_job *j, int thread, int parts, int m_channels, wino_job *f) {
  *f = (wino_job){.cb = j->cb, .group = j->group, .icg = j->icg, .ocg = j->ocg, .pad = j->pad, .sub = j->sub,
                  .kg = j->kg, .x = j->x, .oh = j->oh, .ow = j->ow, .ty0 = 0, .th = j->th, .tw = j->tw, .ts = j->ts,
                  .tiles = j->tiles, .nf = 1, .T = (size_t)j->tiles, .parts = parts, .U = j->U, .y = j->y,
                  .bias = j->bias, .relu = j->relu, .dy = j->dy};
  size_t nv = (size_t)XI * j->group * j->kg * f->T;
  f->V = sr__cpu_thread_slot(j->cb, thread, CPU_TWS_TILES, nv + (size_t)XI * m_channels * f->T);
  if (!f->V) {
    atomic_store((atomic_int *)&j->failed, 1);
    return false;
  }
  f->M = f->V + nv;
  return true;
}

/* One thread takes a whole (frame, group): its input transform, 16 GEMMs
 * and output transform, in the thread's own tile buffers (laid out as for
 * all groups, this group's part used), which stay in its core's cache,
 * with no synchronisation between the phases. */
static void unit_task(void *ctx, int task, int thread) {
  const wino_job *j = ctx;
  wino_job f;
  if (!frame_job(j, thread, j->group, j->y->c, &f)) return;
  int g = task % j->group;
  f.f0 = task / j->group;
  const wino_tasks *t = tasks(j->cb);
  t->input(&f, g, thread); /* parts = group: task g is group g's channels */
  for (int k = g * XI; k < (g + 1) * XI; k++) gemm_task(&f, k, thread);
  t->output(&f, g, thread);
  if (atomic_load(&f.failed)) atomic_store((atomic_int *)&j->failed, 1);
}

/* y = conv(x) with transformed filters U (in_c = x->c, out_c = y->c). */
sr_status sr__cpu_winograd_conv(cpu_backend *cb, int group, int ksize, int pad, const sr_tensor *x, const float *U,
                                const float *bias, bool relu, sr_tensor *y) {
  sr__cpu_blas_single();
  wino_job j = {.cb = cb, .group = group, .icg = x->c / group, .ocg = y->c / group, .U = U, .y = y,
                .bias = bias, .relu = relu, .sub = sub_kernels(ksize)};
  j.kg = j.sub * j.sub * j.icg;
  set_geometry(&j, x, pad, y->h, y->w);
  int threads = sr_pool_size(cb->pool), units = x->n * group, channels = group * j.kg > y->c ? group * j.kg : y->c;
  size_t row_floats = (size_t)XI * channels * j.ts, frame_floats = row_floats * j.th;
  if ((units >= 2 * threads || (units >= threads && units % threads == 0)) && frame_floats <= 4 * WINO_CHUNK_FLOATS) {
    /* enough (frame, group) units to keep every thread busy: one each */
    sr_pool_run(cb->pool, units, unit_task, &j);
    return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
  }
  /* Chunks of frames, or of tile rows when one frame is larger than a chunk. */
  int chunk = frames_per_chunk(&j, x->n, channels), th_all = j.th;
  int rows = frame_floats <= WINO_CHUNK_FLOATS ? th_all : (int)(WINO_CHUNK_FLOATS / row_floats);
  if (rows * j.ts < MIN_CHUNK_TILES) rows = (MIN_CHUNK_TILES + j.ts - 1) / j.ts; /* GEMMs wide enough */
  if (rows >= th_all) rows = th_all;
  else rows = (th_all + (th_all + rows - 1) / rows - 1) / ((th_all + rows - 1) / rows); /* even chunks */
  for (j.f0 = 0; j.f0 < x->n; j.f0 += j.nf)
    for (int ty0 = 0; ty0 < th_all; ty0 += rows) {
      j.ty0 = ty0, j.th = th_all - ty0 < rows ? th_all - ty0 : rows, j.tiles = j.th * j.ts;
      if (chunk_input(&j, rows < th_all ? 1 : chunk, y->c) != SR_OK) return SR_ERR_NOMEM;
      sr_pool_run(cb->pool, group * XI, gemm_task, &j);
      j.parts = per_frame_parts(cb, j.nf, y->c);
      sr_pool_run(cb->pool, j.nf * j.parts, tasks(cb)->output, &j);
    }
  return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
}

/* ---- weight gradient: F(3×3, 2×2) ---- */

/* G₂ down a pair of rows: h = ½(a + b), k = ½(a − b). */
static SR_ALWAYS_INLINE void g2_rows(const float *restrict a, const float *restrict b, float *restrict h,
                                     float *restrict k, size_t n) {
  for (size_t u = 0; u < n; u++) {
    h[u] = 0.5f * (a[u] + b[u]);
    k[u] = 0.5f * (a[u] - b[u]);
  }
}

/* G₂ᵀ across each tile: its left (a) and right (b) columns. */
static SR_ALWAYS_INLINE void g2_cols(const float *restrict a, const float *restrict b, float *restrict o0,
                                     float *restrict o1, float *restrict o2, float *restrict o3, size_t n) {
  for (size_t u = 0; u < n; u++) {
    o0[u] = a[u];
    o1[u] = 0.5f * (a[u] + b[u]);
    o2[u] = 0.5f * (a[u] - b[u]);
    o3[u] = b[u];
  }
}

/* G₂ e G₂ᵀ of every 2×2 dy tile of a channel range of one frame (into M),
 * over all its tiles at once (u = ty·ts + tx): each tile's two rows split
 * into left and right columns (zero for each row's unused tile), G₂ down,
 * G₂ᵀ across, in unit-stride loops. */
static SR_ALWAYS_INLINE void grad_input_task_body(void *ctx, int task, int thread) {
  wino_job *j = ctx;
  const sr_tensor *dy = j->dy;
  int f = task / j->parts, c0, c1, ts = j->ts;
  sr__split(dy->c, j->parts, task % j->parts, &c0, &c1);
  size_t L = (size_t)j->th * ts;
  float *rb = sr__cpu_thread_workspace(j->cb, thread, 8 * L + 2 * (size_t)ts);
  if (!rb) {
    atomic_store(&j->failed, 1);
    return;
  }
  /* rows: [0] = top, [1] = bottom, [2] = ½(top + bottom), [3] = ½(top − bottom); each left, right */
  float *r[4][2];
  for (int i = 0; i < 4; i++) r[i][0] = rb + (size_t)(2 * i) * L, r[i][1] = rb + (size_t)(2 * i + 1) * L;
  float *prow = rb + 8 * L;
  size_t xs = (size_t)j->ocg * j->T;
  for (int c = c0; c < c1; c++) {
    int g = c / j->ocg, oc = c % j->ocg;
    const float *in = dy->data + ((size_t)(j->f0 + f) * dy->c + c) * dy->h * dy->w;
    float *out = j->M + ((size_t)g * XI * j->ocg + oc) * j->T + (size_t)f * j->tiles;
    for (int ty = 0; ty < j->th; ty++)
      for (int half = 0; half < 2; half++) {
        int oy = 2 * (j->ty0 + ty) + half;
        memset(prow, 0, sizeof(float) * 2 * ts);
        if (oy < dy->h) memcpy(prow, in + (size_t)oy * dy->w, sizeof(float) * dy->w);
        deinterleave(prow, r[half][0] + (size_t)ty * ts, r[half][1] + (size_t)ty * ts, ts);
      }
    for (int side = 0; side < 2; side++) g2_rows(r[0][side], r[1][side], r[2][side], r[3][side], L);
    static const int row_of[4] = {0, 2, 3, 1}; /* G₂'s rows: top, ½(t + b), ½(t − b), bottom */
    for (int i = 0; i < 4; i++) {
      float *o0 = out + (size_t)(4 * i) * xs;
      g2_cols(r[row_of[i]][0], r[row_of[i]][1], o0, o0 + xs, o0 + 2 * xs, o0 + 3 * xs, L);
    }
  }
}
SR_WINO_VARIANTS(grad_input_task)

static const wino_tasks avx512_tasks = {input_task_avx512, output_task_avx512, weight_task_avx512,
                                        grad_input_task_avx512};
static const wino_tasks avx2_tasks = {input_task_avx2, output_task_avx2, weight_task_avx2, grad_input_task_avx2};
static const wino_tasks generic_tasks = {input_task_generic, output_task_generic, weight_task_generic,
                                         grad_input_task_generic};
static const wino_tasks *tasks(const cpu_backend *cb) {
  return cb->isa == SR_CPU_ISA_AVX512 ? &avx512_tasks : cb->isa == SR_CPU_ISA_AVX2 ? &avx2_tasks : &generic_tasks;
}

/* D[g][ξ] (+)= E[g][ξ] · V[g][ξ]ᵀ (ocg × icg, summed over tiles). */
static void grad_gemm_task(void *ctx, int task, int thread) {
  wino_job *j = ctx;
  if (!sr__cpu_gemm(j->cb, thread, SR_GEMM_TB, j->ocg, j->icg, (int)j->T, j->M + (size_t)task * j->ocg * j->T,
                    (int)j->T, j->V + (size_t)task * j->icg * j->T, (int)j->T, j->accumulate ? 1.f : 0.f,
                    j->Uw + (size_t)task * j->ocg * j->icg, j->icg))
    atomic_store(&j->failed, 1);
}

/* Weight gradient with threads taking whole frames: task p accumulates
 * frames p, p + P, … into its own D, so the sums do not depend on which
 * thread ran what (training resumes bit-exactly); the D's are added in
 * task order afterwards. */
typedef struct {
  const wino_job *j;
  float *D; /* P × count */
  size_t count;
  int P;
} wgrad_units;

static void wgrad_unit_task(void *ctx, int task, int thread) {
  const wgrad_units *u = ctx;
  const wino_job *j = u->j;
  wino_job f;
  if (!frame_job(j, thread, 1, j->dy->c, &f)) return;
  f.Uw = u->D + (size_t)task * u->count;
  f.accumulate = false;
  for (f.f0 = task; f.f0 < j->x->n; f.f0 += u->P) {
    tasks(j->cb)->input(&f, 0, thread);
    tasks(j->cb)->grad_input(&f, 0, thread);
    for (int k = 0; k < f.group * XI; k++) grad_gemm_task(&f, k, thread);
    f.accumulate = true;
  }
  if (!f.accumulate) memset(f.Uw, 0, sizeof(float) * u->count); /* no frame for this task */
  if (atomic_load(&f.failed)) atomic_store((atomic_int *)&j->failed, 1);
}

/* D = Σ_p D_p over a range of D, in task order. */
static void wgrad_sum_task(void *ctx, int task, int thread) {
  (void)thread;
  const wgrad_units *u = ctx;
  int lo, hi;
  sr__split((int)u->count, 4 * sr_pool_size(u->j->cb->pool), task, &lo, &hi);
  float *d = u->j->Uw;
  memcpy(d + lo, u->D + lo, sizeof(float) * (hi - lo));
  for (int p = 1; p < u->P; p++) {
    const float *s = u->D + (size_t)p * u->count;
    for (int i = lo; i < hi; i++) d[i] += s[i];
  }
}

/* dW (oc, ic) = A₃ᵀ D A₃ for an output-channel range. */
static void grad_output_task(void *ctx, int task, int thread) {
  (void)thread;
  wino_job *j = ctx;
  int n_out = j->group * j->ocg, c0, c1;
  sr__split(n_out, j->wparts, task, &c0, &c1);
  for (int c = c0; c < c1; c++) {
    int g = c / j->ocg, oc = c % j->ocg;
    const float *src = j->Uw + ((size_t)g * XI * j->ocg + oc) * j->icg;
    size_t xs = (size_t)j->ocg * j->icg;
    for (int ic = 0; ic < j->icg; ic++) {
      float m[16];
      for (int k = 0; k < XI; k++) m[k] = src[k * xs + ic];
      weight_grad_tile(m, j->dw + ((size_t)c * j->icg + ic) * 9);
    }
  }
}

sr_status sr__cpu_winograd_weight_grad(cpu_backend *cb, const sr_conv_params *p, const sr_tensor *x,
                                       const sr_tensor *dy, float *dw) {
  sr__cpu_blas_single();
  wino_job j = {.cb = cb, .group = p->group, .icg = p->in_c / p->group, .ocg = p->out_c / p->group, .dy = dy,
                .dw = dw, .sub = 1};
  j.kg = j.icg;
  set_geometry(&j, x, p->pad, dy->h, dy->w);
  j.Uw = sr__cpu_workspace(cb, CPU_WS_WINO, sr__cpu_winograd_filter_count(p));
  if (!j.Uw) return SR_ERR_NOMEM;
  int threads = sr_pool_size(cb->pool), channels = x->c > dy->c ? x->c : dy->c;
  size_t count = sr__cpu_winograd_filter_count(p);
  if (x->n >= 2 * threads && (size_t)XI * channels * j.tiles <= 4 * WINO_CHUNK_FLOATS) {
    wgrad_units u = {&j, sr__cpu_workspace(cb, CPU_WS_COL, (size_t)threads * count), count, threads};
    if (!u.D) return SR_ERR_NOMEM;
    sr_pool_run(cb->pool, u.P, wgrad_unit_task, &u);
    sr_pool_run(cb->pool, 4 * threads, wgrad_sum_task, &u);
  } else {
    int chunk = frames_per_chunk(&j, x->n, channels);
    for (j.f0 = 0; j.f0 < x->n; j.f0 += chunk) {
      if (chunk_input(&j, chunk, dy->c) != SR_OK) return SR_ERR_NOMEM;
      j.parts = per_frame_parts(cb, j.nf, dy->c);
      sr_pool_run(cb->pool, j.nf * j.parts, tasks(cb)->grad_input, &j);
      j.accumulate = j.f0 > 0;
      sr_pool_run(cb->pool, p->group * XI, grad_gemm_task, &j);
    }
  }
  int n_out = p->out_c;
  j.wparts = 4 * sr_pool_size(cb->pool) < n_out ? 4 * sr_pool_size(cb->pool) : n_out;
  sr_pool_run(cb->pool, j.wparts, grad_output_task, &j);
  return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
}
