/* ref.c: the reference backend. Plain loops with double accumulators, written
 * for clarity and never optimised: it is the oracle every other backend is
 * tested against. */
#include <float.h>
#include <stdbool.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>

#include "../backend_impl.h"

static sr_status ref_conv2d(sr_backend *b, const sr_conv_params *p, const sr_tensor *x, const float *w,
                            const float *bias, sr_tensor *y) {
  (void)b;
  int icg = p->in_c / p->group, ocg = p->out_c / p->group;
  for (int n = 0; n < y->n; n++)
    for (int oc = 0; oc < p->out_c; oc++) {
      int g = oc / ocg;
      for (int oy = 0; oy < y->h; oy++)
        for (int ox = 0; ox < y->w; ox++) {
          double acc = bias ? bias[oc] : 0.0;
          for (int ic = 0; ic < icg; ic++)
            for (int ky = 0; ky < p->kh; ky++) {
              int iy = oy * p->stride - p->pad + ky;
              if (iy < 0 || iy >= x->h) continue;
              for (int kx = 0; kx < p->kw; kx++) {
                int ix = ox * p->stride - p->pad + kx;
                if (ix < 0 || ix >= x->w) continue;
                double xv = x->data[(((size_t)n * x->c + g * icg + ic) * x->h + iy) * x->w + ix];
                double wv = w[(((size_t)oc * icg + ic) * p->kh + ky) * p->kw + kx];
                acc += xv * wv;
              }
            }
          if (p->relu && acc < 0) acc = 0;
          y->data[(((size_t)n * y->c + oc) * y->h + oy) * y->w + ox] = (float)acc;
        }
    }
  return SR_OK;
}

static sr_status ref_relu(sr_backend *b, sr_tensor *x) {
  (void)b;
  size_t count = sr_tensor_count(x);
  for (size_t i = 0; i < count; i++)
    if (x->data[i] < 0) x->data[i] = 0;
  return SR_OK;
}

static sr_status ref_maxpool(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, sr_tensor *y) {
  (void)b;
  for (int n = 0; n < y->n; n++)
    for (int c = 0; c < y->c; c++)
      for (int oy = 0; oy < y->h; oy++)
        for (int ox = 0; ox < y->w; ox++) {
          int y0 = oy * p->stride - p->pad, x0 = ox * p->stride - p->pad;
          float m = -FLT_MAX;
          bool any = false;
          for (int iy = y0; iy < y0 + p->kernel; iy++)
            for (int ix = x0; ix < x0 + p->kernel; ix++) {
              if (iy < 0 || iy >= x->h || ix < 0 || ix >= x->w) continue;
              float v = x->data[(((size_t)n * x->c + c) * x->h + iy) * x->w + ix];
              if (v > m) m = v;
              any = true;
            }
          y->data[(((size_t)n * y->c + c) * y->h + oy) * y->w + ox] = any ? m : 0.f; /* empty window: 0 */
        }
  return SR_OK;
}

static sr_status ref_lrn(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, sr_tensor *y) {
  (void)b;
  int pre = (p->size - 1) / 2;
  size_t plane = (size_t)x->h * x->w;
  for (int n = 0; n < x->n; n++)
    for (int c = 0; c < x->c; c++)
      for (size_t i = 0; i < plane; i++) {
        double sum = 0;
        for (int j = c - pre; j < c - pre + p->size; j++) {
          if (j < 0 || j >= x->c) continue;
          double v = x->data[((size_t)n * x->c + j) * plane + i];
          sum += v * v;
        }
        double scale = p->k + p->alpha / p->size * sum;
        size_t at = ((size_t)n * x->c + c) * plane + i;
        y->data[at] = (float)(x->data[at] * pow(scale, -p->beta));
      }
  return SR_OK;
}

static sr_status ref_softmax(sr_backend *b, const sr_tensor *x, sr_tensor *y) {
  (void)b;
  size_t plane = (size_t)x->h * x->w;
  for (int n = 0; n < x->n; n++)
    for (size_t i = 0; i < plane; i++) {
      const float *in = x->data + (size_t)n * x->c * plane + i;
      float *out = y->data + (size_t)n * x->c * plane + i;
      double m = -DBL_MAX, sum = 0;
      for (int c = 0; c < x->c; c++) m = fmax(m, in[c * plane]);
      for (int c = 0; c < x->c; c++) sum += exp(in[c * plane] - m);
      for (int c = 0; c < x->c; c++) out[c * plane] = (float)(exp(in[c * plane] - m) / sum);
    }
  return SR_OK;
}

