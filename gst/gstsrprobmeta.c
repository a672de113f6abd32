/* gstsrprobmeta.c: registration, copy/scale transform and accessors of
 * GstSrProbMeta (its probabilities and optional image descriptor). */
#include "gstsrprobmeta.h"

#include <math.h>
#include <string.h>

#include "gstsrclasscolor.h"

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
  m->reused = FALSE;
  m->source_pts = GST_CLOCK_TIME_NONE;
  m->probs_bytes = NULL;
  return TRUE;
}

static void prob_meta_free(GstMeta *meta, GstBuffer *buffer) {
  (void)buffer;
  GstSrProbMeta *m = (GstSrProbMeta *)meta;
  if (m->probs_bytes) g_bytes_unref(m->probs_bytes);
  else g_free(m->probs);
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
  dst->reused = src->reused, dst->source_pts = src->source_pts;
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

/* Adds the meta, taking @probs (C·h·w floats, aligned). */
static GstSrProbMeta *add_with_bytes(GstBuffer *buffer, guint n_classes, guint width, guint height, GBytes *probs,
                                     const gchar *const *class_names, const guint8 *class_colors, guint frame_width,
                                     guint frame_height) {
  GstSrProbMeta *m = (GstSrProbMeta *)gst_buffer_add_meta(buffer, GST_SR_PROB_META_INFO, NULL);
  if (!m) {
    g_bytes_unref(probs);
    return NULL;
  }
  m->n_classes = n_classes, m->width = width, m->height = height;
  m->probs_bytes = probs;
  /* The meta's API keeps a non-const pointer; the data is never written. */
  m->probs = (gfloat *)g_bytes_get_data(probs, NULL);
  m->class_names = g_new0(gchar *, n_classes + 1);
  for (guint i = 0; i < n_classes; i++) m->class_names[i] = g_strdup(class_names[i]);
  m->class_colors = g_memdup2(class_colors, 3 * n_classes);
  m->frame_width = frame_width, m->frame_height = frame_height;
  m->region = (GstVideoRectangle){0, 0, (gint)frame_width, (gint)frame_height};
  return m;
}

GstSrProbMeta *gst_buffer_add_sr_prob_meta(GstBuffer *buffer, guint n_classes, guint width, guint height,
                                           const gfloat *probs, const gchar *const *class_names,
                                           const guint8 *class_colors, guint frame_width, guint frame_height) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  g_return_val_if_fail(gst_buffer_is_writable(buffer), NULL);
  g_return_val_if_fail(n_classes > 0 && width > 0 && height > 0 && probs && class_names && class_colors, NULL);
  gsize size = sizeof(gfloat) * n_classes * width * height;
  return add_with_bytes(buffer, n_classes, width, height, g_bytes_new_take(g_memdup2(probs, size), size),
                        class_names, class_colors, frame_width, frame_height);
}

GstSrProbMeta *gst_sr_prob_meta_add(GstBuffer *buffer, guint n_classes, guint width, guint height, GBytes *probs,
                                    const gchar *const *class_names, GBytes *class_colors, guint frame_width,
                                    guint frame_height) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  g_return_val_if_fail(gst_buffer_is_writable(buffer), NULL);
  g_return_val_if_fail(n_classes > 0 && n_classes < GST_SR_PROB_META_VOID_LABEL, NULL);
  g_return_val_if_fail(width > 0 && height > 0 && frame_width > 0 && frame_height > 0, NULL);
  g_return_val_if_fail(probs && class_names && class_colors, NULL);
  gsize cells, size;
  g_return_val_if_fail(g_size_checked_mul(&cells, (gsize)n_classes * width, height), NULL);
  g_return_val_if_fail(g_size_checked_mul(&size, cells, sizeof(gfloat)), NULL);
  g_return_val_if_fail(g_bytes_get_size(probs) == size, NULL);
  g_return_val_if_fail(g_bytes_get_size(class_colors) == 3 * (gsize)n_classes, NULL);
  for (guint k = 0; k < n_classes; k++) g_return_val_if_fail(class_names[k] != NULL, NULL);
  const gfloat *values = g_bytes_get_data(probs, NULL);
  if ((guintptr)values % _Alignof(gfloat) != 0) {
    /* A slice at an odd offset: floats cannot be read in place. */
    probs = g_bytes_new(values, size);
    values = g_bytes_get_data(probs, NULL);
  } else {
    g_bytes_ref(probs);
  }
  for (gsize i = 0; i < cells; i++)
    if (!(isfinite(values[i]) && values[i] >= 0)) {
      g_bytes_unref(probs);
      g_return_val_if_reached(NULL);
    }
  return add_with_bytes(buffer, n_classes, width, height, probs, class_names,
                        g_bytes_get_data(class_colors, NULL), frame_width, frame_height);
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

