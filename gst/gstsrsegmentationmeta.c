/* gstsrsegmentationmeta.c: registration, copy/scale transform and accessors
 * of GstSrSegmentationMeta. */
#include "gstsrsegmentationmeta.h"

#include <math.h>
#include <string.h>

#include "gstsrclasscolor.h"

#include "gstsrnearest.h"

GType gst_sr_segmentation_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar *tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                GST_META_TAG_VIDEO_ORIENTATION_STR, NULL};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("GstSrSegmentationMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

static gboolean segmentation_meta_init(GstMeta *meta, gpointer params, GstBuffer *buffer) {
  (void)params, (void)buffer;
  GstSrSegmentationMeta *m = (GstSrSegmentationMeta *)meta;
  m->method = NULL;
  m->selected = -1;
  m->width = m->height = m->n_classes = m->n_scores = 0;
  m->class_names = NULL;
  m->class_colors = m->labels = NULL;
  m->scores = NULL;
  m->labels_bytes = NULL;
  return TRUE;
}

static void segmentation_meta_free(GstMeta *meta, GstBuffer *buffer) {
  (void)buffer;
  GstSrSegmentationMeta *m = (GstSrSegmentationMeta *)meta;
  g_free(m->method);
  g_strfreev(m->class_names);
  g_free(m->class_colors);
  if (m->labels_bytes) g_bytes_unref(m->labels_bytes);
  else g_free(m->labels);
  g_free(m->scores);
}

/* Adds the meta, taking @labels (width·height bytes); arguments checked. */
static GstSrSegmentationMeta *add_with_bytes(GstBuffer *buffer, const gchar *method, gint selected, guint width,
                                             guint height, guint n_classes, const gchar *const *class_names,
                                             const guint8 *class_colors, GBytes *labels, guint n_scores,
                                             const gdouble *scores) {
  GstSrSegmentationMeta *m =
      (GstSrSegmentationMeta *)gst_buffer_add_meta(buffer, GST_SR_SEGMENTATION_META_INFO, NULL);
  if (!m) {
    g_bytes_unref(labels);
    return NULL;
  }
  m->method = g_strdup(method);
  m->selected = selected;
  m->width = width, m->height = height, m->n_classes = n_classes;
  m->class_names = g_new0(gchar *, n_classes + 1);
  /* A missing name becomes "" so that the array stays NULL-terminated at
   * n_classes. */
  for (guint c = 0; c < n_classes; c++) m->class_names[c] = g_strdup(class_names[c] ? class_names[c] : "");
  m->class_colors = g_memdup2(class_colors, 3 * n_classes);
  m->labels_bytes = labels;
  /* The meta's API keeps a non-const pointer; the data is never written. */
  m->labels = (guint8 *)g_bytes_get_data(labels, NULL);
  m->n_scores = n_scores;
  m->scores = n_scores ? g_memdup2(scores, sizeof(gdouble) * n_scores) : g_new0(gdouble, 1);
  return m;
}

/* The arguments both add functions check alike (critical and FALSE on
 * the first one that is wrong). */
static gboolean add_args_ok(GstBuffer *buffer, const gchar *method, gint selected, guint width, guint height,
                            guint n_classes, gconstpointer class_names, gconstpointer class_colors,
                            gconstpointer labels, guint n_scores, const gdouble *scores) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), FALSE);
  g_return_val_if_fail(gst_buffer_is_writable(buffer), FALSE);
  g_return_val_if_fail(method != NULL, FALSE);
  g_return_val_if_fail(width > 0 && height > 0 && n_classes > 0 && n_classes <= 255, FALSE);
  g_return_val_if_fail(class_names && class_colors && labels, FALSE);
  g_return_val_if_fail(scores || n_scores == 0, FALSE);
  g_return_val_if_fail(selected >= -1 && (selected < 0 || (guint)selected < n_scores), FALSE);
  return TRUE;
}

GstSrSegmentationMeta *gst_buffer_add_sr_segmentation_meta(GstBuffer *buffer, const gchar *method, gint selected,
                                                           guint width, guint height, guint n_classes,
                                                           const gchar *const *class_names,
                                                           const guint8 *class_colors, const guint8 *labels,
                                                           guint n_scores, const gdouble *scores) {
  if (!add_args_ok(buffer, method, selected, width, height, n_classes, class_names, class_colors, labels, n_scores,
                   scores))
    return NULL;
  gsize px = (gsize)width * height;
  return add_with_bytes(buffer, method, selected, width, height, n_classes, class_names, class_colors,
                        g_bytes_new_take(g_memdup2(labels, px), px), n_scores, scores);
}

GstSrSegmentationMeta *gst_sr_segmentation_meta_add(GstBuffer *buffer, const gchar *method, gint selected,
                                                    guint width, guint height, guint n_classes,
                                                    const gchar *const *class_names, GBytes *class_colors,
                                                    GBytes *labels, const gdouble *scores, guint n_scores) {
  if (!add_args_ok(buffer, method, selected, width, height, n_classes, class_names, class_colors, labels, n_scores,
                   scores))
    return NULL;
  gsize px;
  g_return_val_if_fail(g_size_checked_mul(&px, width, height) && g_bytes_get_size(labels) == px, NULL);
  g_return_val_if_fail(g_bytes_get_size(class_colors) == 3 * (gsize)n_classes, NULL);
  for (guint c = 0; c < n_classes; c++) g_return_val_if_fail(class_names[c] != NULL, NULL);
  return add_with_bytes(buffer, method, selected, width, height, n_classes, class_names,
                        g_bytes_get_data(class_colors, NULL), g_bytes_ref(labels), n_scores, scores);
}

