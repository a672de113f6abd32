/* model_file.c: the .srmodel format. It is the safetensors layout, so other
 * tools can read the tensors:
 *   u64 little-endian N | N bytes of JSON header (space-padded to 8) | data
 * The header maps "<layer>.weight" / "<layer>.bias" to {dtype F32|F16, shape,
 * data_offsets [begin, end)} relative to the data section, and
 * "__metadata__".segrank holds a JSON document (as a string, since safetensors
 * metadata values are strings) with the input size, mean, classes, layer list
 * and provenance. Loading checks every offset, size and shape, and that the
 * tensors tile the data section exactly. */
#include <glib.h>
#include <math.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "../half.h"
#include "../model.h"
#include "atomic_file.h"
#include "input_file.h"
#include "json_fields.h"

#define MAX_HEADER (16u << 20)

/* ---- writing ---- */

static void add_int_array(JsonBuilder *b, const int *v, int n) {
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++) json_builder_add_int_value(b, v[i]);
  json_builder_end_array(b);
}

static char *segrank_metadata(const sr_model *m) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  sr_json_add_version(b, SR_MODEL_FORMAT_VERSION);
  json_builder_set_member_name(b, "input");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "width");
  json_builder_add_int_value(b, m->input_w);
  json_builder_set_member_name(b, "height");
  json_builder_add_int_value(b, m->input_h);
  json_builder_set_member_name(b, "mean_bgr");
  json_builder_begin_array(b);
  for (int i = 0; i < 3; i++) json_builder_add_double_value(b, m->mean_bgr[i]);
  json_builder_end_array(b);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "classes");
  json_builder_begin_array(b);
  for (int i = 0; i < m->n_classes; i++) {
    int rgb[3] = {m->classes[i].rgb[0], m->classes[i].rgb[1], m->classes[i].rgb[2]};
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, m->classes[i].name);
    json_builder_set_member_name(b, "color");
    add_int_array(b, rgb, 3);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "layers");
  json_builder_begin_array(b);
  for (int i = 0; i < m->n_layers; i++) {
    const sr_layer *l = &m->layers[i];
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, l->name);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, sr_layer_type_name(l->type));
#define INT_MEMBER(key, val)                 \
  do {                                       \
    json_builder_set_member_name(b, key);    \
    json_builder_add_int_value(b, val);      \
  } while (0)
#define DBL_MEMBER(key, val)                 \
  do {                                       \
    json_builder_set_member_name(b, key);    \
    json_builder_add_double_value(b, val);   \
  } while (0)
    switch (l->type) {
      case SR_LAYER_CONV:
        INT_MEMBER("out", l->conv.out_c);
        INT_MEMBER("kernel_h", l->conv.kh);
        INT_MEMBER("kernel_w", l->conv.kw);
        INT_MEMBER("stride", l->conv.stride);
        INT_MEMBER("pad", l->conv.pad);
        INT_MEMBER("group", l->conv.group);
        break;
      case SR_LAYER_MAXPOOL:
        INT_MEMBER("kernel", l->pool.kernel);
        INT_MEMBER("stride", l->pool.stride);
        INT_MEMBER("pad", l->pool.pad);
        break;
      case SR_LAYER_LRN:
        INT_MEMBER("size", l->lrn.size);
        DBL_MEMBER("alpha", l->lrn.alpha);
        DBL_MEMBER("beta", l->lrn.beta);
        DBL_MEMBER("k", l->lrn.k);
        break;
      case SR_LAYER_DROPOUT:
        DBL_MEMBER("p", l->dropout);
        break;
      default:
        break;
    }
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  if (m->provenance) {
    JsonNode *prov = json_from_string(m->provenance, NULL);
    if (prov) {
      json_builder_set_member_name(b, "provenance");
      json_builder_add_value(b, prov);
    }
  }
  json_builder_end_object(b);
  char *text = sr_json_builder_finish(b, FALSE);
  return text;
}

