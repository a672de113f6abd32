/* maxflow.c: Boykov–Kolmogorov max-flow (Boykov & Kolmogorov, "An
 * experimental comparison of min-cut/max-flow algorithms for energy
 * minimization in vision", PAMI 2004), written from the paper for segrank.
 *
 * Two search trees, S rooted at the source and T rooted at the sink, grow
 * over residual arcs (growth stage); when they touch, the path is augmented
 * by its bottleneck (augmentation stage); nodes whose tree arc saturates
 * become orphans and look for a new parent in their own tree, or become free
 * (adoption stage). The trees are kept across augmentations, which is what
 * makes the algorithm fast on the short-path graphs of vision energies.
 *
 * Representation: arcs come in pairs, arc 2e (i→j) and its sister 2e+1
 * (j→i), so sister(a) = a ^ 1; each node has a singly linked list of the
 * arcs leaving it. A node's two terminal capacities are folded into one
 * residual value tr: tr > 0 is residual capacity source→i, tr < 0 residual
 * capacity i→sink; the common part min(cs, ct) goes straight into the flow.
 * A node's parent is the arc from the node to its parent in its tree (or
 * PARENT_TERMINAL / PARENT_ORPHAN). Distances to the terminal are cached
 * with time stamps, as the paper describes, so an orphan's candidate
 * parents are checked in amortised constant time and it takes the closest.
 * (The paper's other heuristic, re-parenting tree nodes to shorter paths
 * during growth, measured ~10% slower on our α-expansion graphs and is not
 * used.) Orphans and active nodes are processed first in, first out; after
 * an augmentation the same active node keeps growing. All storage is kept
 * across sr_maxflow_reset, so a steady state of equal-sized problems does
 * not allocate. */
#include "maxflow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { TREE_FREE = 0, TREE_S = 1, TREE_T = 2 };
enum { PARENT_TERMINAL = -2, PARENT_ORPHAN = -3 };
enum { QUEUE_NONE = -1, QUEUE_END = -2 };
#define DIST_INFINITE 0x3fffffff

struct sr_maxflow {
  int n_nodes, node_capacity;
  int n_arcs, arc_capacity;
  /* per node */
  int *first_arc;   /* first arc leaving the node, -1 for none */
  float *tr;        /* terminal residual (see file comment) */
  int *parent;      /* arc to the parent, PARENT_TERMINAL or PARENT_ORPHAN (when in a tree) */
  uint8_t *tree;    /* TREE_FREE, TREE_S or TREE_T */
  int *dist;        /* distance to the tree's terminal, valid at time stamp ts */
  int *ts;          /* time stamp of dist */
  int *next_active; /* active queue link: QUEUE_NONE when not queued */
  int *orphan_ring; /* FIFO of orphans, n_nodes + 1 slots */
  /* per arc */
  int *head;   /* node the arc enters */
  int *next;   /* next arc leaving the same node, -1 at the end */
  float *rcap; /* residual capacity */
  /* solve state */
  int active_first, active_last;
  int orphan_head, orphan_tail;
  int time;
  double flow;
};

sr_maxflow *sr_maxflow_new(void) { return calloc(1, sizeof(sr_maxflow)); }

void sr_maxflow_free(sr_maxflow *g) {
  if (!g) return;
  free(g->first_arc);
  free(g->tr);
  free(g->parent);
  free(g->tree);
  free(g->dist);
  free(g->ts);
  free(g->next_active);
  free(g->orphan_ring);
  free(g->head);
  free(g->next);
  free(g->rcap);
  free(g);
}

/* Grows *p to @count elements of @size bytes (contents kept). */
static int grow(void *p, size_t count, size_t size) {
  void *q = realloc(*(void **)p, count * size);
  if (!q) return -1;
  *(void **)p = q;
  return 0;
}

static int reserve_nodes(sr_maxflow *g, int n) {
  if (n <= g->node_capacity) return 0;
  size_t c = (size_t)n;
  if (grow(&g->first_arc, c, sizeof(int)) || grow(&g->tr, c, sizeof(float)) || grow(&g->parent, c, sizeof(int)) ||
      grow(&g->tree, c, 1) || grow(&g->dist, c, sizeof(int)) || grow(&g->ts, c, sizeof(int)) ||
      grow(&g->next_active, c, sizeof(int)) || grow(&g->orphan_ring, c + 1, sizeof(int)))
    return -1;
  g->node_capacity = n;
  return 0;
}

static int reserve_arcs(sr_maxflow *g, int n_arcs) {
  if (n_arcs <= g->arc_capacity) return 0;
  size_t c = (size_t)n_arcs;
  if (grow(&g->head, c, sizeof(int)) || grow(&g->next, c, sizeof(int)) || grow(&g->rcap, c, sizeof(float))) return -1;
  g->arc_capacity = n_arcs;
  return 0;
}

