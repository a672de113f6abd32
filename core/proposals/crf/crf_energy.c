/* crf_energy.c: the Potts CRF's energy, its unary argmin, and the check that
 * a CRF is well formed. */
#include <math.h>
#include <stddef.h>

#include "crf_solver.h"

int sr_crf_check(const sr_crf *crf) {
  if (!crf || crf->n_nodes < 0 || crf->n_labels < 1 || crf->n_labels > 255 || crf->n_edges < 0) return -1;
  if (crf->n_nodes > 0 && !crf->unary) return -1;
  const size_t n_unary = (size_t)crf->n_nodes * crf->n_labels;
  for (size_t t = 0; t < n_unary; t++)
    if (!isfinite(crf->unary[t])) return -1;
  if (crf->n_edges > 0 && !crf->edges) return -1;
  for (int e = 0; e < crf->n_edges; e++) {
    const sr_crf_edge *ed = &crf->edges[e];
    if (ed->a < 0 || ed->b < 0 || ed->a >= crf->n_nodes || ed->b >= crf->n_nodes) return -1;
    if (!(ed->w >= 0) || isinf(ed->w)) return -1; /* also rejects NaN */
  }
  return 0;
}

double sr_crf_energy(const sr_crf *crf, const uint8_t *x, double *unary_part, double *pairwise_part) {
  const int L = crf->n_labels;
  double u = 0, p = 0;
  for (int i = 0; i < crf->n_nodes; i++) {
    if (x[i] >= L) { /* no such label: the energy is undefined */
      u = NAN;
      break;
    }
    u += crf->unary[(size_t)i * L + x[i]];
  }
  for (int e = 0; e < crf->n_edges; e++) {
    const sr_crf_edge *ed = &crf->edges[e];
    if (x[ed->a] != x[ed->b]) p += ed->w;
  }
  if (unary_part) *unary_part = u;
  if (pairwise_part) *pairwise_part = p;
  return u + p;
}

void sr_crf_unary_argmin(const sr_crf *crf, uint8_t *x) {
  const int L = crf->n_labels;
  for (int i = 0; i < crf->n_nodes; i++) {
    const float *u = crf->unary + (size_t)i * L;
    int best = 0;
    for (int k = 1; k < L; k++)
      if (u[k] < u[best]) best = k;
    x[i] = (uint8_t)best;
  }
}
