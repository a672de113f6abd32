/* gstsrproposalmeta.h: GstSrProposalMeta, the M full-resolution candidate
 * segmentations (proposals) of one video frame with what their source knows
 * of each, attached by `divmbest` (DivMBest on a superpixel CRF) and
 * `proposalload` (proposals made by another tool, read from disk). Public:
 * applications link libgstsegrankmeta-1.0 and read it with
 * gst_buffer_get_sr_proposal_meta(), or from Python through
 * GstSegrank-1.0.typelib:
 *
 *   meta = GstSegrank.proposal_meta_get(buffer)
 *   labels = meta.get_labels_bytes(0)        # GLib.Bytes, h·w uint8, no copy
 *   best = meta.get_score(0)
 *   r, g, b = meta.get_class_color(3)
 *
 * The pointer fields @class_colors, @labels, @areas and @superpixels are not
 * introspectable (their length is not a field): bindings see them as opaque
 * pointers and use the accessors (docs/meta-api.md).
 */
#ifndef GST_SR_PROPOSAL_META_H
#define GST_SR_PROPOSAL_META_H

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_SR_PROPOSAL_META_API_TYPE (gst_sr_proposal_meta_api_get_type())
#define GST_SR_PROPOSAL_META_INFO (gst_sr_proposal_meta_get_info())

/**
 * GstSrProposalMeta:
 * @meta: parent
 * @source: (nullable): the element or tool that made the proposals:
 *   "divmbest", "proposalload"
 * @n_proposals: number of proposals M (may be 0)
 * @width: label map width, in pixels (the frame's width)
 * @height: label map height, in pixels (the frame's height)
 * @n_classes: number of classes C; labels ≥ C are void (not a class)
 * @class_names: (array length=n_classes): class names, NULL-terminated
 * @class_colors: 3 × n_classes bytes, RGB display colour per class.
 *   Bindings: gst_sr_proposal_meta_get_class_color()
 * @labels: M × height × width class indices, proposal-major: proposal k at
 *   row y, column x is labels[(k * height + y) * width + x].
 *   Bindings: gst_sr_proposal_meta_get_labels_bytes()
 * @scores: (array length=n_proposals): the source's own score per proposal,
 *   lower is better (DivMBest: the energy); NAN where the source has none
 * @energies: (array length=n_proposals): CRF energy E(x) per proposal, or NAN
 * @unaries: (array length=n_proposals): the unary part of the energy, or NAN
 * @pairwises: (array length=n_proposals): the pairwise part, or NAN
 * @ranks: (array length=n_proposals): the source's rank per proposal, 0 =
 *   its best (for DivMBest, the MAP labelling)
 * @areas: M × n_classes fractions: areas[k * n_classes + c] is the share of
 *   the frame's pixels that proposal k labels c.
 *   Bindings: gst_sr_proposal_meta_get_areas()
 * @n_superpixels: number of superpixels, 0 when the source used none
 * @superpixels: width × height superpixel indices (< n_superpixels)
 *   the proposals were built on, row-major; NULL when @n_superpixels is 0.
 *   Bindings: gst_sr_proposal_meta_get_superpixels_bytes()
 *
 * Survives whole-buffer copies unchanged; a region copy (part of the
 * buffer's memory, #GstMetaTransformCopy.region TRUE) drops it, since the
 * full-frame maps would not fit the part. On a scale transformation (videoscale) the
 * label maps and the superpixel map are rescaled nearest-neighbour to the new
 * frame size and the areas are recomputed from the rescaled maps; every other
 * transformation (crop, flip, rotation) drops the meta, since the maps would
 * no longer line up with the frame. The fields are read-only for everyone
 * but the code that adds the meta.
 */
/**
 * GstSrProposalMeta.class_colors: (skip) (type gpointer)
 *
 * 3 × n_classes bytes, RGB display colour per class; from bindings use
 * gst_sr_proposal_meta_get_class_color().
 */
/**
 * GstSrProposalMeta.labels: (skip) (type gpointer)
 *
 * M × height × width class indices, proposal-major; from bindings use
 * gst_sr_proposal_meta_get_labels_bytes().
 */
