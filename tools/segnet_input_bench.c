/* segnet_input_bench.c: what segnetinfer pays to turn a decoder's I420
 * frame into the net's 480x360 input, three ways, in one run: its own fused
 * resize + colour conversion (gst/gstsegnetinput.c), GstVideoConverter
 * scaling to the net's size then the RGB preprocessing, and a full-frame
 * conversion to RGB (what `videoconvert` upstream does) then sr_preprocess
 * resizing. Prints ms per frame (the minimum over the runs, one thread)
 * and the ratios. Figures, not pass/fail:
 *   build/tools/segnet-input-bench [WIDTH HEIGHT [RUNS]]   (default 1920 1080 30) */
#include <stdio.h>
#include <stdlib.h>

#include <gst/video/video.h>

#include "gstsegnetinput.h"
#include "segrank.h"

static double now_ms(void) { return g_get_monotonic_time() / 1e3; }

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  int w = argc > 2 ? atoi(argv[1]) : 1920, h = argc > 2 ? atoi(argv[2]) : 1080, runs = argc > 3 ? atoi(argv[3]) : 30;
  const int ow = 480, oh = 360;
  if (w < 2 || h < 2 || w > 8192 || h > 8192 || runs < 1) {
    fprintf(stderr, "usage: %s [WIDTH HEIGHT [RUNS]]\n", argv[0]);
    return 2;
  }
  GstVideoInfo in, full, net;
  gst_video_info_set_format(&in, GST_VIDEO_FORMAT_I420, w, h);
  gst_video_info_set_format(&full, GST_VIDEO_FORMAT_RGB, w, h);
  gst_video_info_set_format(&net, GST_VIDEO_FORMAT_RGB, ow, oh);
  GstBuffer *bi = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&in), NULL);
  GstBuffer *bf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&full), NULL);
  GstBuffer *bn = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&net), NULL);
  GstMapInfo map;
  gst_buffer_map(bi, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < map.size; i++) map.data[i] = (guint8)(i * 2654435761u >> 24);
  gst_buffer_unmap(bi, &map);
  GstVideoFrame fi, ff, fn;
  if (!gst_video_frame_map(&fi, &in, bi, GST_MAP_READ) || !gst_video_frame_map(&ff, &full, bf, GST_MAP_READWRITE) ||
      !gst_video_frame_map(&fn, &net, bn, GST_MAP_READWRITE))
    return 1;
  GstVideoConverter *to_full = gst_video_converter_new(
      &in, &full, gst_structure_new("c", GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, 1, NULL));
  GstVideoConverter *to_net = gst_video_converter_new(
      &in, &net,
      gst_structure_new("c", GST_VIDEO_CONVERTER_OPT_RESAMPLER_METHOD, GST_TYPE_VIDEO_RESAMPLER_METHOD,
                        GST_VIDEO_RESAMPLER_METHOD_LINEAR, GST_VIDEO_CONVERTER_OPT_DITHER_METHOD,
                        GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_NONE, GST_VIDEO_CONVERTER_OPT_THREADS,
                        G_TYPE_UINT, 1, NULL));
  float *out = g_new(float, 3 * ow * oh), mean[3] = {104.007f, 116.669f, 122.679f};
  sr_pixel_layout rgb = {3, 0, 1, 2};
  double best[3] = {1e30, 1e30, 1e30};
  for (int r = 0; r < runs; r++) {
    double t = now_ms();
    gst_segnet_input_from_yuv(&fi, mean, ow, oh, out);
    best[0] = MIN(best[0], now_ms() - t);
    t = now_ms();
    gst_video_converter_frame(to_net, &fi, &fn);
    sr_preprocess(GST_VIDEO_FRAME_PLANE_DATA(&fn, 0), ow, oh, GST_VIDEO_FRAME_PLANE_STRIDE(&fn, 0), rgb, mean, ow, oh,
                  out);
    best[1] = MIN(best[1], now_ms() - t);
    t = now_ms();
    gst_video_converter_frame(to_full, &fi, &ff);
    sr_preprocess(GST_VIDEO_FRAME_PLANE_DATA(&ff, 0), w, h, GST_VIDEO_FRAME_PLANE_STRIDE(&ff, 0), rgb, mean, ow, oh,
                  out);
    best[2] = MIN(best[2], now_ms() - t);
  }
  printf("I420 %dx%d -> net input 480x360, ms per frame (minimum of %d runs, 1 thread):\n", w, h, runs);
  printf("  fused resize + conversion (segnetinfer)        %6.2f\n", best[0]);
  printf("  GstVideoConverter at the net's size + copy     %6.2f  (%.1fx the fused)\n", best[1], best[1] / best[0]);
  printf("  full-frame to RGB (videoconvert) + resize      %6.2f  (%.1fx the fused)\n", best[2], best[2] / best[0]);
  gst_video_frame_unmap(&fi), gst_video_frame_unmap(&ff), gst_video_frame_unmap(&fn);
  gst_video_converter_free(to_full), gst_video_converter_free(to_net);
  gst_buffer_unref(bi), gst_buffer_unref(bf), gst_buffer_unref(bn);
  g_free(out);
  return 0;
}
