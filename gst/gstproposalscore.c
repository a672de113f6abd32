/* gstproposalscore.c: the paper's fixed re-ranking (eq. 17) as an element:
 * scores each frame's proposals (GstSrProposalMeta) against the net's coarse
 * distribution (GstSrProbMeta) with core/rerank/kl_score.h and attaches the
 * best as a GstSrSegmentationMeta; the frame itself passes through
 * unchanged. */

/**
 * SECTION:element-proposalscore
 * @title: proposalscore
 *
 * Re-ranks the candidate segmentations of each frame the way Cogswell et al.
 * 2014 do with their fixed score (eq. 17): each proposal's label map is
 * soft-downsampled to the net's coarse grid (the training targets'
 * downsampling) and compared with the net's class distribution by symmetric
 * KL divergence, plus `penalty-weight` × the proposal's mass on class
 * `penalty-class` when that is set. The proposal with the lowest score
 * becomes the frame's final segmentation, attached as a
 * #GstSrSegmentationMeta (method "eq17", `selected` = its index in the
 * #GstSrProposalMeta, `scores` = every scored proposal's score, lower is
 * better) that `segoverlay` draws.
 *
 * Upstream it needs `segnetinfer` (the #GstSrProbMeta) and a proposal source,
 * `divmbest` or `proposalload` (the #GstSrProposalMeta). Only the first
 * `num-proposals` proposals (in the meta's order: rank order for divmbest)
 * are scored, all when it is 0.
 *
 * - A frame without the net's distribution is an error (the score needs it):
 *   put segnetinfer upstream.
 * - The net's classes must be the proposals' (the same number, and the same
 *   names in the same order where both metas name them); a mismatch is an
 *   error naming both tables.
 * - A frame without proposals (no #GstSrProposalMeta, or one with none) gets
 *   the net's own output as its final segmentation: the coarse
 *   probabilities interpolated bilinearly to the frame size, then argmax
 *   (method "net", `selected` -1), with a warning once per stream.
 * - A proposal whose map is void everywhere cannot be scored: its score is
 *   +inf (a warning once); when every scored proposal is void, the frame gets
 *   the net's own output as above.
 * - Proposals of another size than the frame are scored on their own size
 *   (the net's grid covers the whole frame at any resolution not coarser
 *   than the grid) and the final segmentation keeps the proposals' size;
 *   segoverlay rescales it to the frame nearest-neighbour.
 *
 * CamVid has no background class (its class 0 is Sky), so the penalty is off
 * by default; `penalty-class=0` with the default `penalty-weight` 0.02 is the
 * paper's PASCAL VOC setting.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 multifilesrc location=frames/%05d.png caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! \
 *     segnetinfer ! divmbest num-solutions=10 ! proposalscore ! segoverlay legend=true ! videoconvert ! pngenc ! \
 *     multifilesink location=out/%05d.png
 * ]|
 */
#include "gstproposalscore.h"

#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(gst_proposal_score_debug);
#define GST_CAT_DEFAULT gst_proposal_score_debug

enum {
  PROP_0,
  PROP_NUM_PROPOSALS,
  PROP_EPS,
  PROP_PENALTY_CLASS,
  PROP_PENALTY_WEIGHT,
};

#define PROP_NUM_PROPOSALS_DEFAULT 0
#define PROP_PENALTY_CLASS_DEFAULT -1
/* The paper's weight (PASCAL VOC, class 0 = background); used only when
 * penalty-class is set. */
#define PROP_PENALTY_WEIGHT_DEFAULT 0.02
#define PENALTY_WEIGHT_MAX 1e6

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));

