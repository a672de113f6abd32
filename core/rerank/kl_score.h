/* kl_score.h: the paper's fixed re-ranking score (eq. 17): how far each
 * proposal's soft-downsampled label map is from the net's coarse
 * distribution, by symmetric KL, plus an optional penalty on one class.
 * Conventions (../shared/paper/NOTES.md item 6, loss-cases.json
 * "rerank_eq17"):
 *   q(i)   = sr_soft_target of the proposal on the net's h × w grid (cell
 *            (i, j) covers rows [floor(i·H/h), floor((i+1)·H/h)) of the
 *            whole frame, columns likewise; void pixels not counted),
 *   q̃(i)   = (q(i) + eps) / (1 + K·eps),
 *   S      = Σ_i [ KL(p(i) ‖ q̃(i)) + KL(q̃(i) ‖ p(i)) + weight · q(i, class) ],
 * summed (not averaged) over the valid cells i (those with a counted
 * pixel; a proposal without void has all h·w cells valid); lower is better.
 * The penalty uses the unsmoothed q. Paper (PASCAL): class 0, weight 0.02;
 * on CamVid class 0 is Sky, so the penalty is off by default. p is clamped
 * below at FLT_MIN so that an underflowed softmax entry gives a large but
 * finite KL(q̃ ‖ p). Arithmetic in double. */
#ifndef SR_KL_SCORE_H
#define SR_KL_SCORE_H

#include <stdint.h>

#include "../proposals/proposal_set.h"
#include "../status.h"

typedef struct {
  double eps;            /* smoothing of q (NOTES.md: 1e-6; the reference recipe used 1e-4) */
  int penalty_class;     /* class whose mass is penalised, -1 for none */
  double penalty_weight; /* weight of Σ_i q(i, penalty_class) */
} sr_kl_score_params;

/* eps 1e-6, no penalty (the CamVid setting). */
void sr_kl_score_params_default(sr_kl_score_params *p);

/* One proposal's score and its parts (score = kl_pq + kl_qp + penalty). */
typedef struct {
  double kl_pq;   /* Σ_i KL(p(i) ‖ q̃(i)) */
  double kl_qp;   /* Σ_i KL(q̃(i) ‖ p(i)) */
  double penalty; /* weight · Σ_i q(i, class); 0 when off */
  double score;
  int cells;      /* valid cells summed over */
} sr_kl_score;

/* The net's coarse distribution of one frame: K × h × w, each cell summing
 * to 1 (sr_net_forward's softmax output for batch item 0). */
typedef struct {
  const float *p;
  int k, h, w;
} sr_coarse_dist;

/* Scores one label map (@height × @width, labels ≥ p->k are void) against
 * @p. Errors (SR_ERR_INVALID): bad parameters (eps ≤ 0 or not finite,
 * penalty class outside -1..K-1, weight not finite), a grid larger than
 * the frame, a label map with no valid cell. */
sr_status sr_kl_score_labels(const sr_coarse_dist *p, const uint8_t *labels, int width, int height,
                             const sr_kl_score_params *par, sr_kl_score *out, sr_error *err);

/* Scores the first @m proposals of @s (m ≤ 0 or > s->n: all) against @p
 * and writes the index of the lowest score (ties: the lower index) in
 * @best. @scores (nullable) receives min(m, n) entries. The set's classes
 * must equal p->k. */
sr_status sr_kl_rerank(const sr_coarse_dist *p, const sr_proposal_set *s, int m, const sr_kl_score_params *par,
                       sr_kl_score *scores, int *best, sr_error *err);

#endif
