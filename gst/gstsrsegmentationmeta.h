/* gstsrsegmentationmeta.h: GstSrSegmentationMeta, the final segmentation of
 * one video frame (one full-resolution label map) as a re-ranker chose it:
 * `proposalscore` (eq. 17) or `svmrerank` (a ranking SVM) pick one of the
 * frame's GstSrProposalMeta proposals, or fall back to the net's own
 * upsampled output when the frame has none. `segoverlay` draws it. Public:
 * applications link libgstsegrankmeta-1.0 and read it with
 * gst_buffer_get_sr_segmentation_meta(), or from Python through
 * GstSegrank-1.0.typelib:
 *
 *   meta = GstSegrank.segmentation_meta_get(buffer)
 *   labels = meta.get_labels_bytes()          # GLib.Bytes, h·w uint8, no copy
 *   full = meta.get_label_map(fw, fh)         # the same at the frame's size
 *   costs = meta.get_scores()                 # lower is better
 *   print(meta.method, meta.selected, meta.get_class_color(0))
 *
 * The pointer fields @labels and @class_colors are not introspectable (their
 * length is not a field): bindings see them as opaque pointers and use the
 * accessors (docs/meta-api.md).
 */
#ifndef GST_SR_SEGMENTATION_META_H
#define GST_SR_SEGMENTATION_META_H

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_SR_SEGMENTATION_META_API_TYPE (gst_sr_segmentation_meta_api_get_type())
#define GST_SR_SEGMENTATION_META_INFO (gst_sr_segmentation_meta_get_info())

/**
 * GstSrSegmentationMeta:
 * @meta: parent
 * @method: how the segmentation was chosen: "eq17" (`proposalscore`, the
 *   symmetric-KL score of eq. 17), "svm" (`svmrerank`, a linear ranking
 *   SVM) or "net" (no proposals: the net's own output, its coarse
 *   probabilities interpolated bilinearly to the frame, then argmax)
 * @selected: index, in the buffer's #GstSrProposalMeta, of the chosen
 *   proposal (@labels is a copy of its map), or -1 when the net's own
 *   output was used (method "net")
 * @width: label map width, in pixels: the frame's, or the proposals' when
 *   those have another size than the frame (`segoverlay` rescales)
 * @height: label map height, in pixels
 * @n_classes: number of classes C; labels ≥ C are void (not a class)
 * @class_names: (array length=n_classes): class names, NULL-terminated
 * @class_colors: 3 × n_classes bytes, RGB display colour per class.
 *   Bindings: gst_sr_segmentation_meta_get_class_color()
 * @labels: height × width class indices, row-major: row y, column x is
 *   labels[y * width + x]. Bindings: gst_sr_segmentation_meta_get_labels_bytes()
 * @n_scores: number of proposals the re-ranker scored (the first
 *   @n_scores of the proposal meta); 0 with method "net", unless the frame
 *   had proposals of which none could be scored (then all are +inf)
 * @scores: (array length=n_scores): the re-ranker's cost per scored
 *   proposal, LOWER is better for every method: eq. 17's score for "eq17",
 *   the negated SVM score for "svm"; +inf for a proposal that could not be
 *   scored (a map that is void everywhere). @selected is the index of the
 *   lowest (ties: the lower index)
 *
 * Survives whole-buffer copies unchanged; a region copy (part of the
 * buffer's memory, #GstMetaTransformCopy.region TRUE) drops it, since the
 * full-frame map would not fit the part. On a scale transformation
 * (videoscale) the label map is rescaled nearest-neighbour to the new frame
 * size; every other transformation (crop, flip, rotation) drops the meta,
 * since the map would no longer line up with the frame. The fields are
 * read-only for everyone but the code that adds the meta.
 */
/**
 * GstSrSegmentationMeta.class_colors: (skip) (type gpointer)
 *
 * 3 × n_classes bytes, RGB display colour per class; from bindings use
 * gst_sr_segmentation_meta_get_class_color().
 */
/**
 * GstSrSegmentationMeta.labels: (skip) (type gpointer)
 *
 * height × width class indices, row-major; from bindings use
 * gst_sr_segmentation_meta_get_labels_bytes() or
 * gst_sr_segmentation_meta_get_label_map().
 */
typedef struct {
  GstMeta meta;
  gchar *method;
  gint selected;
  guint width;
  guint height;
  guint n_classes;
  gchar **class_names;
  guint8 *class_colors;
  guint8 *labels;
  guint n_scores;
  gdouble *scores;
  /*< private >*/
  /* Owns @labels when the meta was added by this library's functions (NULL
   * when a caller filled the fields itself: @labels is then g_free()d). */
  GBytes *labels_bytes;
} GstSrSegmentationMeta;

GType gst_sr_segmentation_meta_api_get_type(void);
const GstMetaInfo *gst_sr_segmentation_meta_get_info(void);

/**
 * gst_buffer_add_sr_segmentation_meta:
 * @buffer: a writable buffer
 * @method: how it was chosen ("eq17", "svm", "net")
 * @selected: index of the chosen proposal in the buffer's proposal meta, or
 *   -1 (the net's own output)
 * @width: map width
 * @height: map height
 * @n_classes: C (1 to 255)
 * @class_names: (array length=n_classes): copied
 * @class_colors: (array): 3·C bytes, copied
 * @labels: (array): height·width class indices, copied
 * @n_scores: number of scored proposals (may be 0)
 * @scores: (array length=n_scores) (nullable): costs, lower is better,
 *   copied; NULL when @n_scores is 0
 *
 * Returns: (transfer none) (nullable): the meta, owned by @buffer; NULL on
 *   invalid arguments (@selected must be -1 or < @n_scores)
 */