G_DEFINE_TYPE(GstProposalScore, gst_proposal_score, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(proposalscore, "proposalscore", GST_RANK_NONE, GST_TYPE_PROPOSAL_SCORE);

static gboolean gst_proposal_score_start(GstBaseTransform *trans) {
  GstProposalScore *self = GST_PROPOSAL_SCORE(trans);
  self->warned_no_proposals = self->warned_void_proposal = self->noted_size = FALSE;
  return TRUE;
}

/* Scores the first @m proposals of @prm with eq. 17 into @costs and returns
 * the index of the lowest in @best (-1 when every one is void everywhere).
 * The usual case scores a view of the meta's maps; proposals that are void
 * everywhere (which eq. 17 cannot score) get +inf and the others are scored
 * from a compact copy. */
static sr_status score_proposals(GstProposalScore *self, const sr_coarse_dist *net, const GstSrProposalMeta *prm,
                                 guint m, const sr_kl_score_params *par, gdouble *costs, gint *best,
                                 sr_error *err) {
  gsize px = (gsize)prm->width * prm->height;
  guint *scorable = g_new(guint, m);
  guint n_scorable = gst_segrank_scorable_proposals(GST_ELEMENT(self), prm, m, scorable, &self->warned_void_proposal);
  for (guint k = 0; k < m; k++) costs[k] = INFINITY;
  *best = -1;
  sr_status st = SR_OK;
  if (n_scorable > 0) {
    guint8 *compact = NULL;
    if (n_scorable < m) {
      compact = g_malloc(n_scorable * px);
      for (guint i = 0; i < n_scorable; i++) memcpy(compact + i * px, prm->labels + scorable[i] * px, px);
    }
    /* A view: sr_kl_rerank reads only the size, classes, count and maps. */
    sr_proposal_set view = {.width = (int)prm->width, .height = (int)prm->height, .n_classes = (int)prm->n_classes,
                            .n = (int)n_scorable, .labels = compact ? compact : prm->labels};
    sr_kl_score *scores = g_new(sr_kl_score, n_scorable);
    int pick = 0;
    st = sr_kl_rerank(net, &view, (int)n_scorable, par, scores, &pick, err);
    if (st == SR_OK) {
      for (guint i = 0; i < n_scorable; i++) costs[scorable[i]] = scores[i].score;
      *best = (gint)scorable[pick];
    }
    g_free(scores);
    g_free(compact);
  }
  g_free(scorable);
  return st;
}

/* Attaches the final segmentation; frames pass unchanged. */
static GstFlowReturn gst_proposal_score_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  GstProposalScore *self = GST_PROPOSAL_SCORE(trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER(trans);
  if (!filter->negotiated) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("unknown format"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  gint fw = GST_VIDEO_INFO_WIDTH(&filter->in_info), fh = GST_VIDEO_INFO_HEIGHT(&filter->in_info);
  sr_kl_score_params par;
  sr_kl_score_params_default(&par);
  GST_OBJECT_LOCK(self);
  gint num = self->prop_num_proposals;
  par.eps = self->prop_eps;
  par.penalty_class = self->prop_penalty_class;
  par.penalty_weight = self->prop_penalty_weight;
  GST_OBJECT_UNLOCK(self);

  GstSrProbMeta *pm = gst_buffer_get_sr_prob_meta(buf);
  if (!pm) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The frames carry no class probabilities."),
                      ("no GstSrProbMeta: proposalscore scores proposals against the net's output; put "
                       "segnetinfer upstream"));
    return GST_FLOW_ERROR;
  }
  if (!gst_segrank_check_prob_meta(GST_ELEMENT(self), pm, "eq. 17")) return GST_FLOW_ERROR;
  if (par.penalty_class >= (gint)pm->n_classes) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("penalty-class %d is not a class of the net.", par.penalty_class),
                      ("the net has %u classes (0 to %u)", pm->n_classes, pm->n_classes - 1));
    return GST_FLOW_ERROR;
  }
  gst_segrank_remove_segmentation_metas(GST_ELEMENT(self), buf);

  GstSrProposalMeta *prm = gst_buffer_get_sr_proposal_meta(buf);
  guint n = prm ? prm->n_proposals : 0;
  guint m = num <= 0 || (guint)num > n ? n : (guint)num;
  gdouble *costs = g_new(gdouble, MAX(m, 1));
  gint best = -1;
  if (m > 0) {
    if (!gst_segrank_check_net_classes(GST_ELEMENT(self), pm, prm)) {
      g_free(costs);
      return GST_FLOW_ERROR;
    }
    if (!self->noted_size && ((gint)prm->width != fw || (gint)prm->height != fh))
      GST_INFO_OBJECT(self, "proposals are %ux%u, frames %dx%d: scoring and keeping the proposals' size",
                      prm->width, prm->height, fw, fh);
    self->noted_size = self->noted_size || (gint)prm->width != fw || (gint)prm->height != fh;
    sr_coarse_dist net = {pm->probs, (int)pm->n_classes, (int)pm->height, (int)pm->width};
    sr_error err = {0};
    if (score_proposals(self, &net, prm, m, &par, costs, &best, &err) != SR_OK) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Scoring the proposals failed."), ("%s", err.msg));
      g_free(costs);
      return GST_FLOW_ERROR;
    }
  } else {
    gst_segrank_warn_no_proposals(GST_ELEMENT(self), prm, &self->warned_no_proposals);
  }

  if (best >= 0) GST_LOG_OBJECT(self, "proposal %d of %u scored best: %g", best, m, costs[best]);
  gboolean ok = gst_segrank_attach_segmentation(GST_ELEMENT(self), buf, "eq17", best, pm, prm, fw, fh, m, costs);
  g_free(costs);
  return ok ? GST_FLOW_OK : GST_FLOW_ERROR;
}

