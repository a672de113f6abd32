/* chi2_map.c: the additive-χ² explicit feature map of Vedaldi & Zisserman
 * (PAMI 2012), as sklearn's AdditiveChi2Sampler computes it: for x > 0 and
 * sampling period L,
 *   ψ_0(x)      = √(x L)
 *   ψ_2j−1(x)   = √(2 x L sech(π j L)) · cos(j L log x)
 *   ψ_2j(x)     = √(2 x L sech(π j L)) · sin(j L log x),   j = 1 .. steps − 1,
 * and ψ(0) = 0, so that ψ(x)·ψ(y) approximates the χ² kernel 2xy / (x + y).
 * The harmonics j ≥ 2 come from the first by angle addition (one log and
 * one sincos per value). */
#include <math.h>

#include "unary_internal.h"

float sr_chi2_default_interval(int steps) {
  return steps == 1 ? 0.8f : steps == 2 ? 0.5f : steps == 3 ? 0.4f : 1.6f / (float)steps;
}

/* ψ(x) given the harmonics' factors sech(πjL)·2L (j ≥ 1). */
static inline void map_one(float x, int steps, float L, const float *factor, float *out) {
  const int n = 2 * steps - 1;
  if (!(x > 0)) {
    for (int i = 0; i < n; i++) out[i] = 0;
    return;
  }
  out[0] = sqrtf(x * L);
  if (steps < 2) return;
  float c1, s1;
  sincosf(L * logf(x), &s1, &c1);
  float c = c1, s = s1;
  for (int j = 1; j < steps; j++) {
    float f = sqrtf(x * factor[j]);
    out[2 * j - 1] = f * c;
    out[2 * j] = f * s;
    float cn = c * c1 - s * s1;
    s = s * c1 + c * s1;
    c = cn;
  }
}

static void factors(int steps, float L, float *factor) {
  for (int j = 1; j < steps; j++) factor[j] = (float)(2.0 * L / cosh(3.14159265358979 * j * L));
}

void sr_chi2_map(float x, int steps, float L, float *out) {
  float factor[SR_CHI2_MAX_STEPS];
  factors(steps, L, factor);
  map_one(x, steps, L, factor, out);
}

void sr_chi2_map_block(const float *x, int n, int steps, float L, float *out) {
  float factor[SR_CHI2_MAX_STEPS];
  factors(steps, L, factor);
  const int per = 2 * steps - 1;
  for (int i = 0; i < n; i++) map_one(x[i], steps, L, factor, out + (size_t)i * per);
}
