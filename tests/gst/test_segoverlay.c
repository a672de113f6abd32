/* test_segoverlay.c: GstHarness tests of segoverlay with hand-made metas:
 * blend arithmetic, labels mode paints the class colour, contours only touch
 * class boundaries, the legend changes its corner, frames without a meta
 * pass unchanged, and a scaled copy of the meta follows the new size.
 * Issue 12: I420 and NV12 drawn in Y'CbCr match the RGB drawing, `classes`
 * leaves the other classes' pixels alone, `colors` replaces the palette,
 * alpha 0 and 1 (also through a control binding), mode=index gives GRAY8
 * class indices (the core's labels, 255 where nothing is drawn), threads
 * do not change the output, and bad classes/colors values warn. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "gstsrprobmeta.h"
#include "gstsrsegmentationmeta.h"
#include "image.h"

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

/* ---- issue 12 ---- */

/* Pushes @in through `segoverlay @props` with caps @caps and returns the
 * output buffer; *@out_caps (when not NULL) gets the negotiated output caps.
 * With @bus, the element posts on it. */
static GstBuffer *run_overlay(const gchar *props, const gchar *caps, GstBuffer *in, GstCaps **out_caps, GstBus *bus) {
  gchar *desc = g_strdup_printf("segoverlay %s", props);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  if (bus) gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, caps);
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  if (out_caps) *out_caps = gst_pad_get_current_caps(h->sinkpad);
  gst_harness_teardown(h);
  return out;
}

/* An RGB frame with a texture: R follows x, G follows y, B both. */
static GstBuffer *textured_rgb(int w, int h) {
  GstBuffer *buf = gst_buffer_new_allocate(NULL, (gsize)w * h * 3, NULL);
  GstMapInfo m;
  gst_buffer_map(buf, &m, GST_MAP_WRITE);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 *p = m.data + (y * w + x) * 3;
      p[0] = (guint8)(40 + 2 * x), p[1] = (guint8)(60 + 2 * y), p[2] = (guint8)(120 + x - y);
    }
  gst_buffer_unmap(buf, &m);
  return buf;
}

/* The label map of the segmentation meta tests: class 0 left, class 2
 * right, class 1 in the top 16 rows, void (7) in an 8x8 square; the class
 * boundaries on even rows and columns, so that no 2x2 chroma block
 * straddles one. */
static void split_labels(guint8 *labels, int w, int h) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      labels[y * w + x] = (x >= 40 && x < 48 && y >= 24 && y < 32) ? 7 : y < 16 ? 1 : x < w / 2 ? 0 : 2;
}

static void add_split_meta(GstBuffer *buf, int w, int h) {
  guint8 *labels = g_malloc((gsize)w * h);
  split_labels(labels, w, h);
  gst_buffer_add_sr_segmentation_meta(buf, "net", -1, (guint)w, (guint)h, 3, names, colors, labels, 0, NULL);
  g_free(labels);
}

/* @buf (RGB) converted to @info's format. */
static GstBuffer *convert(GstBuffer *buf, const GstVideoInfo *from, const GstVideoInfo *to) {
  GstBuffer *out = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(to), NULL);
  GstVideoFrame fi, fo;
  fail_unless(gst_video_frame_map(&fi, (GstVideoInfo *)from, buf, GST_MAP_READ));
  fail_unless(gst_video_frame_map(&fo, (GstVideoInfo *)to, out, GST_MAP_WRITE));
  GstVideoConverter *c =
      gst_video_converter_new((GstVideoInfo *)from, (GstVideoInfo *)to,
                              gst_structure_new("config", GST_VIDEO_CONVERTER_OPT_DITHER_METHOD,
                                                GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_NONE, NULL));
  gst_video_converter_frame(c, &fi, &fo);
  gst_video_converter_free(c);
  gst_video_frame_unmap(&fi);
  gst_video_frame_unmap(&fo);
  gst_buffer_copy_into(out, buf, GST_BUFFER_COPY_METADATA, 0, -1);
  return out;
}

static GstVideoInfo info_from(const gchar *caps_str) {
  GstCaps *caps = gst_caps_from_string(caps_str);
  GstVideoInfo info;
  fail_unless(gst_video_info_from_caps(&info, caps), "%s", caps_str);
  gst_caps_unref(caps);
  return info;
}