static sr_status ref_conv2d_backward(sr_backend *b, const sr_conv_params *p, const sr_tensor *x, const float *w,
                                     const sr_tensor *dy, sr_tensor *dx, float *dw, float *db) {
  (void)b;
  int icg = p->in_c / p->group, ocg = p->out_c / p->group;
  size_t wcount = (size_t)p->out_c * icg * p->kh * p->kw;
  double *gw = calloc(wcount, sizeof(double)), *gx = dx ? calloc(sr_tensor_count(dx), sizeof(double)) : NULL;
  for (int oc = 0; oc < p->out_c; oc++) {
    double gb = 0;
    for (int n = 0; n < dy->n; n++)
      for (int i = 0; i < dy->h * dy->w; i++) gb += dy->data[((size_t)n * dy->c + oc) * dy->h * dy->w + i];
    db[oc] = (float)gb;
  }
  for (int n = 0; n < dy->n; n++)
    for (int oc = 0; oc < p->out_c; oc++) {
      int g = oc / ocg;
      for (int oy = 0; oy < dy->h; oy++)
        for (int ox = 0; ox < dy->w; ox++) {
          double d = dy->data[(((size_t)n * dy->c + oc) * dy->h + oy) * dy->w + ox];
          if (d == 0) continue;
          for (int ic = 0; ic < icg; ic++)
            for (int ky = 0; ky < p->kh; ky++) {
              int iy = oy * p->stride - p->pad + ky;
              if (iy < 0 || iy >= x->h) continue;
              for (int kx = 0; kx < p->kw; kx++) {
                int ix = ox * p->stride - p->pad + kx;
                if (ix < 0 || ix >= x->w) continue;
                size_t xi = (((size_t)n * x->c + g * icg + ic) * x->h + iy) * x->w + ix;
                size_t wi = (((size_t)oc * icg + ic) * p->kh + ky) * p->kw + kx;
                gw[wi] += d * x->data[xi];
                if (gx) gx[xi] += d * w[wi];
              }
            }
        }
    }
  for (size_t i = 0; i < wcount; i++) dw[i] = (float)gw[i];
  if (dx)
    for (size_t i = 0; i < sr_tensor_count(dx); i++) dx->data[i] = (float)gx[i];
  free(gw);
  free(gx);
  return SR_OK;
}

static sr_status ref_maxpool_backward(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, const sr_tensor *dy,
                                      sr_tensor *dx) {
  (void)b;
  for (size_t i = 0; i < sr_tensor_count(dx); i++) dx->data[i] = 0;
  for (int n = 0; n < dy->n; n++)
    for (int c = 0; c < dy->c; c++)
      for (int oy = 0; oy < dy->h; oy++)
        for (int ox = 0; ox < dy->w; ox++) {
          int y0 = oy * p->stride - p->pad, x0 = ox * p->stride - p->pad;
          size_t best = SIZE_MAX;
          float m = -FLT_MAX;
          for (int iy = y0; iy < y0 + p->kernel; iy++)
            for (int ix = x0; ix < x0 + p->kernel; ix++) {
              if (iy < 0 || iy >= x->h || ix < 0 || ix >= x->w) continue;
              size_t at = (((size_t)n * x->c + c) * x->h + iy) * x->w + ix;
              if (best == SIZE_MAX || x->data[at] > m) m = x->data[at], best = at;
            }
          if (best == SIZE_MAX) continue; /* an empty window: no gradient */
          dx->data[best] += dy->data[(((size_t)n * dy->c + c) * dy->h + oy) * dy->w + ox];
        }
  return SR_OK;
}

/* Caffe's LRN gradient: dx_i = dy_i·s_i^-β − (2αβ/n)·x_i·Σ_{j: i∈win(j)} dy_j·y_j/s_j. */
static sr_status ref_lrn_backward(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, const sr_tensor *y,
                                  const sr_tensor *dy, sr_tensor *dx) {
  (void)b;
  int pre = (p->size - 1) / 2;
  size_t plane = (size_t)x->h * x->w;
  for (int n = 0; n < x->n; n++)
    for (size_t i = 0; i < plane; i++) {
      const size_t base = (size_t)n * x->c * plane + i;
      double *scale = malloc(sizeof(double) * x->c);
      for (int c = 0; c < x->c; c++) {
        double sum = 0;
        for (int j = c - pre; j < c - pre + p->size; j++)
          if (j >= 0 && j < x->c) sum += (double)x->data[base + j * plane] * x->data[base + j * plane];
        scale[c] = p->k + p->alpha / p->size * sum;
      }
      for (int c = 0; c < x->c; c++) {
        double acc = 0;
        for (int j = c - pre; j < c - pre + p->size; j++) /* symmetric window: i ∈ win(j) ⇔ j ∈ win(i) */
          if (j >= 0 && j < x->c) acc += (double)dy->data[base + j * plane] * y->data[base + j * plane] / scale[j];
        dx->data[base + c * plane] =
            (float)(dy->data[base + c * plane] * pow(scale[c], -p->beta) -
                    2.0 * p->alpha * p->beta / p->size * x->data[base + c * plane] * acc);
      }
      free(scale);
    }
  return SR_OK;
}

static void ref_destroy(sr_backend *b) { free(b); }

static const struct sr_backend_ops ref_ops = {
    .name = "ref",
    .alloc = sr__host_alloc,
    .release = sr__host_release,
    .upload = sr__host_copy,
    .download = sr__host_copy,
    .conv2d = ref_conv2d,
    .relu = ref_relu,
    .maxpool = ref_maxpool,
    .lrn = ref_lrn,
    .softmax = ref_softmax,
    .conv2d_backward = ref_conv2d_backward,
    .maxpool_backward = ref_maxpool_backward,
    .lrn_backward = ref_lrn_backward,
    .destroy = ref_destroy,
};

sr_status sr__backend_ref_new(int threads, sr_backend **out, sr_error *err) {
  sr_backend *b = calloc(1, sizeof *b);
  if (!b) return sr_error_set(err, SR_ERR_NOMEM, "ref backend: out of memory");
  b->ops = &ref_ops;
  b->threads = threads;
  *out = b;
  return SR_OK;
}
