/* space_to_depth.c: strided convolutions as stride-1 3×3 ones, so they can
 * take the Winograd path. With stride s, input pixel (s·Y + dy, s·X + dx) of
 * channel c becomes pixel (Y, X) of channel c·s² + dy·s + dx, and a k × k
 * kernel with ⌈k/s⌉ = 3 (conv1's 11×11 at stride 4: zero-padded to 12×12)
 * becomes a 3×3 kernel over s² times the channels: the same sums, in a
 * shape whose multiplications Winograd F(2×2, 3×3) cuts by 2.25×. */
#include <string.h>

#include "cpu_internal.h"

bool sr__cpu_s2d_applies(const sr_conv_params *p) {
  return p->stride >= 2 && p->kh == p->kw && (p->kh + p->stride - 1) / p->stride == 3 && p->pad >= 0;
}

void sr__cpu_s2d_params(const sr_conv_params *p, sr_conv_params *q) {
  *q = *p;
  q->in_c = p->in_c * p->stride * p->stride;
  q->kh = q->kw = 3, q->stride = 1, q->pad = 0;
}

void sr__cpu_s2d_weights(const sr_conv_params *p, const float *w, float *w2) {
  int s = p->stride, k = p->kh, icg = p->in_c / p->group;
  for (int oc = 0; oc < p->out_c; oc++)
    for (int c = 0; c < icg; c++)
      for (int d = 0; d < s * s; d++) {
        int dy = d / s, dx = d % s;
        float *dst = w2 + (((size_t)oc * icg + c) * s * s + d) * 9;
        for (int ky = 0; ky < 3; ky++)
          for (int kx = 0; kx < 3; kx++) {
            int y = s * ky + dy, x = s * kx + dx;
            dst[ky * 3 + kx] = y < k && x < k ? w[(((size_t)oc * icg + c) * k + y) * k + x] : 0.f;
          }
      }
}

typedef struct {
  const sr_conv_params *p;
  const sr_tensor *x;
  sr_tensor *xs;
} s2d_job;

/* One input channel of one frame into its s² planes. */
static void s2d_task(void *ctx, int task, int thread) {
  (void)thread;
  s2d_job *j = ctx;
  const sr_tensor *x = j->x, *xs = j->xs;
  int s = j->p->stride, pad = j->p->pad, n = task / x->c, c = task % x->c;
  const float *in = x->data + ((size_t)n * x->c + c) * x->h * x->w;
  for (int d = 0; d < s * s; d++) {
    int dy = d / s, dx = d % s;
    float *out = xs->data + ((size_t)n * xs->c + (size_t)c * s * s + d) * xs->h * xs->w;
    for (int Y = 0; Y < xs->h; Y++) {
      int iy = s * Y + dy - pad;
      float *row = out + (size_t)Y * xs->w;
      if (iy < 0 || iy >= x->h) {
        memset(row, 0, sizeof(float) * xs->w);
        continue;
      }
      const float *src = in + (size_t)iy * x->w;
      for (int X = 0; X < xs->w; X++) {
        int ix = s * X + dx - pad;
        row[X] = ix >= 0 && ix < x->w ? src[ix] : 0.f;
      }
    }
  }
}

sr_status sr__cpu_s2d_conv(cpu_backend *cb, const sr_conv_params *p, int m, const sr_tensor *x, const float *U,
                           const float *bias, sr_tensor *y) {
  int s = p->stride;
  /* a 3×3 valid convolution of (oh + 2) × (ow + 2) planes gives oh × ow */
  sr_tensor xs = {x->n, x->c * s * s, y->h + 2, y->w + 2, NULL};
  xs.data = sr__cpu_workspace(cb, CPU_WS_S2D, sr_tensor_count(&xs));
  if (!xs.data) return SR_ERR_NOMEM;
  s2d_job j = {p, x, &xs};
  sr_pool_run(cb->pool, x->n * x->c, s2d_task, &j);
  return sr__cpu_winograd_conv(cb, p->group, 3, 0, m, &xs, U, bias, p->relu, y);
}
