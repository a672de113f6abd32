/* atomic_file.h: write-temp, fsync, rename. Every model, checkpoint and output
 * file segrank writes goes through this, so a killed run never leaves a
 * half-written file under the final name. */
#ifndef SR_ATOMIC_FILE_H
#define SR_ATOMIC_FILE_H

#include <stdio.h>

#include "../status.h"

typedef struct {
  FILE *f; /* write here */
  char *path, *tmp;
} sr_atomic_file;

/* Opens a temporary file next to @path. */
sr_status sr_atomic_open(sr_atomic_file *af, const char *path, sr_error *err);
/* Flushes, fsyncs, renames over @path and fsyncs the directory. Always
 * releases @af; on failure the temporary file is removed. */
sr_status sr_atomic_commit(sr_atomic_file *af, sr_error *err);
/* Writes @len bytes of @data as the whole of @path, atomically. */
sr_status sr_atomic_write(const char *path, const void *data, size_t len, sr_error *err);
/* Discards the temporary file. */
void sr_atomic_abort(sr_atomic_file *af);

#endif
