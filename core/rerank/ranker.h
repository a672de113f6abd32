/* ranker.h: the learned re-ranker (the paper's "SegNet +SVM"): a linear
 * function of a proposal's standardised features (rerank_features.h),
 *   score = Σ_d w_d · (f_d − mean_d) / std_d,
 * highest score wins (ties: the lower index). Trained as a ranking SVM
 * (ranker_train.c) and stored in a self-describing .srranker file
 * (ranker_file.c) that carries the feature groups and names, the classes,
 * the normalisation, the weights, the image classifier when the
 * classification group is used, and free provenance.
 *
 * Training (sr_ranker_train): features standardised by their mean and
 * standard deviation over all training proposals (std < 1e-12 → 1). Within
 * each image, every pair (a, b) of proposals whose quality (per-image IoU
 * with the ground truth, sr_image_miou's percent) differs by at least
 * `margin` is a candidate, oriented better − worse; pairs equal within the
 * margin say nothing and are skipped. With more than `max_pairs` candidates
 * an image keeps its pairs that contain its best proposal first (the pick
 * is what matters), then others, each part in a seeded random order, up to
 * the cap, so a big M stays tractable. Pairwise transform: x = f'_better −
 * f'_worse; the pairs alternate between (x, +1) and (−x, −1) so both classes
 * are present in equal numbers (for a model without bias this is the
 * objective of entering both orientations of every pair, at C/2).
 * liblinear L2-regularised L2-loss SVC (primal, deterministic), no bias, C. */
#ifndef SR_RANKER_H
#define SR_RANKER_H

#include <stdint.h>

#include "../model.h"
#include "../status.h"
#include "image_classifier.h"
#include "kl_score.h"
#include "rerank_features.h"

typedef struct sr_ranker sr_ranker;

/* An untrained ranker (weights 0, mean 0, std 1) for @groups over
 * @classes. @fp NULL: defaults. @cls is copied; it is required when
 * @groups includes SR_RERANK_CLS (its class count must match) and ignored
 * otherwise. */
sr_status sr_ranker_new(unsigned groups, const sr_class *classes, int n_classes, const sr_rerank_feature_params *fp,
                        const sr_image_classifier *cls, sr_ranker **out, sr_error *err);
void sr_ranker_free(sr_ranker *r);

unsigned sr_ranker_groups(const sr_ranker *r);
int sr_ranker_dim(const sr_ranker *r);
/* NULL-terminated, dim names, owned by @r. */
char *const *sr_ranker_feature_names(const sr_ranker *r);
int sr_ranker_n_classes(const sr_ranker *r);
const sr_class *sr_ranker_classes(const sr_ranker *r); /* names only; colours 0 after loading */
const sr_rerank_feature_params *sr_ranker_feature_params(const sr_ranker *r);
/* The image classifier (NULL without the classification group) and the
 * descriptor length it takes (0 without). */
const sr_image_classifier *sr_ranker_classifier(const sr_ranker *r);
int sr_ranker_descriptor_dim(const sr_ranker *r);
/* dim values each: the weights on standardised features, mean, std. */
const float *sr_ranker_weights(const sr_ranker *r);
const float *sr_ranker_mean(const sr_ranker *r);
const float *sr_ranker_std(const sr_ranker *r);
/* JSON text of how the ranker was made (nullable). Setting: any JSON
 * value, else SR_ERR_INVALID; NULL clears. */
const char *sr_ranker_provenance(const sr_ranker *r);
sr_status sr_ranker_set_provenance(sr_ranker *r, const char *json, sr_error *err);
/* The number of proposals per image M the ranker was trained with (the
 * integer "M" of its provenance object, as `segrank train-ranker` writes
 * it), 0 when the provenance does not say. Score it with the same M: the
 * source.consensus feature depends on it. */
int sr_ranker_trained_m(const sr_ranker *r);

/* Scores @n proposals' raw features (n × dim) into @scores (nullable) and
 * the index of the highest in @best (ties: the lower index). Non-finite
 * features are an error. */
sr_status sr_ranker_score_features(const sr_ranker *r, const double *features, int n, double *scores, int *best,
                                   sr_error *err);

/* The whole step for one frame: features of the first @m proposals of @set
 * (m ≤ 0 or > n: all), the classifier run on @descriptor (length
 * @descriptor_dim; only read with the classification group, may be NULL
 * otherwise), @net (only read with the SegNet group), then the scores
 * (@scores nullable, min(m, n) entries) and the best index. */
sr_status sr_ranker_score_set(const sr_ranker *r, const sr_proposal_set *set, const sr_coarse_dist *net,
                              const float *descriptor, int descriptor_dim, int m, double *scores, int *best,
                              sr_error *err);

/* The shipped ranker: $SEGRANK_RANKER, else the installed copy, else the
 * build tree's (like sr_default_model_path). */
const char *sr_default_ranker_path(void);

/* ---- training (ranker_train.c) ---- */

typedef struct {
  double C;      /* liblinear regularisation (default 1) */
  double margin; /* minimum IoU difference of a pair, in IoU percent (0.5) */
  int max_pairs; /* per image (200; ≤ 0: no cap) */
  uint64_t seed; /* pair sampling (1) */
} sr_ranker_train_params;

void sr_ranker_train_params_default(sr_ranker_train_params *p);

/* What training used and made (stored in the file). */
typedef struct {
  int trained; /* 0: weights never trained */
  double C, margin;
  int max_pairs;
  int images, proposals, pairs; /* training images, proposals, pairs used */
} sr_ranker_train_info;

const sr_ranker_train_info *sr_ranker_train_info_get(const sr_ranker *r);

/* One training image: @n proposals, their raw features (n × dim, from
 * sr_rerank_features with the ranker's groups) and qualities (n, e.g.
 * sr_image_miou against the ground truth; higher is better). */
typedef struct {
  int n;
  const double *features;
  const double *iou;
} sr_ranker_example;

/* Fits @r's normalisation and weights on @examples (see above). Errors:
 * bad parameters, non-finite inputs, fewer than 2 usable pairs in all, out
 * of memory. */
sr_status sr_ranker_train(sr_ranker *r, const sr_ranker_example *examples, int n_examples,
                          const sr_ranker_train_params *p, sr_error *err);

/* ---- the .srranker file (ranker_file.c) ---- */

/* Writes atomically. */
sr_status sr_ranker_save(const sr_ranker *r, const char *path, sr_error *err);

/* Reads and validates a ranker file: format and version, shapes, every
 * value finite, std > 0, the feature list exactly this build's for the
 * file's groups and classes, the feature parameters, and, when
 * @expect_classes is given (@n_expect > 0), the class list equal to it (a
 * mismatch is SR_ERR_FORMAT naming the file and the first differing
 * name). */
sr_status sr_ranker_load(const char *path, const sr_class *expect_classes, int n_expect, sr_ranker **out,
                         sr_error *err);

#endif
