/* test_proposalscore.c: GstHarness tests of proposalscore on hand-made
 * frames (a 3-class net distribution on a 4 × 3 grid and proposals whose
 * eq. 17 order is known): it selects the lowest eq. 17 score (the correct
 * map; the best of the first N with num-proposals; the penalty flips the
 * choice), its scores are sr_kl_score_labels' values with the element's
 * eps and penalty; frames without proposals get the net's own bilinear
 * argmax with one warning; void-everywhere proposals score +inf; proposals
 * of another size than the frame are scored and kept at their size and
 * segoverlay rescales them; a class mismatch or a missing net distribution
 * is an error naming the cause; the segmentation meta follows copies and
 * scaling but not region copies or flips; segoverlay draws it unless
 * proposal-index is set. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <math.h>

#include "gstsrprobmeta.h"
#include "gstsrproposalmeta.h"
#include "gstsrsegmentationmeta.h"
#include "segrank.h"

#define W 32
#define H 24
#define GW 4 /* the net's grid */
#define GH 3
#define C 3

static const gchar *names[] = {"a", "b", "c", NULL};
static const guint8 net_colors[3 * C] = {10, 20, 30, 40, 50, 60, 70, 80, 90};
static const guint8 proposal_colors[3 * C] = {200, 0, 0, 0, 200, 0, 0, 0, 200};

/* The net: 0.8 on class 2 in grid columns 0-1, on class 1 in columns 2-3,
 * 0.1 on each other class. */
static void net_probs(gfloat *p) {
  for (int k = 0; k < C; k++)
    for (int i = 0; i < GH; i++)
      for (int j = 0; j < GW; j++) p[(k * GH + i) * GW + j] = k == (j < 2 ? 2 : 1) ? 0.8f : 0.1f;
}

/* The grid cell (of @cells over @n pixels) that pixel @x lies in: the last
 * c with floor(c·n/cells) ≤ x. */
static int cell_of(int x, int n, int cells) {
  int c = 0;
  while (c + 1 < cells && (c + 1) * n / cells <= x) c++;
  return c;
}

/* The four proposals at @w × @h: 0 all class 0 (wrong everywhere), 1 all
 * class 2 (right on the left half), 2 the net's labelling (right
 * everywhere), 3 right but for grid cell (0, 0), which is class 0. Grid cell
 * (i, j) covers rows [floor(i·h/GH), floor((i+1)·h/GH)), columns likewise. */
static void proposal_maps(int w, int h, guint8 *labels) {
  for (int k = 0; k < 4; k++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        int j = cell_of(x, w, GW), i = cell_of(y, h, GH);
        guint8 right = j < 2 ? 2 : 1, l = right;
        if (k == 0) l = 0;
        if (k == 1) l = 2;
        if (k == 3 && i == 0 && j == 0) l = 0;
        labels[((gsize)k * h + y) * w + x] = l;
      }
}

static GstBuffer *grey_frame(int w, int h) {
  GstBuffer *buf = gst_buffer_new_allocate(NULL, (gsize)w * h * 3, NULL);
  gst_buffer_memset(buf, 0, 77, (gsize)w * h * 3);
  return buf;
}

static void add_net(GstBuffer *buf, const gchar *const *class_names, guint n_classes) {
  gfloat p[C * GH * GW];
  net_probs(p);
  fail_unless(gst_buffer_add_sr_prob_meta(buf, n_classes, GW, GH, p, class_names, net_colors, W, H) != NULL);
}

/* A frame with the net's distribution and the four proposals at @pw × @ph. */
static GstBuffer *frame_with_proposals(int pw, int ph, guint8 **maps_out) {
  GstBuffer *buf = grey_frame(W, H);
  add_net(buf, names, C);
  guint8 *maps = g_malloc((gsize)4 * pw * ph);
  proposal_maps(pw, ph, maps);
  fail_unless(gst_buffer_add_sr_proposal_meta(buf, "test", 4, pw, ph, C, names, proposal_colors, maps, NULL, NULL,
                                              NULL, NULL, NULL, NULL) != NULL);
  if (maps_out) *maps_out = maps;
  else g_free(maps);
  return buf;
}

