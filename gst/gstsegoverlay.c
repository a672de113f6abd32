/* gstsegoverlay.c: draws the best segmentation available on each frame:
 * the final segmentation a re-ranker chose (GstSrSegmentationMeta), else
 * the argmax of the GstSrProbMeta's class distribution, upsampled
 * bilinearly to the frame, or (proposal-index ≥ 0) one proposal of the
 * GstSrProposalMeta, as a blend, contours or a plain label map, with an
 * optional legend. */

/**
 * SECTION:element-segoverlay
 * @title: segoverlay
 *
 * Reads the #GstSrProbMeta that `segnetinfer` attached and paints the
 * segmentation into the frame in the model's class colours. Frames without
 * the meta pass unchanged.
 *
 * When the frame carries a #GstSrSegmentationMeta (the final segmentation
 * that `proposalscore` or `svmrerank` chose), that is painted instead, in
 * its class colours, rescaled nearest-neighbour when its map is not the
 * frame's size (void labels are left unpainted).
 *
 * With `proposal-index` = k ≥ 0 it paints instead proposal k of the
 * #GstSrProposalMeta that `divmbest` or `proposalload` attached, in that
 * meta's class colours (void labels are left unpainted). Frames without that
 * meta, or with fewer proposals, pass unchanged (with a warning, once).
 * `proposal-index` takes precedence over a #GstSrSegmentationMeta.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 multifilesrc location=frames/%05d.png caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! \
 *     segnetinfer ! segoverlay mode=blend alpha=0.5 legend=true ! videoconvert ! pngenc ! \
 *     multifilesink location=out/%05d.png
 * gst-launch-1.0 ... ! divmbest ! segoverlay proposal-index=0 mode=contours ! ...
 * gst-launch-1.0 ... ! segnetinfer ! divmbest ! proposalscore ! segoverlay ! ...
 * ]|
 */
#include "gstsegoverlay.h"

#include <string.h>

#include "gstsrnearest.h"
#include "gstsrprobmeta.h"
#include "gstsrproposalmeta.h"
#include "gstsrsegmentationmeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_seg_overlay_debug);
#define GST_CAT_DEFAULT gst_seg_overlay_debug

enum { PROP_0, PROP_ALPHA, PROP_MODE, PROP_LEGEND, PROP_PROPOSAL_INDEX };

#define PROP_ALPHA_DEFAULT 0.5
#define PROP_MODE_DEFAULT GST_SEG_OVERLAY_MODE_BLEND
#define PROP_LEGEND_DEFAULT FALSE
#define PROP_PROPOSAL_INDEX_DEFAULT -1

/* State of the proposal-index mode. */
typedef struct {
  gint prop_proposal_index;
  gboolean warned_no_proposal;
} GstSegOverlayPrivate;

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));

G_DEFINE_TYPE_WITH_PRIVATE(GstSegOverlay, gst_seg_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(segoverlay, "segoverlay", GST_RANK_NONE, GST_TYPE_SEG_OVERLAY);

GType gst_seg_overlay_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SEG_OVERLAY_MODE_BLEND, "Class colours blended over the frame", "blend"},
      {GST_SEG_OVERLAY_MODE_CONTOURS, "Class boundaries drawn over the frame", "contours"},
      {GST_SEG_OVERLAY_MODE_LABELS, "The colour-coded label map alone", "labels"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstSegOverlayMode", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

static gboolean gst_seg_overlay_set_info(GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *in_info,
                                         GstCaps *outcaps, GstVideoInfo *out_info) {
  (void)incaps, (void)outcaps, (void)out_info;
  GstSegOverlay *self = GST_SEG_OVERLAY(filter);
  self->layout = gst_segrank_pixel_layout(in_info);
  return TRUE;
}

/* Renders the legend (a swatch and a name per class) once per class table. */
static void update_legend(GstSegOverlay *self, gchar **class_names, const guint8 *class_colors, guint n_classes) {
  gchar *key = g_strjoinv("\n", class_names);
  if (self->legend && !g_strcmp0(key, self->legend_key)) {
    g_free(key);
    return;
  }
  if (self->legend) cairo_surface_destroy(self->legend);
  g_free(self->legend_key);
  self->legend_key = key;
  const int row = 16, pad = 4;
  int w = 140, h = pad * 2 + row * (int)n_classes;
  self->legend = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create(self->legend);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 11);
  for (guint k = 0; k < n_classes; k++) {
    const guint8 *c = class_colors + 3 * k;
    cairo_set_source_rgb(cr, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0);
    cairo_rectangle(cr, pad, pad + row * k + 2, row - 4, row - 4);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_move_to(cr, pad + row + 2, pad + row * k + row - 4);
    cairo_show_text(cr, class_names[k]);
  }
  cairo_destroy(cr);
  cairo_surface_flush(self->legend);
}

