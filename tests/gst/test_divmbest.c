/* test_divmbest.c: GstHarness tests of divmbest with a small unary model
 * trained here on synthetic images (3 classes: gradient background, speckled
 * disc, striped rectangle; a fraction of a second): the meta
 * holds M pairwise-different proposals of the frame size, exactly what
 * sr_proposer_run gives for the frame's RGB pixels in every packed layout,
 * rank 0 is the MAP (the M = 1 solution), the frame passes unchanged;
 * properties round-trip with the library's defaults; a missing or corrupt
 * model posts an error naming it; the weights are capped at 1e6 and run
 * finite there; the hybrid term uses a GstSrProbMeta whose class names match
 * the unary model's in order, and warns once without one, with the wrong
 * class count or with the classes in another order; and divmbest works
 * before and after segnetinfer. */
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "gstsrprobmeta.h"
#include "gstsrproposalmeta.h"
#include "segrank.h"
#include "synthetic_scenes.h"

#define W 96
#define H 72
#define N_SUPERPIXELS 80

static gchar *model_dir;  /* where the trained model lives (removed at exit) */
static gchar *model_path; /* the unary model the tests use */

/* Trains the small model once, before the tests (which run in forks):
 * 4 scenes, 8 textons, 80 superpixels, a fraction of a second. */
static void train_model(void) {
  sr_error err = {0};
  sr_unary_model *m = synth_train_unary(4, W, H, N_SUPERPIXELS, &err);
  if (!m) g_error("training the test model: %s", err.msg);
  model_dir = g_dir_make_tmp("segrank-divmbest-XXXXXX", NULL);
  model_path = g_build_filename(model_dir, "synthetic.srunary", NULL);
  if (sr_unary_model_save(m, model_path, &err) != SR_OK) g_error("saving the test model: %s", err.msg);
  sr_unary_model_free(m);
}

/* The synthetic test frame @rgb packed as @format (RGB, BGRx, xRGB...). */
static GstBuffer *pack_frame(const sr_image *rgb, const gchar *format) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, gst_video_format_from_string(format), rgb->width, rgb->height);
  GstBuffer *buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
  GstVideoFrame f;
  fail_unless(gst_video_frame_map(&f, &info, buf, GST_MAP_WRITE));
  const GstVideoFormatInfo *fi = info.finfo;
  int ps = GST_VIDEO_FORMAT_INFO_PSTRIDE(fi, 0), stride = GST_VIDEO_FRAME_PLANE_STRIDE(&f, 0);
  guint8 *data = GST_VIDEO_FRAME_PLANE_DATA(&f, 0);
  for (int y = 0; y < rgb->height; y++)
    for (int x = 0; x < rgb->width; x++) {
      guint8 *p = data + (gsize)y * stride + (gsize)x * ps;
      if (ps == 4) memset(p, 0xEE, 4); /* padding / alpha */
      for (int c = 0; c < 3; c++)
        p[GST_VIDEO_FORMAT_INFO_POFFSET(fi, c)] = rgb->data[((size_t)y * rgb->width + x) * 3 + c];
    }
  gst_video_frame_unmap(&f);
  return buf;
}

static GstHarness *harness(const gchar *desc_fmt, const gchar *format, GstBus **bus) {
  gchar *desc = g_strdup_printf(desc_fmt, model_path);
  GstHarness *hrn = gst_harness_new_parse(desc);
  g_free(desc);
  if (bus) {
    *bus = gst_bus_new();
    gst_element_set_bus(hrn->element, *bus);
  }
  gchar *caps = g_strdup_printf("video/x-raw,format=%s,width=%d,height=%d,framerate=10/1", format, W, H);
  gst_harness_set_src_caps_str(hrn, caps);
  g_free(caps);
  return hrn;
}

/* The library's own result on @rgb with the element's default settings but
 * @m solutions (and @hybrid on @net). */
static void reference_run(const sr_image *rgb, int m, float hybrid, const sr_coarse_probs *net, sr_proposal_set *out) {
  sr_unary_model *model = NULL;
  sr_error err = {0};
  fail_unless(sr_unary_model_load(model_path, &model, &err) == SR_OK, "%s", err.msg);
  sr_proposer_params p;
  sr_proposer_params_default(&p);
  p.num_solutions = m, p.hybrid_weight = hybrid;
  sr_proposer *pr = NULL;
  fail_unless(sr_proposer_new(model, &p, &pr, &err) == SR_OK, "%s", err.msg);
  fail_unless(sr_proposer_run(pr, rgb, net, out, NULL, &err) == SR_OK, "%s", err.msg);
  sr_proposer_free(pr);
  sr_unary_model_free(model);
}

