/* rerank_internal.h: the layouts of the image classifier and the ranker,
 * shared by their code, training and file format inside core/rerank/ (not
 * a public header). */
#ifndef SR_RERANK_INTERNAL_H
#define SR_RERANK_INTERNAL_H

#include "image_classifier.h"
#include "ranker.h"

#define SR_RANKER_FORMAT "segrank-ranker"
#define SR_RANKER_VERSION 1

struct sr_image_classifier {
  int n_classes, dim, n_outputs; /* n_outputs = 5C */
  double C;                      /* liblinear's C */
  float *desc_mean, *desc_std;   /* dim each: x' = (x − mean) / std */
  float *weights;                /* n_outputs × dim, on x' */
  float *bias;                   /* n_outputs */
  float *thresholds;             /* C × 4 */
};

/* Allocates the arrays for @n_classes and @dim (zeroed). */
sr_status sr_image_classifier_alloc(int n_classes, int dim, sr_image_classifier **out, sr_error *err);

struct sr_ranker {
  unsigned groups;
  int n_classes;
  sr_class *classes;
  int dim;
  char **names; /* dim feature names, NULL-terminated */
  sr_rerank_feature_params fp;
  float *mean, *std; /* dim each: standardised f' = (f − mean) / std */
  float *weights;    /* dim: score = Σ weights · f' */
  sr_ranker_train_info train;
  sr_image_classifier *cls; /* owned; set iff groups has SR_RERANK_CLS */
  char *provenance;         /* JSON text (nullable) */
};

#endif
