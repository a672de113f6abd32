/* gstdivmbest.c: runs the proposal source (SLIC superpixels, the unary
 * classifier, a contrast-sensitive Potts CRF and DivMBest, core/proposals/
 * proposer.h) on every frame and attaches the M proposals as a
 * GstSrProposalMeta; the frame itself passes through unchanged. */

/**
 * SECTION:element-divmbest
 * @title: divmbest
 *
 * Segments each frame into SLIC superpixels, classifies them with the unary
 * model (`unary-model`, a `.srunary` file from `segrank train-unary`),
 * builds a contrast-sensitive Potts CRF over the superpixel graph and finds
 * its `num-solutions` most probable diverse labellings with DivMBest
 * (Batra et al. 2012), as Cogswell et al. 2014 did with Yadollahpour's
 * proposals. They are attached as a #GstSrProposalMeta (source "divmbest")
 * at frame resolution, with their energies (score = energy, lower is
 * better; rank 0 is the MAP labelling), per-class areas and the superpixel
 * map.
 *
 * The proposals do not depend on SegNet. With `hybrid-weight` > 0 and a
 * #GstSrProbMeta on the frame (segnetinfer upstream), the net's coarse
 * class distribution is added to the unaries with that weight. The meta's
 * classes must be the unary model's, by name and in the same order; frames
 * whose meta is missing or has other classes are proposed from the unaries
 * alone, with a warning (once).
 *
 * `lambda`, `pairwise-weight` and `hybrid-weight` range over [0, 1e6], where
 * every term of the CRF stays finite.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 multifilesrc location=frames/%05d.png caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! \
 *     divmbest num-solutions=10 ! segoverlay proposal-index=0 ! videoconvert ! pngenc ! \
 *     multifilesink location=out/%05d.png
 * ]|
 */
#include "gstdivmbest.h"

#include <stdlib.h>
#include <string.h>

#include "gstsrprobmeta.h"
#include "gstsrproposalmeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_divmbest_debug);
#define GST_CAT_DEFAULT gst_divmbest_debug

enum {
  PROP_0,
  PROP_UNARY_MODEL,
  PROP_NUM_SOLUTIONS,
  PROP_LAMBDA,
  PROP_SUPERPIXELS,
  PROP_PAIRWISE_WEIGHT,
  PROP_THREADS,
  PROP_HYBRID_WEIGHT,
};

/* Upper bound of lambda, pairwise-weight and hybrid-weight: the proposer's
 * (sr_proposer_new refuses more), under which every CRF term stays finite. */
#define DIVMBEST_MAX_WEIGHT 1e6

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));

G_DEFINE_TYPE(GstDivMBest, gst_divmbest, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(divmbest, "divmbest", GST_RANK_NONE, GST_TYPE_DIVMBEST);

static void release_proposer(GstDivMBest *self) {
  sr_proposer_free(self->proposer);
  sr_unary_model_free(self->model);
  self->proposer = NULL, self->model = NULL;
  g_clear_pointer(&self->class_names, g_strfreev);
  g_clear_pointer(&self->class_colors, g_free);
  sr_image_clear(&self->rgb);
  self->warned_no_prob_meta = self->warned_prob_mismatch = self->warned_class_order = FALSE;
}

static gboolean gst_divmbest_start(GstBaseTransform *trans) {
  GstDivMBest *self = GST_DIVMBEST(trans);
  release_proposer(self);
  sr_proposer_params p;
  sr_proposer_params_default(&p);
  GST_OBJECT_LOCK(self);
  gchar *path = g_strdup(self->prop_unary_model ? self->prop_unary_model : sr_default_unary_model_path());
  p.num_solutions = self->prop_num_solutions;
  p.lambda = (float)self->prop_lambda;
  p.n_superpixels = self->prop_superpixels;
  p.pairwise_weight = (float)self->prop_pairwise_weight;
  p.threads = self->prop_threads;
  p.hybrid_weight = (float)self->prop_hybrid_weight;
  GST_OBJECT_UNLOCK(self);

  sr_error err = {0};
  if (sr_unary_model_load(path, &self->model, &err) != SR_OK) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Could not load the unary model \"%s\".", path), ("%s", err.msg));
    g_free(path);
    return FALSE;
  }
  self->n_classes = sr_unary_model_n_classes(self->model);
  GST_INFO_OBJECT(self, "loaded %s: %d classes, feature dimension %d", path, self->n_classes,
                  sr_unary_model_feature_dim(self->model));
  g_free(path);
  if (sr_proposer_new(self->model, &p, &self->proposer, &err) != SR_OK) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid proposal settings."), ("%s", err.msg));
    release_proposer(self);
    return FALSE;
  }
  self->hybrid = p.hybrid_weight > 0;
  const sr_class *classes = sr_unary_model_classes(self->model);
  self->class_names = g_new0(gchar *, self->n_classes + 1);
  self->class_colors = g_new(guint8, 3 * self->n_classes);
  for (gint c = 0; c < self->n_classes; c++) {
    self->class_names[c] = g_strdup(classes[c].name);
    memcpy(self->class_colors + 3 * c, classes[c].rgb, 3);
  }
  return TRUE;
}