static void check_same_as(const GstSrProposalMeta *meta, const sr_proposal_set *want) {
  fail_unless_equals_int(meta->n_proposals, want->n);
  fail_unless(memcmp(meta->labels, want->labels, (size_t)want->n * W * H) == 0, "label maps differ from the library's");
  for (int k = 0; k < want->n; k++) {
    fail_unless(meta->energies[k] == want->energy[k] && meta->scores[k] == want->score[k], "proposal %d energy", k);
    fail_unless(meta->unaries[k] == want->unary[k] && meta->pairwises[k] == want->pairwise[k]);
    fail_unless(meta->ranks[k] == want->rank[k]);
  }
  fail_unless_equals_int(meta->n_superpixels, want->n_superpixels);
  fail_unless(memcmp(meta->superpixels, want->superpixels, sizeof(gint32) * W * H) == 0);
}

GST_START_TEST(test_proposals_meta) {
  enum { M = 4 };
  sr_image rgb;
  synth_scene(7, W, H, &rgb, NULL);
  sr_proposal_set want, map;
  reference_run(&rgb, M, 0, NULL, &want);
  reference_run(&rgb, 1, 0, NULL, &map);
  static const gchar *formats[] = {"RGB", "BGRx", "xRGB", "ABGR"};
  for (guint f = 0; f < G_N_ELEMENTS(formats); f++) {
    GstHarness *hrn = harness("divmbest unary-model=%s num-solutions=4", formats[f], NULL);
    GstBuffer *in = pack_frame(&rgb, formats[f]), *ref = gst_buffer_copy_deep(in);
    GstBuffer *out = gst_harness_push_and_pull(hrn, in);
    GstSrProposalMeta *meta = gst_buffer_get_sr_proposal_meta(out);
    fail_unless(meta != NULL, "%s: no proposal meta", formats[f]);
    fail_unless_equals_string(meta->source, "divmbest");
    fail_unless_equals_int(meta->n_proposals, M);
    fail_unless(meta->width == W && meta->height == H && meta->n_classes == 3);
    /* Pairwise-different maps, every label a class, areas summing to one. */
    for (guint a = 0; a < M; a++) {
      gsize n;
      const guint8 *la = gst_sr_proposal_meta_get_labels(meta, a, &n);
      fail_unless_equals_int(n, W * H);
      for (gsize i = 0; i < n; i++) fail_unless(la[i] < 3);
      for (guint b = a + 1; b < M; b++)
        fail_unless(memcmp(la, gst_sr_proposal_meta_get_labels(meta, b, &n), W * H) != 0,
                    "proposals %u and %u are equal", a, b);
      gdouble s = 0;
      for (guint c = 0; c < 3; c++) s += meta->areas[a * 3 + c];
      fail_unless(fabs(s - 1) < 1e-9, "areas of %u sum to %g", a, s);
      fail_unless(fabs(meta->energies[a] - meta->unaries[a] - meta->pairwises[a]) < 1e-6 * fabs(meta->energies[a]) + 1e-9);
    }
    /* Rank 0 is the MAP labelling: the M = 1 solution. */
    fail_unless_equals_int(gst_sr_proposal_meta_find_rank(meta, 0), 0);
    fail_unless(memcmp(meta->labels, map.labels, W * H) == 0, "rank 0 is not the MAP labelling");
    for (guint k = 1; k < M; k++) fail_unless(meta->energies[k] >= meta->energies[0] - 1e-9);
    /* The element saw the frame's RGB exactly: the library's result. */
    check_same_as(meta, &want);
    /* The frame passes unchanged. */
    GstMapInfo a, b;
    gst_buffer_map(out, &a, GST_MAP_READ);
    gst_buffer_map(ref, &b, GST_MAP_READ);
    fail_unless(a.size == b.size && memcmp(a.data, b.data, a.size) == 0, "%s: frame pixels changed", formats[f]);
    gst_buffer_unmap(out, &a);
    gst_buffer_unmap(ref, &b);
    gst_buffer_unref(out);
    gst_buffer_unref(ref);
    gst_harness_teardown(hrn);
  }
  sr_proposal_set_clear(&want);
  sr_proposal_set_clear(&map);
  sr_image_clear(&rgb);
}
GST_END_TEST;

