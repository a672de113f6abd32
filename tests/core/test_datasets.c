/* test_datasets.c: the VOC and SBD readers on tiny datasets the test writes
 * itself: JPEG images, palette label PNGs whose indices (not colours) must
 * come back, SBD .mat files (column-major GTcls.Segmentation), list files,
 * and the errors for missing files. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
/* jpeglib.h needs stdio.h first */
#include <jpeglib.h>
#include <matio.h>
#include <png.h>
#include <string.h>

#include "test_util.h"

#define W 20
#define H 12

static void write_jpeg(const char *path) {
  FILE *f = fopen(path, "wb");
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = W, c.image_height = H, c.input_components = 3, c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  uint8_t row[W * 3];
  for (int x = 0; x < W * 3; x++) row[x] = x % 3 == 0 ? 200 : 30;
  while (c.next_scanline < H) {
    JSAMPROW r = row;
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  fclose(f);
}

/* Label value at (x, y): a pattern with a void border. */
static uint8_t label_at(int x, int y) { return (x == 0 || y == 0) ? 255 : (uint8_t)((x / 4 + y) % 21); }

static void write_palette_png(const char *path) {
  FILE *f = fopen(path, "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_set_IHDR(png, info, W, H, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_color pal[256];
  for (int i = 0; i < 256; i++) pal[i] = (png_color){(png_byte)(i * 7), (png_byte)(255 - i), (png_byte)(i * 3)};
  png_set_PLTE(png, info, pal, 256);
  png_write_info(png, info);
  uint8_t row[W];
  for (int y = 0; y < H; y++) {
    for (int x = 0; x < W; x++) row[x] = label_at(x, y);
    png_write_row(png, row);
  }
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  fclose(f);
}

static void write_sbd_mat(const char *path) {
  mat_t *mat = Mat_CreateVer(path, NULL, MAT_FT_MAT5);
  size_t dims[2] = {H, W}, one[2] = {1, 1};
  uint8_t *d = malloc(W * H);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) d[x * H + y] = label_at(x, y) == 255 ? 0 : label_at(x, y); /* column-major */
  const char *fields[] = {"Segmentation"};
  matvar_t *st = Mat_VarCreateStruct("GTcls", 2, one, fields, 1);
  matvar_t *seg = Mat_VarCreate("Segmentation", MAT_C_UINT8, MAT_T_UINT8, 2, dims, d, 0);
  Mat_VarSetStructFieldByName(st, "Segmentation", 0, seg);
  Mat_VarWrite(mat, st, MAT_COMPRESSION_NONE);
  Mat_VarFree(st);
  Mat_Close(mat);
  free(d);
}

static void check_labels(const sr_image *lab, bool sbd) {
  int wrong = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      uint8_t want = label_at(x, y);
      if (sbd && want == 255) want = 0;
      wrong += lab->data[y * W + x] != want;
    }
  CHECK(lab->width == W && lab->height == H && wrong == 0, "%s labels: %dx%d, %d wrong", sbd ? "SBD" : "VOC",
        lab->width, lab->height, wrong);
}

