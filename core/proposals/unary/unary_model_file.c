/* unary_model_file.c: the .srunary format.
 *   bytes [0, 8)        u64 little-endian N, the header length (a multiple of 8)
 *   bytes [8, 8 + N)    JSON header, space-padded
 *   bytes [8 + N, end)  data section: little-endian float32 arrays
 * The header holds "format": "segrank-unary", "version": 1, "dataset",
 * "classes" [{name, color}], "features" {blocks [{name, dims, map}], raw_dim,
 * dim}, "textons" {count, filters, grid_step}, "chi2" {steps, interval},
 * "normalisation" (text of the formula), "slic" {n_superpixels, compactness,
 * iterations}, "training" {solver, C, class_weight_exponent}, "provenance"
 * (any JSON object), and "tensors": for each array its dtype (F32), shape and
 * data_offsets [begin, end) in bytes from the start of the data section.
 * Arrays, in data order:
 *   textons     [count, 17]  dictionary in standardised filter space
 *   filter_mean [17], filter_std [17]  standardisation of the filter responses
 *   norm_shift  [dim], norm_scale [dim]  feature = (mapped − shift) · scale
 *   weights     [classes, dim], bias [classes]  decision value per class
 * Loading checks every size, offset and shape, that the arrays tile the data
 * section exactly, that every value is finite, that the class list matches
 * the weights (and, when the dataset is known, its class table: the same
 * names in the same order), and that the feature list is exactly the one
 * this build computes. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "../../classes.h"
#include "../../io/float_arrays.h"
#include "../../io/input_file.h"
#include "../../io/json_fields.h"
#include "unary_internal.h"

#define MAX_HEADER (1u << 20)
#define NORMALISATION_TEXT "feature = (chi2_map(raw) - norm_shift) * norm_scale; scalars are not mapped"

static int model_arrays(const sr_unary_model *m, sr_float_array *a) {
  int n = 0;
  a[n++] = (sr_float_array){"textons", m->n_textons, SR_N_FILTERS, m->textons, NULL};
  a[n++] = (sr_float_array){"filter_mean", 0, SR_N_FILTERS, (float *)m->filter_mean, NULL};
  a[n++] = (sr_float_array){"filter_std", 0, SR_N_FILTERS, (float *)m->filter_std, NULL};
  a[n++] = (sr_float_array){"norm_shift", 0, m->feature_dim, m->norm_shift, NULL};
  a[n++] = (sr_float_array){"norm_scale", 0, m->feature_dim, m->norm_scale, NULL};
  a[n++] = (sr_float_array){"weights", m->n_classes, m->feature_dim, m->weights,
                            " (classes × feature dim: class count mismatch?)"};
  a[n++] = (sr_float_array){"bias", 0, m->n_classes, m->bias, " (one per class: class count mismatch?)"};
  return n;
}

/* ---- writing ---- */

static void member_int(JsonBuilder *b, const char *k, gint64 v) {
  json_builder_set_member_name(b, k);
  json_builder_add_int_value(b, v);
}
static void member_double(JsonBuilder *b, const char *k, double v) {
  json_builder_set_member_name(b, k);
  json_builder_add_double_value(b, v);
}
static void member_string(JsonBuilder *b, const char *k, const char *v) {
  json_builder_set_member_name(b, k);
  json_builder_add_string_value(b, v);
}

