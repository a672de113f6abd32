/* gstsrprobmeta.h: GstSrProbMeta, the coarse per-pixel class distribution
 * that `segnetinfer` attaches to each video frame, and optionally the
 * frame's image descriptor (the net's pooled conv5 features). Public:
 * applications link libgstsegrankmeta-1.0 and read it with
 * gst_buffer_get_sr_prob_meta(), or from Python through
 * GstSegrank-1.0.typelib (docs/meta-api.md):
 *
 *   meta = GstSegrank.prob_meta_get(buffer)
 *   probs = meta.get_probs_bytes()          # GLib.Bytes, C·h·w float32, no copy
 *   labels = meta.get_label_map()           # GLib.Bytes, frame_width·frame_height uint8
 *   r, g, b = meta.get_class_color(k)
 *   desc = meta.get_descriptor()            # 2·256 floats, or []
 *
 * The pointer fields @probs and @class_colors are not introspectable (their
 * length is not a field): bindings see them as opaque pointers and use the
 * accessors above.
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
 *   column j is probs[(k * h + i) * w + j]; each cell sums to 1 over classes.
 *   Bindings: gst_sr_prob_meta_get_probs_bytes()
 * @class_names: (array length=n_classes): class names, NULL-terminated
 * @class_colors: 3 × n_classes bytes, RGB display colour per class.
 *   Bindings: gst_sr_prob_meta_get_class_color()
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
 * @reused: TRUE when the net did not run on this frame: the map (and
 *   descriptor) is the latest result, computed on the frame whose
 *   timestamp is @source_pts (`segnetinfer` does this for the frames
 *   between two that it runs with `interval`, and for late frames with `qos`)
 * @source_pts: presentation timestamp of the frame the map was computed
 *   on, GST_CLOCK_TIME_NONE when unknown (the add functions set it so)
 *
 * Survives copies and scaling (the frame size and region are rescaled; the
 * descriptor, an image-level value, is kept as it is); dropped by any other
 * transformation (crop, flip, rotation), which would make the geometry
 * wrong. The fields are read-only for everyone but the code that adds the
 * meta (from Python too: writing a count makes the arrays it sizes lie).
 */
/**
 * GstSrProbMeta.probs: (skip) (type gpointer)
 *
 * C × h × w float32 probabilities, class-major (see #GstSrProbMeta); from
 * bindings use gst_sr_prob_meta_get_probs_bytes().
 */
/**
 * GstSrProbMeta.class_colors: (skip) (type gpointer)
 *
 * 3 × n_classes bytes, RGB display colour per class; from bindings use
 * gst_sr_prob_meta_get_class_color().
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
  gboolean reused;
  GstClockTime source_pts;
  /*< private >*/
  /* Owns @probs when the meta was added by this library's functions (NULL
   * when a caller filled the fields itself: @probs is then g_free()d). */
  GBytes *probs_bytes;
} GstSrProbMeta;

/**
 * GST_SR_PROB_META_VOID_LABEL:
 *
 * The label gst_sr_prob_meta_get_label_map() gives the pixels outside the
 * meta's region: not a class (every class index is below 255).
 */
#define GST_SR_PROB_META_VOID_LABEL 255

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
 * gst_sr_prob_meta_add:
 * @buffer: a writable buffer
 * @n_classes: C, 1 to 255
 * @width: w, the coarse map's columns
 * @height: h, its rows
 * @probs: C·h·w float32 values in host byte order, class-major (see
 *   #GstSrProbMeta), each finite and ≥ 0: 4·C·h·w bytes. Referenced, not
 *   copied (copied only when its data is not aligned for floats); it must
 *   not change afterwards, as a #GBytes never does
 * @class_names: (array zero-terminated=1): at least @n_classes names;
 *   the first @n_classes are copied
 * @class_colors: 3·C bytes, RGB per class, copied
 * @frame_width: width of the frame the map describes, > 0; the region is
 *   set to the whole frame (see gst_sr_prob_meta_set_region())
 * @frame_height: its height, > 0
 *
 * The bindings' form of gst_buffer_add_sr_prob_meta(), for applications
 * (and tests) that produce their own distribution. The input size is left
 * 0 (unknown) and there is no descriptor (gst_sr_prob_meta_set_descriptor()).
 *
 * Returns: (transfer none) (nullable): the meta, owned by @buffer; NULL
 *   (with a critical warning) when an argument is invalid: a size that does
 *   not match, fewer than @n_classes names, a value not finite or negative
 */
GstSrProbMeta *gst_sr_prob_meta_add(GstBuffer *buffer, guint n_classes, guint width, guint height, GBytes *probs,
                                    const gchar *const *class_names, GBytes *class_colors, guint frame_width,
                                    guint frame_height);

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

/**
 * gst_sr_prob_meta_get_probs_bytes:
 * @meta: the meta
 *
 * The probabilities without a copy: the returned #GBytes shares the meta's
 * storage and keeps it alive, so it stays valid after the buffer is freed
 * (copied only for a meta whose fields a caller filled itself). In Python,
 * `numpy.frombuffer(meta.get_probs_bytes().get_data(), numpy.float32)`
 * (PyGObject's get_data() itself makes one Python bytes object).
 *
 * Returns: (transfer full): 4·C·h·w bytes, C × h × w float32 in host byte
 *   order, class-major
 */
GBytes *gst_sr_prob_meta_get_probs_bytes(const GstSrProbMeta *meta);

/**
 * gst_sr_prob_meta_get_class_color:
 * @meta: the meta
 * @k: a class index < n_classes
 * @r: (out) (optional): red
 * @g: (out) (optional): green
 * @b: (out) (optional): blue
 *
 * Class @k's display colour (0, 0, 0 when @k is out of range).
 *
 * Returns: (skip): FALSE when @k is out of range
 */
gboolean gst_sr_prob_meta_get_class_color(const GstSrProbMeta *meta, guint k, guint8 *r, guint8 *g, guint8 *b);

/**
 * gst_sr_prob_meta_set_region:
 * @meta: the meta
 * @x: left column of the covered rectangle, ≥ 0
 * @y: top row, ≥ 0
 * @width: its width, > 0, with @x + @width ≤ frame_width
 * @height: its height, > 0, with @y + @height ≤ frame_height
 *
 * Sets the part of the frame the coarse map covers (#GstSrProbMeta.region).
 *
 * Returns: FALSE (and leaves the meta unchanged) when the rectangle is empty
 *   or not inside the frame
 */
gboolean gst_sr_prob_meta_set_region(GstSrProbMeta *meta, gint x, gint y, gint width, gint height);

/**
 * gst_sr_prob_meta_get_label_map:
 * @meta: the meta
 *
 * The net's segmentation at the frame's resolution, as `segoverlay` draws
 * it: inside the region, the coarse probabilities interpolated bilinearly
 * (pixel centres aligned, clamped at the border) to the region's size, then
 * each pixel's most probable class (ties: the lower index); outside the
 * region #GST_SR_PROB_META_VOID_LABEL. Computed at each call.
 *
 * Returns: (transfer full) (nullable): frame_width × frame_height class
 *   indices, row-major (uint8); NULL when the meta has no frame size
 */
GBytes *gst_sr_prob_meta_get_label_map(const GstSrProbMeta *meta);

G_END_DECLS

#endif
