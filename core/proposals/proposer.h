/* proposer.h: the proposal source as one call: SLIC superpixels, unary
 * features and classifier, a contrast-sensitive Potts CRF over the
 * superpixel graph, and DivMBest, giving an sr_proposal_set at frame
 * resolution. Independent of SegNet; an optional hybrid term adds the
 * net's coarse probabilities to the unaries (off by default). */
#ifndef SR_PROPOSER_H
#define SR_PROPOSER_H

#include "../image.h"
#include "crf/crf.h"
#include "proposal_set.h"
#include "superpixels/superpixels.h"
#include "unary/unary_model.h"

typedef struct {
  int num_solutions;     /* M (10) */
  float lambda;          /* DivMBest diversity weight (0.2) */
  float pairwise_weight; /* Potts weight wp (1.6) */
  int n_superpixels;     /* 0: as the unary model was trained */
  float compactness;     /* ≤ 0: as the unary model was trained */
  float unary_clamp;     /* −log p is clamped to this (20) */
  float hybrid_weight;   /* weight of −log p_net (0: off) */
  int max_sweeps;        /* α-expansion sweeps per solution (0: to convergence) */
  int threads;           /* 0: all cores */
} sr_proposer_params;

void sr_proposer_params_default(sr_proposer_params *p);

typedef struct sr_proposer sr_proposer;

/* @m is borrowed and must outlive the proposer. */
sr_status sr_proposer_new(const sr_unary_model *m, const sr_proposer_params *p, sr_proposer **out, sr_error *err);
void sr_proposer_free(sr_proposer *p);
const sr_proposer_params *sr_proposer_get_params(const sr_proposer *p);

/* Wall time of each stage of the last run, in milliseconds. */
typedef struct {
  double superpixels, features, unaries, crf;
  int max_flows;
} sr_proposer_times;

/* The net's coarse output for the hybrid term: C × h × w probabilities. */
typedef struct {
  const float *probs;
  int n_classes, h, w;
} sr_coarse_probs;

/* Proposes for the RGB image @rgb. @net (nullable) is used only when
 * hybrid_weight > 0. @times is nullable. */
sr_status sr_proposer_run(sr_proposer *p, const sr_image *rgb, const sr_coarse_probs *net, sr_proposal_set *out,
                          sr_proposer_times *times, sr_error *err);

/* The pieces, for callers that want them (training, benchmarks): the
 * per-superpixel unary probabilities of the last run (n_superpixels ×
 * n_classes) and its superpixel map. Valid until the next run. */
const float *sr_proposer_last_probs(const sr_proposer *p);
const sr_superpixels *sr_proposer_last_superpixels(const sr_proposer *p);

#endif
