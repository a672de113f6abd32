/* ranker_file.c: the .srranker format.
 *   bytes [0, 8)        u64 little-endian N, the header length (a multiple of 8)
 *   bytes [8, 8 + N)    JSON header, space-padded
 *   bytes [8 + N, end)  data section: little-endian float32 arrays
 * The header holds "format": "segrank-ranker", "version": 1, "classes"
 * [names], "features" {groups ("segnet,cls,source"), dim, names [...], eps,
 * uoi_cap, presence_min, cover_levels}, "normalisation" (the formula),
 * "training" {trained, solver, C, margin, max_pairs, images, proposals,
 * pairs}, "classifier" {descriptor_dim, outputs, C, solver, thresholds}
 * (only with the cls group), "provenance" (any JSON value, optional) and
 * "tensors": per array dtype (F32), shape and data_offsets [begin, end) in
 * bytes from the start of the data section. Arrays, in data order:
 *   mean [dim], std [dim], weights [dim]   score = Σ w·(f − mean)/std
 * and with the cls group:
 *   cls_desc_mean [D], cls_desc_std [D]    descriptor standardisation
 *   cls_weights [5C, D], cls_bias [5C]     decision values
 *   cls_thresholds [C, 4]                  coverage thresholds t_{c,j}
 * Loading checks sizes, offsets and shapes, that the arrays tile the data
 * section exactly, every value finite, std > 0, thresholds in [0, 1], the
 * feature definitions (constants and the full name list) against this
 * build's, and the classes against the caller's; every error names the file
 * and, for a list mismatch, the first differing name. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "../io/float_arrays.h"
#include "../io/input_file.h"
#include "../io/json_fields.h"
#include "rerank_internal.h"

#define MAX_HEADER (1u << 24)
#define NORMALISATION_TEXT "score = sum_d weights[d] * (f[d] - mean[d]) / std[d]; the highest score wins"
#define RANKER_SOLVER "L2R_L2LOSS_SVC on pairwise differences, no bias"
#define CLASSIFIER_SOLVER "L2R_L2LOSS_SVC with bias, descriptor standardised"
#define THRESHOLDS_TEXT "per class: 20/40/60/80th percentile of coverage over training images containing it"

static int ranker_arrays(const sr_ranker *r, const sr_image_classifier *c, sr_float_array *a) {
  int n = 0;
  a[n++] = (sr_float_array){"mean", 0, r->dim, r->mean, NULL};
  a[n++] = (sr_float_array){"std", 0, r->dim, r->std, NULL};
  a[n++] = (sr_float_array){"weights", 0, r->dim, r->weights, NULL};
  if (c) {
    a[n++] = (sr_float_array){"cls_desc_mean", 0, c->dim, c->desc_mean, NULL};
    a[n++] = (sr_float_array){"cls_desc_std", 0, c->dim, c->desc_std, NULL};
    a[n++] = (sr_float_array){"cls_weights", c->n_outputs, c->dim, c->weights, NULL};
    a[n++] = (sr_float_array){"cls_bias", 0, c->n_outputs, c->bias, NULL};
    a[n++] = (sr_float_array){"cls_thresholds", c->n_classes, SR_RERANK_COVER_LEVELS, c->thresholds, NULL};
  }
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

static char *build_header(const sr_ranker *r, const sr_float_array *arr, int n_arr) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  member_string(b, "format", SR_RANKER_FORMAT);
  sr_json_add_version(b, SR_RANKER_VERSION);
  json_builder_set_member_name(b, "classes");
  json_builder_begin_array(b);
  for (int i = 0; i < r->n_classes; i++) json_builder_add_string_value(b, r->classes[i].name);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "features");
  json_builder_begin_object(b);
  char groups[32];
  member_string(b, "groups", sr_rerank_groups_format(r->groups, groups, sizeof groups));
  member_int(b, "dim", r->dim);
  json_builder_set_member_name(b, "names");
  json_builder_begin_array(b);
  for (int d = 0; d < r->dim; d++) json_builder_add_string_value(b, r->names[d]);
  json_builder_end_array(b);
  member_double(b, "eps", r->fp.eps);
  member_double(b, "uoi_cap", SR_RERANK_UOI_CAP);
  member_double(b, "presence_min", SR_RERANK_PRESENCE_MIN);
  member_int(b, "cover_levels", SR_RERANK_COVER_LEVELS);
  json_builder_end_object(b);
  member_string(b, "normalisation", NORMALISATION_TEXT);
  json_builder_set_member_name(b, "training");
  json_builder_begin_object(b);
  member_int(b, "trained", r->train.trained);
  member_string(b, "solver", RANKER_SOLVER);
  member_double(b, "C", r->train.C);
  member_double(b, "margin", r->train.margin);
  member_int(b, "max_pairs", r->train.max_pairs);
  member_int(b, "images", r->train.images);
  member_int(b, "proposals", r->train.proposals);
  member_int(b, "pairs", r->train.pairs);
  json_builder_end_object(b);
  if (r->cls) {
    json_builder_set_member_name(b, "classifier");
    json_builder_begin_object(b);
    member_int(b, "descriptor_dim", r->cls->dim);
    member_int(b, "outputs", r->cls->n_outputs);
    member_double(b, "C", r->cls->C);
    member_string(b, "solver", CLASSIFIER_SOLVER);
    member_string(b, "thresholds", THRESHOLDS_TEXT);
    json_builder_end_object(b);
  }
  if (r->provenance) {
    JsonNode *prov = json_from_string(r->provenance, NULL);
    if (prov) {
      json_builder_set_member_name(b, "provenance");
      json_builder_add_value(b, prov);
    }
  }
  sr_float_arrays_describe(b, arr, n_arr);
  json_builder_end_object(b);
  return sr_json_builder_finish(b, TRUE);
}

sr_status sr_ranker_save(const sr_ranker *r, const char *path, sr_error *err) {
  sr_float_array arr[8];
  int n_arr = ranker_arrays(r, r->cls, arr);
  char *header = build_header(r, arr, n_arr);
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

static const char *string_at(JsonArray *a, guint i) {
  JsonNode *n = json_array_get_element(a, i);
  return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n) : NULL;
}

/* The class names, checked against the caller's list when given. */
static sr_status read_classes(reader *r, JsonObject *o, const sr_class *expect, int n_expect, sr_class **classes,
                              int *n_classes) {
  JsonArray *a = sr_json_get_arr(o, "classes");
  if (!a || json_array_get_length(a) < 1 || json_array_get_length(a) > 255)
    return bad(r, "\"classes\" must list 1..255 class names");
  int n = (int)json_array_get_length(a);
  sr_class *c = calloc(n, sizeof *c);
  if (!c) return sr_error_set(r->err, SR_ERR_NOMEM, "%s: out of memory", r->path);
  for (int i = 0; i < n; i++) {
    const char *name = string_at(a, (guint)i);
    if (!name || !*name || strlen(name) >= sizeof c[i].name) {
      free(c);
      return bad(r, "class %d needs a name (1..47 bytes)", i);
    }
    strcpy(c[i].name, name);
  }
  if (n_expect > 0) {
    for (int i = 0; i < n && i < n_expect; i++)
      if (strcmp(c[i].name, expect[i].name)) {
        sr_status st = bad(r, "class mismatch: class %d is '%s', expected '%s'", i, c[i].name, expect[i].name);
        free(c);
        return st;
      }
    if (n != n_expect) {
      sr_status st = n < n_expect ? bad(r, "class mismatch: the file has %d classes, expected %d (first missing: '%s')",
                                        n, n_expect, expect[n].name)
                                  : bad(r, "class mismatch: the file has %d classes, expected %d (first extra: '%s')",
                                        n, n_expect, c[n_expect].name);
      free(c);
      return st;
    }
  }
  *classes = c, *n_classes = n;
  return SR_OK;
}

