/* test_meta_api.c: the metas' C API for applications and bindings: the
 * GBytes accessors share the metas' storage (no copy) and outlive the
 * buffer, the add functions that take GBytes reference them and check
 * their sizes, the prob meta's label map is exactly the core's bilinear
 * upsampling + argmax (sr_labels_from_probs, what segoverlay draws) inside
 * the region and void outside, the segmentation meta's label map is the
 * nearest-neighbour resampling segoverlay uses, and copies keep it all. */
#include <gst/gst.h>
#include <math.h>
#include <string.h>

#include "gstsrprobmeta.h"
#include "gstsrproposalmeta.h"
#include "gstsrsegmentationmeta.h"
#include "image.h"

/* The library's criticals have no log domain (G_LOG_DOMAIN unset): the
 * default one, which gstcheck's ASSERT_CRITICAL also catches. */
static const gchar *const names[] = {"sky", "road", "car", "tree", "person", NULL};
static const guint8 colors[15] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150};

/* C × h × w random probabilities, each cell summing to 1. */
static gfloat *random_probs(GRand *rng, guint c, guint h, guint w) {
  gsize plane = (gsize)h * w;
  gfloat *p = g_new(gfloat, c * plane);
  for (gsize i = 0; i < plane; i++) {
    gfloat sum = 0;
    for (guint k = 0; k < c; k++) sum += p[k * plane + i] = (gfloat)g_rand_double_range(rng, 0.01, 1);
    for (guint k = 0; k < c; k++) p[k * plane + i] /= sum;
  }
  return p;
}

static void test_prob_bytes_no_copy(void) {
  GRand *rng = g_rand_new_with_seed(1);
  gfloat *probs = random_probs(rng, 5, 4, 6);
  GstBuffer *buf = gst_buffer_new();
  GstSrProbMeta *m = gst_buffer_add_sr_prob_meta(buf, 5, 6, 4, probs, names, colors, 60, 40);
  g_assert_nonnull(m);
  g_assert_false(m->reused);
  g_assert_cmpuint(m->source_pts, ==, GST_CLOCK_TIME_NONE);
  GBytes *b = gst_sr_prob_meta_get_probs_bytes(m);
  gsize size;
  const gfloat *data = g_bytes_get_data(b, &size);
  g_assert_true(data == m->probs); /* the meta's own storage, not a copy */
  g_assert_cmpuint(size, ==, sizeof(gfloat) * 5 * 4 * 6);
  gst_buffer_unref(buf); /* the bytes keep the storage alive */
  g_assert_cmpmem(data, size, probs, size);
  g_bytes_unref(b);

  /* The GBytes form references its input. */
  GBytes *in = g_bytes_new(probs, size), *cc = g_bytes_new_static(colors, 15);
  buf = gst_buffer_new();
  m = gst_sr_prob_meta_add(buf, 5, 6, 4, in, names, cc, 60, 40);
  g_assert_nonnull(m);
  g_assert_true(m->probs == g_bytes_get_data(in, NULL));
  g_assert_cmpint(m->region.w, ==, 60);
  guint8 r, g, bl;
  g_assert_true(gst_sr_prob_meta_get_class_color(m, 4, &r, &g, &bl));
  g_assert_cmpuint(r, ==, 130); g_assert_cmpuint(g, ==, 140); g_assert_cmpuint(bl, ==, 150);
  g_assert_cmpstr(gst_sr_prob_meta_get_class_name(m, 2), ==, "car");
  /* Copies keep an equal, independent distribution, and the reuse mark. */
  m->reused = TRUE, m->source_pts = 40 * GST_MSECOND;
  GstBuffer *copy = gst_buffer_copy(buf);
  GstSrProbMeta *mc = gst_buffer_get_sr_prob_meta(copy);
  g_assert_nonnull(mc);
  g_assert_true(mc->reused);
  g_assert_cmpuint(mc->source_pts, ==, 40 * GST_MSECOND);
  g_assert_true(mc->probs != m->probs);
  g_assert_cmpmem(mc->probs, size, probs, size);
  gst_buffer_unref(copy);
  gst_buffer_unref(buf);
  g_bytes_unref(in);

  /* A slice at an odd offset is copied (floats must be aligned). */
  guint8 *raw = g_malloc(size + 1);
  memcpy(raw + 1, probs, size);
  GBytes *whole = g_bytes_new_take(raw, size + 1), *odd = g_bytes_new_from_bytes(whole, 1, size);
  buf = gst_buffer_new();
  m = gst_sr_prob_meta_add(buf, 5, 6, 4, odd, names, cc, 60, 40);
  g_assert_nonnull(m);
  g_assert_true((guintptr)m->probs % _Alignof(gfloat) == 0);
  g_assert_cmpmem(m->probs, size, probs, size);
  gst_buffer_unref(buf);
  g_bytes_unref(odd);
  g_bytes_unref(whole);
  g_bytes_unref(cc);
  g_free(probs);
  g_rand_free(rng);
}

