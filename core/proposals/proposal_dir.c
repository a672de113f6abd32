/* proposal_dir.c: the on-disk proposal layout shared by `segrank propose`
 * and `proposalload`: DIR/<rank>.png (8-bit class indices, zero-padded so
 * name order is rank order) and DIR/scores.json, which lists the files in
 * proposal order. Saving replaces the folder's PNGs; loading follows
 * scores.json's list when it names files, else takes every PNG by name. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../image.h"
#include "../io/atomic_file.h"
#include "../io/json_fields.h"
#include "proposal_set.h"

/* The largest scores.json read. */
#define SCORES_MAX_BYTES ((guint64)1 << 28)

static gboolean has_png_suffix(const char *name) {
  size_t n = strlen(name);
  return n > 4 && g_ascii_strcasecmp(name + n - 4, ".png") == 0;
}

static int rank_digits(int n) {
  int d = 1;
  for (int v = n > 1 ? n - 1 : 0; v >= 10; v /= 10) d++;
  return d < 2 ? 2 : d;
}

static void add_number(JsonBuilder *b, const char *name, double v) {
  json_builder_set_member_name(b, name);
  if (isfinite(v))
    json_builder_add_double_value(b, v);
  else
    json_builder_add_null_value(b);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends the names of the *.png files in @dir to @names, in name order. */
static sr_status list_pngs(const char *dir, GPtrArray *names, sr_error *err) {
  GError *gerr = NULL;
  GDir *d = g_dir_open(dir, 0, &gerr);
  if (!d) {
    sr_status st = sr_error_set(err, SR_ERR_IO, "%s: %s", dir, gerr->message);
    g_error_free(gerr);
    return st;
  }
  guint first = names->len;
  for (const char *n; (n = g_dir_read_name(d));)
    if (has_png_suffix(n)) g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  if (names->len > first) qsort(names->pdata + first, names->len - first, sizeof(char *), cmp_str);
  return SR_OK;
}

/* Removes the *.png files in @dir that are not in @keep (a previous, larger
 * set), so that a folder holds exactly the set last saved into it. Other
 * files are left alone. */
static sr_status remove_stale_pngs(const char *dir, GHashTable *keep, sr_error *err) {
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  sr_status st = list_pngs(dir, names, err);
  for (guint i = 0; st == SR_OK && i < names->len; i++) {
    const char *n = g_ptr_array_index(names, i);
    if (g_hash_table_contains(keep, n)) continue;
    char *path = g_build_filename(dir, n, NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_DIR) && g_unlink(path) != 0)
      st = sr_error_set(err, SR_ERR_IO, "%s: cannot remove a stale proposal: %s", path, strerror(errno));
    g_free(path);
  }
  g_ptr_array_free(names, TRUE);
  return st;
}