/**
 * GstSrProposalMeta.areas: (skip) (type gpointer)
 *
 * M × n_classes fractions; from bindings use gst_sr_proposal_meta_get_areas().
 */
/**
 * GstSrProposalMeta.superpixels: (skip) (type gpointer)
 *
 * width × height superpixel indices, or NULL; from bindings use
 * gst_sr_proposal_meta_get_superpixels_bytes().
 */
typedef struct {
  GstMeta meta;
  gchar *source;
  guint n_proposals;
  guint width;
  guint height;
  guint n_classes;
  gchar **class_names;
  guint8 *class_colors;
  guint8 *labels;
  gdouble *scores;
  gdouble *energies;
  gdouble *unaries;
  gdouble *pairwises;
  gint *ranks;
  gdouble *areas;
  guint n_superpixels;
  gint32 *superpixels;
  /*< private >*/
  /* Own @labels and @superpixels when this library's functions set them
   * (NULL when a caller filled the fields itself: they are then g_free()d). */
  GBytes *labels_bytes;
  GBytes *superpixels_bytes;
} GstSrProposalMeta;

GType gst_sr_proposal_meta_api_get_type(void);
const GstMetaInfo *gst_sr_proposal_meta_get_info(void);

/**
 * gst_buffer_add_sr_proposal_meta:
 * @buffer: a writable buffer
 * @source: (nullable): who made the proposals ("divmbest", "proposalload")
 * @n_proposals: M
 * @width: map width (the frame's)
 * @height: map height
 * @n_classes: C (1 to 255)
 * @class_names: (array length=n_classes): copied
 * @class_colors: (array): 3·C bytes, copied
 * @labels: (array): M·height·width class indices, copied
 * @scores: (array length=n_proposals) (nullable): copied; NULL: all NAN
 * @energies: (array length=n_proposals) (nullable): copied; NULL: all NAN
 * @unaries: (array length=n_proposals) (nullable): copied; NULL: all NAN
 * @pairwises: (array length=n_proposals) (nullable): copied; NULL: all NAN
 * @ranks: (array length=n_proposals) (nullable): copied; NULL: rank k for
 *   proposal k
 * @areas: (array) (nullable): M·C fractions, copied; NULL: computed from
 *   @labels
 *
 * Adds a proposal meta without a superpixel map (see
 * gst_sr_proposal_meta_set_superpixels()).
 *
 * Returns: (transfer none) (nullable): the meta, owned by @buffer; NULL on
 *   invalid arguments
 */
GstSrProposalMeta *gst_buffer_add_sr_proposal_meta(GstBuffer *buffer, const gchar *source, guint n_proposals,
                                                   guint width, guint height, guint n_classes,
                                                   const gchar *const *class_names, const guint8 *class_colors,
                                                   const guint8 *labels, const gdouble *scores,
                                                   const gdouble *energies, const gdouble *unaries,
                                                   const gdouble *pairwises, const gint *ranks,
                                                   const gdouble *areas);

/**
 * gst_sr_proposal_meta_set_superpixels: (skip)
 * @meta: the meta
 * @n_superpixels: number of superpixels (0 removes the map)
 * @superpixels: (array) (nullable): width·height indices < @n_superpixels,
 *   copied
 *
 * Bindings: gst_sr_proposal_meta_set_superpixels_bytes().
 *
 * Returns: FALSE (and leaves the meta unchanged) when an index is out of range
 */
gboolean gst_sr_proposal_meta_set_superpixels(GstSrProposalMeta *meta, guint n_superpixels,
                                              const gint32 *superpixels);

