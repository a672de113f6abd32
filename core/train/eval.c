/* eval.c: confusion matrices, mIoU and full-resolution label maps. */
#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sr_upsample_from_name(const char *name, sr_upsample *out) {
  if (!strcmp(name, "naive")) *out = SR_UPSAMPLE_NAIVE;
  else if (!strcmp(name, "bilinear")) *out = SR_UPSAMPLE_BILINEAR;
  else return -1;
  return 0;
}

const char *sr_upsample_name(sr_upsample u) { return u == SR_UPSAMPLE_NAIVE ? "naive" : "bilinear"; }

void sr_confusion_init(sr_confusion *c, int k) {
  c->k = k;
  c->m = calloc((size_t)k * k, sizeof(uint64_t));
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

sr_status sr_evaluate(sr_net *net, const sr_model *m, const sr_dataset *ds, int in_w, int in_h, sr_upsample up,
                      sr_confusion *conf, void (*progress)(int, int, void *), void *data, sr_error *err) {
  sr_tensor input = {0}, probs = {0};
  sr_tensor_alloc(&input, 1, 3, in_h, in_w);
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
    if (n > cap) pred = realloc(pred, cap = n);
    if (sn > scap) scratch = realloc(scratch, (scap = sn) * sizeof(float));
    if (up == SR_UPSAMPLE_NAIVE)
      sr_labels_naive(probs.data, probs.c, probs.h, probs.w, img->width, img->height, pred);
    else
      sr_labels_from_probs(probs.data, probs.c, probs.h, probs.w, img->width, img->height, pred, scratch);
    sr_confusion_add(conf, ds->labels[i].data, pred, n);
    if (progress) progress(i + 1, ds->n, data);
  }
  free(pred), free(scratch);
  sr_tensor_clear(&input), sr_tensor_clear(&probs);
  return st;
}
