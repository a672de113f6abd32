/* test_proposals.c: the proposal set and its folder layout (save/load round
 * trip, re-saving a smaller set, scores.json's file list and its checks, the
 * loader's errors), label PNGs read as stored (bit depths, palette, gamma,
 * 16-bit, colour refused), the oracle and diversity measures, and the
 * proposer end to end on synthetic frames with a unary model trained here. */
#include <glib.h>
#include <glib/gstdio.h>
#include <png.h>
#include <string.h>
#include <sys/stat.h>

#include "synthetic_scenes.h"
#include "test_util.h"

static char *tmp_dir;

static void make_set(sr_proposal_set *s, int w, int h, int c, int n) {
  sr_error err = {0};
  CHECK(sr_proposal_set_alloc(s, w, h, c, n, &err) == SR_OK, "%s", err.msg);
  for (int k = 0; k < n; k++) {
    uint8_t *l = sr_proposal_labels(s, k);
    for (int i = 0; i < w * h; i++) l[i] = (uint8_t)((i / w + k * (i % w)) % c);
    s->score[k] = 10.0 + k;
    s->energy[k] = 20.5 + k;
    s->unary[k] = 5.25 * k;
    s->pairwise[k] = k == 1 ? NAN : 1.0;
  }
  sr_proposal_set_update_areas(s);
}

static void write_png(const char *dir, const char *name, int w, int h, uint8_t v) {
  char *p = g_build_filename(dir, name, NULL);
  sr_image img = {w, h, 1, malloc((size_t)w * h)};
  memset(img.data, v, (size_t)w * h);
  sr_error err = {0};
  CHECK(sr_image_save_png(p, &img, &err) == SR_OK, "%s", err.msg);
  sr_image_clear(&img);
  g_free(p);
}

