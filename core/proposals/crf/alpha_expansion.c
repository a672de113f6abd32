/* alpha_expansion.c: α-expansion (Boykov, Veksler & Zabih 2001) for the
 * Potts CRF of crf.h, each move one s-t minimum cut (Kolmogorov & Zabih
 * 2004 construction) on our Boykov–Kolmogorov max-flow; and the reusable
 * solver state.
 *
 * A move for label α lets every node not labelled α either keep its label
 * (graph node on the source side) or switch to α (sink side); nodes already
 * labelled α are fixed and left out of the graph. Terms:
 *   unary            keep: U_i(x_i)                 switch: U_i(α)
 *   edge to a fixed α node, x_i ≠ α: keep costs w   (a unary term)
 *   edge a–b, x_a = x_b: w·[y_a ≠ y_b]              → arcs a⇄b of capacity w
 *   edge a–b, x_a ≠ x_b: w·(1 − y_a·y_b)            → keep of b costs w, arc a→b of w
 * (y = 1: switch). The move's labelling is accepted only when its energy,
 * recomputed, is strictly lower, so the energy never rises; sweeps go over
 * the labels until one sweep changes nothing. A label is not tried again
 * while nothing changed since its last try (the answer would be the same). */
#include <stdlib.h>
#include <string.h>

#include "crf_solver.h"

sr_crf_solver *sr_crf_solver_new(void) {
  sr_crf_solver *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  s->graph = sr_maxflow_new();
  if (!s->graph) {
    free(s);
    return NULL;
  }
  return s;
}

void sr_crf_solver_free(sr_crf_solver *s) {
  if (!s) return;
  sr_maxflow_free(s->graph);
  free(s->var_of_node);
  free(s->node_of_var);
  free(s->cost_keep);
  free(s->cost_alpha);
  free(s->candidate);
  free(s->div_unary);
  free(s->penalty);
  free(s);
}

static int reserve_nodes(sr_crf_solver *s, int n) {
  if (n <= s->node_capacity) return 0;
  size_t c = (size_t)n;
  int *v = realloc(s->var_of_node, c * sizeof(int));
  if (!v) return -1;
  s->var_of_node = v;
  int *nv = realloc(s->node_of_var, c * sizeof(int));
  if (!nv) return -1;
  s->node_of_var = nv;
  float *k = realloc(s->cost_keep, c * sizeof(float));
  if (!k) return -1;
  s->cost_keep = k;
  float *a = realloc(s->cost_alpha, c * sizeof(float));
  if (!a) return -1;
  s->cost_alpha = a;
  uint8_t *cand = realloc(s->candidate, c);
  if (!cand) return -1;
  s->candidate = cand;
  s->node_capacity = n;
  return 0;
}

/* One α-expansion move from @x (energy *@energy). Returns 1 when it was
 * accepted (x and *energy updated), 0 when not, -1 when out of memory;
 * *@flows counts the max-flows solved. */
static int expansion_move(sr_crf_solver *s, const sr_crf *crf, uint8_t *x, int alpha, double *energy, int *flows) {
  const int n = crf->n_nodes, L = crf->n_labels;
  int *var = s->var_of_node, *node = s->node_of_var;
  float *keep = s->cost_keep, *sw = s->cost_alpha;
  int nv = 0;
  for (int i = 0; i < n; i++) {
    if (x[i] == alpha) {
      var[i] = -1;
      continue;
    }
    const float *u = crf->unary + (size_t)i * L;
    var[i] = nv;
    node[nv] = i;
    keep[nv] = u[x[i]];
    sw[nv] = u[alpha];
    nv++;
  }
  if (nv == 0) return 0;
  sr_maxflow *g = s->graph;
  if (sr_maxflow_reset(g, nv, crf->n_edges)) return -1;
  for (int e = 0; e < crf->n_edges; e++) {
    const sr_crf_edge *ed = &crf->edges[e];
    if (!(ed->w > 0) || ed->a == ed->b) continue;
    int va = var[ed->a], vb = var[ed->b];
    if (va < 0) {
      if (vb >= 0) keep[vb] += ed->w;
    } else if (vb < 0) {
      keep[va] += ed->w;
    } else if (x[ed->a] == x[ed->b]) {
      if (sr_maxflow_add_edge(g, va, vb, ed->w, ed->w)) return -1;
    } else {
      keep[vb] += ed->w;
      if (sr_maxflow_add_edge(g, va, vb, ed->w, 0)) return -1;
    }
  }
  /* source side = keep, so keeping pays the arc to the sink; the smaller of
   * the two costs is a constant of the move (capacities must be ≥ 0) */
  for (int v = 0; v < nv; v++) {
    float lo = keep[v] < sw[v] ? keep[v] : sw[v];
    sr_maxflow_add_tweights(g, v, sw[v] - lo, keep[v] - lo);
  }
  sr_maxflow_solve(g);
  ++*flows;

  uint8_t *cand = s->candidate;
  int any = 0;
  memcpy(cand, x, (size_t)n);
  for (int v = 0; v < nv; v++)
    if (!sr_maxflow_source_side(g, v)) {
      cand[node[v]] = (uint8_t)alpha;
      any = 1;
    }
  if (!any) return 0;
  double e_new = sr_crf_energy(crf, cand, NULL, NULL);
  if (!(e_new < *energy)) return 0;
  memcpy(x, cand, (size_t)n);
  *energy = e_new;
  return 1;
}

int sr_crf_alpha_expansion(sr_crf_solver *s, const sr_crf *crf, uint8_t *x, int max_sweeps) {
  if (!s || sr_crf_check(crf) || (crf->n_nodes > 0 && !x)) return -1;
  const int n = crf->n_nodes, L = crf->n_labels;
  for (int i = 0; i < n; i++)
    if (x[i] >= L) return -1;
  if (reserve_nodes(s, n)) return -1;

  double energy = sr_crf_energy(crf, x, NULL, NULL);
  unsigned version = 1, tried_at[256] = {0}; /* tried_at[α] == version: α gives nothing now */
  int flows = 0;
  for (int sweep = 0; max_sweeps <= 0 || sweep < max_sweeps; sweep++) {
    int changed = 0;
    for (int alpha = 0; alpha < L; alpha++) {
      if (tried_at[alpha] == version) continue;
      int r = expansion_move(s, crf, x, alpha, &energy, &flows);
      if (r < 0) return -1;
      if (r) {
        version++;
        changed = 1;
      }
      tried_at[alpha] = version; /* after a success, α's own move is optimal until x changes again */
    }
    if (!changed) break;
  }
  return flows;
}
