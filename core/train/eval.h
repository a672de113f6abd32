/* eval.h: the PASCAL VOC protocol: one confusion matrix accumulated over the
 * whole split (void ignored), IoU per class = TP / (TP + FP + FN), mean over
 * classes; and the upsampling of coarse maps to full resolution that the
 * paper compares (Section 4, Table 2). */
#ifndef SR_EVAL_H
#define SR_EVAL_H

#include <stdint.h>

#include "../data/dataset.h"
#include "../net.h"

typedef enum {
  SR_UPSAMPLE_NAIVE,    /* eq. 16: each pixel takes the argmax of the cell it lies in */
  SR_UPSAMPLE_BILINEAR, /* probabilities interpolated, then argmax (ours) */
  SR_UPSAMPLE_SUPERPIXEL, /* SLIC superpixels take the pixel-weighted mean of their cells' distributions */
} sr_upsample;

#define SR_UPSAMPLE_COUNT 3

int sr_upsample_from_name(const char *name, sr_upsample *out);
const char *sr_upsample_name(sr_upsample u);

typedef struct {
  int k;
  uint64_t *m; /* k × k, row = ground truth, column = prediction */
} sr_confusion;

/* Returns SR_ERR_NOMEM (c->m NULL) when the k × k counts cannot be had. */
sr_status sr_confusion_init(sr_confusion *c, int k);
void sr_confusion_clear(sr_confusion *c);
/* Adds pixels whose ground truth is a class (< k). */
void sr_confusion_add(sr_confusion *c, const uint8_t *truth, const uint8_t *pred, size_t n);
/* Mean IoU in percent over classes that occur in truth or prediction;
 * @per_class (nullable, k entries) gets each class's IoU (NaN when absent). */
double sr_confusion_miou(const sr_confusion *c, double *per_class);
double sr_confusion_pixel_accuracy(const sr_confusion *c);

/* eq. 16: label of full-resolution pixel (r, c) = argmax of the coarse cell
 * whose patch [floor(i·H/h), floor((i+1)·H/h)) contains it. */
void sr_labels_naive(const float *probs, int k, int h, int w, int width, int height, uint8_t *labels);

/* Section 4: SLIC superpixels (vlfeat; region size 16, regularisation 10 on
 * CIE Lab) of the RGB @image; each superpixel's class distribution is the
 * average of the coarse cells' distributions weighted by the fraction of its
 * pixels inside each cell; then argmax. Returns SR_ERR_NOMEM when its
 * buffers cannot be had (@labels then undefined). */
sr_status sr_labels_superpixel(const float *probs, int k, int h, int w, const sr_image *image, uint8_t *labels);

/* Runs @net on every image of @ds resized to @in_w × @in_h, upsamples to the
 * image's resolution with @up and accumulates into @conf. @progress
 * (nullable) is called after each image. */
sr_status sr_evaluate(sr_net *net, const sr_model *m, const sr_dataset *ds, int in_w, int in_h, sr_upsample up,
                      sr_confusion *conf, void (*progress)(int done, int total, void *data), void *data,
                      sr_error *err);

/* sr_evaluate for @n_up upsamplings at once: the net runs once per image and
 * each @ups[u] is scored from that one output into @confs[u], so the counts
 * equal those of @n_up separate sr_evaluate calls at a third of the cost. */
sr_status sr_evaluate_multi(sr_net *net, const sr_model *m, const sr_dataset *ds, int in_w, int in_h,
                            const sr_upsample *ups, int n_up, sr_confusion *confs,
                            void (*progress)(int done, int total, void *data), void *data, sr_error *err);

#endif
