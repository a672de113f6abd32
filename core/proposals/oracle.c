/* oracle.c: per-image IoU of proposals against the ground truth, the best
 * of the first M (the oracle), and the diversity of a proposal set. */
#include "oracle.h"

#include <stdlib.h>
#include <string.h>

double sr_image_miou(const uint8_t *truth, const uint8_t *pred, size_t n, int n_classes) {
  uint64_t inter[256] = {0}, t[256] = {0}, p[256] = {0};
  for (size_t i = 0; i < n; i++) {
    uint8_t g = truth[i];
    if (g >= n_classes) continue;
    uint8_t q = pred[i];
    t[g]++;
    p[q]++;
    if (q == g) inter[g]++;
  }
  double sum = 0;
  int count = 0;
  for (int c = 0; c < n_classes; c++) {
    uint64_t uni = t[c] + p[c] - inter[c];
    if (uni == 0) continue;
    sum += (double)inter[c] / (double)uni;
    count++;
  }
  return count ? 100.0 * sum / count : 100.0;
}

int sr_oracle_pick(const sr_proposal_set *s, const uint8_t *truth, int m) {
  if (m > s->n) m = s->n;
  size_t px = (size_t)s->width * s->height;
  int best = 0;
  double best_iou = -1;
  for (int k = 0; k < m; k++) {
    double iou = sr_image_miou(truth, sr_proposal_labels(s, k), px, s->n_classes);
    if (iou > best_iou) best_iou = iou, best = k;
  }
  return best;
}

double sr_proposal_diversity(const sr_proposal_set *s, int m) {
  if (m > s->n) m = s->n;
  if (m < 2) return 0;
  size_t px = (size_t)s->width * s->height;
  double sum = 0;
  for (int a = 0; a < m; a++)
    for (int b = a + 1; b < m; b++) {
      const uint8_t *la = sr_proposal_labels(s, a), *lb = sr_proposal_labels(s, b);
      size_t diff = 0;
      for (size_t i = 0; i < px; i++) diff += la[i] != lb[i];
      sum += (double)diff / (double)px;
    }
  return sum / (m * (m - 1) / 2.0);
}
