/* fuzz_file.h: what the libFuzzer targets share: the loaders take paths, so
 * each input is written to one temporary file per process (under $TMPDIR)
 * before the loader reads it. */
#ifndef SR_FUZZ_FILE_H
#define SR_FUZZ_FILE_H

#include <glib.h>
#include <glib/gstdio.h>
#include <stddef.h>
#include <stdint.h>

/* A process-wide scratch folder, removed at exit. */
static char *fuzz_dir;

static void fuzz_cleanup(void) {
  if (!fuzz_dir) return;
  GDir *d = g_dir_open(fuzz_dir, 0, NULL);
  for (const char *n; d && (n = g_dir_read_name(d));) {
    char *p = g_build_filename(fuzz_dir, n, NULL);
    g_remove(p);
    g_free(p);
  }
  if (d) g_dir_close(d);
  g_rmdir(fuzz_dir);
  g_free(fuzz_dir);
  fuzz_dir = NULL;
}

/* Writes @data to the scratch file @name and returns its path (owned here). */
static const char *fuzz_write(const char *name, const uint8_t *data, size_t size) {
  static char *path;
  if (!fuzz_dir) {
    fuzz_dir = g_dir_make_tmp("segrank-fuzz-XXXXXX", NULL);
    if (!fuzz_dir) abort();
    atexit(fuzz_cleanup);
  }
  g_free(path);
  path = g_build_filename(fuzz_dir, name, NULL);
  if (!g_file_set_contents(path, (const char *)data, (gssize)size, NULL)) abort();
  return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