/* Largest per-channel difference of two RGB buffers, and where. */
static int max_rgb_diff(GstBuffer *a, GstBuffer *b, int *where) {
  GstMapInfo ma, mb;
  gst_buffer_map(a, &ma, GST_MAP_READ);
  gst_buffer_map(b, &mb, GST_MAP_READ);
  fail_unless_equals_int(ma.size, mb.size);
  int worst = 0;
  for (gsize i = 0; i < ma.size; i++) {
    int d = ABS((int)ma.data[i] - (int)mb.data[i]);
    if (d > worst) worst = d, *where = (int)(i / 3);
  }
  gst_buffer_unmap(a, &ma);
  gst_buffer_unmap(b, &mb);
  return worst;
}

/* Y'CbCr drawing against the RGB drawing of the same segmentation: the
 * frame converted to I420 / NV12 (BT.601 and BT.709), drawn, converted back
 * to RGB, is within 6 levels of the RGB drawing converted there and back
 * (the palette's conversion and the blend each round once; measured: at
 * most 5; with BT.601 taken for BT.709 up to 39). */
#define YUV_TOLERANCE 6
GST_START_TEST(test_yuv_matches_rgb) {
  const gchar *formats[] = {"I420", "NV12"}, *matrices[] = {"bt601", "bt709"};
  const gchar *rgb_caps = "video/x-raw,format=RGB,width=64,height=48,framerate=10/1";
  GstVideoInfo rgb_info = info_from(rgb_caps);
  GstBuffer *src = textured_rgb(W, H);
  add_split_meta(src, W, H);
  for (int mode = 0; mode < 2; mode++) {
    const gchar *props = mode ? "mode=labels" : "alpha=0.5";
    GstBuffer *want = run_overlay(props, rgb_caps, gst_buffer_copy(src), NULL, NULL);
    for (guint f = 0; f < G_N_ELEMENTS(formats); f++)
      for (guint c = 0; c < G_N_ELEMENTS(matrices); c++) {
        gchar *caps = g_strdup_printf("video/x-raw,format=%s,width=64,height=48,framerate=10/1,colorimetry=%s",
                                      formats[f], matrices[c]);
        GstVideoInfo yuv_info = info_from(caps);
        GstBuffer *yuv = convert(src, &rgb_info, &yuv_info);
        GstBuffer *drawn = run_overlay(props, caps, yuv, NULL, NULL);
        GstBuffer *back = convert(drawn, &yuv_info, &rgb_info);
        /* The RGB drawing through the same round trip (chroma subsampling
         * blurs the texture as much). */
        GstBuffer *want_yuv = convert(want, &rgb_info, &yuv_info), *want_back = convert(want_yuv, &yuv_info, &rgb_info);
        int where = 0, d = max_rgb_diff(back, want_back, &where);
        gst_buffer_unref(want_yuv);
        gst_buffer_unref(want_back);
        GST_INFO("%s %s %s: max difference %d at %d,%d", props, formats[f], matrices[c], d, where % W, where / W);
        fail_unless(d <= YUV_TOLERANCE, "%s %s %s: differs by %d from the RGB drawing at %d,%d", props, formats[f],
                    matrices[c], d, where % W, where / W);
        gst_buffer_unref(drawn);
        gst_buffer_unref(back);
        g_free(caps);
      }
    gst_buffer_unref(want);
  }
  gst_buffer_unref(src);
}
GST_END_TEST;

/* Whether @a and @b hold the same bytes. */
static gboolean same_bytes(GstBuffer *a, GstBuffer *b) {
  GstMapInfo ma, mb;
  gst_buffer_map(a, &ma, GST_MAP_READ);
  gst_buffer_map(b, &mb, GST_MAP_READ);
  gboolean same = ma.size == mb.size && memcmp(ma.data, mb.data, ma.size) == 0;
  gst_buffer_unmap(a, &ma);
  gst_buffer_unmap(b, &mb);
  return same;
}

/* Whether frames @a and @b of @caps have the same pixels (row padding left
 * out: mode=index writes only the pixels of its output). */