int sr_maxflow_reset(sr_maxflow *g, int n_nodes, int n_edges_hint) {
  if (!g || n_nodes < 0 || n_nodes > (1 << 29)) return -1;
  if (n_edges_hint < 0) n_edges_hint = 0;
  if (n_edges_hint > (1 << 28)) n_edges_hint = 1 << 28;
  g->n_nodes = 0;
  g->n_arcs = 0;
  g->flow = 0;
  if (reserve_nodes(g, n_nodes) || reserve_arcs(g, 2 * n_edges_hint)) return -1;
  g->n_nodes = n_nodes;
  for (int i = 0; i < n_nodes; i++) {
    g->first_arc[i] = -1;
    g->tr[i] = 0;
    g->tree[i] = TREE_FREE;
  }
  return 0;
}

static inline float nonnegative(float c) { return c > 0 ? c : 0; } /* also maps NaN to 0 */

void sr_maxflow_add_tweights(sr_maxflow *g, int i, float cap_source, float cap_sink) {
  if (i < 0 || i >= g->n_nodes) return;
  float t = g->tr[i];
  float cs = nonnegative(cap_source) + (t > 0 ? t : 0);
  float ct = nonnegative(cap_sink) + (t < 0 ? -t : 0);
  g->flow += cs < ct ? cs : ct;
  g->tr[i] = cs - ct;
}

int sr_maxflow_add_edge(sr_maxflow *g, int i, int j, float cap, float rev_cap) {
  if (i < 0 || j < 0 || i >= g->n_nodes || j >= g->n_nodes) return -1;
  if (i == j) return 0; /* a self loop never crosses a cut */
  if (g->n_arcs + 2 > g->arc_capacity) {
    int want = g->arc_capacity < 64 ? 128 : 2 * g->arc_capacity;
    if (want < 0 || reserve_arcs(g, want)) return -1;
  }
  int a = g->n_arcs;
  g->n_arcs += 2;
  g->head[a] = j;
  g->rcap[a] = nonnegative(cap);
  g->next[a] = g->first_arc[i];
  g->first_arc[i] = a;
  g->head[a + 1] = i;
  g->rcap[a + 1] = nonnegative(rev_cap);
  g->next[a + 1] = g->first_arc[j];
  g->first_arc[j] = a + 1;
  return 0;
}

/* ---- active queue (FIFO) ---- */

static inline void make_active(sr_maxflow *g, int i) {
  if (g->next_active[i] != QUEUE_NONE) return;
  g->next_active[i] = QUEUE_END;
  if (g->active_last >= 0)
    g->next_active[g->active_last] = i;
  else
    g->active_first = i;
  g->active_last = i;
}

static inline int pop_active(sr_maxflow *g) {
  int i = g->active_first;
  if (i < 0) return -1;
  int nx = g->next_active[i];
  g->next_active[i] = QUEUE_NONE;
  g->active_first = nx == QUEUE_END ? -1 : nx;
  if (g->active_first < 0) g->active_last = -1;
  return i;
}

/* ---- orphans (FIFO ring; a node is in it at most once) ---- */

static inline void push_orphan(sr_maxflow *g, int i) {
  g->parent[i] = PARENT_ORPHAN;
  g->orphan_ring[g->orphan_tail] = i;
  if (++g->orphan_tail > g->n_nodes) g->orphan_tail = 0;
}

static inline int pop_orphan(sr_maxflow *g) {
  if (g->orphan_head == g->orphan_tail) return -1;
  int i = g->orphan_ring[g->orphan_head];
  if (++g->orphan_head > g->n_nodes) g->orphan_head = 0;
  return i;
}

/* ---- augmentation ---- */

/* Pushes the bottleneck along source → … → tail(a) →a→ head(a) → … → sink,
 * where tail(a) is in S and head(a) in T; saturated tree arcs make orphans. */
static void augment(sr_maxflow *g, int a) {
  int *parent = g->parent, *head = g->head;
  float *rcap = g->rcap, *tr = g->tr;
  int s_end = head[a ^ 1], t_end = head[a];

  float b = rcap[a];
  int k;
  for (k = s_end; parent[k] != PARENT_TERMINAL; k = head[parent[k]]) {
    float c = rcap[parent[k] ^ 1];
    if (c < b) b = c;
  }
  if (tr[k] < b) b = tr[k];
  for (k = t_end; parent[k] != PARENT_TERMINAL; k = head[parent[k]]) {
    float c = rcap[parent[k]];
    if (c < b) b = c;
  }
  if (-tr[k] < b) b = -tr[k];

  rcap[a] -= b;
  rcap[a ^ 1] += b;
  for (k = s_end; parent[k] != PARENT_TERMINAL;) {
    int pa = parent[k];
    int up = head[pa];
    rcap[pa] += b;
    rcap[pa ^ 1] -= b;
    if (rcap[pa ^ 1] <= 0) push_orphan(g, k);
    k = up;
  }
  tr[k] -= b;
  if (tr[k] <= 0) push_orphan(g, k);
  for (k = t_end; parent[k] != PARENT_TERMINAL;) {
    int pa = parent[k];
    int up = head[pa];
    rcap[pa ^ 1] += b;
    rcap[pa] -= b;
    if (rcap[pa] <= 0) push_orphan(g, k);
    k = up;
  }
  tr[k] += b;
  if (tr[k] >= 0) push_orphan(g, k);
  g->flow += b;
}

