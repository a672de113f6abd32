/* image.c: PNG I/O (libpng), frame preprocessing and label upsampling. */
#include "image.h"

#include <stdio.h>
/* jpeglib.h needs stdio.h first */
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"

/* TRUE when a @w × @h image exceeds SR_IMAGE_MAX_PIXELS (or is empty). */
static int too_large(size_t w, size_t h) { return w == 0 || h == 0 || w > SR_IMAGE_MAX_PIXELS / h; }

/* The error for such an image, @kind "PNG" or "JPEG". */
static sr_status size_refused(const char *path, const char *kind, size_t w, size_t h, sr_error *err) {
  return sr_error_set(err, SR_ERR_FORMAT, "%s: %zux%zu %s: empty, or more than %zu pixels", path, w, h, kind,
                      SR_IMAGE_MAX_PIXELS);
}

/* Reads a palette PNG's raw indices with libpng's low-level API (the
 * simplified API would map them to colours). */
static sr_status load_png_indices(const char *path, sr_image *img, sr_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return sr_error_set(err, SR_ERR_IO, "%s: cannot open", path);
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  /* Changed after setjmp and read by its handler, so volatile. */
  png_bytep *volatile rows = NULL;
  memset(img, 0, sizeof *img);
  if (!info) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(rows);
    sr_image_clear(img);
    return sr_error_set(err, SR_ERR_FORMAT, "%s: corrupt palette PNG", path);
  }
  png_init_io(png, f);
  png_read_info(png, info);
  if (png_get_bit_depth(png, info) < 8) png_set_packing(png);
  png_read_update_info(png, info);
  if (too_large(png_get_image_width(png, info), png_get_image_height(png, info))) {
    sr_status st = size_refused(path, "PNG", png_get_image_width(png, info), png_get_image_height(png, info), err);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return st;
  }
  img->width = (int)png_get_image_width(png, info), img->height = (int)png_get_image_height(png, info);
  img->channels = 1;
  img->data = malloc((size_t)img->width * img->height);
  rows = malloc(sizeof(png_bytep) * img->height);
  if (!img->data || !rows) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(rows);
    sr_image_clear(img);
    return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
  }
  for (int y = 0; y < img->height; y++) rows[y] = img->data + (size_t)y * img->width;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  fclose(f);
  return SR_OK;
}

/* libpng reports errors through a callback that must not return. */
typedef struct {
  jmp_buf jump;
  char msg[160];
} png_fail;

static void png_fail_error(png_structp png, png_const_charp msg) {
  png_fail *f = png_get_error_ptr(png);
  snprintf(f->msg, sizeof f->msg, "%s", msg);
  longjmp(f->jump, 1);
}

static void png_fail_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

sr_status sr_label_png_load(const char *path, sr_image *img, sr_error *err) {
  memset(img, 0, sizeof *img);
  FILE *f = fopen(path, "rb");
  if (!f) return sr_error_set(err, SR_ERR_IO, "%s: cannot open", path);
  png_fail fail = {.msg = "unknown error"};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &fail, png_fail_error, png_fail_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    fclose(f);
    return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
  }
  /* Changed after setjmp, so volatile. */
  png_bytep volatile raw = NULL;
  png_bytep *volatile rows = NULL;
  if (setjmp(fail.jump)) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    if (img->data != raw) free(img->data);
    free(raw);
    free(rows);
    memset(img, 0, sizeof *img);
    return sr_error_set(err, SR_ERR_FORMAT, "%s: cannot read PNG: %s", path, fail.msg);
  }
  png_init_io(png, f);
  png_read_info(png, info);
  int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  const char *refused = type == PNG_COLOR_TYPE_RGB          ? "an RGB"
                        : type == PNG_COLOR_TYPE_RGB_ALPHA  ? "an RGBA"
                        : type == PNG_COLOR_TYPE_GRAY_ALPHA ? "a grey+alpha"
                                                            : NULL;
  if (refused || (type != PNG_COLOR_TYPE_GRAY && type != PNG_COLOR_TYPE_PALETTE)) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return sr_error_set(err, SR_ERR_FORMAT, "%s: %s PNG; label maps must be grey or palette PNGs of class indices",
                        path, refused ? refused : "an unknown kind of");
  }
  /* Raw samples: unpack 1/2/4-bit pixels to one byte each without scaling
   * them, and ask for no gamma, palette or transparency transform. */
  if (depth < 8) png_set_packing(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  size_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (too_large(w, h)) png_error(png, "image empty or too large");
  size_t row_bytes = png_get_rowbytes(png, info);
  if (row_bytes != w * (depth == 16 ? 2 : 1)) png_error(png, "unexpected row layout");
  raw = malloc(row_bytes * h);
  rows = malloc(sizeof(png_bytep) * h);
  img->data = raw && rows && depth == 16 ? malloc(w * h) : raw;
  if (!img->data || !rows) png_error(png, "out of memory");
  for (size_t y = 0; y < h; y++) rows[y] = raw + y * row_bytes;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(f);
  free(rows);
  img->width = (int)w, img->height = (int)h, img->channels = 1;
  if (depth == 16) {
    for (size_t i = 0; i < w * h; i++) {
      unsigned v = (unsigned)raw[2 * i] << 8 | raw[2 * i + 1];
      if (v > 255) {
        free(raw);
        sr_image_clear(img);
        return sr_error_set(err, SR_ERR_FORMAT, "%s: 16-bit label %u at pixel (%zu, %zu) does not fit 0..255", path, v,
                            i % w, i / w);
      }
      img->data[i] = (uint8_t)v;
    }
    free(raw);
  }
  return SR_OK;
}