static gboolean same_pixels(GstCaps *caps, GstBuffer *a, GstBuffer *b) {
  GstVideoInfo info;
  fail_unless(gst_video_info_from_caps(&info, caps));
  GstVideoFrame fa, fb;
  fail_unless(gst_video_frame_map(&fa, &info, a, GST_MAP_READ));
  fail_unless(gst_video_frame_map(&fb, &info, b, GST_MAP_READ));
  gboolean same = TRUE;
  for (guint c = 0; c < GST_VIDEO_INFO_N_COMPONENTS(&info); c++) {
    gint plane = GST_VIDEO_INFO_COMP_PLANE(&info, c);
    gsize row = (gsize)GST_VIDEO_INFO_COMP_WIDTH(&info, c) * GST_VIDEO_INFO_COMP_PSTRIDE(&info, c);
    for (gint y = 0; y < GST_VIDEO_INFO_COMP_HEIGHT(&info, c); y++) {
      const guint8 *ra =
          (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&fa, plane) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&fa, plane);
      const guint8 *rb =
          (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&fb, plane) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&fb, plane);
      same = same && memcmp(ra, rb, row) == 0;
    }
  }
  gst_video_frame_unmap(&fa);
  gst_video_frame_unmap(&fb);
  return same;
}

/* alpha 0 leaves the frame as it was, on RGB and I420; alpha 1 paints the
 * class colours exactly on RGB (void pixels untouched). */
GST_START_TEST(test_alpha_extremes) {
  const gchar *rgb_caps = "video/x-raw,format=RGB,width=64,height=48,framerate=10/1";
  const gchar *i420_caps = "video/x-raw,format=I420,width=64,height=48,framerate=10/1";
  GstBuffer *src = textured_rgb(W, H);
  add_split_meta(src, W, H);
  GstVideoInfo rgb_info = info_from(rgb_caps), i420_info = info_from(i420_caps);
  GstBuffer *i420 = convert(src, &rgb_info, &i420_info);

  GstBuffer *out = run_overlay("alpha=0", rgb_caps, gst_buffer_copy(src), NULL, NULL);
  fail_unless(same_bytes(out, src), "alpha=0 changed an RGB frame");
  gst_buffer_unref(out);
  out = run_overlay("alpha=0", i420_caps, gst_buffer_copy(i420), NULL, NULL);
  fail_unless(same_bytes(out, i420), "alpha=0 changed an I420 frame");
  gst_buffer_unref(out);

  out = run_overlay("alpha=1", rgb_caps, gst_buffer_copy(src), NULL, NULL);
  guint8 labels[W * H];
  split_labels(labels, W, H);
  GstMapInfo m, ms;
  gst_buffer_map(out, &m, GST_MAP_READ);
  gst_buffer_map(src, &ms, GST_MAP_READ);
  for (int i = 0; i < W * H; i++) {
    const guint8 *want = labels[i] < 3 ? colors + 3 * labels[i] : ms.data + 3 * i;
    fail_unless(memcmp(m.data + 3 * i, want, 3) == 0, "alpha=1: pixel %d,%d (class %u) is %u %u %u", i % W, i / W,
                labels[i], m.data[3 * i], m.data[3 * i + 1], m.data[3 * i + 2]);
  }
  gst_buffer_unmap(src, &ms);
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
  gst_buffer_unref(i420);
  gst_buffer_unref(src);
}
GST_END_TEST;

/* classes= draws only the classes listed (by name, any case, or index); the
 * others' pixels are the frame's own, on RGB and on I420. */
