/* tensor.c: host allocation of sr_tensor. */
#include "tensor.h"

#include <stdlib.h>
#include <string.h>

sr_status sr_tensor_alloc(sr_tensor *t, int n, int c, int h, int w) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0) return SR_ERR_INVALID;
  size_t count = (size_t)n * c * h * w;
  float *d = calloc(count, sizeof(float));
  if (!d) return SR_ERR_NOMEM;
  t->n = n, t->c = c, t->h = h, t->w = w;
  t->data = d;
  return SR_OK;
}

void sr_tensor_clear(sr_tensor *t) {
  free(t->data);
  memset(t, 0, sizeof *t);
}
