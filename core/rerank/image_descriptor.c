/* image_descriptor.c: conv5 mean + max pooling into one vector per image. */
#include "image_descriptor.h"

void sr_image_descriptor(const sr_tensor *conv5, int n, float *out) {
  const int C = conv5->c;
  const size_t hw = (size_t)conv5->h * conv5->w;
  const float *base = conv5->data + (size_t)n * C * hw;
  for (int c = 0; c < C; c++) {
    const float *p = base + c * hw;
    double sum = 0;
    float top = hw ? p[0] : 0;
    for (size_t i = 0; i < hw; i++) {
      sum += p[i];
      if (p[i] > top) top = p[i];
    }
    out[c] = hw ? (float)(sum / hw) : 0;
    out[C + c] = top;
  }
}
