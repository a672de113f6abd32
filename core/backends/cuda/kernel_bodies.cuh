/* kernel_bodies.cuh: the CUDA backend's per-element kernel bodies. Each is
 * a __host__ __device__ function of one output element's index, so that
 * kernels.cu runs the very same body on the GPU (one thread per index) and
 * in a host loop (the backend's host mode, what the tests compare with ref
 * when no GPU is present). Tensors are NCHW floats; geometry as in
 * backend.h. Arithmetic is float, as on the GPU. */
#ifndef SR_CUDA_KERNEL_BODIES_CUH
#define SR_CUDA_KERNEL_BODIES_CUH

#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"

#define SR_HD __host__ __device__ static inline

/* col[n][(ic·kh + ky)·kw + kx][oy·ow + ox] of group g's input channels, for
 * every image: index i runs over n × icg·kh·kw × oh·ow. */
SR_HD void sr_cuda_im2col_body(size_t i, const sr_cuda_conv *p, int g, const float *x, float *col) {
  size_t P = (size_t)p->oh * p->ow, K = (size_t)p->icg * p->kh * p->kw;
  size_t pix = i % P, k = (i / P) % K, n = i / (P * K);
  int ox = (int)(pix % p->ow), oy = (int)(pix / p->ow);
  int kx = (int)(k % p->kw), ky = (int)((k / p->kw) % p->kh), ic = (int)(k / ((size_t)p->kw * p->kh));
  int iy = oy * p->stride - p->pad + ky, ix = ox * p->stride - p->pad + kx;
  float v = 0.f;
  if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w)
    v = x[(((size_t)n * p->c + (size_t)g * p->icg + ic) * p->h + iy) * p->w + ix];
  col[i] = v;
}

/* The adjoint of im2col: dx of group g's channels at input element i (over
 * n × icg × h × w) sums the column entries that read it. Written, not
 * accumulated: each input element has one thread. */
SR_HD void sr_cuda_col2im_body(size_t i, const sr_cuda_conv *p, int g, const float *col, float *dx) {
  size_t P = (size_t)p->oh * p->ow, K = (size_t)p->icg * p->kh * p->kw;
  int ix = (int)(i % p->w), iy = (int)((i / p->w) % p->h);
  int ic = (int)((i / ((size_t)p->w * p->h)) % p->icg);
  size_t n = i / ((size_t)p->w * p->h * p->icg);
  float acc = 0.f;
  for (int ky = 0; ky < p->kh; ky++) {
    int ty = iy + p->pad - ky;
    if (ty < 0 || ty % p->stride) continue;
    int oy = ty / p->stride;
    if (oy >= p->oh) continue;
    for (int kx = 0; kx < p->kw; kx++) {
      int tx = ix + p->pad - kx;
      if (tx < 0 || tx % p->stride) continue;
      int ox = tx / p->stride;
      if (ox >= p->ow) continue;
      size_t k = ((size_t)ic * p->kh + ky) * p->kw + kx;
      acc += col[(n * K + k) * P + (size_t)oy * p->ow + ox];
    }
  }
  dx[(((size_t)n * p->c + (size_t)g * p->icg + ic) * p->h + iy) * p->w + ix] = acc;
}

/* y += bias[channel], then ReLU when asked; i over the whole output. */
SR_HD void sr_cuda_bias_relu_body(size_t i, int c, size_t plane, const float *bias, int relu, float *y) {
  float v = y[i];
  if (bias) v += bias[(i / plane) % c];
  if (relu && v < 0.f) v = 0.f;
  y[i] = v;
}

SR_HD void sr_cuda_relu_body(size_t i, float *x) {
  if (x[i] < 0.f) x[i] = 0.f;
}

/* The window of output (oy, ox) clipped to the input; empty when it lies in
 * the padding only. */
SR_HD int sr_cuda_pool_window(const sr_cuda_pool *p, int oy, int ox, int *y0, int *y1, int *x0, int *x1) {
  *y0 = oy * p->stride - p->pad, *x0 = ox * p->stride - p->pad;
  *y1 = *y0 + p->kernel, *x1 = *x0 + p->kernel;
  if (*y0 < 0) *y0 = 0;
  if (*x0 < 0) *x0 = 0;
  if (*y1 > p->h) *y1 = p->h;
  if (*x1 > p->w) *x1 = p->w;
  return *y0 < *y1 && *x0 < *x1;
}

/* Offset within the plane of the window's first maximum (row-major scan,
 * strictly greater replaces: ref's tie rule), or -1 for an empty window. */
SR_HD long sr_cuda_pool_argmax(const sr_cuda_pool *p, const float *plane, int oy, int ox) {
  int y0, y1, x0, x1;
  if (!sr_cuda_pool_window(p, oy, ox, &y0, &y1, &x0, &x1)) return -1;
  long best = (long)y0 * p->w + x0;
  float m = plane[best];
  for (int iy = y0; iy < y1; iy++)
    for (int ix = x0; ix < x1; ix++) {
      long at = (long)iy * p->w + ix;
      if (plane[at] > m) m = plane[at], best = at;
    }
  return best;
}

