/* test_segnetinfer.c: GstHarness tests of segnetinfer: negotiation with
 * several RGB layouts, frames pass unchanged, the probability meta has the
 * model's classes and the right map size and sums to one, input-size changes
 * the map (W or WxH), properties are fixed while the element runs, the
 * plugin's and the element's inspect texts are real, and a bad model path
 * posts an error instead of crashing. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <gst/video/video.h>

#include "gstsrprobmeta.h"
#include "segrank.h"

static GstBuffer *random_frame(gsize size, guint seed) {
  GstBuffer *buf = gst_buffer_new_allocate(NULL, size, NULL);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  GRand *r = g_rand_new_with_seed(seed);
  for (gsize i = 0; i < size; i++) map.data[i] = (guint8)g_rand_int_range(r, 0, 256);
  g_rand_free(r);
  gst_buffer_unmap(buf, &map);
  return buf;
}

/* Pushes one frame of @format and @w × @h, returns the output's meta checks. */
static void run_frame(const gchar *format, gint w, gint h, gint input_size, guint exp_w, guint exp_h) {
  /* input-size is read when the element starts, so it is set at creation. */
  gchar *desc = g_strdup_printf("segnetinfer input-size=%d", input_size);
  GstHarness *hrn = gst_harness_new_parse(desc);
  g_free(desc);
  gchar *caps = g_strdup_printf("video/x-raw,format=%s,width=%d,height=%d,framerate=10/1", format, w, h);
  gst_harness_set_src_caps_str(hrn, caps);
  g_free(caps);
  GstVideoInfo info;
  gst_video_info_from_caps(&info, gst_pad_get_current_caps(hrn->srcpad) ? gst_pad_get_current_caps(hrn->srcpad)
                                                                         : NULL);
  GstBuffer *in = random_frame(GST_VIDEO_INFO_SIZE(&info), 5);
  GstBuffer *ref = gst_buffer_copy_deep(in);
  GstBuffer *out = gst_harness_push_and_pull(hrn, in);
  fail_unless(out != NULL);
  GstSrProbMeta *meta = gst_buffer_get_sr_prob_meta(out);
  fail_unless(meta != NULL, "no GstSrProbMeta on the output");
  fail_unless_equals_int(meta->n_classes, 11);
  fail_unless_equals_int(meta->width, exp_w);
  fail_unless_equals_int(meta->height, exp_h);
  fail_unless_equals_int(meta->frame_width, w);
  fail_unless_equals_int(meta->frame_height, h);
  fail_unless_equals_string(meta->class_names[3], "Road");
  fail_unless(meta->class_names[11] == NULL);
  for (guint i = 0; i < meta->width * meta->height; i++) {
    gdouble s = 0;
    for (guint k = 0; k < meta->n_classes; k++) s += meta->probs[k * meta->width * meta->height + i];
    fail_unless(fabs(s - 1.0) < 1e-4, "cell %u sums to %f", i, s);
  }
  fail_unless(gst_sr_prob_meta_argmax(meta, 0, 0) < meta->n_classes);
  /* The frame itself is untouched. */
  GstMapInfo a, b;
  gst_buffer_map(out, &a, GST_MAP_READ);
  gst_buffer_map(ref, &b, GST_MAP_READ);
  fail_unless(a.size == b.size && memcmp(a.data, b.data, a.size) == 0, "frame pixels changed");
  gst_buffer_unmap(out, &a);
  gst_buffer_unmap(ref, &b);
  /* The meta survives a copy. */
  GstBuffer *copy = gst_buffer_copy(out);
  fail_unless(gst_buffer_get_sr_prob_meta(copy) != NULL);
  gst_buffer_unref(copy);
  gst_buffer_unref(out);
  gst_buffer_unref(ref);
  gst_harness_teardown(hrn);
}

GST_START_TEST(test_formats_and_meta) {
  run_frame("RGB", 161, 121, 0, 13, 13);
  run_frame("BGRx", 160, 120, 0, 13, 13);
  run_frame("ARGB", 64, 48, 0, 13, 13);
}
GST_END_TEST;

GST_START_TEST(test_input_size) {
  /* 323 -> conv1 79 -> pool 39 -> pool 19. */
  run_frame("RGBA", 96, 80, 323, 19, 19);
}
GST_END_TEST;

