/* gstsvmrerank.c: the paper's learned re-ranking ("SegNet +SVM") as an
 * element: scores each frame's proposals (GstSrProposalMeta) with a trained
 * linear ranker (core/rerank/ranker.h) on their features against the net's
 * coarse distribution and image descriptor (GstSrProbMeta) and attaches the
 * best as a GstSrSegmentationMeta; the frame itself passes through
 * unchanged. */

/**
 * SECTION:element-svmrerank
 * @title: svmrerank
 *
 * Re-ranks the candidate segmentations of each frame the way Cogswell et al.
 * 2014 do with their ranking SVM: every proposal gets the features of the
 * ranker's feature groups (core/rerank/rerank_features.h), the ranker's
 * linear score of the standardised features is computed
 * (sr_ranker_score_set), and the proposal with the HIGHEST score becomes the
 * frame's final segmentation, attached as a #GstSrSegmentationMeta (method
 * "svm", `selected` = its index in the #GstSrProposalMeta, `scores` = the
 * NEGATED ranker scores of the scored proposals, so that lower is better as
 * for every method; ties: the lower index) that `segoverlay` draws.
 *
 * The ranker is a `.srranker` file made by `segrank train-ranker`
 * (`ranker`; default: the shipped models/camvid.srranker, or
 * $SEGRANK_RANKER when set). It is loaded when the element starts; a file
 * that cannot be read or validated is an error naming it and the reason.
 * What the frames must carry depends on the ranker's feature groups:
 *
 * - "segnet" (KL and expected intersection / union against the net's
 *   distribution): the #GstSrProbMeta of `segnetinfer` upstream, covering
 *   the whole frame.
 * - "cls" (image-level classifiers paired with each proposal's classes):
 *   the image descriptor in that #GstSrProbMeta (conv5 mean and max per
 *   channel, of the length the ranker's classifier was trained on), which
 *   `segnetinfer` attaches with `descriptor=true`, its default; a frame
 *   without it is an error saying so.
 * - "source" (rank, energies, areas, agreement between proposals): the
 *   proposals only; a ranker of this group alone runs without segnetinfer.
 *
 * The ranker's classes must be the proposals' and, when it reads the net,
 * the net's (the same number, and the same names in the same order where
 * both name a class); a mismatch is an error naming both tables. Every
 * frame is checked.
 *
 * Only the first `num-proposals` proposals (in the meta's order: rank order
 * for divmbest) are scored. A ranker is trained for a given number of
 * proposals M (`segrank train-ranker`'s M, stored in the file's
 * provenance): its "source.consensus" feature (the mean agreement of a
 * proposal with the other scored ones) depends on how many are scored. So
 * `num-proposals` 0 (the default) scores the ranker's own M (all proposals
 * when its provenance does not say), and a different number, or a frame
 * with fewer proposals than the ranker's M, is scored but posts a warning
 * once per stream: give it at least M proposals (divmbest num-solutions).
 *
 * - A frame without proposals (no #GstSrProposalMeta, or one with none)
 *   gets the net's own output as its final segmentation: the coarse
 *   probabilities interpolated bilinearly to the frame size, then argmax
 *   (method "net", `selected` -1), with a warning once per stream. Without
 *   the net's distribution either (a "source"-only ranker and no
 *   segnetinfer), the frame gets no final segmentation, with a warning once.
 * - A proposal whose map is void everywhere is not a segmentation: it is not
 *   scored, its cost is +inf (a warning once), and the others are scored as
 *   a set without it (the MAP proposal and the consensus are computed over
 *   the remaining ones); when every scored proposal is void, the frame gets
 *   the net's own output as above.
 * - Proposals of another size than the frame are scored on their own size
 *   (the net's grid covers the whole frame at any resolution not coarser
 *   than the grid) and the final segmentation keeps the proposals' size;
 *   segoverlay rescales it to the frame nearest-neighbour.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 multifilesrc location=frames/%05d.png caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! \
 *     segnetinfer ! divmbest num-solutions=10 ! svmrerank num-proposals=10 ! segoverlay legend=true ! \
 *     videoconvert ! pngenc ! multifilesink location=out/%05d.png
 * ]|
 */
#include "gstsvmrerank.h"

