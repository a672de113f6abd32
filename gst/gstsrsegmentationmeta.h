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
 *   labels = GstSegrank.SegmentationMeta.get_labels(meta)   # bytes, h·w
 *   costs = GstSegrank.SegmentationMeta.get_scores(meta)    # lower is better
 *   print(meta.method, meta.selected)
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
 * @class_colors: (array): 3 × n_classes bytes, RGB display colour per class
 * @labels: height × width class indices, row-major: row y, column x is
 *   labels[y * width + x]
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
 * since the map would no longer line up with the frame.
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

G_END_DECLS

#endif