GST_START_TEST(test_same_result_for_same_frame) {
  GstHarness *hrn = gst_harness_new("segnetinfer");
  gst_harness_set_src_caps_str(hrn, "video/x-raw,format=RGB,width=32,height=32,framerate=1/1");
  GstBuffer *o1 = gst_harness_push_and_pull(hrn, random_frame(32 * 32 * 3, 9));
  GstBuffer *o2 = gst_harness_push_and_pull(hrn, random_frame(32 * 32 * 3, 9));
  GstSrProbMeta *m1 = gst_buffer_get_sr_prob_meta(o1), *m2 = gst_buffer_get_sr_prob_meta(o2);
  fail_unless(memcmp(m1->probs, m2->probs, sizeof(gfloat) * m1->n_classes * m1->width * m1->height) == 0);
  gst_buffer_unref(o1);
  gst_buffer_unref(o2);
  gst_harness_teardown(hrn);
}
GST_END_TEST;

GST_START_TEST(test_batching) {
  /* batch-size=3: frames are held until three arrived; a short batch runs at
   * EOS; every frame's map equals the one batch-size=1 computes. */
  GstHarness *single = gst_harness_new("segnetinfer");
  GstHarness *hrn = gst_harness_new_parse("segnetinfer batch-size=3");
  const gchar *caps = "video/x-raw,format=RGB,width=40,height=30,framerate=10/1";
  gst_harness_set_src_caps_str(single, caps);
  gst_harness_set_src_caps_str(hrn, caps);
  GstBuffer *want[4];
  for (int i = 0; i < 4; i++) want[i] = gst_harness_push_and_pull(single, random_frame(40 * 30 * 3, 20 + i));
  for (int i = 0; i < 2; i++) fail_unless_equals_int(gst_harness_push(hrn, random_frame(40 * 30 * 3, 20 + i)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_received(hrn), 0);
  gst_harness_push(hrn, random_frame(40 * 30 * 3, 22));
  fail_unless_equals_int(gst_harness_buffers_received(hrn), 3);
  gst_harness_push(hrn, random_frame(40 * 30 * 3, 23));
  fail_unless_equals_int(gst_harness_buffers_received(hrn), 3);
  fail_unless(gst_harness_push_event(hrn, gst_event_new_eos()));
  fail_unless_equals_int(gst_harness_buffers_received(hrn), 4);
  for (int i = 0; i < 4; i++) {
    GstBuffer *got = gst_harness_pull(hrn);
    GstSrProbMeta *a = gst_buffer_get_sr_prob_meta(got), *b = gst_buffer_get_sr_prob_meta(want[i]);
    fail_unless(a && b);
    gsize n = (gsize)a->n_classes * a->width * a->height;
    gdouble d = 0;
    for (gsize k = 0; k < n; k++) d = MAX(d, fabs(a->probs[k] - b->probs[k]));
    fail_unless(d < 1e-5, "frame %d: batched map differs by %g", i, d);
    gst_buffer_unref(got);
    gst_buffer_unref(want[i]);
  }
  gst_harness_teardown(single);
  gst_harness_teardown(hrn);
}
GST_END_TEST;

GST_START_TEST(test_vulkan_backend) {
  /* backend=vulkan gives the cpu backend's map (lavapipe in CI). */
  sr_backend *probe;
  sr_error err = {0};
  if (sr_backend_new("vulkan", 1, &probe, &err) != SR_OK) {
    fail_if(g_getenv("SEGRANK_REQUIRE_VULKAN") != NULL, "Vulkan required: %s", err.msg);
    g_print("skipped: backend=vulkan: %s\n", err.msg);
    return;
  }
  sr_backend_free(probe);
  GstHarness *cpu = gst_harness_new_parse("segnetinfer backend=cpu input-size=99");
  GstHarness *vk = gst_harness_new_parse("segnetinfer backend=vulkan input-size=99");
  const gchar *caps = "video/x-raw,format=BGRx,width=64,height=48,framerate=10/1";
  gst_harness_set_src_caps_str(cpu, caps);
  gst_harness_set_src_caps_str(vk, caps);
  GstBuffer *a = gst_harness_push_and_pull(cpu, random_frame(64 * 48 * 4, 3));
  GstBuffer *b = gst_harness_push_and_pull(vk, random_frame(64 * 48 * 4, 3));
  GstSrProbMeta *ma = gst_buffer_get_sr_prob_meta(a), *mb = gst_buffer_get_sr_prob_meta(b);
  fail_unless(ma && mb && ma->width == mb->width && ma->height == mb->height);
  gdouble d = 0;
  for (gsize k = 0; k < (gsize)ma->n_classes * ma->width * ma->height; k++) d = MAX(d, fabs(ma->probs[k] - mb->probs[k]));
  fail_unless(d < 1e-4, "vulkan and cpu maps differ by %g", d);
  gst_buffer_unref(a);
  gst_buffer_unref(b);
  gst_harness_teardown(cpu);
  gst_harness_teardown(vk);
}
GST_END_TEST;

/* Starting @el (consumed) must fail and post a RESOURCE error whose message
 * contains @msg_needle and whose debug text contains @dbg_needle. */
static void expect_start_failure(GstElement *el, const gchar *msg_needle, const gchar *dbg_needle) {
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL, "no error message on the bus");
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_error(msg, &err, &dbg);
  fail_unless(err->domain == GST_RESOURCE_ERROR);
  fail_unless(strstr(err->message, msg_needle) != NULL, "%s", err->message);
  fail_unless(dbg && strstr(dbg, dbg_needle) != NULL, "%s", dbg);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
  gst_element_set_state(el, GST_STATE_NULL);
  gst_element_set_bus(el, NULL);
  gst_object_unref(bus);
  gst_object_unref(el);
}

