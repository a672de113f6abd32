/* ranker_study.h: one split prepared for re-ranking experiments. Per image:
 * the first M proposals' features (every group, rerank_features.h), each
 * proposal's per-image IoU with the ground truth, and its confusion counts,
 * so that the mIoU of any choice of one proposal per image (MAP, eq. 17, a
 * ranker, the oracle) over any subset of images is a sum, without holding
 * the label maps. Images carry a group (their sequence: the file-name
 * prefix before the first '_') for leave-one-sequence-out
 * cross-validation. */
#ifndef SR_RANKER_STUDY_H
#define SR_RANKER_STUDY_H

#include "ranker_inputs.h"

typedef struct {
  int n;          /* images */
  int m;          /* proposals per image at most */
  int k;          /* classes */
  int dim;        /* features (all groups) */
  char **names;   /* dim feature names, NULL-terminated */
  int *count;     /* n: proposals of each image (≤ m) */
  int *group;     /* n: sequence index */
  int n_groups;
  char **group_names; /* n_groups */
  double *features;   /* n × m × dim */
  double *iou;        /* n × m */
  uint64_t *conf;     /* n × m × k × k */
  int *rank;          /* n × m: the source's rank */
} ranker_study;

/* Builds the study of @ds (labels) with the proposals in @dir (first @m per
 * image), the net inputs @in and the classifier's decision values @cls
 * (n × 5C) with the thresholds that go with them @thr (n × 4C; both NULL:
 * the classification features are 0), with the feature parameters @fp
 * (NULL: the defaults; a ranker's own when evaluating it). */
sr_status ranker_study_build(const sr_dataset *ds, const char *dir, int m, const ranker_inputs *in, const float *cls,
                             const float *thr, const sr_class *classes, const sr_rerank_feature_params *fp,
                             ranker_study *st, sr_error *err);
void ranker_study_clear(ranker_study *st);

/* The columns of the study's features that a ranker of @groups uses, in its
 * order (@cols: sr_rerank_feature_dim(groups, k) entries). */
void ranker_study_columns(const ranker_study *st, unsigned groups, int *cols);

/* Image @i's features restricted to @cols (@ncols) into @out (count × ncols). */
void ranker_study_rows(const ranker_study *st, int i, const int *cols, int ncols, double *out);

/* mIoU over the images with @use[i] (nullable: all) of the proposals
 * @pick[i] (indices < count[i]). */
double ranker_study_miou(const ranker_study *st, const int *pick, const bool *use);

/* Picks of the fixed rules: MAP (lowest rank), eq. 17 (lowest kl_pq +
 * kl_qp, no penalty), oracle (highest IoU), each among the first @m. */
void ranker_study_pick_map(const ranker_study *st, int m, int *pick);
void ranker_study_pick_eq17(const ranker_study *st, int m, int *pick);
void ranker_study_pick_oracle(const ranker_study *st, int m, int *pick);

/* A trained ranker's pick for each image with @use[i] (nullable: all;
 * others untouched); forward-declared to keep this header free of the
 * ranker's. */
typedef struct sr_ranker sr_ranker;
void ranker_study_pick_ranker(const ranker_study *st, const sr_ranker *r, const bool *use, int *pick);

#endif
