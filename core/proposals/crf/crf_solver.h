/* crf_solver.h (private to core/proposals/crf): the reusable state shared by
 * α-expansion and DivMBest, and the CRF validity check both use. */
#ifndef SR_CRF_SOLVER_H
#define SR_CRF_SOLVER_H

#include <stddef.h>

#include "crf.h"
#include "maxflow.h"

struct sr_crf_solver {
  sr_maxflow *graph;
  int node_capacity;
  /* α-expansion: per CRF node, its graph node (-1: already α, fixed) */
  int *var_of_node;
  int *node_of_var;
  float *cost_keep;  /* per graph node: energy terms paid when it keeps its label */
  float *cost_alpha; /* … and when it switches to α */
  uint8_t *candidate;
  /* DivMBest: the diversity-augmented unary and the per-(node, label)
   * penalty Σ node_weight over earlier solutions that chose the label */
  size_t table_capacity;
  float *div_unary;
  float *penalty;
};

/* 0 when @crf is well formed: 1 ≤ n_labels ≤ 255, n_nodes ≥ 0, unary given
 * when there are nodes and finite, edge ends in range and weights finite
 * and ≥ 0. */
int sr_crf_check(const sr_crf *crf);

#endif
