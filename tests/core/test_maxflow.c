/* test_maxflow.c: the Boykov–Kolmogorov max-flow of core/proposals/crf
 * against two plain references: the minimum over all 2^n cuts on tiny
 * random graphs (n ≤ 12), and Edmonds–Karp (shortest augmenting paths, in
 * double) on random grid-plus-long-edge and unstructured graphs of a few
 * hundred nodes. For every graph the flow must match the reference within
 * 1e-4 relative and the cut the solver returns (source_side) must have a
 * capacity equal to the flow; with integer capacities the flow is exact and
 * the source side the smallest of all minimum cuts (as maxflow.h says).
 * Also: one solver object reused across resets of growing and shrinking
 * sizes, a repeated graph giving the same answer, zero capacities, isolated
 * nodes, self loops and parallel edges. */
#include <string.h>

#include "proposals/crf/maxflow.h"
#include "test_util.h"

#define MAX_TINY 12

typedef struct {
  int i, j;
  double cap, rev;
} edge_t;

typedef struct {
  int n, n_edges;
  double *cs, *ct; /* terminal capacities */
  edge_t *e;
} graph_t;

static void graph_alloc(graph_t *g, int n, int max_edges) {
  g->n = n;
  g->n_edges = 0;
  g->cs = calloc((size_t)n, sizeof(double));
  g->ct = calloc((size_t)n, sizeof(double));
  g->e = calloc((size_t)max_edges, sizeof(edge_t));
}

static void graph_release(graph_t *g) {
  free(g->cs);
  free(g->ct);
  free(g->e);
}

/* A capacity: 0 with probability @p_zero, else uniform (or a small integer). */
static double random_cap(sr_rng *r, double p_zero, int integer) {
  if (sr_rng_uniform(r) < p_zero) return 0;
  if (integer) return (double)(1 + (int)(sr_rng_uniform(r) * 9));
  return (double)(float)(0.01 + 10 * sr_rng_uniform(r));
}

/* Loads @g into the solver: terminal capacities split over two calls (they
 * accumulate), edges as given. */
static int load(sr_maxflow *mf, const graph_t *g) {
  if (sr_maxflow_reset(mf, g->n, g->n_edges / 2)) return -1; /* a low hint: edges must grow storage */
  for (int i = 0; i < g->n; i++) {
    float cs = (float)g->cs[i], ct = (float)g->ct[i];
    sr_maxflow_add_tweights(mf, i, cs * 0.5f, 0);
    sr_maxflow_add_tweights(mf, i, cs - cs * 0.5f, ct);
  }
  for (int k = 0; k < g->n_edges; k++)
    if (sr_maxflow_add_edge(mf, g->e[k].i, g->e[k].j, (float)g->e[k].cap, (float)g->e[k].rev)) return -1;
  return 0;
}

/* Capacity of the cut whose source side is {i : side[i]}. */
static double cut_capacity(const graph_t *g, const int *side) {
  double c = 0;
  for (int i = 0; i < g->n; i++) c += side[i] ? g->ct[i] : g->cs[i];
  for (int k = 0; k < g->n_edges; k++) {
    const edge_t *e = &g->e[k];
    if (side[e->i] && !side[e->j]) c += e->cap;
    if (side[e->j] && !side[e->i]) c += e->rev;
  }
  return c;
}

/* With integer capacities (exact sums): 1 when the source side @side lies
 * inside the source side of every minimum cut (the smallest one, the nodes
 * reachable from the source in the residual graph). */
static int smallest_source_side(const graph_t *g, const int *side, double min_cut) {
  int other[MAX_TINY];
  for (unsigned mask = 0; mask < (1u << g->n); mask++) {
    for (int i = 0; i < g->n; i++) other[i] = (mask >> i) & 1;
    if (cut_capacity(g, other) != min_cut) continue;
    for (int i = 0; i < g->n; i++)
      if (side[i] && !other[i]) return 0;
  }
  return 1;
}

static double brute_min_cut(const graph_t *g) {
  int side[MAX_TINY];
  double best = INFINITY;
  for (unsigned mask = 0; mask < (1u << g->n); mask++) {
    for (int i = 0; i < g->n; i++) side[i] = (mask >> i) & 1;
    double c = cut_capacity(g, side);
    if (c < best) best = c;
  }
  return best;
}

