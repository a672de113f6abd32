/* slic_internal.h: the pieces SLIC is built from, shared between the files
 * of this folder and their tests (not part of the public API): the fast
 * sRGB → CIE Lab conversion and the connectivity step. */
#ifndef SR_SLIC_INTERNAL_H
#define SR_SLIC_INTERNAL_H

#include <stdint.h>

#include "../../backends/cpu/threadpool.h"
#include "../../image.h"

/* Converts packed 8-bit sRGB pixels to CIE L*a*b* (D65, the matrix and white
 * point of skimage's rgb2lab) in three planes of width × height floats.
 * sRGB → linear by a 256-entry table, the cube root by a table with linear
 * interpolation: within 0.02 of the exact value in L, a and b.
 * @pool (nullable) splits the rows. */
void sr_lab_from_pixels(const uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout layout,
                        float *L, float *A, float *B, sr_pool *pool);

/* The exact conversion of one pixel (double precision, libm's cbrt): the
 * reference the tables are tested against. */
void sr_lab_reference(uint8_t r, uint8_t g, uint8_t b, double lab[3]);

/* Turns a k-means label map (any int32 values) into a superpixel map: each
 * 4-connected region of equal labels becomes a component; components of
 * fewer than @min_size pixels are merged, smallest first, into the adjacent
 * group with the closest mean colour (L, A, B planes); the groups are then
 * numbered 0..n-1 in the order of their first pixel. @labels is
 * overwritten with the result; returns n, or -1 when out of memory. */
int sr_sp_enforce_connectivity(int32_t *labels, int width, int height, const float *L, const float *A,
                               const float *B, int min_size);

#endif
