/* gstsrproposalmeta.c: registration, copy/scale transform and accessors of
 * GstSrProposalMeta. */
#include "gstsrproposalmeta.h"

#include <math.h>
#include <string.h>

#include "gstsrclasscolor.h"

#include "gstsrnearest.h"

GType gst_sr_proposal_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar *tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                GST_META_TAG_VIDEO_ORIENTATION_STR, NULL};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("GstSrProposalMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

static gboolean proposal_meta_init(GstMeta *meta, gpointer params, GstBuffer *buffer) {
  (void)params, (void)buffer;
  GstSrProposalMeta *m = (GstSrProposalMeta *)meta;
  m->source = NULL;
  m->n_proposals = m->width = m->height = m->n_classes = m->n_superpixels = 0;
  m->class_names = NULL;
  m->class_colors = m->labels = NULL;
  m->scores = m->energies = m->unaries = m->pairwises = m->areas = NULL;
  m->ranks = NULL;
  m->superpixels = NULL;
  m->labels_bytes = m->superpixels_bytes = NULL;
  return TRUE;
}

static void proposal_meta_free(GstMeta *meta, GstBuffer *buffer) {
  (void)buffer;
  GstSrProposalMeta *m = (GstSrProposalMeta *)meta;
  g_free(m->source);
  g_strfreev(m->class_names);
  g_free(m->class_colors);
  if (m->labels_bytes) g_bytes_unref(m->labels_bytes);
  else g_free(m->labels);
  g_free(m->scores);
  g_free(m->energies);
  g_free(m->unaries);
  g_free(m->pairwises);
  g_free(m->ranks);
  g_free(m->areas);
  if (m->superpixels_bytes) g_bytes_unref(m->superpixels_bytes);
  else g_free(m->superpixels);
}

/* Share of the pixels each proposal gives each class (void labels count in
 * the total, not in any class). */
static void compute_areas(GstSrProposalMeta *m) {
  gsize px = (gsize)m->width * m->height;
  guint64 count[256];
  for (guint k = 0; k < m->n_proposals; k++) {
    memset(count, 0, sizeof count);
    const guint8 *l = m->labels + k * px;
    for (gsize i = 0; i < px; i++) count[l[i]]++;
    for (guint c = 0; c < m->n_classes; c++) m->areas[(gsize)k * m->n_classes + c] = (gdouble)count[c] / (gdouble)px;
  }
}

/* A copy of @values (n of them), or n times NAN. */
static gdouble *dup_or_nan(const gdouble *values, guint n) {
  if (values) return g_memdup2(values, sizeof(gdouble) * MAX(n, 1));
  gdouble *v = g_new(gdouble, MAX(n, 1));
  for (guint i = 0; i < n; i++) v[i] = NAN;
  return v;
}

/* Adds the meta, taking @labels (M·width·height bytes, at least 1); the
 * arguments are checked. */
static GstSrProposalMeta *add_with_bytes(GstBuffer *buffer, const gchar *source, guint n_proposals, guint width,
                                         guint height, guint n_classes, const gchar *const *class_names,
                                         const guint8 *class_colors, GBytes *labels, const gdouble *scores,
                                         const gdouble *energies, const gdouble *unaries, const gdouble *pairwises,
                                         const gint *ranks, const gdouble *areas) {
  GstSrProposalMeta *m = (GstSrProposalMeta *)gst_buffer_add_meta(buffer, GST_SR_PROPOSAL_META_INFO, NULL);
  if (!m) {
    g_bytes_unref(labels);
    return NULL;
  }
  m->source = g_strdup(source);
  m->n_proposals = n_proposals, m->width = width, m->height = height, m->n_classes = n_classes;
  m->class_names = g_new0(gchar *, n_classes + 1);
  for (guint c = 0; c < n_classes; c++) m->class_names[c] = g_strdup(class_names[c]);
  m->class_colors = g_memdup2(class_colors, 3 * n_classes);
  m->labels_bytes = labels;
  /* The meta's API keeps a non-const pointer; the data is never written. */
  m->labels = (guint8 *)g_bytes_get_data(labels, NULL);
  m->scores = dup_or_nan(scores, n_proposals);
  m->energies = dup_or_nan(energies, n_proposals);
  m->unaries = dup_or_nan(unaries, n_proposals);
  m->pairwises = dup_or_nan(pairwises, n_proposals);
  m->ranks = g_new(gint, MAX(n_proposals, 1));
  for (guint k = 0; k < n_proposals; k++) m->ranks[k] = ranks ? ranks[k] : (gint)k;
  m->areas = g_new(gdouble, MAX((gsize)n_proposals * n_classes, 1));
  if (areas) memcpy(m->areas, areas, sizeof(gdouble) * n_proposals * n_classes);
  else compute_areas(m);
  return m;
}

GstSrProposalMeta *gst_buffer_add_sr_proposal_meta(GstBuffer *buffer, const gchar *source, guint n_proposals,
                                                   guint width, guint height, guint n_classes,
                                                   const gchar *const *class_names, const guint8 *class_colors,
                                                   const guint8 *labels, const gdouble *scores,
                                                   const gdouble *energies, const gdouble *unaries,
                                                   const gdouble *pairwises, const gint *ranks,
                                                   const gdouble *areas) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  g_return_val_if_fail(gst_buffer_is_writable(buffer), NULL);
  g_return_val_if_fail(width > 0 && height > 0 && n_classes > 0 && n_classes <= 255, NULL);
  g_return_val_if_fail(class_names && class_colors && (labels || n_proposals == 0), NULL);
  gsize size = (gsize)n_proposals * width * height;
  GBytes *copy = n_proposals ? g_bytes_new(labels, size) : g_bytes_new_take(g_new0(guint8, 1), 1);
  return add_with_bytes(buffer, source, n_proposals, width, height, n_classes, class_names, class_colors, copy,
                        scores, energies, unaries, pairwises, ranks, areas);
}