/* Groups, constants and the full name list must be this build's. */
static sr_status read_features(reader *r, JsonObject *o, sr_ranker *k) {
  JsonObject *f = sr_json_get_obj(o, "features");
  const char *groups = sr_json_get_str(f, "groups", NULL);
  if (!groups) return bad(r, "\"features\" has no \"groups\"");
  sr_error gerr = {0};
  if (sr_rerank_groups_parse(groups, &k->groups, &gerr) != SR_OK) return bad(r, "%s", gerr.msg);
  double eps = 0, cap = 0, pmin = 0;
  int levels = 0, dim = 0;
  if (!sr_json_get_num(f, "eps", &eps) || !(eps > 0)) return bad(r, "features: eps must be a positive number");
  k->fp.eps = eps;
  if (!sr_json_get_num(f, "uoi_cap", &cap) || !sr_json_get_num(f, "presence_min", &pmin) ||
      !sr_json_get_int(f, "cover_levels", 0, 1000, &levels))
    return bad(r, "features: uoi_cap, presence_min and cover_levels are required");
  if (cap != SR_RERANK_UOI_CAP || pmin != SR_RERANK_PRESENCE_MIN || levels != SR_RERANK_COVER_LEVELS)
    return bad(r, "features were defined with uoi_cap %g, presence_min %g, %d cover levels; this build uses %g, %g, %d",
               cap, pmin, levels, SR_RERANK_UOI_CAP, SR_RERANK_PRESENCE_MIN, SR_RERANK_COVER_LEVELS);
  char **want = NULL;
  sr_status st = sr_rerank_feature_names(k->groups, k->classes, k->n_classes, &want, r->err);
  if (st != SR_OK) return st;
  k->names = want;
  k->dim = sr_rerank_feature_dim(k->groups, k->n_classes);
  JsonArray *names = sr_json_get_arr(f, "names");
  if (!names) return bad(r, "features: no \"names\" list");
  int n = (int)json_array_get_length(names);
  for (int i = 0; i < n && i < k->dim; i++) {
    const char *name = string_at(names, (guint)i);
    if (!name) return bad(r, "features: name %d is not a string", i);
    if (strcmp(name, want[i]))
      return bad(r, "feature mismatch: feature %d is '%s', this build computes '%s' there", i, name, want[i]);
  }
  if (n != k->dim)
    return n < k->dim ? bad(r, "feature mismatch: the file lists %d features, this build computes %d (first missing: '%s')",
                            n, k->dim, want[n])
                      : bad(r, "feature mismatch: the file lists %d features, this build computes %d (first extra: '%s')",
                            n, k->dim, string_at(names, (guint)k->dim) ? string_at(names, (guint)k->dim) : "?");
  if (!sr_json_get_int(f, "dim", 0, 1 << 24, &dim) || dim != k->dim)
    return bad(r, "features: \"dim\" must be %d", k->dim);
  return SR_OK;
}