static gboolean gst_divmbest_stop(GstBaseTransform *trans) {
  release_proposer(GST_DIVMBEST(trans));
  return TRUE;
}

static gboolean gst_divmbest_set_info(GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *in_info,
                                      GstCaps *outcaps, GstVideoInfo *out_info) {
  (void)incaps, (void)outcaps, (void)out_info;
  GstDivMBest *self = GST_DIVMBEST(filter);
  self->layout = gst_segrank_pixel_layout(in_info);
  return TRUE;
}

/* Copies the mapped frame into self->rgb as packed RGB. */
static gboolean frame_to_rgb(GstDivMBest *self, GstVideoFrame *frame) {
  gint w = GST_VIDEO_FRAME_WIDTH(frame), h = GST_VIDEO_FRAME_HEIGHT(frame);
  if (self->rgb.width != w || self->rgb.height != h) {
    sr_image_clear(&self->rgb);
    /* malloc, as sr_image_clear frees with free(). */
    self->rgb = (sr_image){w, h, 3, malloc((size_t)w * h * 3)};
    if (!self->rgb.data) {
      self->rgb.width = self->rgb.height = 0;
      return FALSE;
    }
  }
  const guint8 *src = GST_VIDEO_FRAME_PLANE_DATA(frame, 0);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  sr_pixel_layout l = self->layout;
  for (gint y = 0; y < h; y++) {
    const guint8 *row = src + (gsize)y * stride;
    guint8 *out = self->rgb.data + (gsize)y * w * 3;
    for (gint x = 0; x < w; x++, row += l.pixel_stride, out += 3)
      out[0] = row[l.r], out[1] = row[l.g], out[2] = row[l.b];
  }
  return TRUE;
}

/* Index of the first class whose name differs between the prob meta and the
 * unary model (same count), or -1 when they agree in order. */
static gint first_class_difference(GstDivMBest *self, const GstSrProbMeta *pm) {
  for (gint c = 0; c < self->n_classes; c++)
    if (g_strcmp0(pm->class_names[c], self->class_names[c]) != 0) return c;
  return -1;
}

/* The hybrid term's input: the frame's GstSrProbMeta, when it has one that
 * covers the whole frame with the unary model's classes, named alike and in
 * the same order (a net with another class order would be mixed in
 * class-by-index). */
static gboolean coarse_probs(GstDivMBest *self, GstBuffer *buf, gint fw, gint fh, sr_coarse_probs *out) {
  GstSrProbMeta *pm = gst_buffer_get_sr_prob_meta(buf);
  if (!pm) {
    if (!self->warned_no_prob_meta)
      GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("hybrid-weight is set but the frames carry no class probabilities."),
                          ("no GstSrProbMeta: put segnetinfer upstream; proposing from the unaries alone"));
    self->warned_no_prob_meta = TRUE;
    return FALSE;
  }
  gboolean whole = pm->region.x == 0 && pm->region.y == 0 && pm->region.w == fw && pm->region.h == fh;
  if ((gint)pm->n_classes != self->n_classes || !whole) {
    if (!self->warned_prob_mismatch)
      GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("The class probabilities do not fit the unary model."),
                          ("GstSrProbMeta has %u classes over %dx%d at (%d, %d) of a %dx%d frame, the unary model "
                           "%d classes over the whole frame; proposing from the unaries alone",
                           pm->n_classes, pm->region.w, pm->region.h, pm->region.x, pm->region.y, fw, fh,
                           self->n_classes));
    self->warned_prob_mismatch = TRUE;
    return FALSE;
  }
  gint differ = first_class_difference(self, pm);
  if (differ >= 0) {
    if (!self->warned_class_order)
      GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                          ("The class probabilities are for other classes than the unary model's."),
                          ("class %d is \"%s\" in the probabilities, \"%s\" in the unary model (same count, %d, "
                           "other names or order); proposing from the unaries alone",
                           differ, pm->class_names[differ] ? pm->class_names[differ] : "(null)",
                           self->class_names[differ], self->n_classes));
    self->warned_class_order = TRUE;
    return FALSE;
  }
  *out = (sr_coarse_probs){pm->probs, (int)pm->n_classes, (int)pm->height, (int)pm->width};
  return TRUE;
}