/* Starting segnetinfer with model=@path must fail and post a RESOURCE error
 * naming @path whose debug text contains @needle. */
static void expect_start_error(const gchar *path, const gchar *needle) {
  GstElement *el = gst_element_factory_make("segnetinfer", NULL);
  fail_unless(el != NULL);
  g_object_set(el, "model", path, NULL);
  expect_start_failure(el, path, needle);
}

GST_START_TEST(test_bad_model_posts_error) {
  expect_start_error("/nonexistent/dir/missing.srmodel", "missing.srmodel");
}
GST_END_TEST;

GST_START_TEST(test_corrupt_model_posts_error) {
  gchar *path = g_build_filename(g_get_tmp_dir(), "segrank-corrupt-test.srmodel", NULL);
  g_file_set_contents(path, "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}        ", 24, NULL);
  expect_start_error(path, "not a segrank model");
  g_unlink(path);
  g_free(path);
}
GST_END_TEST;

/* An input tensor that cannot be allocated (input-size 4096 x batch-size 64
 * is 12.9 GB, over an address-space limit of 6 GiB set in this forked test)
 * fails start() with a RESOURCE error instead of crashing on the first frame. */
GST_START_TEST(test_input_alloc_failure_posts_error) {
#ifndef __SANITIZE_ADDRESS__
  /* Under ASan the allocator's own 6 GiB cap (.ci/run) refuses it instead. */
  struct rlimit rl;
  fail_unless(getrlimit(RLIMIT_AS, &rl) == 0);
  rl.rlim_cur = (rlim_t)6 << 30;
  fail_unless(setrlimit(RLIMIT_AS, &rl) == 0);
#endif
  GstElement *el = gst_element_factory_make("segnetinfer", NULL);
  fail_unless(el != NULL);
  gst_util_set_object_arg(G_OBJECT(el), "backend", "cpu");
  g_object_set(el, "threads", 1, "input-size", "4096", "batch-size", 64, NULL);
  expect_start_failure(el, "batch-size 64", "could not be allocated");
}
GST_END_TEST;

/* The input-size string of @el (g_free). */
static gchar *get_input_size(GstElement *el) {
  gchar *v = NULL;
  g_object_get(el, "input-size", &v, NULL);
  return v;
}