GstSrSegmentationMeta *gst_buffer_add_sr_segmentation_meta(GstBuffer *buffer, const gchar *method, gint selected,
                                                           guint width, guint height, guint n_classes,
                                                           const gchar *const *class_names,
                                                           const guint8 *class_colors, const guint8 *labels,
                                                           guint n_scores, const gdouble *scores);

/**
 * gst_sr_segmentation_meta_add:
 * @buffer: a writable buffer
 * @method: how it was chosen ("eq17", "svm", "net", or the application's
 *   own name)
 * @selected: index of the chosen proposal in the buffer's proposal meta, or
 *   -1 (not a proposal)
 * @width: map width, > 0
 * @height: map height, > 0
 * @n_classes: C (1 to 255)
 * @class_names: (array zero-terminated=1): at least @n_classes names; the
 *   first @n_classes are copied
 * @class_colors: 3·C bytes, RGB per class, copied
 * @labels: height·width class indices (uint8, row-major; values ≥ C are
 *   void). Referenced, not copied; it must not change afterwards, as a
 *   #GBytes never does
 * @scores: (array length=n_scores) (nullable): costs, lower is better,
 *   copied; NULL when @n_scores is 0
 * @n_scores: number of scored proposals (may be 0)
 *
 * The bindings' form of gst_buffer_add_sr_segmentation_meta().
 *
 * Returns: (transfer none) (nullable): the meta, owned by @buffer; NULL
 *   (with a critical warning) on invalid arguments: a size that does not
 *   match, fewer than @n_classes names, @selected not -1 or < @n_scores
 */
GstSrSegmentationMeta *gst_sr_segmentation_meta_add(GstBuffer *buffer, const gchar *method, gint selected,
                                                    guint width, guint height, guint n_classes,
                                                    const gchar *const *class_names, GBytes *class_colors,
                                                    GBytes *labels, const gdouble *scores, guint n_scores);

/**
 * gst_buffer_get_sr_segmentation_meta:
 * @buffer: a buffer
 *
 * Returns: (transfer none) (nullable): the buffer's segmentation meta
 */
#define gst_buffer_get_sr_segmentation_meta(buffer) \
  ((GstSrSegmentationMeta *)gst_buffer_get_meta((buffer), GST_SR_SEGMENTATION_META_API_TYPE))

/**
 * gst_sr_segmentation_meta_get:
 * @buffer: a buffer
 *
 * The function form of gst_buffer_get_sr_segmentation_meta(), for bindings.
 *
 * Returns: (transfer none) (nullable): the buffer's segmentation meta
 */
GstSrSegmentationMeta *gst_sr_segmentation_meta_get(GstBuffer *buffer);

/**
 * gst_sr_segmentation_meta_get_labels:
 * @meta: the meta
 * @n_pixels: (out): height·width
 *
 * Returns: (transfer none) (array length=n_pixels): the final label map,
 *   row-major
 */
const guint8 *gst_sr_segmentation_meta_get_labels(const GstSrSegmentationMeta *meta, gsize *n_pixels);

/**
 * gst_sr_segmentation_meta_get_scores:
 * @meta: the meta
 * @n_values: (out): n_scores
 *
 * Returns: (transfer none) (array length=n_values): the re-ranker's cost per
 *   scored proposal, lower is better
 */
const gdouble *gst_sr_segmentation_meta_get_scores(const GstSrSegmentationMeta *meta, gsize *n_values);

/**
 * gst_sr_segmentation_meta_get_score:
 * @meta: the meta
 * @k: a proposal index < n_scores
 *
 * Returns: proposal @k's cost (lower is better; +inf: not scorable)
 */
gdouble gst_sr_segmentation_meta_get_score(const GstSrSegmentationMeta *meta, guint k);

/**
 * gst_sr_segmentation_meta_get_class_name:
 * @meta: the meta
 * @c: a class index < n_classes
 *
 * Returns: (transfer none): the name of class @c
 */
const gchar *gst_sr_segmentation_meta_get_class_name(const GstSrSegmentationMeta *meta, guint c);

/**
 * gst_sr_segmentation_meta_get_labels_bytes:
 * @meta: the meta
 *
 * The label map without a copy: the returned #GBytes shares the meta's
 * storage and keeps it alive, so it stays valid after the buffer is freed
 * (copied only for a meta whose fields a caller filled itself).
 *
 * Returns: (transfer full): height × width class indices (uint8), row-major
 */
GBytes *gst_sr_segmentation_meta_get_labels_bytes(const GstSrSegmentationMeta *meta);

/**
 * gst_sr_segmentation_meta_get_label_map:
 * @meta: the meta
 * @width: the frame's width, > 0
 * @height: the frame's height, > 0
 *
 * The label map at the frame's resolution, as `segoverlay` draws it: the
 * map itself (gst_sr_segmentation_meta_get_labels_bytes(), no copy) when it
 * has that size, else resampled nearest-neighbour with pixel centres aligned
 * (destination column x takes source column floor((x + 1/2) · w / @width),
 * rows likewise).
 *
 * Returns: (transfer full): @width × @height class indices (uint8), row-major
 */
GBytes *gst_sr_segmentation_meta_get_label_map(const GstSrSegmentationMeta *meta, guint width, guint height);

/**
 * gst_sr_segmentation_meta_get_class_color:
 * @meta: the meta
 * @c: a class index < n_classes
 * @r: (out) (optional): red
 * @g: (out) (optional): green
 * @b: (out) (optional): blue
 *
 * Class @c's display colour (0, 0, 0 when @c is out of range).
 *
 * Returns: (skip): FALSE when @c is out of range
 */
gboolean gst_sr_segmentation_meta_get_class_color(const GstSrSegmentationMeta *meta, guint c, guint8 *r, guint8 *g,
                                                  guint8 *b);

G_END_DECLS

#endif
