/* input_file.c: bounded reading of regular files (see input_file.h). */
#include "input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens @path without blocking (a FIFO would wait for a writer) and refuses
 * anything but a regular file; returns the descriptor and the file's size. */
static sr_status open_regular(const char *path, int *fd, guint64 *size, sr_error *err) {
  *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (*fd < 0) return sr_error_set(err, SR_ERR_IO, "%s: cannot open: %s", path, g_strerror(errno));
  struct stat sb;
  int e = fstat(*fd, &sb) == 0 ? 0 : errno;
  if (e || !S_ISREG(sb.st_mode)) {
    close(*fd);
    *fd = -1;
    return e ? sr_error_set(err, SR_ERR_IO, "%s: cannot stat: %s", path, g_strerror(e))
             : sr_error_set(err, SR_ERR_IO, "%s: not a regular file (%s)", path,
                            S_ISDIR(sb.st_mode) ? "a directory" : "a pipe, socket or device");
  }
  /* Reads on a regular file never block; back to ordinary reads. */
  fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
  *size = (guint64)sb.st_size;
  return SR_OK;
}

/* Reads exactly @n bytes at offset @at. */
static sr_status read_at(const char *path, int fd, void *buf, size_t n, off_t at, sr_error *err) {
  size_t done = 0;
  while (done < n) {
    ssize_t k = pread(fd, (char *)buf + done, n - done, at + (off_t)done);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return sr_error_set(err, SR_ERR_IO, "%s: read failed: %s", path, g_strerror(errno));
    if (k == 0) return sr_error_set(err, SR_ERR_IO, "%s: file shrank while being read", path);
    done += (size_t)k;
  }
  return SR_OK;
}

/* @n bytes at offset 0 into a new NUL-terminated buffer. */
static sr_status read_prefix(const char *path, int fd, guint64 n, gchar **contents, sr_error *err) {
  *contents = g_try_malloc((gsize)n + 1);
  if (!*contents) return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for %" G_GUINT64_FORMAT " bytes", path, n);
  sr_status st = read_at(path, fd, *contents, (size_t)n, 0, err);
  if (st != SR_OK) {
    g_free(*contents);
    *contents = NULL;
    return st;
  }
  (*contents)[n] = '\0';
  return SR_OK;
}

sr_status sr_input_read(const char *path, guint64 max_bytes, const char *kind, gchar **contents, gsize *size,
                        sr_error *err) {
  *contents = NULL;
  *size = 0;
  int fd;
  guint64 n;
  sr_status st = open_regular(path, &fd, &n, err);
  if (st != SR_OK) return st;
  if (n > max_bytes || n >= G_MAXSIZE)
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: %" G_GUINT64_FORMAT " bytes is too large for a %s (at most %" G_GUINT64_FORMAT ")",
                      path, n, kind, max_bytes);
  else if ((st = read_prefix(path, fd, n, contents, err)) == SR_OK)
    *size = (gsize)n;
  close(fd);
  return st;
}

sr_status sr_input_read_prefixed(const char *path, const char *kind, guint64 max_header, gboolean header_only,
                                 gchar **contents, gsize *size, guint64 *hlen, sr_error *err) {
  *contents = NULL;
  *size = 0;
  *hlen = 0;
  int fd;
  guint64 n, le;
  sr_status st = open_regular(path, &fd, &n, err);
  if (st != SR_OK) return st;
  if (n < 8) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: %" G_GUINT64_FORMAT " bytes is too short for a %s", path, n, kind);
  } else if ((st = read_at(path, fd, &le, 8, 0, err)) == SR_OK) {
    *hlen = GUINT64_FROM_LE(le);
    if (*hlen > max_header || *hlen > n - 8)
      st = sr_error_set(err, SR_ERR_FORMAT,
                        "%s: header length %" G_GUINT64_FORMAT " does not fit the %" G_GUINT64_FORMAT
                        "-byte file (not a %s, or truncated)",
                        path, *hlen, n, kind);
    else if (!header_only && n >= G_MAXSIZE)
      st = sr_error_set(err, SR_ERR_FORMAT, "%s: %" G_GUINT64_FORMAT " bytes is too large to read", path, n);
  }
  if (st == SR_OK && header_only) n = 8 + *hlen;
  if (st == SR_OK && (st = read_prefix(path, fd, n, contents, err)) == SR_OK) *size = (gsize)n;
  close(fd);
  return st;
}
