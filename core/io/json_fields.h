/* json_fields.h: the JSON plumbing of segrank's self-describing files
 * (.srmodel, .srunary): typed look-ups of object members for the readers
 * (each returns the member only when it has the expected JSON kind, so a
 * reader never hands json-glib a node of the wrong type; all accept a NULL
 * object, the member is then missing), and for the writers the builder's
 * text and the length-prefixed header both formats start with. */
#ifndef SR_JSON_FIELDS_H
#define SR_JSON_FIELDS_H

#include <json-glib/json-glib.h>
#include <stdio.h>

/* The member if it is an object / array, else NULL. */
JsonObject *sr_json_get_obj(JsonObject *o, const char *key);
JsonArray *sr_json_get_arr(JsonObject *o, const char *key);
/* The member if it is a string, else @fallback. */
const char *sr_json_get_str(JsonObject *o, const char *key, const char *fallback);
/* TRUE and *@out when the member is an integer in [@lo, @hi]. */
gboolean sr_json_get_int(JsonObject *o, const char *key, gint64 lo, gint64 hi, int *out);
/* TRUE and *@out when the member is a finite number (integer or not). */
gboolean sr_json_get_num(JsonObject *o, const char *key, double *out);

/* The text of @b's document (g_free it); consumes @b. */
char *sr_json_builder_finish(JsonBuilder *b, gboolean pretty);
/* Writes the header both file formats start with: an 8-byte little-endian
 * length N (a multiple of 8), then @json padded with spaces to N bytes.
 * Returns 0, or -1 on a write error. */
int sr_json_write_header(FILE *f, const char *json);

#endif