static void test_io(void) {
  sr_error err = {0};
  sr_proposal_set s, t, u;
  make_set(&s, 13, 7, 4, 12);
  double sum = 0;
  for (int c = 0; c < 4; c++) sum += s.areas[4 * 3 + c];
  CHECK(fabs(sum - 1) < 1e-12, "areas of proposal 3 sum to %g", sum);
  char *dir = g_build_filename(tmp_dir, "frame0", NULL);
  CHECK(sr_proposal_set_save_dir(&s, dir, &err) == SR_OK, "%s", err.msg);
  char *first = g_build_filename(dir, "00.png", NULL), *last = g_build_filename(dir, "11.png", NULL);
  CHECK(g_file_test(first, G_FILE_TEST_EXISTS) && g_file_test(last, G_FILE_TEST_EXISTS), "zero-padded names");
  g_free(first), g_free(last);
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 13, 7, 0, &t, &err) == SR_OK, "%s", err.msg);
  CHECK(t.n == 12 && t.width == 13 && t.height == 7, "loaded %d proposals of %dx%d", t.n, t.width, t.height);
  for (int k = 0; k < t.n && k < s.n; k++) {
    CHECK(!memcmp(sr_proposal_labels(&s, k), sr_proposal_labels(&t, k), 13 * 7), "proposal %d labels", k);
    CHECK(t.score[k] == s.score[k] && t.energy[k] == s.energy[k] && t.unary[k] == s.unary[k], "proposal %d scores", k);
    CHECK(k == 1 ? isnan(t.pairwise[k]) : t.pairwise[k] == 1.0, "proposal %d pairwise %g", k, t.pairwise[k]);
    CHECK(t.rank[k] == k, "rank %d", t.rank[k]);
    for (int c = 0; c < 4; c++) CHECK(t.areas[4 * k + c] == s.areas[4 * k + c], "areas");
  }
  sr_proposal_set_clear(&t);
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 5, &t, &err) == SR_OK && t.n == 5, "max_n 5: %d", t.n);
  sr_proposal_set_clear(&t);
  CHECK(sr_proposal_set_copy(&s, &u, &err) == SR_OK, "%s", err.msg);
  CHECK(!memcmp(u.labels, s.labels, 12 * 13 * 7) && u.energy[11] == s.energy[11], "copy");
  sr_proposal_set_clear(&u);

  /* Errors: size mismatch with the frame, missing folder, empty folder,
   * a label that is not a class, a PNG of another size, bad scores.json. */
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 14, 7, 0, &t, &err) == SR_ERR_INVALID && strstr(err.msg, "00.png") &&
            strstr(err.msg, "14x7"),
        "frame size mismatch: %s", err.msg);
  char *missing = g_build_filename(tmp_dir, "nope", NULL);
  CHECK(sr_proposal_set_load_dir(missing, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_IO && strstr(err.msg, "nope"),
        "missing folder: %s", err.msg);
  g_free(missing);
  char *empty = g_build_filename(tmp_dir, "empty", NULL);
  g_mkdir(empty, 0755);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_IO && strstr(err.msg, "no proposal"),
        "empty folder: %s", err.msg);
  write_png(empty, "a.png", 5, 4, 4);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_FORMAT && strstr(err.msg, "a.png") &&
            strstr(err.msg, "label 4"),
        "label 4 with 4 classes: %s", err.msg);
  write_png(empty, "a.png", 5, 4, 255);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_OK && t.n == 1, "void is accepted: %s", err.msg);
  CHECK(t.score[0] == 0 && isnan(t.energy[0]), "no scores.json: score = rank, energy unknown");
  sr_proposal_set_clear(&t);
  write_png(empty, "b.png", 6, 4, 1);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_INVALID && strstr(err.msg, "b.png"),
        "mixed sizes: %s", err.msg);
  write_png(empty, "b.png", 5, 4, 1);
  char *sj = g_build_filename(empty, "scores.json", NULL);
  g_file_set_contents(sj, "{\"proposals\": [{\"file\": \"b.png\", \"score\": -3.5}, {\"file\": \"a.png\", \"score\": 7}]}", -1, NULL);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_OK && t.n == 2 && t.score[0] == -3.5 &&
            t.score[1] == 7 && sr_proposal_labels(&t, 0)[0] == 1 && sr_proposal_labels(&t, 1)[0] == 255,
        "listed order b.png, a.png: %s %g %g", err.msg, t.score[0], t.score[1]);
  sr_proposal_set_clear(&t);
  g_file_set_contents(sj, "{\"format\": \"segrank-proposals\", \"version\": 2, \"writer\": \"segrank 9.0.0\", "
                      "\"proposals\": [{\"file\": \"b.png\"}]}", -1, NULL);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_FORMAT && strstr(err.msg, "scores.json") &&
            strstr(err.msg, "format version 2 is newer than this build reads (1; segrank ") &&
            strstr(err.msg, "written by segrank 9.0.0"),
        "newer format version: %s", err.msg);
  g_file_set_contents(sj, "{\"proposals\": [{\"score\": \"x\"}]}", -1, NULL);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_FORMAT && strstr(err.msg, "scores.json"),
        "non-numeric score: %s", err.msg);
  g_file_set_contents(sj, "{\"proposals\": [", -1, NULL);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_FORMAT && strstr(err.msg, "scores.json"),
        "truncated scores.json: %s", err.msg);
  /* Nested 100000 deep: refused before json-glib recurses off the stack. */
  GString *deep = g_string_new("{\"proposals\": ");
  for (int i = 0; i < 200000; i++) g_string_append_c(deep, i < 100000 ? '[' : ']');
  g_string_append_c(deep, '}');
  g_file_set_contents(sj, deep->str, (gssize)deep->len, NULL);
  g_string_free(deep, TRUE);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_FORMAT && strstr(err.msg, "scores.json") &&
            strstr(err.msg, "deeper than"),
        "deeply nested scores.json: %s", err.msg);
  /* A FIFO as scores.json: refused, not waited on. */
  g_unlink(sj);
  CHECK(mkfifo(sj, 0600) == 0, "mkfifo %s", sj);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) != SR_OK && strstr(err.msg, "not a regular file"),
        "FIFO scores.json: %s", err.msg);
  g_unlink(sj);
  g_free(sj);
  g_free(empty);
  g_free(dir);
  sr_proposal_set_clear(&s);
  printf("proposal folders: round trip, max_n, copy and 10 error cases checked\n");
}

/* Writes @body as DIR/scores.json. */
static void write_scores(const char *dir, const char *body) {
  char *sj = g_build_filename(dir, "scores.json", NULL);
  CHECK(g_file_set_contents(sj, body, -1, NULL), "write %s", sj);
  g_free(sj);
}

static gboolean exists_in(const char *dir, const char *name) {
  char *p = g_build_filename(dir, name, NULL);
  gboolean there = g_file_test(p, G_FILE_TEST_EXISTS);
  g_free(p);
  return there;
}