/* Composites the premultiplied ARGB legend into the frame's top-left corner. */
static void draw_legend(GstSegOverlay *self, GstVideoFrame *frame) {
  int lw = cairo_image_surface_get_width(self->legend), lh = cairo_image_surface_get_height(self->legend);
  int ls = cairo_image_surface_get_stride(self->legend);
  const guint8 *src = cairo_image_surface_get_data(self->legend);
  int w = MIN(lw, GST_VIDEO_FRAME_WIDTH(frame)), h = MIN(lh, GST_VIDEO_FRAME_HEIGHT(frame));
  guint8 *dst = GST_VIDEO_FRAME_PLANE_DATA(frame, 0);
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  sr_pixel_layout l = self->layout;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint32 argb;
      memcpy(&argb, src + y * ls + 4 * x, 4);
      guint a = argb >> 24, r = (argb >> 16) & 255, g = (argb >> 8) & 255, b = argb & 255;
      guint8 *p = dst + y * stride + x * l.pixel_stride;
      p[l.r] = (guint8)(r + p[l.r] * (255 - a) / 255);
      p[l.g] = (guint8)(g + p[l.g] * (255 - a) / 255);
      p[l.b] = (guint8)(b + p[l.b] * (255 - a) / 255);
    }
}

/* Makes room for @n labels in self->labels. */
static void reserve_labels(GstSegOverlay *self, gsize n) {
  if (n <= self->labels_size) return;
  g_free(self->labels);
  self->labels = g_malloc(n);
  self->labels_size = n;
}

/* Paints the @rw × @rh label map @labels into the frame at (@x0, @y0) as
 * @mode says; labels ≥ @n_classes (void) are left unpainted. */
static void paint_labels(GstSegOverlay *self, GstVideoFrame *frame, gint x0, gint y0, gint rw, gint rh,
                         const guint8 *labels, const guint8 *class_colors, guint n_classes, GstSegOverlayMode mode,
                         gdouble alpha) {
  sr_pixel_layout l = self->layout;
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  guint8 *base = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(frame, 0) + (gsize)y0 * stride + (gsize)x0 * l.pixel_stride;
  const guint8(*colors)[3] = (const guint8(*)[3])class_colors;
  switch (mode) {
    case GST_SEG_OVERLAY_MODE_BLEND:
      sr_blend_labels(base, rw, rh, stride, l, labels, colors, (int)n_classes, (float)alpha);
      break;
    case GST_SEG_OVERLAY_MODE_LABELS:
      sr_blend_labels(base, rw, rh, stride, l, labels, colors, (int)n_classes, 1.0f);
      break;
    case GST_SEG_OVERLAY_MODE_CONTOURS:
      for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++) {
          guint8 k = labels[y * rw + x];
          gboolean edge = (x + 1 < rw && labels[y * rw + x + 1] != k) || (y + 1 < rh && labels[(y + 1) * rw + x] != k);
          if (!edge || k >= n_classes) continue;
          guint8 *p = base + (gsize)y * stride + (gsize)x * l.pixel_stride;
          p[l.r] = colors[k][0], p[l.g] = colors[k][1], p[l.b] = colors[k][2];
        }
      break;
  }
}

/* Paints the @mw × @mh map @labels over the whole frame, resampled
 * nearest-neighbour when it is not the frame's size, and the legend. */
static void paint_full_frame(GstSegOverlay *self, GstVideoFrame *frame, const guint8 *labels, guint mw, guint mh,
                             gchar **class_names, const guint8 *class_colors, guint n_classes,
                             GstSegOverlayMode mode, gdouble alpha, gboolean legend) {
  gint fw = GST_VIDEO_FRAME_WIDTH(frame), fh = GST_VIDEO_FRAME_HEIGHT(frame);
  if ((gint)mw != fw || (gint)mh != fh) {
    reserve_labels(self, (gsize)fw * fh);
    guint *xs = gst_sr_nearest_table(mw, (guint)fw), *ys = gst_sr_nearest_table(mh, (guint)fh);
    gst_sr_resample_labels(labels, mw, xs, ys, self->labels, (guint)fw, (guint)fh);
    g_free(xs);
    g_free(ys);
    labels = self->labels;
  }
  paint_labels(self, frame, 0, 0, fw, fh, labels, class_colors, n_classes, mode, alpha);
  if (legend) {
    update_legend(self, class_names, class_colors, n_classes);
    draw_legend(self, frame);
  }
}