static sr_status read_training(reader *r, JsonObject *o, sr_ranker *k) {
  JsonObject *t = sr_json_get_obj(o, "training");
  sr_ranker_train_info *i = &k->train;
  if (!sr_json_get_int(t, "trained", 0, 1, &i->trained) || !sr_json_get_num(t, "C", &i->C) ||
      !sr_json_get_num(t, "margin", &i->margin) || !sr_json_get_int(t, "max_pairs", -(1 << 30), 1 << 30, &i->max_pairs) ||
      !sr_json_get_int(t, "images", 0, G_MAXINT, &i->images) ||
      !sr_json_get_int(t, "proposals", 0, G_MAXINT, &i->proposals) || !sr_json_get_int(t, "pairs", 0, G_MAXINT, &i->pairs))
    return bad(r, "\"training\" needs trained, C, margin, max_pairs, images, proposals and pairs");
  return SR_OK;
}

static sr_status read_classifier(reader *r, JsonObject *o, sr_ranker *k) {
  JsonObject *c = sr_json_get_obj(o, "classifier");
  if (!(k->groups & SR_RERANK_CLS)) {
    if (c) return bad(r, "a \"classifier\" without the cls feature group");
    return SR_OK;
  }
  int dim = 0, outputs = 0;
  double C = 0;
  if (!c || !sr_json_get_int(c, "descriptor_dim", 1, 1 << 24, &dim) ||
      !sr_json_get_int(c, "outputs", 1, 1 << 24, &outputs) || !sr_json_get_num(c, "C", &C))
    return bad(r, "the cls feature group needs \"classifier\" {descriptor_dim, outputs, C}");
  if (outputs != SR_IMAGE_CLASSIFIER_OUTPUTS(k->n_classes))
    return bad(r, "classifier: %d outputs, %d classes need %d", outputs, k->n_classes,
               SR_IMAGE_CLASSIFIER_OUTPUTS(k->n_classes));
  sr_status st = sr_image_classifier_alloc(k->n_classes, dim, &k->cls, r->err);
  if (st == SR_OK) k->cls->C = C;
  return st;
}

