/* ranker_inputs.c: net distributions and conv5 descriptors of a split, from
 * the deployment net or out of fold (see ranker_inputs.h). */
#include "ranker_inputs.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/json_fields.h"
#include "io/npy.h"
#include "rerank/image_descriptor.h"

void ranker_inputs_clear(ranker_inputs *r) {
  free(r->probs), free(r->desc), free(r->fold), free(r->fold_desc);
  memset(r, 0, sizeof *r);
}

/* A net with its conv5 tap on the cpu backend. */
typedef struct {
  sr_backend *b;
  sr_net *net;
  sr_tensor in, probs;
  const sr_model *m;
} tapped_net;

static sr_status tapped_open(const sr_model *m, int threads, tapped_net *t, sr_error *err) {
  memset(t, 0, sizeof *t);
  t->m = m;
  sr_status st = sr_backend_new("cpu", threads, &t->b, err);
  if (st == SR_OK) st = sr_net_new(m, t->b, &t->net, err);
  if (st == SR_OK) st = sr_net_set_tap(t->net, SR_IMAGE_DESCRIPTOR_LAYER, err);
  if (st == SR_OK) st = sr_tensor_alloc(&t->in, 1, 3, m->input_h, m->input_w);
  return st;
}

static void tapped_close(tapped_net *t) {
  sr_net_free(t->net);
  if (t->b) sr_backend_free(t->b);
  sr_tensor_clear(&t->in), sr_tensor_clear(&t->probs);
}

/* Runs the net on @img: t->probs and the descriptor in @desc, which holds
 * @cap floats; a descriptor of another length than @expect (> 0) or longer
 * than @cap is an error. */
static sr_status tapped_run(tapped_net *t, const sr_image *img, float *desc, int cap, int expect, sr_error *err) {
  const sr_pixel_layout rgb = {3, 0, 1, 2};
  sr_preprocess(img->data, img->width, img->height, img->width * 3, rgb, t->m->mean_bgr, t->m->input_w,
                t->m->input_h, t->in.data);
  sr_status st = sr_net_forward(t->net, &t->in, &t->probs, err);
  if (st != SR_OK) return st;
  const sr_tensor *tap = sr_net_tap(t->net);
  int dims = sr_image_descriptor_dims(tap);
  if ((expect > 0 && dims != expect) || dims > cap)
    return sr_error_set(err, SR_ERR_INVALID, "descriptor of %d values where %d were expected (conv5 of another width?)",
                        dims, expect > 0 ? expect : cap);
  sr_image_descriptor(tap, 0, desc);
  return SR_OK;
}

enum { FIRST_DESC_CAP = 1 << 16 }; /* the first image's descriptor, before the shapes are known */

/* Sizes @r for @n images after the first pass has shown the shapes. */
static sr_status size_inputs(ranker_inputs *r, int n, const tapped_net *t, sr_error *err) {
  r->n = n, r->k = t->probs.c, r->h = t->probs.h, r->w = t->probs.w;
  r->dims = sr_image_descriptor_dims(sr_net_tap(t->net));
  r->probs = malloc(sizeof(float) * n * r->k * r->h * r->w);
  r->desc = malloc(sizeof(float) * n * r->dims);
  return r->probs && r->desc ? SR_OK : sr_error_set(err, SR_ERR_NOMEM, "out of memory for %d images' net outputs", n);
}