GST_START_TEST(test_properties) {
  GstElement *el = gst_element_factory_make("divmbest", NULL);
  fail_unless(el != NULL);
  sr_proposer_params d;
  sr_proposer_params_default(&d);
  gchar *path;
  gint m, sp, threads;
  gdouble lambda, pw, hw;
  g_object_get(el, "unary-model", &path, "num-solutions", &m, "lambda", &lambda, "superpixels", &sp,
               "pairwise-weight", &pw, "threads", &threads, "hybrid-weight", &hw, NULL);
  fail_unless(path == NULL, "unary-model defaults to NULL (the shipped model)");
  fail_unless(m == 10 && m == d.num_solutions && sp == 0 && threads == 0 && hw == 0);
  fail_unless(fabs(lambda - d.lambda) < 1e-7 && fabs(pw - d.pairwise_weight) < 1e-7 && fabs(lambda - 0.2) < 1e-7 && fabs(pw - 1.6) < 1e-6,
              "lambda %g pairwise-weight %g", lambda, pw);
  g_object_set(el, "unary-model", "/x/y.srunary", "num-solutions", 7, "lambda", 0.125, "superpixels", 300,
               "pairwise-weight", 1.5, "threads", 3, "hybrid-weight", 0.25, NULL);
  g_object_get(el, "unary-model", &path, "num-solutions", &m, "lambda", &lambda, "superpixels", &sp,
               "pairwise-weight", &pw, "threads", &threads, "hybrid-weight", &hw, NULL);
  fail_unless_equals_string(path, "/x/y.srunary");
  fail_unless(m == 7 && lambda == 0.125 && sp == 300 && pw == 1.5 && threads == 3 && hw == 0.25);
  g_free(path);
  /* The weights stop at 1e6, where the CRF stays finite (see
   * test_weights_at_maximum), not at G_MAXFLOAT. */
  static const gchar *weights[] = {"lambda", "pairwise-weight", "hybrid-weight"};
  for (guint i = 0; i < G_N_ELEMENTS(weights); i++) {
    GParamSpecDouble *ps = G_PARAM_SPEC_DOUBLE(g_object_class_find_property(G_OBJECT_GET_CLASS(el), weights[i]));
    fail_unless(ps->minimum == 0 && ps->maximum == 1e6, "%s: range [%g, %g]", weights[i], ps->minimum, ps->maximum);
  }
  gst_object_unref(el);

  /* The settings reach the proposer: superpixels=30 gives fewer superpixels
   * than the trained 80, num-solutions=2 two proposals. */
  GstHarness *hrn = harness("divmbest unary-model=%s num-solutions=2 superpixels=30 threads=1", "RGB", NULL);
  sr_image rgb;
  synth_scene(8, W, H, &rgb, NULL);
  GstBuffer *out = gst_harness_push_and_pull(hrn, pack_frame(&rgb, "RGB"));
  GstSrProposalMeta *meta = gst_buffer_get_sr_proposal_meta(out);
  fail_unless(meta && meta->n_proposals == 2);
  fail_unless(meta->n_superpixels > 0 && meta->n_superpixels <= 45, "%u superpixels for 30", meta->n_superpixels);
  gst_buffer_unref(out);
  gst_harness_teardown(hrn);
  sr_image_clear(&rgb);
}
GST_END_TEST;

/* Starting divmbest with unary-model=@path must fail and post a RESOURCE
 * error naming @path whose debug text contains @needle. */
static void expect_start_error(const gchar *path, const gchar *needle) {
  GstElement *el = gst_element_factory_make("divmbest", NULL);
  g_object_set(el, "unary-model", path, NULL);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL, "no error message on the bus");
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_error(msg, &err, &dbg);
  fail_unless(err->domain == GST_RESOURCE_ERROR);
  fail_unless(strstr(err->message, "Could not load the unary model") && strstr(err->message, path), "%s",
              err->message);
  fail_unless(dbg && strstr(dbg, needle) != NULL, "debug \"%s\" lacks \"%s\"", dbg, needle);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
  gst_element_set_state(el, GST_STATE_NULL);
  gst_element_set_bus(el, NULL);
  gst_object_unref(bus);
  gst_object_unref(el);
}

GST_START_TEST(test_bad_model_posts_error) {
  expect_start_error("/nonexistent/dir/missing.srunary", "missing.srunary");
  gchar *path = g_build_filename(g_get_tmp_dir(), "segrank-corrupt-test.srunary", NULL);
  fail_unless(g_file_set_contents(path, "not a model at all, just text", -1, NULL));
  expect_start_error(path, "segrank-corrupt-test.srunary:");
  g_unlink(path);
  g_free(path);
}
GST_END_TEST;