#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(gst_svm_rerank_debug);
#define GST_CAT_DEFAULT gst_svm_rerank_debug

enum {
  PROP_0,
  PROP_RANKER,
  PROP_NUM_PROPOSALS,
};

#define PROP_RANKER_DEFAULT NULL
#define PROP_NUM_PROPOSALS_DEFAULT 0

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));

G_DEFINE_TYPE(GstSvmRerank, gst_svm_rerank, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(svmrerank, "svmrerank", GST_RANK_NONE, GST_TYPE_SVM_RERANK);

static void release_ranker(GstSvmRerank *self) {
  sr_ranker_free(self->ranker);
  self->ranker = NULL;
  g_free(self->ranker_path);
  self->ranker_path = NULL;
  g_strfreev(self->class_names);
  self->class_names = NULL;
  self->n_classes = 0, self->groups = 0, self->descriptor_dim = 0;
}

static gboolean gst_svm_rerank_start(GstBaseTransform *trans) {
  GstSvmRerank *self = GST_SVM_RERANK(trans);
  GST_OBJECT_LOCK(self);
  gchar *path = g_strdup(self->prop_ranker ? self->prop_ranker : sr_default_ranker_path());
  GST_OBJECT_UNLOCK(self);
  self->warned_no_proposals = self->warned_void_proposal = self->warned_no_output = self->noted_size = FALSE;
  self->warned_m = FALSE;

  release_ranker(self);
  sr_error err = {0};
  if (sr_ranker_load(path, NULL, 0, &self->ranker, &err) != SR_OK) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Could not load the ranker \"%s\".", path), ("%s", err.msg));
    g_free(path);
    return FALSE;
  }
  self->ranker_path = path;
  self->groups = sr_ranker_groups(self->ranker);
  self->descriptor_dim = sr_ranker_descriptor_dim(self->ranker);
  self->n_classes = (guint)sr_ranker_n_classes(self->ranker);
  self->trained_m = sr_ranker_trained_m(self->ranker);
  const sr_class *classes = sr_ranker_classes(self->ranker);
  self->class_names = g_new0(gchar *, self->n_classes + 1);
  for (guint c = 0; c < self->n_classes; c++) self->class_names[c] = g_strdup(classes[c].name);
  char groups[24];
  GST_INFO_OBJECT(self, "loaded %s: groups %s, %d features, %u classes, descriptor %d, trained with M %d", path,
                  sr_rerank_groups_format(self->groups, groups, sizeof groups), sr_ranker_dim(self->ranker),
                  self->n_classes, self->descriptor_dim, self->trained_m);
  return TRUE;
}

static gboolean gst_svm_rerank_stop(GstBaseTransform *trans) {
  release_ranker(GST_SVM_RERANK(trans));
  return TRUE;
}

/* Posts an error and returns FALSE unless the ranker's classes are @other's
 * (@what: "the net's distribution (GstSrProbMeta)", "the proposals from X
 * (GstSrProposalMeta)"): the same count, the same names where both name a
 * class. */
static gboolean check_ranker_classes(GstSvmRerank *self, gchar *const *names, guint n, const gchar *what) {
  gint differ =
      n == self->n_classes ? gst_segrank_first_class_difference(self->class_names, names, self->n_classes) : -1;
  if (n == self->n_classes && differ < 0) return TRUE;
  gchar *mine = gst_segrank_join_class_names(self->class_names, self->n_classes);
  gchar *theirs = gst_segrank_join_class_names(names, n);
  if (differ < 0)
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The ranker's classes do not match the frames'."),
                      ("the ranker %s has %u classes (%s); %s: %u (%s)", self->ranker_path, self->n_classes, mine,
                       what, n, theirs));
  else
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The ranker's classes do not match the frames'."),
                      ("class %d is \"%s\" in the ranker %s (%s) but \"%s\" in %s (%s)", differ,
                       self->class_names[differ], self->ranker_path, mine, names[differ], what, theirs));
  g_free(mine);
  g_free(theirs);
  return FALSE;
}

/* Posts an error and returns FALSE unless @pm carries the image descriptor
 * the ranker's classifier takes. */