sr_status sr_proposal_set_save_dir(const sr_proposal_set *s, const char *dir, sr_error *err) {
  if (g_mkdir_with_parents(dir, 0755) != 0)
    return sr_error_set(err, SR_ERR_IO, "%s: cannot create folder: %s", dir, strerror(errno));
  int digits = rank_digits(s->n);
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "format");
  json_builder_add_string_value(b, SR_PROPOSALS_FORMAT);
  sr_json_add_version(b, SR_PROPOSALS_VERSION);
  json_builder_set_member_name(b, "classes");
  json_builder_add_int_value(b, s->n_classes);
  json_builder_set_member_name(b, "width");
  json_builder_add_int_value(b, s->width);
  json_builder_set_member_name(b, "height");
  json_builder_add_int_value(b, s->height);
  json_builder_set_member_name(b, "proposals");
  json_builder_begin_array(b);
  sr_status st = SR_OK;
  GHashTable *written = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (int k = 0; k < s->n && st == SR_OK; k++) {
    char name[32];
    snprintf(name, sizeof name, "%0*d.png", digits & 15, k & 0x3fffffff);
    g_hash_table_add(written, g_strdup(name));
    char *path = g_build_filename(dir, name, NULL);
    sr_image img = {s->width, s->height, 1, sr_proposal_labels(s, k)};
    st = sr_image_save_png(path, &img, err);
    g_free(path);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "file");
    json_builder_add_string_value(b, name);
    json_builder_set_member_name(b, "rank");
    json_builder_add_int_value(b, s->rank[k]);
    add_number(b, "score", s->score[k]);
    add_number(b, "energy", s->energy[k]);
    add_number(b, "unary", s->unary[k]);
    add_number(b, "pairwise", s->pairwise[k]);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonGenerator *gen = json_generator_new();
  JsonNode *root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  gsize len;
  gchar *text = json_generator_to_data(gen, &len);
  json_node_unref(root);
  g_object_unref(gen);
  g_object_unref(b);
  if (st == SR_OK) {
    char *path = g_build_filename(dir, "scores.json", NULL);
    char *full = g_strconcat(text, "\n", NULL);
    st = sr_atomic_write(path, full, len + 1, err);
    g_free(full), g_free(path);
  }
  g_free(text);
  if (st == SR_OK) st = remove_stale_pngs(dir, written, err);
  g_hash_table_destroy(written);
  return st;
}

/* One scores.json entry, checked. */
typedef struct {
  char *file; /* NULL: matched by order */
  int rank;   /* -1: not given */
  double value[4]; /* score, energy, unary, pairwise; NAN: not given */
} score_entry;

static const char *const value_keys[] = {"score", "energy", "unary", "pairwise"};

typedef struct {
  int n;
  score_entry *e;
  gboolean by_file; /* every entry names its file */
} score_list;

static void score_list_clear(score_list *l) {
  for (int i = 0; i < l->n; i++) g_free(l->e[i].file);
  g_free(l->e);
  memset(l, 0, sizeof *l);
}

/* A member that must be a non-negative integer when present. */
static sr_status check_count(const char *path, JsonObject *o, const char *key, sr_error *err) {
  JsonNode *v = json_object_get_member(o, key);
  if (v && (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_INT64 || json_node_get_int(v) < 0))
    return sr_error_set(err, SR_ERR_FORMAT, "%s: \"%s\" is not a non-negative integer", path, key);
  return SR_OK;
}

static sr_status parse_entry(const char *path, guint i, guint len, JsonNode *en, score_entry *out, sr_error *err) {
  out->rank = -1;
  for (int j = 0; j < 4; j++) out->value[j] = NAN;
  if (!JSON_NODE_HOLDS_OBJECT(en))
    return sr_error_set(err, SR_ERR_FORMAT, "%s: proposals[%u] is not an object", path, i);
  JsonObject *e = json_node_get_object(en);
  JsonNode *f = json_object_get_member(e, "file");
  if (f) {
    const char *name = JSON_NODE_HOLDS_VALUE(f) && json_node_get_value_type(f) == G_TYPE_STRING
                           ? json_node_get_string(f)
                           : NULL;
    if (!name || !has_png_suffix(name) || strchr(name, '/') || strchr(name, '\\'))
      return sr_error_set(err, SR_ERR_FORMAT, "%s: proposals[%u].file is not the name of a PNG in this folder", path,
                          i);
    out->file = g_strdup(name);
  }
  JsonNode *r = json_object_get_member(e, "rank");
  if (r && !JSON_NODE_HOLDS_NULL(r)) {
    gint64 v = JSON_NODE_HOLDS_VALUE(r) && json_node_get_value_type(r) == G_TYPE_INT64 ? json_node_get_int(r) : -1;
    if (v < 0 || v >= (gint64)len)
      return sr_error_set(err, SR_ERR_FORMAT, "%s: proposals[%u].rank is not an integer in 0..%u", path, i, len - 1);
    out->rank = (int)v;
  }
  for (int j = 0; j < 4; j++) {
    JsonNode *v = json_object_get_member(e, value_keys[j]);
    if (!v || JSON_NODE_HOLDS_NULL(v)) continue;
    GType t = JSON_NODE_HOLDS_VALUE(v) ? json_node_get_value_type(v) : G_TYPE_INVALID;
    double x = t == G_TYPE_DOUBLE ? json_node_get_double(v) : t == G_TYPE_INT64 ? (double)json_node_get_int(v) : NAN;
    if (!isfinite(x))
      return sr_error_set(err, SR_ERR_FORMAT, "%s: proposals[%u].%s is not a finite number (or null)", path, i,
                          value_keys[j]);
    out->value[j] = x;
  }
  return SR_OK;
}