/* Edmonds–Karp on a residual graph in double: nodes 0..n-1, source n, sink n+1. */
typedef struct {
  int n_nodes, n_arcs;
  int *first, *next, *head;
  double *cap;
} ek_t;

static void ek_arc(ek_t *k, int u, int v, double c, double rc) {
  int a = k->n_arcs;
  k->head[a] = v;
  k->cap[a] = c;
  k->next[a] = k->first[u];
  k->first[u] = a;
  k->head[a + 1] = u;
  k->cap[a + 1] = rc;
  k->next[a + 1] = k->first[v];
  k->first[v] = a + 1;
  k->n_arcs += 2;
}

static double edmonds_karp(const graph_t *g) {
  ek_t k;
  int nn = g->n + 2, s = g->n, t = g->n + 1, max_arcs = 2 * (g->n_edges + 2 * g->n);
  k.n_nodes = nn;
  k.n_arcs = 0;
  k.first = malloc(sizeof(int) * (size_t)nn);
  k.next = malloc(sizeof(int) * (size_t)max_arcs);
  k.head = malloc(sizeof(int) * (size_t)max_arcs);
  k.cap = malloc(sizeof(double) * (size_t)max_arcs);
  for (int i = 0; i < nn; i++) k.first[i] = -1;
  for (int i = 0; i < g->n; i++) {
    ek_arc(&k, s, i, g->cs[i], 0);
    ek_arc(&k, i, t, g->ct[i], 0);
  }
  for (int e = 0; e < g->n_edges; e++) ek_arc(&k, g->e[e].i, g->e[e].j, g->e[e].cap, g->e[e].rev);
  int *pred = malloc(sizeof(int) * (size_t)nn), *queue = malloc(sizeof(int) * (size_t)nn);
  double flow = 0;
  for (;;) {
    for (int i = 0; i < nn; i++) pred[i] = -1;
    int qh = 0, qt = 0;
    queue[qt++] = s;
    pred[s] = -2;
    while (qh < qt && pred[t] == -1) {
      int u = queue[qh++];
      for (int a = k.first[u]; a >= 0; a = k.next[a])
        if (k.cap[a] > 1e-12 && pred[k.head[a]] == -1) {
          pred[k.head[a]] = a;
          queue[qt++] = k.head[a];
        }
    }
    if (pred[t] == -1) break;
    double b = INFINITY;
    for (int v = t; v != s; v = k.head[pred[v] ^ 1]) b = fmin(b, k.cap[pred[v]]);
    for (int v = t; v != s; v = k.head[pred[v] ^ 1]) {
      k.cap[pred[v]] -= b;
      k.cap[pred[v] ^ 1] += b;
    }
    flow += b;
  }
  free(pred);
  free(queue);
  free(k.first);
  free(k.next);
  free(k.head);
  free(k.cap);
  return flow;
}

static int close_rel(double a, double b, double rel) { return fabs(a - b) <= rel * fmax(1.0, fmax(fabs(a), fabs(b))); }

/* Solves @g with @mf and checks flow against @reference and the returned cut. */
static int check_graph(sr_maxflow *mf, const graph_t *g, double reference, const char *what, int index, int integer) {
  if (load(mf, g)) {
    CHECK(0, "%s %d: out of memory", what, index);
    return 0;
  }
  double flow = sr_maxflow_solve(mf);
  int *side = malloc(sizeof(int) * (size_t)(g->n ? g->n : 1));
  for (int i = 0; i < g->n; i++) side[i] = sr_maxflow_source_side(mf, i);
  double cut = cut_capacity(g, side);
  int ok = close_rel(flow, reference, 1e-4) && close_rel(cut, flow, 1e-4);
  CHECK(ok, "%s %d (n=%d, %d edges): flow %.9g, reference %.9g, returned cut %.9g", what, index, g->n, g->n_edges, flow,
        reference, cut);
  if (ok && integer) {
    int smallest = flow == reference && smallest_source_side(g, side, reference);
    CHECK(smallest, "%s %d: integer capacities: flow %.9g (exact %.9g), source side not the smallest", what, index,
          flow, reference);
    ok = smallest;
  }
  free(side);
  return ok;
}

