/* float_arrays.c: the named float32 arrays after the JSON header of the
 * .srranker and .srunary files: their "tensors" description, the atomic
 * writer and the checked reader (see float_arrays.h). */
#include "float_arrays.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"
#include "json_fields.h"

size_t sr_float_array_count(const sr_float_array *a) { return (size_t)(a->rows ? a->rows : 1) * a->cols; }

/* ---- writing ---- */

void sr_float_arrays_describe(JsonBuilder *b, const sr_float_array *arr, int n) {
  json_builder_set_member_name(b, "tensors");
  json_builder_begin_object(b);
  gint64 at = 0;
  for (int i = 0; i < n; i++) {
    json_builder_set_member_name(b, arr[i].name);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "dtype");
    json_builder_add_string_value(b, "F32");
    json_builder_set_member_name(b, "shape");
    json_builder_begin_array(b);
    if (arr[i].rows) json_builder_add_int_value(b, arr[i].rows);
    json_builder_add_int_value(b, arr[i].cols);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "data_offsets");
    json_builder_begin_array(b);
    json_builder_add_int_value(b, at);
    at += (gint64)sr_float_array_count(&arr[i]) * 4;
    json_builder_add_int_value(b, at);
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_object(b);
}

sr_status sr_float_arrays_save(const char *path, const char *header, const sr_float_array *arr, int n,
                               sr_error *err) {
  for (int i = 0; i < n; i++)
    for (size_t j = 0; j < sr_float_array_count(&arr[i]); j++)
      if (!isfinite(arr[i].data[j]))
        return sr_error_set(err, SR_ERR_INVALID, "%s: not written: array %s value %zu is not finite", path, arr[i].name,
                            j);
  sr_atomic_file af;
  sr_status st = sr_atomic_open(&af, path, err);
  if (st != SR_OK) return st;
  int bad = sr_json_write_header(af.f, header);
  for (int i = 0; i < n && !bad; i++) {
    size_t count = sr_float_array_count(&arr[i]);
    for (size_t j = 0; j < count && !bad; j++) {
      guint32 u;
      memcpy(&u, &arr[i].data[j], 4);
      u = GUINT32_TO_LE(u);
      bad = fwrite(&u, 4, 1, af.f) != 1;
    }
  }
  if (bad) {
    sr_atomic_abort(&af);
    return sr_error_set(err, SR_ERR_IO, "%s: write failed", path);
  }
  return sr_atomic_commit(&af, err);
}

/* ---- reading ---- */

static sr_status bad(const char *path, sr_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sr_status bad(const char *path, sr_error *err, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return sr_error_set(err, SR_ERR_FORMAT, "%s: %s", path, msg);
}

/* TRUE when @shape is the JSON array of @a's shape. */
static gboolean same_shape(JsonArray *shape, const sr_float_array *a) {
  int rank = a->rows ? 2 : 1, want[2] = {a->rows ? a->rows : a->cols, a->cols};
  gboolean same = shape && (int)json_array_get_length(shape) == rank;
  for (int d = 0; same && d < rank; d++) {
    JsonNode *e = json_array_get_element(shape, d);
    same = JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_INT64 && json_node_get_int(e) == want[d];
  }
  return same;
}

sr_status sr_float_arrays_read(const char *path, JsonObject *o, const guint8 *data, guint64 data_len,
                               const sr_float_array *arr, int n, sr_error *err) {
  JsonObject *tensors = sr_json_get_obj(o, "tensors");
  if (!tensors) return bad(path, err, "no \"tensors\" object");
  if ((int)json_object_get_size(tensors) != n)
    return bad(path, err, "\"tensors\" lists %u arrays, expected %d", json_object_get_size(tensors), n);
  guint64 at = 0;
  for (int i = 0; i < n; i++) {
    const sr_float_array *a = &arr[i];
    const char *hint = a->shape_hint ? a->shape_hint : "";
    JsonObject *t = sr_json_get_obj(tensors, a->name);
    if (!t) return bad(path, err, "array %s is missing", a->name);
    const char *dtype = sr_json_get_str(t, "dtype", NULL);
    if (!dtype || strcmp(dtype, "F32")) return bad(path, err, "array %s: dtype must be F32", a->name);
    if (!same_shape(sr_json_get_arr(t, "shape"), a)) {
      if (a->rows) return bad(path, err, "array %s: shape must be [%d, %d]%s", a->name, a->rows, a->cols, hint);
      return bad(path, err, "array %s: shape must be [%d]%s", a->name, a->cols, hint);
    }
    JsonArray *off = sr_json_get_arr(t, "data_offsets");
    JsonNode *b0 = off && json_array_get_length(off) == 2 ? json_array_get_element(off, 0) : NULL;
    JsonNode *b1 = b0 ? json_array_get_element(off, 1) : NULL;
    if (!b0 || !JSON_NODE_HOLDS_VALUE(b0) || !JSON_NODE_HOLDS_VALUE(b1) ||
        json_node_get_value_type(b0) != G_TYPE_INT64 || json_node_get_value_type(b1) != G_TYPE_INT64)
      return bad(path, err, "array %s: data_offsets must be two integers", a->name);
    gint64 begin = json_node_get_int(b0), end = json_node_get_int(b1);
    size_t count = sr_float_array_count(a);
    guint64 bytes = (guint64)count * 4;
    if (begin < 0 || (guint64)begin != at || end < begin || (guint64)(end - begin) != bytes)
      return bad(path, err,
                 "array %s: data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "), expected [%" G_GUINT64_FORMAT
                 ", %" G_GUINT64_FORMAT ")",
                 a->name, begin, end, at, at + bytes);
    if ((guint64)end > data_len)
      return bad(path, err,
                 "array %s ends at byte %" G_GINT64_FORMAT " of a %" G_GUINT64_FORMAT "-byte data section (truncated file)",
                 a->name, end, data_len);
    for (size_t j = 0; j < count; j++) {
      guint32 u;
      memcpy(&u, data + begin + 4 * j, 4);
      u = GUINT32_FROM_LE(u);
      memcpy(&a->data[j], &u, 4);
      if (!isfinite(a->data[j])) return bad(path, err, "array %s: value %zu is not finite", a->name, j);
    }
    at = (guint64)end;
  }
  if (at != data_len)
    return bad(path, err,
               "data section is %" G_GUINT64_FORMAT " bytes, the arrays cover %" G_GUINT64_FORMAT " (trailing bytes)",
               data_len, at);
  return SR_OK;
}