static GstHarness *harness(const gchar *desc, int w, int h, GstBus **bus) {
  GstHarness *hrn = gst_harness_new_parse(desc);
  if (bus) {
    *bus = gst_bus_new();
    gst_element_set_bus(hrn->element, *bus);
  }
  gchar *caps = g_strdup_printf("video/x-raw,format=RGB,width=%d,height=%d,framerate=10/1", w, h);
  gst_harness_set_src_caps_str(hrn, caps);
  g_free(caps);
  return hrn;
}

/* Drops the bus first: its queued messages hold references to the element. */
static void teardown(GstHarness *hrn, GstBus *bus) {
  if (bus) {
    gst_bus_set_flushing(bus, TRUE);
    gst_element_set_bus(hrn->element, NULL);
  }
  gst_harness_teardown(hrn);
  if (bus) gst_object_unref(bus);
}

/* sr_kl_score_labels of proposal @k of @maps (@pw × @ph) against the net. */
static double library_score(const guint8 *maps, int k, int pw, int ph, double eps, int penalty_class,
                            double penalty_weight) {
  gfloat p[C * GH * GW];
  net_probs(p);
  sr_coarse_dist net = {p, C, GH, GW};
  sr_kl_score_params par = {eps, penalty_class, penalty_weight};
  sr_kl_score s;
  sr_error err = {0};
  fail_unless(sr_kl_score_labels(&net, maps + (gsize)k * pw * ph, pw, ph, &par, &s, &err) == SR_OK, "%s", err.msg);
  return s.score;
}

/* The meta chose proposal @best of @maps and its scores are the library's. */
static void check_choice(const GstSrSegmentationMeta *m, const guint8 *maps, int pw, int ph, guint n_scored,
                         gint best, double eps, int penalty_class, double penalty_weight) {
  fail_unless(m != NULL, "no segmentation meta");
  fail_unless_equals_string(m->method, "eq17");
  fail_unless_equals_int(m->n_scores, n_scored);
  for (guint k = 0; k < n_scored; k++) {
    double want = library_score(maps, (int)k, pw, ph, eps, penalty_class, penalty_weight);
    fail_unless(fabs(m->scores[k] - want) <= 1e-12 * fabs(want), "proposal %u: score %.17g, library %.17g", k,
                m->scores[k], want);
    fail_unless(m->scores[k] >= m->scores[m->selected], "proposal %u scores below the selected one", k);
  }
  fail_unless_equals_int(m->selected, best);
  fail_unless(m->width == (guint)pw && m->height == (guint)ph && m->n_classes == C);
  fail_unless(memcmp(m->labels, maps + (gsize)best * pw * ph, (gsize)pw * ph) == 0, "labels are not proposal %d's",
              best);
  fail_unless(memcmp(m->class_colors, proposal_colors, sizeof proposal_colors) == 0, "not the proposals' colours");
  fail_unless_equals_string(gst_sr_segmentation_meta_get_class_name(m, 1), "b");
}

GST_START_TEST(test_picks_lowest_eq17) {
  g_print("proposalscore: picks the lowest eq. 17 score, scores equal sr_kl_score_labels\n");
  static const struct {
    const gchar *props;
    guint n_scored;
    gint best;
    double eps;
    int penalty_class;
    double penalty_weight;
  } cases[] = {
      /* The net's own labelling is closest. */
      {"", 4, 2, 1e-6, -1, 0.02},
      /* Of the first two, the half-right one. */
      {"num-proposals=2", 2, 1, 1e-6, -1, 0.02},
      /* More than there are: all. */
      {"num-proposals=9", 4, 2, 1e-6, -1, 0.02},
      /* Another eps: the same order, other values. */
      {"eps=1e-3", 4, 2, 1e-3, -1, 0.02},
      /* A heavy penalty on class 2 makes the all-class-0 map the best. */
      {"penalty-class=2 penalty-weight=100", 4, 0, 1e-6, 2, 100},
      /* The default weight (0.02) changes the values but not the choice. */
      {"penalty-class=2", 4, 2, 1e-6, 2, 0.02},
  };
  for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
    gchar *desc = g_strdup_printf("proposalscore %s", cases[c].props);
    GstBus *bus;
    GstHarness *hrn = harness(desc, W, H, &bus);
    guint8 *maps;
    GstBuffer *in = frame_with_proposals(W, H, &maps);
    GstBuffer *out = gst_harness_push_and_pull(hrn, in);
    fail_unless(out != NULL, "%s: no output", desc);
    GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
    check_choice(m, maps, W, H, cases[c].n_scored, cases[c].best, cases[c].eps, cases[c].penalty_class,
                 cases[c].penalty_weight);
    g_print("  %-36s selected %d, scores", desc, m->selected);
    for (guint k = 0; k < m->n_scores; k++) g_print(" %.3f", m->scores[k]);
    g_print("\n");
    /* The frame passes unchanged, with the metas it came with. */
    GstMapInfo info;
    fail_unless(gst_buffer_map(out, &info, GST_MAP_READ));
    for (gsize i = 0; i < info.size; i++) fail_unless(info.data[i] == 77, "pixel byte %zu changed", i);
    gst_buffer_unmap(out, &info);
    fail_unless(gst_buffer_get_sr_prob_meta(out) && gst_buffer_get_sr_proposal_meta(out));
    fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR) == NULL);
    gst_buffer_unref(out);
    g_free(maps);
    teardown(hrn, bus);
    g_free(desc);
  }
}
GST_END_TEST;

