/* gstsrprobmeta.c: registration, copy/scale transform and accessors of
 * GstSrProbMeta (its probabilities and optional image descriptor). */
#include "gstsrprobmeta.h"

#include <math.h>
#include <string.h>

GType gst_sr_prob_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar *tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                GST_META_TAG_VIDEO_ORIENTATION_STR, NULL};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("GstSrProbMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

static gboolean prob_meta_init(GstMeta *meta, gpointer params, GstBuffer *buffer) {
  (void)params, (void)buffer;
  GstSrProbMeta *m = (GstSrProbMeta *)meta;
  m->n_classes = m->width = m->height = 0;
  m->probs = NULL;
  m->class_names = NULL;
  m->class_colors = NULL;
  m->frame_width = m->frame_height = m->input_width = m->input_height = 0;
  memset(&m->region, 0, sizeof m->region);
  m->n_descriptor = 0;
  m->descriptor = NULL;
  return TRUE;
}

static void prob_meta_free(GstMeta *meta, GstBuffer *buffer) {
  (void)buffer;
  GstSrProbMeta *m = (GstSrProbMeta *)meta;
  g_free(m->probs);
  g_strfreev(m->class_names);
  g_free(m->class_colors);
  g_free(m->descriptor);
}

static gboolean prob_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *buffer, GQuark type, gpointer data) {
  (void)buffer;
  GstSrProbMeta *src = (GstSrProbMeta *)meta;
  gint fw = src->frame_width, fh = src->frame_height;
  GstVideoRectangle region = src->region;
  if (GST_META_TRANSFORM_IS_COPY(type)) {
    /* A whole or partial copy of the same frame: geometry unchanged. */
  } else if (GST_VIDEO_META_TRANSFORM_IS_SCALE(type)) {
    GstVideoMetaTransform *t = data;
    gint ow = GST_VIDEO_INFO_WIDTH(t->in_info), oh = GST_VIDEO_INFO_HEIGHT(t->in_info);
    gint nw = GST_VIDEO_INFO_WIDTH(t->out_info), nh = GST_VIDEO_INFO_HEIGHT(t->out_info);
    if (ow <= 0 || oh <= 0) return FALSE;
    region.x = region.x * nw / ow, region.w = region.w * nw / ow;
    region.y = region.y * nh / oh, region.h = region.h * nh / oh;
    fw = nw, fh = nh;
  } else {
    /* Crops, flips and rotations would misplace the map: drop it. */
    GST_DEBUG("dropping GstSrProbMeta on a transformation it cannot follow");
    return FALSE;
  }
  GstSrProbMeta *dst = gst_buffer_add_sr_prob_meta(dest, src->n_classes, src->width, src->height, src->probs,
                                                   (const gchar *const *)src->class_names, src->class_colors, fw, fh);
  if (!dst) return FALSE;
  dst->region = region;
  dst->input_width = src->input_width, dst->input_height = src->input_height;
  if (src->n_descriptor > 0) {
    dst->n_descriptor = src->n_descriptor;
    dst->descriptor = g_memdup2(src->descriptor, sizeof(gfloat) * src->n_descriptor);
  }
  return TRUE;
}

const GstMetaInfo *gst_sr_prob_meta_get_info(void) {
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter((GstMetaInfo **)&info)) {
    const GstMetaInfo *mi = gst_meta_register(GST_SR_PROB_META_API_TYPE, "GstSrProbMeta", sizeof(GstSrProbMeta),
                                              prob_meta_init, prob_meta_free, prob_meta_transform);
    g_once_init_leave((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

GstSrProbMeta *gst_buffer_add_sr_prob_meta(GstBuffer *buffer, guint n_classes, guint width, guint height,
                                           const gfloat *probs, const gchar *const *class_names,
                                           const guint8 *class_colors, guint frame_width, guint frame_height) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  g_return_val_if_fail(gst_buffer_is_writable(buffer), NULL);
  g_return_val_if_fail(n_classes > 0 && width > 0 && height > 0 && probs && class_names && class_colors, NULL);
  GstSrProbMeta *m = (GstSrProbMeta *)gst_buffer_add_meta(buffer, GST_SR_PROB_META_INFO, NULL);
  if (!m) return NULL;
  m->n_classes = n_classes, m->width = width, m->height = height;
  m->probs = g_memdup2(probs, sizeof(gfloat) * n_classes * width * height);
  m->class_names = g_new0(gchar *, n_classes + 1);
  for (guint i = 0; i < n_classes; i++) m->class_names[i] = g_strdup(class_names[i]);
  m->class_colors = g_memdup2(class_colors, 3 * n_classes);
  m->frame_width = frame_width, m->frame_height = frame_height;
  m->region = (GstVideoRectangle){0, 0, (gint)frame_width, (gint)frame_height};
  return m;
}

guint gst_sr_prob_meta_argmax(const GstSrProbMeta *meta, guint row, guint col) {
  g_return_val_if_fail(meta && row < meta->height && col < meta->width, 0);
  guint best = 0;
  gsize plane = (gsize)meta->width * meta->height, at = (gsize)row * meta->width + col;
  for (guint k = 1; k < meta->n_classes; k++)
    if (meta->probs[k * plane + at] > meta->probs[best * plane + at]) best = k;
  return best;
}

GstSrProbMeta *gst_sr_prob_meta_get(GstBuffer *buffer) { return gst_buffer_get_sr_prob_meta(buffer); }

const gfloat *gst_sr_prob_meta_get_probs(const GstSrProbMeta *meta, gsize *n_values) {
  g_return_val_if_fail(meta, NULL);
  *n_values = (gsize)meta->n_classes * meta->width * meta->height;
  return meta->probs;
}

gboolean gst_sr_prob_meta_set_descriptor(GstSrProbMeta *meta, guint n_descriptor, const gfloat *descriptor) {
  g_return_val_if_fail(meta && (n_descriptor == 0 || descriptor), FALSE);
  for (guint i = 0; i < n_descriptor; i++)
    if (!isfinite(descriptor[i])) return FALSE;
  g_free(meta->descriptor);
  meta->descriptor = n_descriptor ? g_memdup2(descriptor, sizeof(gfloat) * n_descriptor) : NULL;
  meta->n_descriptor = n_descriptor;
  return TRUE;
}

const gfloat *gst_sr_prob_meta_get_descriptor(const GstSrProbMeta *meta, gsize *n_values) {
  g_return_val_if_fail(meta, NULL);
  *n_values = meta->n_descriptor;
  return meta->descriptor;
}

const gchar *gst_sr_prob_meta_get_class_name(const GstSrProbMeta *meta, guint k) {
  g_return_val_if_fail(meta && k < meta->n_classes, NULL);
  return meta->class_names[k];
}