/* Re-saving a smaller set into the same folder leaves exactly the new set
 * (other files kept); scores.json's file list decides what is read. */
static void test_resave_and_file_list(void) {
  sr_error err = {0};
  sr_proposal_set big, small, t;
  make_set(&big, 9, 5, 4, 12);
  make_set(&small, 9, 5, 4, 3);
  for (int k = 0; k < 3; k++) memset(sr_proposal_labels(&small, k), 3 - k, 9 * 5);
  char *dir = g_build_filename(tmp_dir, "resave", NULL);
  CHECK(sr_proposal_set_save_dir(&big, dir, &err) == SR_OK, "%s", err.msg);
  char *notes = g_build_filename(dir, "notes.txt", NULL);
  g_file_set_contents(notes, "keep me", -1, NULL);
  CHECK(sr_proposal_set_save_dir(&small, dir, &err) == SR_OK, "%s", err.msg);
  CHECK(exists_in(dir, "02.png") && !exists_in(dir, "03.png") && !exists_in(dir, "11.png"),
        "stale 03..11.png removed, 00..02.png kept");
  CHECK(g_file_test(notes, G_FILE_TEST_EXISTS), "a file that is not a PNG is left alone");
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 0, &t, &err) == SR_OK && t.n == 3, "reloaded %d of 3: %s", t.n,
        err.msg);
  for (int k = 0; k < t.n; k++)
    CHECK(!memcmp(sr_proposal_labels(&t, k), sr_proposal_labels(&small, k), 9 * 5), "proposal %d is the new one", k);
  sr_proposal_set_clear(&t);
  /* A PNG that scores.json does not list (another tool's, or written after
   * it) is not a proposal; scores.json's order is the proposal order. */
  write_png(dir, "99.png", 9, 5, 0);
  write_scores(dir, "{\"proposals\": [{\"file\": \"02.png\", \"rank\": 1}, {\"file\": \"00.png\", \"rank\": 0}]}");
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 0, &t, &err) == SR_OK && t.n == 2, "listed 2: %d %s", t.n,
        err.msg);
  CHECK(t.n == 2 && sr_proposal_labels(&t, 0)[0] == 1 && sr_proposal_labels(&t, 1)[0] == 3 && t.rank[0] == 1 &&
            t.rank[1] == 0 && t.score[0] == 1 && t.score[1] == 0,
        "listed order and ranks (score = rank when absent)");
  sr_proposal_set_clear(&t);
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 1, &t, &err) == SR_OK && t.n == 1 &&
            sr_proposal_labels(&t, 0)[0] == 1,
        "max_n 1 takes the first listed");
  sr_proposal_set_clear(&t);
  write_scores(dir, "{\"proposals\": [{\"file\": \"00.png\"}, {\"file\": \"07.png\"}]}");
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_IO && strstr(err.msg, "07.png"),
        "a listed file that is missing: %s", err.msg);
  /* Without scores.json: every PNG in name order. */
  char *sj = g_build_filename(dir, "scores.json", NULL);
  g_unlink(sj);
  g_free(sj);
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 0, &t, &err) == SR_OK && t.n == 4 &&
            sr_proposal_labels(&t, 3)[0] == 0 && t.rank[3] == 3,
        "no scores.json: 00, 01, 02, 99.png (%d): %s", t.n, err.msg);
  sr_proposal_set_clear(&t);
  g_free(notes), g_free(dir);
  sr_proposal_set_clear(&big), sr_proposal_set_clear(&small);
  printf("proposal folders: re-saving a smaller set removes stale PNGs; scores.json's list decides what is read\n");
}

/* Every malformed scores.json member is a format error naming scores.json
 * and the entry (and never a GLib critical: main makes those fatal). */
