/* gstsegnetinfer.h: the segnetinfer element (frames in, same frames out with
 * a GstSrProbMeta, optionally carrying the frame's image descriptor). */
#ifndef GST_SEGNET_INFER_H
#define GST_SEGNET_INFER_H

#include <gst/video/gstvideofilter.h>

#include "gstsegrankcommon.h"

G_BEGIN_DECLS

#define GST_TYPE_SEGNET_INFER (gst_segnet_infer_get_type())
G_DECLARE_FINAL_TYPE(GstSegnetInfer, gst_segnet_infer, GST, SEGNET_INFER, GstVideoFilter)

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
  gboolean started; /* the properties above are in use: set refused (under the object lock) */

  /* Working state, built in start(). */
  sr_model *model;
  sr_backend *backend;
  sr_net *net;
  gint in_w, in_h;
  sr_tensor input, probs;
  gchar **class_names;
  guint8 *class_colors;
  sr_pixel_layout layout;
  gint batch;          /* frames per forward pass, fixed at start */
  gboolean descriptor; /* conv5 is tapped and pooled, fixed at start */
  gfloat *descriptor_buf;
  gint descriptor_len;
  gboolean warned_descriptor;
  GQueue pending;      /* frames waiting for a full batch */
  GQueue ready;        /* frames with their meta, waiting to be pushed */
};

GST_ELEMENT_REGISTER_DECLARE(segnetinfer);

G_END_DECLS

#endif
