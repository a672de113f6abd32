/* gstsegoverlay.h: the segoverlay element (draws the segmentation a frame's
 * metas describe, or writes it out as a class-index mask). */
#ifndef GST_SEG_OVERLAY_H
#define GST_SEG_OVERLAY_H

#include <cairo.h>
#include <gst/video/gstvideofilter.h>

#include "gstsegrankcommon.h"

G_BEGIN_DECLS

/**
 * GstSegOverlayMode:
 * @GST_SEG_OVERLAY_MODE_BLEND: class colours blended over the frame with `alpha`
 * @GST_SEG_OVERLAY_MODE_CONTOURS: the frame with class boundaries drawn in class colours
 * @GST_SEG_OVERLAY_MODE_LABELS: the colour-coded label map alone
 * @GST_SEG_OVERLAY_MODE_INDEX: a GRAY8 frame of class indices at the frame's
 *   size (255: void, not covered, or not among `classes`) instead of the frame
 */
typedef enum {
  GST_SEG_OVERLAY_MODE_BLEND,
  GST_SEG_OVERLAY_MODE_CONTOURS,
  GST_SEG_OVERLAY_MODE_LABELS,
  GST_SEG_OVERLAY_MODE_INDEX,
} GstSegOverlayMode;

#define GST_TYPE_SEG_OVERLAY_MODE (gst_seg_overlay_mode_get_type())
GType gst_seg_overlay_mode_get_type(void);

#define GST_TYPE_SEG_OVERLAY (gst_seg_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstSegOverlay, gst_seg_overlay, GST, SEG_OVERLAY, GstVideoFilter)

struct _GstSegOverlay {
  GstVideoFilter parent;

  /* < private > */
  gdouble prop_alpha;
  GstSegOverlayMode prop_mode;
  gboolean prop_legend;

  sr_pixel_layout layout; /* packed RGB formats only */
  guint8 *labels;         /* one class index per pixel of the drawn region */
  gfloat *scratch;        /* separable upsampling buffer */
  gsize labels_size, scratch_size;
  cairo_surface_t *legend; /* rendered once per class table */
  gchar *legend_key;       /* the class names and colours it was rendered for */
  gboolean warned_no_meta;
};

GST_ELEMENT_REGISTER_DECLARE(segoverlay);

G_END_DECLS

#endif