static void test_scores_checks(void) {
  static const struct {
    const char *json, *needle;
  } bad[] = {
      {"{\"proposals\": [{\"file\": {}}, {\"file\": \"b.png\"}]}", "proposals[0].file"},
      {"{\"proposals\": [{\"file\": \"a.png\"}, {\"file\": 3}]}", "proposals[1].file"},
      {"{\"proposals\": [{\"file\": \"../a.png\"}, {\"file\": \"b.png\"}]}", "proposals[0].file"},
      {"{\"proposals\": [{\"file\": \"a.png\"}, {\"score\": 1}]}", "all or none"},
      {"{\"proposals\": [{\"file\": \"a.png\"}, {\"file\": \"a.png\"}]}", "listed twice"},
      {"{\"proposals\": [{\"rank\": -1}, {\"rank\": 0}]}", "proposals[0].rank"},
      {"{\"proposals\": [{\"rank\": 0}, {\"rank\": 2}]}", "proposals[1].rank"},
      {"{\"proposals\": [{\"rank\": 1}, {\"rank\": 1}]}", "rank 1 is given twice"},
      {"{\"proposals\": [{\"rank\": 1}, {}]}", "rank 1 is given twice"},
      {"{\"proposals\": [{\"rank\": \"0\"}, {}]}", "proposals[0].rank"},
      {"{\"proposals\": [{\"rank\": 0.5}, {}]}", "proposals[0].rank"},
      {"{\"proposals\": [{}, {\"score\": 1e999}]}", "proposals[1].score"},
      {"{\"proposals\": [{}, {\"energy\": -1e999}]}", "proposals[1].energy"},
      {"{\"proposals\": [{\"unary\": [1]}, {}]}", "proposals[0].unary"},
      {"{\"proposals\": [{\"pairwise\": true}, {}]}", "proposals[0].pairwise"},
      {"{\"proposals\": [3, {}]}", "proposals[0] is not an object"},
      {"{\"classes\": \"4\", \"proposals\": []}", "\"classes\""},
      {"{\"proposals\": {}}", "\"proposals\" array"},
  };
  sr_error err = {0};
  sr_proposal_set t;
  char *dir = g_build_filename(tmp_dir, "scores", NULL);
  g_mkdir(dir, 0755);
  write_png(dir, "a.png", 3, 2, 0);
  write_png(dir, "b.png", 3, 2, 1);
  int n = (int)(sizeof bad / sizeof *bad);
  for (int i = 0; i < n; i++) {
    write_scores(dir, bad[i].json);
    sr_status st = sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 0, &t, &err);
    CHECK(st == SR_ERR_FORMAT && strstr(err.msg, "scores.json") && strstr(err.msg, bad[i].needle),
          "%s: status %d, %s", bad[i].json, st, err.msg);
    if (st == SR_OK) sr_proposal_set_clear(&t);
  }
  write_scores(dir, "{\"classes\": 4, \"proposals\": [{\"rank\": 1, \"score\": null, \"energy\": 2}, "
                    "{\"rank\": 0, \"score\": -1.5, \"unary\": 3}]}");
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 0, &t, &err) == SR_OK && t.rank[0] == 1 && t.rank[1] == 0 &&
            t.score[0] == 1 && t.energy[0] == 2 && t.score[1] == -1.5 && t.unary[1] == 3 && isnan(t.pairwise[1]),
        "a valid scores.json by order: %s", err.msg);
  sr_proposal_set_clear(&t);
  g_free(dir);
  printf("scores.json: %d malformed files refused with the entry named\n", n);
}

/* Writes a PNG with libpng's low-level API: @samples holds one value per
 * sample (bytes; 16-bit as big-endian pairs), packed by libpng for depths
 * below 8. */
static void write_raw_png(const char *path, int w, int h, int color_type, int depth, const uint8_t *samples,
                          double gamma, int interlace) {
  FILE *f = fopen(path, "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    CHECK(0, "writing %s failed", path);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    return;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, depth, color_type, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_color pal[16];
    for (int i = 0; i < 16; i++) pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 8), (png_byte)(i * 3)};
    png_set_PLTE(png, info, pal, 16);
  }
  if (gamma > 0) png_set_gAMA(png, info, gamma);
  png_write_info(png, info);
  if (depth < 8) png_set_packing(png);
  int spp = color_type == PNG_COLOR_TYPE_RGB ? 3 : color_type == PNG_COLOR_TYPE_RGB_ALPHA ? 4
            : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
  size_t row = (size_t)w * spp * (depth == 16 ? 2 : 1);
  png_bytep *rows = malloc(sizeof(png_bytep) * h);
  for (int y = 0; y < h; y++) rows[y] = (png_bytep)samples + y * row;
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  free(rows);
  fclose(f);
}

/* Label PNGs are read as stored: every grey depth and palette gives the raw
 * values; colour and grey+alpha are refused naming the file. */
