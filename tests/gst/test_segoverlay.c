/* test_segoverlay.c: GstHarness tests of segoverlay with hand-made metas:
 * blend arithmetic, labels mode paints the class colour, contours only touch
 * class boundaries, the legend changes its corner, frames without a meta
 * pass unchanged, and a scaled copy of the meta follows the new size. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "gstsrprobmeta.h"

#define W 64
#define H 48

static const gchar *names[] = {"zero", "one", "two", NULL};
static const guint8 colors[] = {0, 255, 0, 255, 0, 0, 0, 0, 255};

/* A grey RGB frame; with @split, class 0 on the left half and class 2 on the
 * right, else class 1 everywhere. */
static GstBuffer *frame_with_meta(gboolean meta, gboolean split) {
  GstBuffer *buf = gst_buffer_new_allocate(NULL, W * H * 3, NULL);
  gst_buffer_memset(buf, 0, 100, W * H * 3);
  if (meta) {
    gfloat probs[3 * 2 * 4] = {0};
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 4; j++) {
        int k = split ? (j < 2 ? 0 : 2) : 1;
        probs[(k * 2 + i) * 4 + j] = 0.9f;
        probs[(((k + 1) % 3) * 2 + i) * 4 + j] = 0.1f;
      }
    gst_buffer_add_sr_prob_meta(buf, 3, 4, 2, probs, names, colors, W, H);
  }
  return buf;
}

static GstHarness *overlay(const gchar *props) {
  gchar *desc = g_strdup_printf("segoverlay %s", props);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=10/1");
  return h;
}

static const guint8 *pixel(GstMapInfo *m, int x, int y) { return m->data + (y * W + x) * 3; }

GST_START_TEST(test_blend) {
  GstHarness *h = overlay("alpha=0.5");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with_meta(TRUE, FALSE));
  GstMapInfo m;
  gst_buffer_map(out, &m, GST_MAP_READ);
  /* (100·128 + 255·128) >> 8 = 177 for red, 100·128 >> 8 = 50 for the others. */
  for (int y = 0; y < H; y += 7)
    for (int x = 0; x < W; x += 5) {
      const guint8 *p = pixel(&m, x, y);
      fail_unless(p[0] == 177 && p[1] == 50 && p[2] == 50, "pixel %d,%d = %u %u %u", x, y, p[0], p[1], p[2]);
    }
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_labels_and_contours) {
  GstHarness *h = overlay("mode=labels");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with_meta(TRUE, TRUE));
  GstMapInfo m;
  gst_buffer_map(out, &m, GST_MAP_READ);
  fail_unless(memcmp(pixel(&m, 2, 10), colors + 0, 3) == 0, "left is class 0");
  fail_unless(memcmp(pixel(&m, W - 3, 10), colors + 6, 3) == 0, "right is class 2");
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
  gst_harness_teardown(h);

  h = overlay("mode=contours");
  out = gst_harness_push_and_pull(h, frame_with_meta(TRUE, TRUE));
  gst_buffer_map(out, &m, GST_MAP_READ);
  int changed = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const guint8 *p = pixel(&m, x, y);
      gboolean grey = p[0] == 100 && p[1] == 100 && p[2] == 100;
      if (!grey) {
        changed++;
        fail_unless(x >= W / 2 - 2 && x <= W / 2 + 1, "pixel %d,%d away from the boundary changed", x, y);
      }
    }
  fail_unless(changed >= H, "only %d boundary pixels drawn", changed);
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_no_meta_passes_unchanged) {
  GstHarness *h = overlay("legend=true");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with_meta(FALSE, FALSE));
  GstMapInfo m;
  gst_buffer_map(out, &m, GST_MAP_READ);
  for (gsize i = 0; i < m.size; i++) fail_unless(m.data[i] == 100);
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_legend) {
  GstHarness *h = overlay("mode=labels legend=true");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with_meta(TRUE, FALSE));
  GstMapInfo m;
  gst_buffer_map(out, &m, GST_MAP_READ);
  /* The legend (140 px wide, wider than this frame) darkens the label colour
   * (255, 0, 0) with its translucent background. */
  const guint8 *p = pixel(&m, 1, 1);
  fail_unless(p[0] < 255 && p[0] > 0, "legend background missing: %u", p[0]);
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_meta_scale_transform) {
  GstBuffer *src = frame_with_meta(TRUE, FALSE), *dst = gst_buffer_new();
  GstVideoInfo in, out;
  gst_video_info_set_format(&in, GST_VIDEO_FORMAT_RGB, W, H);
  gst_video_info_set_format(&out, GST_VIDEO_FORMAT_RGB, W * 2, H / 2);
  GstVideoMetaTransform t = {&in, &out};
  GstMeta *meta = (GstMeta *)gst_buffer_get_sr_prob_meta(src);
  fail_unless(meta->info->transform_func(dst, meta, src, gst_video_meta_transform_scale_get_quark(), &t));
  GstSrProbMeta *scaled = gst_buffer_get_sr_prob_meta(dst);
  fail_unless(scaled != NULL);
  fail_unless_equals_int(scaled->frame_width, W * 2);
  fail_unless_equals_int(scaled->region.h, H / 2);
  fail_unless_equals_int(scaled->width, 4);
  gst_buffer_unref(src);
  gst_buffer_unref(dst);
}
GST_END_TEST;

static Suite *segoverlay_suite(void) {
  Suite *s = suite_create("segoverlay");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_blend);
  tcase_add_test(tc, test_labels_and_contours);
  tcase_add_test(tc, test_no_meta_passes_unchanged);
  tcase_add_test(tc, test_legend);
  tcase_add_test(tc, test_meta_scale_transform);
  return s;
}

GST_CHECK_MAIN(segoverlay);