int main(void) {
  char *dir = g_dir_make_tmp("segrank-datasets-XXXXXX", NULL);
  sr_error err = {0};
  /* VOC */
  char *voc = g_build_filename(dir, "VOC2012", NULL);
  const char *subs[] = {"JPEGImages", "SegmentationClass", "ImageSets/Segmentation"};
  for (int i = 0; i < 3; i++) {
    char *p = g_build_filename(voc, subs[i], NULL);
    g_mkdir_with_parents(p, 0755);
    g_free(p);
  }
  const char *names[] = {"2007_000032", "2007_000039"};
  for (int i = 0; i < 2; i++) {
    char *jp = g_strdup_printf("%s/JPEGImages/%s.jpg", voc, names[i]);
    char *pp = g_strdup_printf("%s/SegmentationClass/%s.png", voc, names[i]);
    write_jpeg(jp), write_palette_png(pp);
    g_free(jp), g_free(pp);
  }
  char *list = g_strdup_printf("%s/ImageSets/Segmentation/val.txt", voc);
  g_file_set_contents(list, "2007_000032\n2007_000039\n", -1, NULL);
  char *spec = g_strdup_printf("voc:%s", voc);
  sr_dataset ds;
  CHECK(sr_dataset_open(spec, "val", 0, false, &ds, &err) == SR_OK, "%s", err.msg);
  if (ds.n == 2) {
    CHECK(ds.n_classes == 21 && ds.void_label == 255, "VOC classes");
    CHECK(ds.images[0].width == W && ds.images[0].channels == 3 && abs(ds.images[0].data[0] - 200) < 12 &&
              abs(ds.images[0].data[1] - 30) < 12,
          "JPEG pixels %d %d", ds.images[0].data[0], ds.images[0].data[1]);
    check_labels(&ds.labels[1], false);
    sr_dataset_clear(&ds);
  }
  g_file_set_contents(list, "2007_000032\n2007_000099\n", -1, NULL);
  CHECK(sr_dataset_open(spec, "val", 0, false, &ds, &err) != SR_OK && strstr(err.msg, "2007_000099") &&
            strstr(err.msg, "missing"),
        "missing VOC label: %s", err.msg);
  CHECK(sr_dataset_open(spec, "train", 0, false, &ds, &err) == SR_ERR_IO && strstr(err.msg, "train.txt"),
        "missing list: %s", err.msg);
  printf("VOC reader: ok (%s)\n", err.msg);

  /* SBD */
  char *sbd = g_build_filename(dir, "sbd", NULL);
  char *img = g_build_filename(sbd, "img", NULL), *cls = g_build_filename(sbd, "cls", NULL);
  g_mkdir_with_parents(img, 0755), g_mkdir_with_parents(cls, 0755);
  char *jp = g_strdup_printf("%s/2008_000002.jpg", img), *mp = g_strdup_printf("%s/2008_000002.mat", cls);
  write_jpeg(jp), write_sbd_mat(mp);
  char *slist = g_strdup_printf("%s/train.txt", sbd);
  g_file_set_contents(slist, "2008_000002\n", -1, NULL);
  char *sspec = g_strdup_printf("sbd:%s", sbd);
  CHECK(sr_dataset_open(sspec, "train", 0, false, &ds, &err) == SR_OK, "%s", err.msg);
  if (ds.n == 1) {
    check_labels(&ds.labels[0], true);
    sr_dataset_clear(&ds);
  }
  g_file_set_contents(mp, "not a mat file", -1, NULL);
  CHECK(sr_dataset_open(sspec, "train", 0, false, &ds, &err) != SR_OK && strstr(err.msg, "2008_000002.mat"),
        "bad .mat: %s", err.msg);
  printf("SBD reader: ok (%s)\n", err.msg);

  g_free(voc), g_free(list), g_free(spec), g_free(sbd), g_free(img), g_free(cls), g_free(jp), g_free(mp);
  g_free(slist), g_free(sspec);
  char *cmd = g_strdup_printf("rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  g_free(cmd), g_free(dir);
  /* Sizes as --input-size and segnetinfer's input-size take them. */
  int w = -1, h = -1;
  CHECK(sr_parse_size("480x360", 4096, &w, &h) && w == 480 && h == 360, "480x360 -> %dx%d", w, h);
  CHECK(sr_parse_size("227", 4096, &w, &h) && w == 227 && h == 227, "227 -> %dx%d", w, h);
  const char *bad[] = {"", "x", "0", "480x", "x360", "480x0", "4097", "480x360x3", "12a", "-5", NULL};
  for (int i = 0; bad[i]; i++) CHECK(!sr_parse_size(bad[i], 4096, &w, &h), "'%s' accepted", bad[i]);
  CHECK(!sr_parse_size(NULL, 4096, &w, &h) && w == 227 && h == 227, "NULL accepted or changed the size");
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