/* The one warning on @bus contains @text; no second one. */
static void expect_one_warning(GstBus *bus, const gchar *text) {
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(msg != NULL, "no warning");
  GError *err = NULL;
  gst_message_parse_warning(msg, &err, NULL);
  fail_unless(strstr(err->message, text) != NULL, "\"%s\" lacks \"%s\"", err->message, text);
  g_error_free(err);
  gst_message_unref(msg);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING) == NULL, "warned twice");
}

/* The meta is the net's own output at W × H: sr_labels_from_probs. */
static void check_net_output(const GstSrSegmentationMeta *m, const gfloat *probs, guint n_scores) {
  fail_unless(m != NULL, "no segmentation meta");
  fail_unless_equals_string(m->method, "net");
  fail_unless_equals_int(m->selected, -1);
  fail_unless_equals_int(m->n_scores, n_scores);
  fail_unless(m->width == W && m->height == H && m->n_classes == C);
  guint8 want[W * H];
  gfloat scratch[C * GH * W];
  sr_labels_from_probs(probs, C, GH, GW, W, H, want, scratch);
  fail_unless(memcmp(m->labels, want, sizeof want) == 0, "not the net's bilinear argmax");
  fail_unless(memcmp(m->class_colors, net_colors, sizeof net_colors) == 0, "not the net's colours");
}

GST_START_TEST(test_no_proposals) {
  g_print("proposalscore: no proposals: one warning, the net's own upsampled argmax\n");
  /* A smooth field, so that bilinear interpolation and the cell-wise argmax
   * differ. */
  gfloat probs[C * GH * GW];
  for (int i = 0; i < GH; i++)
    for (int j = 0; j < GW; j++) {
      float a = (float)j / (GW - 1), b = (float)i / (GH - 1);
      float v[C] = {0.1f + 0.6f * a, 0.1f + 0.6f * (1 - a) * b, 0};
      v[2] = 1 - v[0] - v[1];
      for (int k = 0; k < C; k++) probs[(k * GH + i) * GW + j] = v[k];
    }
  guint8 naive[W * H];
  sr_labels_naive(probs, C, GH, GW, W, H, naive);
  GstBus *bus;
  GstHarness *hrn = harness("proposalscore", W, H, &bus);
  for (int f = 0; f < 3; f++) {
    GstBuffer *in = grey_frame(W, H);
    fail_unless(gst_buffer_add_sr_prob_meta(in, C, GW, GH, probs, names, net_colors, W, H) != NULL);
    /* Frame 1 has a proposal meta with none in it. */
    if (f == 1)
      fail_unless(gst_buffer_add_sr_proposal_meta(in, "test", 0, W, H, C, names, proposal_colors, NULL, NULL, NULL,
                                                  NULL, NULL, NULL, NULL) != NULL);
    GstBuffer *out = gst_harness_push_and_pull(hrn, in);
    GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
    check_net_output(m, probs, 0);
    if (f == 0)
      fail_unless(memcmp(m->labels, naive, sizeof naive) != 0, "the test field does not tell bilinear from naive");
    gst_buffer_unref(out);
  }
  expect_one_warning(bus, "no proposals");
  teardown(hrn, bus);
}
GST_END_TEST;