static void add_tensor_entry(JsonBuilder *b, const char *name, sr_dtype dt, const int *shape, int rank,
                             guint64 *offset) {
  guint64 count = 1;
  for (int i = 0; i < rank; i++) count *= shape[i];
  guint64 bytes = count * (dt == SR_DTYPE_F16 ? 2 : 4);
  json_builder_set_member_name(b, name);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "dtype");
  json_builder_add_string_value(b, dt == SR_DTYPE_F16 ? "F16" : "F32");
  json_builder_set_member_name(b, "shape");
  add_int_array(b, shape, rank);
  json_builder_set_member_name(b, "data_offsets");
  json_builder_begin_array(b);
  json_builder_add_int_value(b, (gint64)*offset);
  json_builder_add_int_value(b, (gint64)(*offset + bytes));
  json_builder_end_array(b);
  json_builder_end_object(b);
  *offset += bytes;
}

/* "<prefix><layer>.weight" and ".bias" entries for every convolution. */
static void add_conv_entries(JsonBuilder *b, const sr_model *m, const char *prefix, sr_dtype dtype, guint64 *offset) {
  for (int i = 0; i < m->n_layers; i++) {
    const sr_layer *l = &m->layers[i];
    if (l->type != SR_LAYER_CONV) continue;
    int wshape[4] = {l->conv.out_c, l->conv.in_c / l->conv.group, l->conv.kh, l->conv.kw};
    char name[80];
    snprintf(name, sizeof name, "%s%s.weight", prefix, l->name);
    add_tensor_entry(b, name, dtype, wshape, 4, offset);
    snprintf(name, sizeof name, "%s%s.bias", prefix, l->name);
    add_tensor_entry(b, name, dtype, &l->conv.out_c, 1, offset);
  }
}

static int write_floats(FILE *f, const float *v, size_t n, sr_dtype dt) {
  if (dt == SR_DTYPE_F32) return fwrite(v, sizeof(float), n, f) == n ? 0 : -1;
  uint16_t buf[4096];
  for (size_t i = 0; i < n; i += 4096) {
    size_t k = n - i < 4096 ? n - i : 4096;
    for (size_t j = 0; j < k; j++) buf[j] = sr_f32_to_f16(v[i + j]);
    if (fwrite(buf, 2, k, f) != k) return -1;
  }
  return 0;
}

/* Writes @m; a checkpoint adds "momentum.<layer>.weight|bias" (F32) from
 * @mom_w/@mom_b (indexed by layer) and __metadata__.train_state. */
static sr_status write_model(const sr_model *m, const char *path, sr_dtype dtype, float *const *mom_w,
                             float *const *mom_b, const char *train_state, sr_error *err) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "__metadata__");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "format");
  json_builder_add_string_value(b, "segrank-model");
  char *meta = segrank_metadata(m);
  json_builder_set_member_name(b, "segrank");
  json_builder_add_string_value(b, meta);
  g_free(meta);
  if (train_state) {
    json_builder_set_member_name(b, "train_state");
    json_builder_add_string_value(b, train_state);
  }
  json_builder_end_object(b);
  guint64 offset = 0;
  add_conv_entries(b, m, "", dtype, &offset);
  if (mom_w) add_conv_entries(b, m, "momentum.", SR_DTYPE_F32, &offset);
  json_builder_end_object(b);
  char *header = sr_json_builder_finish(b, FALSE);

  sr_atomic_file af;
  sr_status st = sr_atomic_open(&af, path, err);
  if (st != SR_OK) {
    g_free(header);
    return st;
  }
  int bad = sr_json_write_header(af.f, header);
  g_free(header);
  for (int i = 0; i < m->n_layers && !bad; i++) /* same order as the header's entries */
    if (m->layers[i].type == SR_LAYER_CONV)
      bad = write_floats(af.f, m->layers[i].weight, sr_layer_weight_count(&m->layers[i]), dtype) ||
            write_floats(af.f, m->layers[i].bias, m->layers[i].conv.out_c, dtype);
  for (int i = 0; mom_w && i < m->n_layers && !bad; i++)
    if (m->layers[i].type == SR_LAYER_CONV)
      bad = write_floats(af.f, mom_w[i], sr_layer_weight_count(&m->layers[i]), SR_DTYPE_F32) ||
            write_floats(af.f, mom_b[i], m->layers[i].conv.out_c, SR_DTYPE_F32);
  if (bad) {
    sr_atomic_abort(&af);
    return sr_error_set(err, SR_ERR_IO, "%s: write failed", path);
  }
  return sr_atomic_commit(&af, err);
}