/* The synthetic model's class names (sr_unary_train names classes of an
 * unknown dataset class<i>), and the same in another order. */
static const gchar *model_names[] = {"class0", "class1", "class2", "class3", NULL};
static const gchar *swapped_names[] = {"class0", "class2", "class1", NULL};

/* A prob meta of @c classes named @names over a 4 × 3 grid that puts
 * probability 0.98 on class @favour everywhere. */
static void add_prob_meta_named(GstBuffer *buf, guint c, guint favour, const gchar *const *names) {
  static const guint8 colors[12] = {0};
  gfloat probs[4 * 12];
  for (guint k = 0; k < c; k++)
    for (int i = 0; i < 12; i++) probs[k * 12 + i] = k == favour ? 0.98f : 0.02f / (c - 1);
  gst_buffer_add_sr_prob_meta(buf, c, 4, 3, probs, names, colors, W, H);
}

static void add_prob_meta(GstBuffer *buf, guint c, guint favour) { add_prob_meta_named(buf, c, favour, model_names); }

static void expect_warning(GstBus *bus, const gchar *text) {
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(msg != NULL, "no warning");
  GError *err = NULL;
  gst_message_parse_warning(msg, &err, NULL);
  fail_unless(strstr(err->message, text) != NULL, "\"%s\" lacks \"%s\"", err->message, text);
  g_error_free(err);
  gst_message_unref(msg);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING) == NULL, "warned twice");
}

/* Like expect_warning, and the debug text contains @detail. */
static void expect_warning_debug(GstBus *bus, const gchar *text, const gchar *detail) {
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(msg != NULL, "no warning");
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_warning(msg, &err, &dbg);
  fail_unless(strstr(err->message, text) != NULL, "\"%s\" lacks \"%s\"", err->message, text);
  fail_unless(dbg && strstr(dbg, detail) != NULL, "debug \"%s\" lacks \"%s\"", dbg, detail);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING) == NULL, "warned twice");
}

GST_START_TEST(test_hybrid) {
  sr_image rgb;
  synth_scene(9, W, H, &rgb, NULL);
  sr_proposal_set plain, hybrid;
  reference_run(&rgb, 2, 0, NULL, &plain);
  gfloat probs[3 * 12];
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < 12; i++) probs[k * 12 + i] = k == 2 ? 0.98f : 0.01f;
  sr_coarse_probs net = {probs, 3, 3, 4};
  reference_run(&rgb, 2, 4.0f, &net, &hybrid);
  fail_unless(memcmp(plain.labels, hybrid.labels, W * H) != 0, "the hybrid term changed nothing");

  /* With the meta: the library's hybrid result. */
  GstBus *bus;
  GstHarness *hrn = harness("divmbest unary-model=%s num-solutions=2 hybrid-weight=4", "RGB", &bus);
  GstBuffer *in = pack_frame(&rgb, "RGB");
  add_prob_meta(in, 3, 2);
  GstBuffer *out = gst_harness_push_and_pull(hrn, in);
  check_same_as(gst_buffer_get_sr_proposal_meta(out), &hybrid);
  gst_buffer_unref(out);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING) == NULL);
  /* Without one: the plain result and one warning for two frames. */
  for (int i = 0; i < 2; i++) {
    out = gst_harness_push_and_pull(hrn, pack_frame(&rgb, "RGB"));
    check_same_as(gst_buffer_get_sr_proposal_meta(out), &plain);
    gst_buffer_unref(out);
  }
  expect_warning(bus, "no class probabilities");
  /* With the wrong number of classes: plain, one warning. */
  for (int i = 0; i < 2; i++) {
    in = pack_frame(&rgb, "RGB");
    add_prob_meta(in, 4, 2);
    out = gst_harness_push_and_pull(hrn, in);
    check_same_as(gst_buffer_get_sr_proposal_meta(out), &plain);
    gst_buffer_unref(out);
  }
  expect_warning(bus, "do not fit the unary model");
  /* The right count but another class order (class 2 of the net is class 1
   * of the model): plain, one warning naming the first differing classes. */
  for (int i = 0; i < 2; i++) {
    in = pack_frame(&rgb, "RGB");
    add_prob_meta_named(in, 3, 2, swapped_names);
    out = gst_harness_push_and_pull(hrn, in);
    check_same_as(gst_buffer_get_sr_proposal_meta(out), &plain);
    gst_buffer_unref(out);
  }
  expect_warning_debug(bus, "other classes", "class 1 is \"class2\" in the probabilities, \"class1\" in the unary model");
  /* Drop the bus first: its queued messages hold references to the element. */
  gst_bus_set_flushing(bus, TRUE);
  gst_element_set_bus(hrn->element, NULL);
  gst_harness_teardown(hrn);
  gst_object_unref(bus);

  /* hybrid-weight=0 ignores the meta. */
  hrn = harness("divmbest unary-model=%s num-solutions=2", "RGB", NULL);
  in = pack_frame(&rgb, "RGB");
  add_prob_meta(in, 3, 2);
  out = gst_harness_push_and_pull(hrn, in);
  check_same_as(gst_buffer_get_sr_proposal_meta(out), &plain);
  gst_buffer_unref(out);
  gst_harness_teardown(hrn);
  sr_proposal_set_clear(&plain);
  sr_proposal_set_clear(&hybrid);
  sr_image_clear(&rgb);
}
GST_END_TEST;