static void test_prob_add_checks(void) {
  gfloat probs[2 * 3] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  GBytes *p = g_bytes_new(probs, sizeof probs), *cc = g_bytes_new_static(colors, 6);
  GBytes *short_p = g_bytes_new(probs, sizeof probs - 4), *short_c = g_bytes_new_static(colors, 5);
  const gchar *one_name[] = {"sky", NULL};
  GstBuffer *buf = gst_buffer_new();
  g_assert_nonnull(gst_sr_prob_meta_add(buf, 2, 3, 1, p, names, cc, 9, 3));
  struct {
    guint c, w;
    GBytes *probs, *colors;
    const gchar *const *names;
  } bad[] = {{2, 3, short_p, cc, names}, {2, 3, p, short_c, names}, {2, 3, p, cc, one_name}, {3, 3, p, cc, names},
             {2, 2, p, cc, names}};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*");
    g_assert_null(gst_sr_prob_meta_add(buf, bad[i].c, bad[i].w, 1, bad[i].probs, bad[i].names, bad[i].colors, 9, 3));
    g_test_assert_expected_messages();
  }
  gfloat nan_probs[6] = {0.5f, NAN, 0.5f, 0.5f, 0.5f, 0.5f};
  GBytes *np = g_bytes_new(nan_probs, sizeof nan_probs);
  g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*");
  g_assert_null(gst_sr_prob_meta_add(buf, 2, 3, 1, np, names, cc, 9, 3));
  g_test_assert_expected_messages();
  GstSrProbMeta *m = gst_buffer_get_sr_prob_meta(buf);
  guint8 r = 1, g = 1, b = 1;
  g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*");
  g_assert_false(gst_sr_prob_meta_get_class_color(m, 2, &r, &g, &b));
  g_test_assert_expected_messages();
  g_assert_cmpuint(r + g + b, ==, 0);
  g_assert_false(gst_sr_prob_meta_set_region(m, 1, 0, 9, 3)); /* past the frame's right edge */
  g_assert_false(gst_sr_prob_meta_set_region(m, 0, 0, 0, 3));
  g_assert_true(gst_sr_prob_meta_set_region(m, 1, 1, 8, 2));
  g_assert_cmpint(m->region.x, ==, 1); g_assert_cmpint(m->region.h, ==, 2);
  gst_buffer_unref(buf);
  g_bytes_unref(np);
  g_bytes_unref(p);
  g_bytes_unref(cc);
  g_bytes_unref(short_p);
  g_bytes_unref(short_c);
}

/* The label map against the core's sr_labels_from_probs, whole frame and a
 * region. */
static void test_prob_label_map(void) {
  GRand *rng = g_rand_new_with_seed(7);
  const guint c = 5, h = 4, w = 6, fw = 37, fh = 23;
  gfloat *probs = random_probs(rng, c, h, w);
  GstBuffer *buf = gst_buffer_new();
  GstSrProbMeta *m = gst_buffer_add_sr_prob_meta(buf, c, w, h, probs, names, colors, fw, fh);
  guint8 *want = g_malloc((gsize)fw * fh);
  gfloat *scratch = g_new(gfloat, (gsize)c * h * fw);
  sr_labels_from_probs(probs, c, h, w, fw, fh, want, scratch);
  GBytes *map = gst_sr_prob_meta_get_label_map(m);
  g_assert_cmpmem(g_bytes_get_data(map, NULL), g_bytes_get_size(map), want, (gsize)fw * fh);
  g_bytes_unref(map);
  /* Several classes appear, so the comparison means something. */
  guint seen = 0;
  for (gsize i = 0; i < (gsize)fw * fh; i++) seen |= 1u << want[i];
  g_assert_cmpuint(seen & (seen - 1), !=, 0);

  const gint x0 = 5, y0 = 3, rw = 20, rh = 15;
  g_assert_true(gst_sr_prob_meta_set_region(m, x0, y0, rw, rh));
  sr_labels_from_probs(probs, c, h, w, rw, rh, want, scratch);
  map = gst_sr_prob_meta_get_label_map(m);
  const guint8 *got = g_bytes_get_data(map, NULL);
  for (guint y = 0; y < fh; y++)
    for (guint x = 0; x < fw; x++) {
      gboolean inside = (gint)x >= x0 && (gint)x < x0 + rw && (gint)y >= y0 && (gint)y < y0 + rh;
      guint expect = inside ? want[(y - y0) * rw + (x - x0)] : GST_SR_PROB_META_VOID_LABEL;
      if (got[y * fw + x] != expect) g_error("label map (%u, %u): %u, want %u", x, y, got[y * fw + x], expect);
    }
  g_bytes_unref(map);
  g_free(scratch);
  g_free(want);
  gst_buffer_unref(buf);
  g_free(probs);
  g_rand_free(rng);
}

