/* test_model_io.c: model files round-trip (fp32 exactly, fp16 within half
 * precision) and every kind of damaged file is rejected with a message that
 * names the file; fp16 conversion is checked on edge values. Every file
 * loader (model, checkpoint, unary, .npy) also refuses FIFOs and devices
 * without blocking, deeply nested JSON headers, and .npy shapes whose product
 * would wrap, and leaves its out-pointers NULL on failure. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "half.h"
#include "image.h"
#include "test_util.h"

static char *dir;

static char *path_in(const char *name) { return g_build_filename(dir, name, NULL); }

static void check_same(const sr_model *a, const sr_model *b, double tol) {
  CHECK(a->n_layers == b->n_layers && a->n_classes == b->n_classes, "layer or class count");
  CHECK(a->input_w == b->input_w && a->input_h == b->input_h, "input size");
  for (int i = 0; i < a->n_classes; i++)
    CHECK(!strcmp(a->classes[i].name, b->classes[i].name) && !memcmp(a->classes[i].rgb, b->classes[i].rgb, 3),
          "class %d", i);
  for (int i = 0; i < a->n_layers && i < b->n_layers; i++) {
    const sr_layer *x = &a->layers[i], *y = &b->layers[i];
    CHECK(x->type == y->type && !strcmp(x->name, y->name), "layer %d", i);
    if (x->type != SR_LAYER_CONV) continue;
    CHECK(!memcmp(&x->conv, &y->conv, sizeof x->conv), "conv params of %s", x->name);
    size_t n = sr_layer_weight_count(x);
    double e = max_abs_diff(x->weight, y->weight, n), eb = max_abs_diff(x->bias, y->bias, x->conv.out_c);
    CHECK(e <= tol && eb <= tol, "%s weights differ by %.3g (bound %.3g)", x->name, e, tol);
  }
}

/* Writes @len bytes of @data to @name and expects loading to fail with a
 * message containing @needle and the file name. */
static void expect_reject(const char *name, const void *data, size_t len, const char *needle) {
  char *p = path_in(name);
  g_file_set_contents(p, data, (gssize)len, NULL);
  sr_model *m = NULL;
  sr_error err = {0};
  sr_status st = sr_model_load(p, &m, &err);
  CHECK(st != SR_OK && m == NULL, "%s was accepted", name);
  CHECK(strstr(err.msg, p) != NULL, "%s: message does not name the file: %s", name, err.msg);
  CHECK(strstr(err.msg, needle) != NULL, "%s: message lacks '%s': %s", name, needle, err.msg);
  printf("rejected %-16s %s\n", name, err.msg);
  g_free(p);
}

/* Replaces the first occurrence of @from in the header with @to (same
 * length, so offsets stay valid). */
static gchar *patch(const gchar *data, gsize len, const char *from, const char *to) {
  gchar *copy = g_memdup2(data, len);
  guint64 hlen;
  memcpy(&hlen, data, 8);
  gchar *at = g_strstr_len(copy + 8, (gssize)hlen, from);
  CHECK(at != NULL && strlen(from) == strlen(to), "patch target '%s' missing", from);
  if (at) memcpy(at, to, strlen(to));
  return copy;
}

/* expect_reject on a copy of @good with one header string replaced. */
static void reject_patched(const gchar *good, gsize len, const char *name, const char *from, const char *to,
                           const char *needle) {
  gchar *bad = patch(good, len, from, to);
  expect_reject(name, bad, len, needle);
  g_free(bad);
}

/* A length-prefixed file whose header is 100000 nested arrays. */
static char *write_deep(const char *name) {
  enum { DEPTH = 100000 };
  GString *b = g_string_new(NULL);
  guint64 le = GUINT64_TO_LE((guint64)2 * DEPTH);
  g_string_append_len(b, (const char *)&le, 8);
  for (int i = 0; i < 2 * DEPTH; i++) g_string_append_c(b, i < DEPTH ? '[' : ']');
  char *p = path_in(name);
  g_file_set_contents(p, b->str, (gssize)b->len, NULL);
  g_string_free(b, TRUE);
  return p;
}