static char *build_header(const sr_unary_model *m, const sr_float_array *arr, int n_arr) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  member_string(b, "format", SR_UNARY_FORMAT);
  sr_json_add_version(b, SR_UNARY_VERSION);
  member_string(b, "dataset", m->dataset);
  json_builder_set_member_name(b, "classes");
  json_builder_begin_array(b);
  for (int i = 0; i < m->n_classes; i++) {
    json_builder_begin_object(b);
    member_string(b, "name", m->classes[i].name);
    json_builder_set_member_name(b, "color");
    json_builder_begin_array(b);
    for (int c = 0; c < 3; c++) json_builder_add_int_value(b, m->classes[i].rgb[c]);
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "features");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "blocks");
  json_builder_begin_array(b);
  const sr_feature_block *blocks;
  int nb = sr_feature_blocks(&blocks);
  for (int i = 0; i < nb; i++) {
    json_builder_begin_object(b);
    member_string(b, "name", blocks[i].name);
    member_int(b, "dims", sr_feature_block_dims(&blocks[i], m->n_textons));
    member_string(b, "map", blocks[i].histogram ? "chi2" : "none");
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  member_int(b, "raw_dim", m->raw_dim);
  member_int(b, "dim", m->feature_dim);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "textons");
  json_builder_begin_object(b);
  member_int(b, "count", m->n_textons);
  member_int(b, "filters", SR_N_FILTERS);
  member_int(b, "grid_step", SR_TEXTON_STEP);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "chi2");
  json_builder_begin_object(b);
  member_int(b, "steps", m->chi2_steps);
  member_double(b, "interval", m->chi2_interval);
  json_builder_end_object(b);
  member_string(b, "normalisation", NORMALISATION_TEXT);
  json_builder_set_member_name(b, "slic");
  json_builder_begin_object(b);
  member_int(b, "n_superpixels", m->slic.n_superpixels);
  member_double(b, "compactness", m->slic.compactness);
  member_int(b, "iterations", m->slic.iterations);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "training");
  json_builder_begin_object(b);
  member_string(b, "solver", m->solver);
  member_double(b, "C", m->C);
  member_double(b, "class_weight_exponent", m->class_weight_exponent);
  json_builder_end_object(b);
  if (m->provenance) {
    JsonNode *prov = json_from_string(m->provenance, NULL);
    if (prov && JSON_NODE_HOLDS_OBJECT(prov)) {
      json_builder_set_member_name(b, "provenance");
      json_builder_add_value(b, prov);
    } else if (prov) {
      json_node_unref(prov);
    }
  }
  sr_float_arrays_describe(b, arr, n_arr);
  json_builder_end_object(b);
  char *text = sr_json_builder_finish(b, TRUE);
  return text;
}

sr_status sr_unary_model_save(const sr_unary_model *m, const char *path, sr_error *err) {
  sr_float_array arr[8];
  int n_arr = model_arrays(m, arr);
  char *header = build_header(m, arr, n_arr);
  sr_status st = sr_float_arrays_save(path, header, arr, n_arr, err);
  g_free(header);
  return st;
}

/* ---- reading ---- */

typedef struct {
  const char *path;
  sr_error *err;
} reader;