static void test_label_png(void) {
  enum { W = 7, H = 5 };
  char *dir = g_build_filename(tmp_dir, "labels", NULL);
  g_mkdir(dir, 0755);
  char *path = g_build_filename(dir, "l.png", NULL);
  uint8_t want[W * H], buf[W * H * 4];
  sr_image img;
  sr_error err = {0};
  static const struct {
    int type, depth, interlace;
    double gamma;
    const char *what;
  } ok[] = {
      {PNG_COLOR_TYPE_GRAY, 1, 0, 0, "1-bit grey"},       {PNG_COLOR_TYPE_GRAY, 2, 0, 0, "2-bit grey"},
      {PNG_COLOR_TYPE_GRAY, 4, 0, 0, "4-bit grey"},       {PNG_COLOR_TYPE_GRAY, 8, 0, 0, "8-bit grey"},
      {PNG_COLOR_TYPE_GRAY, 8, 0, 1.0, "8-bit grey, gAMA 1.0"},
      {PNG_COLOR_TYPE_GRAY, 8, 1, 0.7, "8-bit grey, interlaced, gAMA 0.7"},
      {PNG_COLOR_TYPE_GRAY, 16, 0, 0, "16-bit grey"},     {PNG_COLOR_TYPE_PALETTE, 4, 0, 0, "4-bit palette"},
      {PNG_COLOR_TYPE_PALETTE, 8, 0, 0.45, "8-bit palette, gAMA"},
  };
  for (size_t c = 0; c < sizeof ok / sizeof *ok; c++) {
    int depth = ok[c].depth;
    int top = ok[c].type == PNG_COLOR_TYPE_PALETTE ? 15 : depth >= 8 ? 255 : (1 << depth) - 1;
    for (int i = 0; i < W * H; i++) {
      want[i] = (uint8_t)((i * 7 + c) % (top + 1));
      if (depth == 16)
        buf[2 * i] = 0, buf[2 * i + 1] = want[i];
      else
        buf[i] = want[i];
    }
    write_raw_png(path, W, H, ok[c].type, depth, buf, ok[c].gamma, ok[c].interlace);
    sr_status st = sr_label_png_load(path, &img, &err);
    CHECK(st == SR_OK && img.width == W && img.height == H && img.channels == 1, "%s: %s", ok[c].what, err.msg);
    int wrong = -1;
    for (int i = 0; st == SR_OK && i < W * H && wrong < 0; i++)
      if (img.data[i] != want[i]) wrong = i;
    CHECK(wrong < 0, "%s: pixel %d is %d, stored %d", ok[c].what, wrong, wrong >= 0 ? img.data[wrong] : 0,
          wrong >= 0 ? want[wrong] : 0);
    sr_image_clear(&img);
  }
  /* 16-bit values beyond 8 bits, colour and grey+alpha: refused. */
  memset(buf, 0, sizeof buf);
  buf[2 * 3] = 1; /* pixel 3 = 256 */
  write_raw_png(path, W, H, PNG_COLOR_TYPE_GRAY, 16, buf, 0, 0);
  CHECK(sr_label_png_load(path, &img, &err) == SR_ERR_FORMAT && strstr(err.msg, "l.png") && strstr(err.msg, "256") &&
            !img.data,
        "16-bit label 256: %s", err.msg);
  static const struct {
    int type;
    const char *what;
  } refused[] = {{PNG_COLOR_TYPE_RGB, "RGB"}, {PNG_COLOR_TYPE_RGB_ALPHA, "RGBA"}, {PNG_COLOR_TYPE_GRAY_ALPHA, "grey+alpha"}};
  for (int c = 0; c < 3; c++) {
    write_raw_png(path, W, H, refused[c].type, 8, buf, 0, 0);
    CHECK(sr_label_png_load(path, &img, &err) == SR_ERR_FORMAT && strstr(err.msg, "l.png") &&
              strstr(err.msg, "grey or palette") && strstr(err.msg, refused[c].what),
          "%s PNG as labels: %s", refused[c].what, err.msg);
  }
  g_file_set_contents(path, "\x89PNG\r\n\x1a\n garbage", -1, NULL);
  CHECK(sr_label_png_load(path, &img, &err) == SR_ERR_FORMAT && strstr(err.msg, "l.png"), "corrupt PNG: %s", err.msg);
  /* Through the proposal loader: a 4-bit grey proposal with label 1 is class 1. */
  char *pdir = g_build_filename(tmp_dir, "four-bit", NULL);
  g_mkdir(pdir, 0755);
  char *p4 = g_build_filename(pdir, "00.png", NULL);
  for (int i = 0; i < W * H; i++) buf[i] = (uint8_t)(i % 3);
  write_raw_png(p4, W, H, PNG_COLOR_TYPE_GRAY, 4, buf, 0, 0);
  sr_proposal_set t;
  CHECK(sr_proposal_set_load_dir(pdir, 3, 255, 0, 0, 0, &t, &err) == SR_OK && sr_proposal_labels(&t, 0)[1] == 1 &&
            sr_proposal_labels(&t, 0)[2] == 2,
        "4-bit grey proposal: %s", err.msg);
  sr_proposal_set_clear(&t);
  write_raw_png(p4, W, H, PNG_COLOR_TYPE_RGB, 8, buf, 0, 0);
  CHECK(sr_proposal_set_load_dir(pdir, 3, 255, 0, 0, 0, &t, &err) == SR_ERR_FORMAT && strstr(err.msg, "00.png"),
        "RGB proposal: %s", err.msg);
  g_free(p4), g_free(pdir), g_free(path), g_free(dir);
  printf("label PNGs: %zu grey/palette kinds read as stored; 16-bit > 255, RGB, RGBA, grey+alpha, corrupt refused\n",
         sizeof ok / sizeof *ok);
}