sr_status sr_model_save(const sr_model *m, const char *path, sr_dtype dtype, sr_error *err) {
  return write_model(m, path, dtype, NULL, NULL, NULL, err);
}

sr_status sr_checkpoint_save(const sr_model *m, float *const *mom_w, float *const *mom_b, const char *train_state,
                             const char *path, sr_error *err) {
  return write_model(m, path, SR_DTYPE_F32, mom_w, mom_b, train_state, err);
}

/* ---- reading ---- */

typedef struct {
  const char *path;
  const guint8 *data; /* data section */
  guint64 data_len;
  JsonObject *tensors; /* the safetensors header object */
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

/* .srmodel stores float32 layer parameters: a finite number that stays
 * finite as a float. */
static gboolean get_float(JsonObject *o, const char *key, float *out) {
  double v;
  if (!sr_json_get_num(o, key, &v) || !isfinite((float)v)) return FALSE;
  *out = (float)v;
  return TRUE;
}

/* Reads tensor @name, checks it has exactly @shape, converts to float32. */
static sr_status read_tensor(reader *r, const char *name, const int *shape, int rank, float **out) {
  JsonNode *n = json_object_get_member(r->tensors, name);
  if (!n || !JSON_NODE_HOLDS_OBJECT(n)) return bad(r, "tensor %s is missing", name);
  JsonObject *t = json_node_get_object(n);
  const char *dtype = sr_json_get_str(t, "dtype", "");
  int esize = !strcmp(dtype, "F32") ? 4 : !strcmp(dtype, "F16") ? 2 : 0;
  if (!esize) return bad(r, "tensor %s: dtype '%s' is not F32 or F16", name, dtype);
  JsonNode *sn = json_object_get_member(t, "shape");
  JsonArray *sa = sn && JSON_NODE_HOLDS_ARRAY(sn) ? json_node_get_array(sn) : NULL;
  gboolean same = sa && (int)json_array_get_length(sa) == rank;
  for (int i = 0; same && i < rank; i++) {
    JsonNode *e = json_array_get_element(sa, i);
    same = json_node_get_value_type(e) == G_TYPE_INT64 && json_node_get_int(e) == shape[i];
  }
  if (!same) {
    char *got = sn ? json_to_string(sn, FALSE) : g_strdup("none");
    GString *want = g_string_new("[");
    for (int i = 0; i < rank; i++) g_string_append_printf(want, i ? ",%d" : "%d", shape[i]);
    g_string_append_c(want, ']');
    sr_status st = bad(r, "tensor %s: shape %s, expected %s", name, got, want->str);
    g_free(got);
    g_string_free(want, TRUE);
    return st;
  }
  JsonNode *on = json_object_get_member(t, "data_offsets");
  JsonArray *oa = on && JSON_NODE_HOLDS_ARRAY(on) ? json_node_get_array(on) : NULL;
  if (!oa || json_array_get_length(oa) != 2 ||
      json_node_get_value_type(json_array_get_element(oa, 0)) != G_TYPE_INT64 ||
      json_node_get_value_type(json_array_get_element(oa, 1)) != G_TYPE_INT64)
    return bad(r, "tensor %s: data_offsets must be two integers", name);
  gint64 begin = json_array_get_int_element(oa, 0), end = json_array_get_int_element(oa, 1);
  guint64 count = 1;
  for (int i = 0; i < rank; i++) count *= (guint64)shape[i];
  if (begin < 0 || end < begin || (guint64)end > r->data_len)
    return bad(r, "tensor %s: data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                  ") outside the %" G_GUINT64_FORMAT "-byte data section (truncated file?)",
               name, begin, end, r->data_len);
  if ((guint64)(end - begin) != count * esize)
    return bad(r, "tensor %s: %" G_GINT64_FORMAT " bytes for %" G_GUINT64_FORMAT " %s values", name, end - begin,
               count, dtype);
  float *v = malloc(count * sizeof(float));
  if (!v) return sr_error_set(r->err, SR_ERR_NOMEM, "%s: out of memory", r->path);
  const guint8 *src = r->data + begin;
  for (guint64 i = 0; i < count; i++) {
    if (esize == 4) {
      guint32 u;
      memcpy(&u, src + 4 * i, 4);
      u = GUINT32_FROM_LE(u);
      memcpy(&v[i], &u, 4);
    } else {
      guint16 u;
      memcpy(&u, src + 2 * i, 2);
      v[i] = sr_f16_to_f32(GUINT16_FROM_LE(u));
    }
    if (!isfinite(v[i])) {
      free(v);
      return bad(r, "tensor %s: value %" G_GUINT64_FORMAT " is not finite", name, i);
    }
  }
  *out = v;
  return SR_OK;
}

