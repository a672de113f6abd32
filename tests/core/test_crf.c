/* test_crf.c: the Potts CRF of core/proposals/crf: its energy and parts on a
 * hand-made example; unary argmin ties; α-expansion never raises the energy
 * (random CRFs, random starts, also with a sweep limit), equals the
 * brute-force minimum (all labellings) with 2 labels where it is exact, and
 * with more labels is a local optimum: no expansion move, found by brute
 * force over the whole binary move space, lowers the energy (and the result
 * is within the factor 2 bound for non-negative energies). DivMBest:
 * solution 0 is α-expansion from the unary argmin, reported energies and
 * parts are sr_crf_energy under the original CRF, solutions are pairwise
 * different when λ > 0 (fewer only when the problem runs out of labellings),
 * solution 1 of a 2-label problem is the exact MAP of the diversity-augmented
 * unary, and λ = 0 repeats the MAP M times (the duplicate rule applies only
 * when λ > 0). Malformed input is refused with -1. */
#include <string.h>

#include "proposals/crf/crf.h"
#include "test_util.h"

#define MAX_NODES 64
#define MAX_EDGES 256

typedef struct {
  sr_crf crf;
  float unary[MAX_NODES * 8];
  sr_crf_edge edges[MAX_EDGES];
} problem_t;

/* A random CRF: random edges (some parallel, some self loops, some zero
 * weight), unaries normal (or non-negative when @nonneg), weights scaled by
 * @pairwise_scale so both terms matter. */
static void random_problem(problem_t *p, sr_rng *r, int n, int L, int m, double pairwise_scale, int nonneg) {
  p->crf.n_nodes = n;
  p->crf.n_labels = L;
  p->crf.unary = p->unary;
  p->crf.n_edges = m;
  p->crf.edges = p->edges;
  for (int i = 0; i < n * L; i++) {
    double u = sr_rng_normal(r);
    p->unary[i] = (float)(nonneg ? fabs(u) : u);
  }
  for (int e = 0; e < m; e++) {
    p->edges[e].a = (int)(sr_rng_uniform(r) * n);
    p->edges[e].b = (int)(sr_rng_uniform(r) * n);
    p->edges[e].w = sr_rng_uniform(r) < 0.1 ? 0.0f : (float)(pairwise_scale * sr_rng_uniform(r));
  }
}

/* Minimum energy over all L^n labellings (written to @best). */
static double brute_force(const sr_crf *crf, uint8_t *best) {
  int n = crf->n_nodes, L = crf->n_labels;
  uint8_t x[MAX_NODES] = {0};
  double emin = INFINITY;
  for (;;) {
    double e = sr_crf_energy(crf, x, NULL, NULL);
    if (e < emin) {
      emin = e;
      memcpy(best, x, (size_t)n);
    }
    int i = 0;
    while (i < n && ++x[i] == L) x[i++] = 0;
    if (i == n) break;
  }
  return emin;
}

/* Lowest energy over every α-expansion move from @x (all 2^(non-α nodes)
 * subsets switched to α, for every α). */
static double best_expansion_move(const sr_crf *crf, const uint8_t *x) {
  int n = crf->n_nodes;
  double best = INFINITY;
  for (int alpha = 0; alpha < crf->n_labels; alpha++) {
    int free_nodes[MAX_NODES], nf = 0;
    for (int i = 0; i < n; i++)
      if (x[i] != alpha) free_nodes[nf++] = i;
    uint8_t y[MAX_NODES];
    for (unsigned mask = 0; mask < (1u << nf); mask++) {
      memcpy(y, x, (size_t)n);
      for (int k = 0; k < nf; k++)
        if ((mask >> k) & 1) y[free_nodes[k]] = (uint8_t)alpha;
      double e = sr_crf_energy(crf, y, NULL, NULL);
      if (e < best) best = e;
    }
  }
  return best;
}

static int tol_le(double a, double b) { return a <= b + 1e-5 * fmax(1.0, fabs(b)); }