static void random_tiny(graph_t *g, sr_rng *r, int integer) {
  int n = 1 + (int)(sr_rng_uniform(r) * MAX_TINY);
  int m = (int)(sr_rng_uniform(r) * 3 * n);
  graph_alloc(g, n, m);
  double p_zero = sr_rng_uniform(r) * 0.6;
  for (int i = 0; i < n; i++) {
    g->cs[i] = random_cap(r, p_zero + 0.2, integer);
    g->ct[i] = random_cap(r, p_zero + 0.2, integer);
  }
  for (int k = 0; k < m; k++) {
    edge_t *e = &g->e[g->n_edges++];
    e->i = (int)(sr_rng_uniform(r) * n);
    e->j = (int)(sr_rng_uniform(r) * n); /* may be a self loop or a parallel edge */
    e->cap = random_cap(r, p_zero, integer);
    e->rev = random_cap(r, p_zero + 0.3, integer);
  }
}

/* A vision-like graph: a w×h grid (4-neighbours) plus random long edges,
 * unaries of both signs as terminal capacities. */
static void random_grid(graph_t *g, sr_rng *r, int w, int h, int extra) {
  int n = w * h;
  graph_alloc(g, n, 2 * n + extra);
  for (int i = 0; i < n; i++) {
    double u = 4 * sr_rng_normal(r);
    g->cs[i] = u > 0 ? (float)u : 0;
    g->ct[i] = u < 0 ? (float)-u : 0;
    if (sr_rng_uniform(r) < 0.1) g->ct[i] += (float)sr_rng_uniform(r); /* both terminals at once */
  }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int i = y * w + x;
      double c = (float)(3 * sr_rng_uniform(r));
      if (x + 1 < w) g->e[g->n_edges++] = (edge_t){i, i + 1, c, (float)(3 * sr_rng_uniform(r))};
      if (y + 1 < h) g->e[g->n_edges++] = (edge_t){i, i + w, (float)(3 * sr_rng_uniform(r)), c};
    }
  for (int k = 0; k < extra; k++) {
    int i = (int)(sr_rng_uniform(r) * n), j = (int)(sr_rng_uniform(r) * n);
    g->e[g->n_edges++] = (edge_t){i, j, (float)sr_rng_uniform(r), (float)sr_rng_uniform(r)};
  }
}

