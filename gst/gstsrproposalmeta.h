/* gstsrproposalmeta.h: GstSrProposalMeta, the M full-resolution candidate
 * segmentations (proposals) of one video frame with what their source knows
 * of each, attached by `divmbest` (DivMBest on a superpixel CRF) and
 * `proposalload` (proposals made by another tool, read from disk). Public:
 * applications link libgstsegrankmeta-1.0 and read it with
 * gst_buffer_get_sr_proposal_meta(), or from Python through
 * GstSegrank-1.0.typelib:
 *
 *   meta = GstSegrank.proposal_meta_get(buffer)
 *   labels = GstSegrank.ProposalMeta.get_labels(meta, 0)   # bytes, h·w
 *   best = GstSegrank.ProposalMeta.get_score(meta, 0)
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
 * @class_colors: (array): 3 × n_classes bytes, RGB display colour per class
 * @labels: M × height × width class indices, proposal-major: proposal k at
 *   row y, column x is labels[(k * height + y) * width + x]
 * @scores: (array length=n_proposals): the source's own score per proposal,
 *   lower is better (DivMBest: the energy); NAN where the source has none
 * @energies: (array length=n_proposals): CRF energy E(x) per proposal, or NAN
 * @unaries: (array length=n_proposals): the unary part of the energy, or NAN
 * @pairwises: (array length=n_proposals): the pairwise part, or NAN
 * @ranks: (array length=n_proposals): the source's rank per proposal, 0 =
 *   its best (for DivMBest, the MAP labelling)
 * @areas: M × n_classes fractions: areas[k * n_classes + c] is the share of
 *   the frame's pixels that proposal k labels c
 * @n_superpixels: number of superpixels, 0 when the source used none
 * @superpixels: (nullable): width × height superpixel indices (< n_superpixels)
 *   the proposals were built on, row-major; NULL when @n_superpixels is 0
 *
 * Survives whole-buffer copies unchanged; a region copy (part of the
 * buffer's memory, #GstMetaTransformCopy.region TRUE) drops it, since the
 * full-frame maps would not fit the part. On a scale transformation (videoscale) the
 * label maps and the superpixel map are rescaled nearest-neighbour to the new
 * frame size and the areas are recomputed from the rescaled maps; every other
 * transformation (crop, flip, rotation) drops the meta, since the maps would
 * no longer line up with the frame.
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
 * gst_sr_proposal_meta_set_superpixels:
 * @meta: the meta
 * @n_superpixels: number of superpixels (0 removes the map)
 * @superpixels: (array) (nullable): width·height indices < @n_superpixels,
 *   copied
 *
 * Returns: FALSE (and leaves the meta unchanged) when an index is out of range
 */
gboolean gst_sr_proposal_meta_set_superpixels(GstSrProposalMeta *meta, guint n_superpixels,
                                              const gint32 *superpixels);

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

G_END_DECLS

#endif