static void test_energy(void) {
  float unary[3 * 2] = {1, 2, /**/ 0.5f, 4, /**/ 3, 0.25f};
  sr_crf_edge edges[3] = {{0, 1, 0.5f}, {1, 2, 2.0f}, {0, 2, 8.0f}};
  sr_crf crf = {3, 2, unary, 3, edges};
  uint8_t x[3] = {0, 0, 1};
  double u, p, e = sr_crf_energy(&crf, x, &u, &p);
  CHECK(u == 1.75 && p == 10.0 && e == 11.75, "energy of (0,0,1): %g = %g + %g, expected 11.75 = 1.75 + 10", e, u, p);
  uint8_t y[3] = {1, 0, 1};
  e = sr_crf_energy(&crf, y, &u, &p);
  CHECK(u == 2.75 && p == 2.5 && e == 5.25, "energy of (1,0,1): %g = %g + %g, expected 5.25 = 2.75 + 2.5", e, u, p);
  CHECK(sr_crf_energy(&crf, y, NULL, NULL) == 5.25, "energy without parts");

  float tied[2 * 3] = {1, 1, 2, /**/ 3, 0, 0};
  sr_crf t = {2, 3, tied, 0, NULL};
  uint8_t a[2];
  sr_crf_unary_argmin(&t, a);
  CHECK(a[0] == 0 && a[1] == 1, "unary argmin with ties: %d %d, expected 0 1", a[0], a[1]);
  printf("energy parts on a hand-made 3-node CRF, argmin ties: checked\n");
}

static void test_alpha_expansion(sr_crf_solver *s, sr_rng *r) {
  /* never raises the energy: random CRFs, random starts, with and without a sweep limit */
  int raised = 0, runs = 0;
  for (int t = 0; t < 300; t++) {
    problem_t p;
    int n = 10 + (int)(sr_rng_uniform(r) * 50), L = 2 + (int)(sr_rng_uniform(r) * 6);
    random_problem(&p, r, n, L, 3 * n, 0.3 + 2 * sr_rng_uniform(r), 0);
    for (int start = 0; start < 5; start++) {
      uint8_t x[MAX_NODES];
      for (int i = 0; i < n; i++) x[i] = (uint8_t)(sr_rng_uniform(r) * L);
      double e0 = sr_crf_energy(&p.crf, x, NULL, NULL);
      int flows = sr_crf_alpha_expansion(s, &p.crf, x, start == 4 ? 1 : 0);
      double e1 = sr_crf_energy(&p.crf, x, NULL, NULL);
      int valid = flows >= 1;
      for (int i = 0; i < n; i++) valid &= x[i] < L;
      CHECK(valid, "problem %d start %d: %d flows or a label out of range", t, start, flows);
      if (!(e1 <= e0)) {
        raised++;
        CHECK(0, "problem %d start %d: energy raised from %.9g to %.9g", t, start, e0, e1);
      }
      runs++;
    }
  }
  printf("alpha-expansion raised the energy in %d of %d runs (random CRFs of 10-59 nodes, 2-7 labels)\n", raised, runs);

  /* 2 labels: exact */
  int exact = 0, tries = 0;
  for (int t = 0; t < 300; t++) {
    problem_t p;
    int n = 2 + (int)(sr_rng_uniform(r) * 11);
    random_problem(&p, r, n, 2, 2 * n, 0.5 + 3 * sr_rng_uniform(r), 0);
    uint8_t x[MAX_NODES], best[MAX_NODES];
    for (int i = 0; i < n; i++) x[i] = (uint8_t)(sr_rng_uniform(r) * 2);
    sr_crf_alpha_expansion(s, &p.crf, x, 0);
    double e = sr_crf_energy(&p.crf, x, NULL, NULL), eb = brute_force(&p.crf, best);
    int ok = tol_le(e, eb);
    CHECK(ok, "2-label problem %d (n=%d): alpha-expansion %.9g, brute force %.9g", t, n, e, eb);
    exact += ok;
    tries++;
  }
  printf("2 labels: alpha-expansion at the brute-force minimum in %d / %d problems (n <= 12)\n", exact, tries);

  /* more labels: local optimum over the whole expansion move space, factor 2 bound */
  int local = 0, bound = 0, at_optimum = 0;
  tries = 0;
  for (int t = 0; t < 150; t++) {
    problem_t p;
    int L = 3 + t % 3, n = L == 3 ? 8 : L == 4 ? 7 : 6;
    random_problem(&p, r, n, L, 2 * n, 0.5 + 3 * sr_rng_uniform(r), 1);
    uint8_t x[MAX_NODES], best[MAX_NODES];
    if (t % 2)
      sr_crf_unary_argmin(&p.crf, x);
    else
      for (int i = 0; i < n; i++) x[i] = (uint8_t)(sr_rng_uniform(r) * L);
    sr_crf_alpha_expansion(s, &p.crf, x, 0);
    double e = sr_crf_energy(&p.crf, x, NULL, NULL), em = best_expansion_move(&p.crf, x);
    double eb = brute_force(&p.crf, best);
    int lo = tol_le(e, em), bo = tol_le(e, 2 * eb);
    CHECK(lo, "%d-label problem %d: an expansion move lowers %.9g to %.9g", L, t, e, em);
    CHECK(bo, "%d-label problem %d: %.9g above twice the minimum %.9g", L, t, e, eb);
    local += lo;
    bound += bo;
    at_optimum += tol_le(e, eb);
    tries++;
  }
  printf(
      "3-5 labels: no better expansion move in %d / %d, within 2x the minimum in %d / %d, at the minimum in %d "
      "(not required)\n",
      local, tries, bound, tries, at_optimum);

  /* bad input */
  {
    problem_t p;
    random_problem(&p, r, 5, 3, 4, 1, 0);
    uint8_t x[5] = {0, 1, 2, 3, 0};
    CHECK(sr_crf_alpha_expansion(s, &p.crf, x, 0) == -1, "label 3 of 3 accepted");
    x[3] = 0;
    p.edges[2].b = 5;
    CHECK(sr_crf_alpha_expansion(s, &p.crf, x, 0) == -1, "edge to node 5 of 5 accepted");
    p.edges[2].b = 4;
    p.edges[1].w = -1;
    CHECK(sr_crf_alpha_expansion(s, &p.crf, x, 0) == -1, "negative Potts weight accepted");
    p.edges[1].w = NAN;
    CHECK(sr_crf_alpha_expansion(s, &p.crf, x, 0) == -1, "NaN Potts weight accepted");
    p.edges[1].w = 1;
    p.unary[7] = INFINITY;
    CHECK(sr_crf_alpha_expansion(s, &p.crf, x, 0) == -1, "infinite unary accepted");
    p.unary[7] = 0;
    CHECK(sr_crf_alpha_expansion(s, &p.crf, x, 0) >= 0, "the repaired CRF refused");
    printf("labels and edges out of range, negative and NaN weights, infinite unaries: refused\n");
  }
}