GstSrProposalMeta *gst_sr_proposal_meta_add(GstBuffer *buffer, const gchar *source, guint width, guint height,
                                            guint n_classes, const gchar *const *class_names, GBytes *class_colors,
                                            guint n_proposals, GBytes *labels) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  g_return_val_if_fail(gst_buffer_is_writable(buffer), NULL);
  g_return_val_if_fail(width > 0 && height > 0 && n_classes > 0 && n_classes <= 255, NULL);
  g_return_val_if_fail(class_names && class_colors && (labels || n_proposals == 0), NULL);
  g_return_val_if_fail(g_bytes_get_size(class_colors) == 3 * (gsize)n_classes, NULL);
  for (guint c = 0; c < n_classes; c++) g_return_val_if_fail(class_names[c] != NULL, NULL);
  gsize px, size;
  g_return_val_if_fail(g_size_checked_mul(&px, width, height) && g_size_checked_mul(&size, px, n_proposals), NULL);
  g_return_val_if_fail(n_proposals == 0 || g_bytes_get_size(labels) == size, NULL);
  GBytes *taken = n_proposals ? g_bytes_ref(labels) : g_bytes_new_take(g_new0(guint8, 1), 1);
  return add_with_bytes(buffer, source, n_proposals, width, height, n_classes, class_names,
                        g_bytes_get_data(class_colors, NULL), taken, NULL, NULL, NULL, NULL, NULL, NULL);
}

gboolean gst_sr_proposal_meta_set_proposal(GstSrProposalMeta *meta, guint k, gdouble score, gdouble energy,
                                           gdouble unary, gdouble pairwise, gint rank) {
  g_return_val_if_fail(meta && k < meta->n_proposals, FALSE);
  meta->scores[k] = score, meta->energies[k] = energy;
  meta->unaries[k] = unary, meta->pairwises[k] = pairwise;
  meta->ranks[k] = rank;
  return TRUE;
}

/* Replaces the superpixel map with @superpixels (taken; NULL when
 * @n_superpixels is 0) after checking each index. */
static gboolean set_superpixels_taking(GstSrProposalMeta *meta, guint n_superpixels, GBytes *superpixels) {
  gsize px = (gsize)meta->width * meta->height;
  if (n_superpixels > 0) {
    const gint32 *sp = g_bytes_get_data(superpixels, NULL);
    for (gsize i = 0; i < px; i++)
      if (sp[i] < 0 || (guint)sp[i] >= n_superpixels) {
        g_bytes_unref(superpixels);
        return FALSE;
      }
  }
  if (meta->superpixels_bytes) g_bytes_unref(meta->superpixels_bytes);
  else g_free(meta->superpixels);
  meta->superpixels_bytes = superpixels;
  meta->superpixels = superpixels ? (gint32 *)g_bytes_get_data(superpixels, NULL) : NULL;
  meta->n_superpixels = n_superpixels;
  return TRUE;
}

