/* json_fields.c: typed look-ups of JSON object members (see json_fields.h). */
#include "json_fields.h"

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