GST_START_TEST(test_classes_filter) {
  const gchar *caps[] = {"video/x-raw,format=RGB,width=64,height=48,framerate=10/1",
                         "video/x-raw,format=I420,width=64,height=48,framerate=10/1"};
  const gchar *props[] = {"mode=labels classes=TWO", "mode=labels classes=2", "mode=labels classes=\" two \""};
  GstBuffer *rgb = textured_rgb(W, H);
  add_split_meta(rgb, W, H);
  GstVideoInfo rgb_info = info_from(caps[0]), i420_info = info_from(caps[1]);
  GstBuffer *i420 = convert(rgb, &rgb_info, &i420_info);
  guint8 labels[W * H];
  split_labels(labels, W, H);
  for (guint c = 0; c < G_N_ELEMENTS(caps); c++)
    for (guint p = 0; p < G_N_ELEMENTS(props); p++) {
      GstBuffer *in = c ? i420 : rgb;
      GstBuffer *out = run_overlay(props[p], caps[c], gst_buffer_copy(in), NULL, NULL);
      GstVideoInfo *info = c ? &i420_info : &rgb_info;
      GstVideoFrame fi, fo;
      gst_video_frame_map(&fi, info, in, GST_MAP_READ);
      gst_video_frame_map(&fo, info, out, GST_MAP_READ);
      int painted = 0;
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          /* RGB: the pixel; I420: its luma. */
          int ps = c ? 1 : 3;
          const guint8 *a =
              (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&fi, 0) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&fi, 0) + x * ps;
          const guint8 *b =
              (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&fo, 0) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&fo, 0) + x * ps;
          gboolean same = memcmp(a, b, ps) == 0;
          if (labels[y * W + x] == 2) {
            painted += !same;
            if (!c) fail_unless(memcmp(b, colors + 6, 3) == 0, "%s: class 2 at %d,%d not painted", props[p], x, y);
          } else {
            fail_unless(same, "%s (%s): pixel %d,%d of class %u changed", props[p], caps[c], x, y, labels[y * W + x]);
          }
        }
      fail_unless(painted > 0, "%s: nothing painted", props[p]);
      if (c) {
        /* The chroma of blocks whose top-left pixel is not class 2 is the frame's. */
        for (int cy = 0; cy < H / 2; cy++)
          for (int cx = 0; cx < W / 2; cx++)
            for (int k = 1; k < 3; k++) {
              guint8 a = ((guint8 *)GST_VIDEO_FRAME_COMP_DATA(&fi, k))[cy * GST_VIDEO_FRAME_COMP_STRIDE(&fi, k) + cx];
              guint8 b = ((guint8 *)GST_VIDEO_FRAME_COMP_DATA(&fo, k))[cy * GST_VIDEO_FRAME_COMP_STRIDE(&fo, k) + cx];
              if (labels[2 * cy * W + 2 * cx] != 2) fail_unless(a == b, "%s: chroma %d,%d changed", props[p], cx, cy);
            }
      }
      gst_video_frame_unmap(&fi);
      gst_video_frame_unmap(&fo);
      gst_buffer_unref(out);
    }
  gst_buffer_unref(i420);
  gst_buffer_unref(rgb);
}
GST_END_TEST;

/* colors= replaces the palette by name and by index; unnamed classes keep
 * the meta's colour; the I420 frame gets the override in Y'CbCr. */
GST_START_TEST(test_colors_override) {
  const gchar *caps = "video/x-raw,format=RGB,width=64,height=48,framerate=10/1";
  GstBuffer *in = frame_with_meta(TRUE, TRUE);
  GstBuffer *out = run_overlay("mode=labels colors=two=#102030,0=0xA0b0C0", caps, in, NULL, NULL);
  GstMapInfo m;
  gst_buffer_map(out, &m, GST_MAP_READ);
  const guint8 left[3] = {0xa0, 0xb0, 0xc0}, right[3] = {0x10, 0x20, 0x30};
  fail_unless(memcmp(pixel(&m, 2, 10), left, 3) == 0, "class 0 (by index) is %u %u %u", pixel(&m, 2, 10)[0],
              pixel(&m, 2, 10)[1], pixel(&m, 2, 10)[2]);
  fail_unless(memcmp(pixel(&m, W - 3, 10), right, 3) == 0, "class 2 (by name) is %u %u %u", pixel(&m, W - 3, 10)[0],
              pixel(&m, W - 3, 10)[1], pixel(&m, W - 3, 10)[2]);
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);

  /* One class overridden, the other not. */
  out = run_overlay("mode=labels colors=two=#102030", caps, frame_with_meta(TRUE, TRUE), NULL, NULL);
  gst_buffer_map(out, &m, GST_MAP_READ);
  fail_unless(memcmp(pixel(&m, 2, 10), colors, 3) == 0, "class 0 lost its own colour");
  fail_unless(memcmp(pixel(&m, W - 3, 10), right, 3) == 0, "class 2 not overridden");
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);

  /* I420 limited range, BT.601: #102030 is Y' = 16 + 219 (0.299·16 + 0.587·32 + 0.114·48) / 255 = 40.9,
   * Cb = 128 + 224 (48 − 29.04) / 255 / 1.772 = 137.4, Cr = 128 + 224 (16 − 29.04) / 255 / 1.402 = 119.8. */
  GstVideoInfo rgb_info = info_from(caps);
  GstVideoInfo i420_info = info_from("video/x-raw,format=I420,width=64,height=48,framerate=10/1,colorimetry=bt601");
  GstBuffer *i420 = convert(frame_with_meta(TRUE, TRUE), &rgb_info, &i420_info);
  out = run_overlay("mode=labels colors=two=#102030", "video/x-raw,format=I420,width=64,height=48,colorimetry=bt601",
                    i420, NULL, NULL);
  GstVideoFrame f;
  gst_video_frame_map(&f, &i420_info, out, GST_MAP_READ);
  guint8 y = ((guint8 *)GST_VIDEO_FRAME_COMP_DATA(&f, 0))[10 * GST_VIDEO_FRAME_COMP_STRIDE(&f, 0) + W - 4];
  guint8 u = ((guint8 *)GST_VIDEO_FRAME_COMP_DATA(&f, 1))[5 * GST_VIDEO_FRAME_COMP_STRIDE(&f, 1) + W / 2 - 2];
  guint8 v = ((guint8 *)GST_VIDEO_FRAME_COMP_DATA(&f, 2))[5 * GST_VIDEO_FRAME_COMP_STRIDE(&f, 2) + W / 2 - 2];
  fail_unless(y == 41 && u == 137 && v == 120, "#102030 in BT.601 Y'CbCr: %u %u %u", y, u, v);
  gst_video_frame_unmap(&f);
  gst_buffer_unref(out);
}
GST_END_TEST;

