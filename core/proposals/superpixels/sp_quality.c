/* sp_quality.c: how well a superpixel map fits a ground-truth label map:
 * boundary recall with a tolerance and Neubert & Protzel's corrected
 * under-segmentation error. Conventions (void pixels are left out of
 * everything):
 * - a ground-truth boundary pixel is a non-void pixel with a non-void
 *   4-neighbour of another label; a superpixel boundary pixel is one with a
 *   4-neighbour in another superpixel (both sides of a border count);
 * - recall is the share of ground-truth boundary pixels with a superpixel
 *   boundary pixel within @tolerance (Chebyshev); 1 when there are none;
 * - ground-truth segments are the 4-connected regions of one label; the
 *   error is Σ over superpixels S and segments G meeting S of
 *   min(|S ∩ G|, |S \ G|), over the non-void pixel count (0 when none). */
#include <stdlib.h>
#include <string.h>

#include "superpixels.h"

/* Marks in @out the pixels within @t (Chebyshev) of a set pixel of @in:
 * a running count along the rows, then along the columns. */
static void dilate(const uint8_t *in, uint8_t *out, uint8_t *tmp, int W, int H, int t) {
  for (int y = 0; y < H; y++) {
    const uint8_t *r = in + (size_t)y * W;
    uint8_t *o = tmp + (size_t)y * W;
    int c = 0;
    for (int x = 0; x < t && x < W; x++) c += r[x];
    for (int x = 0; x < W; x++) {
      if (x + t < W) c += r[x + t];
      if (x - t - 1 >= 0) c -= r[x - t - 1];
      o[x] = c > 0;
    }
  }
  int *c = calloc(W, sizeof(int));
  for (int y = 0; y < t && y < H; y++)
    for (int x = 0; x < W; x++) c[x] += tmp[(size_t)y * W + x];
  for (int y = 0; y < H; y++) {
    if (y + t < H)
      for (int x = 0; x < W; x++) c[x] += tmp[(size_t)(y + t) * W + x];
    if (y - t - 1 >= 0)
      for (int x = 0; x < W; x++) c[x] -= tmp[(size_t)(y - t - 1) * W + x];
    for (int x = 0; x < W; x++) out[(size_t)y * W + x] = c[x] > 0;
  }
  free(c);
}

static double boundary_recall(const sr_superpixels *sp, const uint8_t *truth, int void_label, int tol) {
  const int W = sp->width, H = sp->height;
  const size_t n = (size_t)W * H;
  const int32_t *lab = sp->labels;
  uint8_t *edge = calloc(n, 1), *near = malloc(n), *tmp = malloc(n);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      size_t i = (size_t)y * W + x;
      if (x + 1 < W && lab[i] != lab[i + 1]) edge[i] = edge[i + 1] = 1;
      if (y + 1 < H && lab[i] != lab[i + W]) edge[i] = edge[i + W] = 1;
    }
  dilate(edge, near, tmp, W, H, tol);
  size_t total = 0, hit = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      size_t i = (size_t)y * W + x;
      int v = truth[i];
      if (v == void_label) continue;
      int b = (x > 0 && truth[i - 1] != void_label && truth[i - 1] != v) ||
              (x + 1 < W && truth[i + 1] != void_label && truth[i + 1] != v) ||
              (y > 0 && truth[i - W] != void_label && truth[i - W] != v) ||
              (y + 1 < H && truth[i + W] != void_label && truth[i + W] != v);
      total += b, hit += b && near[i];
    }
  free(edge), free(near), free(tmp);
  return total ? (double)hit / total : 1.0;
}

static double undersegmentation(const sr_superpixels *sp, const uint8_t *truth, int void_label) {
  const int W = sp->width, H = sp->height, k = sp->n;
  const size_t n = (size_t)W * H;
  const int32_t *lab = sp->labels;
  /* Ground-truth segments: 4-connected components of non-void labels. */
  int32_t *seg = malloc(n * sizeof(int32_t)), *stack = malloc(n * sizeof(int32_t));
  for (size_t i = 0; i < n; i++) seg[i] = -1;
  int n_seg = 0;
  for (size_t s = 0; s < n; s++) {
    if (seg[s] >= 0 || truth[s] == void_label) continue;
    const uint8_t v = truth[s];
    size_t top = 0;
    seg[s] = n_seg, stack[top++] = (int32_t)s;
    while (top) {
      int32_t i = stack[--top];
      int x = i % W;
      if (x > 0 && seg[i - 1] < 0 && truth[i - 1] == v) seg[i - 1] = n_seg, stack[top++] = i - 1;
      if (x + 1 < W && seg[i + 1] < 0 && truth[i + 1] == v) seg[i + 1] = n_seg, stack[top++] = i + 1;
      if (i >= W && seg[i - W] < 0 && truth[i - W] == v) seg[i - W] = n_seg, stack[top++] = i - W;
      if ((size_t)i + W < n && seg[i + W] < 0 && truth[i + W] == v) seg[i + W] = n_seg, stack[top++] = i + W;
    }
    n_seg++;
  }
  /* Non-void pixels grouped by superpixel (counting sort), then per
   * superpixel the overlap with each segment it meets. */
  int *start = calloc((size_t)k + 1, sizeof(int)), *cnt = calloc(n_seg ? n_seg : 1, sizeof(int));
  int32_t *by_sp = stack;
  size_t valid = 0;
  for (size_t i = 0; i < n; i++)
    if (seg[i] >= 0) start[lab[i] + 1]++, valid++;
  for (int s = 0; s < k; s++) start[s + 1] += start[s];
  int *pos = malloc((size_t)k * sizeof(int)), *touched = malloc((valid ? valid : 1) * sizeof(int));
  memcpy(pos, start, (size_t)k * sizeof(int));
  for (size_t i = 0; i < n; i++)
    if (seg[i] >= 0) by_sp[pos[lab[i]]++] = seg[i];
  double error = 0;
  for (int s = 0; s < k; s++) {
    int size = start[s + 1] - start[s], m = 0;
    for (int q = start[s]; q < start[s + 1]; q++)
      if (cnt[by_sp[q]]++ == 0) touched[m++] = by_sp[q];
    for (int j = 0; j < m; j++) {
      int in = cnt[touched[j]], out = size - in;
      error += in < out ? in : out;
      cnt[touched[j]] = 0;
    }
  }
  free(seg), free(stack), free(start), free(cnt), free(pos), free(touched);
  return valid ? error / valid : 0.0;
}

void sr_superpixel_quality(const sr_superpixels *sp, const uint8_t *truth, int void_label, int tolerance,
                           sr_sp_quality *q) {
  q->boundary_recall = boundary_recall(sp, truth, void_label, tolerance < 0 ? 0 : tolerance);
  q->undersegmentation = undersegmentation(sp, truth, void_label);
}