GST_START_TEST(test_input_size_wxh) {
  /* 323x227 -> conv5 map 19 x 13; the old single-number form still works. */
  GstHarness *hrn = gst_harness_new_parse("segnetinfer input-size=323x227");
  GstElement *inner = gst_harness_find_element(hrn, "segnetinfer");
  gchar *v = get_input_size(inner);
  fail_unless_equals_string(v, "323x227");
  g_free(v);
  gst_object_unref(inner);
  gst_harness_set_src_caps_str(hrn, "video/x-raw,format=RGB,width=64,height=48,framerate=10/1");
  GstBuffer *out = gst_harness_push_and_pull(hrn, random_frame(64 * 48 * 3, 3));
  GstSrProbMeta *m = gst_buffer_get_sr_prob_meta(out);
  fail_unless(m != NULL);
  fail_unless_equals_int(m->width, 19);
  fail_unless_equals_int(m->height, 13);
  fail_unless_equals_int(m->input_width, 323);
  fail_unless_equals_int(m->input_height, 227);
  gst_buffer_unref(out);
  gst_harness_teardown(hrn);

  GstElement *el = gst_element_factory_make("segnetinfer", NULL);
  v = get_input_size(el);
  fail_unless_equals_string(v, "0");
  g_free(v);
  gst_util_set_object_arg(G_OBJECT(el), "input-size", "227");
  v = get_input_size(el);
  fail_unless_equals_string(v, "227x227");
  g_free(v);
  /* A bad value is refused with a warning and the old one kept. */
  ASSERT_WARNING(g_object_set(el, "input-size", "fancy", NULL));
  ASSERT_WARNING(g_object_set(el, "input-size", "0x5", NULL));
  v = get_input_size(el);
  fail_unless_equals_string(v, "227x227");
  g_free(v);
  gst_object_unref(el);
}
GST_END_TEST;

GST_START_TEST(test_properties_fixed_while_running) {
  /* input-size and batch-size are read at start: while the element runs a
   * set is refused with a warning and the getter keeps what is used (model
   * is swapped while running: test_segnetinfer_stream). */
  GstHarness *hrn = gst_harness_new("segnetinfer");
  gst_harness_set_src_caps_str(hrn, "video/x-raw,format=RGB,width=40,height=30,framerate=10/1");
  gst_buffer_unref(gst_harness_push_and_pull(hrn, random_frame(40 * 30 * 3, 1)));
  ASSERT_WARNING(g_object_set(hrn->element, "batch-size", 4, NULL));
  ASSERT_WARNING(g_object_set(hrn->element, "input-size", "99", NULL));
  ASSERT_WARNING(g_object_set(hrn->element, "backend", 2, NULL));
  gint batch = 0, backend = -1;
  gchar *size = get_input_size(hrn->element);
  g_object_get(hrn->element, "batch-size", &batch, "backend", &backend, NULL);
  fail_unless_equals_int(batch, 1);
  fail_unless_equals_int(backend, 0);
  fail_unless_equals_string(size, "0");
  g_free(size);
  /* Frames still come one by one, at the model's own input. */
  GstBuffer *out = gst_harness_push_and_pull(hrn, random_frame(40 * 30 * 3, 2));
  GstSrProbMeta *m = gst_buffer_get_sr_prob_meta(out);
  fail_unless(m != NULL);
  fail_unless_equals_int(m->input_width, 227);
  gst_buffer_unref(out);
  /* Stopped, the element takes new values again. */
  fail_unless_equals_int(gst_element_set_state(hrn->element, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  g_object_set(hrn->element, "batch-size", 4, NULL);
  g_object_get(hrn->element, "batch-size", &batch, NULL);
  fail_unless_equals_int(batch, 4);
  gst_harness_teardown(hrn);
}
GST_END_TEST;

GST_START_TEST(test_inspect_texts) {
  /* What gst-inspect-1.0 shows: the model blurb names the default actually
   * loaded ($SEGRANK_MODEL in the tests); no placeholder author or origin;
   * the plugin description names exactly the plugin's elements. */
  GstElement *el = gst_element_factory_make("segnetinfer", NULL);
  fail_unless(el != NULL);
  GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(el), "model");
  const gchar *blurb = g_param_spec_get_blurb(ps);
  fail_unless(strstr(blurb, "$SEGRANK_MODEL") != NULL, "%s", blurb);
  fail_unless(strstr(blurb, sr_default_model_path()) != NULL, "%s", blurb);
  gst_object_unref(el);
  GstPlugin *plugin = gst_registry_find_plugin(gst_registry_get(), "segrank");
  fail_unless(plugin != NULL);
  fail_unless_equals_string(gst_plugin_get_origin(plugin), "segrank");
  fail_unless_equals_string(gst_plugin_get_package(plugin), "segrank");
  const gchar *desc = gst_plugin_get_description(plugin);
  GList *features = gst_registry_get_feature_list_by_plugin(gst_registry_get(), "segrank");
  const gchar *expected[] = {"segnetinfer", "divmbest", "proposalload", "proposalscore", "svmrerank", "segoverlay"};
  guint n_elements = 0;
  for (GList *f = features; f; f = f->next) {
    if (!GST_IS_ELEMENT_FACTORY(f->data)) continue;
    GstElementFactory *factory = f->data;
    const gchar *name = gst_plugin_feature_get_name(f->data);
    n_elements++;
    fail_unless(strstr(desc, name) != NULL, "the plugin description omits %s: %s", name, desc);
    const gchar *author = gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_AUTHOR);
    fail_unless_equals_string(author, "segrank developers");
  }
  gst_plugin_feature_list_free(features);
  fail_unless_equals_int(n_elements, G_N_ELEMENTS(expected));
  /* Each element name the description gives is one of the plugin's. */
  gchar **words = g_strsplit_set(desc, " ,():", -1);
  guint named = 0;
  for (gchar **w = words; *w; w++)
    for (guint i = 0; i < G_N_ELEMENTS(expected); i++) named += !strcmp(*w, expected[i]);
  g_strfreev(words);
  fail_unless_equals_int(named, G_N_ELEMENTS(expected));
  gst_object_unref(plugin);
}
GST_END_TEST;

