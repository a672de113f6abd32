/* maxflow.h: exact s-t minimum cut by Boykov–Kolmogorov max-flow (search
 * trees grown from both terminals, reused across augmentations), written for
 * segrank (no GPL code). Graphs of a few thousand nodes, float capacities. */
#ifndef SR_MAXFLOW_H
#define SR_MAXFLOW_H

typedef struct sr_maxflow sr_maxflow;

sr_maxflow *sr_maxflow_new(void);
void sr_maxflow_free(sr_maxflow *g);
/* Empties the graph and makes room for @n_nodes nodes (0..n_nodes-1) and
 * @n_edges_hint edges. Returns 0, or -1 when out of memory. */
int sr_maxflow_reset(sr_maxflow *g, int n_nodes, int n_edges_hint);
/* Adds terminal capacities source→i and i→sink (≥ 0; accumulated; negative
 * or NaN counts as 0; an out-of-range @i is ignored). */
void sr_maxflow_add_tweights(sr_maxflow *g, int i, float cap_source, float cap_sink);
/* Adds an edge i→j of capacity @cap and j→i of capacity @rev_cap (≥ 0;
 * negative or NaN counts as 0); parallel edges add up, a self loop (i == j)
 * is ignored. Returns 0, or -1 when out of memory or i/j is out of range. */
int sr_maxflow_add_edge(sr_maxflow *g, int i, int j, float cap, float rev_cap);
/* Computes the maximum flow (= minimum cut value). Call once per reset. */
double sr_maxflow_solve(sr_maxflow *g);
/* After solve: 1 when node i is on the source side of the minimum cut, which
 * is the set of nodes reachable from the source in the residual graph (the
 * smallest source side of all minimum cuts). */
int sr_maxflow_source_side(const sr_maxflow *g, int i);

#endif