/* The meta of @src with its map rescaled to @nw × @nh, added to @dest. */
static gboolean add_scaled(GstBuffer *dest, const GstSrSegmentationMeta *src, guint nw, guint nh) {
  guint *xs = gst_sr_nearest_table(src->width, nw), *ys = gst_sr_nearest_table(src->height, nh);
  guint8 *labels = g_malloc((gsize)nw * nh);
  gst_sr_resample_labels(src->labels, src->width, xs, ys, labels, nw, nh);
  GstSrSegmentationMeta *dst = gst_buffer_add_sr_segmentation_meta(
      dest, src->method, src->selected, nw, nh, src->n_classes, (const gchar *const *)src->class_names,
      src->class_colors, labels, src->n_scores, src->scores);
  g_free(labels);
  g_free(xs);
  g_free(ys);
  return dst != NULL;
}

static gboolean segmentation_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *buffer, GQuark type,
                                            gpointer data) {
  (void)buffer;
  GstSrSegmentationMeta *src = (GstSrSegmentationMeta *)meta;
  if (GST_META_TRANSFORM_IS_COPY(type)) {
    /* A region copy holds part of the frame's memory: a full-frame map
     * would not fit it. */
    if (((GstMetaTransformCopy *)data)->region) return FALSE;
    return gst_buffer_add_sr_segmentation_meta(dest, src->method, src->selected, src->width, src->height,
                                               src->n_classes, (const gchar *const *)src->class_names,
                                               src->class_colors, src->labels, src->n_scores,
                                               src->scores) != NULL;
  }
  if (GST_VIDEO_META_TRANSFORM_IS_SCALE(type)) {
    GstVideoMetaTransform *t = data;
    gint nw = GST_VIDEO_INFO_WIDTH(t->out_info), nh = GST_VIDEO_INFO_HEIGHT(t->out_info);
    if (nw <= 0 || nh <= 0) return FALSE;
    return add_scaled(dest, src, (guint)nw, (guint)nh);
  }
  /* Crops, flips and rotations would misplace the map: drop it. */
  GST_DEBUG("dropping GstSrSegmentationMeta on a transformation it cannot follow");
  return FALSE;
}

const GstMetaInfo *gst_sr_segmentation_meta_get_info(void) {
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter((GstMetaInfo **)&info)) {
    const GstMetaInfo *mi = gst_meta_register(GST_SR_SEGMENTATION_META_API_TYPE, "GstSrSegmentationMeta",
                                              sizeof(GstSrSegmentationMeta), segmentation_meta_init,
                                              segmentation_meta_free, segmentation_meta_transform);
    g_once_init_leave((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

GstSrSegmentationMeta *gst_sr_segmentation_meta_get(GstBuffer *buffer) {
  return gst_buffer_get_sr_segmentation_meta(buffer);
}

const guint8 *gst_sr_segmentation_meta_get_labels(const GstSrSegmentationMeta *meta, gsize *n_pixels) {
  g_return_val_if_fail(meta && n_pixels, NULL);
  *n_pixels = (gsize)meta->width * meta->height;
  return meta->labels;
}

const gdouble *gst_sr_segmentation_meta_get_scores(const GstSrSegmentationMeta *meta, gsize *n_values) {
  g_return_val_if_fail(meta && n_values, NULL);
  *n_values = meta->n_scores;
  return meta->scores;
}

gdouble gst_sr_segmentation_meta_get_score(const GstSrSegmentationMeta *meta, guint k) {
  g_return_val_if_fail(meta && k < meta->n_scores, NAN);
  return meta->scores[k];
}

const gchar *gst_sr_segmentation_meta_get_class_name(const GstSrSegmentationMeta *meta, guint c) {
  g_return_val_if_fail(meta && c < meta->n_classes, NULL);
  return meta->class_names[c];
}

GBytes *gst_sr_segmentation_meta_get_labels_bytes(const GstSrSegmentationMeta *meta) {
  g_return_val_if_fail(meta != NULL, NULL);
  if (meta->labels_bytes) return g_bytes_ref(meta->labels_bytes);
  return g_bytes_new(meta->labels, (gsize)meta->width * meta->height);
}

GBytes *gst_sr_segmentation_meta_get_label_map(const GstSrSegmentationMeta *meta, guint width, guint height) {
  g_return_val_if_fail(meta != NULL && width > 0 && height > 0, NULL);
  if (width == meta->width && height == meta->height) return gst_sr_segmentation_meta_get_labels_bytes(meta);
  guint *xs = gst_sr_nearest_table(meta->width, width), *ys = gst_sr_nearest_table(meta->height, height);
  gsize n = (gsize)width * height;
  guint8 *labels = g_malloc(n);
  gst_sr_resample_labels(meta->labels, meta->width, xs, ys, labels, width, height);
  g_free(xs);
  g_free(ys);
  return g_bytes_new_take(labels, n);
}

gboolean gst_sr_segmentation_meta_get_class_color(const GstSrSegmentationMeta *meta, guint c, guint8 *r, guint8 *g,
                                                  guint8 *b) {
  /* No meta: no classes, so the outs are zeroed and the call refused. */
  return gst_sr_class_color(meta ? meta->class_colors : NULL, meta ? meta->n_classes : 0, c, r, g, b);
}
