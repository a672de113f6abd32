/* meta_app.c: a small application that embeds segnetinfer and reads its
 * GstSrProbMeta: runs
 *
 *   videotestsrc num-buffers=N pattern=smpte ! video/x-raw,format=RGB,width=160,height=120
 *     ! segnetinfer ! appsink
 *
 * and prints, per frame, the share of the frame's pixels each class gets in
 * the net's full-resolution label map (gst_sr_prob_meta_get_label_map(): the
 * coarse distribution upsampled bilinearly, then argmax, as segoverlay draws
 * it):
 *
 *   frame 0: Sky=0.251042 Building=0.000000 ...
 *
 * Usage: meta_app [N] (default 10 frames). The model is segnetinfer's
 * default ($SEGRANK_MODEL, else the installed or build tree's shipped one).
 *
 * Against the installed library (libgstsegrankmeta-1.0 and its headers
 * under gstreamer-1.0/gst/segrank, the plugin in GStreamer's plugin folder):
 *
 *   cc meta_app.c -o meta_app -I$(pkg-config --variable=includedir gstreamer-1.0)/gstreamer-1.0/gst/segrank \
 *     $(pkg-config --cflags --libs gstreamer-app-1.0 gstreamer-video-1.0) -lgstsegrankmeta-1.0
 *   ./meta_app 5
 *
 * Uninstalled, from the repository root after `meson setup build && ninja -C build`
 * (the build also makes this program: build/tests/examples/meta_app):
 *
 *   cc tests/examples/meta_app.c -o meta_app -Igst $(pkg-config --cflags --libs gstreamer-app-1.0 \
 *     gstreamer-video-1.0) -Lbuild/gst -lgstsegrankmeta-1.0 -Wl,-rpath,$PWD/build/gst
 *   GST_PLUGIN_PATH=$PWD/build/gst ./meta_app 5
 *
 * Reading the meta in a pad probe instead of an appsink works the same way:
 * gst_buffer_get_sr_prob_meta (GST_PAD_PROBE_INFO_BUFFER (info)).
 */
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <stdlib.h>

#include "gstsrprobmeta.h"

/* Prints frame @index's class areas: the share of the label map's pixels
 * per class. */
static gboolean print_areas(guint index, const GstSrProbMeta *meta) {
  GBytes *map = gst_sr_prob_meta_get_label_map(meta);
  if (!map) return FALSE;
  gsize n;
  const guint8 *labels = g_bytes_get_data(map, &n);
  guint64 *count = g_new0(guint64, meta->n_classes);
  gsize void_pixels = 0;
  for (gsize i = 0; i < n; i++) {
    if (labels[i] < meta->n_classes) count[labels[i]]++;
    else void_pixels++; /* outside the meta's region: none here */
  }
  GString *line = g_string_new(NULL);
  g_string_printf(line, "frame %u:", index);
  for (guint k = 0; k < meta->n_classes; k++)
    g_string_append_printf(line, " %s=%.6f", gst_sr_prob_meta_get_class_name(meta, k), (double)count[k] / (double)n);
  g_print("%s\n", line->str);
  if (void_pixels) g_printerr("frame %u: %" G_GSIZE_FORMAT " pixels outside the map's region\n", index, void_pixels);
  g_string_free(line, TRUE);
  g_free(count);
  g_bytes_unref(map);
  return TRUE;
}

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  int frames = argc > 1 ? atoi(argv[1]) : 10;
  if (frames <= 0) {
    g_printerr("usage: %s [FRAMES > 0]\n", argv[0]);
    return 2;
  }
  gchar *description = g_strdup_printf("videotestsrc num-buffers=%d pattern=smpte ! "
                                       "video/x-raw,format=RGB,width=160,height=120 ! segnetinfer ! "
                                       "appsink name=out sync=false",
                                       frames);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch(description, &error);
  g_free(description);
  if (!pipeline) {
    g_printerr("cannot build the pipeline: %s\n", error->message);
    g_error_free(error);
    return 1;
  }
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  int status = 0;
  guint index = 0;
  for (GstSample *sample; (sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) != NULL; index++) {
    const GstSrProbMeta *meta = gst_buffer_get_sr_prob_meta(gst_sample_get_buffer(sample));
    if (!meta || !print_areas(index, meta)) {
      g_printerr("frame %u: no GstSrProbMeta\n", index);
      status = 1;
    }
    gst_sample_unref(sample);
  }
  /* The appsink returns NULL at the end of the stream, or on an error. */
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (msg) {
    gchar *debug = NULL;
    gst_message_parse_error(msg, &error, &debug);
    g_printerr("error: %s (%s)\n", error->message, debug ? debug : "");
    g_clear_error(&error);
    g_free(debug);
    gst_message_unref(msg);
    status = 1;
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if ((int)index != frames) status = 1;
  return status;
}