static void test_segmentation(void) {
  const guint w = 7, h = 5;
  guint8 labels[7 * 5];
  for (guint i = 0; i < w * h; i++) labels[i] = (guint8)((i * 7 + i / 3) % 5);
  GBytes *lb = g_bytes_new(labels, sizeof labels), *cc = g_bytes_new_static(colors, 15);
  const gdouble scores[2] = {1.5, -2.0};
  GstBuffer *buf = gst_buffer_new();
  GstSrSegmentationMeta *m = gst_sr_segmentation_meta_add(buf, "mine", 1, w, h, 5, names, cc, lb, scores, 2);
  g_assert_nonnull(m);
  g_assert_true(m->labels == g_bytes_get_data(lb, NULL));
  g_assert_cmpstr(m->method, ==, "mine");
  g_assert_cmpfloat(gst_sr_segmentation_meta_get_score(m, 1), ==, -2.0);
  GBytes *b = gst_sr_segmentation_meta_get_labels_bytes(m), *same = gst_sr_segmentation_meta_get_label_map(m, w, h);
  g_assert_true(g_bytes_get_data(b, NULL) == m->labels && g_bytes_get_data(same, NULL) == m->labels);
  guint8 r, g, bl;
  g_assert_true(gst_sr_segmentation_meta_get_class_color(m, 1, &r, &g, &bl));
  g_assert_cmpuint(r, ==, 40); g_assert_cmpuint(bl, ==, 60);
  /* At another size: nearest neighbour, pixel centres aligned. */
  const guint fw = 16, fh = 9;
  GBytes *big = gst_sr_segmentation_meta_get_label_map(m, fw, fh);
  g_assert_cmpuint(g_bytes_get_size(big), ==, fw * fh);
  const guint8 *got = g_bytes_get_data(big, NULL);
  for (guint y = 0; y < fh; y++)
    for (guint x = 0; x < fw; x++) {
      guint sx = (2 * x + 1) * w / (2 * fw), sy = (2 * y + 1) * h / (2 * fh);
      g_assert_cmpuint(got[y * fw + x], ==, labels[sy * w + sx]);
    }
  /* Invalid: a labels size that does not match, selected past the scores. */
  GBytes *short_lb = g_bytes_new(labels, sizeof labels - 1);
  g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*");
  g_assert_null(gst_sr_segmentation_meta_add(buf, "x", -1, w, h, 5, names, cc, short_lb, NULL, 0));
  g_test_assert_expected_messages();
  g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*");
  g_assert_null(gst_sr_segmentation_meta_add(buf, "x", 2, w, h, 5, names, cc, lb, scores, 2));
  g_test_assert_expected_messages();
  gst_buffer_unref(buf);
  g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), labels, sizeof labels);
  g_bytes_unref(b);
  g_bytes_unref(same);
  g_bytes_unref(big);
  g_bytes_unref(short_lb);
  g_bytes_unref(lb);
  g_bytes_unref(cc);
}

