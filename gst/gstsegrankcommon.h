/* gstsegrankcommon.h: what the segrank elements share: the backend enum
 * GType, the video formats they accept, and where the colour bytes are in
 * each of them; and the steps the two re-rankers (proposalscore,
 * svmrerank) share: checking the net's classes against the proposals',
 * setting aside proposals that are void everywhere, and the final
 * segmentation meta, the net's own upsampled output when there is nothing
 * to choose from. */
#ifndef GST_SEGRANK_COMMON_H
#define GST_SEGRANK_COMMON_H

#include <gst/video/video.h>

#include "gstsrprobmeta.h"
#include "gstsrproposalmeta.h"
#include "gstsrsegmentationmeta.h"
#include "segrank.h"

G_BEGIN_DECLS

/**
 * GstSegrankBackend:
 * @GST_SEGRANK_BACKEND_AUTO: CUDA on a GPU, else Vulkan on a real GPU, else cpu
 * @GST_SEGRANK_BACKEND_CPU: Winograd / im2col convolutions on its own GEMM
 * @GST_SEGRANK_BACKEND_REF: plain loops, the test oracle (slow)
 * @GST_SEGRANK_BACKEND_VULKAN: Vulkan compute shaders (when built with Vulkan)
 * @GST_SEGRANK_BACKEND_CUDA: cuBLAS and own CUDA kernels (when built with CUDA)
 */
typedef enum {
  GST_SEGRANK_BACKEND_AUTO,
  GST_SEGRANK_BACKEND_CPU,
  GST_SEGRANK_BACKEND_REF,
  GST_SEGRANK_BACKEND_VULKAN,
  GST_SEGRANK_BACKEND_CUDA,
} GstSegrankBackend;

#define GST_TYPE_SEGRANK_BACKEND (gst_segrank_backend_get_type())
GType gst_segrank_backend_get_type(void);
const gchar *gst_segrank_backend_name(GstSegrankBackend b);

/* Packed 8-bit RGB formats, whatever videoconvert gives. */
#define GST_SEGRANK_VIDEO_FORMATS "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR }"

/* Byte offsets of R, G, B in one pixel of @info's format. */
sr_pixel_layout gst_segrank_pixel_layout(const GstVideoInfo *info);

/* ---- the re-rankers' shared steps ---- */

/* Class @c's name in a class table (NULL-terminated @names), or NULL when
 * the table names none there (NULL table, NULL or empty name). */
const gchar *gst_segrank_class_name(gchar *const *names, guint c);

/* "Sky, Building, ..." for the first @n names (unnamed: "?"); g_free it. */
gchar *gst_segrank_join_class_names(gchar *const *names, guint n);

/* Index of the first class both tables name differently, -1 when none
 * (an unnamed class matches any name). Both have at least @n entries. */
gint gst_segrank_first_class_difference(gchar *const *a, gchar *const *b, guint n);

/* Posts an error on @element and returns FALSE unless the net's classes
 * (@pm) are the proposals' (@prm): the same count, and the same names where
 * both name a class. The error names both tables. */
gboolean gst_segrank_check_net_classes(GstElement *element, const GstSrProbMeta *pm, const GstSrProposalMeta *prm);

/* Posts an error on @element and returns FALSE unless @pm's map covers the
 * whole frame with 1 to 255 classes (what the re-rankers can compare a
 * proposal with); @what names the use ("eq. 17", "the ranker"). */
gboolean gst_segrank_check_prob_meta(GstElement *element, const GstSrProbMeta *pm, const gchar *what);

/* Removes every GstSrSegmentationMeta from @buf (a re-ranker further up
 * already chose: this one's choice replaces it). */
void gst_segrank_remove_segmentation_metas(GstElement *element, GstBuffer *buf);

/* The indices of the first @m proposals of @prm that have at least one
 * class pixel into @scorable (room for @m), their count returned. When
 * some are void everywhere (nothing to score), warns on @element once per
 * stream (*@warned). */
guint gst_segrank_scorable_proposals(GstElement *element, const GstSrProposalMeta *prm, guint m, guint *scorable,
                                     gboolean *warned);

/* Warns on @element, once per stream (*@warned), that a frame has no
 * proposals (@prm NULL: no proposal meta; else one holding none) and the
 * net's own output is used. */
void gst_segrank_warn_no_proposals(GstElement *element, const GstSrProposalMeta *prm, gboolean *warned);

/* The net's own output at @fw × @fh (g_free it): its probabilities
 * interpolated bilinearly, then argmax (sr_labels_from_probs, as segoverlay
 * draws it and the evaluation's "bilinear" upsampling). */
guint8 *gst_segrank_net_labels(const GstSrProbMeta *pm, gint fw, gint fh);

/* Attaches the final segmentation to @buf: proposal @best of @prm with
 * @method when @best >= 0, else the net's own output at @fw × @fh (method
 * "net", selected -1); @n_costs costs (lower is better) either way. Posts
 * an error and returns FALSE when the meta cannot be attached. */
gboolean gst_segrank_attach_segmentation(GstElement *element, GstBuffer *buf, const gchar *method, gint best,
                                         const GstSrProbMeta *pm, const GstSrProposalMeta *prm, gint fw, gint fh,
                                         guint n_costs, const gdouble *costs);

G_END_DECLS

#endif
