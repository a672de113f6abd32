/* gstsrprobmeta.h: GstSrProbMeta, the coarse per-pixel class distribution
 * that `segnetinfer` attaches to each video frame, and optionally the
 * frame's image descriptor (the net's pooled conv5 features). Public:
 * applications link libgstsegrankmeta-1.0 and read it with
 * gst_buffer_get_sr_prob_meta(), or from Python through
 * GstSegrank-1.0.typelib:
 *
 *   meta = GstSegrank.prob_meta_get(buffer)
 *   probs = GstSegrank.ProbMeta.get_probs(meta)            # C·h·w floats
 *   desc = GstSegrank.ProbMeta.get_descriptor(meta)        # 2·256 floats, or []
 */
#ifndef GST_SR_PROB_META_H
#define GST_SR_PROB_META_H

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_SR_PROB_META_API_TYPE (gst_sr_prob_meta_api_get_type())
#define GST_SR_PROB_META_INFO (gst_sr_prob_meta_get_info())

/**
 * GstSrProbMeta:
 * @meta: parent
 * @n_classes: number of classes C
 * @width: coarse map width w (columns)
 * @height: coarse map height h (rows)
 * @probs: C × h × w float32 probabilities, class-major: class k at row i,
 *   column j is probs[(k * h + i) * w + j]; each cell sums to 1 over classes
 * @class_names: (array length=n_classes): class names, NULL-terminated
 * @class_colors: (array): 3 × n_classes bytes, RGB display colour per class
 * @frame_width: width of the frame the map describes, in pixels
 * @frame_height: height of that frame
 * @region: the part of the frame the map covers (the whole frame when the
 *   net saw the whole frame). Cell (i, j) covers region rows
 *   [floor(i·H/h), floor((i+1)·H/h)) and columns likewise, H and W being the
 *   region's height and width.
 * @input_width: width of the net input the frame was resized to
 * @input_height: height of that input
 * @n_descriptor: length of @descriptor, 0 when there is none
 * @descriptor: (array length=n_descriptor) (nullable): the frame's image
 *   descriptor, NULL when @n_descriptor is 0: the net's conv5 output (after
 *   relu5) pooled over the whole map, per channel its mean then its
 *   maximum: descriptor[c] = mean of channel c, descriptor[K + c] = its
 *   maximum, K channels (2 × 256 values for SegNet, at any input size).
 *   `svmrerank`'s classification features (image-level "is class c
 *   present", "does c cover more than t" SVMs) are computed from it;
 *   `segnetinfer` attaches it unless its `descriptor` property is FALSE
 *
 * Survives copies and scaling (the frame size and region are rescaled; the
 * descriptor, an image-level value, is kept as it is); dropped by any other
 * transformation (crop, flip, rotation), which would make the geometry
 * wrong.
 */
typedef struct {
  GstMeta meta;
  guint n_classes;
  guint width;
  guint height;
  gfloat *probs;
  gchar **class_names;
  guint8 *class_colors;
  guint frame_width;
  guint frame_height;
  GstVideoRectangle region;
  guint input_width;
  guint input_height;
  guint n_descriptor;
  gfloat *descriptor;
} GstSrProbMeta;

GType gst_sr_prob_meta_api_get_type(void);
const GstMetaInfo *gst_sr_prob_meta_get_info(void);

/**
 * gst_buffer_add_sr_prob_meta:
 * @buffer: a writable buffer
 * @n_classes: C
 * @width: w
 * @height: h
 * @probs: (array): C·h·w values, copied
 * @class_names: (array length=n_classes): copied
 * @class_colors: (array): 3·C bytes, copied
 * @frame_width: frame width; the region is set to the whole frame
 * @frame_height: frame height
 *
 * Returns: (transfer none): the meta, owned by @buffer
 */
GstSrProbMeta *gst_buffer_add_sr_prob_meta(GstBuffer *buffer, guint n_classes, guint width, guint height,
                                           const gfloat *probs, const gchar *const *class_names,
                                           const guint8 *class_colors, guint frame_width, guint frame_height);

/**
 * gst_buffer_get_sr_prob_meta:
 * @buffer: a buffer
 *
 * Returns: (transfer none) (nullable): the buffer's probability meta
 */
#define gst_buffer_get_sr_prob_meta(buffer) \
  ((GstSrProbMeta *)gst_buffer_get_meta((buffer), GST_SR_PROB_META_API_TYPE))

/**
 * gst_sr_prob_meta_get:
 * @buffer: a buffer
 *
 * The function form of gst_buffer_get_sr_prob_meta(), for bindings.
 *
 * Returns: (transfer none) (nullable): the buffer's probability meta
 */
GstSrProbMeta *gst_sr_prob_meta_get(GstBuffer *buffer);

/**
 * gst_sr_prob_meta_get_probs:
 * @meta: the meta
 * @n_values: (out): C·h·w
 *
 * Returns: (transfer none) (array length=n_values): the probabilities,
 *   class-major (C × h × w)
 */
const gfloat *gst_sr_prob_meta_get_probs(const GstSrProbMeta *meta, gsize *n_values);

/**
 * gst_sr_prob_meta_set_descriptor:
 * @meta: the meta
 * @n_descriptor: number of values (0 removes the descriptor)
 * @descriptor: (array length=n_descriptor) (nullable): the image descriptor
 *   (see #GstSrProbMeta), copied; NULL only when @n_descriptor is 0
 *
 * Attaches (or replaces, or with 0 removes) the frame's image descriptor.
 *
 * Returns: FALSE (and leaves the meta unchanged) when a value is not finite
 */
gboolean gst_sr_prob_meta_set_descriptor(GstSrProbMeta *meta, guint n_descriptor, const gfloat *descriptor);

/**
 * gst_sr_prob_meta_get_descriptor:
 * @meta: the meta
 * @n_values: (out): n_descriptor (0 when the meta has no descriptor)
 *
 * Returns: (transfer none) (array length=n_values) (nullable): the image
 *   descriptor (conv5 mean then max per channel), NULL when there is none
 */
const gfloat *gst_sr_prob_meta_get_descriptor(const GstSrProbMeta *meta, gsize *n_values);

/**
 * gst_sr_prob_meta_get_class_name:
 * @meta: the meta
 * @k: a class index < n_classes
 *
 * Returns: (transfer none): the name of class @k
 */
const gchar *gst_sr_prob_meta_get_class_name(const GstSrProbMeta *meta, guint k);

/**
 * gst_sr_prob_meta_argmax:
 * @meta: the meta
 * @row: coarse row i < height
 * @col: coarse column j < width
 *
 * Returns: the most probable class of cell (i, j)
 */
guint gst_sr_prob_meta_argmax(const GstSrProbMeta *meta, guint row, guint col);

G_END_DECLS

#endif