/* The arrays, then the checks on their values. */
static sr_status read_arrays(reader *r, JsonObject *o, const guint8 *data, guint64 data_len, sr_ranker *k) {
  sr_float_array arr[8];
  int n_arr = ranker_arrays(k, k->cls, arr);
  sr_status st = sr_float_arrays_read(r->path, o, data, data_len, arr, n_arr, r->err);
  if (st != SR_OK) return st;
  for (int d = 0; d < k->dim; d++)
    if (!(k->std[d] > 0)) return bad(r, "std of feature %s is not positive", k->names[d]);
  if (k->cls) {
    for (int d = 0; d < k->cls->dim; d++)
      if (!(k->cls->desc_std[d] > 0)) return bad(r, "cls_desc_std[%d] is not positive", d);
    for (int i = 0; i < k->n_classes * SR_RERANK_COVER_LEVELS; i++)
      if (!(k->cls->thresholds[i] >= 0 && k->cls->thresholds[i] <= 1))
        return bad(r, "cls_thresholds[%d] = %g is not a coverage in [0, 1]", i, k->cls->thresholds[i]);
  }
  return SR_OK;
}

static sr_status parse(reader *r, JsonObject *o, const sr_class *expect, int n_expect, const guint8 *data,
                       guint64 data_len, sr_ranker *k) {
  const char *format = sr_json_get_str(o, "format", NULL);
  char why[320];
  if (!format || strcmp(format, SR_RANKER_FORMAT))
    return bad(r, "not a segrank ranker (format '%s')", format ? format : "none");
  if (!sr_json_version_ok(o, SR_RANKER_VERSION, why, sizeof why)) return bad(r, "%s", why);
  sr_status st = read_classes(r, o, expect, n_expect, &k->classes, &k->n_classes);
  if (st == SR_OK) st = read_features(r, o, k);
  if (st == SR_OK) st = read_training(r, o, k);
  if (st == SR_OK) st = read_classifier(r, o, k);
  if (st == SR_OK) {
    k->mean = calloc(k->dim, sizeof(float));
    k->std = calloc(k->dim, sizeof(float));
    k->weights = calloc(k->dim, sizeof(float));
    if (!k->mean || !k->std || !k->weights) st = sr_error_set(r->err, SR_ERR_NOMEM, "%s: out of memory", r->path);
  }
  if (st == SR_OK) st = read_arrays(r, o, data, data_len, k);
  if (st == SR_OK && json_object_has_member(o, "provenance")) {
    char *prov = json_to_string(json_object_get_member(o, "provenance"), FALSE);
    k->provenance = strdup(prov);
    g_free(prov);
  }
  return st;
}

int sr_ranker_trained_m(const sr_ranker *r) {
  const char *prov = sr_ranker_provenance(r);
  if (!prov) return 0;
  JsonParser *p = json_parser_new();
  int m = 0;
  JsonObject *o = sr_json_parse(p, prov, -1, "ranker", "provenance", NULL) == SR_OK ? sr_json_root_obj(p) : NULL;
  if (!o || !sr_json_get_int(o, "M", 1, 1 << 20, &m)) m = 0;
  g_object_unref(p);
  return m;
}

sr_status sr_ranker_load(const char *path, const sr_class *expect, int n_expect, sr_ranker **out, sr_error *err) {
  *out = NULL;
  reader r = {path, err};
  gchar *contents = NULL;
  gsize size = 0;
  guint64 hlen;
  sr_status st = sr_input_read_prefixed(path, ".srranker file", MAX_HEADER, FALSE, &contents, &size, &hlen, err);
  if (st != SR_OK) return st;
  sr_ranker *k = calloc(1, sizeof *k);
  JsonParser *p = json_parser_new();
  if (!k) {
    st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
  } else if ((st = sr_json_parse(p, contents + 8, (gssize)hlen, path, "header", err)) == SR_OK) {
    JsonObject *o = sr_json_root_obj(p);
    st = parse(&r, o, expect, n_expect, (const guint8 *)contents + 8 + hlen, size - 8 - hlen, k);
  }
  g_object_unref(p);
  g_free(contents);
  if (st != SR_OK) {
    sr_ranker_free(k);
    return st;
  }
  *out = k;
  return SR_OK;
}