static void test_proposals(void) {
  const guint w = 6, h = 4, n = 3;
  gsize px = (gsize)w * h;
  guint8 labels[3 * 6 * 4];
  for (guint k = 0; k < n; k++)
    for (gsize i = 0; i < px; i++) labels[k * px + i] = (guint8)(i < px / 2 ? k : 4);
  GBytes *lb = g_bytes_new(labels, sizeof labels), *cc = g_bytes_new_static(colors, 15);
  GstBuffer *buf = gst_buffer_new();
  GstSrProposalMeta *m = gst_sr_proposal_meta_add(buf, "app", w, h, 5, names, cc, n, lb);
  g_assert_nonnull(m);
  g_assert_true(m->labels == g_bytes_get_data(lb, NULL));
  g_assert_true(isnan(gst_sr_proposal_meta_get_score(m, 2)));
  g_assert_cmpint(gst_sr_proposal_meta_get_rank(m, 2), ==, 2);
  g_assert_cmpfloat(m->areas[1 * 5 + 1], ==, 0.5);
  g_assert_cmpfloat(m->areas[1 * 5 + 4], ==, 0.5);
  g_assert_true(gst_sr_proposal_meta_set_proposal(m, 2, 1.0, 2.0, 0.5, 1.5, 0));
  g_assert_cmpfloat(gst_sr_proposal_meta_get_pairwise(m, 2), ==, 1.5);
  g_assert_cmpint(gst_sr_proposal_meta_find_rank(m, 0), ==, 0); /* the first with rank 0 */
  GBytes *one = gst_sr_proposal_meta_get_labels_bytes(m, 2);
  g_assert_true(g_bytes_get_data(one, NULL) == m->labels + 2 * px);
  g_assert_cmpuint(g_bytes_get_size(one), ==, px);
  g_assert_null(gst_sr_proposal_meta_get_superpixels_bytes(m));
  gint32 sp[24];
  for (guint i = 0; i < px; i++) sp[i] = (gint32)(i % 5);
  GBytes *spb = g_bytes_new(sp, sizeof sp), *bad_sp = g_bytes_new(sp, sizeof sp - 4);
  g_assert_false(gst_sr_proposal_meta_set_superpixels_bytes(m, 4, spb)); /* index 4 >= 4 */
  g_assert_false(gst_sr_proposal_meta_set_superpixels_bytes(m, 5, bad_sp));
  g_assert_true(gst_sr_proposal_meta_set_superpixels_bytes(m, 5, spb));
  GBytes *spo = gst_sr_proposal_meta_get_superpixels_bytes(m);
  g_assert_true(g_bytes_get_data(spo, NULL) == m->superpixels && m->superpixels == g_bytes_get_data(spb, NULL));
  guint8 r, g, bl;
  g_assert_true(gst_sr_proposal_meta_get_class_color(m, 2, &r, &g, &bl));
  g_assert_cmpuint(g, ==, 80);
  /* Copies keep everything. */
  GstBuffer *copy = gst_buffer_copy(buf);
  GstSrProposalMeta *mc = gst_buffer_get_sr_proposal_meta(copy);
  g_assert_nonnull(mc);
  g_assert_cmpmem(mc->labels, sizeof labels, labels, sizeof labels);
  g_assert_cmpuint(mc->n_superpixels, ==, 5);
  g_assert_cmpmem(mc->superpixels, sizeof sp, sp, sizeof sp);
  g_assert_cmpfloat(mc->energies[2], ==, 2.0);
  gst_buffer_unref(copy);
  gst_buffer_unref(buf);
  g_assert_cmpmem(g_bytes_get_data(one, NULL), px, labels + 2 * px, px);
  g_bytes_unref(one);
  g_bytes_unref(spo);
  g_bytes_unref(spb);
  g_bytes_unref(bad_sp);
  g_bytes_unref(lb);
  g_bytes_unref(cc);
}

/* A meta whose fields the caller filled itself (the pre-GBytes way): the
 * accessors copy, and freeing the buffer g_free()s the arrays. */
static void test_hand_filled(void) {
  GstBuffer *buf = gst_buffer_new();
  GstSrProbMeta *m = (GstSrProbMeta *)gst_buffer_add_meta(buf, GST_SR_PROB_META_INFO, NULL);
  m->n_classes = 2, m->width = 1, m->height = 1;
  m->probs = g_new(gfloat, 2);
  m->probs[0] = 0.25f, m->probs[1] = 0.75f;
  m->class_names = g_strdupv((gchar **)names);
  m->class_colors = g_memdup2(colors, 6);
  m->frame_width = 3, m->frame_height = 2;
  m->region = (GstVideoRectangle){0, 0, 3, 2};
  GBytes *b = gst_sr_prob_meta_get_probs_bytes(m);
  g_assert_cmpuint(g_bytes_get_size(b), ==, 8);
  g_assert_cmpfloat(((const gfloat *)g_bytes_get_data(b, NULL))[1], ==, 0.75f);
  GBytes *map = gst_sr_prob_meta_get_label_map(m);
  const guint8 *l = g_bytes_get_data(map, NULL);
  for (guint i = 0; i < 6; i++) g_assert_cmpuint(l[i], ==, 1);
  gst_buffer_unref(buf);
  g_bytes_unref(b);
  g_bytes_unref(map);
}

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/meta/prob/bytes-no-copy", test_prob_bytes_no_copy);
  g_test_add_func("/meta/prob/add-checks", test_prob_add_checks);
  g_test_add_func("/meta/prob/label-map", test_prob_label_map);
  g_test_add_func("/meta/segmentation", test_segmentation);
  g_test_add_func("/meta/proposals", test_proposals);
  g_test_add_func("/meta/prob/hand-filled", test_hand_filled);
  return g_test_run();
}
