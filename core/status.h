/* status.h: the error vocabulary of libsegrank. Fallible calls return an
 * sr_status and fill an optional sr_error with a human-readable reason that
 * names the file and the problem. */
#ifndef SR_STATUS_H
#define SR_STATUS_H

#include <stdarg.h>

#define SR_STATUS_LIST(X)                                     \
  X(SR_OK, "ok")                                              \
  X(SR_ERR_IO, "input/output error")                          \
  X(SR_ERR_FORMAT, "malformed file")                          \
  X(SR_ERR_INVALID, "invalid argument")                       \
  X(SR_ERR_UNSUPPORTED, "unsupported")                        \
  X(SR_ERR_NOMEM, "out of memory")                            \
  X(SR_ERR_BACKEND, "backend failure")

typedef enum {
#define SR_X_ENUM(name, text) name,
  SR_STATUS_LIST(SR_X_ENUM)
#undef SR_X_ENUM
} sr_status;

/* An error report: the status and a message such as
 * "model.srmodel: tensor conv1.weight: shape [96,3,11,11] expected [96,3,5,5]". */
typedef struct {
  sr_status code;
  char msg[512];
} sr_error;

/* Returns a static description of @s. */
const char *sr_status_str(sr_status s);

/* The release of this library, "X.Y.Z" (meson.build's project version). */
const char *sr_version(void);

/* Sets @err (nullable) and returns @code, so callers can write
 * `return sr_error_set (err, SR_ERR_FORMAT, "%s: ...", path);`. */
sr_status sr_error_set(sr_error *err, sr_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to the message already in @err (nullable). */
void sr_error_prefix(sr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