static int same(const uint8_t *a, const uint8_t *b, int n) { return memcmp(a, b, (size_t)n) == 0; }

/* The DivMBest step after @m solutions, as crf.h defines it, built here:
 * for λ·2^k (k = 0..8) the unary U + λ·2^k·Σ_{m' < m} w_i·[k = x^m'_i] (same
 * float arithmetic as the library: weights summed per entry, then scaled),
 * α-expansion from its argmin; the first labelling not among the earlier
 * ones goes to @out (returns 1), or none is found (returns 0). */
static int reference_step(sr_crf_solver *s, const sr_crf *crf, const sr_divmbest_params *dp, const uint8_t *sol, int m,
                          uint8_t *out) {
  int n = crf->n_nodes, L = crf->n_labels;
  float penalty[MAX_NODES * 8] = {0}, aug[MAX_NODES * 8];
  for (int j = 0; j < m; j++)
    for (int i = 0; i < n; i++) penalty[i * L + sol[j * n + i]] += dp->node_weight ? dp->node_weight[i] : 1.0f;
  sr_crf c = *crf;
  c.unary = aug;
  float lambda = dp->lambda;
  for (int k = 0; k <= 8; k++, lambda *= 2) {
    for (int t = 0; t < n * L; t++) aug[t] = crf->unary[t] + lambda * penalty[t];
    sr_crf_unary_argmin(&c, out);
    sr_crf_alpha_expansion(s, &c, out, dp->max_sweeps);
    int seen = 0;
    for (int j = 0; j < m; j++) seen |= memcmp(out, sol + j * n, (size_t)n) == 0;
    if (!seen) return 1;
  }
  return 0;
}