static GString *info_log;
static void capture_log(GstDebugCategory *cat, GstDebugLevel level, const gchar *file, const gchar *function,
                        gint line, GObject *object, GstDebugMessage *message, gpointer data) {
  (void)file, (void)function, (void)line, (void)object, (void)data;
  if (level == GST_LEVEL_INFO && !strcmp(gst_debug_category_get_name(cat), "segnetinfer"))
    g_string_append_printf(info_log, "%s\n", gst_debug_message_get(message));
}

GST_START_TEST(test_auto_backend_logged) {
  /* backend=auto: the backend it picked is logged at INFO. */
  info_log = g_string_new(NULL);
  gst_debug_set_threshold_for_name("segnetinfer", GST_LEVEL_INFO);
  gst_debug_add_log_function(capture_log, NULL, NULL);
  GstHarness *hrn = gst_harness_new("segnetinfer");
  gst_harness_set_src_caps_str(hrn, "video/x-raw,format=RGB,width=40,height=30,framerate=10/1");
  gst_buffer_unref(gst_harness_push_and_pull(hrn, random_frame(40 * 30 * 3, 1)));
  gst_harness_teardown(hrn);
  gst_debug_remove_log_function(capture_log);
  sr_backend *probe;
  fail_unless(sr_backend_new("auto", 1, &probe, NULL) == SR_OK);
  gchar *want = g_strdup_printf("backend %s (backend=auto)", sr_backend_name(probe));
  sr_backend_free(probe);
  fail_unless(strstr(info_log->str, want) != NULL, "no '%s' in the INFO log: %s", want, info_log->str);
  g_free(want);
  g_string_free(info_log, TRUE);
}
GST_END_TEST;

static Suite *segnetinfer_suite(void) {
  Suite *s = suite_create("segnetinfer");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_formats_and_meta);
  tcase_add_test(tc, test_input_size);
  tcase_add_test(tc, test_input_size_wxh);
  tcase_add_test(tc, test_properties_fixed_while_running);
  tcase_add_test(tc, test_inspect_texts);
  tcase_add_test(tc, test_auto_backend_logged);
  tcase_add_test(tc, test_same_result_for_same_frame);
  tcase_add_test(tc, test_batching);
  tcase_add_test(tc, test_vulkan_backend);
  tcase_add_test(tc, test_bad_model_posts_error);
  tcase_add_test(tc, test_corrupt_model_posts_error);
  tcase_add_test(tc, test_input_alloc_failure_posts_error);
  return s;
}

GST_CHECK_MAIN(segnetinfer);
