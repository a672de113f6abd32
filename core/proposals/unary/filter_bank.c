/* filter_bank.c: the pixel filters of the unary features, all separable
 * Gaussian-family kernels (radius ⌈3σ⌉, borders replicated), computed one
 * output row at a time so threads can take bands of rows:
 *  - the 17-filter TextonBoost bank (Shotton et al. 2006) on CIE Lab at every
 *    SR_TEXTON_STEP-th pixel of every SR_TEXTON_STEP-th row: Gaussians σ 1, 2, 4
 *    on L, a and b (responses 0–8), Laplacians of Gaussian σ 1, 2, 4, 8 on L
 *    (9–12), x derivatives of Gaussian σ 2, 4 on L (13–14), y derivatives (15–16);
 *  - the gradient of L smoothed at σ 1 and σ 3 at every pixel: magnitude and
 *    unsigned orientation in units of 20° bins.
 * Kernels are correlation kernels: order 1 gives the derivative (positive
 * for intensity rising with x or y), order 2 the second derivative (zero sum). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unary_internal.h"

#define MAX_RADIUS 24 /* σ 8 */
#define MAX_TAPS (2 * MAX_RADIUS + 1)
#define N_VERT 16     /* vertical passes of the bank */

int sr_gauss_kernel(float sigma, int order, float *k, int max_taps) {
  int r = (int)ceilf(3.0f * sigma);
  if (2 * r + 1 > max_taps) r = (max_taps - 1) / 2;
  double g[MAX_TAPS * 2], sum = 0;
  for (int t = -r; t <= r; t++) sum += g[t + r] = exp(-0.5 * t * t / ((double)sigma * sigma));
  double s2 = (double)sigma * sigma, mean2 = 0;
  for (int t = -r; t <= r; t++) {
    double v = g[t + r] / sum;
    if (order == 1) v *= t / s2;
    if (order == 2) v *= (t * t / s2 - 1.0) / s2;
    g[t + r] = v;
    mean2 += v;
  }
  /* Moments of the truncated kernel made exact: a flat input gives 0 for
   * orders 1 and 2, a unit ramp t gives 1 (order 1), a parabola t² gives
   * 2 (order 2). */
  double moment = 0;
  for (int t = -r; t <= r; t++) {
    if (order == 2) g[t + r] -= mean2 / (2 * r + 1);
    moment += order == 1 ? t * g[t + r] : order == 2 ? t * t * g[t + r] : 0;
  }
  double norm = order == 1 ? 1.0 / moment : order == 2 ? 2.0 / moment : 1.0;
  for (int t = -r; t <= r; t++) k[t + r] = (float)(g[t + r] * norm);
  return r;
}

typedef struct {
  float taps[MAX_TAPS];
  int r;
} kernel;

/* Vertical passes of the bank: which plane (0 L, 1 a, 2 b) and kernel. */
enum { VG1, VG2, VG4, VG8, VD2_1, VD2_2, VD2_4, VD2_8, VD1_2, VD1_4, VA1, VA2, VA4, VB1, VB2, VB4 };

struct sr_filter_scratch {
  int width, stride; /* stride: width + 2·MAX_RADIUS */
  kernel g[4], d2[4], d1[2];  /* σ 1, 2, 4, 8 | σ 1, 2, 4, 8 | σ 2, 4 */
  kernel gg[2], gd[2];        /* gradient: G and G' at σ 1, 3 */
  float *rows;                /* N_VERT padded rows */
};

sr_filter_scratch *sr_filter_scratch_new(int width) {
  sr_filter_scratch *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->width = width;
  s->stride = width + 2 * MAX_RADIUS;
  s->rows = malloc(sizeof(float) * (size_t)s->stride * N_VERT);
  if (!s->rows) {
    free(s);
    return NULL;
  }
  const float sig[4] = {1, 2, 4, 8};
  for (int i = 0; i < 4; i++) {
    s->g[i].r = sr_gauss_kernel(sig[i], 0, s->g[i].taps, MAX_TAPS);
    s->d2[i].r = sr_gauss_kernel(sig[i], 2, s->d2[i].taps, MAX_TAPS);
  }
  for (int i = 0; i < 2; i++) {
    s->d1[i].r = sr_gauss_kernel(sig[i + 1], 1, s->d1[i].taps, MAX_TAPS);
    float gs = i ? 3.0f : 1.0f;
    s->gg[i].r = sr_gauss_kernel(gs, 0, s->gg[i].taps, MAX_TAPS);
    s->gd[i].r = sr_gauss_kernel(gs, 1, s->gd[i].taps, MAX_TAPS);
  }
  return s;
}

