/* im2col.c: convolution windows to GEMM columns, zero outside the image. */
#include "im2col.h"

#include <string.h>

void sr__im2col(const float *in, int channels, int h, int w, int kh, int kw, int stride, int pad, int oh, int ow,
                float *col, size_t ld) {
  for (int c = 0; c < channels; c++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        float *row = col + (((size_t)c * kh + ky) * kw + kx) * ld;
        for (int oy = 0; oy < oh; oy++) {
          int iy = oy * stride - pad + ky;
          float *dst = row + (size_t)oy * ow;
          if (iy < 0 || iy >= h) {
            memset(dst, 0, ow * sizeof(float));
            continue;
          }
          const float *src = in + ((size_t)c * h + iy) * w;
          if (stride == 1) {
            /* Contiguous run with zero borders. */
            int lo = pad - kx, hi = w + pad - kx; /* valid ox in [lo, hi) */
            if (lo < 0) lo = 0;
            if (hi > ow) hi = ow;
            for (int ox = 0; ox < lo && ox < ow; ox++) dst[ox] = 0;
            if (hi > lo) memcpy(dst + lo, src + lo - pad + kx, (hi - lo) * sizeof(float));
            for (int ox = hi > lo ? hi : lo; ox < ow; ox++) dst[ox] = 0;
          } else {
            for (int ox = 0; ox < ow; ox++) {
              int ix = ox * stride - pad + kx;
              dst[ox] = (ix >= 0 && ix < w) ? src[ix] : 0.f;
            }
          }
        }
      }
}

void sr__col2im(const float *col, int channels, int h, int w, int kh, int kw, int stride, int pad, int oh, int ow,
                float *im) {
  memset(im, 0, sizeof(float) * channels * h * w);
  for (int c = 0; c < channels; c++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        const float *row = col + (((size_t)c * kh + ky) * kw + kx) * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
          int iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= h) continue;
          float *dst = im + ((size_t)c * h + iy) * w;
          const float *src = row + (size_t)oy * ow;
          for (int ox = 0; ox < ow; ox++) {
            int ix = ox * stride - pad + kx;
            if (ix >= 0 && ix < w) dst[ix] += src[ox];
          }
        }
      }
}

void sr__im2col_cols(const float *in, int channels, int h, int w, int kh, int kw, int stride, int pad, int oh, int ow,
                     int p0, int p1, float *col) {
  (void)oh;
  const int n = p1 - p0;
  for (int c = 0; c < channels; c++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        float *dst = col + (((size_t)c * kh + ky) * kw + kx) * n;
        const float *plane = in + (size_t)c * h * w;
        /* Walk the range one output row segment at a time. */
        for (int p = p0; p < p1;) {
          int oy = p / ow, ox0 = p % ow, ox1 = ow;
          if (oy * ow + ox1 > p1) ox1 = p1 - oy * ow;
          float *d = dst + (p - p0);
          int iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= h) {
            memset(d, 0, (ox1 - ox0) * sizeof(float));
          } else {
            /* Output columns whose input column ox·stride − pad + kx lies in
             * [0, w): [lo, hi); zeros outside, a branch-free copy inside. */
            const float *src = plane + (size_t)iy * w - pad + kx;
            int lo = pad - kx > 0 ? (pad - kx + stride - 1) / stride : 0;
            int hi = (w - 1 + pad - kx) >= 0 ? (w - 1 + pad - kx) / stride + 1 : 0;
            if (lo < ox0) lo = ox0;
            if (hi > ox1) hi = ox1;
            if (hi < lo) hi = lo;
            for (int ox = ox0; ox < lo; ox++) d[ox - ox0] = 0.f;
            if (stride == 1) {
              if (hi > lo) memcpy(d + lo - ox0, src + lo, (hi - lo) * sizeof(float));
            } else {
              for (int ox = lo; ox < hi; ox++) d[ox - ox0] = src[ox * stride];
            }
            for (int ox = hi; ox < ox1; ox++) d[ox - ox0] = 0.f;
          }
          p += ox1 - ox0;
        }
      }
}
