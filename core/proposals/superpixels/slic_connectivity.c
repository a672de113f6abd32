/* slic_connectivity.c: the last step of SLIC: k-means labels are not
 * connected regions, so each 4-connected component becomes its own
 * superpixel, the fragments (below min_size pixels) are merged, smallest
 * first, into the neighbouring full-size group closest in mean colour (a
 * small one only where no full-size one touches), and the groups are
 * numbered in scan order. Merging only ever joins a group with one it
 * touches, so every group stays one connected region. Everything works on
 * runs (maximal horizontal stretches of one label): components are
 * union-find trees of runs that overlap in consecutive rows. */
#include <stdlib.h>
#include <string.h>

#include "slic_internal.h"

typedef struct {
  int first_run, n_runs; /* the component's runs: by_comp[first_run .. + n_runs) */
  int size;
  int parent;            /* union-find over components; the root holds the group */
  int group_size;
  int next, tail;        /* member chain of a group, from its root */
  int64_t sum[3];        /* Lab sums: of the component, and of the group at the root */
} component;

static int find_run(int *parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

static int find_comp(component *c, int i) {
  while (c[i].parent != i) i = c[i].parent = c[c[i].parent].parent;
  return i;
}

static int cmp_small(const void *a, const void *b, void *ctx) {
  const component *c = ctx;
  int i = *(const int *)a, j = *(const int *)b;
  if (c[i].size != c[j].size) return c[i].size < c[j].size ? -1 : 1;
  return i < j ? -1 : i > j;
}

static double color_dist(const component *a, const component *b) {
  double d = 0;
  for (int q = 0; q < 3; q++) {
    double u = (double)a->sum[q] / a->group_size - (double)b->sum[q] / b->group_size;
    d += u * u;
  }
  return d;
}

/* Group @e as the destination of group @g: a full-size group beats a small
 * one, then the closer mean colour; ties keep the first met (in member,
 * run and direction order). */
static void consider(const component *c, int g, int e, int min_size, int *best, double *best_d) {
  if (e == g) return;
  double d = color_dist(&c[g], &c[e]);
  if (*best >= 0) {
    int big = c[e].group_size >= min_size, best_big = c[*best].group_size >= min_size;
    if (big != best_big ? !big : d >= *best_d) return;
  }
  *best = e, *best_d = d;
}

void *sr_scratch_get(sr_scratch *s, size_t size) {
  if (size == 0) size = 1;
  if (s->size >= size) return s->p;
  free(s->p);
  s->p = malloc(size);
  s->size = s->p ? size : 0;
  return s->p;
}

void sr_scratch_free(sr_scratch *s) {
  free(s->p);
  s->p = NULL, s->size = 0;
}

/* The scratch buffers, by use. */
enum { S_X0, S_X1, S_ROWS, S_PARENT, S_COMP, S_ABOVE, S_BELOW, S_BY_COMP, S_COMPONENTS, S_SMALL, S_COUNT };
_Static_assert(S_COUNT == SR_CONNECTIVITY_SCRATCH, "scratch count");

int sr_sp_enforce_connectivity(const int32_t *labels, int32_t *out, int width, int height,
                               const int32_t *lab_prefix, int min_size, sr_scratch *scratch) {
  const int W = width, H = height;
  const size_t plane = (size_t)(W + 1) * H;
  const size_t n = (size_t)W * H; /* at most this many runs */
  int32_t *x0 = sr_scratch_get(&scratch[S_X0], n * sizeof(int32_t));
  int32_t *x1 = sr_scratch_get(&scratch[S_X1], n * sizeof(int32_t));
  int *row_start = sr_scratch_get(&scratch[S_ROWS], ((size_t)H + 1) * sizeof(int));
  int *parent = sr_scratch_get(&scratch[S_PARENT], n * sizeof(int));
  int *run_comp = sr_scratch_get(&scratch[S_COMP], n * sizeof(int));
  /* above[r], below[r]: the first run of the row above (below) that ends at
   * or after r's start (the overlapping runs follow it). */
  int *above = sr_scratch_get(&scratch[S_ABOVE], n * sizeof(int));
  int *below = sr_scratch_get(&scratch[S_BELOW], n * sizeof(int));
  int *by_comp = sr_scratch_get(&scratch[S_BY_COMP], n * sizeof(int));
  component *c = NULL;
  int *small = NULL, result = -1, n_runs = 0;
  if (!x0 || !x1 || !row_start || !parent || !run_comp || !above || !below || !by_comp) goto done;
  /* Runs: row_start[y] .. row_start[y + 1] are row y's, left to right. */
  for (int y = 0; y < H; y++) {
    const int32_t *row = labels + (size_t)y * W;
    row_start[y] = n_runs;
    for (int x = 0; x < W; x++) {
      const int s = x;
      while (x + 1 < W && row[x + 1] == row[s]) x++;
      x0[n_runs] = s, x1[n_runs] = x, n_runs++;
    }
  }
  row_start[H] = n_runs;

  /* Union of same-label runs that overlap across consecutive rows. */
  for (int r = 0; r < n_runs; r++) parent[r] = r;
  for (int y = 0; y + 1 < H; y++) {
    int v = row_start[y + 1];
    for (int r = row_start[y]; r < row_start[y + 1]; r++) {
      while (x1[v] < x0[r]) v++; /* the row below ends at W - 1 too */
      below[r] = v;
    }
  }
  for (int y = 1; y < H; y++) {
    const int32_t *up = labels + (size_t)(y - 1) * W, *row = labels + (size_t)y * W;
    int u = row_start[y - 1];
    for (int r = row_start[y]; r < row_start[y + 1]; r++) {
      while (x1[u] < x0[r]) u++;
      above[r] = u;
      for (int v = u; v < row_start[y] && x0[v] <= x1[r]; v++)
        if (up[x0[v]] == row[x0[r]]) {
          int a = find_run(parent, v), b = find_run(parent, r);
          if (a != b) parent[a > b ? a : b] = a < b ? a : b; /* the root is the first run */
        }
    }
  }
  /* Components numbered by their first run (= first pixel in scan order). */
  int n_comp = 0;
  for (int r = 0; r < n_runs; r++) {
    int root = find_run(parent, r);
    run_comp[r] = root == r ? n_comp++ : run_comp[root];
  }
  c = sr_scratch_get(&scratch[S_COMPONENTS], (size_t)n_comp * sizeof(component));
  small = sr_scratch_get(&scratch[S_SMALL], (size_t)n_comp * sizeof(int));
  if (!c || !small) goto done;
  memset(c, 0, (size_t)n_comp * sizeof(component));
  for (int y = 0; y < H; y++)
    for (int r = row_start[y]; r < row_start[y + 1]; r++) {
      component *k = &c[run_comp[r]];
      const int32_t *pre = lab_prefix + (size_t)y * (W + 1);
      for (int q = 0; q < 3; q++) k->sum[q] += pre[q * plane + x1[r] + 1] - pre[q * plane + x0[r]];
      k->size += x1[r] - x0[r] + 1, k->n_runs++;
    }
  for (int i = 0, start = 0; i < n_comp; i++) {
    component *k = &c[i];
    k->first_run = start, start += k->n_runs, k->n_runs = 0;
    k->parent = i, k->group_size = k->size, k->next = -1, k->tail = i;
  }
  for (int r = 0; r < n_runs; r++) {
    component *k = &c[run_comp[r]];
    by_comp[k->first_run + k->n_runs++] = r;
  }
  int *run_row = parent; /* reused: the row of each run */
  for (int y = 0; y < H; y++)
    for (int r = row_start[y]; r < row_start[y + 1]; r++) run_row[r] = y;

  int n_small = 0;
  for (int i = 0; i < n_comp; i++)
    if (c[i].size < min_size) small[n_small++] = i;
  qsort_r(small, n_small, sizeof(int), cmp_small, c);

  for (int s = 0; s < n_small; s++) {
    int g = find_comp(c, small[s]);
    if (c[g].group_size >= min_size) continue;
    /* The neighbouring group closest in colour to the whole group g, among
     * those of min_size or more if there are any (fragments joining each
     * other would make superpixels of debris). */
    int best = -1;
    double best_d = 0;
    for (int m = g; m >= 0; m = c[m].next)
      for (int q = c[m].first_run; q < c[m].first_run + c[m].n_runs; q++) {
        const int r = by_comp[q], y = run_row[r];
        int cand[2] = {r > row_start[y] ? r - 1 : -1, r + 1 < row_start[y + 1] ? r + 1 : -1};
        for (int d = 0; d < 2; d++) {
          if (cand[d] < 0) continue;
          consider(c, g, find_comp(c, run_comp[cand[d]]), min_size, &best, &best_d);
        }
        if (y > 0)
          for (int v = above[r]; v < row_start[y] && x0[v] <= x1[r]; v++)
            consider(c, g, find_comp(c, run_comp[v]), min_size, &best, &best_d);
        if (y + 1 < H)
          for (int v = below[r]; v < row_start[y + 2] && x0[v] <= x1[r]; v++)
            consider(c, g, find_comp(c, run_comp[v]), min_size, &best, &best_d);
      }
    if (best < 0) continue; /* the group is the whole image */
    component *to = &c[best], *k = &c[g];
    k->parent = best;
    to->group_size += k->group_size;
    for (int q = 0; q < 3; q++) to->sum[q] += k->sum[q];
    c[to->tail].next = g, to->tail = k->tail;
  }

  /* Number the groups by their first pixel; write the labels run by run. */
  for (int i = 0; i < n_comp; i++) c[i].size = -1; /* reused: the group's new label */
  int n_out = 0;
  for (int y = 0; y < H; y++)
    for (int r = row_start[y]; r < row_start[y + 1]; r++) {
      component *root = &c[find_comp(c, run_comp[r])];
      if (root->size < 0) root->size = n_out++;
      int32_t *row = out + (size_t)y * W;
      for (int x = x0[r]; x <= x1[r]; x++) row[x] = root->size;
    }
  result = n_out;
done:
  return result;
}