/**
 * gst_sr_proposal_meta_add:
 * @buffer: a writable buffer
 * @source: (nullable): who made the proposals (the application's name)
 * @width: map width (the frame's), > 0
 * @height: map height, > 0
 * @n_classes: C (1 to 255)
 * @class_names: (array zero-terminated=1): at least @n_classes names; the
 *   first @n_classes are copied
 * @class_colors: 3·C bytes, RGB per class, copied
 * @n_proposals: M (may be 0)
 * @labels: (nullable): M·height·width class indices (uint8,
 *   proposal-major; values ≥ C are void); NULL only when @n_proposals is 0.
 *   Referenced, not copied; it must not change afterwards, as a #GBytes
 *   never does
 *
 * The bindings' form of gst_buffer_add_sr_proposal_meta(): scores,
 * energies and their parts start NAN, proposal k has rank k (set them with
 * gst_sr_proposal_meta_set_proposal()), the areas are computed from
 * @labels, and there is no superpixel map
 * (gst_sr_proposal_meta_set_superpixels_bytes()).
 *
 * Returns: (transfer none) (nullable): the meta, owned by @buffer; NULL
 *   (with a critical warning) on invalid arguments: a size that does not
 *   match, fewer than @n_classes names
 */
GstSrProposalMeta *gst_sr_proposal_meta_add(GstBuffer *buffer, const gchar *source, guint width, guint height,
                                            guint n_classes, const gchar *const *class_names, GBytes *class_colors,
                                            guint n_proposals, GBytes *labels);

/**
 * gst_sr_proposal_meta_set_proposal:
 * @meta: the meta
 * @k: a proposal index < n_proposals
 * @score: the source's score (lower is better), or NAN
 * @energy: the CRF energy, or NAN
 * @unary: its unary part, or NAN
 * @pairwise: its pairwise part, or NAN
 * @rank: the source's rank of proposal @k (0 = its best)
 *
 * Sets what the source knows of proposal @k.
 *
 * Returns: FALSE when @k is out of range
 */
gboolean gst_sr_proposal_meta_set_proposal(GstSrProposalMeta *meta, guint k, gdouble score, gdouble energy,
                                           gdouble unary, gdouble pairwise, gint rank);

/**
 * gst_sr_proposal_meta_set_superpixels_bytes:
 * @meta: the meta
 * @n_superpixels: number of superpixels (0 removes the map)
 * @superpixels: (nullable): width·height int32 indices < @n_superpixels in
 *   host byte order (4·width·height bytes), row-major; referenced, not
 *   copied (copied only when not aligned); NULL only when @n_superpixels is 0
 *
 * The bindings' form of gst_sr_proposal_meta_set_superpixels().
 *
 * Returns: FALSE (and leaves the meta unchanged) when the size does not
 *   match or an index is out of range
 */
gboolean gst_sr_proposal_meta_set_superpixels_bytes(GstSrProposalMeta *meta, guint n_superpixels,
                                                    GBytes *superpixels);

/**
 * gst_buffer_get_sr_proposal_meta:
 * @buffer: a buffer
 *
 * Returns: (transfer none) (nullable): the buffer's proposal meta
 */
#define gst_buffer_get_sr_proposal_meta(buffer) \
  ((GstSrProposalMeta *)gst_buffer_get_meta((buffer), GST_SR_PROPOSAL_META_API_TYPE))

/**
 * gst_sr_proposal_meta_get:
 * @buffer: a buffer
 *
 * The function form of gst_buffer_get_sr_proposal_meta(), for bindings.
 *
 * Returns: (transfer none) (nullable): the buffer's proposal meta
 */
GstSrProposalMeta *gst_sr_proposal_meta_get(GstBuffer *buffer);

/**
 * gst_sr_proposal_meta_get_labels:
 * @meta: the meta
 * @k: a proposal index < n_proposals
 * @n_pixels: (out): height·width
 *
 * Returns: (transfer none) (array length=n_pixels): proposal @k's label map,
 *   row-major
 */
const guint8 *gst_sr_proposal_meta_get_labels(const GstSrProposalMeta *meta, guint k, gsize *n_pixels);

/**
 * gst_sr_proposal_meta_get_score:
 * @meta: the meta
 * @k: a proposal index < n_proposals
 *
 * Returns: proposal @k's score (lower is better), NAN when unknown
 */
gdouble gst_sr_proposal_meta_get_score(const GstSrProposalMeta *meta, guint k);