/* ---- adoption ---- */

/* Distance from @j to its tree's terminal through valid parents, or
 * DIST_INFINITE when the chain ends at an orphan; stamps the chain. */
static int origin_distance(sr_maxflow *g, int j) {
  int *parent = g->parent, *head = g->head, *ts = g->ts, *dist = g->dist;
  const int time = g->time;
  int d = 0, k = j;
  for (;;) {
    if (ts[k] == time) {
      d += dist[k];
      break;
    }
    int pa = parent[k];
    d++;
    if (pa == PARENT_TERMINAL) {
      ts[k] = time;
      dist[k] = 1;
      break;
    }
    if (pa == PARENT_ORPHAN) return DIST_INFINITE;
    k = head[pa];
  }
  /* stamp the chain so later checks stop early */
  int dd = d;
  for (k = j; ts[k] != time; k = head[parent[k]]) {
    ts[k] = time;
    dist[k] = dd--;
  }
  return d;
}

static void adopt(sr_maxflow *g, int i) {
  int *parent = g->parent, *head = g->head, *next = g->next;
  uint8_t *tree = g->tree;
  float *rcap = g->rcap;
  const uint8_t t = tree[i];
  /* a parent j of an S node needs residual j→i (sister of i→j); of a T node residual i→j */
  const int s_side = t == TREE_S;
  int best = -1, best_d = DIST_INFINITE;
  for (int a = g->first_arc[i]; a >= 0; a = next[a]) {
    if ((s_side ? rcap[a ^ 1] : rcap[a]) <= 0) continue;
    int j = head[a];
    if (tree[j] != t) continue;
    int d = origin_distance(g, j);
    if (d < best_d) {
      best_d = d;
      best = a;
    }
  }
  if (best >= 0) {
    parent[i] = best;
    g->ts[i] = g->time;
    g->dist[i] = best_d + 1;
    return;
  }
  /* no parent: i becomes free; neighbours that could reach it become active,
   * its children become orphans */
  tree[i] = TREE_FREE;
  for (int a = g->first_arc[i]; a >= 0; a = next[a]) {
    int j = head[a];
    if (tree[j] != t) continue;
    if ((s_side ? rcap[a ^ 1] : rcap[a]) > 0) make_active(g, j);
    int pj = parent[j];
    if (pj >= 0 && head[pj] == i) push_orphan(g, j);
  }
}

/* ---- solve ---- */

double sr_maxflow_solve(sr_maxflow *g) {
  const int n = g->n_nodes;
  int *parent = g->parent, *head = g->head, *next = g->next, *first = g->first_arc;
  int *dist = g->dist, *ts = g->ts;
  uint8_t *tree = g->tree;
  float *rcap = g->rcap;

  g->active_first = g->active_last = -1;
  g->orphan_head = g->orphan_tail = 0;
  g->time = 0;
  for (int i = 0; i < n; i++) {
    g->next_active[i] = QUEUE_NONE;
    ts[i] = 0;
    float t = g->tr[i];
    if (t != 0) {
      tree[i] = t > 0 ? TREE_S : TREE_T;
      parent[i] = PARENT_TERMINAL;
      dist[i] = 1;
      make_active(g, i);
    } else {
      tree[i] = TREE_FREE;
    }
  }

  int current = -1;
  for (;;) {
    int i = current;
    if (i < 0 || tree[i] == TREE_FREE) {
      do {
        i = pop_active(g);
      } while (i >= 0 && tree[i] == TREE_FREE);
      if (i < 0) break;
    }
    current = -1;

    /* growth: find an arc joining the trees, growing i's tree meanwhile */
    int join = -1; /* arc from S to T */
    if (tree[i] == TREE_S) {
      for (int a = first[i]; a >= 0; a = next[a]) {
        if (rcap[a] <= 0) continue;
        int j = head[a];
        if (tree[j] == TREE_FREE) {
          tree[j] = TREE_S;
          parent[j] = a ^ 1;
          ts[j] = ts[i];
          dist[j] = dist[i] + 1;
          make_active(g, j);
        } else if (tree[j] == TREE_T) {
          join = a;
          break;
        }
      }
    } else {
      for (int a = first[i]; a >= 0; a = next[a]) {
        if (rcap[a ^ 1] <= 0) continue;
        int j = head[a];
        if (tree[j] == TREE_FREE) {
          tree[j] = TREE_T;
          parent[j] = a ^ 1;
          ts[j] = ts[i];
          dist[j] = dist[i] + 1;
          make_active(g, j);
        } else if (tree[j] == TREE_S) {
          join = a ^ 1;
          break;
        }
      }
    }
    if (join < 0) continue; /* i is exhausted: it stays in its tree, passive */

    g->time++;
    augment(g, join);
    for (int o; (o = pop_orphan(g)) >= 0;) adopt(g, o);
    current = i; /* keep growing from i while it is in a tree */
  }
  return g->flow;
}

int sr_maxflow_source_side(const sr_maxflow *g, int i) {
  if (i < 0 || i >= g->n_nodes) return 0;
  return g->tree[i] == TREE_S;
}
