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
  int m, xi; /* output tile side (2: F(2×2, 3×3); 4: F(4×4, 3×3), forward only) and (m + 2)² transform points */
  int group, icg, ocg, pad;
  /* A 5×5 kernel (zero-padded to 6×6) is sub × sub = 2 × 2 stacked 3×3
   * kernels, sub-kernel (a, b) reading the input shifted by (3a, 3b): the
   * GEMMs see kg = sub²·icg input channels, channel (a·sub + b)·icg + ic. */
  int sub, kg;
  /* the layer's input (x) and output-shaped tensor (y or dy) */
  const sr_tensor *x;
  int oh, ow;
  /* this chunk's tile rows [ty0, ty0 + th) of each frame; the transforms
   * run over th · ts tiles (ts = tw + 1), V and M hold tiles = th · rs of
   * them per frame: rs = ts for m = 2, rs = tw (the unused tiles dropped,
   * so the GEMMs see no padding columns) for m = 4 */
  int ty0, th, tw, ts, rs, tiles;
  int f0, nf;
  size_t T;
  /* V in the GEMM's B panels of vnr columns (tiles padded to Tp), written
   * so by the input transform; vnr 0: plain, rows of T tiles per channel.
   * Transform point ξ at V + ξ·vxs either way */
  int vnr;
  size_t Tp, vxs;
  size_t mxs; /* M's transform point ξ at M + ξ·mxs (rows of T) */
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

/* Where tiles [u, u + *n) of V's channel @vc (group @g, chunk frame @f) go
 * for transform point 0, point ξ at + ξ·*xs: one contiguous run, *n cut at
 * the end of a B panel when V is laid out in panels (then f is 0). */
static SR_ALWAYS_INLINE float *v_run(const wino_job *j, int g, int vc, int f, size_t u, size_t *n, size_t *xs) {
  if (!j->vnr) {
    *xs = j->vxs;
    return j->V + (size_t)g * j->xi * j->vxs + (size_t)vc * j->T + (size_t)f * j->tiles + u;
  }
  size_t p = u / j->vnr, q = u % j->vnr;
  if (*n > j->vnr - q) *n = j->vnr - q;
  *xs = j->vxs;
  return j->V + (size_t)g * j->xi * j->vxs + (p * j->kg + vc) * j->vnr + q;
}

static SR_ALWAYS_INLINE void deinterleave4(const float *restrict in, float *restrict q0, float *restrict q1,
                                           float *restrict q2, float *restrict q3, int n) {
  for (int k = 0; k < n; k++) q0[k] = in[4 * k], q1[k] = in[4 * k + 1], q2[k] = in[4 * k + 2], q3[k] = in[4 * k + 3];
}

/* Channel @in of the frame, zero-padded, split into m × m planes by row and
 * column phase modulo @m (2 or 4): for each sub-kernel column b < sub, the
 * plane (rp, cp) at pb + (m²·b + m·rp + cp)·qn holds pixel (m·R + rp,
 * m·C + cp + 3b) of the padded input at R·ts + C, for QR rows R (the
 * chunk's tile rows from ty0 on). @prow: m·ts floats of scratch. */
