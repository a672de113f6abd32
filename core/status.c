/* status.c: status strings and error-message helpers. */
#include "status.h"

#include <stdio.h>
#include <string.h>

#include "sr_config.h"

const char *sr_version(void) { return SR_VERSION; }

const char *sr_status_str(sr_status s) {
  switch (s) {
#define SR_X_CASE(name, text) \
  case name:                  \
    return text;
    SR_STATUS_LIST(SR_X_CASE)
#undef SR_X_CASE
  }
  return "unknown status";
}

sr_status sr_error_set(sr_error *err, sr_status code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

void sr_error_prefix(sr_error *err, const char *fmt, ...) {
  if (!err) return;
  char prefix[256], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  /* Truncation of an overlong message is acceptable. */
  size_t n = strlen(prefix);
  if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
  memcpy(err->msg, prefix, n);
  memcpy(err->msg + n, ": ", 2);
  size_t rest = strlen(old);
  if (rest > sizeof err->msg - n - 3) rest = sizeof err->msg - n - 3;
  memcpy(err->msg + n + 2, old, rest);
  err->msg[n + 2 + rest] = 0;
}
