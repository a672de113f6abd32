/* divmbest.c: DivMBest (Batra, Yadollahpour, Guzman-Rivera & Shakhnarovich,
 * "Diverse M-Best Solutions in Markov Random Fields", ECCV 2012) with the
 * Hamming diversity term: solution m is the α-expansion MAP of the CRF whose
 * unary is U_i(k) + λ·node_weight_i·#{m' < m : x^m'_i = k}. Each solution's
 * α-expansion starts from the argmin of its own (augmented) unary. When
 * λ > 0 and a solution repeats an earlier one, the step is solved again with
 * λ doubled, up to 8 times; the doubled λ applies to that step only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crf_solver.h"

static int reserve_tables(sr_crf_solver *s, size_t count) {
  if (count <= s->table_capacity) return 0;
  float *u = realloc(s->div_unary, count * sizeof(float));
  if (!u) return -1;
  s->div_unary = u;
  float *p = realloc(s->penalty, count * sizeof(float));
  if (!p) return -1;
  s->penalty = p;
  s->table_capacity = count;
  return 0;
}

static int repeats_earlier(const uint8_t *solutions, int m, size_t n) {
  for (int k = 0; k < m; k++)
    if (memcmp(solutions + (size_t)k * n, solutions + (size_t)m * n, n) == 0) return 1;
  return 0;
}

enum { MAX_LAMBDA_DOUBLINGS = 8 };

int sr_divmbest(sr_crf_solver *s, const sr_crf *crf, const sr_divmbest_params *p, uint8_t *solutions, double *energy,
                double *unary_part, double *pairwise_part, int *flows) {
  if (flows) *flows = 0;
  if (!s || !p || sr_crf_check(crf) || p->n_solutions < 1 || !(p->lambda >= 0) || isinf(p->lambda)) return -1;
  const int n = crf->n_nodes, L = crf->n_labels;
  if (n > 0 && !solutions) return -1;
  const size_t table = (size_t)n * L;
  if (reserve_tables(s, table)) return -1;
  memset(s->penalty, 0, table * sizeof(float));

  sr_crf augmented = *crf;
  augmented.unary = s->div_unary;
  int total_flows = 0, written = 0;
  for (int m = 0; m < p->n_solutions; m++) {
    uint8_t *x = solutions + (size_t)m * n;
    float lambda = p->lambda;
    int found = 0;
    for (int attempt = 0; attempt <= MAX_LAMBDA_DOUBLINGS; attempt++, lambda *= 2) {
      const sr_crf *problem = crf;
      if (m > 0 && lambda > 0) {
        for (size_t t = 0; t < table; t++) s->div_unary[t] = crf->unary[t] + lambda * s->penalty[t];
        problem = &augmented;
      }
      sr_crf_unary_argmin(problem, x);
      int r = sr_crf_alpha_expansion(s, problem, x, p->max_sweeps);
      if (r < 0) return -1;
      total_flows += r;
      if (flows) *flows = total_flows;
      if (!(p->lambda > 0) || !repeats_earlier(solutions, m, (size_t)n)) {
        found = 1;
        break;
      }
    }
    if (!found) break;
    for (int i = 0; i < n; i++) s->penalty[(size_t)i * L + x[i]] += p->node_weight ? p->node_weight[i] : 1.0f;
    if (energy || unary_part || pairwise_part) {
      double u, pw, e = sr_crf_energy(crf, x, &u, &pw);
      if (energy) energy[m] = e;
      if (unary_part) unary_part[m] = u;
      if (pairwise_part) pairwise_part[m] = pw;
    }
    written++;
  }
  return written;
}
