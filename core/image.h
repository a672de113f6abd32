/* image.h: 8-bit images, PNG input/output, and the pixel work around the net:
 * preprocessing a frame into the net's input, and turning the coarse
 * probability map back into a full-resolution label map and overlay. */
#ifndef SR_IMAGE_H
#define SR_IMAGE_H

/* Images larger than this many pixels (an 8K frame has 33 million) are
 * refused by the loaders before any pixel memory is allocated, so a header
 * claiming 65535 × 65535 gets an error, not a 12 GB allocation. */
#define SR_IMAGE_MAX_PIXELS ((size_t)1 << 27)

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

typedef struct {
  int width, height, channels; /* channels: 1 (grey) or 3 (RGB) */
  uint8_t *data;               /* rows of width*channels bytes, no padding */
} sr_image;

/* Loads any PNG as RGB (channels 3) or, with @grey, as 8-bit grey levels
 * (for label maps: palette indices are kept as they are). */
sr_status sr_image_load_png(const char *path, int grey, sr_image *img, sr_error *err);
/* Parses "W" (a square) or "WxH", each side 1..@max, into @w and @h;
 * false on anything else (both left as they were). */
bool sr_parse_size(const char *s, int max, int *w, int *h);
/* Loads a PNG or JPEG (by extension) as RGB, or for labels (@grey) as
 * 8-bit values: grey levels, or a palette PNG's indices (PASCAL VOC). */
sr_status sr_image_load(const char *path, int grey, sr_image *img, sr_error *err);
/* Reads a label map exactly as stored: a palette PNG's indices, or a grey
 * PNG's raw sample values (1/2/4/8-bit unpacked, not scaled; no gamma; 16-bit
 * values must be < 256). Colour and grey+alpha PNGs are an error naming the
 * file. @img gets channels 1. */
sr_status sr_label_png_load(const char *path, sr_image *img, sr_error *err);
/* Writes atomically. */
sr_status sr_image_save_png(const char *path, const sr_image *img, sr_error *err);
void sr_image_clear(sr_image *img);

/* Where the colour channels of a packed pixel are. */
typedef struct {
  int pixel_stride;  /* bytes per pixel: 3 or 4 */
  int r, g, b;       /* byte offsets within a pixel */
} sr_pixel_layout;

/* Where output index @i (of @dst) samples a @src-long axis for bilinear
 * resizing with pixel centres aligned: between source indices @i0 and @i1
 * (clamped at the edges) at fraction @t. */
void sr_resize_coord(int i, int src, int dst, int *i0, int *i1, float *t);

/* Resizes a packed RGB-like frame to @out_w × @out_h (bilinear, pixel-centre
 * aligned) and writes planar BGR minus @mean_bgr into @out (3 × out_h × out_w),
 * the input convention of Caffe models. */
void sr_preprocess(const uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout layout,
                   const float mean_bgr[3], int out_w, int out_h, float *out);

/* Upsamples a C × h × w probability map bilinearly to @width × @height and
 * writes each pixel's most probable class. @scratch holds C·h·width floats. */
void sr_labels_from_probs(const float *probs, int c, int h, int w, int width, int height, uint8_t *labels,
                          float *scratch);

/* Blends each pixel of a packed frame with its class colour:
 * out = (1-alpha)·pixel + alpha·colour. @labels has width × height entries. */
void sr_blend_labels(uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout layout,
                     const uint8_t *labels, const uint8_t (*colors)[3], int n_colors, float alpha);

#endif