sr_status ranker_inputs_from_net(const sr_model *m, const sr_dataset *ds, int threads, ranker_inputs *out,
                                 sr_error *err) {
  memset(out, 0, sizeof *out);
  tapped_net t;
  sr_status st = tapped_open(m, threads, &t, err);
  double t0 = cli_now_s();
  float *d0 = malloc(sizeof(float) * FIRST_DESC_CAP);
  if (!d0) st = sr_error_set(err, SR_ERR_NOMEM, "out of memory");
  for (int i = 0; i < ds->n && st == SR_OK; i++) {
    st = i ? tapped_run(&t, &ds->images[i], out->desc + (size_t)i * out->dims, out->dims, out->dims, err)
           : tapped_run(&t, &ds->images[i], d0, FIRST_DESC_CAP, 0, err);
    if (st == SR_OK && i == 0) {
      st = size_inputs(out, ds->n, &t, err);
      if (st == SR_OK) memcpy(out->desc, d0, sizeof(float) * out->dims);
    }
    if (st == SR_OK) memcpy(out->probs + (size_t)i * out->k * out->h * out->w, t.probs.data, sizeof(float) * sr_tensor_count(&t.probs));
    cli_progress("net", i + 1, ds->n, t0);
  }
  free(d0);
  tapped_close(&t);
  if (st != SR_OK) ranker_inputs_clear(out);
  return st;
}

/* The plan's fold of each image of @ds (by name); an image the plan does
 * not list is an error. Also the model file names. */
static sr_status read_plan(const char *path, const sr_dataset *ds, int *folds, int *fold_of, char ***models,
                           sr_error *err) {
  JsonParser *p = json_parser_new();
  sr_status st = sr_json_load_file(p, path, 1u << 30, err);
  if (st != SR_OK) {
    sr_error_prefix(err, "no usable fold plan (train the folds with `segrank train --folds K -o OUT` first)");
    g_object_unref(p);
    return st;
  }
  JsonObject *o = sr_json_root_obj(p);
  JsonArray *imgs = sr_json_get_arr(o, "images"), *mods = sr_json_get_arr(o, "models");
  if (!sr_json_get_int(o, "folds", 2, 1000, folds) || !imgs || !mods || (int)json_array_get_length(mods) != *folds) {
    g_object_unref(p);
    return sr_error_set(err, SR_ERR_FORMAT, "%s: not a fold plan (folds, images, models)", path);
  }
  GHashTable *fold_by_name = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < json_array_get_length(imgs); i++) {
    JsonNode *e = json_array_get_element(imgs, i);
    JsonObject *io = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
    const char *name = sr_json_get_str(io, "name", NULL);
    int f;
    if (!name || !sr_json_get_int(io, "fold", 0, *folds - 1, &f)) {
      st = sr_error_set(err, SR_ERR_FORMAT, "%s: image entry %u needs a name and a fold", path, i);
      break;
    }
    g_hash_table_insert(fold_by_name, (gpointer)name, GINT_TO_POINTER(f + 1));
  }
  for (int i = 0; i < ds->n && st == SR_OK; i++) {
    int f = GPOINTER_TO_INT(g_hash_table_lookup(fold_by_name, ds->names[i]));
    if (!f) st = sr_error_set(err, SR_ERR_INVALID, "%s: %s is not in the fold plan (were the folds trained on this split?)", path, ds->names[i]);
    fold_of[i] = f - 1;
  }
  g_hash_table_destroy(fold_by_name);
  if (st == SR_OK) {
    char *dir = g_path_get_dirname(path), *up = g_path_get_dirname(dir);
    *models = g_new0(char *, *folds + 1);
    for (int f = 0; f < *folds; f++) {
      JsonNode *e = json_array_get_element(mods, f);
      const char *base = JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING ? json_node_get_string(e) : NULL;
      if (!base || strchr(base, '/')) {
        st = sr_error_set(err, SR_ERR_FORMAT, "%s: model %d is not a file name", path, f);
        break;
      }
      (*models)[f] = g_build_filename(up, base, NULL);
    }
    g_free(dir), g_free(up);
  }
  g_object_unref(p);
  return st;
}

