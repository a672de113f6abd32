/* losses.c: soft targets, CE, expected IOU (supplement eq. 47, gradient eqs.
 * 57/59) and UOI (eq. 60, gradient eqs. 65/67), all reduced over the whole
 * minibatch before gradients are taken, as NOTES.md §2–5 prescribe. */
#include "losses.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sr_soft_target(const uint8_t *labels, int H, int W, int K, int h, int w, float *target, uint8_t *valid) {
  memset(target, 0, sizeof(float) * K * h * w);
  /* Labels are bytes: no class above 255 can be counted, so the histograms
   * live on the stack and this cannot fail. Four of them, pixel c counted
   * in the (c mod 4)-th: neighbouring pixels mostly share a label, and one
   * counter incremented pixel after pixel waits for its own previous store
   * (that took 2.4% of a conv6-8 training step, on one thread). Labels of
   * no class (void) go to bin KC, not counted. */
  int count[4][257];
  const int KC = K < 256 ? K : 256;
  for (int i = 0; i < h; i++) {
    int r0 = (int)((long)i * H / h), r1 = (int)((long)(i + 1) * H / h);
    for (int j = 0; j < w; j++) {
      int c0 = (int)((long)j * W / w), c1 = (int)((long)(j + 1) * W / w);
      for (int q = 0; q < 4; q++) memset(count[q], 0, sizeof(int) * (KC + 1));
      for (int r = r0; r < r1; r++) {
        const uint8_t *row = labels + (size_t)r * W;
#define BIN(l) ((l) < KC ? (l) : KC)
        int c = c0;
        for (; c + 4 <= c1; c += 4)
          count[0][BIN(row[c])]++, count[1][BIN(row[c + 1])]++, count[2][BIN(row[c + 2])]++,
              count[3][BIN(row[c + 3])]++;
        for (; c < c1; c++) count[0][BIN(row[c])]++;
#undef BIN
      }
      int total = 0;
      for (int k = 0; k < KC; k++) { /* the four histograms summed into the first */
        count[0][k] += count[1][k] + count[2][k] + count[3][k];
        total += count[0][k];
      }
      valid[i * w + j] = total > 0;
      for (int k = 0; total && k < KC; k++) target[((size_t)k * h + i) * w + j] = (float)count[0][k] / total;
    }
  }
}

int sr_loss_from_name(const char *name, sr_loss *out) {
  static const struct {
    const char *name;
    sr_loss_kind kind;
  } names[] = {{"ce", SR_LOSS_CE}, {"iou", SR_LOSS_IOU}, {"uoi", SR_LOSS_UOI}, {"uoi+ce", SR_LOSS_COMBO}};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (!strcmp(name, names[i].name)) {
      *out = (sr_loss){names[i].kind, 0.7, 0.3};
      return 0;
    }
  return -1;
}

const char *sr_loss_name(sr_loss_kind k) {
  switch (k) {
    case SR_LOSS_CE: return "ce";
    case SR_LOSS_IOU: return "iou";
    case SR_LOSS_UOI: return "uoi";
    case SR_LOSS_COMBO: return "uoi+ce";
  }
  return "?";
}

sr_status sr_loss_eval(const sr_loss *loss, const sr_tensor *z, const float *target, const uint8_t *valid,
                       double *value, float *dz) {
  const int B = z->n, K = z->c;
  const size_t plane = (size_t)z->h * z->w;
  size_t n_valid = 0;
  for (size_t i = 0; i < (size_t)B * plane; i++) n_valid += valid[i] != 0;
  if (!n_valid) return SR_ERR_INVALID;

  /* Softmax, then the minibatch sums EI, EU and CE in double precision. */
  float *p_hat = malloc(sizeof(float) * sr_tensor_count(z));
  double *ei = calloc(K, sizeof(double)), *eu = calloc(K, sizeof(double)), *mass = calloc(K, sizeof(double));
  double *g = dz ? malloc(sizeof(double) * K) : NULL, *e = malloc(sizeof(double) * K);
  if (!p_hat || !ei || !eu || !mass || (dz && !g) || !e) {
    free(p_hat), free(ei), free(eu), free(mass), free(g), free(e);
    return SR_ERR_NOMEM;
  }
  double ce = 0;
  for (int b = 0; b < B; b++)
    for (size_t i = 0; i < plane; i++) {
      const size_t base = (size_t)b * K * plane + i;
      double m = -DBL_MAX, s = 0;
      for (int k = 0; k < K; k++) m = fmax(m, z->data[base + k * plane]);
      for (int k = 0; k < K; k++) s += e[k] = exp(z->data[base + k * plane] - m);
      /* One exp per class and one log per cell: log p̂_k = z_k − m − log s. */
      const double log_s = log(s);
      for (int k = 0; k < K; k++) {
        double lp = z->data[base + k * plane] - m - log_s, ph = e[k] / s;
        p_hat[base + k * plane] = (float)ph;
        if (!valid[b * plane + i]) continue;
        double pt = target[base + k * plane];
        ei[k] += ph * pt;
        eu[k] += ph + pt - ph * pt;
        mass[k] += pt;
        ce -= pt * lp;
      }
    }
  ce /= n_valid;
  double iou = 0, uoi = 0;
  for (int k = 0; k < K; k++) {
    iou += ei[k] / eu[k];
    if (mass[k] > 0) uoi += eu[k] / ei[k];
  }
  double w_ce = 0, w_iou = 0, w_uoi = 0;
  switch (loss->kind) {
    case SR_LOSS_CE: w_ce = 1; break;
    case SR_LOSS_IOU: w_iou = -1; break;
    case SR_LOSS_UOI: w_uoi = 1; break;
    case SR_LOSS_COMBO: w_uoi = loss->w_uoi, w_ce = loss->w_ce; break;
  }
  *value = w_ce * ce + w_iou * iou + w_uoi * uoi;
  if (dz) {
    for (int b = 0; b < B; b++)
      for (size_t i = 0; i < plane; i++) {
        const size_t base = (size_t)b * K * plane + i;
        if (!valid[b * plane + i]) {
          for (int k = 0; k < K; k++) dz[base + k * plane] = 0;
          continue;
        }
        /* g_k = dL/dp̂_k for this cell; then dL/dz_k = p̂_k (g_k − Σ_j p̂_j g_j). */
        double dot = 0;
        for (int k = 0; k < K; k++) {
          double pt = target[base + k * plane];
          double gk = 0;
          if (w_iou != 0) gk += w_iou * (pt * eu[k] - ei[k] * (1 - pt)) / (eu[k] * eu[k]);
          if (w_uoi != 0 && mass[k] > 0) gk += w_uoi * ((1 - pt) * ei[k] - eu[k] * pt) / (ei[k] * ei[k]);
          g[k] = gk;
          dot += p_hat[base + k * plane] * gk;
        }
        for (int k = 0; k < K; k++) {
          double ph = p_hat[base + k * plane], pt = target[base + k * plane];
          /* CE's softmax gradient in closed form: (p̂ − p)/N, Σ_k p = 1. */
          dz[base + k * plane] = (float)(ph * (g[k] - dot) + w_ce * (ph - pt) / n_valid);
        }
      }
  }
  free(p_hat), free(ei), free(eu), free(mass), free(g), free(e);
  return SR_OK;
}