static void test_oracle(void) {
  /* Truth: left half class 0, right half class 1, one void column. */
  enum { W = 10, H = 4 };
  uint8_t truth[W * H];
  for (int i = 0; i < W * H; i++) truth[i] = i % W == 9 ? 255 : (i % W < 5 ? 0 : 1);
  sr_proposal_set s;
  sr_error err = {0};
  sr_proposal_set_alloc(&s, W, H, 3, 3, &err);
  memset(sr_proposal_labels(&s, 0), 0, W * H);                                 /* all 0 */
  for (int i = 0; i < W * H; i++) sr_proposal_labels(&s, 1)[i] = i % W < 5 ? 0 : 1; /* perfect */
  for (int i = 0; i < W * H; i++) sr_proposal_labels(&s, 2)[i] = i % W < 3 ? 0 : 2; /* wrong */
  double m0 = sr_image_miou(truth, sr_proposal_labels(&s, 0), W * H, 3);
  /* class 0: I = 20, U = 36 (all non-void pixels); class 1: I = 0, U = 16. */
  CHECK(fabs(m0 - 100.0 * (20.0 / 36 + 0) / 2) < 1e-9, "mIoU of 'all 0' = %g", m0);
  CHECK(sr_image_miou(truth, sr_proposal_labels(&s, 1), W * H, 3) == 100, "perfect proposal");
  CHECK(sr_oracle_pick(&s, truth, 1) == 0, "oracle@1 is rank 0");
  CHECK(sr_oracle_pick(&s, truth, 3) == 1, "oracle@3 picks the perfect one");
  CHECK(sr_oracle_pick(&s, truth, 99) == 1, "M beyond the set");
  double d = sr_proposal_diversity(&s, 2);
  CHECK(fabs(d - 0.5) < 1e-12, "diversity of 'all 0' vs halves = %g", d);
  CHECK(sr_proposal_diversity(&s, 1) == 0, "diversity of one proposal");
  sr_proposal_set_clear(&s);
  printf("oracle: per-image IoU, best-of-M and diversity on a hand-made case\n");
}

/* The proposer on a synthetic scene: M proposals of the frame size, each
 * constant on every superpixel, energies as reported equal the CRF's
 * parts, the MAP beats the unary argmax or ties it, proposals pairwise
 * different, areas consistent; a hybrid term that strongly favours one
 * class turns the MAP into that class; bad parameters are refused. */