static gboolean check_descriptor(GstSvmRerank *self, const GstSrProbMeta *pm) {
  if (pm->n_descriptor == (guint)self->descriptor_dim) return TRUE;
  if (pm->n_descriptor == 0)
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The frames carry no image descriptor: enable segnetinfer's descriptor."),
                      ("the ranker %s uses the classification features (cls), computed from the image descriptor "
                       "in the GstSrProbMeta; set descriptor=true on segnetinfer (its default)",
                       self->ranker_path));
  else
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The image descriptor does not fit the ranker."),
                      ("the GstSrProbMeta's descriptor has %u values, the ranker %s's classifier takes %d: the "
                       "ranker was trained on another net",
                       pm->n_descriptor, self->ranker_path, self->descriptor_dim));
  return FALSE;
}

/* The set the ranker scores: a view of the meta's arrays when every one of
 * the first @m proposals is scorable (@n_scorable == @m), else a compact
 * copy of the @n_scorable scorable ones (@scorable) followed by proposals
 * m..n-1 (which only the MAP look-up reads). The scored ones are the first
 * @n_scorable either way. */
static void proposal_set_for(const GstSrProposalMeta *prm, guint m, const guint *scorable, guint n_scorable,
                             sr_proposal_set *set, gboolean *owned) {
  *set = (sr_proposal_set){.width = (int)prm->width, .height = (int)prm->height, .n_classes = (int)prm->n_classes};
  *owned = n_scorable < m;
  if (!*owned) {
    set->n = (int)prm->n_proposals;
    set->labels = prm->labels;
    set->score = prm->scores, set->energy = prm->energies, set->unary = prm->unaries;
    set->pairwise = prm->pairwises, set->rank = prm->ranks, set->areas = prm->areas;
    return;
  }
  guint n = n_scorable + (prm->n_proposals - m), C = prm->n_classes;
  gsize px = (gsize)prm->width * prm->height;
  set->n = (int)n;
  set->labels = g_malloc(n * px);
  set->score = g_new(double, n), set->energy = g_new(double, n), set->unary = g_new(double, n);
  set->pairwise = g_new(double, n), set->rank = g_new(int, n), set->areas = g_new(double, (gsize)n * C);
  for (guint i = 0; i < n; i++) {
    guint k = i < n_scorable ? scorable[i] : m + (i - n_scorable);
    memcpy(set->labels + i * px, prm->labels + k * px, px);
    set->score[i] = prm->scores[k], set->energy[i] = prm->energies[k], set->unary[i] = prm->unaries[k];
    set->pairwise[i] = prm->pairwises[k], set->rank[i] = prm->ranks[k];
    memcpy(set->areas + (gsize)i * C, prm->areas + (gsize)k * C, sizeof(double) * C);
  }
}

/* Scores the first @m proposals of @prm into @costs (the negated ranker
 * scores; +inf for proposals void everywhere) and returns the index of the
 * best in @best (-1 when every one is void). */
static sr_status score_proposals(GstSvmRerank *self, const GstSrProbMeta *pm, const GstSrProposalMeta *prm, guint m,
                                 gdouble *costs, gint *best, sr_error *err) {
  guint *scorable = g_new(guint, m);
  guint n_scorable = gst_segrank_scorable_proposals(GST_ELEMENT(self), prm, m, scorable, &self->warned_void_proposal);
  for (guint k = 0; k < m; k++) costs[k] = INFINITY;
  *best = -1;
  sr_status st = SR_OK;
  if (n_scorable > 0) {
    sr_proposal_set set;
    gboolean owned;
    proposal_set_for(prm, m, scorable, n_scorable, &set, &owned);
    sr_coarse_dist net = {0};
    if (pm) net = (sr_coarse_dist){pm->probs, (int)pm->n_classes, (int)pm->height, (int)pm->width};
    const gboolean cls = (self->groups & SR_RERANK_CLS) != 0;
    double *scores = g_new(double, n_scorable);
    int pick = 0;
    st = sr_ranker_score_set(self->ranker, &set, pm ? &net : NULL, cls ? pm->descriptor : NULL,
                             cls ? (int)pm->n_descriptor : 0, (int)n_scorable, scores, &pick, err);
    if (st == SR_OK) {
      for (guint i = 0; i < n_scorable; i++) costs[scorable[i]] = -scores[i];
      *best = (gint)scorable[pick];
    }
    g_free(scores);
    if (owned) {
      /* Only the arrays proposal_set_for allocated: no superpixels. */
      g_free(set.labels), g_free(set.score), g_free(set.energy), g_free(set.unary);
      g_free(set.pairwise), g_free(set.rank), g_free(set.areas);
    }
  }
  g_free(scorable);
  return st;
}