GST_START_TEST(test_void_proposals) {
  g_print("proposalscore: void-everywhere proposals score +inf; all void: the net's output\n");
  GstBus *bus;
  GstHarness *hrn = harness("proposalscore", W, H, &bus);
  guint8 *maps = g_malloc((gsize)4 * W * H);
  proposal_maps(W, H, maps);
  /* Proposal 0 void everywhere, 3 keeps one class pixel (of the net's
   * class there) among void ones: it is scorable, and since eq. 17 sums
   * over the valid cells only, its one right cell scores lowest. */
  memset(maps, 255, W * H);
  memset(maps + 3 * W * H, 255, W * H);
  maps[3 * W * H + 5 * W + 20] = 1;
  for (int f = 0; f < 2; f++) {
    GstBuffer *in = grey_frame(W, H);
    add_net(in, names, C);
    gst_buffer_add_sr_proposal_meta(in, "test", 4, W, H, C, names, proposal_colors, maps, NULL, NULL, NULL, NULL,
                                    NULL, NULL);
    GstBuffer *out = gst_harness_push_and_pull(hrn, in);
    GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
    fail_unless(m && m->n_scores == 4 && m->selected == 3, "selected %d", m ? m->selected : -9);
    fail_unless(isinf(m->scores[0]) && m->scores[0] > 0, "void proposal scored %g", m->scores[0]);
    for (int k = 1; k < 4; k++)
      fail_unless(fabs(m->scores[k] - library_score(maps, k, W, H, 1e-6, -1, 0)) <= 1e-12 * fabs(m->scores[k]),
                  "proposal %d", k);
    gst_buffer_unref(out);
  }
  expect_one_warning(bus, "void everywhere");
  /* Every proposal void: the net's own output, all scores +inf. */
  memset(maps, 255, (gsize)2 * W * H);
  GstBuffer *in = grey_frame(W, H);
  add_net(in, names, C);
  gst_buffer_add_sr_proposal_meta(in, "test", 2, W, H, C, names, proposal_colors, maps, NULL, NULL, NULL, NULL, NULL,
                                  NULL);
  GstBuffer *out = gst_harness_push_and_pull(hrn, in);
  gfloat probs[C * GH * GW];
  net_probs(probs);
  GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
  check_net_output(m, probs, 2);
  fail_unless(isinf(m->scores[0]) && isinf(m->scores[1]));
  gst_buffer_unref(out);
  g_free(maps);
  teardown(hrn, bus);
}
GST_END_TEST;

/* Nearest-neighbour source index of destination @d, pixel centres aligned:
 * the plain formula floor((d + 1/2) · from / to), in doubles. */
static guint reference_nearest(guint d, guint from, guint to) { return (guint)floor((d + 0.5) * from / to); }

GST_START_TEST(test_other_size) {
  g_print("proposalscore: proposals of another size than the frame, segoverlay rescales the choice\n");
  static const int sizes[][2] = {{64, 48}, {13, 7}, {GW, GH}};
  for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
    int pw = sizes[s][0], ph = sizes[s][1];
    GstBus *bus;
    GstHarness *hrn = harness("proposalscore ! segoverlay mode=labels", W, H, &bus);
    guint8 *maps;
    GstBuffer *out = gst_harness_push_and_pull(hrn, frame_with_proposals(pw, ph, &maps));
    GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
    check_choice(m, maps, pw, ph, 4, 2, 1e-6, -1, 0);
    /* Every frame pixel has the colour of the chosen map's nearest pixel. */
    GstMapInfo info;
    fail_unless(gst_buffer_map(out, &info, GST_MAP_READ));
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        guint8 l = maps[((gsize)2 * ph + reference_nearest(y, ph, H)) * pw + reference_nearest(x, pw, W)];
        fail_unless(memcmp(info.data + (y * W + x) * 3, proposal_colors + 3 * l, 3) == 0,
                    "%dx%d proposals: pixel (%d, %d) is not label %u's colour", pw, ph, x, y, l);
      }
    gst_buffer_unmap(out, &info);
    fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR) == NULL);
    gst_buffer_unref(out);
    g_free(maps);
    teardown(hrn, bus);
  }
  /* Proposals coarser than the net's grid cannot be scored: an error naming
   * the sizes. */
  GstBus *bus;
  GstHarness *hrn = harness("proposalscore", W, H, &bus);
  fail_unless_equals_int(gst_harness_push(hrn, frame_with_proposals(3, 2, NULL)), GST_FLOW_ERROR);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL, "no error");
  gchar *dbg = NULL;
  gst_message_parse_error(msg, NULL, &dbg);
  fail_unless(dbg && strstr(dbg, "4 x 3 grid is finer than the 3 x 2 frame"), "debug: %s", dbg);
  g_free(dbg);
  gst_message_unref(msg);
  teardown(hrn, bus);
}
GST_END_TEST;