/* proposal-index ≥ 0: paints proposal @index of the frame's proposal meta,
 * resampled nearest-neighbour when its maps are not the frame's size. */
static GstFlowReturn draw_proposal(GstSegOverlay *self, GstVideoFrame *frame, gint index, GstSegOverlayMode mode,
                                   gdouble alpha, gboolean legend) {
  GstSegOverlayPrivate *priv = gst_seg_overlay_get_instance_private(self);
  GstSrProposalMeta *meta = gst_buffer_get_sr_proposal_meta(frame->buffer);
  if (!meta || (guint)index >= meta->n_proposals) {
    if (!priv->warned_no_proposal) {
      if (!meta)
        GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("proposal-index=%d, but the frames carry no proposals.", index),
                            ("no GstSrProposalMeta: is divmbest or proposalload upstream? Frames pass unchanged"));
      else
        GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("proposal-index=%d, but a frame has only %u proposals.", index,
                                                   meta->n_proposals),
                            ("such frames pass unchanged"));
    }
    priv->warned_no_proposal = TRUE;
    return GST_FLOW_OK;
  }
  gsize n_pixels;
  const guint8 *labels = gst_sr_proposal_meta_get_labels(meta, (guint)index, &n_pixels);
  paint_full_frame(self, frame, labels, meta->width, meta->height, meta->class_names, meta->class_colors,
                   meta->n_classes, mode, alpha, legend);
  return GST_FLOW_OK;
}

static GstFlowReturn gst_seg_overlay_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame) {
  GstSegOverlay *self = GST_SEG_OVERLAY(filter);
  GstSegOverlayPrivate *priv = gst_seg_overlay_get_instance_private(self);
  GST_OBJECT_LOCK(self);
  gdouble alpha = self->prop_alpha;
  GstSegOverlayMode mode = self->prop_mode;
  gboolean legend = self->prop_legend;
  gint proposal_index = priv->prop_proposal_index;
  GST_OBJECT_UNLOCK(self);
  if (proposal_index >= 0) return draw_proposal(self, frame, proposal_index, mode, alpha, legend);
  GstSrSegmentationMeta *final = gst_buffer_get_sr_segmentation_meta(frame->buffer);
  if (final) {
    paint_full_frame(self, frame, final->labels, final->width, final->height, final->class_names,
                     final->class_colors, final->n_classes, mode, alpha, legend);
    return GST_FLOW_OK;
  }

  GstSrProbMeta *meta = gst_buffer_get_sr_prob_meta(frame->buffer);
  if (!meta) {
    if (!self->warned_no_meta) GST_WARNING_OBJECT(self, "frames carry no GstSrProbMeta: is segnetinfer upstream?");
    self->warned_no_meta = TRUE;
    return GST_FLOW_OK;
  }

  /* Clip the covered region to the frame. */
  gint fw = GST_VIDEO_FRAME_WIDTH(frame), fh = GST_VIDEO_FRAME_HEIGHT(frame);
  gint x0 = CLAMP(meta->region.x, 0, fw), y0 = CLAMP(meta->region.y, 0, fh);
  gint rw = MIN(meta->region.w, fw - x0), rh = MIN(meta->region.h, fh - y0);
  if (rw <= 0 || rh <= 0) return GST_FLOW_OK;
  gsize need_scratch = (gsize)meta->n_classes * meta->height * rw;
  reserve_labels(self, (gsize)rw * rh);
  if (need_scratch > self->scratch_size) {
    g_free(self->scratch);
    self->scratch = g_malloc(need_scratch * sizeof(gfloat));
    self->scratch_size = need_scratch;
  }
  sr_labels_from_probs(meta->probs, (int)meta->n_classes, (int)meta->height, (int)meta->width, rw, rh, self->labels,
                       self->scratch);
  paint_labels(self, frame, x0, y0, rw, rh, self->labels, meta->class_colors, meta->n_classes, mode, alpha);
  if (legend) {
    update_legend(self, meta->class_names, meta->class_colors, meta->n_classes);
    draw_legend(self, frame);
  }
  return GST_FLOW_OK;
}

