/* npy.c: minimal .npy reader and writer for float32 C-order arrays. */
#include "npy.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "input_file.h"

/* The largest .npy file read (the whole file is held in memory). */
#define NPY_MAX_BYTES ((guint64)1 << 34)

sr_status sr_npy_save(const char *path, const float *data, const int *shape, int rank, sr_error *err) {
  GString *h = g_string_new("{'descr': '<f4', 'fortran_order': False, 'shape': (");
  size_t count = 1;
  for (int i = 0; i < rank; i++) {
    g_string_append_printf(h, "%d, ", shape[i]);
    count *= shape[i];
  }
  if (rank > 1) g_string_truncate(h, h->len - 1); /* "(2, 3)" but "(2,)" */
  g_string_append(h, "), }");
  while ((10 + h->len + 1) % 64) g_string_append_c(h, ' ');
  g_string_append_c(h, '\n');
  sr_atomic_file af;
  sr_status st = sr_atomic_open(&af, path, err);
  if (st == SR_OK) {
    guint16 hl = GUINT16_TO_LE((guint16)h->len);
    int bad = fwrite("\x93NUMPY\x01\x00", 1, 8, af.f) != 8 || fwrite(&hl, 2, 1, af.f) != 1 ||
              fwrite(h->str, 1, h->len, af.f) != h->len || fwrite(data, sizeof(float), count, af.f) != count;
    st = bad ? (sr_atomic_abort(&af), sr_error_set(err, SR_ERR_IO, "%s: write failed", path))
             : sr_atomic_commit(&af, err);
  }
  g_string_free(h, TRUE);
  return st;
}

sr_status sr_npy_load(const char *path, float **data, int *shape, int *rank, sr_error *err) {
  *data = NULL;
  gchar *c;
  gsize size;
  sr_status st = sr_input_read(path, NPY_MAX_BYTES, ".npy file", &c, &size, err);
  if (st != SR_OK) return st;
  guint16 hl = 0;
  if (size < 10 || memcmp(c, "\x93NUMPY\x01", 7)) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: not a version 1 .npy file", path);
  } else {
    memcpy(&hl, c + 8, 2);
    hl = GUINT16_FROM_LE(hl);
    if (10u + hl > size) st = sr_error_set(err, SR_ERR_FORMAT, "%s: truncated header", path);
  }
  char *hdr = st == SR_OK ? g_strndup(c + 10, hl) : NULL;
  if (st == SR_OK && (!strstr(hdr, "'descr': '<f4'") || !strstr(hdr, "'fortran_order': False")))
    st = sr_error_set(err, SR_ERR_UNSUPPORTED, "%s: only little-endian float32 C-order arrays are read", path);
  const char *sp = hdr ? strstr(hdr, "'shape': (") : NULL;
  /* The values the data bytes can hold: the shape's product may not exceed
   * it at any step, so the product never wraps. */
  const guint64 room = st == SR_OK ? (size - 10 - hl) / sizeof(float) : 0;
  guint64 count = 1;
  *rank = 0;
  if (st == SR_OK && !sp) st = sr_error_set(err, SR_ERR_FORMAT, "%s: no shape in the header", path);
  for (const char *p = sp ? sp + 10 : NULL; st == SR_OK && p && *p != ')';) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v < 0 || v > (1 << 24) || *rank == 4) {
      st = sr_error_set(err, SR_ERR_FORMAT, "%s: bad or unsupported shape", path);
      break;
    }
    shape[(*rank)++] = (int)v;
    if (v > 0 && count > room / (guint64)v) {
      st = sr_error_set(err, SR_ERR_FORMAT, "%s: shape holds more values than the %" G_GUINT64_FORMAT
                        " data bytes (truncated file?)", path, (guint64)(size - 10 - hl));
      break;
    }
    count *= (guint64)v;
    p = end;
    while (*p == ',' || *p == ' ') p++;
  }
  if (st == SR_OK && size - 10 - hl != count * sizeof(float))
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: %zu data bytes for %" G_GUINT64_FORMAT " float32 values", path,
                      (size_t)(size - 10 - hl), count);
  if (st == SR_OK && !(*data = malloc(count * sizeof(float) + 1)))
    st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
  if (st == SR_OK) memcpy(*data, c + 10 + hl, count * sizeof(float));
  g_free(hdr);
  g_free(c);
  return st;
}