/* All three weights at their maximum, the hybrid term on: the element
 * proposes, posts nothing, and every energy is finite. */
GST_START_TEST(test_weights_at_maximum) {
  GstBus *bus;
  GstHarness *hrn = harness("divmbest unary-model=%s num-solutions=3 lambda=1e6 pairwise-weight=1e6 hybrid-weight=1e6",
                            "RGB", &bus);
  sr_image rgb;
  synth_scene(11, W, H, &rgb, NULL);
  GstBuffer *in = pack_frame(&rgb, "RGB");
  add_prob_meta(in, 3, 1);
  GstBuffer *out = gst_harness_push_and_pull(hrn, in);
  fail_unless(out != NULL);
  GstSrProposalMeta *meta = gst_buffer_get_sr_proposal_meta(out);
  fail_unless(meta && meta->n_proposals >= 1);
  for (guint k = 0; k < meta->n_proposals; k++)
    fail_unless(isfinite(meta->energies[k]) && isfinite(meta->unaries[k]) && isfinite(meta->pairwises[k]),
                "proposal %u: energy %g (unary %g, pairwise %g)", k, meta->energies[k], meta->unaries[k],
                meta->pairwises[k]);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR) == NULL);
  gst_buffer_unref(out);
  gst_bus_set_flushing(bus, TRUE);
  gst_element_set_bus(hrn->element, NULL);
  gst_harness_teardown(hrn);
  gst_object_unref(bus);
  sr_image_clear(&rgb);
}
GST_END_TEST;

GST_START_TEST(test_with_segnetinfer) {
  if (!g_getenv("SEGRANK_MODEL")) {
    g_print("skipped: SEGRANK_MODEL is not set\n");
    return;
  }
  sr_image rgb;
  synth_scene(10, W, H, &rgb, NULL);
  static const gchar *pipelines[] = {"divmbest unary-model=%s num-solutions=2 ! segnetinfer",
                                     "segnetinfer ! divmbest unary-model=%s num-solutions=2"};
  for (guint i = 0; i < G_N_ELEMENTS(pipelines); i++) {
    GstHarness *hrn = harness(pipelines[i], "RGB", NULL);
    GstBuffer *out = gst_harness_push_and_pull(hrn, pack_frame(&rgb, "RGB"));
    GstSrProposalMeta *pm = gst_buffer_get_sr_proposal_meta(out);
    fail_unless(pm && pm->n_proposals == 2 && pm->width == W, "%s: no proposals", pipelines[i]);
    fail_unless(gst_buffer_get_sr_prob_meta(out) != NULL, "%s: no probabilities", pipelines[i]);
    gst_buffer_unref(out);
    gst_harness_teardown(hrn);
  }
  sr_image_clear(&rgb);
}
GST_END_TEST;

static Suite *divmbest_suite(void) {
  Suite *s = suite_create("divmbest");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_proposals_meta);
  tcase_add_test(tc, test_properties);
  tcase_add_test(tc, test_bad_model_posts_error);
  tcase_add_test(tc, test_hybrid);
  tcase_add_test(tc, test_weights_at_maximum);
  tcase_add_test(tc, test_with_segnetinfer);
  return s;
}

/* GST_CHECK_MAIN, with the model trained first and removed at the end. */
int main(int argc, char **argv) {
  gst_check_init(&argc, &argv);
  gint64 t0 = g_get_monotonic_time();
  train_model();
  g_print("unary model %s (%.1f s)\n", model_path, (g_get_monotonic_time() - t0) / 1e6);
  Suite *s = divmbest_suite();
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  g_unlink(model_path);
  g_rmdir(model_dir);
  g_free(model_path);
  g_free(model_dir);
  return failed != 0;
}