/* Pushing @in into "@desc" must fail with an error whose message contains
 * @text and whose debug text contains every one of @details. */
static void expect_error(const gchar *desc, GstBuffer *in, const gchar *text, const gchar *const *details) {
  GstBus *bus;
  GstHarness *hrn = harness(desc, W, H, &bus);
  fail_unless_equals_int(gst_harness_push(hrn, in), GST_FLOW_ERROR);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL, "no error message");
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_error(msg, &err, &dbg);
  fail_unless(strstr(err->message, text) != NULL, "\"%s\" lacks \"%s\"", err->message, text);
  for (guint i = 0; details[i]; i++)
    fail_unless(dbg && strstr(dbg, details[i]) != NULL, "debug \"%s\" lacks \"%s\"", dbg, details[i]);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
  teardown(hrn, bus);
}

GST_START_TEST(test_errors) {
  g_print("proposalscore: class mismatch, no net distribution, bad penalty class\n");
  guint8 maps[4 * W * H];
  proposal_maps(W, H, maps);
  /* Four classes in the net, three in the proposals. */
  static const gchar *four[] = {"a", "b", "c", "d", NULL};
  GstBuffer *in = grey_frame(W, H);
  gfloat p4[4 * GH * GW];
  for (int i = 0; i < 4 * GH * GW; i++) p4[i] = 0.25f;
  static const guint8 colors4[12] = {0};
  gst_buffer_add_sr_prob_meta(in, 4, GW, GH, p4, four, colors4, W, H);
  gst_buffer_add_sr_proposal_meta(in, "test", 4, W, H, C, names, proposal_colors, maps, NULL, NULL, NULL, NULL, NULL,
                                  NULL);
  expect_error("proposalscore", in, "do not match",
               (const gchar *[]){"has 4 classes (a, b, c, d)", "from test (GstSrProposalMeta) have 3 (a, b, c)", NULL});
  /* The same count, another order. */
  static const gchar *swapped[] = {"a", "c", "b", NULL};
  in = grey_frame(W, H);
  add_net(in, swapped, C);
  gst_buffer_add_sr_proposal_meta(in, "test", 4, W, H, C, names, proposal_colors, maps, NULL, NULL, NULL, NULL, NULL,
                                  NULL);
  expect_error("proposalscore", in, "do not match",
               (const gchar *[]){"class 1 is \"c\" in the net's distribution", "but \"b\" in the proposals", NULL});
  /* No net distribution. */
  in = grey_frame(W, H);
  gst_buffer_add_sr_proposal_meta(in, "test", 4, W, H, C, names, proposal_colors, maps, NULL, NULL, NULL, NULL, NULL,
                                  NULL);
  expect_error("proposalscore", in, "no class probabilities", (const gchar *[]){"segnetinfer", NULL});
  /* A penalty class the net does not have. */
  expect_error("proposalscore penalty-class=3", frame_with_proposals(W, H, NULL), "penalty-class 3",
               (const gchar *[]){"3 classes", NULL});

  /* An unnamed class matches any name. */
  static const gchar *unnamed[] = {"a", "", "c", NULL};
  GstBus *bus;
  GstHarness *hrn = harness("proposalscore", W, H, &bus);
  in = grey_frame(W, H);
  add_net(in, unnamed, C);
  gst_buffer_add_sr_proposal_meta(in, "test", 4, W, H, C, names, proposal_colors, maps, NULL, NULL, NULL, NULL, NULL,
                                  NULL);
  GstBuffer *out = gst_harness_push_and_pull(hrn, in);
  GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
  fail_unless(m && m->selected == 2);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR | GST_MESSAGE_WARNING) == NULL);
  gst_buffer_unref(out);
  teardown(hrn, bus);
}
GST_END_TEST;

static guint count_segmentation_metas(GstBuffer *buf) {
  gpointer state = NULL;
  guint n = 0;
  while (gst_buffer_iterate_meta_filtered(buf, &state, GST_SR_SEGMENTATION_META_API_TYPE)) n++;
  return n;
}

