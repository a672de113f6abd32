/* json_fields.h: typed look-ups of JSON object members for the file readers
 * (.srmodel, .srunary): each returns the member only when it has the
 * expected JSON kind, so a reader never hands json-glib a node of the wrong
 * type. All accept a NULL object (the member is then missing). */
#ifndef SR_JSON_FIELDS_H
#define SR_JSON_FIELDS_H

#include <json-glib/json-glib.h>

/* The member if it is an object / array, else NULL. */
JsonObject *sr_json_get_obj(JsonObject *o, const char *key);
JsonArray *sr_json_get_arr(JsonObject *o, const char *key);
/* The member if it is a string, else @fallback. */
const char *sr_json_get_str(JsonObject *o, const char *key, const char *fallback);
/* TRUE and *@out when the member is an integer in [@lo, @hi]. */
gboolean sr_json_get_int(JsonObject *o, const char *key, gint64 lo, gint64 hi, int *out);
/* TRUE and *@out when the member is a finite number (integer or not). */
gboolean sr_json_get_num(JsonObject *o, const char *key, double *out);

#endif