/* The tensors must tile the data section without gaps, overlaps or extras. */
static gint cmp_u64(gconstpointer a, gconstpointer b) {
  guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;
  return x < y ? -1 : x > y;
}

static sr_status check_tiling(reader *r) {
  GList *names = json_object_get_members(r->tensors);
  GArray *ranges = g_array_new(FALSE, FALSE, sizeof(guint64) * 2);
  for (GList *it = names; it; it = it->next) {
    if (!strcmp(it->data, "__metadata__")) continue;
    JsonNode *n = json_object_get_member(r->tensors, it->data);
    JsonObject *t = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
    JsonNode *on = t ? json_object_get_member(t, "data_offsets") : NULL;
    JsonArray *oa = on && JSON_NODE_HOLDS_ARRAY(on) ? json_node_get_array(on) : NULL;
    if (!oa || json_array_get_length(oa) != 2) continue; /* reported by read_tensor */
    guint64 pair[2] = {(guint64)json_array_get_int_element(oa, 0), (guint64)json_array_get_int_element(oa, 1)};
    g_array_append_vals(ranges, pair, 1);
  }
  g_list_free(names);
  g_array_sort(ranges, cmp_u64);
  guint64 at = 0;
  sr_status st = SR_OK;
  for (guint i = 0; i < ranges->len && st == SR_OK; i++) {
    guint64 *p = &g_array_index(ranges, guint64, 2 * i);
    if (p[0] != at) st = bad(r, "tensor data overlaps or leaves a gap at byte %" G_GUINT64_FORMAT, at);
    at = p[1];
  }
  if (st == SR_OK && at != r->data_len)
    st = bad(r, "data section is %" G_GUINT64_FORMAT " bytes but the tensors cover %" G_GUINT64_FORMAT
                " (%s)",
             r->data_len, at, at < r->data_len ? "trailing bytes" : "truncated file");
  g_array_free(ranges, TRUE);
  return st;
}

