/* eval.c: confusion matrices, mIoU and full-resolution label maps. */
#include "eval.h"

#include <math.h>
#include <vl/slic.h>
#include <stdlib.h>
#include <string.h>

static const char *const upsample_names[] = {"naive", "bilinear", "superpixel"};

int sr_upsample_from_name(const char *name, sr_upsample *out) {
  for (int i = 0; i < SR_UPSAMPLE_COUNT; i++)
    if (!strcmp(name, upsample_names[i])) {
      *out = (sr_upsample)i;
      return 0;
    }
  return -1;
}

const char *sr_upsample_name(sr_upsample u) { return upsample_names[u]; }

/* sRGB (0..255) to CIE L*a*b* (D65). */
static void rgb_to_lab(const uint8_t *rgb, float *lab) {
  double c[3];
  for (int i = 0; i < 3; i++) {
    double v = rgb[i] / 255.0;
    c[i] = v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
  }
  double x = (0.4124 * c[0] + 0.3576 * c[1] + 0.1805 * c[2]) / 0.95047;
  double y = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  double z = (0.0193 * c[0] + 0.1192 * c[1] + 0.9505 * c[2]) / 1.08883;
  double f[3] = {x, y, z};
  for (int i = 0; i < 3; i++) f[i] = f[i] > 0.008856 ? cbrt(f[i]) : 7.787 * f[i] + 16.0 / 116;
  lab[0] = (float)(116 * f[1] - 16), lab[1] = (float)(500 * (f[0] - f[1])), lab[2] = (float)(200 * (f[1] - f[2]));
}

sr_status sr_labels_superpixel(const float *probs, int k, int h, int w, const sr_image *image, uint8_t *labels) {
  const int W = image->width, H = image->height;
  const size_t n = (size_t)W * H, plane = (size_t)h * w;
  float *lab = calloc(3 * n, sizeof(float)), px[3];
  vl_uint32 *seg = malloc(sizeof(vl_uint32) * n);
  int *cell_col = malloc(sizeof(int) * W);
  if (!lab || !seg || !cell_col) {
    free(lab), free(seg), free(cell_col);
    return SR_ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    rgb_to_lab(image->data + 3 * i, px);
    for (int c = 0; c < 3; c++) lab[c * n + i] = px[c]; /* vlfeat: planar channels */
  }
  vl_slic_segment(seg, lab, W, H, 3, 16, 10.0f, 16);
  vl_uint32 n_seg = 0;
  for (size_t i = 0; i < n; i++) n_seg = seg[i] + 1 > n_seg ? seg[i] + 1 : n_seg;
  /* Σ over a superpixel's pixels of their cell's distribution = the
   * cell-overlap-weighted sum; the argmax needs no normalisation. */
  double *acc = calloc((size_t)n_seg * k, sizeof(double));
  if (!acc) {
    free(lab), free(seg), free(cell_col);
    return SR_ERR_NOMEM;
  }
  for (int x = 0; x < W; x++) {
    int j = (int)((long)x * w / W);
    while (j + 1 < w && (long)(j + 1) * W / w <= x) j++;
    while (j > 0 && (long)j * W / w > x) j--;
    cell_col[x] = j;
  }
  for (int y = 0; y < H; y++) {
    int i = (int)((long)y * h / H);
    while (i + 1 < h && (long)(i + 1) * H / h <= y) i++;
    while (i > 0 && (long)i * H / h > y) i--;
    for (int x = 0; x < W; x++) {
      double *a = acc + (size_t)seg[(size_t)y * W + x] * k;
      const float *p = probs + (size_t)i * w + cell_col[x];
      for (int q = 0; q < k; q++) a[q] += p[q * plane];
    }
  }
  for (size_t i = 0; i < n; i++) {
    const double *a = acc + (size_t)seg[i] * k;
    int best = 0;
    for (int q = 1; q < k; q++)
      if (a[q] > a[best]) best = q;
    labels[i] = (uint8_t)best;
  }
  free(lab), free(seg), free(acc), free(cell_col);
  return SR_OK;
}

sr_status sr_confusion_init(sr_confusion *c, int k) {
  c->k = k;
  c->m = calloc((size_t)k * k, sizeof(uint64_t));
  return c->m ? SR_OK : SR_ERR_NOMEM;
}

void sr_confusion_clear(sr_confusion *c) {
  free(c->m);
  c->m = NULL;
}

void sr_confusion_add(sr_confusion *c, const uint8_t *truth, const uint8_t *pred, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (truth[i] < c->k && pred[i] < c->k) c->m[(size_t)truth[i] * c->k + pred[i]]++;
}

