/* im2col.c: convolution windows to GEMM columns, zero outside the image. */
#include "im2col.h"

#include <string.h>

void sr__im2col(const float *in, int channels, int h, int w, int kh, int kw, int stride, int pad, int oh, int ow,
                float *col) {
  for (int c = 0; c < channels; c++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        float *row = col + (((size_t)c * kh + ky) * kw + kx) * oh * ow;
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