static SR_ALWAYS_INLINE void phase_planes(const wino_job *j, const float *in, int m, int QR, size_t qn, float *pb,
                                          float *prow) {
  const sr_tensor *x = j->x;
  int ts = j->ts, W = m * ts; /* padded row width per b */
  for (int r = 0; r < m * QR; r++) {
    int iy = m * j->ty0 + r - j->pad;
    size_t at = (size_t)(r / m) * ts;
    for (int b = 0; b < j->sub; b++) {
      float *q0 = pb + (size_t)(m * m * b + (r % m) * m) * qn + at;
      if (iy < 0 || iy >= x->h) {
        for (int cp = 0; cp < m; cp++) memset(q0 + cp * qn, 0, sizeof(float) * ts);
        continue;
      }
      /* the padded row from column 3b on, then its columns by phase */
      int x0 = 3 * b - j->pad; /* input column of padded column 3b */
      const float *src = in + (size_t)iy * x->w;
      int k0 = x0 < 0 ? -x0 : 0, k1 = x->w - x0 < W ? x->w - x0 : W; /* [k0, k1): inside the image */
      if (k0 > 0 || k1 < W) memset(prow, 0, sizeof(float) * W);
      if (k1 > k0) memcpy(prow + k0, src + x0 + k0, sizeof(float) * (k1 - k0));
      if (m == 4) deinterleave4(prow, q0, q0 + qn, q0 + 2 * qn, q0 + 3 * qn, ts);
      else deinterleave(prow, q0, q0 + qn, ts);
    }
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
static SR_ALWAYS_INLINE void input2_body(wino_job *j, int task, int thread) {
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
  size_t xs;                                                 /* between transform points (v_run) */
  for (int c = c0; c < c1; c++) {
    int g = c / j->icg, ic = c % j->icg;
    const float *in = x->data + ((size_t)(j->f0 + f) * x->c + c) * x->h * x->w;
    phase_planes(j, in, 2, QR, qn, pb, prow);
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
        for (size_t u = 0, n; u < L; u += n) {
          n = L - u;
          float *out = v_run(j, g, vc, f, u, &n, &xs);
          for (int k = 0; k < 4; k++) { /* (Bᵀ d) B: E = column 2tx, O = 2tx + 1, then 2tx + 2, 2tx + 3 */
            float *o0 = out + (size_t)(4 * k) * xs;
            b_cols(T + (size_t)(k * 2) * (L + 1) + u, T + (size_t)(k * 2 + 1) * (L + 1) + u, o0, o0 + xs,
                   o0 + 2 * xs, o0 + 3 * xs, n);
          }
        }
      }
  }
}

/* ---- F(4×4, 3×3): 6×6 input tiles, interpolation points 0, ±1, ±2, ∞ ----
 *   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
 *   G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1]
 *   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
 * 36 GEMMs with 4× fewer multiplications than the direct convolution (F(2×2):
 * 2.25×), for the forward pass only: its transforms have larger constants,
 * so float32 results are a little further from the direct sums (NMSE
 * ≈ 1e-11 instead of 1e-13 on test_ops's shapes). The same plane trick as
 * above, with the input split by row and column phase modulo 4. */

/* Bᵀ down six rows. */
static SR_ALWAYS_INLINE void bt6_rows(const float *restrict d0, const float *restrict d1, const float *restrict d2,
                                      const float *restrict d3, const float *restrict d4, const float *restrict d5,
                                      float *restrict t0, float *restrict t1, float *restrict t2, float *restrict t3,
                                      float *restrict t4, float *restrict t5, size_t n) {
  for (size_t k = 0; k < n; k++) {
    float a = d4[k] - 4.f * d2[k], b = d3[k] - 4.f * d1[k], c = d4[k] - d2[k], e = 2.f * (d3[k] - d1[k]);
    t0[k] = 4.f * d0[k] - 5.f * d2[k] + d4[k];
    t1[k] = a + b;
    t2[k] = a - b;
    t3[k] = c + e;
    t4[k] = c - e;
    t5[k] = 4.f * d1[k] - 5.f * d3[k] + d5[k];
  }
}

/* B across each tile: its columns 0–3 are c0..c3[u], 4 and 5 are c0, c1[u + 1]. */
static SR_ALWAYS_INLINE void b6_cols(const float *restrict c0, const float *restrict c1, const float *restrict c2,
                                     const float *restrict c3, float *restrict o0, float *restrict o1,
                                     float *restrict o2, float *restrict o3, float *restrict o4, float *restrict o5,
                                     int n) {
  for (int u = 0; u < n; u++) {
    float c4 = c0[u + 1], c5 = c1[u + 1];
    float a = c4 - 4.f * c2[u], b = c3[u] - 4.f * c1[u], c = c4 - c2[u], e = 2.f * (c3[u] - c1[u]);
    o0[u] = 4.f * c0[u] - 5.f * c2[u] + c4;
    o1[u] = a + b;
    o2[u] = a - b;
    o3[u] = c + e;
    o4[u] = c - e;
    o5[u] = 4.f * c1[u] - 5.f * c3[u] + c5;
  }
}

/* Bᵀ d B of every 6×6 tile of a channel range of one frame: the channel in
 * 16 planes by row and column phase modulo 4 (Q[rp][cp], pixel (4R + rp,
 * 4C + cp), columns shifted by 3b for sub-kernel column b, ts columns
 * each), Bᵀ down the rows over all the frame's tiles at once, then B
 * across, written tile row by tile row without the unused tiles (rs = tw). */
static SR_ALWAYS_INLINE void input4_body(wino_job *j, int task, int thread) {
  const sr_tensor *x = j->x;
  int f = task / j->parts, c0, c1;
  sr__split(x->c, j->parts, task % j->parts, &c0, &c1);
  int sub = j->sub, ts = j->ts, QR = j->th + (3 * (sub - 1) + 5) / 4 + 1; /* plane rows */
  size_t qn = (size_t)QR * ts, L = (size_t)j->th * ts;                   /* floats per plane, tiles */
  float *pb = sr__cpu_thread_workspace(j->cb, thread, 16 * sub * qn + 24 * (L + 1) + 4 * (size_t)ts + 8);
  if (!pb) {
    atomic_store(&j->failed, 1);
    return;
  }
  float *T = pb + 16 * sub * qn, *prow = T + 24 * (L + 1); /* T[k][cp]: Bᵀ d, 24 × (L + 1) */
  size_t xs;                                                   /* between transform points (v_run) */
  for (int c = c0; c < c1; c++) {
    int g = c / j->icg, ic = c % j->icg;
    const float *in = x->data + ((size_t)(j->f0 + f) * x->c + c) * x->h * x->w;
    phase_planes(j, in, 4, QR, qn, pb, prow);
    for (int a = 0; a < sub; a++)
      for (int b = 0; b < sub; b++) {
        const float *Q = pb + (size_t)16 * b * qn; /* Q[rp·4 + cp] at Q + (rp·4 + cp)·qn */
        for (int cp = 0; cp < 4; cp++) {
          const float *restrict d[6];
          for (int i = 0; i < 6; i++) {
            int rr = 3 * a + i;
            d[i] = Q + (size_t)((rr & 3) * 4 + cp) * qn + (size_t)(rr >> 2) * ts;
          }
          float *t = T + (size_t)cp * (L + 1);
          size_t ks = 4 * (L + 1);
          bt6_rows(d[0], d[1], d[2], d[3], d[4], d[5], t, t + ks, t + 2 * ks, t + 3 * ks, t + 4 * ks, t + 5 * ks,
                   L + 1);
        }
        int vc = (a * sub + b) * j->icg + ic;
        for (int ty = 0; ty < j->th; ty++) /* tile row ty: tiles ty·tw + tx, read at ty·ts + tx */
          for (size_t tx = 0, n; tx < (size_t)j->tw; tx += n) {
            n = (size_t)j->tw - tx;
            float *out = v_run(j, g, vc, f, (size_t)ty * j->tw + tx, &n, &xs);
            for (int k = 0; k < 6; k++) {
              const float *t = T + (size_t)(4 * k) * (L + 1) + (size_t)ty * ts + tx;
              float *o = out + (size_t)(6 * k) * xs;
              b6_cols(t, t + (L + 1), t + 2 * (L + 1), t + 3 * (L + 1), o, o + xs, o + 2 * xs, o + 3 * xs, o + 4 * xs,
                      o + 5 * xs, (int)n);
            }
          }
      }
  }
}

static SR_ALWAYS_INLINE void input_task_body(void *ctx, int task, int thread) {
  wino_job *j = ctx;
  if (j->m == 4) input4_body(j, task, thread);
  else input2_body(j, task, thread);
}
SR_WINO_VARIANTS(input_task)

/* M[g][ξ] = U[g][ξ] · V[g][ξ]: one GEMM per task, U[g][ξ] packed. */
static void gemm_task(void *ctx, int task, int thread) {
  wino_job *j = ctx;
  size_t pu = sr__gemm_packed_a_count(j->cb->gemm, j->ocg, j->kg);
  int flags = SR_GEMM_A_PACKED | (j->vnr ? SR_GEMM_B_PACKED : 0);
  const float *B = j->V + (size_t)task * j->vxs;
  if (!sr__cpu_gemm(j->cb, thread, flags, j->ocg, (int)j->T, j->kg, j->U + (size_t)task * pu, j->kg, B, (int)j->T,
                    0.f, j->M + (size_t)task * j->mxs, (int)j->T))
    atomic_store(&j->failed, 1);
}

/* Aᵀ m A + bias (+ ReLU) of every tile of an output-channel range of one
 * frame, over all its tiles at once (u = ty·ts + tx): Aᵀ m into eight
 * arrays, (Aᵀ m) A into two interleaved output rows per tile row, then
 * copied to the image. */
static SR_ALWAYS_INLINE void output2_body(wino_job *j, int task, int thread) {
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
  size_t xs = j->mxs;
  for (int c = c0; c < c1; c++) {
    int g = c / j->ocg, oc = c % j->ocg;
    const float *m = j->M + (size_t)g * j->xi * j->mxs + (size_t)oc * j->T + (size_t)f * j->tiles;
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

/* Aᵀ down a column of the 6×6 tiles. */
static SR_ALWAYS_INLINE void at6_rows(const float *restrict m0, const float *restrict m1, const float *restrict m2,
                                      const float *restrict m3, const float *restrict m4, const float *restrict m5,
                                      float *restrict s0, float *restrict s1, float *restrict s2, float *restrict s3,
                                      size_t n) {
  for (size_t u = 0; u < n; u++) {
    float p = m1[u] + m2[u], q = m1[u] - m2[u], r = m3[u] + m4[u], t = m3[u] - m4[u];
    s0[u] = m0[u] + p + r;
    s1[u] = q + 2.f * t;
    s2[u] = p + 4.f * r;
    s3[u] = q + 8.f * t + m5[u];
  }
}

/* (Aᵀ m) A + bias (ReLU when @relu), each tile's four outputs interleaved. */
static SR_ALWAYS_INLINE void a6_cols(const float *restrict s0, const float *restrict s1, const float *restrict s2,
                                     const float *restrict s3, const float *restrict s4, const float *restrict s5,
                                     float bv, bool relu, float *restrict o, size_t n) {
  float lo = relu ? 0.f : -__builtin_inff();
  for (size_t u = 0; u < n; u++) {
    float p = s1[u] + s2[u], q = s1[u] - s2[u], r = s3[u] + s4[u], t = s3[u] - s4[u];
    float v0 = s0[u] + p + r + bv, v1 = q + 2.f * t + bv, v2 = p + 4.f * r + bv, v3 = q + 8.f * t + s5[u] + bv;
    o[4 * u] = v0 < lo ? lo : v0;
    o[4 * u + 1] = v1 < lo ? lo : v1;
    o[4 * u + 2] = v2 < lo ? lo : v2;
    o[4 * u + 3] = v3 < lo ? lo : v3;
  }
}

/* Aᵀ m A + bias (+ ReLU) of every 6×6 tile of an output-channel range of
 * one frame (tiles = th · tw, no unused ones): Aᵀ m into 24 arrays, then
 * four interleaved output rows per tile row, copied to the image. */
static SR_ALWAYS_INLINE void output4_body(wino_job *j, int task, int thread) {
  const sr_tensor *y = j->y;
  int f = task / j->parts, c0, c1, tw = j->tw;
  sr__split(y->c, j->parts, task % j->parts, &c0, &c1);
  size_t L = (size_t)j->tiles;
  float *sb = sr__cpu_thread_workspace(j->cb, thread, 40 * L);
  if (!sb) {
    atomic_store(&j->failed, 1);
    return;
  }
  float *row = sb + 24 * L; /* four output rows of 4·L */
  size_t xs = j->mxs;
  for (int c = c0; c < c1; c++) {
    int g = c / j->ocg, oc = c % j->ocg;
    const float *m = j->M + (size_t)g * j->xi * j->mxs + (size_t)oc * j->T + (size_t)f * j->tiles;
    float *out = y->data + ((size_t)(j->f0 + f) * y->c + c) * y->h * y->w;
    float bv = j->bias ? j->bias[c] : 0.f;
    for (int q = 0; q < 6; q++) { /* Aᵀ m, column q of every tile: S[r][q] at sb + (6r + q)·L */
      const float *m0 = m + (size_t)q * xs;
      at6_rows(m0, m0 + 6 * xs, m0 + 12 * xs, m0 + 18 * xs, m0 + 24 * xs, m0 + 30 * xs, sb + (size_t)q * L,
               sb + (size_t)(6 + q) * L, sb + (size_t)(12 + q) * L, sb + (size_t)(18 + q) * L, L);
    }
    for (int r = 0; r < 4; r++) { /* (Aᵀ m) A + bias */
      const float *a = sb + (size_t)6 * r * L;
      a6_cols(a, a + L, a + 2 * L, a + 3 * L, a + 4 * L, a + 5 * L, bv, j->relu, row + (size_t)4 * r * L, L);
    }
    for (int ty = 0; ty < j->th; ty++)
      for (int r = 0, oy = 4 * (j->ty0 + ty); r < 4 && oy + r < y->h; r++)
        memcpy(out + (size_t)(oy + r) * y->w, row + (size_t)4 * r * L + (size_t)4 * ty * tw, sizeof(float) * y->w);
  }
}

static SR_ALWAYS_INLINE void output_task_body(void *ctx, int task, int thread) {
  wino_job *j = ctx;
  if (j->m == 4) output4_body(j, task, thread);
  else output2_body(j, task, thread);
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

/* F(4×4, 3×3)'s G applied to three values: six. */
#define G6(o, a, b, c)                                                                                       \
  do {                                                                                                       \
    o[0] = 0.25f * (a), o[1] = (-1.f / 6) * ((a) + (b) + (c)), o[2] = (-1.f / 6) * ((a) - (b) + (c));        \
    o[3] = (1.f / 24) * (a) + (1.f / 12) * (b) + (1.f / 6) * (c);                                            \
    o[4] = (1.f / 24) * (a) - (1.f / 12) * (b) + (1.f / 6) * (c), o[5] = (c);                                \
  } while (0)

#define FILTER_TILE4(T, LOAD, STORE)                                                                         \
  do {                                                                                                       \
    T e[9], h[18], o[6];                                                                                     \
    for (int q = 0; q < 9; q++) e[q] = LOAD(g + q * n + i);                                                  \
    for (int x = 0; x < 3; x++) { /* G g: column x of the filter, six rows */                                \
      T t[6];                                                                                                \
      G6(t, e[x], e[3 + x], e[6 + x]);                                                                       \
      for (int k = 0; k < 6; k++) h[3 * k + x] = t[k];                                                       \
    }                                                                                                        \
    for (int k = 0; k < 6; k++) { /* then across each row */                                                 \
      G6(o, h[3 * k], h[3 * k + 1], h[3 * k + 2]);                                                           \
      for (int l = 0; l < 6; l++) STORE(u + (size_t)(6 * k + l) * xs + i, o[l]);                             \
    }                                                                                                        \
  } while (0)

/* G g Gᵀ of F(4×4, 3×3), laid out as filter_tiles' (36 points). */
static SR_ALWAYS_INLINE void filter_tiles4(const float *restrict g, int n, float *restrict u, size_t xs) {
  int i = 0;
  for (; i + 8 <= n; i += 8) FILTER_TILE4(v8sf, LOAD8, STORE8);
  for (; i < n; i++) FILTER_TILE4(float, LOAD1, STORE1);
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
    float *u = j->Uw + ((size_t)g * j->xi * j->ocg + oc) * j->kg;
    if (j->m == 4) filter_tiles4(tmp, j->kg, u, xs);
    else filter_tiles(tmp, j->kg, u, xs);
  }
}
SR_WINO_VARIANTS(weight_task)

/* ---- entry points ---- */

static void set_tile(wino_job *j, int m) { j->m = m, j->xi = (m + 2) * (m + 2); }

static void set_geometry(wino_job *j, const sr_tensor *x, int pad, int oh, int ow, int m) {
  set_tile(j, m);
  j->x = x, j->pad = pad, j->oh = oh, j->ow = ow;
  j->ty0 = 0, j->th = (oh + m - 1) / m, j->tw = (ow + m - 1) / m, j->ts = j->tw + 1;
  j->rs = m == 4 ? j->tw : j->ts, j->tiles = j->th * j->rs;
}

/* Channel ranges per frame so a job over @nf frames has about 2 tasks per thread. */
static int per_frame_parts(cpu_backend *cb, int nf, int channels) {
  int T = sr_pool_size(cb->pool), parts = nf >= 2 * T ? 1 : (2 * T + nf - 1) / nf;
  return parts > channels ? channels : parts;
}

static int frames_per_chunk(const wino_job *j, int n, int channels) {
  size_t per_frame = (size_t)j->xi * channels * j->tiles;
  int chunk = (int)(WINO_CHUNK_FLOATS / (per_frame ? per_frame : 1));
  return chunk < 1 ? 1 : chunk > n ? n : chunk;
}

/* The filter job's channel counts: the transposed convolution (3×3 only)
 * swaps the channel roles. */
static void filter_dims(wino_job *j, const sr_conv_params *p, bool transpose, int m) {
  set_tile(j, m);
  j->group = p->group;
  j->icg = (transpose ? p->out_c : p->in_c) / p->group;
  j->ocg = (transpose ? p->in_c : p->out_c) / p->group;
  j->sub = transpose ? 1 : sub_kernels(p->kh), j->kg = j->sub * j->sub * j->icg;
}

size_t sr__cpu_winograd_packed_count(const cpu_backend *cb, const sr_conv_params *p, bool transpose, int m) {
  wino_job j;
  filter_dims(&j, p, transpose, m);
  return (size_t)j.group * j.xi * sr__gemm_packed_a_count(cb->gemm, j.ocg, j.kg);
}

/* U[g][ξ] (plain, in j->Uw) packed into j->U for the GEMM: one per task. */
static void pack_task(void *ctx, int task, int thread) {
  (void)thread;
  wino_job *j = ctx;
  size_t pu = sr__gemm_packed_a_count(j->cb->gemm, j->ocg, j->kg);
  sr__gemm_pack_a(j->cb->gemm, j->ocg, j->kg, j->Uw + (size_t)task * j->ocg * j->kg, j->kg, false,
                  (float *)j->U + (size_t)task * pu);
}

sr_status sr__cpu_winograd_filters(cpu_backend *cb, const sr_conv_params *p, const float *w, bool transpose, int m,
                                   float *U) {
  wino_job j = {.cb = cb, .w = w, .U = U, .transpose = transpose};
  filter_dims(&j, p, transpose, m);
  j.Uw = sr__cpu_workspace(cb, CPU_WS_WINO_PLAIN, (size_t)j.xi * j.group * j.ocg * j.kg);
  if (!j.Uw) return SR_ERR_NOMEM;
  int n_out = p->group * j.ocg;
  j.wparts = 4 * sr_pool_size(cb->pool) < n_out ? 4 * sr_pool_size(cb->pool) : n_out;
  sr_pool_run(cb->pool, j.wparts, tasks(cb)->weight, &j);
  if (atomic_load(&j.failed)) return SR_ERR_NOMEM;
  sr_pool_run(cb->pool, j.xi * j.group, pack_task, &j);
  return SR_OK;
}

/* (F(2×2)'s 16 points: the weight gradient's buffers, which are F(2×2) only.) */
size_t sr__cpu_winograd_filter_count(const sr_conv_params *p) {
  int sub = sub_kernels(p->kh);
  return (size_t)XI * p->out_c * sub * sub * (p->in_c / p->group);
}

/* The distances between transform points in V and M: 64 bytes more than
 * the points' data, which is often a power of two (256 channels × 16
 * tiles); the transforms' 16 or 36 streams would then share one set of
 * L1 (V in panels without this: the forward pass 1.3-1.4x slower). M's
 * channels per group: @m_channels / group. */
static void set_strides(wino_job *j, int m_channels) {
  j->vxs = (size_t)j->kg * (j->vnr ? j->Tp : j->T) + 16;
  j->mxs = (size_t)(m_channels / j->group) * j->T + 16;
}

/* Frames [j->f0, j->f0 + chunk) (fewer at the end): shared V and M buffers
 * for them (M with @m_channels channels), and their input transform. */
static sr_status chunk_input(wino_job *j, int chunk, int m_channels) {
  const sr_tensor *x = j->x;
  j->nf = x->n - j->f0 < chunk ? x->n - j->f0 : chunk;
  j->T = (size_t)j->nf * j->tiles;
  set_strides(j, m_channels);
  j->V = sr__cpu_workspace(j->cb, CPU_WS_COL, (size_t)j->xi * j->group * j->vxs);
  j->M = sr__cpu_workspace(j->cb, CPU_WS_GRAD, (size_t)j->xi * j->group * j->mxs);
  if (!j->V || !j->M) return SR_ERR_NOMEM;
  j->parts = per_frame_parts(j->cb, j->nf, x->c);
  sr_pool_run(j->cb->pool, j->nf * j->parts, tasks(j->cb)->input, j);
  return SR_OK;
}

/* A job for one thread working alone on single frames: @j's geometry and
 * operands, @parts channel ranges per frame, and tile buffers of its own
 * (V for all input channels, M for @m_channels). False, with j->failed set,
 * when the buffers cannot be had. */
static bool frame_job(const wino_job *j, int thread, int parts, int m_channels, bool pack_v, wino_job *f) {
  *f = (wino_job){.cb = j->cb, .m = j->m, .xi = j->xi, .group = j->group, .icg = j->icg, .ocg = j->ocg, .pad = j->pad, .sub = j->sub,
                  .kg = j->kg, .x = j->x, .oh = j->oh, .ow = j->ow, .ty0 = 0, .th = j->th, .tw = j->tw, .ts = j->ts,
                  .rs = j->rs, .tiles = j->tiles, .nf = 1, .T = (size_t)j->tiles, .parts = parts, .U = j->U, .y = j->y,
                  .bias = j->bias, .relu = j->relu, .dy = j->dy};
  f->vnr = pack_v ? sr__gemm_b_panel(j->cb->gemm, (int)f->T, f->kg) : 0;
  f->Tp = f->vnr ? (f->T + f->vnr - 1) / f->vnr * f->vnr : f->T;
  set_strides(f, m_channels);
  size_t nv = (size_t)j->xi * j->group * f->vxs;
  f->V = sr__cpu_thread_slot(j->cb, thread, CPU_TWS_TILES, nv + (size_t)j->xi * j->group * f->mxs);
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
  if (!frame_job(j, thread, j->group, j->y->c, true, &f)) return;
  int g = task % j->group;
  f.f0 = task / j->group;
  const wino_tasks *t = tasks(j->cb);
  t->input(&f, g, thread); /* parts = group: task g is group g's channels */
  for (int k = g * j->xi; k < (g + 1) * j->xi; k++) gemm_task(&f, k, thread);
  t->output(&f, g, thread);
  if (atomic_load(&f.failed)) atomic_store((atomic_int *)&j->failed, 1);
}

/* How a forward convolution is split: (frame, group) units, one per task
 * with everything in the thread's own buffers, or chunks of @chunk frames
 * (or of @rows tile rows of one frame) through shared buffers. */
typedef struct {
  bool units;
  int chunk, rows;
} conv_plan;

static conv_plan plan_conv(cpu_backend *cb, const wino_job *j, int n, int out_c) {
  int threads = sr_pool_size(cb->pool), units = n * j->group;
  int channels = j->group * j->kg > out_c ? j->group * j->kg : out_c;
  size_t row_floats = (size_t)j->xi * channels * j->rs, frame_floats = row_floats * j->th;
  conv_plan pl = {false, 1, j->th};
  if ((units >= 2 * threads || (units >= threads && units % threads == 0)) && frame_floats <= 4 * WINO_CHUNK_FLOATS) {
    pl.units = true;
    return pl;
  }
  int th_all = j->th, rows = frame_floats <= WINO_CHUNK_FLOATS ? th_all : (int)(WINO_CHUNK_FLOATS / row_floats);
  if (rows * j->rs < MIN_CHUNK_TILES) rows = (MIN_CHUNK_TILES + j->rs - 1) / j->rs; /* GEMMs wide enough */
  if (rows >= th_all) rows = th_all;
  else rows = (th_all + (th_all + rows - 1) / rows - 1) / ((th_all + rows - 1) / rows); /* even chunks */
  pl.rows = rows;
  pl.chunk = rows < th_all ? 1 : frames_per_chunk(j, n, channels);
  return pl;
}

static void conv_job_init(wino_job *j, cpu_backend *cb, int group, int ksize, int pad, const sr_tensor *x, int in_c,
                          int out_c, int oh, int ow, int m) {
  *j = (wino_job){.cb = cb, .group = group, .icg = in_c / group, .ocg = out_c / group, .sub = sub_kernels(ksize)};
  j->kg = j->sub * j->sub * j->icg;
  set_geometry(j, x, pad, oh, ow, m);
}

/* Multiply-adds of a plan's GEMMs (per output channel and input channel),
 * counting the columns the micro-kernel computes: N rounded up to its
 * panel width. */
static double plan_cost(const cpu_backend *cb, const wino_job *j, const conv_plan *pl, int n) {
  if (pl->units) return (double)j->xi * n * sr__gemm_cols(cb->gemm, j->tiles);
  if (pl->rows < j->th) { /* row chunks of single frames */
    int chunks = (j->th + pl->rows - 1) / pl->rows;
    return (double)j->xi * n * chunks * sr__gemm_cols(cb->gemm, pl->rows * j->rs);
  }
  int chunks = (n + pl->chunk - 1) / pl->chunk;
  return (double)j->xi * chunks * sr__gemm_cols(cb->gemm, pl->chunk * j->tiles);
}

/* Filters transformed per call (training) cost more at 36 points, and the
 * 6×6 input transform runs shorter vectors: below this many F(2×2) tiles
 * per call, F(4×4) loses there although its GEMMs are smaller (conv6-8
 * training step, batch 16 at 13×13: 15.0 ms with F(2×2), 15.6 with F(4×4),
 * alternating, AMD EPYC avx512). */
#define UNCACHED_MIN_TILES 2048

int sr__cpu_winograd_tile(cpu_backend *cb, const sr_conv_params *p, int n, int oh, int ow, bool cached) {
  if (cb->wino_tile) return cb->wino_tile;
  if (!cached && (size_t)n * ((oh + 1) / 2) * ((ow + 1) / 2 + 1) < UNCACHED_MIN_TILES) return 2;
  double cost[2];
  for (int i = 0; i < 2; i++) {
    wino_job j;
    conv_job_init(&j, cb, p->group, p->kh, p->pad, NULL, p->in_c, p->out_c, oh, ow, 2 + 2 * i);
    conv_plan pl = plan_conv(cb, &j, n, p->out_c);
    cost[i] = plan_cost(cb, &j, &pl, n);
  }
  return cost[1] < cost[0] ? 4 : 2;
}

/* y = conv(x) with transformed filters U (in_c = x->c, out_c = y->c). */
sr_status sr__cpu_winograd_conv(cpu_backend *cb, int group, int ksize, int pad, int m, const sr_tensor *x,
                                const float *U, const float *bias, bool relu, sr_tensor *y) {
  sr__cpu_blas_single();
  wino_job j;
  conv_job_init(&j, cb, group, ksize, pad, x, x->c, y->c, y->h, y->w, m);
  j.U = U, j.y = y, j.bias = bias, j.relu = relu;
  conv_plan pl = plan_conv(cb, &j, x->n, y->c);
  if (pl.units) {
    sr_pool_run(cb->pool, x->n * group, unit_task, &j);
    return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
  }
  int th_all = j.th, rows = pl.rows;
  for (j.f0 = 0; j.f0 < x->n; j.f0 += j.nf)
    for (int ty0 = 0; ty0 < th_all; ty0 += rows) {
      j.ty0 = ty0, j.th = th_all - ty0 < rows ? th_all - ty0 : rows, j.tiles = j.th * j.rs;
      if (chunk_input(&j, pl.chunk, y->c) != SR_OK) return SR_ERR_NOMEM;
      sr_pool_run(cb->pool, group * j.xi, gemm_task, &j);
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
  size_t xs = j->mxs;
  for (int c = c0; c < c1; c++) {
    int g = c / j->ocg, oc = c % j->ocg;
    const float *in = dy->data + ((size_t)(j->f0 + f) * dy->c + c) * dy->h * dy->w;
    float *out = j->M + (size_t)g * j->xi * j->mxs + (size_t)oc * j->T + (size_t)f * j->tiles;
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
  if (!sr__cpu_gemm(j->cb, thread, SR_GEMM_TB, j->ocg, j->icg, (int)j->T, j->M + (size_t)task * j->mxs,
                    (int)j->T, j->V + (size_t)task * j->vxs, (int)j->T, j->accumulate ? 1.f : 0.f,
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
  if (!frame_job(j, thread, 1, j->dy->c, false, &f)) return;
  f.Uw = u->D + (size_t)task * u->count;
  f.accumulate = false;
  for (f.f0 = task; f.f0 < j->x->n; f.f0 += u->P) {
    tasks(j->cb)->input(&f, 0, thread);
    tasks(j->cb)->grad_input(&f, 0, thread);
    for (int k = 0; k < f.group * f.xi; k++) grad_gemm_task(&f, k, thread);
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
    const float *src = j->Uw + ((size_t)g * j->xi * j->ocg + oc) * j->icg;
    size_t xs = (size_t)j->ocg * j->icg;
    for (int ic = 0; ic < j->icg; ic++) {
      float m[16];
      for (int k = 0; k < j->xi; k++) m[k] = src[k * xs + ic];
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
  set_geometry(&j, x, p->pad, dy->h, dy->w, 2);
  j.Uw = sr__cpu_workspace(cb, CPU_WS_WINO, sr__cpu_winograd_filter_count(p));
  if (!j.Uw) return SR_ERR_NOMEM;
  int threads = sr_pool_size(cb->pool), channels = x->c > dy->c ? x->c : dy->c;
  size_t count = sr__cpu_winograd_filter_count(p);
  if (x->n >= 2 * threads && (size_t)j.xi * channels * j.tiles <= 4 * WINO_CHUNK_FLOATS) {
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
      sr_pool_run(cb->pool, p->group * j.xi, grad_gemm_task, &j);
    }
  }
  int n_out = p->out_c;
  j.wparts = 4 * sr_pool_size(cb->pool) < n_out ? 4 * sr_pool_size(cb->pool) : n_out;
  sr_pool_run(cb->pool, j.wparts, grad_output_task, &j);
  return atomic_load(&j.failed) ? SR_ERR_NOMEM : SR_OK;
}