/* Attaches the final segmentation; frames pass unchanged. */
static GstFlowReturn gst_svm_rerank_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  GstSvmRerank *self = GST_SVM_RERANK(trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER(trans);
  if (!filter->negotiated) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("unknown format"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!self->ranker) {
    GST_ELEMENT_ERROR(self, CORE, STATE_CHANGE, (NULL), ("no ranker loaded"));
    return GST_FLOW_ERROR;
  }
  gint fw = GST_VIDEO_INFO_WIDTH(&filter->in_info), fh = GST_VIDEO_INFO_HEIGHT(&filter->in_info);
  GST_OBJECT_LOCK(self);
  gint num = self->prop_num_proposals;
  GST_OBJECT_UNLOCK(self);

  /* The net's distribution: required when the ranker reads it (segnet) or
   * its descriptor (cls); otherwise used only for the no-proposal case. */
  const gboolean needs_net = (self->groups & (SR_RERANK_SEGNET | SR_RERANK_CLS)) != 0;
  GstSrProbMeta *pm = gst_buffer_get_sr_prob_meta(buf);
  if (needs_net) {
    char groups[24];
    if (!pm) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The frames carry no class probabilities."),
                        ("no GstSrProbMeta: the ranker %s uses the %s features, which read the net's output; put "
                         "segnetinfer upstream",
                         self->ranker_path, sr_rerank_groups_format(self->groups, groups, sizeof groups)));
      return GST_FLOW_ERROR;
    }
    if (!gst_segrank_check_prob_meta(GST_ELEMENT(self), pm, "the ranker") ||
        !check_ranker_classes(self, pm->class_names, pm->n_classes, "the net's distribution (GstSrProbMeta)"))
      return GST_FLOW_ERROR;
    if ((self->groups & SR_RERANK_CLS) && !check_descriptor(self, pm)) return GST_FLOW_ERROR;
  }
  gst_segrank_remove_segmentation_metas(GST_ELEMENT(self), buf);

  GstSrProposalMeta *prm = gst_buffer_get_sr_proposal_meta(buf);
  guint n = prm ? prm->n_proposals : 0;
  if (num <= 0) num = self->trained_m;
  guint m = num <= 0 || (guint)num > n ? n : (guint)num;
  if (n > 0 && self->trained_m > 0 && m != (guint)self->trained_m && !self->warned_m) {
    GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("Scoring a different number of proposals than the ranker was trained with."),
                        ("%s was trained with M = %d proposals per frame; this frame's %u of %u proposals are scored "
                         "(num-proposals %d): its consensus feature then means something else. Give it M proposals "
                         "(divmbest num-solutions) and leave num-proposals at 0.",
                         self->ranker_path, self->trained_m, m, n, num));
    self->warned_m = TRUE;
  }
  gdouble *costs = g_new(gdouble, MAX(m, 1));
  gint best = -1;
  if (m > 0) {
    const gchar *source = prm->source ? prm->source : "an unnamed source";
    gchar *what = g_strdup_printf("the proposals from %s (GstSrProposalMeta)", source);
    gboolean ok = (!needs_net || gst_segrank_check_net_classes(GST_ELEMENT(self), pm, prm)) &&
                  check_ranker_classes(self, prm->class_names, prm->n_classes, what);
    g_free(what);
    if (!ok) {
      g_free(costs);
      return GST_FLOW_ERROR;
    }
    if (!self->noted_size && ((gint)prm->width != fw || (gint)prm->height != fh))
      GST_INFO_OBJECT(self, "proposals are %ux%u, frames %dx%d: scoring and keeping the proposals' size",
                      prm->width, prm->height, fw, fh);
    self->noted_size = self->noted_size || (gint)prm->width != fw || (gint)prm->height != fh;
    sr_error err = {0};
    if (score_proposals(self, needs_net ? pm : NULL, prm, m, costs, &best, &err) != SR_OK) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Scoring the proposals failed."),
                        ("%s: %s", self->ranker_path, err.msg));
      g_free(costs);
      return GST_FLOW_ERROR;
    }
  } else {
    gst_segrank_warn_no_proposals(GST_ELEMENT(self), prm, &self->warned_no_proposals);
  }

  if (best < 0 && !pm) {
    /* Nothing to fall back on (a source-only ranker without segnetinfer). */
    if (!self->warned_no_output)
      GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("A frame has nothing to choose from: no final segmentation."),
                          ("no scorable proposals and no GstSrProbMeta for the net's own output; put segnetinfer "
                           "upstream"));
    self->warned_no_output = TRUE;
    g_free(costs);
    return GST_FLOW_OK;
  }
  if (best < 0 && !needs_net && !gst_segrank_check_prob_meta(GST_ELEMENT(self), pm, "the net's own output")) {
    g_free(costs);
    return GST_FLOW_ERROR;
  }
  if (best >= 0) GST_LOG_OBJECT(self, "proposal %d of %u ranked best: %g", best, m, -costs[best]);
  gboolean ok = gst_segrank_attach_segmentation(GST_ELEMENT(self), buf, "svm", best, pm, prm, fw, fh, m, costs);
  g_free(costs);
  return ok ? GST_FLOW_OK : GST_FLOW_ERROR;
}

