/* sp_graph.c: the region adjacency graph of a superpixel map: one pass
 * over the pixels for areas, centroids, boxes and the differing
 * 4-neighbour pairs, which are bucketed by their smaller label; then the
 * edges of each superpixel in order of the other label (perimeters follow
 * from the edges' pair counts and the frame), and the CSR adjacency,
 * sorted by neighbour, from the sorted edges. */
#include <stdlib.h>
#include <string.h>

#include "superpixels.h"

void sr_sp_graph_clear(sr_sp_graph *g) {
  if (!g) return;
  free(g->edges), free(g->adj_start), free(g->adj), free(g->adj_edge);
  free(g->area), free(g->centroid), free(g->bbox), free(g->perimeter);
  memset(g, 0, sizeof *g);
}

static void sort_ints(int *v, int n) { /* a superpixel has few neighbours */
  for (int i = 1; i < n; i++) {
    int x = v[i], j = i - 1;
    while (j >= 0 && v[j] > x) v[j + 1] = v[j], j--;
    v[j + 1] = x;
  }
}

sr_status sr_sp_graph_build(const sr_superpixels *sp, sr_sp_graph *g, sr_error *err) {
  if (!g) return sr_error_set(err, SR_ERR_INVALID, "superpixel graph: no output");
  memset(g, 0, sizeof *g);
  if (!sp || !sp->labels || sp->width < 1 || sp->height < 1 || sp->n < 1)
    return sr_error_set(err, SR_ERR_INVALID, "superpixel graph: empty superpixel map");
  const int W = sp->width, H = sp->height, n = sp->n;
  const size_t np = (size_t)W * H;
  const int32_t *lab = sp->labels;
  for (size_t i = 0; i < np; i++)
    if (lab[i] < 0 || lab[i] >= n)
      return sr_error_set(err, SR_ERR_INVALID, "superpixel graph: pixel (%d, %d) has label %d outside 0..%d",
                          (int)(i % W), (int)(i / W), lab[i], n - 1);

  g->n = n;
  g->area = calloc(n, sizeof(int));
  g->centroid = malloc(2 * (size_t)n * sizeof(float));
  g->bbox = malloc(4 * (size_t)n * sizeof(int));
  g->perimeter = calloc(n, sizeof(int));
  g->adj_start = calloc((size_t)n + 1, sizeof(int));
  double *sum = calloc(2 * (size_t)n, sizeof(double));
  int *pair_start = calloc((size_t)n + 1, sizeof(int)); /* pairs bucketed by the smaller label */
  int *mark = malloc((size_t)n * sizeof(int)), *count = calloc(n, sizeof(int));
  int *pairs = NULL, *uniq = NULL;
  int32_t *lo = NULL, *hi = NULL;
  sr_status st = SR_OK;
  if (!g->area || !g->centroid || !g->bbox || !g->perimeter || !g->adj_start || !sum || !pair_start || !mark ||
      !count)
    goto nomem;
  for (int k = 0; k < n; k++) {
    int *b = g->bbox + 4 * k;
    b[0] = W, b[1] = H, b[2] = -1, b[3] = -1;
  }

  /* One pass over the rows: runs of one label give area, sums and boxes;
   * the pixel pairs across a border (horizontal ones at run ends, vertical
   * ones against the next row) are collected as (smaller, larger) labels. */
  size_t n_pairs = 0, cap = (size_t)2 * W + np / 4;
  lo = malloc(cap * sizeof(int32_t)), hi = malloc(cap * sizeof(int32_t));
  if (!lo || !hi) goto nomem;
  for (int y = 0; y < H; y++) {
    const int32_t *row = lab + (size_t)y * W;
    if (n_pairs + 2 * (size_t)W > cap) {
      cap = 2 * cap + 2 * (size_t)W;
      int32_t *a = realloc(lo, cap * sizeof(int32_t));
      if (a) lo = a;
      int32_t *b = a ? realloc(hi, cap * sizeof(int32_t)) : NULL;
      if (!b) goto nomem;
      hi = b;
    }
    for (int x = 0; x < W; x++) {
      const int a = row[x], x0 = x;
      while (x + 1 < W && row[x + 1] == a) x++;
      const int len = x - x0 + 1;
      g->area[a] += len;
      sum[2 * a] += (double)len * (x0 + x) / 2, sum[2 * a + 1] += (double)len * y;
      int *b = g->bbox + 4 * a;
      if (x0 < b[0]) b[0] = x0;
      if (x > b[2]) b[2] = x;
      if (y < b[1]) b[1] = y;
      if (y > b[3]) b[3] = y;
      if (x + 1 < W) {
        const int c = row[x + 1];
        lo[n_pairs] = a < c ? a : c, hi[n_pairs] = a < c ? c : a, n_pairs++;
      }
    }
    if (y + 1 < H) { /* branch-free: every pixel writes, a border pixel advances */
      const int32_t *below = row + W;
      for (int x = 0; x < W; x++) {
        const int32_t a = row[x], c = below[x];
        lo[n_pairs] = a < c ? a : c, hi[n_pairs] = a < c ? c : a;
        n_pairs += a != c;
      }
    }
  }
  for (int k = 0; k < n; k++) {
    if (g->area[k] == 0) {
      st = sr_error_set(err, SR_ERR_INVALID, "superpixel graph: label %d of 0..%d is unused", k, n - 1);
      goto fail;
    }
    g->centroid[2 * k] = (float)(sum[2 * k] / g->area[k]);
    g->centroid[2 * k + 1] = (float)(sum[2 * k + 1] / g->area[k]);
  }
  /* Perimeter: the frame's sides, then each border pair (below) once per side. */
  for (int x = 0; x < W; x++) g->perimeter[lab[x]]++, g->perimeter[lab[(size_t)(H - 1) * W + x]]++;
  for (int y = 0; y < H; y++) g->perimeter[lab[(size_t)y * W]]++, g->perimeter[lab[(size_t)y * W + W - 1]]++;

  /* The larger labels bucketed by the smaller (counting sort). */
  for (size_t q = 0; q < n_pairs; q++) pair_start[lo[q] + 1]++;
  for (int k = 0; k < n; k++) pair_start[k + 1] += pair_start[k];
  pairs = malloc((n_pairs ? n_pairs : 1) * sizeof(int));
  if (!pairs) goto nomem;
  int *fill = count; /* bucket fill positions, reset below */
  for (size_t q = 0; q < n_pairs; q++) pairs[pair_start[lo[q]] + fill[lo[q]]++] = hi[q];

  /* Edges: the distinct larger labels of each bucket, sorted, with their
   * pair counts (mark[b]: b's index among a's neighbours, or -1). */
  uniq = malloc((n_pairs ? n_pairs : 1) * sizeof(int));
  int *bound = malloc((n_pairs ? n_pairs : 1) * sizeof(int));
  g->edges = malloc((n_pairs ? n_pairs : 1) * sizeof(sr_sp_edge));
  if (!uniq || !bound || !g->edges) {
    free(bound);
    goto nomem;
  }
  for (int k = 0; k < n; k++) mark[k] = -1;
  int n_edges = 0;
  for (int a = 0; a < n; a++) {
    int m = 0, *u = uniq + n_edges;
    for (int q = pair_start[a]; q < pair_start[a + 1]; q++) {
      int b = pairs[q];
      if (mark[b] < 0) mark[b] = m, u[m] = b, bound[n_edges + m] = 0, m++;
      bound[n_edges + mark[b]]++;
    }
    for (int j = 0; j < m; j++) mark[u[j]] = bound[n_edges + j]; /* now: the count of b */
    sort_ints(u, m);
    for (int j = 0; j < m; j++) {
      const int b = u[j], c = mark[b];
      g->edges[n_edges + j] = (sr_sp_edge){a, b, c};
      g->perimeter[a] += c, g->perimeter[b] += c;
      mark[b] = -1;
    }
    n_edges += m;
  }
  free(bound);
  g->n_edges = n_edges;
  if (n_edges) {
    sr_sp_edge *e = realloc(g->edges, (size_t)n_edges * sizeof(sr_sp_edge));
    if (e) g->edges = e;
  }

  /* Adjacency: filling in edge order keeps each list sorted (the smaller
   * neighbours of i come from edges (a, i) with a < i, met before (i, b)). */
  for (int e = 0; e < n_edges; e++) g->adj_start[g->edges[e].a + 1]++, g->adj_start[g->edges[e].b + 1]++;
  for (int k = 0; k < n; k++) g->adj_start[k + 1] += g->adj_start[k];
  g->adj = malloc((2 * (size_t)n_edges + 1) * sizeof(int));
  g->adj_edge = malloc((2 * (size_t)n_edges + 1) * sizeof(int));
  if (!g->adj || !g->adj_edge) goto nomem;
  memset(count, 0, (size_t)n * sizeof(int));
  for (int e = 0; e < n_edges; e++) {
    int a = g->edges[e].a, b = g->edges[e].b;
    int pa = g->adj_start[a] + count[a]++, pb = g->adj_start[b] + count[b]++;
    g->adj[pa] = b, g->adj_edge[pa] = e;
    g->adj[pb] = a, g->adj_edge[pb] = e;
  }
  goto done;
nomem:
  st = sr_error_set(err, SR_ERR_NOMEM, "superpixel graph: out of memory (%dx%d, %d superpixels)", W, H, n);
fail:
  sr_sp_graph_clear(g);
done:
  free(sum), free(pair_start), free(mark), free(count), free(pairs), free(uniq), free(lo), free(hi);
  return st;
}