static void test_proposer(void) {
  enum { W = 96, H = 72 };
  sr_error err = {0};
  sr_unary_model *m = synth_train_unary(4, W, H, 80, &err);
  CHECK(m != NULL, "training: %s", err.msg);
  if (!m) return;
  sr_image img, lab;
  synth_scene(42, W, H, &img, &lab);
  sr_proposer_params pp;
  sr_proposer_params_default(&pp);
  pp.num_solutions = 6, pp.lambda = 0.5f, pp.threads = 2;
  sr_proposer *pr;
  CHECK(sr_proposer_new(m, &pp, &pr, &err) == SR_OK, "%s", err.msg);
  sr_proposal_set set;
  sr_proposer_times t;
  CHECK(sr_proposer_run(pr, &img, NULL, &set, &t, &err) == SR_OK, "%s", err.msg);
  CHECK(set.n == 6 && set.width == W && set.height == H && set.n_classes == 3, "%d proposals of %dx%d", set.n,
        set.width, set.height);
  CHECK(set.superpixels && set.n_superpixels > 20, "superpixel map with %d superpixels", set.n_superpixels);
  for (int k = 0; k < set.n; k++) {
    const uint8_t *l = sr_proposal_labels(&set, k);
    uint8_t *seen = calloc(set.n_superpixels, 1);
    int constant = 1;
    for (int i = 0; i < W * H; i++) {
      int s = set.superpixels[i];
      if (!seen[s]) seen[s] = (uint8_t)(l[i] + 1);
      else constant &= seen[s] == l[i] + 1;
    }
    free(seen);
    CHECK(constant, "proposal %d is constant on superpixels", k);
    CHECK(isfinite(set.energy[k]) && fabs(set.energy[k] - set.unary[k] - set.pairwise[k]) < 1e-6 * fabs(set.energy[k]) + 1e-9,
          "proposal %d: energy %g = unary %g + pairwise %g", k, set.energy[k], set.unary[k], set.pairwise[k]);
    CHECK(set.rank[k] == k && set.score[k] == set.energy[k], "rank and score of %d", k);
    if (k > 0) CHECK(set.energy[k] >= set.energy[0] - 1e-9, "the MAP has the lowest energy (%g < %g)", set.energy[k], set.energy[0]);
    for (int j = 0; j < k; j++)
      CHECK(memcmp(l, sr_proposal_labels(&set, j), W * H), "proposals %d and %d differ", j, k);
    double a = 0;
    for (int c = 0; c < 3; c++) a += set.areas[3 * k + c];
    CHECK(fabs(a - 1) < 1e-9, "areas of %d sum to %g", k, a);
  }
  double map = sr_image_miou(lab.data, sr_proposal_labels(&set, 0), W * H, 3);
  CHECK(map > 80, "MAP of a held-out synthetic scene: %.1f mIoU", map);
  printf("proposer: %d proposals on %d superpixels, MAP %.1f mIoU, energies %.2f..%.2f, %d max-flows\n", set.n,
         set.n_superpixels, map, set.energy[0], set.energy[set.n - 1], t.max_flows);
  sr_proposal_set_clear(&set);
  sr_proposer_free(pr);

  /* Hybrid: a net that is certain of class 2 everywhere wins at weight 50. */
  enum { CH = 4, CW = 5 };
  float probs[3 * CH * CW];
  for (int i = 0; i < CH * CW; i++) probs[i] = 0.01f, probs[CH * CW + i] = 0.01f, probs[2 * CH * CW + i] = 0.98f;
  sr_coarse_probs net = {probs, 3, CH, CW};
  pp.hybrid_weight = 50;
  CHECK(sr_proposer_new(m, &pp, &pr, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_proposer_run(pr, &img, &net, &set, NULL, &err) == SR_OK, "%s", err.msg);
  int all2 = 1;
  for (int i = 0; i < W * H; i++) all2 &= sr_proposal_labels(&set, 0)[i] == 2;
  CHECK(all2, "hybrid weight 50 towards class 2 labels every pixel 2");
  sr_proposal_set_clear(&set);
  sr_coarse_probs wrong = {probs, 2, CH, CW};
  CHECK(sr_proposer_run(pr, &img, &wrong, &set, NULL, &err) == SR_ERR_INVALID && strstr(err.msg, "classes"),
        "net with 2 classes: %s", err.msg);
  sr_proposer_free(pr);

  pp.num_solutions = 0;
  CHECK(sr_proposer_new(m, &pp, &pr, &err) == SR_ERR_INVALID, "num-solutions 0 refused");
  pp.num_solutions = 3, pp.lambda = -1;
  CHECK(sr_proposer_new(m, &pp, &pr, &err) == SR_ERR_INVALID, "negative lambda refused");
  sr_image_clear(&img);
  sr_image_clear(&lab);
  sr_unary_model_free(m);
}

int main(void) {
  g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  tmp_dir = g_dir_make_tmp("segrank-proposals-XXXXXX", NULL);
  test_io();
  test_resave_and_file_list();
  test_scores_checks();
  test_label_png();
  test_oracle();
  test_proposer();
  char *cmd = g_strdup_printf("rm -rf '%s'", tmp_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
  g_free(cmd);
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