int main(void) {
  sr_rng r;
  sr_rng_seed(&r, 20140711);
  sr_maxflow *mf = sr_maxflow_new();
  CHECK(mf, "sr_maxflow_new failed");
  if (!mf) return 1;

  /* 1. tiny graphs against all 2^n cuts, float and integer capacities */
  int tiny_ok = 0, tiny = 3000, tiny_int = 0;
  for (int t = 0; t < tiny; t++) {
    graph_t g;
    int integer = t % 3 == 0;
    random_tiny(&g, &r, integer);
    tiny_ok += check_graph(mf, &g, brute_min_cut(&g), "tiny graph", t, integer);
    tiny_int += integer;
    graph_release(&g);
  }
  printf(
      "tiny graphs (n <= %d) matching the brute-force minimum cut: %d / %d (%d with integer capacities: exact "
      "flow, smallest source side)\n",
      MAX_TINY, tiny_ok, tiny, tiny_int);

  /* 2. graphs of a few hundred nodes against Edmonds–Karp; random sizes so
   * the one solver object is reset to larger and smaller graphs */
  int big_ok = 0, big = 40;
  for (int t = 0; t < big; t++) {
    graph_t g;
    int w = 8 + (int)(sr_rng_uniform(&r) * 20), h = 8 + (int)(sr_rng_uniform(&r) * 20);
    random_grid(&g, &r, w, h, (int)(sr_rng_uniform(&r) * w * h));
    big_ok += check_graph(mf, &g, edmonds_karp(&g), "grid graph", t, 0);
    graph_release(&g);
  }
  printf("grid graphs of 64-729 nodes matching Edmonds-Karp within 1e-4: %d / %d\n", big_ok, big);

  /* random graphs without structure: 200-400 nodes, 2-12 edges per node */
  int rand_ok = 0, rand_n = 20;
  for (int t = 0; t < rand_n; t++) {
    graph_t g;
    int n = 200 + (int)(sr_rng_uniform(&r) * 201), m = n * (2 + (int)(sr_rng_uniform(&r) * 11));
    graph_alloc(&g, n, m);
    for (int i = 0; i < n; i++) {
      g.cs[i] = random_cap(&r, 0.6, 0);
      g.ct[i] = random_cap(&r, 0.6, 0);
    }
    for (int k = 0; k < m; k++)
      g.e[g.n_edges++] = (edge_t){(int)(sr_rng_uniform(&r) * n), (int)(sr_rng_uniform(&r) * n), random_cap(&r, 0.2, 0),
                                  random_cap(&r, 0.5, 0)};
    rand_ok += check_graph(mf, &g, edmonds_karp(&g), "random graph", t, 0);
    graph_release(&g);
  }
  printf("random graphs of 200-400 nodes matching Edmonds-Karp within 1e-4: %d / %d\n", rand_ok, rand_n);

  /* 3. the same graph twice on a reused object gives the same flow and cut */
  {
    graph_t g;
    random_grid(&g, &r, 30, 30, 400);
    load(mf, &g);
    double f1 = sr_maxflow_solve(mf);
    int *side = malloc(sizeof(int) * (size_t)g.n), same = 1;
    for (int i = 0; i < g.n; i++) side[i] = sr_maxflow_source_side(mf, i);
    graph_t small;
    random_tiny(&small, &r, 0);
    check_graph(mf, &small, brute_min_cut(&small), "small graph between repeats", 0, 0);
    graph_release(&small);
    load(mf, &g);
    double f2 = sr_maxflow_solve(mf);
    for (int i = 0; i < g.n; i++) same &= side[i] == sr_maxflow_source_side(mf, i);
    CHECK(f1 == f2 && same, "repeat after reset: flow %.9g then %.9g, same cut %d", f1, f2, same);
    printf("repeated 900-node graph after resets: flow %.6f twice, same cut: %s\n", f1,
           same && f1 == f2 ? "yes" : "no");
    free(side);
    graph_release(&g);
  }

  /* 4. degenerate graphs */
  {
    CHECK(sr_maxflow_reset(mf, 0, 0) == 0, "reset to 0 nodes");
    CHECK(sr_maxflow_solve(mf) == 0, "empty graph: flow not 0");
    sr_maxflow_reset(mf, 6, 4);
    sr_maxflow_add_edge(mf, 0, 1, 0, 0);
    sr_maxflow_add_edge(mf, 1, 2, 0, 0);
    sr_maxflow_add_tweights(mf, 0, 0, 0);
    sr_maxflow_add_tweights(mf, 3, 2.5f, 0);    /* isolated, tied to the source */
    sr_maxflow_add_tweights(mf, 4, 0, 1.5f);    /* isolated, tied to the sink */
    sr_maxflow_add_tweights(mf, 5, 1.0f, 3.0f); /* isolated, both: 1 flows, sink side */
    double f = sr_maxflow_solve(mf);
    CHECK(f == 1.0, "zero-capacity / isolated graph: flow %g, expected 1", f);
    CHECK(sr_maxflow_source_side(mf, 3) && !sr_maxflow_source_side(mf, 4) && !sr_maxflow_source_side(mf, 5),
          "isolated nodes on the wrong side: %d %d %d", sr_maxflow_source_side(mf, 3), sr_maxflow_source_side(mf, 4),
          sr_maxflow_source_side(mf, 5));
    CHECK(sr_maxflow_add_edge(mf, 0, 6, 1, 1) == -1 && sr_maxflow_add_edge(mf, -1, 0, 1, 1) == -1,
          "out-of-range edge accepted");
    CHECK(sr_maxflow_source_side(mf, 6) == 0 && sr_maxflow_source_side(mf, -1) == 0,
          "out-of-range node on the source side");
    printf("empty graph, zero capacities, isolated nodes, out-of-range indices: checked\n");
  }

  sr_maxflow_free(mf);
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
