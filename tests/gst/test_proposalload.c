/* test_proposalload.c: GstHarness tests of proposalload on a fixture folder
 * written here with sr_image_save_png: the meta holds exactly the files' maps
 * and scores.json's values, index and pattern matching pick the right
 * folder per frame, a missing frame is an error, a warning (once) or a drop
 * as on-error says, a size mismatch names the folder, label values ≥
 * num-classes are an error unless they are void-label, max-proposals and
 * the class tables apply, frames pass unchanged, the meta follows whole
 * copies and scaling but not region copies, and segoverlay proposal-index=k
 * paints proposal k, resampled nearest-neighbour to a frame of another
 * size. */
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "gstsrproposalmeta.h"
#include "segrank.h"

#define W 32
#define H 24
#define N_FRAMES 3
#define N_PROPOSALS 3

static gchar *fixture; /* the folder of per-frame proposal folders */

/* Label of proposal @k of frame @f at (x, y): differs per frame and proposal. */
static guint8 fixture_label(int f, int k, int x, int y) { return (guint8)((x / 4 + y / 3 + 3 * f + k) % 11); }

static void write_png(const gchar *dir, const gchar *name, int w, int h, guint8 (*label)(int, int, int, int), int f,
                      int k) {
  sr_image img = {w, h, 1, g_malloc((gsize)w * h)};
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) img.data[y * w + x] = label(f, k, x, y);
  gchar *path = g_build_filename(dir, name, NULL);
  sr_error err = {0};
  fail_unless(sr_image_save_png(path, &img, &err) == SR_OK, "%s", err.msg);
  g_free(path);
  g_free(img.data);
}

/* FIXTURE/frame_<f>/0<k>.png for three frames; frame 0 has a scores.json
 * that gives proposal 1 rank 0. */
static void write_fixture(void) {
  fixture = g_dir_make_tmp("segrank-proposalload-XXXXXX", NULL);
  fail_unless(fixture != NULL);
  for (int f = 0; f < N_FRAMES; f++) {
    gchar *name = g_strdup_printf("frame_%d", f);
    gchar *dir = g_build_filename(fixture, name, NULL);
    g_mkdir(dir, 0755);
    for (int k = 0; k < N_PROPOSALS; k++) {
      gchar *png = g_strdup_printf("%02d.png", k);
      write_png(dir, png, W, H, fixture_label, f, k);
      g_free(png);
    }
    if (f == 0) {
      const gchar *json =
          "{\"classes\": 11, \"proposals\": ["
          "{\"file\": \"00.png\", \"rank\": 1, \"score\": 2.5, \"energy\": 10.25, \"unary\": 7, \"pairwise\": 3.25},"
          "{\"file\": \"01.png\", \"rank\": 0, \"score\": -1.5, \"energy\": 9.5, \"unary\": 6.5, \"pairwise\": 3},"
          "{\"file\": \"02.png\", \"rank\": 2, \"score\": 4, \"energy\": null}]}";
      gchar *path = g_build_filename(dir, "scores.json", NULL);
      fail_unless(g_file_set_contents(path, json, -1, NULL));
      g_free(path);
    }
    g_free(dir);
    g_free(name);
  }
}

