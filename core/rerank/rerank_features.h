/* rerank_features.h: the per-proposal features of the ranking SVM (the
 * paper's section 4, "SegNet +SVM", adapted to C classes), in three groups
 * that a bit mask selects. For one frame: the proposal set (n proposals,
 * W × H, C classes), the net's coarse distribution p (C × h × w, as for
 * eq. 17) and an image classifier's 5C outputs (image_classifier.h).
 * Feature order: the selected groups in the order below; inside a group the
 * order listed, "<c>" meaning one entry per class in class order (a whole
 * block of C before the next name). Names are stable strings: ranker files
 * store them and are checked against them.
 *
 * SR_RERANK_SEGNET (2 + 4C): q = sr_soft_target of the proposal on the net's
 * h × w grid (void pixels not counted, cells without a counted pixel are
 * invalid and skipped), q̃ = (q + eps)/(1 + C·eps), sums over valid cells i,
 * n_valid their count:
 *   segnet.kl_pq        Σ_i KL(p_i ‖ q̃_i)  } exactly sr_kl_score_labels'
 *   segnet.kl_qp        Σ_i KL(q̃_i ‖ p_i)  } kl_pq / kl_qp (same eps)
 *   segnet.inter.<c>    EI_c = Σ_i p_ic q_ic / n_valid   (unsmoothed q)
 *   segnet.union.<c>    EU_c = Σ_i (p_ic + q_ic − p_ic q_ic) / n_valid
 *   segnet.iou.<c>      EI_c / EU_c  (1 when EU_c = 0: absent from both)
 *   segnet.log_uoi.<c>  ln(min(EU_c / EI_c, SR_RERANK_UOI_CAP)), the bounded
 *                       monotone form of U/I: in [0, ln 100]; EI_c = 0 (the
 *                       proposal lacks the class) gives ln 100, EU_c = 0
 *                       gives 0. (EI and EU are per valid cell so they do
 *                       not grow with the grid; the ratios are unaffected.)
 *
 * SR_RERANK_CLS (5C): s = the image classifier's 5C decision values (> 0:
 * "yes"): s[c] "is c present", s[C + 4c + j] "does c cover more than
 * t_{c,j}" (j = 0..3, thresholds at the 20/40/60/80th percentiles, see
 * image_classifier.h). The proposal's own answers use its coverage
 * cov_c = area_c / Σ_k area_k (fraction of its labelled pixels, as
 * sr_label_coverage): present ⇔ cov_c > SR_RERANK_PRESENCE_MIN; covers ⇔
 * cov_c > t_{c,j}. Pairing: feature = s × a with a = +1 when the proposal
 * answers yes, −1 when it answers no, so the feature is positive exactly
 * when proposal and classifier agree, and large when the classifier is
 * confident; a positive weight rewards agreement.
 *   cls.present.<c>     s[c] · a_present(c)
 *   cls.cover<j>.<c>    s[C + 4c + j] · a_cover(c, j), for j = 0, 1, 2, 3 (each
 *                       j one block of C: cls.cover0.<c>, cls.cover1.<c>, ...)
 *
 * SR_RERANK_SOURCE (19 + C): what the proposal source knows. "MAP" is the
 * proposal of lowest rank in the set (rank 0 when present). A value the
 * source does not have (NAN in the set: a loader without energies) becomes
 * 0 and its "…missing" indicator 1 (else 0); no feature is ever NAN.
 *   source.rank             rank
 *   source.inv_rank         1 / (1 + rank)
 *   source.is_map           1 for the MAP proposal, else 0
 *   source.score            the source's score (lower is better)
 *   source.score_missing
 *   source.energy           E(x)
 *   source.energy_missing
 *   source.unary            unary part of E
 *   source.unary_missing
 *   source.pairwise         pairwise part of E
 *   source.pairwise_missing
 *   source.energy_gap       E(x) − E(MAP)                (≥ 0 for a true MAP)
 *   source.energy_gap_rel   (E(x) − E(MAP)) / max(|E(MAP)|, 1e-9)
 *   source.energy_gap_missing  either energy unknown (both gaps then 0)
 *   source.unary_gap        unary(x) − unary(MAP) (0 and missing as above)
 *   source.pairwise_gap     pairwise(x) − pairwise(MAP)
 *   source.gap_parts_missing   either part unknown for x or the MAP
 *   source.map_agreement    fraction of the frame's pixels where x and the
 *                           MAP carry the same (non-void) class
 *   source.consensus        mean over the other scored proposals y (the
 *                           first m) of the fraction of pixels where x and y
 *                           carry the same class; 0 when m = 1. It depends
 *                           on m: train and run a ranker with the same M.
 *   source.area.<c>         area_c, fraction of the frame's pixels labelled
 *                           c (counted from the labels, the definition of
 *                           the set's areas[])
 *
 * Everything is computed in double. */