/* Reads and checks DIR/scores.json when present (@l->n = 0 when absent):
 * every entry an object, "file" a PNG name (all entries or none, no name
 * twice), "rank" an integer in 0..n-1 with no rank twice (an entry without
 * one has its position), values finite numbers or null. */
static sr_status load_scores(const char *dir, score_list *l, sr_error *err) {
  memset(l, 0, sizeof *l);
  char *path = g_build_filename(dir, "scores.json", NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_free(path);
    return SR_OK;
  }
  JsonParser *p = json_parser_new();
  sr_status st = SR_OK;
  if ((st = sr_json_load_file(p, path, SCORES_MAX_BYTES, err)) != SR_OK) goto out;
  JsonObject *o = sr_json_root_obj(p);
  JsonNode *arr_node = o ? json_object_get_member(o, "proposals") : NULL;
  if (!arr_node || !JSON_NODE_HOLDS_ARRAY(arr_node)) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: expected an object with a \"proposals\" array", path);
    goto out;
  }
  /* Folders from other tools may carry no format or version; ours do. */
  const char *format = sr_json_get_str(o, "format", NULL);
  char why[320];
  if (format && strcmp(format, SR_PROPOSALS_FORMAT)) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: format '%s' is not %s", path, format, SR_PROPOSALS_FORMAT);
    goto out;
  }
  if ((format || json_object_has_member(o, "version")) && !sr_json_version_ok(o, SR_PROPOSALS_VERSION, why, sizeof why)) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: %s", path, why);
    goto out;
  }
  static const char *const counts[] = {"classes", "width", "height"};
  for (int j = 0; j < 3 && st == SR_OK; j++) st = check_count(path, o, counts[j], err);
  if (st != SR_OK) goto out;
  JsonArray *arr = json_node_get_array(arr_node);
  guint len = json_array_get_length(arr);
  if (len > (1u << 20)) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: %u proposals is too many", path, len);
    goto out;
  }
  l->e = g_new0(score_entry, len ? len : 1);
  guint8 *rank_seen = g_malloc0(len ? len : 1);
  GHashTable *files = g_hash_table_new(g_str_hash, g_str_equal);
  int with_file = 0;
  for (guint i = 0; i < len && st == SR_OK; i++) {
    l->n = (int)i + 1;
    score_entry *e = &l->e[i];
    st = parse_entry(path, i, len, json_array_get_element(arr, i), e, err);
    if (st != SR_OK) break;
    if (e->file) {
      with_file++;
      if (!g_hash_table_add(files, e->file))
        st = sr_error_set(err, SR_ERR_FORMAT, "%s: proposals[%u].file \"%s\" is listed twice", path, i, e->file);
    }
    if (e->rank < 0) e->rank = (int)i;
    if (st == SR_OK && rank_seen[e->rank]++)
      st = sr_error_set(err, SR_ERR_FORMAT, "%s: proposals[%u].rank %d is given twice", path, i, e->rank);
  }
  if (st == SR_OK && with_file && with_file != l->n)
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: %d of %d proposals name their \"file\"; name it in all or none", path,
                      with_file, l->n);
  l->by_file = with_file > 0;
  g_hash_table_destroy(files);
  g_free(rank_seen);