GST_START_TEST(test_meta_transforms) {
  g_print("GstSrSegmentationMeta: kept by copies, rescaled by scaling, dropped by region copies and flips\n");
  static const guint8 labels[4 * 2] = {0, 0, 1, 1, 2, 2, 255, 1};
  static const gdouble scores[3] = {4.5, 1.25, INFINITY};
  GstBuffer *src = gst_buffer_new_allocate(NULL, 4 * 2 * 3, NULL);
  gst_buffer_memset(src, 0, 9, 4 * 2 * 3);
  GstSrSegmentationMeta *m = gst_buffer_add_sr_segmentation_meta(src, "svm", 1, 4, 2, C, names, proposal_colors,
                                                                 labels, 3, scores);
  fail_unless(m != NULL);
  gsize n;
  fail_unless(gst_sr_segmentation_meta_get_labels(m, &n) && n == 8);
  fail_unless(gst_sr_segmentation_meta_get_scores(m, &n)[1] == 1.25 && n == 3);
  fail_unless(gst_sr_segmentation_meta_get_score(m, 2) == INFINITY);
  fail_unless(gst_sr_segmentation_meta_get(src) == m);
  /* selected must index a score. */
  GstBuffer *bad = gst_buffer_new();
  ASSERT_CRITICAL(fail_unless(gst_buffer_add_sr_segmentation_meta(bad, "eq17", 3, 4, 2, C, names, proposal_colors,
                                                                  labels, 3, scores) == NULL));
  gst_buffer_unref(bad);

  GstBuffer *whole = gst_buffer_copy(src);
  GstSrSegmentationMeta *w = gst_buffer_get_sr_segmentation_meta(whole);
  fail_unless(w && w != m && w->selected == 1 && w->n_scores == 3 && w->scores[0] == 4.5);
  fail_unless(w->width == 4 && w->height == 2 && memcmp(w->labels, labels, sizeof labels) == 0);
  fail_unless_equals_string(w->method, "svm");
  fail_unless_equals_string(w->class_names[2], "c");
  fail_unless(w->class_names[3] == NULL);
  fail_unless(memcmp(w->class_colors, proposal_colors, sizeof proposal_colors) == 0);

  GstBuffer *part = gst_buffer_copy_region(src, GST_BUFFER_COPY_ALL, 0, 4 * 3);
  fail_unless(gst_buffer_get_sr_segmentation_meta(part) == NULL, "a region copy kept the full-frame map");

  GstVideoInfo in, out;
  gst_video_info_set_format(&in, GST_VIDEO_FORMAT_RGB, 4, 2);
  gst_video_info_set_format(&out, GST_VIDEO_FORMAT_RGB, 3, 3);
  GstVideoMetaTransform t = {&in, &out};
  GstBuffer *dst = gst_buffer_new(), *flipped = gst_buffer_new();
  fail_unless(m->meta.info->transform_func(dst, (GstMeta *)m, src, gst_video_meta_transform_scale_get_quark(), &t));
  GstSrSegmentationMeta *s = gst_buffer_get_sr_segmentation_meta(dst);
  fail_unless(s && s->width == 3 && s->height == 3 && s->selected == 1 && s->scores[1] == 1.25);
  for (guint y = 0; y < 3; y++)
    for (guint x = 0; x < 3; x++)
      fail_unless_equals_int(s->labels[y * 3 + x], labels[reference_nearest(y, 2, 3) * 4 + reference_nearest(x, 4, 3)]);
  GQuark flip = g_quark_from_static_string("gst-video-flip");
  fail_if(m->meta.info->transform_func(flipped, (GstMeta *)m, src, flip, NULL));
  fail_unless(gst_buffer_get_sr_segmentation_meta(flipped) == NULL);
  gst_buffer_unref(src);
  gst_buffer_unref(whole);
  gst_buffer_unref(part);
  gst_buffer_unref(dst);
  gst_buffer_unref(flipped);

  /* Through the element: the meta survives a copy of its output, and a
   * second proposalscore replaces the first one's meta instead of adding
   * another. */
  GstHarness *hrn = harness("proposalscore num-proposals=2 ! proposalscore", W, H, NULL);
  GstBuffer *o = gst_harness_push_and_pull(hrn, frame_with_proposals(W, H, NULL));
  fail_unless_equals_int(count_segmentation_metas(o), 1);
  GstBuffer *copy = gst_buffer_copy(o);
  GstSrSegmentationMeta *cm = gst_buffer_get_sr_segmentation_meta(copy);
  fail_unless(cm && cm->selected == 2 && cm->n_scores == 4, "the second element's choice is not the one kept");
  gst_buffer_unref(copy);
  gst_buffer_unref(o);
  teardown(hrn, NULL);
}
GST_END_TEST;

