/* test_util.h: the few helpers the core tests share: a tiny check macro that
 * reports file and line, random tensors from a seed, and error measures. */
#ifndef SR_TEST_UTIL_H
#define SR_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "segrank.h"

static int test_failures = 0;

#define CHECK(cond, ...)                                          \
  do {                                                            \
    if (!(cond)) {                                                \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                               \
      fprintf(stderr, "\n");                                      \
      test_failures++;                                            \
    }                                                             \
  } while (0)

static inline void fill_normal(float *v, size_t n, sr_rng *rng, double scale) {
  for (size_t i = 0; i < n; i++) v[i] = (float)(scale * sr_rng_normal(rng));
}

/* Normalised mean squared error Σ(a-b)² / Σb² (0 when both are zero). */
static inline double nmse(const float *a, const float *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += (double)(a[i] - b[i]) * (a[i] - b[i]);
    den += (double)b[i] * b[i];
  }
  return den > 0 ? num / den : num;
}

static inline double max_abs_diff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
  return m;
}

#endif