static void test_divmbest(sr_crf_solver *s, sr_rng *r) {
  enum { M = 6 };
  int distinct_ok = 0, first_ok = 0, energy_ok = 0, tries = 0, full = 0, defined_ok = 0;
  for (int t = 0; t < 100; t++) {
    problem_t p;
    int n = 8 + (int)(sr_rng_uniform(r) * 40), L = 2 + (int)(sr_rng_uniform(r) * 5);
    random_problem(&p, r, n, L, 3 * n, 0.3 + 2 * sr_rng_uniform(r), 0);
    float weight[MAX_NODES];
    for (int i = 0; i < n; i++) weight[i] = (float)(0.5 + sr_rng_uniform(r));
    sr_divmbest_params dp = {M, (float)(0.02 + 0.5 * sr_rng_uniform(r)), t % 2 ? weight : NULL, 0};
    uint8_t sol[M * MAX_NODES], map[MAX_NODES];
    double e[M], u[M], pw[M];
    int flows = -7;
    int got = sr_divmbest(s, &p.crf, &dp, sol, e, u, pw, &flows);
    CHECK(got >= 1 && got <= M && flows >= got, "problem %d: %d solutions, %d flows", t, got, flows);
    if (got < 1) continue;
    uint8_t ref[MAX_NODES];
    int as_defined = 1;
    for (int m = 1; m < got; m++)
      as_defined &= reference_step(s, &p.crf, &dp, sol, m, ref) && same(ref, sol + m * n, n);
    if (got < M) as_defined &= !reference_step(s, &p.crf, &dp, sol, got, ref); /* stopped early: rightly */
    CHECK(as_defined, "problem %d: the %d solutions are not the DivMBest steps as crf.h defines them", t, got);
    full += got == M;
    defined_ok += as_defined;
    sr_crf_unary_argmin(&p.crf, map);
    sr_crf_alpha_expansion(s, &p.crf, map, 0);
    int f = same(map, sol, n), d = 1, en = 1;
    for (int a = 0; a < got; a++) {
      for (int b = 0; b < a; b++) d &= !same(sol + a * n, sol + b * n, n);
      double uu, pp, ee = sr_crf_energy(&p.crf, sol + a * n, &uu, &pp);
      en &= ee == e[a] && uu == u[a] && pp == pw[a];
    }
    CHECK(f, "problem %d: solution 0 is not the alpha-expansion MAP", t);
    CHECK(d, "problem %d: two solutions equal", t);
    CHECK(en, "problem %d: reported energies differ from sr_crf_energy", t);
    first_ok += f;
    distinct_ok += d;
    energy_ok += en;
    tries++;
  }
  printf(
      "DivMBest, M = %d, lambda in [0.02, 0.52]: solution 0 = MAP in %d / %d, pairwise different in %d, energies "
      "= sr_crf_energy in %d, each step as defined (unary argmin start, lambda doubling, early stop) in %d, all %d "
      "found in %d\n",
      M, first_ok, tries, distinct_ok, energy_ok, defined_ok, M, full);

  /* solution 1 of a 2-label problem is the exact MAP of U + λ·w·[k = x^0_i] (unless that repeats x^0) */
  int exact = 0, checked = 0;
  for (int t = 0; t < 200; t++) {
    problem_t p, aug;
    int n = 3 + (int)(sr_rng_uniform(r) * 9);
    random_problem(&p, r, n, 2, 2 * n, 0.5 + 2 * sr_rng_uniform(r), 0);
    float weight[MAX_NODES];
    for (int i = 0; i < n; i++) weight[i] = (float)(0.2 + 2 * sr_rng_uniform(r));
    sr_divmbest_params dp = {2, (float)(0.1 + sr_rng_uniform(r)), weight, 0};
    uint8_t sol[2 * MAX_NODES], best[MAX_NODES];
    if (sr_divmbest(s, &p.crf, &dp, sol, NULL, NULL, NULL, NULL) != 2) {
      CHECK(0, "2-label problem %d: fewer than 2 solutions", t);
      continue;
    }
    aug = p;
    aug.crf.unary = aug.unary;
    for (int i = 0; i < n; i++) aug.unary[i * 2 + sol[i]] += dp.lambda * weight[i];
    double eb = brute_force(&aug.crf, best);
    if (same(best, sol, n)) continue; /* the augmented MAP repeats x^0: λ was doubled */
    double e1 = sr_crf_energy(&aug.crf, sol + n, NULL, NULL);
    int ok = tol_le(e1, eb);
    CHECK(ok, "2-label problem %d: solution 1 has augmented energy %.9g, augmented minimum %.9g", t, e1, eb);
    exact += ok;
    checked++;
  }
  printf("DivMBest solution 1 = exact MAP of the diversity-augmented 2-label CRF: %d / %d\n", exact, checked);

  /* fewer labellings than asked: 2 nodes × 2 labels have 4 */
  {
    float un[4] = {0, 1, 0, 1};
    sr_crf_edge ed[1] = {{0, 1, 0.3f}};
    sr_crf c = {2, 2, un, 1, ed};
    sr_divmbest_params dp = {10, 0.5f, NULL, 0};
    uint8_t sol[20];
    int got = sr_divmbest(s, &c, &dp, sol, NULL, NULL, NULL, NULL), d = 1;
    for (int a = 0; a < got; a++)
      for (int b = 0; b < a; b++) d &= !same(sol + 2 * a, sol + 2 * b, 2);
    CHECK(got >= 2 && got <= 4 && d, "2x2 problem, 10 asked: %d solutions, pairwise different %d", got, d);
    printf("2 nodes x 2 labels, 10 solutions asked: %d returned, pairwise different: %s\n", got, d ? "yes" : "no");
  }

  /* the doubling bound: one node, unary (0, D), λ = 1: the second label wins
   * once λ·2^k > D, so D = 200 needs the 8th doubling and D = 300 is out of reach */
  {
    float un[2] = {0, 200};
    sr_crf c = {1, 2, un, 0, NULL};
    sr_divmbest_params dp = {3, 1.0f, NULL, 0};
    uint8_t sol[3];
    int got200 = sr_divmbest(s, &c, &dp, sol, NULL, NULL, NULL, NULL);
    int second = got200 >= 2 && sol[0] == 0 && sol[1] == 1;
    un[1] = 300;
    int got300 = sr_divmbest(s, &c, &dp, sol, NULL, NULL, NULL, NULL);
    CHECK(got200 == 2 && second && got300 == 1,
          "lambda doubling: %d solutions for D = 200 (expected 2: 0 then 1), %d "
          "for D = 300 (expected 1)",
          got200, got300);
    printf("lambda doubled up to 8 times: D = 200 reached (%d solutions), D = 300 not (%d)\n", got200, got300);
  }

  /* λ = 0: no diversity, no duplicate rule: M copies of the MAP */
  {
    problem_t p;
    random_problem(&p, r, 30, 4, 90, 1, 0);
    sr_divmbest_params dp = {5, 0, NULL, 0};
    uint8_t sol[5 * 30], map[30];
    int got = sr_divmbest(s, &p.crf, &dp, sol, NULL, NULL, NULL, NULL), copies = 0;
    sr_crf_unary_argmin(&p.crf, map);
    sr_crf_alpha_expansion(s, &p.crf, map, 0);
    for (int a = 0; a < got; a++) copies += same(sol + 30 * a, map, 30);
    CHECK(got == 5 && copies == 5, "lambda 0: %d solutions, %d equal to the MAP", got, copies);
    printf("lambda = 0: %d solutions, %d of them the MAP\n", got, copies);

    dp.lambda = -1;
    CHECK(sr_divmbest(s, &p.crf, &dp, sol, NULL, NULL, NULL, NULL) == -1, "negative lambda accepted");
    dp.lambda = 0.1f;
    dp.n_solutions = 0;
    CHECK(sr_divmbest(s, &p.crf, &dp, sol, NULL, NULL, NULL, NULL) == -1, "0 solutions accepted");
  }
}

int main(void) {
  sr_rng r;
  sr_rng_seed(&r, 2012);
  sr_crf_solver *s = sr_crf_solver_new();
  CHECK(s, "sr_crf_solver_new failed");
  if (!s) return 1;
  test_energy();
  test_alpha_expansion(s, &r);
  test_divmbest(s, &r);
  sr_crf_solver_free(s);
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
