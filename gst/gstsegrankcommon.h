/* gstsegrankcommon.h: what the segrank elements share: the backend enum
 * GType, the video formats they accept, and where the colour bytes are in
 * each of them. */
#ifndef GST_SEGRANK_COMMON_H
#define GST_SEGRANK_COMMON_H

#include <gst/video/video.h>

#include "segrank.h"

G_BEGIN_DECLS

/**
 * GstSegrankBackend:
 * @GST_SEGRANK_BACKEND_AUTO: Vulkan on a real GPU, otherwise cpu
 * @GST_SEGRANK_BACKEND_CPU: Winograd / im2col convolutions on OpenBLAS sgemm
 * @GST_SEGRANK_BACKEND_REF: plain loops, the test oracle (slow)
 * @GST_SEGRANK_BACKEND_VULKAN: Vulkan compute shaders (when built with Vulkan)
 */
typedef enum {
  GST_SEGRANK_BACKEND_AUTO,
  GST_SEGRANK_BACKEND_CPU,
  GST_SEGRANK_BACKEND_REF,
  GST_SEGRANK_BACKEND_VULKAN,
} GstSegrankBackend;

#define GST_TYPE_SEGRANK_BACKEND (gst_segrank_backend_get_type())
GType gst_segrank_backend_get_type(void);
const gchar *gst_segrank_backend_name(GstSegrankBackend b);

/* Packed 8-bit RGB formats, whatever videoconvert gives. */
#define GST_SEGRANK_VIDEO_FORMATS "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR }"

/* Byte offsets of R, G, B in one pixel of @info's format. */
sr_pixel_layout gst_segrank_pixel_layout(const GstVideoInfo *info);

G_END_DECLS

#endif