/* The colour of the frame pixel (x, y) in a packed RGB output buffer. */
static void pixel(GstBuffer *buf, int x, int y, guint8 rgb[3]) {
  gst_buffer_extract(buf, (gsize)(y * W + x) * 3, rgb, 3);
}

GST_START_TEST(test_overlay_precedence) {
  g_print("segoverlay: the final segmentation over the net's argmax, proposal-index over both\n");
  /* The chosen proposal 2 equals the net's argmax: draw proposal 3's map as
   * the final one instead, by a hand-made meta, to tell them apart. */
  guint8 *maps;
  static const struct {
    const gchar *desc;
    int drawn; /* proposal whose map is drawn, -1: the net's argmax */
  } cases[] = {{"segoverlay mode=labels", 3}, {"segoverlay mode=labels proposal-index=1", 1}};
  for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
    GstHarness *hrn = harness(cases[c].desc, W, H, NULL);
    GstBuffer *in = frame_with_proposals(W, H, &maps);
    static const gdouble sc[4] = {9, 9, 9, 1};
    gst_buffer_add_sr_segmentation_meta(in, "eq17", 3, W, H, C, names, proposal_colors, maps + 3 * W * H, 4, sc);
    GstBuffer *out = gst_harness_push_and_pull(hrn, in);
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        guint8 got[3];
        pixel(out, x, y, got);
        guint8 l = maps[((gsize)cases[c].drawn * H + y) * W + x];
        fail_unless(memcmp(got, proposal_colors + 3 * l, 3) == 0, "%s: (%d, %d) is not label %u's colour",
                    cases[c].desc, x, y, l);
      }
    gst_buffer_unref(out);
    g_free(maps);
    teardown(hrn, NULL);
  }
  /* Without a segmentation meta: the net's argmax, in the net's colours. */
  GstHarness *hrn = harness("segoverlay mode=labels", W, H, NULL);
  GstBuffer *out = gst_harness_push_and_pull(hrn, frame_with_proposals(W, H, NULL));
  guint8 got[3];
  pixel(out, 0, 0, got);
  fail_unless(memcmp(got, net_colors + 3 * 2, 3) == 0, "the net's argmax is class 2 at the top left");
  gst_buffer_unref(out);
  teardown(hrn, NULL);
}
GST_END_TEST;

GST_START_TEST(test_properties) {
  g_print("proposalscore: property defaults and round trip\n");
  GstElement *el = gst_element_factory_make("proposalscore", NULL);
  fail_unless(el != NULL);
  gint num, pc;
  gdouble eps, pw;
  g_object_get(el, "num-proposals", &num, "eps", &eps, "penalty-class", &pc, "penalty-weight", &pw, NULL);
  sr_kl_score_params d;
  sr_kl_score_params_default(&d);
  fail_unless(num == 0 && eps == 1e-6 && eps == d.eps && pc == -1 && pw == 0.02, "defaults %d %g %d %g", num, eps, pc,
              pw);
  g_object_set(el, "num-proposals", 10, "eps", 1e-4, "penalty-class", 0, "penalty-weight", 0.5, NULL);
  g_object_get(el, "num-proposals", &num, "eps", &eps, "penalty-class", &pc, "penalty-weight", &pw, NULL);
  fail_unless(num == 10 && eps == 1e-4 && pc == 0 && pw == 0.5);
  gst_object_unref(el);
}
GST_END_TEST;

static Suite *proposalscore_suite(void) {
  Suite *s = suite_create("proposalscore");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_picks_lowest_eq17);
  tcase_add_test(tc, test_no_proposals);
  tcase_add_test(tc, test_void_proposals);
  tcase_add_test(tc, test_other_size);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_meta_transforms);
  tcase_add_test(tc, test_overlay_precedence);
  tcase_add_test(tc, test_properties);
  return s;
}

GST_CHECK_MAIN(proposalscore);