static void remove_tree(const gchar *path) {
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    GDir *d = g_dir_open(path, 0, NULL);
    const gchar *n;
    while (d && (n = g_dir_read_name(d))) {
      gchar *p = g_build_filename(path, n, NULL);
      remove_tree(p);
      g_free(p);
    }
    if (d) g_dir_close(d);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

static GstBuffer *grey_frame(int w, int h) {
  GstBuffer *buf = gst_buffer_new_allocate(NULL, (gsize)w * h * 3, NULL);
  gst_buffer_memset(buf, 0, 77, (gsize)w * h * 3);
  return buf;
}

/* A harness around "proposalload @props", RGB frames of @w × @h, with a bus
 * to read its messages from. */
static GstHarness *loader(const gchar *props, int w, int h, GstBus **bus) {
  gchar *desc = g_strdup_printf("proposalload %s", props);
  GstHarness *hrn = gst_harness_new_parse(desc);
  g_free(desc);
  *bus = gst_bus_new();
  gst_element_set_bus(hrn->element, *bus);
  gchar *caps = g_strdup_printf("video/x-raw,format=RGB,width=%d,height=%d,framerate=10/1", w, h);
  gst_harness_set_src_caps_str(hrn, caps);
  g_free(caps);
  return hrn;
}

/* Drops the bus first: its queued messages hold references to the element. */
static void teardown(GstHarness *hrn, GstBus *bus) {
  gst_bus_set_flushing(bus, TRUE);
  gst_element_set_bus(hrn->element, NULL);
  gst_harness_teardown(hrn);
  gst_object_unref(bus);
}

/* The meta of frame @f carries exactly the fixture's maps. */
static void check_frame(GstSrProposalMeta *m, int f, guint n) {
  fail_unless(m != NULL, "frame %d: no proposal meta", f);
  fail_unless_equals_string(m->source, "proposalload");
  fail_unless_equals_int(m->n_proposals, n);
  fail_unless_equals_int(m->width, W);
  fail_unless_equals_int(m->height, H);
  fail_unless_equals_int(m->n_classes, 11);
  for (guint k = 0; k < n; k++) {
    gsize len = 0;
    const guint8 *l = gst_sr_proposal_meta_get_labels(m, k, &len);
    fail_unless_equals_int(len, W * H);
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        fail_unless(l[y * W + x] == fixture_label(f, (int)k, x, y), "frame %d proposal %u (%d,%d) = %u", f, k, x, y,
                    l[y * W + x]);
  }
  fail_unless(m->superpixels == NULL && m->n_superpixels == 0);
}

GST_START_TEST(test_attaches_files_and_scores) {
  GstBus *bus;
  gchar *props = g_strdup_printf("location=%s", fixture);
  GstHarness *hrn = loader(props, W, H, &bus);
  GstBuffer *in = grey_frame(W, H);
  GstBuffer *out = gst_harness_push_and_pull(hrn, in);
  GstSrProposalMeta *m = gst_buffer_get_sr_proposal_meta(out);
  check_frame(m, 0, N_PROPOSALS);
  /* scores.json's values, NAN where it has none. */
  fail_unless(gst_sr_proposal_meta_get_score(m, 0) == 2.5 && gst_sr_proposal_meta_get_score(m, 1) == -1.5 &&
              gst_sr_proposal_meta_get_score(m, 2) == 4);
  fail_unless(gst_sr_proposal_meta_get_energy(m, 0) == 10.25 && gst_sr_proposal_meta_get_energy(m, 1) == 9.5);
  fail_unless(isnan(gst_sr_proposal_meta_get_energy(m, 2)), "energy null -> NAN");
  fail_unless(gst_sr_proposal_meta_get_unary(m, 0) == 7 && gst_sr_proposal_meta_get_pairwise(m, 0) == 3.25);
  fail_unless(isnan(gst_sr_proposal_meta_get_unary(m, 2)) && isnan(gst_sr_proposal_meta_get_pairwise(m, 2)));
  fail_unless_equals_int(gst_sr_proposal_meta_get_rank(m, 0), 1);
  fail_unless_equals_int(gst_sr_proposal_meta_get_rank(m, 1), 0);
  fail_unless_equals_int(gst_sr_proposal_meta_find_rank(m, 0), 1);
  fail_unless_equals_int(gst_sr_proposal_meta_find_rank(m, 7), -1);
  /* Areas against a direct count; the CamVid class table names the labels. */
  gsize nc;
  const gdouble *areas = gst_sr_proposal_meta_get_areas(m, 2, &nc);
  fail_unless_equals_int(nc, 11);
  for (int c = 0; c < 11; c++) {
    int count = 0;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) count += fixture_label(0, 2, x, y) == c;
    fail_unless(fabs(areas[c] - (double)count / (W * H)) < 1e-12, "area of class %d", c);
  }
  fail_unless_equals_string(gst_sr_proposal_meta_get_class_name(m, 3), "Road");
  fail_unless(m->class_colors[0] == 128 && m->class_colors[1] == 128 && m->class_colors[2] == 128);
  /* The frame passes unchanged. */
  GstMapInfo map;
  gst_buffer_map(out, &map, GST_MAP_READ);
  for (gsize i = 0; i < map.size; i++) fail_unless(map.data[i] == 77);
  gst_buffer_unmap(out, &map);
  /* The meta survives a copy. */
  GstBuffer *copy = gst_buffer_copy(out);
  GstSrProposalMeta *mc = gst_buffer_get_sr_proposal_meta(copy);
  check_frame(mc, 0, N_PROPOSALS);
  fail_unless(gst_sr_proposal_meta_get_score(mc, 1) == -1.5 && gst_sr_proposal_meta_get_rank(mc, 1) == 0);
  gst_buffer_unref(copy);
  gst_buffer_unref(out);
  fail_unless(gst_bus_pop(bus) == NULL, "unexpected message");
  teardown(hrn, bus);
  g_free(props);
}
GST_END_TEST;