void sr_filter_scratch_free(sr_filter_scratch *s) {
  if (!s) return;
  free(s->rows);
  free(s);
}

/* Row y of the vertical correlation of @img with @k into the padded row
 * @out (width values at out[MAX_RADIUS..], borders replicated). */
static SR_ALWAYS_INLINE void vertical(const float *img, int w, int h, int y, const kernel *k, float *out) {
  float *o = out + MAX_RADIUS;
  for (int x = 0; x < w; x++) o[x] = 0;
  for (int t = 0; t <= 2 * k->r; t++) {
    int yy = y + t - k->r;
    yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
    const float *src = img + (size_t)yy * w;
    const float kt = k->taps[t];
    for (int x = 0; x < w; x++) o[x] += kt * src[x];
  }
  for (int x = 0; x < MAX_RADIUS; x++) {
    out[x] = o[0];
    o[w + x] = o[w - 1];
  }
}

/* out[i] (+)= Σ_t k[t] · row[step·i + t − r] for i < n, @row padded. */
static SR_ALWAYS_INLINE void horizontal(const float *padded, const kernel *k, int step, int n, int accumulate, float *out) {
  const float *row = padded + MAX_RADIUS - k->r;
  if (!accumulate)
    for (int i = 0; i < n; i++) out[i] = 0;
  for (int t = 0; t <= 2 * k->r; t++) {
    const float kt = k->taps[t];
    const float *src = row + t;
    if (step == 1)
      for (int i = 0; i < n; i++) out[i] += kt * src[i];
    else
      for (int i = 0; i < n; i++) out[i] += kt * src[step * i];
  }
}

static SR_ALWAYS_INLINE void filter_bank_row(const float *L, const float *a, const float *b, int width, int height,
                                              int gy, sr_filter_scratch *s, float *resp) {
  const int y = gy * SR_TEXTON_STEP, gw = sr_texton_grid(width);
  float *row[N_VERT];
  for (int i = 0; i < N_VERT; i++) row[i] = s->rows + (size_t)i * s->stride;
  for (int i = 0; i < 4; i++) {
    vertical(L, width, height, y, &s->g[i], row[VG1 + i]);
    vertical(L, width, height, y, &s->d2[i], row[VD2_1 + i]);
  }
  for (int i = 0; i < 2; i++) vertical(L, width, height, y, &s->d1[i], row[VD1_2 + i]);
  for (int i = 0; i < 3; i++) {
    vertical(a, width, height, y, &s->g[i], row[VA1 + i]);
    vertical(b, width, height, y, &s->g[i], row[VB1 + i]);
  }
  /* Planar per-response rows first (vectorisable), then interleaved. */
  float tmp[SR_N_FILTERS][gw];
  for (int i = 0; i < 3; i++) {
    horizontal(row[VG1 + i], &s->g[i], SR_TEXTON_STEP, gw, 0, tmp[i]);
    horizontal(row[VA1 + i], &s->g[i], SR_TEXTON_STEP, gw, 0, tmp[3 + i]);
    horizontal(row[VB1 + i], &s->g[i], SR_TEXTON_STEP, gw, 0, tmp[6 + i]);
  }
  for (int i = 0; i < 4; i++) {
    horizontal(row[VG1 + i], &s->d2[i], SR_TEXTON_STEP, gw, 0, tmp[9 + i]);
    horizontal(row[VD2_1 + i], &s->g[i], SR_TEXTON_STEP, gw, 1, tmp[9 + i]);
  }
  for (int i = 0; i < 2; i++) {
    horizontal(row[VG2 + i], &s->d1[i], SR_TEXTON_STEP, gw, 0, tmp[13 + i]);
    horizontal(row[VD1_2 + i], &s->g[i + 1], SR_TEXTON_STEP, gw, 0, tmp[15 + i]);
  }
  for (int x = 0; x < gw; x++)
    for (int f = 0; f < SR_N_FILTERS; f++) resp[x * SR_N_FILTERS + f] = tmp[f][x];
}