static sr_status parse_layers(reader *r, JsonArray *layers, sr_model *m) {
  guint n = json_array_get_length(layers);
  if (n == 0 || n > 256) return bad(r, "layer list has %u entries (1..256 allowed)", n);
  m->layers = calloc(n, sizeof *m->layers);
  if (!m->layers) return sr_error_set(r->err, SR_ERR_NOMEM, "%s: out of memory", r->path);
  for (guint i = 0; i < n; i++) {
    JsonNode *ln = json_array_get_element(layers, i);
    if (!JSON_NODE_HOLDS_OBJECT(ln)) return bad(r, "layer %u is not an object", i);
    JsonObject *o = json_node_get_object(ln);
    sr_layer *l = &m->layers[m->n_layers++];
    const char *name = sr_json_get_str(o, "name", "");
    const char *type = sr_json_get_str(o, "type", "");
    if (!*name || strlen(name) >= sizeof l->name) return bad(r, "layer %u: missing or overlong name", i);
    strcpy(l->name, name);
    if (sr_layer_type_from_name(type, &l->type)) return bad(r, "layer %s: unknown type '%s'", name, type);
    gboolean ok = TRUE;
    switch (l->type) {
      case SR_LAYER_CONV:
        ok = sr_json_get_int(o, "out", 1, 65536, &l->conv.out_c) &&
             sr_json_get_int(o, "kernel_h", 1, 64, &l->conv.kh) && sr_json_get_int(o, "kernel_w", 1, 64, &l->conv.kw) &&
             sr_json_get_int(o, "stride", 1, 64, &l->conv.stride) && sr_json_get_int(o, "pad", 0, 64, &l->conv.pad) &&
             sr_json_get_int(o, "group", 1, 65536, &l->conv.group);
        break;
      case SR_LAYER_MAXPOOL:
        ok = sr_json_get_int(o, "kernel", 1, 64, &l->pool.kernel) &&
             sr_json_get_int(o, "stride", 1, 64, &l->pool.stride) && sr_json_get_int(o, "pad", 0, 64, &l->pool.pad);
        break;
      case SR_LAYER_LRN:
        ok = sr_json_get_int(o, "size", 1, 63, &l->lrn.size) && get_float(o, "alpha", &l->lrn.alpha) &&
             get_float(o, "beta", &l->lrn.beta) && get_float(o, "k", &l->lrn.k);
        break;
      case SR_LAYER_DROPOUT:
        ok = get_float(o, "p", &l->dropout);
        break;
      default:
        break;
    }
    if (!ok) return bad(r, "layer %s (%s): missing or out-of-range parameters", name, type);
  }
  return SR_OK;
}

static sr_status parse_metadata(reader *r, const char *text, sr_model *m) {
  JsonParser *p = json_parser_new();
  sr_status st = sr_json_parse(p, text, -1, r->path, "segrank metadata", r->err);
  if (st != SR_OK) {
    g_object_unref(p);
    return st;
  }
  JsonObject *o = sr_json_root_obj(p);
  JsonObject *in = sr_json_get_obj(o, "input");
  JsonArray *mean = sr_json_get_arr(in, "mean_bgr");
  JsonArray *classes = sr_json_get_arr(o, "classes");
  JsonArray *layers = sr_json_get_arr(o, "layers");
  char why[320];
  if (!o) {
    st = bad(r, "segrank metadata is not a JSON object");
  } else if (!sr_json_version_ok(o, SR_MODEL_FORMAT_VERSION, why, sizeof why)) {
    st = bad(r, "segrank metadata: %s", why);
  } else if (!in || !sr_json_get_int(in, "width", 1, 8192, &m->input_w) || !sr_json_get_int(in, "height", 1, 8192, &m->input_h) ||
             !mean || json_array_get_length(mean) != 3) {
    st = bad(r, "segrank metadata: input needs width, height (1..8192) and three mean_bgr values");
  } else if (!classes || json_array_get_length(classes) < 1 || json_array_get_length(classes) > 255) {
    st = bad(r, "segrank metadata: classes must list 1..255 classes");
  } else if (!layers) {
    st = bad(r, "segrank metadata: no layer list");
  }
  for (int i = 0; st == SR_OK && i < 3; i++) {
    JsonNode *e = json_array_get_element(mean, i);
    if (json_node_get_value_type(e) != G_TYPE_DOUBLE && json_node_get_value_type(e) != G_TYPE_INT64)
      st = bad(r, "segrank metadata: mean_bgr[%d] is not a number", i);
    else
      m->mean_bgr[i] = (float)json_node_get_double(e);
  }
  if (st == SR_OK) {
    m->n_classes = (int)json_array_get_length(classes);
    m->classes = calloc(m->n_classes, sizeof *m->classes);
    if (!m->classes) st = sr_error_set(r->err, SR_ERR_NOMEM, "%s: out of memory", r->path);
    for (int i = 0; i < m->n_classes && st == SR_OK; i++) {
      JsonNode *cn = json_array_get_element(classes, i);
      JsonObject *c = JSON_NODE_HOLDS_OBJECT(cn) ? json_node_get_object(cn) : NULL;
      const char *name = c ? sr_json_get_str(c, "name", "") : "";
      JsonArray *col = sr_json_get_arr(c, "color");
      if (!*name || strlen(name) >= sizeof m->classes[i].name || !col || json_array_get_length(col) != 3) {
        st = bad(r, "segrank metadata: class %d needs a name (< 48 bytes) and an RGB color", i);
        break;
      }
      strcpy(m->classes[i].name, name);
      for (int k = 0; k < 3; k++) {
        JsonNode *e = json_array_get_element(col, k);
        gint64 v = json_node_get_value_type(e) == G_TYPE_INT64 ? json_node_get_int(e) : -1;
        if (v < 0 || v > 255) st = bad(r, "segrank metadata: class %s: color component %d outside 0..255", name, k);
        m->classes[i].rgb[k] = (uint8_t)v;
      }
    }
  }
  if (st == SR_OK) st = parse_layers(r, layers, m);
  if (st == SR_OK && json_object_has_member(o, "provenance"))
    m->provenance = json_to_string(json_object_get_member(o, "provenance"), FALSE);
  g_object_unref(p);
  return st;
}

