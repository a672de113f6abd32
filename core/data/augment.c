/* augment.c: one random scale + crop + flip + jitter per call, sampling the
 * source image directly (bilinear for pixels, nearest for labels), so no
 * scaled copy is ever made. */
#include "augment.h"

#include <stddef.h>

void sr_augment(const sr_image *img, const sr_image *lab, const sr_augment_params *p, const float mean_bgr[3],
                int void_label, sr_rng *rng, float *input, uint8_t *labels) {
  double s = p->scale_min + (p->scale_max - p->scale_min) * sr_rng_uniform(rng);
  int sw = (int)(img->width * s + 0.5), sh = (int)(img->height * s + 0.5);
  /* Crop origin in scaled coordinates; negative when the crop is larger. */
  int ox = sw > p->crop_w ? (int)(sr_rng_uniform(rng) * (sw - p->crop_w + 1)) : -(int)(sr_rng_uniform(rng) * (p->crop_w - sw + 1));
  int oy = sh > p->crop_h ? (int)(sr_rng_uniform(rng) * (sh - p->crop_h + 1)) : -(int)(sr_rng_uniform(rng) * (p->crop_h - sh + 1));
  int flip = p->flip && sr_rng_uniform(rng) < 0.5;
  float gain = 1.f + p->jitter * (float)(2 * sr_rng_uniform(rng) - 1);
  float bias = 40.f * p->jitter * (float)(2 * sr_rng_uniform(rng) - 1);
  size_t plane = (size_t)p->crop_w * p->crop_h;
  double inv = 1.0 / s;
  for (int y = 0; y < p->crop_h; y++) {
    int ys = oy + y;
    double fy = (ys + 0.5) * inv - 0.5;
    if (fy < 0) fy = 0;
    int y0 = (int)fy, y1 = y0 + 1 < img->height ? y0 + 1 : y0;
    if (y0 > img->height - 1) y0 = y1 = img->height - 1;
    float ty = (float)(fy - y0);
    int ly = (int)((ys + 0.5) * inv);
    for (int x = 0; x < p->crop_w; x++) {
      int xo = flip ? p->crop_w - 1 - x : x;
      size_t at = (size_t)y * p->crop_w + xo;
      int xs = ox + x;
      if (ys < 0 || ys >= sh || xs < 0 || xs >= sw) {
        for (int c = 0; c < 3; c++) input[c * plane + at] = 0; /* mean colour after subtraction */
        labels[at] = (uint8_t)void_label;
        continue;
      }
      double fx = (xs + 0.5) * inv - 0.5;
      if (fx < 0) fx = 0;
      int x0 = (int)fx, x1 = x0 + 1 < img->width ? x0 + 1 : x0;
      if (x0 > img->width - 1) x0 = x1 = img->width - 1;
      float tx = (float)(fx - x0);
      const uint8_t *r0 = img->data + (size_t)y0 * img->width * 3, *r1 = img->data + (size_t)y1 * img->width * 3;
      for (int c = 0; c < 3; c++) {
        int src = 2 - c; /* BGR from RGB */
        float a = r0[x0 * 3 + src] + tx * (r0[x1 * 3 + src] - r0[x0 * 3 + src]);
        float b = r1[x0 * 3 + src] + tx * (r1[x1 * 3 + src] - r1[x0 * 3 + src]);
        float v = (a + ty * (b - a)) * gain + bias;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        input[c * plane + at] = v - mean_bgr[c];
      }
      int lx = (int)((xs + 0.5) * inv);
      if (lx >= lab->width) lx = lab->width - 1;
      labels[at] = lab->data[(size_t)(ly < lab->height ? ly : lab->height - 1) * lab->width + lx];
    }
  }
}