out:
  if (st != SR_OK) score_list_clear(l);
  g_object_unref(p);
  g_free(path);
  return st;
}

/* The proposal files in order: scores.json's list, or every PNG by name. */
static sr_status proposal_files(const char *dir, const score_list *l, GPtrArray *names, sr_error *err) {
  if (l->by_file) {
    for (int i = 0; i < l->n; i++) {
      char *path = g_build_filename(dir, l->e[i].file, NULL);
      gboolean there = g_file_test(path, G_FILE_TEST_IS_REGULAR);
      g_free(path);
      if (!there)
        return sr_error_set(err, SR_ERR_IO, "%s/%s: listed in scores.json but missing", dir, l->e[i].file);
      g_ptr_array_add(names, g_strdup(l->e[i].file));
    }
    return SR_OK;
  }
  return list_pngs(dir, names, err);
}

sr_status sr_proposal_set_load_dir(const char *dir, int n_classes, int void_label, int width, int height, int max_n,
                                   sr_proposal_set *s, sr_error *err) {
  memset(s, 0, sizeof *s);
  /* A missing folder has no scores.json: proposal_files reports it. */
  score_list scores;
  sr_status st = load_scores(dir, &scores, err);
  if (st != SR_OK) return st;
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  st = proposal_files(dir, &scores, names, err);
  if (st != SR_OK) goto out;
  if (names->len == 0) {
    st = sr_error_set(err, SR_ERR_IO, "%s: no proposal PNGs in this folder", dir);
    goto out;
  }
  int n = (int)names->len;
  if (max_n > 0 && n > max_n) n = max_n;
  char **files = (char **)names->pdata;
  for (int k = 0; k < n; k++) {
    char *path = g_build_filename(dir, files[k], NULL);
    sr_image img = {0};
    st = sr_label_png_load(path, &img, err);
    if (st == SR_OK && k == 0) {
      if ((width > 0 && img.width != width) || (height > 0 && img.height != height))
        st = sr_error_set(err, SR_ERR_INVALID, "%s: proposal is %dx%d, the frame is %dx%d", path, img.width,
                          img.height, width, height);
      else
        st = sr_proposal_set_alloc(s, img.width, img.height, n_classes, n, err);
    } else if (st == SR_OK && (img.width != s->width || img.height != s->height))
      st = sr_error_set(err, SR_ERR_INVALID, "%s: proposal is %dx%d, %s is %dx%d", path, img.width, img.height,
                        files[0], s->width, s->height);
    if (st == SR_OK) {
      size_t px = (size_t)img.width * img.height;
      uint8_t *dst = sr_proposal_labels(s, k);
      for (size_t i = 0; i < px; i++) {
        uint8_t v = img.data[i];
        if (v >= n_classes && v != void_label) {
          st = sr_error_set(err, SR_ERR_FORMAT, "%s: label %u at pixel (%zu, %zu) is not a class (%d classes, void %d)",
                            path, v, i % img.width, i / img.width, n_classes, void_label);
          break;
        }
        dst[i] = v;
      }
    }
    sr_image_clear(&img);
    g_free(path);
    if (st != SR_OK) goto out;
  }
  /* Entry k describes proposal k (by file or by order); a proposal without
   * a score gets its rank. */
  for (int k = 0; k < n; k++) {
    const score_entry *e = k < scores.n ? &scores.e[k] : NULL;
    if (e) {
      s->rank[k] = e->rank;
      double *dst[] = {s->score, s->energy, s->unary, s->pairwise};
      for (int j = 0; j < 4; j++)
        if (!isnan(e->value[j])) dst[j][k] = e->value[j];
    }
    if (isnan(s->score[k])) s->score[k] = s->rank[k];
  }
  sr_proposal_set_update_areas(s);
out:
  if (st != SR_OK) sr_proposal_set_clear(s);
  g_ptr_array_free(names, TRUE);
  score_list_clear(&scores);
  return st;
}