/* The warnings the element posted on @bus, joined. */
static gchar *pop_warnings(GstBus *bus, int *count) {
  GString *s = g_string_new(NULL);
  GstMessage *msg;
  *count = 0;
  while ((msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING))) {
    GError *err;
    gchar *dbg;
    gst_message_parse_warning(msg, &err, &dbg);
    g_string_append_printf(s, "%s\n", err->message);
    (*count)++;
    g_error_free(err);
    g_free(dbg);
    gst_message_unref(msg);
  }
  return g_string_free(s, FALSE);
}

/* Bad classes/colors entries warn, naming the entry (and the class table
 * for unknown classes), once; the good entries still apply. */
GST_START_TEST(test_bad_values_warn) {
  struct {
    const gchar *props, *expect[2];
  } cases[] = {
      {"mode=labels classes=two,nosuch", {"no class named \"nosuch\"", "zero, one, two"}},
      {"mode=labels classes=two,7", {"no class 7", "3 classes"}},
      {"mode=labels classes=two,,", {"Bad classes value", "an empty class"}},
      {"mode=labels classes=two,999", {"\"999\" is not a class index", NULL}},
      {"mode=labels colors=two=#12345,zero=#ffffff", {"\"#12345\" for two is not a colour", NULL}},
      {"mode=labels colors=two,zero=#ffffff", {"\"two\" is not CLASS=#RRGGBB", NULL}},
      {"mode=labels colors=sky=#ffffff,two=#102030", {"colors: no class named \"sky\"", NULL}},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    GstBus *bus = gst_bus_new();
    gchar *desc = g_strdup_printf("segoverlay %s", cases[i].props);
    GstHarness *h = gst_harness_new_parse(desc);
    g_free(desc);
    gst_element_set_bus(h->element, bus);
    gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=10/1");
    GstBuffer *out = gst_harness_push_and_pull(h, frame_with_meta(TRUE, TRUE));
    GstBuffer *out2 = gst_harness_push_and_pull(h, frame_with_meta(TRUE, TRUE));
    int n;
    gchar *w = pop_warnings(bus, &n);
    fail_unless(n == 1, "%s: %d warnings (want 1): %s", cases[i].props, n, w);
    for (int k = 0; k < 2; k++)
      if (cases[i].expect[k])
        fail_unless(strstr(w, cases[i].expect[k]) != NULL, "%s: warning \"%s\" lacks \"%s\"", cases[i].props, w,
                    cases[i].expect[k]);
    /* The good entries apply: class 2 painted (in #102030 for the colors cases that set it). */
    GstMapInfo m;
    gst_buffer_map(out2, &m, GST_MAP_READ);
    const guint8 want_override[3] = {0x10, 0x20, 0x30};
    const guint8 *want = strstr(cases[i].props, "two=#102030") ? want_override : colors + 6;
    fail_unless(memcmp(pixel(&m, W - 3, 10), want, 3) == 0, "%s: class 2 not drawn", cases[i].props);
    gst_buffer_unmap(out2, &m);
    g_free(w);
    gst_buffer_unref(out);
    gst_buffer_unref(out2);
    gst_element_set_bus(h->element, NULL);
    gst_harness_teardown(h);
    gst_object_unref(bus);
  }
}
GST_END_TEST;

