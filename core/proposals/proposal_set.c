/* proposal_set.c: the in-memory proposal set: allocation, deep copy, and the
 * per-class areas derived from the label maps. */
#include "proposal_set.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sr_proposal_set_clear(sr_proposal_set *s) {
  free(s->labels);
  free(s->score);
  free(s->energy);
  free(s->unary);
  free(s->pairwise);
  free(s->rank);
  free(s->areas);
  free(s->superpixels);
  memset(s, 0, sizeof *s);
}

sr_status sr_proposal_set_alloc(sr_proposal_set *s, int width, int height, int n_classes, int n, sr_error *err) {
  memset(s, 0, sizeof *s);
  if (width < 1 || height < 1 || n < 0 || n_classes < 1 || n_classes > 255 || (size_t)width * height > (1u << 28))
    return sr_error_set(err, SR_ERR_INVALID, "proposal set: invalid size %dx%d, %d classes, %d proposals", width,
                        height, n_classes, n);
  size_t px = (size_t)width * height, m = n > 0 ? (size_t)n : 1;
  s->width = width, s->height = height, s->n_classes = n_classes, s->n = n;
  s->labels = calloc(m * px, 1);
  s->score = malloc(m * sizeof *s->score);
  s->energy = malloc(m * sizeof *s->energy);
  s->unary = malloc(m * sizeof *s->unary);
  s->pairwise = malloc(m * sizeof *s->pairwise);
  s->rank = malloc(m * sizeof *s->rank);
  s->areas = calloc(m * n_classes, sizeof *s->areas);
  if (!s->labels || !s->score || !s->energy || !s->unary || !s->pairwise || !s->rank || !s->areas) {
    sr_proposal_set_clear(s);
    return sr_error_set(err, SR_ERR_NOMEM, "proposal set: out of memory for %d proposals of %dx%d", n, width, height);
  }
  for (int k = 0; k < n; k++) {
    s->score[k] = s->energy[k] = s->unary[k] = s->pairwise[k] = NAN;
    s->rank[k] = k;
  }
  return SR_OK;
}

sr_status sr_proposal_set_copy(const sr_proposal_set *src, sr_proposal_set *dst, sr_error *err) {
  sr_status st = sr_proposal_set_alloc(dst, src->width, src->height, src->n_classes, src->n, err);
  if (st != SR_OK) return st;
  size_t n = (size_t)src->n, px = (size_t)src->width * src->height;
  memcpy(dst->labels, src->labels, n * px);
  memcpy(dst->score, src->score, n * sizeof *dst->score);
  memcpy(dst->energy, src->energy, n * sizeof *dst->energy);
  memcpy(dst->unary, src->unary, n * sizeof *dst->unary);
  memcpy(dst->pairwise, src->pairwise, n * sizeof *dst->pairwise);
  memcpy(dst->rank, src->rank, n * sizeof *dst->rank);
  memcpy(dst->areas, src->areas, n * src->n_classes * sizeof *dst->areas);
  if (src->superpixels) {
    dst->superpixels = malloc(px * sizeof *dst->superpixels);
    if (!dst->superpixels) {
      sr_proposal_set_clear(dst);
      return sr_error_set(err, SR_ERR_NOMEM, "proposal set: out of memory copying the superpixel map");
    }
    memcpy(dst->superpixels, src->superpixels, px * sizeof *dst->superpixels);
    dst->n_superpixels = src->n_superpixels;
  }
  return SR_OK;
}

void sr_proposal_set_update_areas(sr_proposal_set *s) {
  size_t px = (size_t)s->width * s->height;
  uint64_t count[256];
  for (int k = 0; k < s->n; k++) {
    memset(count, 0, sizeof count);
    const uint8_t *l = sr_proposal_labels(s, k);
    for (size_t i = 0; i < px; i++) count[l[i]]++;
    for (int c = 0; c < s->n_classes; c++) s->areas[(size_t)k * s->n_classes + c] = (double)count[c] / (double)px;
  }
}