sr_status ranker_inputs_from_folds(const char *folds_out, const sr_dataset *ds, int threads, ranker_inputs *out,
                                   sr_error *err) {
  memset(out, 0, sizeof *out);
  char *oof = sr_fold_oof_dir(folds_out), *plan = g_build_filename(oof, "folds.json", NULL);
  char **models = NULL;
  int folds = 0;
  int *fold_of = malloc(sizeof(int) * ds->n);
  float *d0 = malloc(sizeof(float) * FIRST_DESC_CAP);
  sr_status st = fold_of && d0 ? read_plan(plan, ds, &folds, fold_of, &models, err)
                               : sr_error_set(err, SR_ERR_NOMEM, "out of memory");
  double t0 = cli_now_s();
  for (int f = 0; f < folds && st == SR_OK; f++) {
    sr_model *m = NULL;
    tapped_net t = {0};
    st = sr_model_load(models[f], &m, err);
    if (st == SR_OK) st = tapped_open(m, threads, &t, err);
    for (int i = 0; i < ds->n && st == SR_OK; i++) {
      float *slot = out->fold_desc ? out->fold_desc + ((size_t)f * ds->n + i) * out->dims : d0;
      st = out->fold_desc ? tapped_run(&t, &ds->images[i], slot, out->dims, out->dims, err)
                          : tapped_run(&t, &ds->images[i], slot, FIRST_DESC_CAP, 0, err);
      if (st == SR_OK && !out->fold_desc) { /* first pass: now the shapes are known */
        st = size_inputs(out, ds->n, &t, err);
        out->folds = folds, out->fold = fold_of, fold_of = NULL;
        out->fold_desc = malloc(sizeof(float) * folds * ds->n * out->dims);
        if (st == SR_OK && !out->fold_desc) st = sr_error_set(err, SR_ERR_NOMEM, "out of memory for descriptors");
        if (st == SR_OK) memcpy(out->fold_desc + (size_t)i * out->dims, d0, sizeof(float) * out->dims);
      }
      if (st == SR_OK && (t.probs.c != out->k || t.probs.h != out->h || t.probs.w != out->w)) {
        st = sr_error_set(err, SR_ERR_INVALID, "%s: output %dx%dx%d differs from fold 0's", models[f], t.probs.c,
                          t.probs.h, t.probs.w);
        break;
      }
      if (st != SR_OK || out->fold[i] != f) goto progress;
      if (!sr_provenance_holds_out(m->provenance, ds->names[i])) {
        st = sr_error_set(err, SR_ERR_INVALID, "%s: it, or a model it was trained from, did not hold %s out: it may have trained on it",
                          models[f], ds->names[i]);
        break;
      }
      size_t cells = (size_t)out->k * out->h * out->w;
      float *dst = out->probs + (size_t)i * cells, *saved = NULL;
      memcpy(dst, t.probs.data, sizeof(float) * cells);
      memcpy(out->desc + (size_t)i * out->dims, out->fold_desc + ((size_t)f * ds->n + i) * out->dims,
             sizeof(float) * out->dims);
      /* The saved out-of-fold prediction must be this model's. */
      char *stem = cli_stem(ds->names[i]), *np = g_strdup_printf("%s/%s.npy", oof, stem);
      int shape[4], rank = 0;
      st = sr_npy_load(np, &saved, shape, &rank, err);
      if (st == SR_OK) {
        double d = rank == 3 && shape[0] == out->k && shape[1] == out->h && shape[2] == out->w ? 0 : INFINITY;
        for (size_t c = 0; c < cells && isfinite(d); c++) d = fmax(d, fabs(saved[c] - dst[c]));
        if (!(d < 1e-3))
          st = sr_error_set(err, SR_ERR_INVALID, "%s differs from %s's output (max |diff| %g): stale folds?", np,
                            models[f], d);
      }
      free(saved), g_free(np), g_free(stem);
    progress:
      cli_progress("fold nets", f * ds->n + i + 1, folds * ds->n, t0);
    }
    tapped_close(&t);
    sr_model_free(m);
  }
  free(d0), free(fold_of);
  g_strfreev(models);
  g_free(oof), g_free(plan);
  if (st != SR_OK) ranker_inputs_clear(out);
  return st;
}
