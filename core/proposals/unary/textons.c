/* textons.c: the texton dictionary: k-means (k-means++ seeding, then Lloyd
 * iterations) over standardised filter-bank responses, and the
 * nearest-texton assignment used per pixel. Lloyd sums go through fixed
 * chunks reduced in chunk order, so the dictionary depends on the seed only,
 * not on the pool size. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unary_internal.h"

#define D SR_N_FILTERS
#define CHUNK 4096
#define MAX_ITERATIONS 30

static SR_ALWAYS_INLINE int texton_nearest(const float *x, const float *tt, const float *cc, int k) {
  float dist[SR_MAX_TEXTONS];
  for (int j = 0; j < k; j++) dist[j] = cc[j];
  for (int d = 0; d < D; d++) {
    const float v = -2.0f * x[d];
    const float *t = tt + (size_t)d * k;
    for (int j = 0; j < k; j++) dist[j] += v * t[j];
  }
  int best = 0;
  for (int j = 1; j < k; j++)
    if (dist[j] < dist[best]) best = j;
  return best;
}
SR_TARGET_AVX2 static int texton_nearest_avx2(const float *x, const float *tt, const float *cc, int k) {
  return texton_nearest(x, tt, cc, k);
}
static int texton_nearest_generic(const float *x, const float *tt, const float *cc, int k) {
  return texton_nearest(x, tt, cc, k);
}

int sr_texton_nearest(const float *x, const float *tt, const float *cc, int k) {
  return sr__cpu_isa() >= SR_CPU_ISA_AVX2 ? texton_nearest_avx2(x, tt, cc, k) : texton_nearest_generic(x, tt, cc, k);
}

static float sqdist(const float *a, const float *b) {
  float s = 0;
  for (int d = 0; d < D; d++) s += (a[d] - b[d]) * (a[d] - b[d]);
  return s;
}

typedef struct {
  const float *x;
  int n, k;
  float *tt, *cc;    /* transposed centres and norms */
  int *assign;
  double *sums;      /* per chunk: k × D */
  int64_t *counts;   /* per chunk: k */
  int *changed;      /* per chunk */
} lloyd_ctx;

static void lloyd_chunk(void *vc, int task, int thread) {
  (void)thread;
  lloyd_ctx *c = vc;
  int i0 = task * CHUNK, i1 = i0 + CHUNK < c->n ? i0 + CHUNK : c->n;
  double *sums = c->sums + (size_t)task * c->k * D;
  int64_t *counts = c->counts + (size_t)task * c->k;
  memset(sums, 0, sizeof(double) * c->k * D);
  memset(counts, 0, sizeof(int64_t) * c->k);
  int changed = 0;
  for (int i = i0; i < i1; i++) {
    const float *xi = c->x + (size_t)i * D;
    int j = sr_texton_nearest(xi, c->tt, c->cc, c->k);
    changed += j != c->assign[i];
    c->assign[i] = j;
    counts[j]++;
    for (int d = 0; d < D; d++) sums[j * D + d] += xi[d];
  }
  c->changed[task] = changed;
}

static void transpose_centres(const float *centres, int k, float *tt, float *cc) {
  for (int j = 0; j < k; j++) {
    float s = 0;
    for (int d = 0; d < D; d++) {
      tt[(size_t)d * k + j] = centres[j * D + d];
      s += centres[j * D + d] * centres[j * D + d];
    }
    cc[j] = s;
  }
}

sr_status sr_textons_learn(const float *x, int n, int k, uint64_t seed, sr_pool *pool, float *centres,
                           sr_error *err) {
  if (k < 2 || k > SR_MAX_TEXTONS || n < k)
    return sr_error_set(err, SR_ERR_INVALID, "textons: %d samples cannot give %d textons (2..%d)", n, k,
                        SR_MAX_TEXTONS);
  int n_chunks = (n + CHUNK - 1) / CHUNK;
  float *d2 = malloc(sizeof(float) * n);
  lloyd_ctx c = {.x = x, .n = n, .k = k};
  c.tt = malloc(sizeof(float) * k * D);
  c.cc = malloc(sizeof(float) * k);
  c.assign = malloc(sizeof(int) * n);
  c.sums = malloc(sizeof(double) * (size_t)n_chunks * k * D);
  c.counts = malloc(sizeof(int64_t) * (size_t)n_chunks * k);
  c.changed = malloc(sizeof(int) * n_chunks);
  if (!d2 || !c.tt || !c.cc || !c.assign || !c.sums || !c.counts || !c.changed) {
    free(d2), free(c.tt), free(c.cc), free(c.assign), free(c.sums), free(c.counts), free(c.changed);
    return sr_error_set(err, SR_ERR_NOMEM, "textons: out of memory for %d samples", n);
  }
  /* k-means++: each next centre drawn with probability ∝ squared distance
   * to the nearest centre so far. */
  sr_rng rng;
  sr_rng_seed(&rng, seed);
  int first = (int)(sr_rng_uniform(&rng) * n);
  memcpy(centres, x + (size_t)first * D, sizeof(float) * D);
  double total = 0;
  for (int i = 0; i < n; i++) total += d2[i] = sqdist(x + (size_t)i * D, centres);
  for (int j = 1; j < k; j++) {
    double u = sr_rng_uniform(&rng) * total, acc = 0;
    int pick = n - 1;
    for (int i = 0; i < n; i++) {
      acc += d2[i];
      if (acc > u) {
        pick = i;
        break;
      }
    }
    memcpy(centres + (size_t)j * D, x + (size_t)pick * D, sizeof(float) * D);
    total = 0;
    for (int i = 0; i < n; i++) {
      float dj = sqdist(x + (size_t)i * D, centres + (size_t)j * D);
      if (dj < d2[i]) d2[i] = dj;
      total += d2[i];
    }
  }
  for (int i = 0; i < n; i++) c.assign[i] = -1;
  for (int it = 0; it < MAX_ITERATIONS; it++) {
    transpose_centres(centres, k, c.tt, c.cc);
    sr_pool_run(pool, n_chunks, lloyd_chunk, &c);
    int64_t changed = 0;
    for (int t = 0; t < n_chunks; t++) changed += c.changed[t];
    for (int j = 0; j < k; j++) {
      double s[D] = {0};
      int64_t cnt = 0;
      for (int t = 0; t < n_chunks; t++) {
        cnt += c.counts[(size_t)t * k + j];
        for (int d = 0; d < D; d++) s[d] += c.sums[((size_t)t * k + j) * D + d];
      }
      if (cnt > 0) {
        for (int d = 0; d < D; d++) centres[j * D + d] = (float)(s[d] / cnt);
      } else {
        /* An empty cluster restarts at the sample farthest from its centre. */
        int far = 0;
        float fd = -1;
        for (int i = 0; i < n; i++) {
          float di = sqdist(x + (size_t)i * D, centres + (size_t)c.assign[i] * D);
          if (di > fd) fd = di, far = i;
        }
        memcpy(centres + (size_t)j * D, x + (size_t)far * D, sizeof(float) * D);
        changed = n;
      }
    }
    if (changed * 1000 < n) break;
  }
  free(d2), free(c.tt), free(c.cc), free(c.assign), free(c.sums), free(c.counts), free(c.changed);
  return SR_OK;
}
