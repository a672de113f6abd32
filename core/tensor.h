/* tensor.h: sr_tensor, a dense float32 NCHW array. The layout is row-major
 * with W fastest: element (n, c, h, w) lives at ((n*C + c)*H + h)*W + w.
 * For host backends (ref, cpu) `data` is ordinary memory; device backends
 * store their own buffer handle there, created by sr_backend's alloc. */
#ifndef SR_TENSOR_H
#define SR_TENSOR_H

#include <stddef.h>

#include "status.h"

typedef struct {
  int n, c, h, w;
  float *data;
} sr_tensor;

/* Number of elements. */
static inline size_t sr_tensor_count(const sr_tensor *t) {
  return (size_t)t->n * (size_t)t->c * (size_t)t->h * (size_t)t->w;
}

/* Allocates host memory for a tensor of the given shape (zeroed). */
sr_status sr_tensor_alloc(sr_tensor *t, int n, int c, int h, int w);

/* Releases what sr_tensor_alloc allocated; safe on a zeroed tensor. */
void sr_tensor_clear(sr_tensor *t);

#endif