double sr_confusion_miou(const sr_confusion *c, double *per_class) {
  double sum = 0;
  int counted = 0;
  for (int k = 0; k < c->k; k++) {
    uint64_t tp = c->m[(size_t)k * c->k + k], fp = 0, fn = 0;
    for (int j = 0; j < c->k; j++)
      if (j != k) fn += c->m[(size_t)k * c->k + j], fp += c->m[(size_t)j * c->k + k];
    double iou = tp + fp + fn ? 100.0 * tp / (double)(tp + fp + fn) : NAN;
    if (per_class) per_class[k] = iou;
    if (!isnan(iou)) sum += iou, counted++;
  }
  return counted ? sum / counted : 0;
}

double sr_confusion_pixel_accuracy(const sr_confusion *c) {
  uint64_t right = 0, all = 0;
  for (int i = 0; i < c->k; i++)
    for (int j = 0; j < c->k; j++) {
      all += c->m[(size_t)i * c->k + j];
      if (i == j) right += c->m[(size_t)i * c->k + j];
    }
  return all ? 100.0 * right / all : 0;
}

void sr_labels_naive(const float *probs, int k, int h, int w, int width, int height, uint8_t *labels) {
  size_t plane = (size_t)h * w;
  for (int i = 0; i < h; i++) {
    int r0 = (int)((long)i * height / h), r1 = (int)((long)(i + 1) * height / h);
    for (int j = 0; j < w; j++) {
      int c0 = (int)((long)j * width / w), c1 = (int)((long)(j + 1) * width / w);
      int best = 0;
      for (int q = 1; q < k; q++)
        if (probs[q * plane + (size_t)i * w + j] > probs[best * plane + (size_t)i * w + j]) best = q;
      for (int r = r0; r < r1; r++) memset(labels + (size_t)r * width + c0, best, c1 - c0);
    }
  }
}

sr_status sr_evaluate_multi(sr_net *net, const sr_model *m, const sr_dataset *ds, int in_w, int in_h,
                            const sr_upsample *ups, int n_up, sr_confusion *confs, void (*progress)(int, int, void *),
                            void *data, sr_error *err) {
  sr_tensor input = {0}, probs = {0};
  if (sr_tensor_alloc(&input, 1, 3, in_h, in_w) != SR_OK)
    return sr_error_set(err, SR_ERR_NOMEM, "out of memory for a %dx%d net input", in_w, in_h);
  const sr_pixel_layout rgb = {3, 0, 1, 2};
  sr_status st = SR_OK;
  uint8_t *pred = NULL;
  float *scratch = NULL;
  size_t cap = 0, scap = 0;
  for (int i = 0; i < ds->n && st == SR_OK; i++) {
    const sr_image *img = &ds->images[i];
    sr_preprocess(img->data, img->width, img->height, img->width * 3, rgb, m->mean_bgr, in_w, in_h, input.data);
    if ((st = sr_net_forward(net, &input, &probs, err)) != SR_OK) break;
    size_t n = (size_t)img->width * img->height, sn = (size_t)probs.c * probs.h * img->width;
    if (n > cap) {
      uint8_t *p = realloc(pred, n);
      if (!p) {
        st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for a %dx%d label map", ds->names[i], img->width,
                          img->height);
        break;
      }
      pred = p, cap = n;
    }
    if (sn > scap) {
      float *p = realloc(scratch, sn * sizeof(float));
      if (!p) {
        st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for the upsampling buffer", ds->names[i]);
        break;
      }
      scratch = p, scap = sn;
    }
    /* One forward pass, every upsampling scored from it. */
    for (int u = 0; u < n_up && st == SR_OK; u++) {
      if (ups[u] == SR_UPSAMPLE_NAIVE)
        sr_labels_naive(probs.data, probs.c, probs.h, probs.w, img->width, img->height, pred);
      else if (ups[u] == SR_UPSAMPLE_SUPERPIXEL) {
        if (sr_labels_superpixel(probs.data, probs.c, probs.h, probs.w, img, pred) != SR_OK)
          st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for the superpixel upsampling", ds->names[i]);
      } else
        sr_labels_from_probs(probs.data, probs.c, probs.h, probs.w, img->width, img->height, pred, scratch);
      if (st == SR_OK) sr_confusion_add(&confs[u], ds->labels[i].data, pred, n);
    }
    if (st == SR_OK && progress) progress(i + 1, ds->n, data);
  }
  free(pred), free(scratch);
  sr_tensor_clear(&input), sr_tensor_clear(&probs);
  return st;
}

sr_status sr_evaluate(sr_net *net, const sr_model *m, const sr_dataset *ds, int in_w, int in_h, sr_upsample up,
                      sr_confusion *conf, void (*progress)(int, int, void *), void *data, sr_error *err) {
  return sr_evaluate_multi(net, m, ds, in_w, in_h, &up, 1, conf, progress, data, err);
}