GBytes *gst_sr_prob_meta_get_probs_bytes(const GstSrProbMeta *meta) {
  g_return_val_if_fail(meta != NULL, NULL);
  if (meta->probs_bytes) return g_bytes_ref(meta->probs_bytes);
  return g_bytes_new(meta->probs, sizeof(gfloat) * meta->n_classes * meta->width * meta->height);
}

gboolean gst_sr_prob_meta_get_class_color(const GstSrProbMeta *meta, guint k, guint8 *r, guint8 *g, guint8 *b) {
  /* No meta: no classes, so the outs are zeroed and the call refused. */
  return gst_sr_class_color(meta ? meta->class_colors : NULL, meta ? meta->n_classes : 0, k, r, g, b);
}

gboolean gst_sr_prob_meta_set_region(GstSrProbMeta *meta, gint x, gint y, gint width, gint height) {
  g_return_val_if_fail(meta != NULL, FALSE);
  if (x < 0 || y < 0 || width <= 0 || height <= 0) return FALSE;
  if ((gint64)x + width > (gint64)meta->frame_width || (gint64)y + height > (gint64)meta->frame_height) return FALSE;
  meta->region = (GstVideoRectangle){x, y, width, height};
  return TRUE;
}

/* Source coordinate of destination index @i for a pixel-centre aligned
 * resize of @src to @dst samples, clamped to the border: the same
 * arithmetic, in the same order, as core/image.c's resize_coord(), so that
 * the label map is exactly what segoverlay draws and the re-rankers'
 * "net" fallback holds. */
static void resize_coord(int i, int src, int dst, int *i0, int *i1, float *t) {
  float x = (i + 0.5f) * src / dst - 0.5f;
  if (x < 0) x = 0;
  int a = (int)x;
  if (a > src - 1) a = src - 1;
  *i0 = a;
  *i1 = a + 1 < src ? a + 1 : a;
  *t = x - a;
}

GBytes *gst_sr_prob_meta_get_label_map(const GstSrProbMeta *meta) {
  g_return_val_if_fail(meta != NULL, NULL);
  if (meta->frame_width == 0 || meta->frame_height == 0 || !meta->probs) return NULL;
  gint fw = (gint)meta->frame_width, fh = (gint)meta->frame_height;
  gsize n = (gsize)fw * fh;
  guint8 *labels = g_malloc(n);
  memset(labels, GST_SR_PROB_META_VOID_LABEL, n);
  /* The region clipped to the frame, as segoverlay clips it. */
  gint x0 = CLAMP(meta->region.x, 0, fw), y0 = CLAMP(meta->region.y, 0, fh);
  gint rw = MIN(meta->region.w, fw - x0), rh = MIN(meta->region.h, fh - y0);
  if (rw <= 0 || rh <= 0) return g_bytes_new_take(labels, n);
  int c = (int)meta->n_classes, h = (int)meta->height, w = (int)meta->width;
  /* Separable: along x into scratch (C·h × rw), then along y and argmax. */
  gfloat *scratch = g_new(gfloat, (gsize)c * h * rw);
  for (int x = 0; x < rw; x++) {
    int a, b;
    float t;
    resize_coord(x, w, rw, &a, &b, &t);
    for (int k = 0; k < c * h; k++) {
      const float *row = meta->probs + (gsize)k * w;
      scratch[(gsize)k * rw + x] = row[a] + t * (row[b] - row[a]);
    }
  }
  for (int y = 0; y < rh; y++) {
    int a, b;
    float t;
    resize_coord(y, h, rh, &a, &b, &t);
    guint8 *out = labels + (gsize)(y0 + y) * fw + x0;
    for (int x = 0; x < rw; x++) {
      int best = 0;
      float best_p = -1;
      for (int k = 0; k < c; k++) {
        const float *plane = scratch + (gsize)k * h * rw;
        float p = plane[(gsize)a * rw + x] + t * (plane[(gsize)b * rw + x] - plane[(gsize)a * rw + x]);
        if (p > best_p) best_p = p, best = k;
      }
      out[x] = (guint8)best;
    }
  }
  g_free(scratch);
  return g_bytes_new_take(labels, n);
}
