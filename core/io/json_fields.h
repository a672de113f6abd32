/* json_fields.h: the JSON plumbing of segrank's self-describing files
 * (.srmodel, .srunary): typed look-ups of object members for the readers
 * (each returns the member only when it has the expected JSON kind, so a
 * reader never hands json-glib a node of the wrong type; all accept a NULL
 * object, the member is then missing), and for the writers the builder's
 * text and the length-prefixed header both formats start with. Every JSON
 * document segrank reads goes through sr_json_parse, which bounds its nesting
 * before json-glib (which recurses once per level) sees it. */
#ifndef SR_JSON_FIELDS_H
#define SR_JSON_FIELDS_H

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "../status.h"
#include "sr_config.h"

/* The deepest nesting of arrays and objects accepted in a document read. */
#define SR_JSON_MAX_DEPTH 128

/* TRUE when @text (@len bytes, or up to its NUL when @len < 0) never nests
 * arrays and objects deeper than @max_depth (brackets inside strings do not
 * count). */
gboolean sr_json_depth_ok(const char *text, gssize len, int max_depth);
/* Loads @text into @p after that check with SR_JSON_MAX_DEPTH; else an
 * SR_ERR_FORMAT "@path: @what is not JSON: …" or "… nests deeper than …". */
sr_status sr_json_parse(JsonParser *p, const char *text, gssize len, const char *path, const char *what,
                        sr_error *err);
/* sr_input_read (a regular file of at most @max_bytes) + sr_json_parse. */
sr_status sr_json_load_file(JsonParser *p, const char *path, guint64 max_bytes, sr_error *err);
/* The root if it is an object, else NULL. */
JsonObject *sr_json_root_obj(JsonParser *p);

/* The member if it is an object / array, else NULL. */
JsonObject *sr_json_get_obj(JsonObject *o, const char *key);
JsonArray *sr_json_get_arr(JsonObject *o, const char *key);
/* The member if it is a string, else @fallback. */
const char *sr_json_get_str(JsonObject *o, const char *key, const char *fallback);
/* TRUE and *@out when the member is an integer in [@lo, @hi]. */
gboolean sr_json_get_int(JsonObject *o, const char *key, gint64 lo, gint64 hi, int *out);
/* TRUE and *@out when the member is a finite number (integer or not). */
gboolean sr_json_get_num(JsonObject *o, const char *key, double *out);

/* Format versions. Every segrank file names the version of its format
 * ("version": an integer) and the release that wrote it ("writer":
 * "segrank X.Y.Z", SR_JSON_WRITER). TRUE when @o's version is @supported;
 * else FALSE with the reason in @why (@n bytes), naming both versions and
 * both releases: "format version 2 is newer than this build reads (1;
 * segrank 0.1.0); written by segrank 0.3.0: upgrade segrank", or
 * "… missing or not a version number". */
#define SR_JSON_WRITER "segrank " SR_VERSION
gboolean sr_json_version_ok(JsonObject *o, int supported, char *why, size_t n);
/* Adds "version": @version and "writer": SR_JSON_WRITER to the open object. */
void sr_json_add_version(JsonBuilder *b, int version);

/* The text of @b's document (g_free it); consumes @b. */
char *sr_json_builder_finish(JsonBuilder *b, gboolean pretty);
/* Writes the header both file formats start with: an 8-byte little-endian
 * length N (a multiple of 8), then @json padded with spaces to N bytes.
 * Returns 0, or -1 on a write error. */
int sr_json_write_header(FILE *f, const char *json);

#endif
