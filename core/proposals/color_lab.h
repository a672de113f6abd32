/* color_lab.h: sRGB → CIE L*a*b* as the proposal source uses it (SLIC's
 * distance, the unary colour features, the CRF's contrast term): the
 * matrix and white point of skimage's rgb2lab, by tables. */
#ifndef SR_COLOR_LAB_H
#define SR_COLOR_LAB_H

#include <stdint.h>

#include "../backends/cpu/threadpool.h"
#include "../image.h"

/* Converts packed 8-bit sRGB pixels to CIE L*a*b* (D65) in three planes of
 * width × height floats. sRGB → linear by a 256-entry table, the cube root
 * by a table with linear interpolation: within 0.02 of the exact value in
 * L, a and b. @pool (nullable) splits the rows. */
void sr_lab_from_pixels(const uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout layout,
                        float *L, float *A, float *B, sr_pool *pool);

/* The exact conversion of one pixel (double precision, libm's cbrt): the
 * reference the tables are tested against. */
void sr_lab_reference(uint8_t r, uint8_t g, uint8_t b, double lab[3]);

#endif