gboolean gst_sr_proposal_meta_set_superpixels(GstSrProposalMeta *meta, guint n_superpixels,
                                              const gint32 *superpixels) {
  g_return_val_if_fail(meta, FALSE);
  g_return_val_if_fail(n_superpixels == 0 || superpixels, FALSE);
  gsize size = sizeof(gint32) * meta->width * meta->height;
  return set_superpixels_taking(meta, n_superpixels, n_superpixels ? g_bytes_new(superpixels, size) : NULL);
}

gboolean gst_sr_proposal_meta_set_superpixels_bytes(GstSrProposalMeta *meta, guint n_superpixels,
                                                    GBytes *superpixels) {
  g_return_val_if_fail(meta, FALSE);
  g_return_val_if_fail(n_superpixels == 0 || superpixels, FALSE);
  if (n_superpixels == 0) return set_superpixels_taking(meta, 0, NULL);
  gsize size = sizeof(gint32) * meta->width * meta->height;
  if (g_bytes_get_size(superpixels) != size) return FALSE;
  const void *data = g_bytes_get_data(superpixels, NULL);
  /* A slice at an odd offset: int32 cannot be read in place. */
  GBytes *taken = (guintptr)data % _Alignof(gint32) ? g_bytes_new(data, size) : g_bytes_ref(superpixels);
  return set_superpixels_taking(meta, n_superpixels, taken);
}

/* The meta of @src rescaled to @nw × @nh, added to @dest. */
static gboolean add_scaled(GstBuffer *dest, const GstSrProposalMeta *src, guint nw, guint nh) {
  guint ow = src->width, oh = src->height;
  gsize opx = (gsize)ow * oh, npx = (gsize)nw * nh;
  guint *xs = gst_sr_nearest_table(ow, nw), *ys = gst_sr_nearest_table(oh, nh);
  guint8 *labels = g_malloc(MAX(src->n_proposals * npx, 1));
  for (guint k = 0; k < src->n_proposals; k++)
    gst_sr_resample_labels(src->labels + k * opx, ow, xs, ys, labels + k * npx, nw, nh);
  GstSrProposalMeta *dst = gst_buffer_add_sr_proposal_meta(
      dest, src->source, src->n_proposals, nw, nh, src->n_classes, (const gchar *const *)src->class_names,
      src->class_colors, labels, src->scores, src->energies, src->unaries, src->pairwises, src->ranks, NULL);
  g_free(labels);
  gboolean ok = dst != NULL;
  if (ok && src->superpixels) {
    gint32 *sp = g_new(gint32, npx);
    for (guint y = 0; y < nh; y++)
      for (guint x = 0; x < nw; x++) sp[(gsize)y * nw + x] = src->superpixels[(gsize)ys[y] * ow + xs[x]];
    ok = gst_sr_proposal_meta_set_superpixels(dst, src->n_superpixels, sp);
    g_free(sp);
  }
  g_free(xs);
  g_free(ys);
  return ok;
}

static gboolean proposal_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *buffer, GQuark type,
                                        gpointer data) {
  (void)buffer;
  GstSrProposalMeta *src = (GstSrProposalMeta *)meta;
  if (GST_META_TRANSFORM_IS_COPY(type)) {
    /* A region copy holds part of the frame's memory: full-frame maps would
     * not fit it. */
    if (((GstMetaTransformCopy *)data)->region) return FALSE;
    GstSrProposalMeta *dst = gst_buffer_add_sr_proposal_meta(
        dest, src->source, src->n_proposals, src->width, src->height, src->n_classes,
        (const gchar *const *)src->class_names, src->class_colors, src->labels, src->scores, src->energies,
        src->unaries, src->pairwises, src->ranks, src->areas);
    return dst && gst_sr_proposal_meta_set_superpixels(dst, src->n_superpixels, src->superpixels);
  }
  if (GST_VIDEO_META_TRANSFORM_IS_SCALE(type)) {
    GstVideoMetaTransform *t = data;
    gint nw = GST_VIDEO_INFO_WIDTH(t->out_info), nh = GST_VIDEO_INFO_HEIGHT(t->out_info);
    if (nw <= 0 || nh <= 0) return FALSE;
    return add_scaled(dest, src, (guint)nw, (guint)nh);
  }
  /* Crops, flips and rotations would misplace the maps: drop them. */
  GST_DEBUG("dropping GstSrProposalMeta on a transformation it cannot follow");
  return FALSE;
}