/* A C × mh × mw map of random distributions (a fixed seed). */
static gfloat *random_probs(int c, int mh, int mw, guint32 seed) {
  GRand *r = g_rand_new_with_seed(seed);
  gfloat *p = g_new(gfloat, (gsize)c * mh * mw);
  for (int i = 0; i < mh * mw; i++) {
    gfloat sum = 0;
    for (int k = 0; k < c; k++) sum += p[k * mh * mw + i] = (gfloat)g_rand_double(r);
    for (int k = 0; k < c; k++) p[k * mh * mw + i] /= sum;
  }
  g_rand_free(r);
  return p;
}

static gboolean gray8_caps(GstCaps *caps, int w, int h) {
  GstVideoInfo info;
  return caps && gst_video_info_from_caps(&info, caps) && GST_VIDEO_INFO_FORMAT(&info) == GST_VIDEO_FORMAT_GRAY8 &&
         GST_VIDEO_INFO_WIDTH(&info) == w && GST_VIDEO_INFO_HEIGHT(&info) == h && GST_VIDEO_INFO_FPS_N(&info) == 10;
}

/* GRAY8 pixel (@x, @y) of @m, a @w-wide frame (its stride: a multiple of 4). */
static guint8 gray(GstMapInfo *m, int w, int x, int y) { return m->data[y * GST_ROUND_UP_4(w) + x]; }

/* mode=index: GRAY8 caps at the frame's size and framerate, from RGB and
 * I420 input; the values are the core's sr_labels_from_probs() labels for
 * a probability meta (255 outside its region), the segmentation meta's
 * labels (void: 255), 255 for classes left out and for a frame without a
 * meta. */
GST_START_TEST(test_index_mode) {
  const int fw = 70, fh = 45, c = 5, mh = 4, mw = 6; /* odd sizes: row padding, odd chroma */
  const gchar *names5[] = {"a", "b", "c", "d", "e", NULL};
  const guint8 colors5[15] = {0};
  gfloat *probs = random_probs(c, mh, mw, 7);
  const gchar *formats[] = {"RGB", "I420", "NV12"};
  for (guint f = 0; f < G_N_ELEMENTS(formats); f++) {
    gchar *caps = g_strdup_printf("video/x-raw,format=%s,width=%d,height=%d,framerate=10/1", formats[f], fw, fh);
    GstVideoInfo info = info_from(caps);
    GstBuffer *in = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
    gst_buffer_memset(in, 0, 90, GST_VIDEO_INFO_SIZE(&info));
    GstSrProbMeta *pm = gst_buffer_add_sr_prob_meta(in, c, mw, mh, probs, names5, colors5, fw, fh);
    /* The map covers a part of the frame. */
    pm->region.x = 3, pm->region.y = 5, pm->region.w = 60, pm->region.h = 37;
    guint8 *want = g_malloc(60 * 37);
    gfloat *scratch = g_new(gfloat, c * mh * 60);
    sr_labels_from_probs(probs, c, mh, mw, 60, 37, want, scratch);
    GstCaps *out_caps = NULL;
    GstBuffer *out = run_overlay("mode=index classes=a,b,c,e", caps, in, &out_caps, NULL);
    gchar *str = out_caps ? gst_caps_to_string(out_caps) : g_strdup("none");
    fail_unless(gray8_caps(out_caps, fw, fh), "%s: output caps %s", formats[f], str);
    g_free(str);
    GstMapInfo m;
    gst_buffer_map(out, &m, GST_MAP_READ);
    fail_unless_equals_int(m.size, GST_ROUND_UP_4(fw) * fh);
    int counts[256] = {0};
    for (int y = 0; y < fh; y++)
      for (int x = 0; x < fw; x++) {
        gboolean inside = x >= 3 && x < 63 && y >= 5 && y < 42;
        guint8 k = inside ? want[(y - 5) * 60 + x - 3] : 255, v = gray(&m, fw, x, y);
        if (k == 3) k = 255; /* "d" is not drawn */
        fail_unless(v == k, "%s: mask %d,%d is %u, not %u", formats[f], x, y, v, k);
        counts[v]++;
      }
    fail_unless(counts[0] && counts[255], "%s: a degenerate test map", formats[f]);
    gst_buffer_unmap(out, &m);
    gst_buffer_unref(out);
    gst_caps_unref(out_caps);
    g_free(want);
    g_free(scratch);
    g_free(caps);
  }
  g_free(probs);

  /* A segmentation meta at half the frame's size, drawn nearest-neighbour; void is 255. */
  GstBuffer *in = frame_with_meta(FALSE, FALSE);
  guint8 labels[(W / 2) * (H / 2)];
  split_labels(labels, W / 2, H / 2);
  gst_buffer_add_sr_segmentation_meta(in, "net", -1, W / 2, H / 2, 3, names, colors, labels, 0, NULL);
  GstCaps *out_caps = NULL;
  GstBuffer *out =
      run_overlay("mode=index", "video/x-raw,format=RGB,width=64,height=48,framerate=10/1", in, &out_caps, NULL);
  fail_unless(gray8_caps(out_caps, W, H));
  GstMapInfo m;
  gst_buffer_map(out, &m, GST_MAP_READ);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      guint8 k = labels[(y / 2) * (W / 2) + x / 2];
      fail_unless(gray(&m, W, x, y) == (k < 3 ? k : 255), "mask %d,%d is %u, label %u", x, y, gray(&m, W, x, y), k);
    }
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
  gst_caps_unref(out_caps);

  /* No meta: everything 255. */
  out = run_overlay("mode=index", "video/x-raw,format=RGB,width=64,height=48,framerate=10/1",
                    frame_with_meta(FALSE, FALSE), NULL, NULL);
  gst_buffer_map(out, &m, GST_MAP_READ);
  for (gsize i = 0; i < m.size; i++) fail_unless(m.data[i] == 255, "no meta: byte %zu is %u", i, m.data[i]);
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
}
GST_END_TEST;