/* Maps the frame read-only (the pixels are never written) and attaches the
 * proposals. */
static GstFlowReturn gst_divmbest_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  GstDivMBest *self = GST_DIVMBEST(trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER(trans);
  if (!filter->negotiated) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("unknown format"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &filter->in_info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, (NULL), ("cannot map the frame"));
    return GST_FLOW_ERROR;
  }
  gboolean copied = frame_to_rgb(self, &frame);
  gst_video_frame_unmap(&frame);
  if (!copied) {
    GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, (NULL), ("out of memory for a %dx%d frame",
                                                             GST_VIDEO_INFO_WIDTH(&filter->in_info),
                                                             GST_VIDEO_INFO_HEIGHT(&filter->in_info)));
    return GST_FLOW_ERROR;
  }

  sr_coarse_probs net;
  gboolean with_net = self->hybrid && coarse_probs(self, buf, self->rgb.width, self->rgb.height, &net);
  sr_proposal_set set;
  sr_proposer_times times;
  sr_error err = {0};
  if (sr_proposer_run(self->proposer, &self->rgb, with_net ? &net : NULL, &set, &times, &err) != SR_OK) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Proposing segmentations failed."), ("%s", err.msg));
    return GST_FLOW_ERROR;
  }
  GstSrProposalMeta *meta = gst_buffer_add_sr_proposal_meta(
      buf, "divmbest", (guint)set.n, (guint)set.width, (guint)set.height, (guint)set.n_classes,
      (const gchar *const *)self->class_names, self->class_colors, set.labels, set.score, set.energy, set.unary,
      set.pairwise, set.rank, set.areas);
  if (meta && set.superpixels) gst_sr_proposal_meta_set_superpixels(meta, (guint)set.n_superpixels, set.superpixels);
  GST_LOG_OBJECT(self,
                 "%dx%d: %d proposals on %d superpixels%s; superpixels %.1f ms, features %.1f ms, unaries %.1f ms, "
                 "CRF %.1f ms (%d max-flows)",
                 set.width, set.height, set.n, set.n_superpixels, with_net ? " (hybrid)" : "", times.superpixels,
                 times.features, times.unaries, times.crf, times.max_flows);
  sr_proposal_set_clear(&set);
  return meta ? GST_FLOW_OK : GST_FLOW_ERROR;
}

