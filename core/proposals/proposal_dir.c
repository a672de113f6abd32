/* proposal_dir.c: the on-disk proposal layout shared by `segrank propose`
 * and `proposalload`: DIR/<rank>.png (8-bit class indices, zero-padded so
 * name order is rank order) and DIR/scores.json. */
#include <errno.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../image.h"
#include "../io/atomic_file.h"
#include "proposal_set.h"

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

sr_status sr_proposal_set_save_dir(const sr_proposal_set *s, const char *dir, sr_error *err) {
  if (g_mkdir_with_parents(dir, 0755) != 0)
    return sr_error_set(err, SR_ERR_IO, "%s: cannot create folder: %s", dir, strerror(errno));
  int digits = rank_digits(s->n);
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "classes");
  json_builder_add_int_value(b, s->n_classes);
  json_builder_set_member_name(b, "width");
  json_builder_add_int_value(b, s->width);
  json_builder_set_member_name(b, "height");
  json_builder_add_int_value(b, s->height);
  json_builder_set_member_name(b, "proposals");
  json_builder_begin_array(b);
  sr_status st = SR_OK;
  for (int k = 0; k < s->n && st == SR_OK; k++) {
    char name[32];
    snprintf(name, sizeof name, "%0*d.png", digits & 15, k & 0x3fffffff);
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
    sr_atomic_file af;
    st = sr_atomic_open(&af, path, err);
    if (st == SR_OK) {
      fwrite(text, 1, len, af.f);
      fputc('\n', af.f);
      st = sr_atomic_commit(&af, err);
    }
    g_free(path);
  }
  g_free(text);
  return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static gboolean has_png_suffix(const char *name) {
  size_t n = strlen(name);
  return n > 4 && g_ascii_strcasecmp(name + n - 4, ".png") == 0;
}

/* Reads DIR/scores.json into @s when present. */
static sr_status load_scores(const char *dir, char **files, sr_proposal_set *s, sr_error *err) {
  char *path = g_build_filename(dir, "scores.json", NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    for (int k = 0; k < s->n; k++) s->score[k] = k;
    g_free(path);
    return SR_OK;
  }
  JsonParser *p = json_parser_new();
  GError *gerr = NULL;
  sr_status st = SR_OK;
  if (!json_parser_load_from_file(p, path, &gerr)) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: %s", path, gerr->message);
    g_error_free(gerr);
    goto out;
  }
  JsonNode *root = json_parser_get_root(p);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  JsonNode *arr_node = o ? json_object_get_member(o, "proposals") : NULL;
  if (!arr_node || !JSON_NODE_HOLDS_ARRAY(arr_node)) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: expected an object with a \"proposals\" array", path);
    goto out;
  }
  JsonArray *arr = json_node_get_array(arr_node);
  guint len = json_array_get_length(arr);
  for (int k = 0; k < s->n; k++) s->score[k] = k;
  for (guint i = 0; i < len; i++) {
    JsonNode *en = json_array_get_element(arr, i);
    if (!JSON_NODE_HOLDS_OBJECT(en)) {
      st = sr_error_set(err, SR_ERR_FORMAT, "%s: proposals[%u] is not an object", path, i);
      goto out;
    }
    JsonObject *e = json_node_get_object(en);
    int k = (int)i;
    if (json_object_has_member(e, "file")) {
      const char *f = json_object_get_string_member(e, "file");
      k = -1;
      for (int j = 0; f && j < s->n; j++)
        if (!strcmp(files[j], f)) k = j;
      if (k < 0) continue; /* beyond max_n, or a file that is not there */
    } else if (k >= s->n)
      break;
    static const char *const keys[] = {"score", "energy", "unary", "pairwise"};
    double *dst[] = {s->score, s->energy, s->unary, s->pairwise};
    for (int j = 0; j < 4; j++) {
      JsonNode *v = json_object_get_member(e, keys[j]);
      if (!v || JSON_NODE_HOLDS_NULL(v)) continue;
      if (json_node_get_value_type(v) != G_TYPE_DOUBLE && json_node_get_value_type(v) != G_TYPE_INT64) {
        st = sr_error_set(err, SR_ERR_FORMAT, "%s: proposals[%u].%s is not a number", path, i, keys[j]);
        goto out;
      }
      dst[j][k] = json_node_get_double(v);
    }
    JsonNode *r = json_object_get_member(e, "rank");
    if (r && json_node_get_value_type(r) == G_TYPE_INT64) s->rank[k] = (int)json_node_get_int(r);
  }
out:
  g_object_unref(p);
  g_free(path);
  return st;
}

sr_status sr_proposal_set_load_dir(const char *dir, int n_classes, int void_label, int width, int height, int max_n,
                                   sr_proposal_set *s, sr_error *err) {
  memset(s, 0, sizeof *s);
  GError *gerr = NULL;
  GDir *d = g_dir_open(dir, 0, &gerr);
  if (!d) {
    sr_status st = sr_error_set(err, SR_ERR_IO, "%s: %s", dir, gerr->message);
    g_error_free(gerr);
    return st;
  }
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  for (const char *n; (n = g_dir_read_name(d));)
    if (has_png_suffix(n)) g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  sr_status st = SR_OK;
  if (names->len == 0) {
    st = sr_error_set(err, SR_ERR_IO, "%s: no proposal PNGs in this folder", dir);
    goto out;
  }
  qsort(names->pdata, names->len, sizeof(char *), cmp_str);
  int n = (int)names->len;
  if (max_n > 0 && n > max_n) n = max_n;
  char **files = (char **)names->pdata;
  for (int k = 0; k < n; k++) {
    char *path = g_build_filename(dir, files[k], NULL);
    sr_image img = {0};
    st = sr_image_load_png(path, 1, &img, err);
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
  st = load_scores(dir, files, s, err);
  if (st == SR_OK) sr_proposal_set_update_areas(s);
out:
  if (st != SR_OK) sr_proposal_set_clear(s);
  g_ptr_array_free(names, TRUE);
  return st;
}