/* Switching mode to index while running renegotiates to GRAY8, and back. */
GST_START_TEST(test_index_mode_switch) {
  GstHarness *h = overlay("mode=blend");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with_meta(TRUE, FALSE));
  fail_unless_equals_int(gst_buffer_get_size(out), W * H * 3);
  gst_buffer_unref(out);
  GstElement *e = gst_harness_find_element(h, "segoverlay");
  g_object_set(e, "mode", 3 /* index */, NULL);
  out = gst_harness_push_and_pull(h, frame_with_meta(TRUE, FALSE));
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  gchar *str = caps ? gst_caps_to_string(caps) : g_strdup("none");
  fail_unless(gray8_caps(caps, W, H), "after mode=index: caps %s", str);
  g_free(str);
  gst_caps_unref(caps);
  fail_unless_equals_int(gst_buffer_get_size(out), W * H);
  gst_buffer_unref(out);
  g_object_set(e, "mode", 0 /* blend */, NULL);
  gst_object_unref(e);
  out = gst_harness_push_and_pull(h, frame_with_meta(TRUE, FALSE));
  fail_unless_equals_int(gst_buffer_get_size(out), W * H * 3);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* threads=1 and threads=3 give the same bytes, every mode, RGB, I420 and
 * NV12, from a probability meta (bilinear) and a segmentation meta
 * (nearest), on a frame of many row bands. */
