/* json_fields.c: typed look-ups of JSON object members (see json_fields.h). */
#include "json_fields.h"

#include <string.h>

#include <math.h>

static JsonNode *member(JsonObject *o, const char *key) { return o ? json_object_get_member(o, key) : NULL; }

JsonObject *sr_json_get_obj(JsonObject *o, const char *key) {
  JsonNode *n = member(o, key);
  return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

JsonArray *sr_json_get_arr(JsonObject *o, const char *key) {
  JsonNode *n = member(o, key);
  return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

const char *sr_json_get_str(JsonObject *o, const char *key, const char *fallback) {
  JsonNode *n = member(o, key);
  return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n)
                                                                                        : fallback;
}

gboolean sr_json_get_int(JsonObject *o, const char *key, gint64 lo, gint64 hi, int *out) {
  JsonNode *n = member(o, key);
  if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64) return FALSE;
  gint64 v = json_node_get_int(n);
  if (v < lo || v > hi) return FALSE;
  *out = (int)v;
  return TRUE;
}

gboolean sr_json_get_num(JsonObject *o, const char *key, double *out) {
  JsonNode *n = member(o, key);
  if (!n || !JSON_NODE_HOLDS_VALUE(n)) return FALSE;
  GType t = json_node_get_value_type(n);
  double v;
  if (t == G_TYPE_INT64)
    v = (double)json_node_get_int(n);
  else if (t == G_TYPE_DOUBLE)
    v = json_node_get_double(n);
  else
    return FALSE;
  if (!isfinite(v)) return FALSE;
  *out = v;
  return TRUE;
}

char *sr_json_builder_finish(JsonBuilder *b, gboolean pretty) {
  JsonNode *root = json_builder_get_root(b);
  char *text = json_to_string(root, pretty);
  json_node_unref(root);
  g_object_unref(b);
  return text;
}

int sr_json_write_header(FILE *f, const char *json) {
  size_t len = strlen(json), padded = (len + 7) & ~(size_t)7;
  guint64 le = GUINT64_TO_LE((guint64)padded);
  if (fwrite(&le, 8, 1, f) != 1 || fwrite(json, 1, len, f) != len) return -1;
  for (size_t i = len; i < padded; i++)
    if (fputc(' ', f) == EOF) return -1;
  return 0;
}
