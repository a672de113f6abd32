/* gstsegnetinfer.h: the segnetinfer element (frames in, same frames out with
 * a GstSrProbMeta, optionally carrying the frame's image descriptor). */
#ifndef GST_SEGNET_INFER_H
#define GST_SEGNET_INFER_H

#include <gst/video/gstvideofilter.h>

#include "gstsegrankcommon.h"

G_BEGIN_DECLS

#define GST_TYPE_SEGNET_INFER (gst_segnet_infer_get_type())
G_DECLARE_FINAL_TYPE(GstSegnetInfer, gst_segnet_infer, GST, SEGNET_INFER, GstVideoFilter)

/* One loaded model, ready to run frames (gstsegnetinfer.c). */
typedef struct _GstSegnetRunner GstSegnetRunner;

/* What start() fixes for the run: every property but `model`, `interval`
 * and `qos`, which may change while running. */
typedef struct {
  GstSegrankBackend backend;
  gint threads;
  gint size_w, size_h; /* 0 x 0: the model's own */
  gint batch;
  gboolean descriptor;
} GstSegnetConfig;

struct _GstSegnetInfer {
  GstVideoFilter parent;

  /* < private > */
  /* Properties as set (under the object lock). */
  gchar *prop_model;
  GstSegrankBackend prop_backend;
  gint prop_input_w, prop_input_h; /* 0 x 0: the model's own */
  gint prop_threads;
  gint prop_batch_size;
  gboolean prop_descriptor;
  guint prop_interval;
  gboolean prop_qos;
  gboolean started;        /* the fixed properties are in use: set refused (under the object lock) */
  gchar *prop_model_loaded; /* the `model` value of the model running or about to (under the object lock) */

  /* Fixed at start (read-only until stop). */
  GstSegnetConfig cfg;

  /* Streaming-thread state. */
  GstSegnetRunner *runner;
  gboolean packed_rgb;          /* the input is read directly with `layout` */
  sr_pixel_layout layout;
  gfloat *descriptor_buf;
  gint descriptor_len;
  gboolean warned_descriptor;
  GQueue held;                  /* GstSegnetHeld: frames not yet given their meta, in order */
  gint held_infer;              /* how many of them run through the net */
  GQueue ready;                 /* frames with their meta, waiting to be pushed */
  guint64 frame_count;          /* for `interval` */
  guint64 n_inferred, n_reused; /* logged at stop */
  /* The latest result, attached to the frames that reuse it. */
  gfloat *last_probs;
  guint last_c, last_w, last_h;
  gfloat *last_descriptor;
  guint last_descriptor_len;
  GstClockTime last_pts;
  gboolean have_last;

  /* Shared with other threads (under the object lock). */
  GstClockTime earliest_time;  /* from QoS events: frames that run earlier than this are late */
  GstClockTime batch_time;     /* estimated time of one forward pass of a full batch */
  GstClockTime reported_batch_time; /* what the last latency answer assumed */
  gint fps_n, fps_d;

  /* Hot swap: models loaded off the streaming thread (one at a time). */
  GThreadPool *loader;
  GMutex swap_lock;
  GstSegnetRunner *next;       /* loaded, not yet in use (under swap_lock) */
};

GST_ELEMENT_REGISTER_DECLARE(segnetinfer);

G_END_DECLS

#endif
