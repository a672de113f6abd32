/* crf.h: the graphical model of the proposal source: a pairwise CRF over
 * superpixels with a Potts pairwise term, its energy, α-expansion on our own
 * Boykov–Kolmogorov max-flow, and DivMBest (Batra et al. 2012) for M diverse
 * low-energy solutions. Labels are uint8 (at most 255 classes). */
#ifndef SR_CRF_H
#define SR_CRF_H

#include <stdint.h>

#include "../../status.h"

/* A Potts edge: cost @w when x_a != x_b (w ≥ 0). */
typedef struct {
  int a, b;
  float w;
} sr_crf_edge;

typedef struct {
  int n_nodes, n_labels;
  const float *unary; /* n_nodes × n_labels: cost of node i taking label k */
  int n_edges;
  const sr_crf_edge *edges;
} sr_crf;

/* E(x) = Σ_i U_i(x_i) + Σ_(a,b) w_ab [x_a ≠ x_b]; the two parts go to
 * @unary_part / @pairwise_part (nullable). Labels must be < n_labels (the
 * unary part is NaN otherwise). */
double sr_crf_energy(const sr_crf *crf, const uint8_t *x, double *unary_part, double *pairwise_part);

/* Reusable solver state (graph storage grows as needed). */
typedef struct sr_crf_solver sr_crf_solver;
sr_crf_solver *sr_crf_solver_new(void);
void sr_crf_solver_free(sr_crf_solver *s);

/* α-expansion: starting from @x (in: an initial labelling, out: the result),
 * sweeps over labels until no expansion lowers the energy or @max_sweeps
 * (0: no limit) sweeps are done. Never raises the energy: a move is taken
 * only when its recomputed energy is strictly lower. A label is skipped in a
 * sweep when nothing changed since its own last try. Returns the number of
 * max-flows solved, or -1 when out of memory or when @crf is malformed
 * (n_labels outside 1..255, a unary not finite, an edge end out of range, a
 * weight negative or not finite) or @x has a label ≥ n_labels. */
int sr_crf_alpha_expansion(sr_crf_solver *s, const sr_crf *crf, uint8_t *x, int max_sweeps);

/* Per-node argmin of the unary (ties: lowest label). */
void sr_crf_unary_argmin(const sr_crf *crf, uint8_t *x);

typedef struct {
  int n_solutions;          /* M ≥ 1 */
  float lambda;             /* diversity weight (≥ 0) */
  const float *node_weight; /* n_nodes (nullable: 1): scales node i's diversity term */
  int max_sweeps;           /* per α-expansion (0: until convergence) */
} sr_divmbest_params;

/* DivMBest: solution 0 is the MAP (α-expansion from the unary argmin);
 * solution m is the α-expansion MAP of U_i(k) + λ·node_weight_i·#{m' < m :
 * x^m'_i = k} + pairwise, started from the argmin of that augmented unary.
 * When λ > 0 and a solution repeats an earlier one, that step is solved
 * again with λ doubled (up to 8 times: λ·2, …, λ·256, for that step only),
 * so returned solutions are pairwise different. When all 8 still repeat, it
 * stops there (nothing changes for later steps): fewer solutions than asked
 * are returned, which happens when the problem has fewer labellings, or when
 * the earlier solutions' penalties balance out (e.g. two labels, x^0 and x^1
 * complementary). With λ = 0 the duplicate rule does not apply: the M
 * solutions are all the MAP. Writes @solutions (n_solutions × n_nodes) and,
 * per solution, its energy under the original CRF and the two parts (each
 * array nullable). Returns the number of solutions written, or -1 when out of
 * memory or the CRF (see sr_crf_alpha_expansion) or @p is invalid
 * (n_solutions < 1, λ negative or not finite); @flows (nullable) gets the
 * max-flow count. */
int sr_divmbest(sr_crf_solver *s, const sr_crf *crf, const sr_divmbest_params *p, uint8_t *solutions,
                double *energy, double *unary_part, double *pairwise_part, int *flows);

#endif