GST_START_TEST(test_index_matching) {
  /* Frame i takes the i-th sub-folder in name order; without scores.json the
   * score is the rank. */
  GstBus *bus;
  gchar *props = g_strdup_printf("location=%s match=index", fixture);
  GstHarness *hrn = loader(props, W, H, &bus);
  for (int f = 0; f < N_FRAMES; f++) {
    GstBuffer *out = gst_harness_push_and_pull(hrn, grey_frame(W, H));
    GstSrProposalMeta *m = gst_buffer_get_sr_proposal_meta(out);
    check_frame(m, f, N_PROPOSALS);
    if (f > 0)
      for (guint k = 0; k < N_PROPOSALS; k++)
        fail_unless(gst_sr_proposal_meta_get_score(m, k) == k && gst_sr_proposal_meta_get_rank(m, k) == (gint)k);
    gst_buffer_unref(out);
  }
  teardown(hrn, bus);
  g_free(props);
}
GST_END_TEST;

GST_START_TEST(test_pattern_matching) {
  /* location=FIXTURE/frame_%d start-index=1: frame 0 takes frame_1. */
  GstBus *bus;
  gchar *props = g_strdup_printf("location=%s/frame_%%d match=pattern start-index=1 max-proposals=2", fixture);
  GstHarness *hrn = loader(props, W, H, &bus);
  for (int f = 1; f < N_FRAMES; f++) {
    GstBuffer *out = gst_harness_push_and_pull(hrn, grey_frame(W, H));
    check_frame(gst_buffer_get_sr_proposal_meta(out), f, 2);
    gst_buffer_unref(out);
  }
  teardown(hrn, bus);
  g_free(props);
}
GST_END_TEST;

/* Pops the next message of @type from @bus and checks that its text contains
 * @text and its debug string @debug. */
static void expect_message(GstBus *bus, GstMessageType type, const gchar *text, const gchar *debug) {
  GstMessage *msg = gst_bus_pop_filtered(bus, type);
  fail_unless(msg != NULL, "no %s message", gst_message_type_get_name(type));
  GError *err = NULL;
  gchar *dbg = NULL;
  if (type == GST_MESSAGE_ERROR) gst_message_parse_error(msg, &err, &dbg);
  else gst_message_parse_warning(msg, &err, &dbg);
  fail_unless(strstr(err->message, text) != NULL, "message \"%s\" lacks \"%s\"", err->message, text);
  fail_unless(dbg && strstr(dbg, debug) != NULL, "debug \"%s\" lacks \"%s\"", dbg, debug);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
}

/* Pushes the fixture's frames plus two more with on-error=@mode. */
static GstHarness *push_past_end(const gchar *mode, GstBus **bus, GstFlowReturn *last) {
  gchar *props = g_strdup_printf("location=%s on-error=%s", fixture, mode);
  GstHarness *hrn = loader(props, W, H, bus);
  g_free(props);
  for (int f = 0; f < N_FRAMES; f++) {
    fail_unless_equals_int(gst_harness_push(hrn, grey_frame(W, H)), GST_FLOW_OK);
    gst_buffer_unref(gst_harness_pull(hrn));
  }
  fail_unless(gst_bus_pop(*bus) == NULL);
  last[0] = gst_harness_push(hrn, grey_frame(W, H));
  last[1] = gst_harness_push(hrn, grey_frame(W, H));
  return hrn;
}

GST_START_TEST(test_missing_frame_error) {
  GstBus *bus;
  GstFlowReturn ret[2];
  GstHarness *hrn = push_past_end("error", &bus, ret);
  fail_unless_equals_int(ret[0], GST_FLOW_ERROR);
  expect_message(bus, GST_MESSAGE_ERROR, "No proposals for frame 3", "has only 3 sub-folders");
  teardown(hrn, bus);
}
GST_END_TEST;