static sr_status bad(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static sr_status bad(reader *r, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return sr_error_set(r->err, SR_ERR_FORMAT, "%s: %s", r->path, msg);
}

static sr_status parse_classes(reader *r, JsonObject *o, sr_unary_model *m) {
  JsonArray *classes = sr_json_get_arr(o, "classes");
  const char *dataset = sr_json_get_str(o, "dataset", NULL);
  if (!dataset || strlen(dataset) >= sizeof m->dataset) return bad(r, "missing or overlong \"dataset\"");
  strcpy(m->dataset, dataset);
  if (!classes || json_array_get_length(classes) < 2 || json_array_get_length(classes) > 255)
    return bad(r, "\"classes\" must list 2..255 classes");
  m->n_classes = (int)json_array_get_length(classes);
  const sr_class *known = NULL;
  int n_known = sr_dataset_classes(dataset, &known);
  if (n_known > 0 && n_known != m->n_classes)
    return bad(r, "class count mismatch: dataset %s has %d classes, the file lists %d", dataset, n_known,
               m->n_classes);
  return SR_OK;
}

/* Reads the class names and colours; when the dataset is one segrank knows,
 * the names must be its class table's, in its order (colours may differ). */
static sr_status fill_classes(reader *r, JsonObject *o, sr_unary_model *m) {
  JsonArray *classes = sr_json_get_arr(o, "classes");
  const sr_class *known = NULL;
  int n_known = sr_dataset_classes(m->dataset, &known);
  for (int i = 0; i < m->n_classes; i++) {
    JsonNode *cn = json_array_get_element(classes, i);
    JsonObject *c = JSON_NODE_HOLDS_OBJECT(cn) ? json_node_get_object(cn) : NULL;
    const char *name = sr_json_get_str(c, "name", NULL);
    JsonArray *col = sr_json_get_arr(c, "color");
    if (!name || !*name || strlen(name) >= sizeof m->classes[i].name || !col || json_array_get_length(col) != 3)
      return bad(r, "class %d needs a name (< 48 bytes) and an RGB color", i);
    if (n_known > 0 && strcmp(name, known[i].name))
      return bad(r, "class %d is '%s'; dataset %s has '%s' there (class names must follow the dataset's order)", i,
                 name, m->dataset, known[i].name);
    strcpy(m->classes[i].name, name);
    for (int k = 0; k < 3; k++) {
      JsonNode *e = json_array_get_element(col, k);
      gint64 v = JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_INT64 ? json_node_get_int(e) : -1;
      if (v < 0 || v > 255) return bad(r, "class %s: color component %d outside 0..255", name, k);
      m->classes[i].rgb[k] = (uint8_t)v;
    }
  }
  return SR_OK;
}

static sr_status parse_settings(reader *r, JsonObject *o, sr_unary_model *m) {
  JsonObject *tex = sr_json_get_obj(o, "textons"), *chi = sr_json_get_obj(o, "chi2"), *slic = sr_json_get_obj(o, "slic"),
             *train = sr_json_get_obj(o, "training");
  int filters = 0, step = 0;
  if (!sr_json_get_int(tex, "count", 2, SR_MAX_TEXTONS, &m->n_textons) || !sr_json_get_int(tex, "filters", 0, 1000, &filters) ||
      !sr_json_get_int(tex, "grid_step", 0, 1000, &step))
    return bad(r, "\"textons\" needs count (2..%d), filters and grid_step", SR_MAX_TEXTONS);
  if (filters != SR_N_FILTERS || step != SR_TEXTON_STEP)
    return bad(r, "textons use %d filters on a %d-pixel grid; this build computes %d on a %d-pixel grid", filters,
               step, SR_N_FILTERS, SR_TEXTON_STEP);
  double interval = 0;
  if (!sr_json_get_int(chi, "steps", 1, 8, &m->chi2_steps) || !sr_json_get_num(chi, "interval", &interval) || interval <= 0 ||
      interval > 10)
    return bad(r, "\"chi2\" needs steps (1..8) and a positive interval");
  m->chi2_interval = (float)interval;
  double compactness = 0;
  if (!sr_json_get_int(slic, "n_superpixels", 1, 1 << 24, &m->slic.n_superpixels) ||
      !sr_json_get_num(slic, "compactness", &compactness) || compactness <= 0 ||
      !sr_json_get_int(slic, "iterations", 1, 1000, &m->slic.iterations))
    return bad(r, "\"slic\" needs n_superpixels, a positive compactness and iterations");
  m->slic.compactness = (float)compactness;
  m->slic.threads = 0;
  const char *solver = sr_json_get_str(train, "solver", NULL);
  if (!solver || strlen(solver) >= sizeof m->solver || !sr_json_get_num(train, "C", &m->C) ||
      !sr_json_get_num(train, "class_weight_exponent", &m->class_weight_exponent))
    return bad(r, "\"training\" needs solver, C and class_weight_exponent");
  strcpy(m->solver, solver);
  return SR_OK;
}

/* The feature list must be exactly this build's. */
static sr_status check_features(reader *r, JsonObject *o, const sr_unary_model *m) {
  JsonObject *f = sr_json_get_obj(o, "features");
  JsonArray *list = sr_json_get_arr(f, "blocks");
  if (!list) return bad(r, "\"features\" has no block list");
  const sr_feature_block *blocks;
  int nb = sr_feature_blocks(&blocks);
  int n = (int)json_array_get_length(list);
  for (int i = 0; i < n; i++) {
    JsonNode *en = json_array_get_element(list, i);
    JsonObject *e = JSON_NODE_HOLDS_OBJECT(en) ? json_node_get_object(en) : NULL;
    const char *name = sr_json_get_str(e, "name", NULL), *map = sr_json_get_str(e, "map", NULL);
    int dims = 0;
    if (!name || !map || !sr_json_get_int(e, "dims", 1, 1 << 20, &dims))
      return bad(r, "feature block %d needs name, dims and map", i);
    int known = -1;
    for (int j = 0; j < nb; j++)
      if (!strcmp(blocks[j].name, name)) known = j;
    if (known < 0) return bad(r, "unknown feature '%s' (this build does not compute it)", name);
    if (known != i || i >= nb) return bad(r, "feature '%s' at position %d, this build has it at %d", name, i, known);
    int want = sr_feature_block_dims(&blocks[i], m->n_textons);
    if (dims != want) return bad(r, "feature '%s' has %d dims, this build computes %d", name, dims, want);
    if (strcmp(map, blocks[i].histogram ? "chi2" : "none"))
      return bad(r, "feature '%s': map '%s', this build uses '%s'", name, map, blocks[i].histogram ? "chi2" : "none");
  }
  if (n != nb) return bad(r, "the file lists %d feature blocks, this build computes %d (missing '%s')", n, nb, blocks[n < nb ? n : 0].name);
  int raw = 0, dim = 0;
  if (!sr_json_get_int(f, "raw_dim", 1, 1 << 24, &raw) || !sr_json_get_int(f, "dim", 1, 1 << 24, &dim) || raw != m->raw_dim ||
      dim != m->feature_dim)
    return bad(r, "features: raw_dim/dim must be %d/%d for %d textons and %d χ² steps", m->raw_dim, m->feature_dim,
               m->n_textons, m->chi2_steps);
  return SR_OK;
}

/* The arrays, then the checks on their values. */
static sr_status read_arrays(reader *r, JsonObject *o, const guint8 *data, guint64 data_len, sr_unary_model *m) {
  sr_float_array arr[8];
  int n_arr = model_arrays(m, arr);
  sr_status st = sr_float_arrays_read(r->path, o, data, data_len, arr, n_arr, r->err);
  if (st != SR_OK) return st;
  for (int f = 0; f < SR_N_FILTERS; f++)
    if (!(m->filter_std[f] > 0)) return bad(r, "filter_std[%d] is not positive", f);
  return SR_OK;
}

sr_status sr_unary_model_load(const char *path, sr_unary_model **out, sr_error *err) {
  reader r = {path, err};
  gchar *contents = NULL;
  gsize size = 0;
  guint64 hlen;
  *out = NULL;
  sr_status st = sr_input_read_prefixed(path, ".srunary file", MAX_HEADER, FALSE, &contents, &size, &hlen, err);
  if (st != SR_OK) return st;
  sr_unary_model *m = calloc(1, sizeof *m);
  JsonParser *p = json_parser_new();
  if (!m) {
    st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
  } else if ((st = sr_json_parse(p, contents + 8, (gssize)hlen, path, "header", err)) == SR_OK) {
    JsonObject *o = sr_json_root_obj(p);
    const char *format = sr_json_get_str(o, "format", NULL);
    char why[320];
    if (!format || strcmp(format, SR_UNARY_FORMAT))
      st = bad(&r, "not a segrank unary model (format '%s')", format ? format : "none");
    else if (!sr_json_version_ok(o, SR_UNARY_VERSION, why, sizeof why))
      st = bad(&r, "%s", why);
    if (st == SR_OK) st = parse_classes(&r, o, m);
    if (st == SR_OK) st = parse_settings(&r, o, m);
    if (st == SR_OK) st = sr_unary_model_alloc(m, err);
    if (st == SR_OK) st = fill_classes(&r, o, m);
    if (st == SR_OK) st = check_features(&r, o, m);
    if (st == SR_OK)
      st = read_arrays(&r, o, (const guint8 *)contents + 8 + hlen, size - 8 - hlen, m);
    if (st == SR_OK && json_object_has_member(o, "provenance")) {
      char *prov = json_to_string(json_object_get_member(o, "provenance"), FALSE);
      m->provenance = strdup(prov);
      g_free(prov);
    }
  }
  g_object_unref(p);
  g_free(contents);
  if (st != SR_OK) {
    sr_unary_model_free(m);
    return st;
  }
  sr_unary_model_finish(m);
  *out = m;
  return SR_OK;
}