/* Reads and checks the fixed part (the whole file, or with @header_only
 * just the header); returns the header text in @json and the bytes read in
 * @contents. */
static sr_status read_file(const char *path, gboolean header_only, gchar **contents, gsize *size, char **json,
                           guint64 *hlen, sr_error *err) {
  sr_status st = sr_input_read_prefixed(path, "segrank model", MAX_HEADER, header_only, contents, size, hlen, err);
  if (st == SR_OK) *json = g_strndup(*contents + 8, *hlen);
  return st;
}

sr_status sr_model_read_header(const char *path, char **json, sr_error *err) {
  gchar *contents;
  gsize size;
  guint64 hlen;
  *json = NULL;
  sr_status st = read_file(path, TRUE, &contents, &size, json, &hlen, err);
  if (st == SR_OK) g_free(contents);
  return st;
}

static sr_status load_model(const char *path, sr_model **out, float ***mom_w, float ***mom_b, char **train_state,
                            sr_error *err) {
  gchar *contents = NULL, *json = NULL;
  gsize size = 0;
  guint64 hlen = 0;
  *out = NULL;
  sr_status st = read_file(path, FALSE, &contents, &size, &json, &hlen, err);
  if (st != SR_OK) return st;
  reader r = {.path = path, .data = (const guint8 *)contents + 8 + hlen, .data_len = size - 8 - hlen, .err = err};
  gboolean is_checkpoint = FALSE;
  sr_model *m = calloc(1, sizeof *m);
  JsonParser *p = json_parser_new();
  if (!m) {
    st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
  } else if ((st = sr_json_parse(p, json, -1, path, "header", err)) == SR_OK) {
    r.tensors = sr_json_root_obj(p);
    JsonObject *meta = sr_json_get_obj(r.tensors, "__metadata__");
    const char *text = meta ? sr_json_get_str(meta, "segrank", NULL) : NULL;
    if (!text)
      st = bad(&r, "no __metadata__.segrank entry: a safetensors file, but not a segrank model");
    else
      st = parse_metadata(&r, text, m);
    const char *state = sr_json_get_str(meta, "train_state", NULL);
    is_checkpoint = state != NULL;
    if (st == SR_OK && train_state) {
      if (!state) st = bad(&r, "not a training checkpoint (no train_state)");
      else *train_state = g_strdup(state);
    }
  }
  if (st == SR_OK) {
    st = sr_model_validate(m, err);
    if (st != SR_OK) sr_error_prefix(err, "%s", path);
  }
  /* Everything downstream reads the output as class probabilities. */
  if (st == SR_OK && m->layers[m->n_layers - 1].type != SR_LAYER_SOFTMAX)
    st = bad(&r, "the last layer (%s, %s) is not a softmax: the net would output logits, not probabilities",
             m->layers[m->n_layers - 1].name, sr_layer_type_name(m->layers[m->n_layers - 1].type));
  int expected = 1; /* __metadata__ */
  for (int i = 0; st == SR_OK && i < m->n_layers; i++) {
    sr_layer *l = &m->layers[i];
    if (l->type != SR_LAYER_CONV) continue;
    char name[64];
    int wshape[4] = {l->conv.out_c, l->conv.in_c / l->conv.group, l->conv.kh, l->conv.kw};
    snprintf(name, sizeof name, "%s.weight", l->name);
    st = read_tensor(&r, name, wshape, 4, &l->weight);
    snprintf(name, sizeof name, "%s.bias", l->name);
    if (st == SR_OK) st = read_tensor(&r, name, &l->conv.out_c, 1, &l->bias);
    expected += 2;
  }
  if (st == SR_OK && mom_w) {
    *mom_w = calloc(m->n_layers, sizeof(float *)); /* filled by read_tensor below */
    *mom_b = calloc(m->n_layers, sizeof(float *));
    if (!*mom_w || !*mom_b) st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
  }
  for (int i = 0; st == SR_OK && mom_w && i < m->n_layers; i++) {
    sr_layer *l = &m->layers[i];
    if (l->type != SR_LAYER_CONV) continue;
    char name[80];
    int wshape[4] = {l->conv.out_c, l->conv.in_c / l->conv.group, l->conv.kh, l->conv.kw};
    snprintf(name, sizeof name, "momentum.%s.weight", l->name);
    st = read_tensor(&r, name, wshape, 4, &(*mom_w)[i]);
    snprintf(name, sizeof name, "momentum.%s.bias", l->name);
    if (st == SR_OK) st = read_tensor(&r, name, &l->conv.out_c, 1, &(*mom_b)[i]);
    expected += 2;
  }
  /* A checkpoint loaded as a model: its momentum tensors are skipped. */
  if (st == SR_OK && is_checkpoint && !mom_w)
    for (int i = 0; i < m->n_layers; i++) expected += m->layers[i].type == SR_LAYER_CONV ? 2 : 0;
  if (st == SR_OK && (int)json_object_get_size(r.tensors) != expected)
    st = bad(&r, "header lists %u entries but the layers use %d tensors",
             json_object_get_size(r.tensors) - 1, expected - 1);
  if (st == SR_OK) st = check_tiling(&r);
  g_object_unref(p);
  g_free(json);
  g_free(contents);
  if (st != SR_OK) {
    if (mom_w && (*mom_w || *mom_b)) sr_param_buffers_free(m ? m->n_layers : 0, *mom_w, *mom_b);
    if (mom_w) *mom_w = *mom_b = NULL;
    if (train_state) g_free(*train_state), *train_state = NULL;
    sr_model_free(m);
    return st;
  }
  *out = m;
  return SR_OK;
}

sr_status sr_model_load(const char *path, sr_model **out, sr_error *err) {
  return load_model(path, out, NULL, NULL, NULL, err);
}

sr_status sr_checkpoint_load(const char *path, sr_model **out, float ***mom_w, float ***mom_b, char **train_state,
                             sr_error *err) {
  *train_state = NULL;
  *mom_w = *mom_b = NULL;
  return load_model(path, out, mom_w, mom_b, train_state, err);
}
