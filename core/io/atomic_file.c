/* atomic_file.c: atomic replacement of a file by temp + fsync + rename. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

sr_status sr_atomic_open(sr_atomic_file *af, const char *path, sr_error *err) {
  memset(af, 0, sizeof *af);
  af->path = g_strdup(path);
  af->tmp = g_strdup_printf("%s.tmp-XXXXXX", path);
  int fd = g_mkstemp(af->tmp);
  if (fd < 0) {
    int e = errno;
    sr_atomic_abort(af);
    return sr_error_set(err, SR_ERR_IO, "%s: cannot create a temporary file: %s", path, g_strerror(e));
  }
  fchmod(fd, 0644); /* mkstemp makes it 0600; outputs are meant to be shared */
  af->f = fdopen(fd, "wb");
  if (!af->f) {
    int e = errno;
    close(fd);
    sr_atomic_abort(af);
    return sr_error_set(err, e == ENOMEM ? SR_ERR_NOMEM : SR_ERR_IO, "%s: cannot open a temporary file: %s", path,
                        g_strerror(e));
  }
  return SR_OK;
}

void sr_atomic_abort(sr_atomic_file *af) {
  if (af->f) fclose(af->f);
  if (af->tmp) unlink(af->tmp);
  g_free(af->path);
  g_free(af->tmp);
  memset(af, 0, sizeof *af);
}

sr_status sr_atomic_commit(sr_atomic_file *af, sr_error *err) {
  int bad = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
  int e = errno;
  bad |= fclose(af->f) != 0;
  af->f = NULL;
  if (!bad && rename(af->tmp, af->path) != 0) bad = 1, e = errno;
  if (bad) {
    sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", af->path, g_strerror(e));
    sr_atomic_abort(af);
    return SR_ERR_IO;
  }
  /* Make the rename itself durable. */
  char *dir = g_path_get_dirname(af->path);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  g_free(dir);
  g_free(af->tmp);
  af->tmp = NULL;
  sr_atomic_abort(af);
  return SR_OK;
}

sr_status sr_atomic_write(const char *path, const void *data, size_t len, sr_error *err) {
  sr_atomic_file af;
  sr_status st = sr_atomic_open(&af, path, err);
  if (st != SR_OK) return st;
  if (fwrite(data, 1, len, af.f) != len) {
    sr_atomic_abort(&af);
    return sr_error_set(err, SR_ERR_IO, "%s: write failed", path);
  }
  return sr_atomic_commit(&af, err);
}