const GstMetaInfo *gst_sr_proposal_meta_get_info(void) {
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter((GstMetaInfo **)&info)) {
    const GstMetaInfo *mi =
        gst_meta_register(GST_SR_PROPOSAL_META_API_TYPE, "GstSrProposalMeta", sizeof(GstSrProposalMeta),
                          proposal_meta_init, proposal_meta_free, proposal_meta_transform);
    g_once_init_leave((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

GstSrProposalMeta *gst_sr_proposal_meta_get(GstBuffer *buffer) { return gst_buffer_get_sr_proposal_meta(buffer); }

const guint8 *gst_sr_proposal_meta_get_labels(const GstSrProposalMeta *meta, guint k, gsize *n_pixels) {
  g_return_val_if_fail(meta && k < meta->n_proposals && n_pixels, NULL);
  *n_pixels = (gsize)meta->width * meta->height;
  return meta->labels + k * *n_pixels;
}

gdouble gst_sr_proposal_meta_get_score(const GstSrProposalMeta *meta, guint k) {
  g_return_val_if_fail(meta && k < meta->n_proposals, NAN);
  return meta->scores[k];
}

gdouble gst_sr_proposal_meta_get_energy(const GstSrProposalMeta *meta, guint k) {
  g_return_val_if_fail(meta && k < meta->n_proposals, NAN);
  return meta->energies[k];
}

gdouble gst_sr_proposal_meta_get_unary(const GstSrProposalMeta *meta, guint k) {
  g_return_val_if_fail(meta && k < meta->n_proposals, NAN);
  return meta->unaries[k];
}

gdouble gst_sr_proposal_meta_get_pairwise(const GstSrProposalMeta *meta, guint k) {
  g_return_val_if_fail(meta && k < meta->n_proposals, NAN);
  return meta->pairwises[k];
}

gint gst_sr_proposal_meta_get_rank(const GstSrProposalMeta *meta, guint k) {
  g_return_val_if_fail(meta && k < meta->n_proposals, -1);
  return meta->ranks[k];
}

gint gst_sr_proposal_meta_find_rank(const GstSrProposalMeta *meta, gint rank) {
  g_return_val_if_fail(meta, -1);
  for (guint k = 0; k < meta->n_proposals; k++)
    if (meta->ranks[k] == rank) return (gint)k;
  return -1;
}

const gdouble *gst_sr_proposal_meta_get_areas(const GstSrProposalMeta *meta, guint k, gsize *n_values) {
  g_return_val_if_fail(meta && k < meta->n_proposals && n_values, NULL);
  *n_values = meta->n_classes;
  return meta->areas + (gsize)k * meta->n_classes;
}

const gint32 *gst_sr_proposal_meta_get_superpixels(const GstSrProposalMeta *meta, gsize *n_pixels) {
  g_return_val_if_fail(meta && n_pixels, NULL);
  *n_pixels = meta->superpixels ? (gsize)meta->width * meta->height : 0;
  return meta->superpixels;
}

const gchar *gst_sr_proposal_meta_get_class_name(const GstSrProposalMeta *meta, guint c) {
  g_return_val_if_fail(meta && c < meta->n_classes, NULL);
  return meta->class_names[c];
}

GBytes *gst_sr_proposal_meta_get_labels_bytes(const GstSrProposalMeta *meta, guint k) {
  g_return_val_if_fail(meta && k < meta->n_proposals, NULL);
  gsize px = (gsize)meta->width * meta->height;
  if (meta->labels_bytes) return g_bytes_new_from_bytes(meta->labels_bytes, k * px, px);
  return g_bytes_new(meta->labels + k * px, px);
}

GBytes *gst_sr_proposal_meta_get_superpixels_bytes(const GstSrProposalMeta *meta) {
  g_return_val_if_fail(meta != NULL, NULL);
  if (!meta->superpixels) return NULL;
  if (meta->superpixels_bytes) return g_bytes_ref(meta->superpixels_bytes);
  return g_bytes_new(meta->superpixels, sizeof(gint32) * meta->width * meta->height);
}

gboolean gst_sr_proposal_meta_get_class_color(const GstSrProposalMeta *meta, guint c, guint8 *r, guint8 *g,
                                              guint8 *b) {
  /* No meta: no classes, so the outs are zeroed and the call refused. */
  return gst_sr_class_color(meta ? meta->class_colors : NULL, meta ? meta->n_classes : 0, c, r, g, b);
}