static void gst_divmbest_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstDivMBest *self = GST_DIVMBEST(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_UNARY_MODEL:
      g_free(self->prop_unary_model);
      self->prop_unary_model = g_value_dup_string(value);
      break;
    case PROP_NUM_SOLUTIONS:
      self->prop_num_solutions = g_value_get_int(value);
      break;
    case PROP_LAMBDA:
      self->prop_lambda = g_value_get_double(value);
      break;
    case PROP_SUPERPIXELS:
      self->prop_superpixels = g_value_get_int(value);
      break;
    case PROP_PAIRWISE_WEIGHT:
      self->prop_pairwise_weight = g_value_get_double(value);
      break;
    case PROP_THREADS:
      self->prop_threads = g_value_get_int(value);
      break;
    case PROP_HYBRID_WEIGHT:
      self->prop_hybrid_weight = g_value_get_double(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_divmbest_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstDivMBest *self = GST_DIVMBEST(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_UNARY_MODEL:
      g_value_set_string(value, self->prop_unary_model);
      break;
    case PROP_NUM_SOLUTIONS:
      g_value_set_int(value, self->prop_num_solutions);
      break;
    case PROP_LAMBDA:
      g_value_set_double(value, self->prop_lambda);
      break;
    case PROP_SUPERPIXELS:
      g_value_set_int(value, self->prop_superpixels);
      break;
    case PROP_PAIRWISE_WEIGHT:
      g_value_set_double(value, self->prop_pairwise_weight);
      break;
    case PROP_THREADS:
      g_value_set_int(value, self->prop_threads);
      break;
    case PROP_HYBRID_WEIGHT:
      g_value_set_double(value, self->prop_hybrid_weight);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_divmbest_finalize(GObject *object) {
  GstDivMBest *self = GST_DIVMBEST(object);
  release_proposer(self);
  g_free(self->prop_unary_model);
  G_OBJECT_CLASS(gst_divmbest_parent_class)->finalize(object);
}

static void gst_divmbest_class_init(GstDivMBestClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_divmbest_set_property;
  gobject_class->get_property = gst_divmbest_get_property;
  gobject_class->finalize = gst_divmbest_finalize;

  /* The defaults are the library's, so the element and `segrank propose`
   * agree. */
  sr_proposer_params d;
  sr_proposer_params_default(&d);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
  g_object_class_install_property(
      gobject_class, PROP_UNARY_MODEL,
      g_param_spec_string("unary-model", "Unary model",
                          "Path of the .srunary unary classifier (NULL: $SEGRANK_UNARY_MODEL, else the shipped "
                          "default model); its superpixel settings and classes are used",
                          NULL, flags));
  g_object_class_install_property(
      gobject_class, PROP_NUM_SOLUTIONS,
      g_param_spec_int("num-solutions", "Number of solutions",
                       "Proposals per frame (M of DivMBest); fewer when the CRF has fewer distinct labellings", 1,
                       1000, d.num_solutions, flags));
  g_object_class_install_property(
      gobject_class, PROP_LAMBDA,
      g_param_spec_double("lambda", "Lambda",
                          "DivMBest diversity weight: the Hamming-distance bonus, per unit of superpixel area, for "
                          "differing from each earlier solution",
                          0.0, DIVMBEST_MAX_WEIGHT, d.lambda, flags));
  g_object_class_install_property(
      gobject_class, PROP_SUPERPIXELS,
      g_param_spec_int("superpixels", "Superpixels",
                       "Number of SLIC superpixels requested per frame (0: as the unary model was trained)", 0,
                       1000000, d.n_superpixels, flags));
  g_object_class_install_property(
      gobject_class, PROP_PAIRWISE_WEIGHT,
      g_param_spec_double("pairwise-weight", "Pairwise weight",
                          "Weight of the contrast-sensitive Potts term between adjacent superpixels", 0.0,
                          DIVMBEST_MAX_WEIGHT, d.pairwise_weight, flags));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "Worker threads for superpixels and features (0: one per core)", 0,
                       256, d.threads, flags));
  g_object_class_install_property(
      gobject_class, PROP_HYBRID_WEIGHT,
      g_param_spec_double("hybrid-weight", "Hybrid weight",
                          "Weight of SegNet's coarse class probabilities (a GstSrProbMeta from segnetinfer "
                          "upstream) added to the unaries (0: off, the proposals ignore the net)",
                          0.0, DIVMBEST_MAX_WEIGHT, d.hybrid_weight, flags));

  gst_element_class_set_static_metadata(
      element_class, "DivMBest proposals", "Filter/Analyzer/Video",
      "Proposes M diverse segmentations of each frame (SLIC superpixels, a linear unary classifier, a "
      "contrast-sensitive Potts CRF and DivMBest, Batra et al. 2012) and attaches them as a GstSrProposalMeta; "
      "frames pass through unchanged",
      "segrank developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_divmbest_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_divmbest_stop);
  /* Our own transform_ip maps the frame read-only: the pixels are never
   * written, so no copy of shared memory is made. */
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_divmbest_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_divmbest_set_info);

  GST_DEBUG_CATEGORY_INIT(gst_divmbest_debug, "divmbest", 0, "DivMBest proposals");
}

static void gst_divmbest_init(GstDivMBest *self) {
  sr_proposer_params d;
  sr_proposer_params_default(&d);
  self->prop_unary_model = NULL;
  self->prop_num_solutions = d.num_solutions;
  self->prop_lambda = d.lambda;
  self->prop_superpixels = d.n_superpixels;
  self->prop_pairwise_weight = d.pairwise_weight;
  self->prop_threads = d.threads;
  self->prop_hybrid_weight = d.hybrid_weight;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
