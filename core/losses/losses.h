/* losses.h: the paper's training targets and losses (Section 3 and its
 * supplement, with the conventions of ../shared/paper/NOTES.md): soft,
 * downsampled ground truth; cross-entropy; expected IOU and UOI over the
 * minibatch; and their weighted sum. Every loss takes the pre-softmax scores
 * z and returns dL/dz, the softmax Jacobian included. */
#ifndef SR_LOSSES_H
#define SR_LOSSES_H

#include <stdint.h>

#include "../status.h"
#include "../tensor.h"

/* Soft target of one image: for coarse cell (i, j) of an h × w map, the
 * histogram of the non-void labels in full-resolution rows
 * [floor(i·H/h), floor((i+1)·H/h)) and columns likewise, divided by their
 * count. @target is K × h × w, @valid h × w (1 when the cell has a counted
 * pixel). Labels ≥ K are void. */
void sr_soft_target(const uint8_t *labels, int H, int W, int K, int h, int w, float *target, uint8_t *valid);

typedef enum { SR_LOSS_CE, SR_LOSS_IOU, SR_LOSS_UOI, SR_LOSS_COMBO } sr_loss_kind;

typedef struct {
  sr_loss_kind kind;
  double w_uoi, w_ce; /* SR_LOSS_COMBO: w_uoi·UOI + w_ce·CE (paper: 0.7, 0.3) */
} sr_loss;

/* Name ("ce", "iou", "uoi", "uoi+ce") to kind; -1 when unknown. */
int sr_loss_from_name(const char *name, sr_loss *out);
const char *sr_loss_name(sr_loss_kind k);

/* Evaluates @loss for scores @z (B × K × h × w) against @target (same shape)
 * on the cells where @valid (B × h × w) is set. Writes the loss in @value and,
 * when @dz is not NULL, dL/dz (zero on invalid cells). IOU is returned as its
 * negative (a quantity to minimise); UOI sums over the classes present in the
 * batch's targets. Returns SR_ERR_INVALID when no cell is valid,
 * SR_ERR_NOMEM when its scratch buffers cannot be allocated. */
sr_status sr_loss_eval(const sr_loss *loss, const sr_tensor *z, const float *target, const uint8_t *valid,
                       double *value, float *dz);

#endif
