/* synthetic_scenes.h: the small labelled scenes the proposal-source tests
 * train and run on (header-only, static): three classes told apart by
 * colour and texture, a void top row, and a unary model trained on a few of
 * them in a fraction of a second. */
#ifndef SR_SYNTHETIC_SCENES_H
#define SR_SYNTHETIC_SCENES_H

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "segrank.h"

#define SYNTH_CLASSES 3
#define SYNTH_VOID 3

/* Class 0: smooth blue-grey gradient; class 1: green-brown speckle noise in
 * a random disc; class 2: grey-red vertical stripes in a random rectangle;
 * a global random shade; the top row is void in @lab (nullable). */
static inline void synth_scene(uint64_t seed, int w, int h, sr_image *img, sr_image *lab) {
  sr_rng r;
  sr_rng_seed(&r, seed);
  *img = (sr_image){w, h, 3, malloc((size_t)w * h * 3)};
  if (lab) *lab = (sr_image){w, h, 1, malloc((size_t)w * h)};
  double cx = w * (0.2 + 0.6 * sr_rng_uniform(&r)), cy = h * (0.2 + 0.6 * sr_rng_uniform(&r));
  double rad = h * (0.18 + 0.12 * sr_rng_uniform(&r));
  int rx0 = (int)(w * 0.6 * sr_rng_uniform(&r)), ry0 = (int)(h * 0.6 * sr_rng_uniform(&r));
  int rx1 = rx0 + (int)(w * (0.2 + 0.2 * sr_rng_uniform(&r))), ry1 = ry0 + (int)(h * (0.2 + 0.2 * sr_rng_uniform(&r)));
  double shade = 0.8 + 0.4 * sr_rng_uniform(&r);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = img->data + ((size_t)y * w + x) * 3;
      int c;
      double v[3];
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < rad * rad) {
        c = 1;
        double n = 80 * (sr_rng_uniform(&r) - 0.5);
        v[0] = 90 + n, v[1] = 130 + n, v[2] = 60 + n * 0.5;
      } else if (x >= rx0 && x < rx1 && y >= ry0 && y < ry1) {
        c = 2;
        double s = (x / 3) % 2 ? 50 : -50;
        v[0] = 150 + s, v[1] = 110 + s, v[2] = 110 + s;
      } else {
        c = 0;
        double t = 120 + 40.0 * y / h + 4 * (sr_rng_uniform(&r) - 0.5);
        v[0] = t * 0.8, v[1] = t * 0.9, v[2] = t * 1.1;
      }
      for (int k = 0; k < 3; k++) {
        double q = v[k] * shade;
        p[k] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
      }
      if (lab) lab->data[(size_t)y * w + x] = (uint8_t)(y == 0 ? SYNTH_VOID : c);
    }
}

/* @n scenes of @w × @h from seeds @seed, @seed+1, … as a dataset. */
static inline void synth_dataset(int n, uint64_t seed, int w, int h, sr_dataset *ds) {
  memset(ds, 0, sizeof *ds);
  ds->n = n, ds->n_classes = SYNTH_CLASSES, ds->void_label = SYNTH_VOID;
  ds->images = calloc(n, sizeof(sr_image)), ds->labels = calloc(n, sizeof(sr_image));
  ds->names = calloc(n, sizeof(char *));
  for (int i = 0; i < n; i++) {
    synth_scene(seed + i, w, h, &ds->images[i], &ds->labels[i]);
    ds->names[i] = g_strdup_printf("synth%02d.png", i);
  }
}

static inline void synth_dataset_free(sr_dataset *ds) {
  for (int i = 0; i < ds->n; i++) sr_image_clear(&ds->images[i]), sr_image_clear(&ds->labels[i]), g_free(ds->names[i]);
  free(ds->images), free(ds->labels), free(ds->names);
  memset(ds, 0, sizeof *ds);
}

static inline void synth_quiet_progress(const char *stage, int done, int total, void *data) {
  (void)stage, (void)done, (void)total, (void)data;
}

/* A small unary model trained on @n_images scenes of @w × @h (8 textons,
 * @n_superpixels superpixels); NULL with @err set on failure. */
static inline sr_unary_model *synth_train_unary(int n_images, int w, int h, int n_superpixels, sr_error *err) {
  sr_dataset ds;
  synth_dataset(n_images, 100, w, h, &ds);
  sr_unary_train_params p;
  sr_unary_train_params_default(&p);
  p.dataset = "synthetic";
  p.n_textons = 8, p.texton_samples = 4000, p.frame_stride = 1, p.threads = 2, p.seed = 3;
  p.slic.n_superpixels = n_superpixels;
  sr_unary_model *m = NULL;
  if (sr_unary_train(&ds, &p, &m, synth_quiet_progress, NULL, err) != SR_OK) m = NULL;
  synth_dataset_free(&ds);
  return m;
}

#endif