GST_START_TEST(test_missing_frame_warn) {
  GstBus *bus;
  GstFlowReturn ret[2];
  GstHarness *hrn = push_past_end("warn", &bus, ret);
  fail_unless(ret[0] == GST_FLOW_OK && ret[1] == GST_FLOW_OK);
  for (int i = 0; i < 2; i++) {
    GstBuffer *out = gst_harness_pull(hrn);
    fail_unless(out && gst_buffer_get_sr_proposal_meta(out) == NULL, "frame passes without proposals");
    gst_buffer_unref(out);
  }
  expect_message(bus, GST_MESSAGE_WARNING, "No proposals for frame 3", fixture);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING) == NULL, "warned twice for one kind");
  teardown(hrn, bus);
}
GST_END_TEST;

GST_START_TEST(test_missing_frame_drop) {
  GstBus *bus;
  GstFlowReturn ret[2];
  GstHarness *hrn = push_past_end("drop", &bus, ret);
  fail_unless(ret[0] == GST_FLOW_OK && ret[1] == GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_in_queue(hrn), 0);
  fail_unless_equals_int(gst_harness_buffers_received(hrn), N_FRAMES);
  expect_message(bus, GST_MESSAGE_WARNING, "No proposals for frame 3", fixture);
  teardown(hrn, bus);
}
GST_END_TEST;

GST_START_TEST(test_missing_pattern_folder) {
  GstBus *bus;
  gchar *props = g_strdup_printf("location=%s/frame_%%d match=pattern start-index=2", fixture);
  GstHarness *hrn = loader(props, W, H, &bus);
  gst_buffer_unref(gst_harness_push_and_pull(hrn, grey_frame(W, H)));
  fail_unless_equals_int(gst_harness_push(hrn, grey_frame(W, H)), GST_FLOW_ERROR);
  gchar *want = g_strdup_printf("%s/frame_3: no such folder", fixture);
  expect_message(bus, GST_MESSAGE_ERROR, "No proposals for frame 1", want);
  g_free(want);
  teardown(hrn, bus);
  g_free(props);
}
GST_END_TEST;

GST_START_TEST(test_size_mismatch) {
  GstBus *bus;
  gchar *props = g_strdup_printf("location=%s", fixture);
  GstHarness *hrn = loader(props, W + 8, H, &bus);
  fail_unless_equals_int(gst_harness_push(hrn, grey_frame(W + 8, H)), GST_FLOW_ERROR);
  gchar *want = g_strdup_printf("%s/frame_0: proposals are 32x24, the frame is 40x24", fixture);
  expect_message(bus, GST_MESSAGE_ERROR, "do not match its size", want);
  g_free(want);
  teardown(hrn, bus);
  g_free(props);
}
GST_END_TEST;

static guint8 out_of_range_label(int f, int k, int x, int y) {
  (void)f, (void)k;
  return x == 5 && y == 7 ? 11 : 2;
}

GST_START_TEST(test_bad_label_values) {
  /* A label 11 with 11 classes is an error naming the file and pixel; with
   * void-label=11 it is kept as void. */
  gchar *dir = g_dir_make_tmp("segrank-proposalload-bad-XXXXXX", NULL);
  gchar *sub = g_build_filename(dir, "a", NULL);
  g_mkdir(sub, 0755);
  write_png(sub, "00.png", W, H, out_of_range_label, 0, 0);
  GstBus *bus;
  gchar *props = g_strdup_printf("location=%s", dir);
  GstHarness *hrn = loader(props, W, H, &bus);
  fail_unless_equals_int(gst_harness_push(hrn, grey_frame(W, H)), GST_FLOW_ERROR);
  gchar *want = g_strdup_printf("%s/00.png: label 11 at pixel (5, 7) is not a class", sub);
  expect_message(bus, GST_MESSAGE_ERROR, "Could not read the proposals of frame 0", want);
  g_free(want);
  teardown(hrn, bus);
  g_free(props);

  props = g_strdup_printf("location=%s void-label=11", dir);
  hrn = loader(props, W, H, &bus);
  GstBuffer *out = gst_harness_push_and_pull(hrn, grey_frame(W, H));
  GstSrProposalMeta *m = gst_buffer_get_sr_proposal_meta(out);
  fail_unless(m && m->n_proposals == 1 && m->labels[7 * W + 5] == 11 && m->labels[0] == 2);
  /* Void counts in no class's area. */
  fail_unless(fabs(m->areas[2] - (W * H - 1.0) / (W * H)) < 1e-12);
  gst_buffer_unref(out);
  teardown(hrn, bus);
  g_free(props);
  remove_tree(dir);
  g_free(sub);
  g_free(dir);
}
GST_END_TEST;