/* @st failed with a message naming @p and holding @needle. */
static void check_refused(const char *what, sr_status st, const sr_error *err, const char *p, const char *needle) {
  CHECK(st != SR_OK, "%s accepted", what);
  CHECK(strstr(err->msg, p) && strstr(err->msg, needle), "%s: message lacks the file or '%s': %s", what, needle,
        err->msg);
  printf("rejected %-22s %s\n", what, err->msg);
}

/* CRC-32 of PNG chunks (ISO 3309), for patching an IHDR. */
static guint32 png_crc(const guint8 *b, gsize n) {
  guint32 c = 0xffffffffu;
  for (gsize i = 0; i < n; i++) {
    c ^= b[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return c ^ 0xffffffffu;
}

/* Headers that claim 65535 x 65535 (PNG) or 60000 x 60000 (JPEG) pixels
 * (found by fuzz_image as a 12 GB allocation): refused before any pixel
 * memory is asked for. */
static void check_huge_images(void) {
  sr_error err = {0};
  guint8 px[4 * 3 * 3] = {0};
  sr_image small = {4, 3, 3, px};
  char *png = path_in("huge.png");
  CHECK(sr_image_save_png(png, &small, &err) == SR_OK, "%s", err.msg);
  gchar *b = NULL;
  gsize n = 0;
  CHECK(g_file_get_contents(png, &b, &n, NULL) && n > 33 && !memcmp(b + 12, "IHDR", 4), "%s: no IHDR", png);
  guint8 *u = (guint8 *)b;
  u[16] = u[20] = 0, u[17] = u[21] = 0, u[18] = u[22] = 0xff, u[19] = u[23] = 0xff;
  guint32 crc = png_crc(u + 12, 17);
  for (int i = 0; i < 4; i++) u[29 + i] = (guint8)(crc >> (24 - 8 * i));
  g_file_set_contents(png, b, (gssize)n, NULL);
  g_free(b);
  for (int grey = 0; grey < 2; grey++) {
    sr_image img = {0};
    check_refused(grey ? "huge grey PNG" : "huge RGB PNG", sr_image_load(png, grey, &img, &err), &err, png,
                  "more than");
  }
  g_free(png);
  const char *src = g_getenv("SEGRANK_SOURCE");
  gchar *jpg_seed = src ? g_build_filename(src, "tests", "fuzz", "corpus", "fuzz_image", "rgb-4x3.jpg", NULL) : NULL;
  if (!jpg_seed || !g_file_get_contents(jpg_seed, &b, &n, NULL)) {
    printf("huge JPEG: no $SEGRANK_SOURCE seed, not checked\n");
    g_free(jpg_seed);
    return;
  }
  u = (guint8 *)b;
  gsize at = 2;
  while (at + 9 < n && !(u[at] == 0xff && u[at + 1] == 0xc0)) at++;
  CHECK(at + 9 < n, "%s: no SOF0 marker", jpg_seed);
  /* height and width 60000 (libjpeg's own limit is 65500) */
  u[at + 5] = u[at + 7] = 0xea, u[at + 6] = u[at + 8] = 0x60;
  char *jpg = path_in("huge.jpg");
  g_file_set_contents(jpg, b, (gssize)n, NULL);
  sr_image img = {0};
  check_refused("huge JPEG", sr_image_load(jpg, 0, &img, &err), &err, jpg, "more than");
  g_free(b), g_free(jpg), g_free(jpg_seed);
}

static void check_hostile_files(void) {
  sr_error err = {0};
  /* A FIFO with no writer: opening it for reading would block for ever. */
  char *fifo = path_in("fifo");
  CHECK(mkfifo(fifo, 0600) == 0, "mkfifo %s", fifo);
  sr_model *m = (sr_model *)&err; /* not NULL: the loaders must clear it */
  check_refused("model from a FIFO", sr_model_load(fifo, &m, &err), &err, fifo, "not a regular file");
  CHECK(m == NULL, "sr_model_load left its out-pointer set");
  float **mw = (float **)&err, **mb = (float **)&err;
  char *state = (char *)&err;
  m = (sr_model *)&err;
  check_refused("checkpoint from a FIFO", sr_checkpoint_load(fifo, &m, &mw, &mb, &state, &err), &err, fifo,
                "not a regular file");
  CHECK(m == NULL && mw == NULL && mb == NULL && state == NULL, "sr_checkpoint_load left out-pointers set");
  sr_unary_model *u = (sr_unary_model *)&err;
  check_refused("unary from a FIFO", sr_unary_model_load(fifo, &u, &err), &err, fifo, "not a regular file");
  CHECK(u == NULL, "sr_unary_model_load left its out-pointer set");
  float *data = (float *)&err;
  int shape[4], rank;
  check_refused("npy from a FIFO", sr_npy_load(fifo, &data, shape, &rank, &err), &err, fifo, "not a regular file");
  CHECK(data == NULL, "sr_npy_load left its out-pointer set");
  char *header = NULL;
  check_refused("model header of /dev/zero", sr_model_read_header("/dev/zero", &header, &err), &err, "/dev/zero",
                "not a regular file");
  g_free(fifo);

  /* JSON nested 100000 deep: json-glib would recurse off the stack. */
  char *deep = write_deep("deep.srmodel");
  check_refused("deep model header", sr_model_load(deep, &m, &err), &err, deep, "nests arrays or objects deeper");
  u = NULL;
  check_refused("deep unary header", sr_unary_model_load(deep, &u, &err), &err, deep, "nests arrays or objects deeper");
  g_free(deep);

  /* .npy: 2^24 x 3 x 2^24 x 2^16 values wrap a 64-bit count to 0, which would
   * match the zero data bytes. */
  char hdr[128];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (16777216, 3, 16777216, 65536), }");
  while ((10 + n + 1) % 64) hdr[n++] = ' ';
  hdr[n++] = '\n';
  GString *npy = g_string_new_len("\x93NUMPY\x01\x00", 8);
  guint16 hl = GUINT16_TO_LE((guint16)n);
  g_string_append_len(npy, (const char *)&hl, 2);
  g_string_append_len(npy, hdr, n);
  char *np = path_in("wrap.npy");
  g_file_set_contents(np, npy->str, (gssize)npy->len, NULL);
  data = NULL;
  check_refused("npy with a wrapping shape", sr_npy_load(np, &data, shape, &rank, &err), &err, np,
                "more values than");
  free(data);
  g_string_free(npy, TRUE);
  g_free(np);
}

int main(void) {
  dir = g_dir_make_tmp("segrank-model-io-XXXXXX", NULL);
  check_huge_images();
  sr_error err = {0};

  /* fp16 edge cases. */
  const float vals[] = {0.f, -0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f, 1e-9f, 70000.f, 0.1f};
  const uint16_t bits[] = {0x0000, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x0400, 0x0001, 0x0000, 0x7c00, 0x2e66};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
    CHECK(sr_f32_to_f16(vals[i]) == bits[i], "f16(%g) = 0x%04x, expected 0x%04x", vals[i], sr_f32_to_f16(vals[i]),
          bits[i]);
    if (i != 7 && i != 8 && i != 9)
      CHECK(sr_f16_to_f32(bits[i]) == vals[i], "f32(0x%04x) = %g", bits[i], sr_f16_to_f32(bits[i]));
  }
  for (uint32_t h = 0; h < 0x7c00; h++) /* every finite half survives a round trip */
    if (sr_f32_to_f16(sr_f16_to_f32((uint16_t)h)) != h) {
      CHECK(0, "half 0x%04x does not round-trip", h);
      break;
    }

  const sr_class *cls;
  int nc = sr_dataset_classes("camvid", &cls);
  sr_model *m, *back;
  CHECK(sr_model_new_segnet(nc, cls, 42, &m, &err) == SR_OK, "%s", err.msg);
  m->provenance = g_strdup("{\"source\":\"test\"}");
  char *p32 = path_in("m32.srmodel"), *p16 = path_in("m16.srmodel");
  CHECK(sr_model_save(m, p32, SR_DTYPE_F32, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_model_save(m, p16, SR_DTYPE_F16, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_model_load(p32, &back, &err) == SR_OK, "%s", err.msg);
  check_same(m, back, 0.0);
  CHECK(back->provenance && strstr(back->provenance, "test"), "provenance lost");
  sr_model_free(back);
  CHECK(sr_model_load(p16, &back, &err) == SR_OK, "%s", err.msg);
  check_same(m, back, 2e-3); /* |w| < 4 here: half precision's step is ≤ 2e-3 */
  sr_model_free(back);

  gchar *good;
  gsize len;
  g_file_get_contents(p32, &good, &len, NULL);
  guint64 hlen;
  memcpy(&hlen, good, 8);

  expect_reject("empty", "", 0, "too short");
  expect_reject("truncated-head", good, 100, "does not fit");
  expect_reject("truncated-data", good, len - 4, "truncated");
  gchar *longer = g_malloc0(len + 16);
  memcpy(longer, good, len);
  expect_reject("trailing", longer, len + 16, "trailing bytes");
  g_free(longer);
  guint64 huge = GUINT64_TO_LE(1ull << 40);
  gchar *bad = g_memdup2(good, len);
  memcpy(bad, &huge, 8);
  expect_reject("header-length", bad, len, "does not fit");
  g_free(bad);
  /* A file of a newer format version: refused, naming both versions and
   * both releases. */
  char *newer = g_strdup_printf("format version 2 is newer than this build reads (1; segrank %s); written by segrank ",
                                sr_version());
  reject_patched(good, len, "newer-format", "\\\"version\\\":1", "\\\"version\\\":2", newer);
  g_free(newer);
  reject_patched(good, len, "older-format", "\\\"version\\\":1", "\\\"version\\\":0", "format version missing");
  reject_patched(good, len, "missing-tensor", "\"conv2.weight\"", "\"conv9.weight\"", "conv2.weight is missing");
  reject_patched(good, len, "wrong-shape", "[256,48,5,5]", "[256,48,5,4]", "expected [256,48,5,5]");
  reject_patched(good, len, "bad-dtype", "\"F32\"", "\"I32\"", "dtype");
  reject_patched(good, len, "unknown-layer", "\\\"maxpool\\\"", "\\\"avgpool\\\"", "unknown type 'avgpool'");
  reject_patched(good, len, "bad-group", "\\\"group\\\":2", "\\\"group\\\":7", "group 7");
  /* Layer parameters must be finite float32 values (1e999 parses as inf;
   * 1e99 is a finite double but not a finite float). */
  reject_patched(good, len, "lrn-inf", "\\\"beta\\\":0.75,\\\"k\\\":1.0", "\\\"beta\\\":1e999,\\\"k\\\":1 ",
                 "layer norm1 (lrn): missing or out-of-range");
  reject_patched(good, len, "lrn-float-inf", "\\\"beta\\\":0.75", "\\\"beta\\\":1e99",
                 "layer norm1 (lrn): missing or out-of-range");
  reject_patched(good, len, "not-json", "{\"__metadata__\"", "[\"__metadata__\"", "not JSON");
  /* A value that is not finite. */
  bad = g_memdup2(good, len);
  float inf = INFINITY;
  memcpy(bad + 8 + hlen + 16, &inf, 4);
  expect_reject("non-finite", bad, len, "not finite");
  g_free(bad);
  char *missing = path_in("does-not-exist.srmodel");
  CHECK(sr_model_load(missing, &back, &err) == SR_ERR_IO && strstr(err.msg, "does-not-exist"), "missing file: %s",
        err.msg);
  g_free(missing);

  check_hostile_files();

  /* No temporary files are left behind by the atomic writes. */
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name(d))) CHECK(!strstr(name, ".tmp-"), "leftover temporary file %s", name);
  g_dir_close(d);

  g_free(good);
  g_free(p32), g_free(p16);
  sr_model_free(m);
  char *cmd = g_strdup_printf("rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  g_free(cmd);
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
