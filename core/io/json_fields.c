/* json_fields.c: typed look-ups of JSON object members, depth-bounded
 * parsing and the header writer (see json_fields.h). */
#include "json_fields.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "input_file.h"

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

gboolean sr_json_depth_ok(const char *text, gssize len, int max_depth) {
  int depth = 0;
  gboolean in_string = FALSE;
  for (gssize i = 0; len < 0 ? text[i] != '\0' : i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\' && (len < 0 ? text[i + 1] != '\0' : i + 1 < len)) i++; /* the escaped character */
      else if (c == '"') in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return FALSE;
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

sr_status sr_json_parse(JsonParser *p, const char *text, gssize len, const char *path, const char *what,
                        sr_error *err) {
  if (!sr_json_depth_ok(text, len, SR_JSON_MAX_DEPTH))
    return sr_error_set(err, SR_ERR_FORMAT, "%s: %s nests arrays or objects deeper than %d levels", path, what,
                        SR_JSON_MAX_DEPTH);
  GError *gerr = NULL;
  if (!json_parser_load_from_data(p, text, len, &gerr)) {
    sr_status st = sr_error_set(err, SR_ERR_FORMAT, "%s: %s is not JSON: %s", path, what, gerr->message);
    g_error_free(gerr);
    return st;
  }
  return SR_OK;
}

sr_status sr_json_load_file(JsonParser *p, const char *path, guint64 max_bytes, sr_error *err) {
  gchar *text;
  gsize size;
  sr_status st = sr_input_read(path, max_bytes, "JSON file", &text, &size, err);
  if (st != SR_OK) return st;
  st = sr_json_parse(p, text, (gssize)size, path, "the file", err);
  g_free(text);
  return st;
}

JsonObject *sr_json_root_obj(JsonParser *p) {
  JsonNode *root = json_parser_get_root(p);
  return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
}

gboolean sr_json_version_ok(JsonObject *o, int supported, char *why, size_t n) {
  int version = 0;
  const char *writer = sr_json_get_str(o, "writer", NULL);
  char by[96] = "";
  if (writer) snprintf(by, sizeof by, "; written by %.80s", writer);
  if (!sr_json_get_int(o, "version", 1, G_MAXINT32, &version)) {
    snprintf(why, n, "format version missing or not a version number (this build reads %d; %s)%s", supported,
             SR_JSON_WRITER, by);
    return FALSE;
  }
  if (version > supported) {
    snprintf(why, n, "format version %d is newer than this build reads (%d; %s)%s: upgrade segrank", version,
             supported, SR_JSON_WRITER, by);
    return FALSE;
  }
  if (version < supported) {
    snprintf(why, n, "format version %d is older than this build reads (%d; %s)%s", version, supported,
             SR_JSON_WRITER, by);
    return FALSE;
  }
  return TRUE;
}

void sr_json_add_version(JsonBuilder *b, int version) {
  json_builder_set_member_name(b, "version");
  json_builder_add_int_value(b, version);
  json_builder_set_member_name(b, "writer");
  json_builder_add_string_value(b, SR_JSON_WRITER);
}
