/* gstsegrankcommon.c: backend enum registration, pixel layouts, and the
 * re-rankers' shared steps (class checks, void proposals, the final
 * segmentation meta). */
#include "gstsegrankcommon.h"

#include <string.h>

GType gst_segrank_backend_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SEGRANK_BACKEND_AUTO, "CUDA on a GPU, else Vulkan on a real GPU, else cpu", "auto"},
      {GST_SEGRANK_BACKEND_CPU, "CPU: Winograd and im2col convolutions on its own AVX-512/AVX2 GEMM", "cpu"},
      {GST_SEGRANK_BACKEND_REF, "Reference loops (test oracle, slow)", "ref"},
      {GST_SEGRANK_BACKEND_VULKAN, "Vulkan compute shaders", "vulkan"},
      {GST_SEGRANK_BACKEND_CUDA, "CUDA: cuBLAS GEMMs and own kernels (when built with CUDA)", "cuda"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstSegrankBackend", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

const gchar *gst_segrank_backend_name(GstSegrankBackend b) {
  switch (b) {
    case GST_SEGRANK_BACKEND_CPU: return "cpu";
    case GST_SEGRANK_BACKEND_REF: return "ref";
    case GST_SEGRANK_BACKEND_VULKAN: return "vulkan";
    case GST_SEGRANK_BACKEND_CUDA: return "cuda";
    default: return "auto";
  }
}

sr_pixel_layout gst_segrank_pixel_layout(const GstVideoInfo *info) {
  const GstVideoFormatInfo *f = info->finfo;
  /* For packed RGB formats each component's offset is its byte position. */
  sr_pixel_layout l = {GST_VIDEO_FORMAT_INFO_PSTRIDE(f, 0), GST_VIDEO_FORMAT_INFO_POFFSET(f, 0),
                       GST_VIDEO_FORMAT_INFO_POFFSET(f, 1), GST_VIDEO_FORMAT_INFO_POFFSET(f, 2)};
  return l;
}

const gchar *gst_segrank_class_name(gchar *const *names, guint c) {
  return names && names[c] && names[c][0] ? names[c] : NULL;
}

gchar *gst_segrank_join_class_names(gchar *const *names, guint n) {
  GString *s = g_string_new(NULL);
  for (guint c = 0; c < n; c++) {
    const gchar *name = gst_segrank_class_name(names, c);
    g_string_append_printf(s, "%s%s", c ? ", " : "", name ? name : "?");
  }
  return g_string_free(s, FALSE);
}

gint gst_segrank_first_class_difference(gchar *const *a, gchar *const *b, guint n) {
  for (guint c = 0; c < n; c++) {
    const gchar *x = gst_segrank_class_name(a, c), *y = gst_segrank_class_name(b, c);
    if (x && y && strcmp(x, y) != 0) return (gint)c;
  }
  return -1;
}

gboolean gst_segrank_check_net_classes(GstElement *element, const GstSrProbMeta *pm, const GstSrProposalMeta *prm) {
  gint differ = pm->n_classes == prm->n_classes
                    ? gst_segrank_first_class_difference(pm->class_names, prm->class_names, pm->n_classes)
                    : -1;
  if (pm->n_classes == prm->n_classes && differ < 0) return TRUE;
  gchar *net = gst_segrank_join_class_names(pm->class_names, pm->n_classes);
  gchar *props = gst_segrank_join_class_names(prm->class_names, prm->n_classes);
  const gchar *source = prm->source ? prm->source : "an unnamed source";
  if (differ < 0)
    GST_ELEMENT_ERROR(element, STREAM, FORMAT, ("The net's classes do not match the proposals'."),
                      ("the net's distribution (GstSrProbMeta) has %u classes (%s), the proposals from %s "
                       "(GstSrProposalMeta) have %u (%s)",
                       pm->n_classes, net, source, prm->n_classes, props));
  else
    GST_ELEMENT_ERROR(element, STREAM, FORMAT, ("The net's classes do not match the proposals'."),
                      ("class %d is \"%s\" in the net's distribution (GstSrProbMeta: %s) but \"%s\" in the "
                       "proposals from %s (GstSrProposalMeta: %s)",
                       differ, pm->class_names[differ], net, prm->class_names[differ], source, props));
  g_free(net);
  g_free(props);
  return FALSE;
}

gboolean gst_segrank_check_prob_meta(GstElement *element, const GstSrProbMeta *pm, const gchar *what) {
  gboolean whole = pm->region.x == 0 && pm->region.y == 0 && pm->region.w == (gint)pm->frame_width &&
                   pm->region.h == (gint)pm->frame_height;
  if (whole && pm->n_classes >= 1 && pm->n_classes <= 255 && pm->width >= 1 && pm->height >= 1) return TRUE;
  GST_ELEMENT_ERROR(element, STREAM, FORMAT, ("The class probabilities cannot be used for %s.", what),
                    ("GstSrProbMeta: %u classes on a %ux%u grid over %dx%d at (%d, %d) of a %ux%u frame; %s "
                     "needs 1 to 255 classes on a grid over the whole frame",
                     pm->n_classes, pm->width, pm->height, pm->region.w, pm->region.h, pm->region.x, pm->region.y,
                     pm->frame_width, pm->frame_height, what));
  return FALSE;
}

void gst_segrank_remove_segmentation_metas(GstElement *element, GstBuffer *buf) {
  GstSrSegmentationMeta *old;
  while ((old = gst_buffer_get_sr_segmentation_meta(buf))) {
    GST_DEBUG_OBJECT(element, "replacing the %s segmentation meta from upstream", old->method);
    gst_buffer_remove_meta(buf, (GstMeta *)old);
  }
}

/* TRUE when @labels (@n of them) has a pixel of a class (< @n_classes). */
static gboolean has_class_pixel(const guint8 *labels, gsize n, guint n_classes) {
  for (gsize i = 0; i < n; i++)
    if (labels[i] < n_classes) return TRUE;
  return FALSE;
}

guint gst_segrank_scorable_proposals(GstElement *element, const GstSrProposalMeta *prm, guint m, guint *scorable,
                                     gboolean *warned) {
  gsize px = (gsize)prm->width * prm->height;
  guint n = 0;
  for (guint k = 0; k < m; k++)
    if (has_class_pixel(prm->labels + k * px, px, prm->n_classes)) scorable[n++] = k;
  if (n < m && !*warned)
    GST_ELEMENT_WARNING(element, STREAM, FORMAT, ("Some proposals are void everywhere and cannot be scored."),
                        ("%u of the %u scored proposals from %s have no class pixel; they get score +inf", m - n, m,
                         prm->source ? prm->source : "an unnamed source"));
  if (n < m) *warned = TRUE;
  return n;
}

void gst_segrank_warn_no_proposals(GstElement *element, const GstSrProposalMeta *prm, gboolean *warned) {
  if (!*warned)
    GST_ELEMENT_WARNING(element, STREAM, FORMAT, ("A frame has no proposals: using the net's own output."),
                        ("%s: the final segmentation is the net's distribution upsampled bilinearly to the "
                         "frame; put divmbest or proposalload upstream",
                         prm ? "the GstSrProposalMeta holds 0 proposals" : "no GstSrProposalMeta"));
  *warned = TRUE;
}

guint8 *gst_segrank_net_labels(const GstSrProbMeta *pm, gint fw, gint fh) {
  guint8 *labels = g_malloc((gsize)fw * fh);
  gfloat *scratch = g_malloc(sizeof(gfloat) * pm->n_classes * pm->height * (gsize)fw);
  sr_labels_from_probs(pm->probs, (int)pm->n_classes, (int)pm->height, (int)pm->width, fw, fh, labels, scratch);
  g_free(scratch);
  return labels;
}

gboolean gst_segrank_attach_segmentation(GstElement *element, GstBuffer *buf, const gchar *method, gint best,
                                         const GstSrProbMeta *pm, const GstSrProposalMeta *prm, gint fw, gint fh,
                                         guint n_costs, const gdouble *costs) {
  GstSrSegmentationMeta *meta;
  if (best >= 0) {
    gsize px = (gsize)prm->width * prm->height;
    meta = gst_buffer_add_sr_segmentation_meta(buf, method, best, prm->width, prm->height, prm->n_classes,
                                               (const gchar *const *)prm->class_names, prm->class_colors,
                                               prm->labels + (gsize)best * px, n_costs, costs);
  } else {
    guint8 *labels = gst_segrank_net_labels(pm, fw, fh);
    meta = gst_buffer_add_sr_segmentation_meta(buf, "net", -1, (guint)fw, (guint)fh, pm->n_classes,
                                               (const gchar *const *)pm->class_names, pm->class_colors, labels,
                                               n_costs, costs);
    g_free(labels);
  }
  if (!meta) GST_ELEMENT_ERROR(element, STREAM, FAILED, (NULL), ("could not attach the segmentation meta"));
  return meta != NULL;
}
