/* oracle.h: how good a proposal set could be: per-proposal IoU against the
 * ground truth, the oracle (best of the first M proposals per image by
 * per-image IoU, accumulated into one confusion matrix over the split) and
 * the mean pairwise diversity (fraction of pixels on which two proposals
 * differ). */
#ifndef SR_ORACLE_H
#define SR_ORACLE_H

#include "../train/eval.h"
#include "proposal_set.h"

/* Per-image mean IoU in percent of @pred against @truth over the classes
 * that occur in either (void ignored); 100 for an image with no class pixel. */
double sr_image_miou(const uint8_t *truth, const uint8_t *pred, size_t n, int n_classes);

/* Index of the best of the first @m proposals by per-image mIoU (ties: the
 * lower rank). */
int sr_oracle_pick(const sr_proposal_set *s, const uint8_t *truth, int m);

/* Mean over pairs among the first @m proposals of the fraction of pixels on
 * which they differ (0 when m < 2). */
double sr_proposal_diversity(const sr_proposal_set *s, int m);

#endif