/* Starting proposalload with @props must fail with an error whose text
 * contains @text. */
static void expect_start_error(const gchar *props, const gchar *text) {
  gchar *desc = g_strdup_printf("proposalload %s", props);
  GstElement *el = gst_parse_launch(desc, NULL);
  g_free(desc);
  fail_unless(el != NULL);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL, "no error for %s", props);
  GError *err = NULL;
  gst_message_parse_error(msg, &err, NULL);
  fail_unless(strstr(err->message, text) != NULL, "\"%s\" lacks \"%s\"", err->message, text);
  g_error_free(err);
  gst_message_unref(msg);
  gst_element_set_state(el, GST_STATE_NULL);
  gst_element_set_bus(el, NULL);
  gst_object_unref(bus);
  gst_object_unref(el);
}

GST_START_TEST(test_start_errors) {
  expect_start_error("", "No proposal location set");
  expect_start_error("location=/nonexistent/segrank-proposals", "/nonexistent/segrank-proposals");
  gchar *p = g_strdup_printf("location=%s num-classes=5", fixture);
  expect_start_error(p, "num-classes=5 does not match the 11 classes of classes=camvid");
  g_free(p);
  p = g_strdup_printf("location=%s/frame_%%s match=pattern", fixture);
  expect_start_error(p, "Invalid proposal folder pattern");
  g_free(p);
  p = g_strdup_printf("location=%s/frame_%%d_%%d match=pattern", fixture);
  expect_start_error(p, "Invalid proposal folder pattern");
  g_free(p);
  p = g_strdup_printf("location=%s classes=generic", fixture);
  expect_start_error(p, "classes=generic needs num-classes");
  g_free(p);
  p = g_strdup_printf("location=%s void-label=3", fixture);
  expect_start_error(p, "void-label 3 is a class");
  g_free(p);
}
GST_END_TEST;

GST_START_TEST(test_generic_classes_and_properties) {
  GstElement *el = gst_element_factory_make("proposalload", NULL);
  fail_unless(el != NULL);
  gint n, start, voidl, maxp, match, onerr, classes;
  gchar *loc;
  g_object_get(el, "num-classes", &n, "start-index", &start, "void-label", &voidl, "max-proposals", &maxp, "match",
               &match, "on-error", &onerr, "classes", &classes, "location", &loc, NULL);
  fail_unless(n == 0 && start == 0 && voidl == -1 && maxp == 0 && loc == NULL);
  fail_unless(match == 0 && onerr == 0 && classes == 0);
  gst_util_set_object_arg(G_OBJECT(el), "on-error", "warn");
  gst_util_set_object_arg(G_OBJECT(el), "match", "pattern");
  g_object_set(el, "num-classes", 12, "start-index", 4, "void-label", 255, "max-proposals", 2, "location", "x/%d",
               NULL);
  g_object_get(el, "num-classes", &n, "start-index", &start, "void-label", &voidl, "max-proposals", &maxp, "match",
               &match, "on-error", &onerr, "location", &loc, NULL);
  fail_unless(n == 12 && start == 4 && voidl == 255 && maxp == 2 && match == 1 && onerr == 1);
  fail_unless_equals_string(loc, "x/%d");
  g_free(loc);
  gst_object_unref(el);

  /* classes=generic: class<i> names for num-classes classes. */
  GstBus *bus;
  gchar *props = g_strdup_printf("location=%s classes=generic num-classes=12", fixture);
  GstHarness *hrn = loader(props, W, H, &bus);
  GstBuffer *out = gst_harness_push_and_pull(hrn, grey_frame(W, H));
  GstSrProposalMeta *m = gst_buffer_get_sr_proposal_meta(out);
  fail_unless(m && m->n_classes == 12);
  fail_unless_equals_string(gst_sr_proposal_meta_get_class_name(m, 11), "class11");
  gst_buffer_unref(out);
  teardown(hrn, bus);
  g_free(props);
}
GST_END_TEST;

/* segoverlay proposal-index=@k mode=labels after proposalload: every pixel
 * has the CamVid colour of proposal k's label there. */