SR_TARGET_AVX2 static void filter_bank_row_avx2(const float *L, const float *a, const float *b, int width, int height,
                                                int gy, sr_filter_scratch *s, float *resp) {
  filter_bank_row(L, a, b, width, height, gy, s, resp);
}
static void filter_bank_row_generic(const float *L, const float *a, const float *b, int width, int height, int gy,
                                    sr_filter_scratch *s, float *resp) {
  filter_bank_row(L, a, b, width, height, gy, s, resp);
}

void sr_filter_bank_row(const float *L, const float *a, const float *b, int width, int height, int gy,
                        sr_filter_scratch *s, float *resp) {
  (sr__cpu_isa() >= SR_CPU_ISA_AVX2 ? filter_bank_row_avx2 : filter_bank_row_generic)(L, a, b, width, height, gy, s,
                                                                                        resp);
}

/* Angle of (ax, ay), both ≥ 0, in [0, π/2]: a degree-9 odd polynomial for
 * atan on [0, 1] (error < 2e-5 rad) and the octant swap. */
static SR_ALWAYS_INLINE float first_quadrant_angle(float ax, float ay) {
  float mx = ax > ay ? ax : ay, mn = ax > ay ? ay : ax;
  float z = mx > 0 ? mn / mx : 0, z2 = z * z;
  float at = z * (0.9998660f + z2 * (-0.3302995f + z2 * (0.1801410f + z2 * (-0.0851330f + z2 * 0.0208351f))));
  return ay > ax ? 1.5707963f - at : at;
}

static SR_ALWAYS_INLINE void gradient_row(const float *L, int width, int height, int y, sr_filter_scratch *s,
                                           float *mag, float *ori) {
  float *vg = s->rows, *vd = s->rows + s->stride;
  float gx[width], gy[width];
  for (int sc = 0; sc < 2; sc++) {
    vertical(L, width, height, y, &s->gg[sc], vg);
    vertical(L, width, height, y, &s->gd[sc], vd);
    horizontal(vg, &s->gd[sc], 1, width, 0, gx);
    horizontal(vd, &s->gg[sc], 1, width, 0, gy);
    float *m = mag + (size_t)sc * width, *o = ori + (size_t)sc * width;
    for (int x = 0; x < width; x++) m[x] = sqrtf(gx[x] * gx[x] + gy[x] * gy[x]);
    for (int x = 0; x < width; x++) {
      /* Unsigned orientation: (gx, gy) and (−gx, −gy) are the same edge. */
      float sx = gy[x] < 0 ? -gx[x] : gx[x];
      float t = first_quadrant_angle(fabsf(gx[x]), fabsf(gy[x]));
      t = sx < 0 ? 3.14159265f - t : t;
      float bin = t * (9.0f / 3.14159265f);
      o[x] = bin >= 9.0f || bin < 0 ? 0.0f : bin;
    }
  }
}

SR_TARGET_AVX2 static void gradient_row_avx2(const float *L, int width, int height, int y, sr_filter_scratch *s,
                                             float *mag, float *ori) {
  gradient_row(L, width, height, y, s, mag, ori);
}
static void gradient_row_generic(const float *L, int width, int height, int y, sr_filter_scratch *s, float *mag,
                                 float *ori) {
  gradient_row(L, width, height, y, s, mag, ori);
}

void sr_gradient_row(const float *L, int width, int height, int y, sr_filter_scratch *s, float *mag, float *ori) {
  (sr__cpu_isa() >= SR_CPU_ISA_AVX2 ? gradient_row_avx2 : gradient_row_generic)(L, width, height, y, s, mag, ori);
}