static void gst_svm_rerank_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstSvmRerank *self = GST_SVM_RERANK(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_RANKER:
      g_free(self->prop_ranker);
      self->prop_ranker = g_value_dup_string(value);
      break;
    case PROP_NUM_PROPOSALS:
      self->prop_num_proposals = g_value_get_int(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_svm_rerank_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstSvmRerank *self = GST_SVM_RERANK(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_RANKER:
      g_value_set_string(value, self->prop_ranker);
      break;
    case PROP_NUM_PROPOSALS:
      g_value_set_int(value, self->prop_num_proposals);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_svm_rerank_finalize(GObject *object) {
  GstSvmRerank *self = GST_SVM_RERANK(object);
  release_ranker(self);
  g_free(self->prop_ranker);
  G_OBJECT_CLASS(gst_svm_rerank_parent_class)->finalize(object);
}

static void gst_svm_rerank_class_init(GstSvmRerankClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  gobject_class->set_property = gst_svm_rerank_set_property;
  gobject_class->get_property = gst_svm_rerank_get_property;
  gobject_class->finalize = gst_svm_rerank_finalize;

  g_object_class_install_property(
      gobject_class, PROP_RANKER,
      g_param_spec_string("ranker", "Ranker",
                          "Path of the .srranker file (segrank train-ranker); NULL: $SEGRANK_RANKER, else the "
                          "shipped camvid.srranker",
                          PROP_RANKER_DEFAULT, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property(
      gobject_class, PROP_NUM_PROPOSALS,
      g_param_spec_int("num-proposals", "Number of proposals",
                       "Score the first N proposals of each frame, in the proposal meta's order (rank order for "
                       "divmbest); 0: the M the ranker was trained with (its provenance), all when it does not say. "
                       "Another N, or fewer proposals than M, is scored with a warning: the consensus feature "
                       "depends on M",
                       0, G_MAXINT, PROP_NUM_PROPOSALS_DEFAULT,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata(
      element_class, "Proposal re-ranking by a ranking SVM", "Filter/Analyzer/Video",
      "Scores each frame's proposals (divmbest, proposalload) with a trained linear ranking SVM on features "
      "against SegNet's coarse class distribution and image descriptor (segnetinfer) and the proposal source "
      "(Cogswell et al. 2014, SegNet +SVM) and attaches the best as a GstSrSegmentationMeta; without proposals, "
      "the net's own upsampled output; frames pass unchanged",
      "segrank developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_svm_rerank_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_svm_rerank_stop);
  /* The frame is never mapped: only metas are read and added. */
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_svm_rerank_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;

  GST_DEBUG_CATEGORY_INIT(gst_svm_rerank_debug, "svmrerank", 0, "Proposal re-ranking by a ranking SVM");
}

static void gst_svm_rerank_init(GstSvmRerank *self) {
  self->prop_ranker = g_strdup(PROP_RANKER_DEFAULT);
  self->prop_num_proposals = PROP_NUM_PROPOSALS_DEFAULT;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
