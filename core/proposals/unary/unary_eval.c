/* unary_eval.c: the unary classifier used on its own: superpixels, features,
 * per-superpixel argmax painted on the pixels, and its VOC-protocol
 * evaluation over a dataset (the "unary argmax" row of the recipe). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unary_internal.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

sr_status sr_unary_label_image(const sr_unary_model *m, const sr_image *rgb, const sr_slic_params *slic, int threads,
                               uint8_t *labels, sr_unary_times *times, sr_error *err) {
  sr_slic_params sp_params = slic ? *slic : m->slic;
  sp_params.threads = sr_unary_resolve_threads(threads);
  sr_superpixels sp = {0};
  sr_sp_graph g = {0};
  float *features = NULL, *probs = NULL;
  double t0 = now_ms();
  sr_status st = sr_slic(rgb, &sp_params, &sp, err);
  if (st == SR_OK) st = sr_sp_graph_build(&sp, &g, err);
  double t1 = now_ms();
  if (st == SR_OK) {
    features = malloc(sizeof(float) * (size_t)sp.n * m->feature_dim);
    probs = malloc(sizeof(float) * (size_t)sp.n * m->n_classes);
    if (!features || !probs) st = sr_error_set(err, SR_ERR_NOMEM, "unary: out of memory for %d superpixels", sp.n);
  }
  if (st == SR_OK) st = sr_unary_features(m, rgb, &sp, &g, threads, features, err);
  double t2 = now_ms();
  if (st == SR_OK) {
    sr_unary_classify(m, features, sp.n, probs);
    uint8_t *best = malloc(sp.n);
    if (!best) {
      st = sr_error_set(err, SR_ERR_NOMEM, "unary: out of memory");
    } else {
      for (int i = 0; i < sp.n; i++) {
        const float *p = probs + (size_t)i * m->n_classes;
        int b = 0;
        for (int c = 1; c < m->n_classes; c++)
          if (p[c] > p[b]) b = c;
        best[i] = (uint8_t)b;
      }
      size_t n = (size_t)rgb->width * rgb->height;
      for (size_t q = 0; q < n; q++) labels[q] = best[sp.labels[q]];
      free(best);
    }
  }
  double t3 = now_ms();
  if (times && st == SR_OK) *times = (sr_unary_times){t1 - t0, t2 - t1, t3 - t2, sp.n};
  free(features), free(probs);
  sr_sp_graph_clear(&g);
  sr_superpixels_clear(&sp);
  return st;
}

sr_status sr_unary_evaluate(const sr_unary_model *m, const sr_dataset *ds, int threads, sr_confusion *conf,
                            sr_unary_times *times, void (*progress)(int done, int total, void *data), void *data,
                            sr_error *err) {
  if (ds->n_classes != m->n_classes)
    return sr_error_set(err, SR_ERR_INVALID, "unary evaluation: dataset has %d classes, model %d", ds->n_classes,
                        m->n_classes);
  if (times) memset(times, 0, sizeof *times);
  for (int i = 0; i < ds->n; i++) {
    const sr_image *img = &ds->images[i];
    uint8_t *pred = malloc((size_t)img->width * img->height);
    if (!pred) return sr_error_set(err, SR_ERR_NOMEM, "unary evaluation: out of memory");
    sr_unary_times t;
    sr_status st = sr_unary_label_image(m, img, NULL, threads, pred, &t, err);
    if (st == SR_OK) sr_confusion_add(conf, ds->labels[i].data, pred, (size_t)img->width * img->height);
    free(pred);
    if (st != SR_OK) {
      sr_error_prefix(err, "%s", ds->names ? ds->names[i] : "image");
      return st;
    }
    if (times) {
      times->slic_ms += t.slic_ms, times->features_ms += t.features_ms, times->classify_ms += t.classify_ms;
      times->superpixels += t.superpixels;
    }
    if (progress) progress(i + 1, ds->n, data);
  }
  return SR_OK;
}