struct jpeg_fail {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
};

static void jpeg_fail_exit(j_common_ptr cinfo) { longjmp(((struct jpeg_fail *)cinfo->err)->jump, 1); }

static sr_status load_jpeg(const char *path, int grey, sr_image *img, sr_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return sr_error_set(err, SR_ERR_IO, "%s: cannot open", path);
  struct jpeg_decompress_struct cinfo;
  struct jpeg_fail jerr;
  memset(img, 0, sizeof *img);
  cinfo.err = jpeg_std_error(&jerr.mgr);
  jerr.mgr.error_exit = jpeg_fail_exit;
  if (setjmp(jerr.jump)) {
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    sr_image_clear(img);
    return sr_error_set(err, SR_ERR_FORMAT, "%s: corrupt JPEG", path);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  if (too_large(cinfo.image_width, cinfo.image_height)) {
    sr_status st = size_refused(path, "JPEG", cinfo.image_width, cinfo.image_height, err);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    return st;
  }
  cinfo.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  img->width = (int)cinfo.output_width, img->height = (int)cinfo.output_height, img->channels = grey ? 1 : 3;
  img->data = malloc((size_t)img->width * img->height * img->channels);
  if (!img->data) {
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    sr_status st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for a %dx%d JPEG", path, img->width,
                                img->height);
    memset(img, 0, sizeof *img);
    return st;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = img->data + (size_t)cinfo.output_scanline * img->width * img->channels;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  fclose(f);
  return SR_OK;
}

bool sr_parse_size(const char *s, int max, int *w, int *h) {
  char *end;
  if (!s) return false;
  long a = strtol(s, &end, 10), b = a;
  if (end == s) return false;
  if (*end == 'x') {
    const char *t = end + 1;
    b = strtol(t, &end, 10);
    if (end == t) return false;
  }
  if (*end || a < 1 || b < 1 || a > max || b > max) return false;
  *w = (int)a, *h = (int)b;
  return true;
}

sr_status sr_image_load(const char *path, int grey, sr_image *img, sr_error *err) {
  const char *dot = strrchr(path, '.');
  if (dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"))) return load_jpeg(path, grey, img, err);
  return sr_image_load_png(path, grey, img, err);
}

sr_status sr_image_load_png(const char *path, int grey, sr_image *img, sr_error *err) {
  png_image pi;
  memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  memset(img, 0, sizeof *img);
  if (!png_image_begin_read_from_file(&pi, path))
    return sr_error_set(err, SR_ERR_FORMAT, "%s: cannot read PNG: %s", path, pi.message);
  if (grey && (pi.format & PNG_FORMAT_FLAG_COLORMAP)) {
    /* Palette label maps (PASCAL VOC): keep the indices, not the colours. */
    png_image_free(&pi);
    return load_png_indices(path, img, err);
  }
  if (too_large(pi.width, pi.height)) {
    sr_status st = size_refused(path, "PNG", pi.width, pi.height, err);
    png_image_free(&pi);
    return st;
  }
  pi.format = grey ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  img->width = (int)pi.width, img->height = (int)pi.height, img->channels = grey ? 1 : 3;
  img->data = malloc(PNG_IMAGE_SIZE(pi));
  if (!img->data) {
    png_image_free(&pi);
    return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
  }
  if (!png_image_finish_read(&pi, NULL, img->data, 0, NULL)) {
    sr_image_clear(img);
    return sr_error_set(err, SR_ERR_FORMAT, "%s: corrupt PNG: %s", path, pi.message);
  }
  return SR_OK;
}

sr_status sr_image_save_png(const char *path, const sr_image *img, sr_error *err) {
  png_image pi;
  memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  pi.width = img->width, pi.height = img->height;
  pi.format = img->channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  sr_atomic_file af;
  sr_status st = sr_atomic_open(&af, path, err);
  if (st != SR_OK) return st;
  if (!png_image_write_to_stdio(&pi, af.f, 0, img->data, 0, NULL)) {
    sr_atomic_abort(&af);
    return sr_error_set(err, SR_ERR_IO, "%s: PNG encoding failed: %s", path, pi.message);
  }
  return sr_atomic_commit(&af, err);
}

void sr_image_clear(sr_image *img) {
  free(img->data);
  memset(img, 0, sizeof *img);
}

/* Source coordinate of destination index @i for a pixel-centre aligned
 * resize, split into a base index and a weight, clamped to the border. */
void sr_resize_coord(int i, int src, int dst, int *i0, int *i1, float *t) {
  float x = (i + 0.5f) * src / dst - 0.5f;
  if (x < 0) x = 0;
  int a = (int)x;
  if (a > src - 1) a = src - 1;
  *i0 = a;
  *i1 = a + 1 < src ? a + 1 : a;
  *t = x - a;
}

void sr_preprocess(const uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout lay,
                   const float mean_bgr[3], int out_w, int out_h, float *out) {
  size_t plane = (size_t)out_w * out_h;
  const int off[3] = {lay.b, lay.g, lay.r}; /* output channel order is BGR */
  /* Column tables on the stack, a strip of output columns at a time (no
   * allocation that could fail). */
  enum { STRIP = 256 };
  int x0[STRIP], x1[STRIP];
  float tx[STRIP];
  for (int xs = 0; xs < out_w; xs += STRIP) {
    int n = out_w - xs < STRIP ? out_w - xs : STRIP;
    for (int i = 0; i < n; i++) {
      sr_resize_coord(xs + i, width, out_w, &x0[i], &x1[i], &tx[i]);
      x0[i] *= lay.pixel_stride, x1[i] *= lay.pixel_stride;
    }
    for (int y = 0; y < out_h; y++) {
      int y0, y1;
      float ty;
      sr_resize_coord(y, height, out_h, &y0, &y1, &ty);
      const uint8_t *r0 = pixels + (size_t)y0 * row_stride, *r1 = pixels + (size_t)y1 * row_stride;
      for (int c = 0; c < 3; c++) {
        float *o = out + c * plane + (size_t)y * out_w + xs;
        for (int i = 0; i < n; i++) {
          float a = r0[x0[i] + off[c]] + tx[i] * (r0[x1[i] + off[c]] - r0[x0[i] + off[c]]);
          float b = r1[x0[i] + off[c]] + tx[i] * (r1[x1[i] + off[c]] - r1[x0[i] + off[c]]);
          o[i] = a + ty * (b - a) - mean_bgr[c];
        }
      }
    }
  }
}

void sr_labels_from_probs(const float *probs, int c, int h, int w, int width, int height, uint8_t *labels,
                          float *scratch) {
  /* Separable: first along x into scratch (c × h × width), then along y. */
  for (int x = 0; x < width; x++) {
    int a, b;
    float t;
    sr_resize_coord(x, w, width, &a, &b, &t);
    for (int k = 0; k < c * h; k++) {
      const float *row = probs + (size_t)k * w;
      scratch[(size_t)k * width + x] = row[a] + t * (row[b] - row[a]);
    }
  }
  for (int y = 0; y < height; y++) {
    int a, b;
    float t;
    sr_resize_coord(y, h, height, &a, &b, &t);
    uint8_t *out = labels + (size_t)y * width;
    for (int x = 0; x < width; x++) {
      int best = 0;
      float best_p = -1;
      for (int k = 0; k < c; k++) {
        const float *plane = scratch + (size_t)k * h * width;
        float p = plane[(size_t)a * width + x] + t * (plane[(size_t)b * width + x] - plane[(size_t)a * width + x]);
        if (p > best_p) best_p = p, best = k;
      }
      out[x] = (uint8_t)best;
    }
  }
}

void sr_blend_labels(uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout lay,
                     const uint8_t *labels, const uint8_t (*colors)[3], int n_colors, float alpha) {
  int a = (int)(alpha * 256 + 0.5f), keep = 256 - a;
  for (int y = 0; y < height; y++) {
    uint8_t *p = pixels + (size_t)y * row_stride;
    const uint8_t *l = labels + (size_t)y * width;
    for (int x = 0; x < width; x++, p += lay.pixel_stride) {
      if (l[x] >= n_colors) continue;
      const uint8_t *c = colors[l[x]];
      p[lay.r] = (uint8_t)((p[lay.r] * keep + c[0] * a) >> 8);
      p[lay.g] = (uint8_t)((p[lay.g] * keep + c[1] * a) >> 8);
      p[lay.b] = (uint8_t)((p[lay.b] * keep + c[2] * a) >> 8);
    }
  }
}