static void gst_proposal_score_set_property(GObject *object, guint prop_id, const GValue *value,
                                            GParamSpec *pspec) {
  GstProposalScore *self = GST_PROPOSAL_SCORE(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_NUM_PROPOSALS:
      self->prop_num_proposals = g_value_get_int(value);
      break;
    case PROP_EPS:
      self->prop_eps = g_value_get_double(value);
      break;
    case PROP_PENALTY_CLASS:
      self->prop_penalty_class = g_value_get_int(value);
      break;
    case PROP_PENALTY_WEIGHT:
      self->prop_penalty_weight = g_value_get_double(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_proposal_score_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstProposalScore *self = GST_PROPOSAL_SCORE(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_NUM_PROPOSALS:
      g_value_set_int(value, self->prop_num_proposals);
      break;
    case PROP_EPS:
      g_value_set_double(value, self->prop_eps);
      break;
    case PROP_PENALTY_CLASS:
      g_value_set_int(value, self->prop_penalty_class);
      break;
    case PROP_PENALTY_WEIGHT:
      g_value_set_double(value, self->prop_penalty_weight);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_proposal_score_class_init(GstProposalScoreClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  gobject_class->set_property = gst_proposal_score_set_property;
  gobject_class->get_property = gst_proposal_score_get_property;

  /* eps defaults to the library's, so the element and the CLI agree. */
  sr_kl_score_params d;
  sr_kl_score_params_default(&d);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;
  g_object_class_install_property(
      gobject_class, PROP_NUM_PROPOSALS,
      g_param_spec_int("num-proposals", "Number of proposals",
                       "Score the first N proposals of each frame, in the proposal meta's order (rank order for "
                       "divmbest); 0: all",
                       0, G_MAXINT, PROP_NUM_PROPOSALS_DEFAULT, flags));
  g_object_class_install_property(
      gobject_class, PROP_EPS,
      g_param_spec_double("eps", "Epsilon",
                          "Smoothing of the proposal's soft label distribution before the KL divergences: "
                          "q~ = (q + eps) / (1 + C eps)",
                          1e-12, 1.0, d.eps, flags));
  g_object_class_install_property(
      gobject_class, PROP_PENALTY_CLASS,
      g_param_spec_int("penalty-class", "Penalty class",
                       "Class whose mass in a proposal adds penalty-weight per coarse cell to its score (the "
                       "paper: 0, PASCAL VOC's background); -1: no penalty (CamVid, whose class 0 is Sky)",
                       -1, 254, PROP_PENALTY_CLASS_DEFAULT, flags));
  g_object_class_install_property(
      gobject_class, PROP_PENALTY_WEIGHT,
      g_param_spec_double("penalty-weight", "Penalty weight",
                          "Weight of the penalty class's mass (the paper: 0.02); unused while penalty-class is -1",
                          0.0, PENALTY_WEIGHT_MAX, PROP_PENALTY_WEIGHT_DEFAULT, flags));

  gst_element_class_set_static_metadata(
      element_class, "Proposal re-ranking by eq. 17", "Filter/Analyzer/Video",
      "Scores each frame's proposals (divmbest, proposalload) against SegNet's coarse class distribution "
      "(segnetinfer) by symmetric KL divergence (Cogswell et al. 2014, eq. 17) and attaches the best as a "
      "GstSrSegmentationMeta; without proposals, the net's own upsampled output; frames pass unchanged",
      "segrank developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_proposal_score_start);
  /* The frame is never mapped: only metas are read and added. */
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_proposal_score_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;

  GST_DEBUG_CATEGORY_INIT(gst_proposal_score_debug, "proposalscore", 0, "Proposal re-ranking by eq. 17");
}

static void gst_proposal_score_init(GstProposalScore *self) {
  sr_kl_score_params d;
  sr_kl_score_params_default(&d);
  self->prop_num_proposals = PROP_NUM_PROPOSALS_DEFAULT;
  self->prop_eps = d.eps;
  self->prop_penalty_class = PROP_PENALTY_CLASS_DEFAULT;
  self->prop_penalty_weight = PROP_PENALTY_WEIGHT_DEFAULT;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