GST_START_TEST(test_threads_identical) {
  const int fw = 642, fh = 362, c = 11;
  const gchar *names11[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", NULL};
  guint8 colors11[33];
  for (int i = 0; i < 33; i++) colors11[i] = (guint8)(i * 37);
  gfloat *probs = random_probs(c, 22, 29, 3);
  guint8 *labels = g_malloc(321 * 181);
  for (int i = 0; i < 321 * 181; i++) labels[i] = (guint8)((i * 7 / 13 + i / 321) % 13); /* 11, 12: void */
  const gchar *formats[] = {"RGBx", "I420", "NV12"};
  const gchar *modes[] = {"blend alpha=0.3 legend=true", "contours", "labels", "index"};
  for (guint f = 0; f < G_N_ELEMENTS(formats); f++)
    for (guint md = 0; md < G_N_ELEMENTS(modes); md++)
      for (int seg = 0; seg < 2; seg++) {
        gchar *caps = g_strdup_printf("video/x-raw,format=%s,width=%d,height=%d,framerate=10/1", formats[f], fw, fh);
        GstVideoInfo info = info_from(caps);
        GstBuffer *in = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
        GstMapInfo m;
        gst_buffer_map(in, &m, GST_MAP_WRITE);
        for (gsize i = 0; i < m.size; i++) m.data[i] = (guint8)(i * 31 / 7);
        gst_buffer_unmap(in, &m);
        if (seg)
          gst_buffer_add_sr_segmentation_meta(in, "net", -1, 321, 181, c, names11, colors11, labels, 0, NULL);
        else
          gst_buffer_add_sr_prob_meta(in, c, 29, 22, probs, names11, colors11, fw, fh);
        gchar *p1 = g_strdup_printf("mode=%s threads=1", modes[md]),
              *p3 = g_strdup_printf("mode=%s threads=3", modes[md]);
        GstCaps *out_caps;
        GstBuffer *o1 = run_overlay(p1, caps, gst_buffer_copy(in), &out_caps, NULL);
        GstBuffer *o3 = run_overlay(p3, caps, in, NULL, NULL);
        fail_unless(same_pixels(out_caps, o1, o3), "%s %s (%s meta): threads=3 differs from threads=1", formats[f],
                    modes[md], seg ? "segmentation" : "prob");
        gst_caps_unref(out_caps);
        gst_buffer_unref(o1);
        gst_buffer_unref(o3);
        g_free(p1);
        g_free(p3);
        g_free(caps);
      }
  g_free(labels);
  g_free(probs);
}
GST_END_TEST;

/* A control binding of our own (GstDirectControlBinding is in
 * libgstcontroller, which the tests do not link): alpha = 0 before 1 s,
 * 1 from then on. Adding it checks that alpha is controllable. */
typedef struct {
  GstControlBinding parent;
} StepBinding;
typedef struct {
  GstControlBindingClass parent_class;
} StepBindingClass;
G_DEFINE_TYPE(StepBinding, step_binding, GST_TYPE_CONTROL_BINDING)

static gboolean step_binding_sync_values(GstControlBinding *b, GstObject *object, GstClockTime ts,
                                         GstClockTime last_sync) {
  (void)b, (void)last_sync;
  g_object_set(object, "alpha", ts < GST_SECOND ? 0.0 : 1.0, NULL);
  return TRUE;
}
static void step_binding_class_init(StepBindingClass *klass) {
  GST_CONTROL_BINDING_CLASS(klass)->sync_values = step_binding_sync_values;
}
static void step_binding_init(StepBinding *self) { (void)self; }

/* alpha follows a control binding at each buffer's stream time. */
GST_START_TEST(test_alpha_controlled) {
  GstHarness *h = overlay("alpha=0.5");
  GstElement *e = gst_harness_find_element(h, "segoverlay");
  GstControlBinding *binding = g_object_new(step_binding_get_type(), "object", e, "name", "alpha", NULL);
  fail_unless(gst_object_add_control_binding(GST_OBJECT(e), binding));
  gst_object_unref(e);
  GstBuffer *in = frame_with_meta(TRUE, FALSE);
  GST_BUFFER_PTS(in) = 0;
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  GstMapInfo m;
  gst_buffer_map(out, &m, GST_MAP_READ);
  fail_unless(pixel(&m, 5, 5)[0] == 100 && pixel(&m, 5, 5)[1] == 100, "at 0 s (alpha 0) the frame changed");
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
  in = frame_with_meta(TRUE, FALSE);
  GST_BUFFER_PTS(in) = 2 * GST_SECOND;
  out = gst_harness_push_and_pull(h, in);
  gst_buffer_map(out, &m, GST_MAP_READ);
  fail_unless(memcmp(pixel(&m, 5, 5), colors + 3, 3) == 0, "at 2 s (alpha 1) not the class colour: %u %u %u",
              pixel(&m, 5, 5)[0], pixel(&m, 5, 5)[1], pixel(&m, 5, 5)[2]);
  gst_buffer_unmap(out, &m);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
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
  tcase_add_test(tc, test_yuv_matches_rgb);
  tcase_add_test(tc, test_alpha_extremes);
  tcase_add_test(tc, test_classes_filter);
  tcase_add_test(tc, test_colors_override);
  tcase_add_test(tc, test_bad_values_warn);
  tcase_add_test(tc, test_index_mode);
  tcase_add_test(tc, test_index_mode_switch);
  tcase_add_test(tc, test_threads_identical);
  tcase_add_test(tc, test_alpha_controlled);
  return s;
}

GST_CHECK_MAIN(segoverlay);
