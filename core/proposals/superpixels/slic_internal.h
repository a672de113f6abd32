/* slic_internal.h: the pieces SLIC is built from, shared between the files
 * of this folder and their tests (not part of the public API): scratch
 * buffers and the connectivity step. */
#ifndef SR_SLIC_INTERNAL_H
#define SR_SLIC_INTERNAL_H

#include <stdint.h>

#include "../../backends/cpu/threadpool.h"
#include "../../image.h"
#include "../color_lab.h"

/* A growable buffer kept between calls (its content is not). */
typedef struct {
  void *p;
  size_t size;
} sr_scratch;

/* At least @size bytes (NULL when out of memory). */
void *sr_scratch_get(sr_scratch *s, size_t size);
void sr_scratch_free(sr_scratch *s);

/* Turns a k-means label map (any int32 values) into a superpixel map: each
 * 4-connected region of equal labels becomes a component; components of
 * fewer than @min_size pixels are merged, smallest first, into the adjacent
 * group of at least @min_size pixels (of any size where none touches) with
 * the closest mean colour; the groups are then numbered 0..n-1 in the order
 * of their first pixel and written to @out. @lab_prefix: the colour as row
 * prefix sums, 3 planes of height × (width + 1) (row y, column x: the sum
 * of pixels 0..x-1). Returns n, or -1 when out of memory. @scratch:
 * SR_CONNECTIVITY_SCRATCH buffers. */
#define SR_CONNECTIVITY_SCRATCH 10
int sr_sp_enforce_connectivity(const int32_t *labels, int32_t *out, int width, int height,
                               const int32_t *lab_prefix, int min_size, sr_scratch *scratch);

#endif