static void check_overlay(int k) {
  GstBus *bus;
  gchar *props = g_strdup_printf("location=%s ! segoverlay mode=labels proposal-index=%d", fixture, k);
  GstHarness *hrn = loader(props, W, H, &bus);
  g_free(props);
  GstBuffer *out = gst_harness_push_and_pull(hrn, grey_frame(W, H));
  const sr_class *camvid;
  sr_dataset_classes("camvid", &camvid);
  GstMapInfo map;
  gst_buffer_map(out, &map, GST_MAP_READ);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const guint8 *p = map.data + (y * W + x) * 3, *c = camvid[fixture_label(0, k, x, y)].rgb;
      fail_unless(p[0] == c[0] && p[1] == c[1] && p[2] == c[2], "proposal %d at (%d,%d): %u %u %u", k, x, y, p[0],
                  p[1], p[2]);
    }
  gst_buffer_unmap(out, &map);
  gst_buffer_unref(out);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR) == NULL);
  teardown(hrn, bus);
}

GST_START_TEST(test_overlay_draws_proposal) {
  check_overlay(1);
  check_overlay(2);
  /* More proposals asked for than there are: frames pass unchanged, one
   * warning; without proposalload, the same. */
  for (int with_loader = 1; with_loader >= 0; with_loader--) {
    GstBus *bus;
    GstHarness *hrn;
    gchar *props = g_strdup_printf("location=%s ! segoverlay mode=labels proposal-index=3", fixture);
    if (with_loader) {
      hrn = loader(props, W, H, &bus);
    } else {
      hrn = gst_harness_new_parse("segoverlay mode=labels proposal-index=0");
      bus = gst_bus_new();
      gst_element_set_bus(hrn->element, bus);
      gst_harness_set_src_caps_str(hrn, "video/x-raw,format=RGB,width=32,height=24,framerate=10/1");
    }
    g_free(props);
    for (int i = 0; i < 2; i++) {
      GstBuffer *out = gst_harness_push_and_pull(hrn, grey_frame(W, H));
      GstMapInfo map;
      gst_buffer_map(out, &map, GST_MAP_READ);
      for (gsize j = 0; j < map.size; j++) fail_unless(map.data[j] == 77, "frame changed");
      gst_buffer_unmap(out, &map);
      gst_buffer_unref(out);
    }
    expect_message(bus, GST_MESSAGE_WARNING, with_loader ? "a frame has only 3 proposals" : "carry no proposals",
                   "pass unchanged");
    fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING) == NULL, "warned twice");
    teardown(hrn, bus);
  }
  /* The property round-trips; -1 is the default. */
  GstElement *ov = gst_element_factory_make("segoverlay", NULL);
  gint k;
  g_object_get(ov, "proposal-index", &k, NULL);
  fail_unless_equals_int(k, -1);
  g_object_set(ov, "proposal-index", 4, NULL);
  g_object_get(ov, "proposal-index", &k, NULL);
  fail_unless_equals_int(k, 4);
  gst_object_unref(ov);
}
GST_END_TEST;