static gboolean gst_seg_overlay_stop(GstBaseTransform *trans) {
  GstSegOverlay *self = GST_SEG_OVERLAY(trans);
  g_clear_pointer(&self->labels, g_free);
  g_clear_pointer(&self->scratch, g_free);
  self->labels_size = self->scratch_size = 0;
  g_clear_pointer(&self->legend, cairo_surface_destroy);
  g_clear_pointer(&self->legend_key, g_free);
  self->warned_no_meta = FALSE;
  ((GstSegOverlayPrivate *)gst_seg_overlay_get_instance_private(self))->warned_no_proposal = FALSE;
  return TRUE;
}

static void gst_seg_overlay_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstSegOverlay *self = GST_SEG_OVERLAY(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_ALPHA:
      self->prop_alpha = g_value_get_double(value);
      break;
    case PROP_MODE:
      self->prop_mode = g_value_get_enum(value);
      break;
    case PROP_LEGEND:
      self->prop_legend = g_value_get_boolean(value);
      break;
    case PROP_PROPOSAL_INDEX:
      ((GstSegOverlayPrivate *)gst_seg_overlay_get_instance_private(self))->prop_proposal_index =
          g_value_get_int(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_seg_overlay_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstSegOverlay *self = GST_SEG_OVERLAY(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_ALPHA:
      g_value_set_double(value, self->prop_alpha);
      break;
    case PROP_MODE:
      g_value_set_enum(value, self->prop_mode);
      break;
    case PROP_LEGEND:
      g_value_set_boolean(value, self->prop_legend);
      break;
    case PROP_PROPOSAL_INDEX:
      g_value_set_int(value,
                      ((GstSegOverlayPrivate *)gst_seg_overlay_get_instance_private(self))->prop_proposal_index);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_seg_overlay_finalize(GObject *object) {
  gst_seg_overlay_stop(GST_BASE_TRANSFORM(object));
  G_OBJECT_CLASS(gst_seg_overlay_parent_class)->finalize(object);
}

static void gst_seg_overlay_class_init(GstSegOverlayClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_seg_overlay_set_property;
  gobject_class->get_property = gst_seg_overlay_get_property;
  gobject_class->finalize = gst_seg_overlay_finalize;

  g_object_class_install_property(
      gobject_class, PROP_ALPHA,
      g_param_spec_double("alpha", "Alpha", "Opacity of the class colours in blend mode", 0.0, 1.0,
                          PROP_ALPHA_DEFAULT,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode", "How the segmentation is drawn", GST_TYPE_SEG_OVERLAY_MODE,
                        PROP_MODE_DEFAULT, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property(
      gobject_class, PROP_LEGEND,
      g_param_spec_boolean("legend", "Legend", "Draw a legend of class colours and names in the top-left corner",
                           PROP_LEGEND_DEFAULT,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property(
      gobject_class, PROP_PROPOSAL_INDEX,
      g_param_spec_int("proposal-index", "Proposal index",
                       "-1: draw the final segmentation of proposalscore or svmrerank when the frame has one, "
                       "else the argmax of segnetinfer's class distribution; k >= 0: draw proposal k of the "
                       "GstSrProposalMeta from divmbest or proposalload (k in the meta's order: rank order for "
                       "divmbest, file-name order for proposalload)",
                       -1, 1000000, PROP_PROPOSAL_INDEX_DEFAULT,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata(
      element_class, "Segmentation overlay", "Filter/Effect/Video",
      "Draws the segmentation carried by a frame's metas (the final segmentation of proposalscore or "
      "svmrerank, the argmax of segnetinfer's class distribution, upsampled bilinearly, or one proposal of "
      "divmbest or proposalload) in the model's class colours",
      "segrank developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->stop = GST_DEBUG_FUNCPTR(gst_seg_overlay_stop);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_seg_overlay_set_info);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_seg_overlay_transform_frame_ip);

  gst_type_mark_as_plugin_api(GST_TYPE_SEG_OVERLAY_MODE, 0);
  GST_DEBUG_CATEGORY_INIT(gst_seg_overlay_debug, "segoverlay", 0, "Segmentation overlay");
}

static void gst_seg_overlay_init(GstSegOverlay *self) {
  self->prop_alpha = PROP_ALPHA_DEFAULT;
  self->prop_mode = PROP_MODE_DEFAULT;
  self->prop_legend = PROP_LEGEND_DEFAULT;
  ((GstSegOverlayPrivate *)gst_seg_overlay_get_instance_private(self))->prop_proposal_index =
      PROP_PROPOSAL_INDEX_DEFAULT;
}