#ifndef SR_RERANK_FEATURES_H
#define SR_RERANK_FEATURES_H

#include "../model.h"
#include "../proposals/proposal_set.h"
#include "../status.h"
#include "kl_score.h"

enum {
  SR_RERANK_SEGNET = 1u << 0,
  SR_RERANK_CLS = 1u << 1,
  SR_RERANK_SOURCE = 1u << 2,
  SR_RERANK_ALL = SR_RERANK_SEGNET | SR_RERANK_CLS | SR_RERANK_SOURCE,
};

#define SR_RERANK_UOI_CAP 100.0        /* U/I is clipped here before the log */
#define SR_RERANK_PRESENCE_MIN 0.001   /* coverage above which a class is "present" */
#define SR_RERANK_COVER_LEVELS 4       /* coverage thresholds per class */
#define SR_RERANK_SOURCE_SCALARS 19    /* source features before the areas */

typedef struct {
  double eps; /* smoothing of q̃ for the KL features (1e-6, as eq. 17) */
} sr_rerank_feature_params;

void sr_rerank_feature_params_default(sr_rerank_feature_params *p);

/* One frame's inputs; only what the selected groups need must be set. */
typedef struct {
  const sr_proposal_set *set;    /* always */
  const sr_coarse_dist *net;     /* SR_RERANK_SEGNET: k = set->n_classes */
  const float *cls_scores;       /* SR_RERANK_CLS: 5C decision values */
  const float *cls_thresholds;   /* SR_RERANK_CLS: C × 4, t_{c,j} at [4c + j] */
} sr_rerank_input;

/* Features per proposal for @groups and @n_classes (0 for a bad mask). */
int sr_rerank_feature_dim(unsigned groups, int n_classes);

/* The feature names in order: a NULL-terminated array of
 * sr_rerank_feature_dim strings (free with sr_rerank_feature_names_free).
 * Errors: a bad mask, no classes, an empty class name, out of memory. */
sr_status sr_rerank_feature_names(unsigned groups, const sr_class *classes, int n_classes, char ***names,
                                  sr_error *err);
void sr_rerank_feature_names_free(char **names);

/* Group mask <-> text: comma-separated "segnet", "cls", "source", or "all".
 * Parse: SR_ERR_INVALID naming an unknown word, or for an empty mask.
 * Format writes "segnet,cls,source" (the selected ones) into @buf and
 * returns it (truncated when @len is short; 24 bytes always suffice). */
sr_status sr_rerank_groups_parse(const char *text, unsigned *groups, sr_error *err);
const char *sr_rerank_groups_format(unsigned groups, char *buf, size_t len);

/* Features of the first @m proposals of @in->set (m ≤ 0 or > n: all n)
 * into @out (m × dim, row-major). Errors (SR_ERR_INVALID): a bad mask, a
 * missing input for a selected group, class counts that differ, a net grid
 * finer than the frame, a proposal void everywhere (SEGNET), non-finite
 * classifier values, eps not positive. */
sr_status sr_rerank_features(unsigned groups, const sr_rerank_feature_params *par, const sr_rerank_input *in, int m,
                             double *out, sr_error *err);

#endif
