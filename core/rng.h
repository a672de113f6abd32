/* rng.h: a small explicit random number generator (splitmix64 seeding a
 * xoshiro256**), so every random draw in segrank comes from a seed. */
#ifndef SR_RNG_H
#define SR_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t s[4];
} sr_rng;

void sr_rng_seed(sr_rng *r, uint64_t seed);
uint64_t sr_rng_next(sr_rng *r);
/* Uniform in [0, 1). */
double sr_rng_uniform(sr_rng *r);
/* Standard normal (Box–Muller). */
double sr_rng_normal(sr_rng *r);

#endif
