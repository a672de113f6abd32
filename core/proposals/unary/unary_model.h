/* unary_model.h: the proposal source's unary classifier, independent of
 * SegNet: per-superpixel features (colour, textons, gradient orientations,
 * position, shape, neighbour context; additive-χ² feature map) and a linear
 * multinomial model over them, stored in a self-describing `.srunary` file
 * (JSON header: feature list, texton dictionary, classes, normalisation,
 * superpixel settings, provenance; then little-endian float data), validated
 * on load like `.srmodel`. */
#ifndef SR_UNARY_MODEL_H
#define SR_UNARY_MODEL_H

#include <stdint.h>

#include "../../data/dataset.h"
#include "../../model.h"
#include "../../status.h"
#include "../../train/eval.h"
#include "../superpixels/superpixels.h"

typedef struct sr_unary_model sr_unary_model;

sr_status sr_unary_model_load(const char *path, sr_unary_model **m, sr_error *err);
/* Writes atomically. */
sr_status sr_unary_model_save(const sr_unary_model *m, const char *path, sr_error *err);
void sr_unary_model_free(sr_unary_model *m);

int sr_unary_model_n_classes(const sr_unary_model *m);
const sr_class *sr_unary_model_classes(const sr_unary_model *m);
/* The superpixel settings the model was trained with (threads left 0). */
void sr_unary_model_slic_params(const sr_unary_model *m, sr_slic_params *p);
/* Length of the feature vector after the feature map. */
int sr_unary_model_feature_dim(const sr_unary_model *m);
/* JSON object text (nullable): how the model was made. */
const char *sr_unary_model_provenance(const sr_unary_model *m);

/* The default shipped model: $SEGRANK_UNARY_MODEL, else the installed copy,
 * else the build tree's (like sr_default_model_path). */
const char *sr_default_unary_model_path(void);

/* Features of every superpixel of @rgb (n × feature_dim, row-major, after
 * normalisation and the feature map), with @threads threads (0: all cores). */
sr_status sr_unary_features(const sr_unary_model *m, const sr_image *rgb, const sr_superpixels *sp,
                            const sr_sp_graph *g, int threads, float *features, sr_error *err);
/* Class probabilities (n × n_classes, rows sum to 1) from @features. */
void sr_unary_classify(const sr_unary_model *m, const float *features, int n, float *probs);

/* Unary-argmax labelling of @rgb: the model's SLIC superpixels (@slic, NULL:
 * the model's settings), each painted with its most probable class.
 * @labels: width × height. @times (nullable, milliseconds) gets the SLIC,
 * feature and classification time. */
typedef struct {
  double slic_ms, features_ms, classify_ms;
  int superpixels;
} sr_unary_times;

sr_status sr_unary_label_image(const sr_unary_model *m, const sr_image *rgb, const sr_slic_params *slic, int threads,
                               uint8_t *labels, sr_unary_times *times, sr_error *err);

/* Labels every image of @ds with sr_unary_label_image and accumulates the
 * labels against the ground truth into @conf (n_classes; void ignored).
 * @times (nullable) gets the sums over the images. @progress (nullable) is
 * called after each image. */
sr_status sr_unary_evaluate(const sr_unary_model *m, const sr_dataset *ds, int threads, sr_confusion *conf,
                            sr_unary_times *times, void (*progress)(int done, int total, void *data), void *data,
                            sr_error *err);

typedef struct {
  const char *dataset;      /* "camvid" etc.: class table and provenance */
  int n_textons;            /* 64 */
  int texton_samples;       /* pixels sampled for k-means (≈ 400000) */
  int frame_stride;         /* train on every k-th image (1: all) */
  double class_weight_exponent; /* sample weight = pixels × freq^-exponent (0.5) */
  double C;                 /* liblinear regularisation (0.1) */
  sr_slic_params slic;
  int threads;
  uint64_t seed;
  const char *provenance;   /* JSON object text to embed (nullable), e.g. the command line */
} sr_unary_train_params;

void sr_unary_train_params_default(sr_unary_train_params *p);

/* Trains on @ds (images + labels, void ignored): learns the texton
 * dictionary, fits normalisation and the linear model (liblinear, L2
 * logistic regression, one model per class; probabilities by softmax of the
 * decision values). @progress (nullable) reports stage and fraction. */
sr_status sr_unary_train(const sr_dataset *ds, const sr_unary_train_params *p, sr_unary_model **out,
                         void (*progress)(const char *stage, int done, int total, void *data), void *data,
                         sr_error *err);

#endif
