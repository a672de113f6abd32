/* image_classifier.h: image-level linear SVMs for the ranking SVM's
 * classification features (the paper's "CNN classification" group, on the
 * net's conv5 output instead of DeCAF). Input: one descriptor per image, a
 * float vector of length D (the caller computes it from the net). Output:
 * 5C decision values per image, > 0 meaning "yes":
 *   [c]              is class c present (coverage > SR_RERANK_PRESENCE_MIN)
 *   [C + 4c + j]     does c cover more than t_{c,j}, j = 0..3
 * Coverage of class c = its fraction of the image's non-void pixels
 * (sr_label_coverage). Thresholds: over the training images that contain c
 * (coverage > SR_RERANK_PRESENCE_MIN), t_{c,j} = the (20·(j+1))th percentile
 * of their coverage, linear interpolation between order statistics
 * (sorted v_0 ≤ … ≤ v_{n−1}: position q·(n−1), numpy's default); a class
 * present in no training image gets t = 1 (nothing covers more).
 * Training: descriptors standardised per dimension (mean and std of the
 * training images, std < 1e-12 → 1; stored); one liblinear L2-regularised
 * L2-loss SVC (primal, deterministic) with a bias per output, labels ±1; an
 * output whose label is the same for every training image (a class present
 * in all or none) gets weights 0 and bias +1 or −1: a constant decision. */
#ifndef SR_IMAGE_CLASSIFIER_H
#define SR_IMAGE_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "../status.h"
#include "rerank_features.h"

typedef struct sr_image_classifier sr_image_classifier;

#define SR_IMAGE_CLASSIFIER_OUTPUTS(C) ((1 + SR_RERANK_COVER_LEVELS) * (C))

/* Fraction of the non-void pixels (labels < @n_classes) of each class
 * (@coverage: n_classes entries; all 0 for an all-void map). */
void sr_label_coverage(const uint8_t *labels, size_t n, int n_classes, double *coverage);

typedef struct {
  double C; /* liblinear regularisation (1) */
} sr_image_classifier_params;

void sr_image_classifier_params_default(sr_image_classifier_params *p);

/* Trains on @n images: @descriptors n × @dim (row-major), @coverage n ×
 * @n_classes (sr_label_coverage of each ground truth). Errors: n < 2, dim
 * < 1, C not positive, non-finite or out-of-range inputs (coverage must be
 * in [0, 1]), out of memory. */
sr_status sr_image_classifier_train(const float *descriptors, int n, int dim, const double *coverage, int n_classes,
                                    const sr_image_classifier_params *p, sr_image_classifier **out, sr_error *err);

/* The 5C decision values of one image; @dim must be the trained one. */
sr_status sr_image_classifier_predict(const sr_image_classifier *c, const float *descriptor, int dim, float *scores,
                                      sr_error *err);

/* Out-of-fold decision values for training a ranker: for every fold f
 * (the distinct values of @fold, n entries), a classifier trained on the
 * images of the other folds predicts the images of f; @scores: n × 5C;
 * @thresholds (nullable): n × 4C, the thresholds of the classifier that
 * scored each image (pair those with its scores, sr_rerank_input). A ranker
 * trained on in-sample scores would learn to over-trust them. At least two
 * folds; each training side must have ≥ 2 images. */
sr_status sr_image_classifier_predict_out_of_fold(const float *descriptors, int n, int dim, const double *coverage,
                                                  int n_classes, const int *fold,
                                                  const sr_image_classifier_params *p, float *scores,
                                                  float *thresholds, sr_error *err);

int sr_image_classifier_n_classes(const sr_image_classifier *c);
int sr_image_classifier_dim(const sr_image_classifier *c);
/* C × 4 thresholds, t_{c,j} at [4c + j]. */
const float *sr_image_classifier_thresholds(const sr_image_classifier *c);
sr_status sr_image_classifier_copy(const sr_image_classifier *c, sr_image_classifier **out, sr_error *err);
void sr_image_classifier_free(sr_image_classifier *c);

#endif
