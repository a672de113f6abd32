/* gstsegnetinput.h: segnetinfer's input from YUV and grey frames (resize and
 * colour conversion fused, at the net's size). */
#ifndef GST_SEGNET_INPUT_H
#define GST_SEGNET_INPUT_H

#include <gst/video/video.h>

G_BEGIN_DECLS

/* Writes @frame (8-bit YUV, planar, semi-planar or packed, or GRAY8),
 * resized bilinearly to @out_w × @out_h and converted to RGB with its
 * colorimetry (matrix and range; BT.601 when unknown), as planar BGR minus
 * @mean_bgr into @out (3 × @out_h × @out_w floats): what sr_preprocess
 * gives for the same picture in RGB. Chroma is sampled at its own
 * resolution, pixel-centre aligned. FALSE (nothing written) for another
 * format or when its column tables cannot be allocated. */
gboolean gst_segnet_input_from_yuv(const GstVideoFrame *frame, const gfloat mean_bgr[3], gint out_w, gint out_h,
                                   gfloat *out);

G_END_DECLS

#endif