/**
 * gst_sr_proposal_meta_get_energy:
 * @meta: the meta
 * @k: a proposal index < n_proposals
 *
 * Returns: proposal @k's energy, NAN when unknown
 */
gdouble gst_sr_proposal_meta_get_energy(const GstSrProposalMeta *meta, guint k);

/**
 * gst_sr_proposal_meta_get_unary:
 * @meta: the meta
 * @k: a proposal index < n_proposals
 *
 * Returns: the unary part of proposal @k's energy, NAN when unknown
 */
gdouble gst_sr_proposal_meta_get_unary(const GstSrProposalMeta *meta, guint k);

/**
 * gst_sr_proposal_meta_get_pairwise:
 * @meta: the meta
 * @k: a proposal index < n_proposals
 *
 * Returns: the pairwise part of proposal @k's energy, NAN when unknown
 */
gdouble gst_sr_proposal_meta_get_pairwise(const GstSrProposalMeta *meta, guint k);

/**
 * gst_sr_proposal_meta_get_rank:
 * @meta: the meta
 * @k: a proposal index < n_proposals
 *
 * Returns: the source's rank of proposal @k (0 = its best)
 */
gint gst_sr_proposal_meta_get_rank(const GstSrProposalMeta *meta, guint k);

/**
 * gst_sr_proposal_meta_find_rank:
 * @meta: the meta
 * @rank: a rank (0 = the source's best)
 *
 * Returns: the index of the proposal with rank @rank, or -1 when none has it
 */
gint gst_sr_proposal_meta_find_rank(const GstSrProposalMeta *meta, gint rank);

/**
 * gst_sr_proposal_meta_get_areas:
 * @meta: the meta
 * @k: a proposal index < n_proposals
 * @n_values: (out): n_classes
 *
 * Returns: (transfer none) (array length=n_values): the share of the frame's
 *   pixels proposal @k gives each class
 */
const gdouble *gst_sr_proposal_meta_get_areas(const GstSrProposalMeta *meta, guint k, gsize *n_values);

/**
 * gst_sr_proposal_meta_get_superpixels:
 * @meta: the meta
 * @n_pixels: (out): height·width, or 0 without a superpixel map
 *
 * Returns: (transfer none) (array length=n_pixels) (nullable): the superpixel
 *   map, row-major, or NULL
 */
const gint32 *gst_sr_proposal_meta_get_superpixels(const GstSrProposalMeta *meta, gsize *n_pixels);

/**
 * gst_sr_proposal_meta_get_class_name:
 * @meta: the meta
 * @c: a class index < n_classes
 *
 * Returns: (transfer none): the name of class @c
 */
const gchar *gst_sr_proposal_meta_get_class_name(const GstSrProposalMeta *meta, guint c);

/**
 * gst_sr_proposal_meta_get_labels_bytes:
 * @meta: the meta
 * @k: a proposal index < n_proposals
 *
 * Proposal @k's label map without a copy: the returned #GBytes is a slice
 * of the meta's storage and keeps it alive, so it stays valid after the
 * buffer is freed (copied only for a meta whose fields a caller filled
 * itself).
 *
 * Returns: (transfer full) (nullable): height × width class indices (uint8),
 *   row-major; NULL when @k is out of range
 */
GBytes *gst_sr_proposal_meta_get_labels_bytes(const GstSrProposalMeta *meta, guint k);

/**
 * gst_sr_proposal_meta_get_superpixels_bytes:
 * @meta: the meta
 *
 * The superpixel map without a copy (see
 * gst_sr_proposal_meta_get_labels_bytes()).
 *
 * Returns: (transfer full) (nullable): width × height int32 indices in host
 *   byte order, row-major; NULL without a superpixel map
 */
GBytes *gst_sr_proposal_meta_get_superpixels_bytes(const GstSrProposalMeta *meta);

/**
 * gst_sr_proposal_meta_get_class_color:
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
gboolean gst_sr_proposal_meta_get_class_color(const GstSrProposalMeta *meta, guint c, guint8 *r, guint8 *g,
                                              guint8 *b);

G_END_DECLS

#endif