/* i over n·c × oh × ow. */
SR_HD void sr_cuda_maxpool_body(size_t i, const sr_cuda_pool *p, const float *x, float *y) {
  int ox = (int)(i % p->ow), oy = (int)((i / p->ow) % p->oh);
  size_t nc = i / ((size_t)p->ow * p->oh);
  const float *plane = x + nc * p->h * p->w;
  long at = sr_cuda_pool_argmax(p, plane, oy, ox);
  y[i] = at < 0 ? 0.f : plane[at]; /* empty window: 0, as ref */
}

/* dx at input element i (over n·c × h × w): the gradients of the windows
 * whose first maximum it is (a gather, so no atomics and the same sum order
 * on host and GPU). */
SR_HD void sr_cuda_maxpool_backward_body(size_t i, const sr_cuda_pool *p, const float *x, const float *dy,
                                         float *dx) {
  int ix = (int)(i % p->w), iy = (int)((i / p->w) % p->h);
  size_t nc = i / ((size_t)p->w * p->h);
  const float *plane = x + nc * p->h * p->w;
  long self = (long)iy * p->w + ix;
  /* Windows covering (iy, ix): oy·stride − pad ≤ iy < oy·stride − pad + kernel. */
  int oy_lo = (iy + p->pad - p->kernel) / p->stride + 1, oy_hi = (iy + p->pad) / p->stride;
  int ox_lo = (ix + p->pad - p->kernel) / p->stride + 1, ox_hi = (ix + p->pad) / p->stride;
  if (iy + p->pad - p->kernel < 0) oy_lo = 0;
  if (ix + p->pad - p->kernel < 0) ox_lo = 0;
  if (oy_hi >= p->oh) oy_hi = p->oh - 1;
  if (ox_hi >= p->ow) ox_hi = p->ow - 1;
  float acc = 0.f;
  for (int oy = oy_lo; oy <= oy_hi; oy++)
    for (int ox = ox_lo; ox <= ox_hi; ox++)
      if (sr_cuda_pool_argmax(p, plane, oy, ox) == self) acc += dy[(nc * p->oh + oy) * p->ow + ox];
  dx[i] = acc;
}

/* k + α/size · Σ x² over the channel window of channel c at @base (the
 * element of channel 0 at this pixel). */
SR_HD float sr_cuda_lrn_scale(const sr_cuda_lrn *p, const float *x, size_t base, int c) {
  int pre = (p->size - 1) / 2;
  float sum = 0.f;
  for (int j = c - pre; j < c - pre + p->size; j++)
    if (j >= 0 && j < p->c) {
      float v = x[base + (size_t)j * p->plane];
      sum += v * v;
    }
  return p->k + p->alpha / p->size * sum;
}

/* i over n × c × plane. */
SR_HD void sr_cuda_lrn_body(size_t i, const sr_cuda_lrn *p, const float *x, float *y) {
  size_t pix = i % p->plane, c = (i / p->plane) % p->c, n = i / (p->plane * p->c);
  size_t base = n * p->c * p->plane + pix;
  y[i] = x[i] * powf(sr_cuda_lrn_scale(p, x, base, (int)c), -p->beta);
}

/* Caffe's LRN gradient, as ref: dx_c = dy_c·s_c^-β − (2αβ/size)·x_c·Σ_{j∈win(c)} dy_j·y_j/s_j. */
SR_HD void sr_cuda_lrn_backward_body(size_t i, const sr_cuda_lrn *p, const float *x, const float *y,
                                     const float *dy, float *dx) {
  size_t pix = i % p->plane, n = i / (p->plane * p->c);
  int c = (int)((i / p->plane) % p->c), pre = (p->size - 1) / 2;
  size_t base = n * p->c * p->plane + pix;
  float acc = 0.f;
  for (int j = c - pre; j < c - pre + p->size; j++)
    if (j >= 0 && j < p->c) {
      size_t at = base + (size_t)j * p->plane;
      acc += dy[at] * y[at] / sr_cuda_lrn_scale(p, x, base, j);
    }
  dx[i] = dy[i] * powf(sr_cuda_lrn_scale(p, x, base, c), -p->beta) -
          2.f * p->alpha * p->beta / p->size * x[i] * acc;
}

/* Softmax over channels at pixel i (over n × plane). */
SR_HD void sr_cuda_softmax_body(size_t i, int c, size_t plane, const float *x, float *y) {
  size_t n = i / plane, pix = i % plane;
  const float *in = x + n * c * plane + pix;
  float *out = y + n * c * plane + pix;
  float m = -FLT_MAX, sum = 0.f;
  for (int k = 0; k < c; k++) m = fmaxf(m, in[k * plane]);
  for (int k = 0; k < c; k++) sum += expf(in[k * plane] - m);
  for (int k = 0; k < c; k++) out[k * plane] = expf(in[k * plane] - m) / sum;
}

SR_HD void sr_cuda_fill_body(size_t i, float v, float *x) { x[i] = v; }

#endif