GST_START_TEST(test_meta_scale_transform) {
  /* Nearest-neighbour rescaling of the maps, areas recomputed, superpixels
   * followed; other transformations drop the meta. */
  static const gchar *names[] = {"a", "b", NULL};
  static const guint8 colors[] = {1, 2, 3, 4, 5, 6};
  guint8 labels[2 * 4 * 2] = {0, 0, 1, 1, 0, 0, 1, 1, /* proposal 1: */ 1, 1, 1, 1, 0, 0, 0, 0};
  gint32 sp[4 * 2] = {0, 0, 1, 1, 2, 2, 3, 3};
  GstBuffer *src = gst_buffer_new(), *dst = gst_buffer_new(), *flipped = gst_buffer_new();
  gdouble scores[2] = {1.5, 2.5};
  GstSrProposalMeta *m =
      gst_buffer_add_sr_proposal_meta(src, "test", 2, 4, 2, 2, names, colors, labels, scores, NULL, NULL, NULL, NULL,
                                      NULL);
  fail_unless(m && gst_sr_proposal_meta_set_superpixels(m, 4, sp));
  gint32 bad[8] = {0, 0, 0, 0, 0, 0, 0, 4};
  fail_if(gst_sr_proposal_meta_set_superpixels(m, 4, bad), "superpixel 4 of 4 accepted");
  fail_unless(m->areas[0] == 0.5 && m->areas[2] == 0.5 && isnan(m->energies[0]) && m->ranks[1] == 1);
  GstVideoInfo in, out;
  gst_video_info_set_format(&in, GST_VIDEO_FORMAT_RGB, 4, 2);
  gst_video_info_set_format(&out, GST_VIDEO_FORMAT_RGB, 3, 3);
  GstVideoMetaTransform t = {&in, &out};
  fail_unless(m->meta.info->transform_func(dst, (GstMeta *)m, src, gst_video_meta_transform_scale_get_quark(), &t));
  GstSrProposalMeta *s = gst_buffer_get_sr_proposal_meta(dst);
  fail_unless(s && s->width == 3 && s->height == 3 && s->n_proposals == 2 && s->scores[1] == 2.5);
  /* Pixel centres: column x' takes x = floor((x' + 1/2)·4/3) = 0, 2, 3; row
   * y' takes y = floor((y' + 1/2)·2/3) = 0, 1, 1. */
  static const guint8 want[2 * 9] = {0, 1, 1, 0, 1, 1, 0, 1, 1, /* proposal 1: */ 1, 1, 1, 0, 0, 0, 0, 0, 0};
  fail_unless(memcmp(s->labels, want, sizeof want) == 0);
  static const gint32 want_sp[9] = {0, 1, 1, 2, 3, 3, 2, 3, 3};
  fail_unless(s->n_superpixels == 4 && memcmp(s->superpixels, want_sp, sizeof want_sp) == 0);
  fail_unless(fabs(s->areas[0] - 1.0 / 3) < 1e-12 && fabs(s->areas[3] - 1.0 / 3) < 1e-12);
  fail_unless_equals_string(s->source, "test");
  /* A flip is not a copy or a scale: the meta is dropped. */
  GQuark flip = g_quark_from_static_string("gst-video-flip");
  fail_if(m->meta.info->transform_func(flipped, (GstMeta *)m, src, flip, NULL));
  fail_unless(gst_buffer_get_sr_proposal_meta(flipped) == NULL);
  gst_buffer_unref(src);
  gst_buffer_unref(dst);
  gst_buffer_unref(flipped);
}
GST_END_TEST;

/* Nearest-neighbour source index of destination @d, pixel centres aligned:
 * the plain formula floor((d + 1/2) · from / to), in doubles. */
static guint reference_nearest(guint d, guint from, guint to) { return (guint)floor((d + 0.5) * from / to); }

/* segoverlay alone, on frames of other sizes than the meta's 4 × 3 maps:
 * every pixel has the colour of the meta's label at the nearest source
 * pixel (reference_nearest), void labels leave the frame alone. */
GST_START_TEST(test_overlay_resamples_proposal) {
  static const gchar *names[] = {"a", "b", "c", NULL};
  static const guint8 colors[] = {200, 10, 20, 30, 220, 40, 50, 60, 240};
  enum { MW = 4, MH = 3 };
  static const guint8 labels[2 * MW * MH] = {0, 1, 2, 0, 1, 2, 255, 1, 2, 0, 1, 2, /* proposal 1: */
                                             2, 2, 1, 1, 0, 0, 2, 1, 255, 0, 1, 2};
  static const int sizes[][2] = {{7, 5}, {3, 2}, {10, 9}, {4, 7}};
  for (guint s = 0; s < G_N_ELEMENTS(sizes); s++)
    for (guint k = 0; k < 2; k++) {
      int fw = sizes[s][0], fh = sizes[s][1];
      gchar *desc = g_strdup_printf("segoverlay mode=labels proposal-index=%u", k);
      GstHarness *hrn = gst_harness_new_parse(desc);
      g_free(desc);
      gchar *caps = g_strdup_printf("video/x-raw,format=RGB,width=%d,height=%d,framerate=10/1", fw, fh);
      gst_harness_set_src_caps_str(hrn, caps);
      g_free(caps);
      GstVideoInfo info;
      gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, fw, fh);
      GstBuffer *in = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
      gst_buffer_memset(in, 0, 77, GST_VIDEO_INFO_SIZE(&info));
      fail_unless(gst_buffer_add_sr_proposal_meta(in, "test", 2, MW, MH, 3, names, colors, labels, NULL, NULL, NULL,
                                                  NULL, NULL, NULL) != NULL);
      GstBuffer *out = gst_harness_push_and_pull(hrn, in);
      GstVideoFrame f;
      fail_unless(gst_video_frame_map(&f, &info, out, GST_MAP_READ));
      const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA(&f, 0);
      int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&f, 0);
      for (int y = 0; y < fh; y++)
        for (int x = 0; x < fw; x++) {
          guint8 l = labels[(k * MH + reference_nearest(y, MH, fh)) * MW + reference_nearest(x, MW, fw)];
          const guint8 *p = data + (gsize)y * stride + 3 * x;
          const guint8 grey[3] = {77, 77, 77}, *want = l < 3 ? colors + 3 * l : grey;
          fail_unless(memcmp(p, want, 3) == 0, "%dx%d proposal %u at (%d,%d): %u %u %u, want label %u", fw, fh, k, x,
                      y, p[0], p[1], p[2], l);
        }
      gst_video_frame_unmap(&f);
      gst_buffer_unref(out);
      gst_harness_teardown(hrn);
    }
}
GST_END_TEST;

/* A whole-buffer copy keeps the meta; a region copy (part of the memory)
 * does not, since the full-frame maps would not fit the part. */
GST_START_TEST(test_meta_region_copy) {
  static const gchar *names[] = {"a", "b", NULL};
  static const guint8 colors[] = {1, 2, 3, 4, 5, 6};
  static const guint8 labels[4 * 2] = {0, 1, 1, 0, 1, 1, 0, 0};
  GstBuffer *src = gst_buffer_new_allocate(NULL, 4 * 2 * 3, NULL);
  gst_buffer_memset(src, 0, 9, 4 * 2 * 3);
  GstSrProposalMeta *m =
      gst_buffer_add_sr_proposal_meta(src, "test", 1, 4, 2, 2, names, colors, labels, NULL, NULL, NULL, NULL, NULL, NULL);
  fail_unless(m != NULL);
  GstBuffer *whole = gst_buffer_copy(src);
  GstSrProposalMeta *w = gst_buffer_get_sr_proposal_meta(whole);
  fail_unless(w && w->width == 4 && w->height == 2 && memcmp(w->labels, labels, sizeof labels) == 0);
  /* Through the buffer API: the first row's bytes only. */
  GstBuffer *part = gst_buffer_copy_region(src, GST_BUFFER_COPY_ALL, 0, 4 * 3);
  fail_unless(part != NULL);
  fail_unless(gst_buffer_get_sr_proposal_meta(part) == NULL, "a region copy kept the full-frame proposal maps");
  /* And the transform itself, told region = TRUE. */
  GstBuffer *dst = gst_buffer_new();
  GstMetaTransformCopy copy = {TRUE, 3, 6};
  fail_if(m->meta.info->transform_func(dst, (GstMeta *)m, src, _gst_meta_transform_copy, &copy));
  fail_unless(gst_buffer_get_sr_proposal_meta(dst) == NULL);
  copy = (GstMetaTransformCopy){FALSE, 0, 4 * 2 * 3};
  fail_unless(m->meta.info->transform_func(dst, (GstMeta *)m, src, _gst_meta_transform_copy, &copy));
  fail_unless(gst_buffer_get_sr_proposal_meta(dst) != NULL);
  gst_buffer_unref(src);
  gst_buffer_unref(whole);
  gst_buffer_unref(part);
  gst_buffer_unref(dst);
}
GST_END_TEST;

static Suite *proposalload_suite(void) {
  Suite *s = suite_create("proposalload");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_unchecked_fixture(tc, write_fixture, NULL);
  tcase_add_test(tc, test_attaches_files_and_scores);
  tcase_add_test(tc, test_index_matching);
  tcase_add_test(tc, test_pattern_matching);
  tcase_add_test(tc, test_missing_frame_error);
  tcase_add_test(tc, test_missing_frame_warn);
  tcase_add_test(tc, test_missing_frame_drop);
  tcase_add_test(tc, test_missing_pattern_folder);
  tcase_add_test(tc, test_size_mismatch);
  tcase_add_test(tc, test_bad_label_values);
  tcase_add_test(tc, test_start_errors);
  tcase_add_test(tc, test_generic_classes_and_properties);
  tcase_add_test(tc, test_overlay_draws_proposal);
  tcase_add_test(tc, test_meta_scale_transform);
  tcase_add_test(tc, test_overlay_resamples_proposal);
  tcase_add_test(tc, test_meta_region_copy);
  return s;
}

/* GST_CHECK_MAIN, with the fixture removed at the end. */
int main(int argc, char **argv) {
  gst_check_init(&argc, &argv);
  Suite *s = proposalload_suite();
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (fixture) remove_tree(fixture);
  g_free(fixture);
  return failed != 0;
}
