/* gstsegoverlay.c: draws the best segmentation available on each frame:
 * the final segmentation a re-ranker chose (GstSrSegmentationMeta), else
 * the argmax of the GstSrProbMeta's class distribution, upsampled
 * bilinearly to the frame, or (proposal-index ≥ 0) one proposal of the
 * GstSrProposalMeta, as a blend, contours or a plain label map, with an
 * optional legend, on packed RGB or on 4:2:0 Y'CbCr directly; or writes it
 * out as a GRAY8 class-index frame (mode=index). Rows are split between the
 * core's worker threads (backends/cpu/threadpool.h). */

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
 * ## Formats
 *
 * Packed 8-bit RGB (`RGB BGR RGBx BGRx xRGB xBGR RGBA BGRA ARGB ABGR`) and
 * 4:2:0 Y'CbCr (`I420 YV12 NV12 NV21`), drawn in place: no conversion of the
 * frame. For Y'CbCr the class colours are converted once to Y'CbCr with the
 * frame's colorimetry (its matrix, BT.601, BT.709, BT.2020…, and its range,
 * as the caps say; caps without colorimetry get GStreamer's default for the
 * frame size; an unknown matrix is taken as BT.601). Luma is blended per
 * pixel; chroma per 2×2 block with the class of the block's top-left pixel
 * (the top-left one inside the map, at the edge of a partial map), so a
 * class boundary that falls inside a block gets that pixel's chroma on both
 * sides. In `contours` mode a block takes the colour of its first boundary
 * pixel (top-left, top-right, bottom-left, bottom-right). With `alpha` = 1
 * the painted pixels are the class colour in Y'CbCr exactly; on RGB exactly
 * the class colour.
 *
 * ## mode=index
 *
 * Outputs a GRAY8 frame of the same width, height and framerate, whose
 * pixels are class indices (0 … C−1, in the meta's class table): the mask
 * of the same segmentation the other modes draw. 255 marks what is not a
 * drawn class: void labels (≥ C), pixels the net's map does not cover,
 * classes left out by `classes`, and every pixel of a frame without a meta.
 * The frame's own pixels are not passed on; `legend`, `alpha` and `colors`
 * do not apply. Switching to or from `index` while playing renegotiates
 * the caps (downstream must accept GRAY8).
 *
 * ## Classes and colours
 *
 * `classes` draws only the listed classes, a comma-separated list of class
 * names (as the meta names them, case-insensitive) or indices; the pixels
 * of the others are left as they are (index mode: 255). `colors` overrides
 * the meta's palette: comma-separated `CLASS=#RRGGBB` pairs, CLASS a name
 * or an index (the `#` is optional). A malformed entry, or a class the
 * frames' class table does not have, is ignored with a warning naming it
 * (once per value and class table); the other entries apply.
 *
 * ## Threads and GstController
 *
 * The label upsampling and the drawing split the frame's rows between
 * `threads` threads (0: one per core); the result does not depend on the
 * count. `alpha` is controllable: bind a #GstControlSource to it (e.g. with
 * gst_object_add_control_binding() and a direct control binding) for a fade;
 * the value is synced to each buffer's stream time.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 multifilesrc location=frames/%05d.png caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! \
 *     segnetinfer ! segoverlay mode=blend alpha=0.5 legend=true ! videoconvert ! pngenc ! \
 *     multifilesink location=out/%05d.png
 * gst-launch-1.0 ... ! segnetinfer ! segoverlay mode=index ! pngenc ! multifilesink location=out/mask-%05d.png
 * gst-launch-1.0 ... ! segnetinfer ! videoconvert ! video/x-raw,format=NV12 ! \
 *     segoverlay classes=Road,Car,Pedestrian colors=Road=#804080,Car=#ff0000 alpha=0.4 ! ...
 * gst-launch-1.0 ... ! divmbest ! segoverlay proposal-index=0 mode=contours ! ...
 * gst-launch-1.0 ... ! segnetinfer ! divmbest ! proposalscore ! segoverlay threads=2 ! ...
 * ]|
 */
#include "gstsegoverlay.h"

#include <string.h>

#include "backends/cpu/cpu_isa.h"
#include "backends/cpu/threadpool.h"
#include "gstsrnearest.h"
#include "gstsrprobmeta.h"
#include "gstsrproposalmeta.h"
#include "gstsrsegmentationmeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_seg_overlay_debug);
#define GST_CAT_DEFAULT gst_seg_overlay_debug

enum {
  PROP_0,
  PROP_ALPHA,
  PROP_MODE,
  PROP_LEGEND,
  PROP_PROPOSAL_INDEX,
  PROP_CLASSES,
  PROP_COLORS,
  PROP_THREADS,
};

#define PROP_ALPHA_DEFAULT 0.5
#define PROP_MODE_DEFAULT GST_SEG_OVERLAY_MODE_BLEND
#define PROP_LEGEND_DEFAULT FALSE
#define PROP_PROPOSAL_INDEX_DEFAULT -1
#define PROP_THREADS_DEFAULT 0
#define MAX_THREADS 256

/* mode=index: the value of every pixel that is not a drawn class. */
#define INDEX_VOID 255
/* Rows per drawing task: even, so that a task owns whole 4:2:0 chroma rows. */
#define BAND_ROWS 16

/* GST_SEGRANK_VIDEO_FORMATS (packed RGB), plus 4:2:0 Y'CbCr; the source
 * pad adds GRAY8, the output of mode=index. */
#define SINK_FORMATS "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, YV12, NV12, NV21 }"
#define SRC_FORMATS "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, YV12, NV12, NV21, GRAY8 }"

/* A class named in `classes` or `colors`: by index, or by name. */
typedef struct {
  gint index; /* -1: by name */
  gchar *name;
  guint8 rgb[3]; /* `colors` only */
} ClassRef;

/* How one class index is drawn: whether at all, and in which colour
 * (R, G, B, or Y', Cb, Cr on Y'CbCr frames). */
typedef struct {
  guint8 draw;
  guint8 c[3];
} Paint;

/* State of the proposal-index mode, the class selection and palette, the
 * threads and the negotiated format. */
typedef struct {
  gint prop_proposal_index;
  gboolean warned_no_proposal;

  /* Properties, under the object lock: the strings as set, what they parse
   * to (NULL classes: all), and their syntax errors not yet posted. */
  gchar *prop_classes, *prop_colors;
  GPtrArray *classes, *colors;
  gchar *classes_error, *colors_error;
  guint prop_threads;

  /* Streaming thread only. */
  gchar *warned_resolve; /* the settings and class table last warned about */
  sr_pool *pool;
  guint pool_threads; /* the count asked for (0 resolved) */
  gboolean yuv, index_out;
  gdouble kr, kb;                  /* luma coefficients of the frame's matrix */
  gdouble y_off, y_scale, c_scale; /* 8-bit range */
  gfloat *best_p;                  /* per thread: one row of best probabilities */
  gint32 *best_k;                  /* ... and classes */
  gsize best_size;
  gint *xa, *xb; /* horizontal interpolation per column */
  gfloat *xt;
  gsize x_size;
} GstSegOverlayPrivate;

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(SINK_FORMATS)));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(SRC_FORMATS)));

G_DEFINE_TYPE_WITH_PRIVATE(GstSegOverlay, gst_seg_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(segoverlay, "segoverlay", GST_RANK_NONE, GST_TYPE_SEG_OVERLAY);

GType gst_seg_overlay_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SEG_OVERLAY_MODE_BLEND, "Class colours blended over the frame", "blend"},
      {GST_SEG_OVERLAY_MODE_CONTOURS, "Class boundaries drawn over the frame", "contours"},
      {GST_SEG_OVERLAY_MODE_LABELS, "The colour-coded label map alone", "labels"},
      {GST_SEG_OVERLAY_MODE_INDEX, "GRAY8 class indices at the frame's size (255: void or not drawn)", "index"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstSegOverlayMode", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

static GstSegOverlayPrivate *get_priv(GstSegOverlay *self) { return gst_seg_overlay_get_instance_private(self); }

/* ---- `classes` and `colors` ---- */

static void class_ref_free(gpointer p) {
  ClassRef *r = p;
  g_free(r->name);
  g_free(r);
}

/* Parses one class reference: an index (digits) or a name. */
static ClassRef *parse_class_ref(const gchar *s, GString *errors) {
  if (!*s) {
    g_string_append_printf(errors, "%san empty class", errors->len ? "; " : "");
    return NULL;
  }
  ClassRef *r = g_new0(ClassRef, 1);
  r->index = -1;
  if (g_ascii_isdigit(s[0])) {
    guint64 v;
    if (!g_ascii_string_to_unsigned(s, 10, 0, 254, &v, NULL)) {
      g_string_append_printf(errors, "%s\"%s\" is not a class index (0 to 254)", errors->len ? "; " : "", s);
      g_free(r);
      return NULL;
    }
    r->index = (gint)v;
  } else {
    r->name = g_strdup(s);
  }
  return r;
}

/* Parses "#RRGGBB" (the # optional, or 0x) into @rgb. */
static gboolean parse_color(const gchar *s, guint8 rgb[3]) {
  if (s[0] == '#')
    s++;
  else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    s += 2;
  if (strlen(s) != 6) return FALSE;
  for (int i = 0; i < 6; i++)
    if (!g_ascii_isxdigit(s[i])) return FALSE;
  for (int i = 0; i < 3; i++)
    rgb[i] = (guint8)(g_ascii_xdigit_value(s[2 * i]) << 4 | g_ascii_xdigit_value(s[2 * i + 1]));
  return TRUE;
}

/* Parses `classes` (@colors FALSE: "A,B,3") or `colors` ("A=#RRGGBB,3=#RRGGBB")
 * into ClassRefs; NULL for NULL or an empty value. Malformed entries are
 * left out and described in *@error (NULL when there are none). */
static GPtrArray *parse_class_list(const gchar *value, gboolean colors, gchar **error) {
  *error = NULL;
  if (!value) return NULL;
  gchar **items = g_strsplit(value, ",", -1);
  if (!items[0] || (!items[1] && !*g_strstrip(items[0]))) {
    g_strfreev(items);
    return NULL;
  }
  GPtrArray *refs = g_ptr_array_new_with_free_func(class_ref_free);
  GString *errors = g_string_new(NULL);
  for (gchar **it = items; *it; it++) {
    gchar *item = g_strstrip(*it);
    if (!colors) {
      ClassRef *r = parse_class_ref(item, errors);
      if (r) g_ptr_array_add(refs, r);
      continue;
    }
    gchar *eq = strchr(item, '=');
    guint8 rgb[3];
    if (!eq) {
      g_string_append_printf(errors, "%s\"%s\" is not CLASS=#RRGGBB", errors->len ? "; " : "", item);
      continue;
    }
    *eq = '\0';
    gchar *key = g_strstrip(item), *color = g_strstrip(eq + 1);
    if (!parse_color(color, rgb)) {
      g_string_append_printf(errors, "%s\"%s\" for %s is not a colour #RRGGBB (6 hex digits)", errors->len ? "; " : "",
                             color, key);
      continue;
    }
    ClassRef *r = parse_class_ref(key, errors);
    if (!r) continue;
    memcpy(r->rgb, rgb, 3);
    g_ptr_array_add(refs, r);
  }
  g_strfreev(items);
  if (errors->len)
    *error = g_string_free(errors, FALSE);
  else
    g_string_free(errors, TRUE);
  return refs;
}

/* The index @r names in a table of @n classes, -1 when it names none. */
static gint resolve_class_ref(const ClassRef *r, gchar **names, guint n) {
  if (r->index >= 0) return r->index < (gint)n ? r->index : -1;
  for (guint k = 0; k < n; k++) {
    const gchar *name = gst_segrank_class_name(names, k);
    if (name && !g_ascii_strcasecmp(name, r->name)) return (gint)k;
  }
  return -1;
}

static void describe_unresolved(GString *s, const gchar *prop, const ClassRef *r) {
  if (r->index >= 0)
    g_string_append_printf(s, "%s%s: no class %d", s->len ? "; " : "", prop, r->index);
  else
    g_string_append_printf(s, "%s%s: no class named \"%s\"", s->len ? "; " : "", prop, r->name);
}

/* Fills @rgb and @draw (256 entries each) for a class table of @n classes
 * (names @names, colours @colors) from `classes` and `colors`, then posts
 * what does not apply: syntax errors once per value, unknown classes once
 * per value and class table. */
static void resolve_palette(GstSegOverlay *self, gchar **names, const guint8 *colors, guint n, guint8 rgb[256][3],
                            guint8 draw[256]) {
  GstSegOverlayPrivate *priv = get_priv(self);
  memset(draw, 0, 256);
  memset(rgb, 0, 256 * 3);
  for (guint k = 0; k < n && k < 256; k++) memcpy(rgb[k], colors + 3 * k, 3);
  GString *unknown = g_string_new(NULL);
  GST_OBJECT_LOCK(self);
  gchar *syntax_classes = g_steal_pointer(&priv->classes_error), *syntax_colors = g_steal_pointer(&priv->colors_error);
  gchar *value_classes = g_strdup(priv->prop_classes), *value_colors = g_strdup(priv->prop_colors);
  if (!priv->classes)
    memset(draw, 1, MIN(n, 256));
  else
    for (guint i = 0; i < priv->classes->len; i++) {
      const ClassRef *r = g_ptr_array_index(priv->classes, i);
      gint k = resolve_class_ref(r, names, n);
      if (k >= 0)
        draw[k] = 1;
      else
        describe_unresolved(unknown, "classes", r);
    }
  if (priv->colors)
    for (guint i = 0; i < priv->colors->len; i++) {
      const ClassRef *r = g_ptr_array_index(priv->colors, i);
      gint k = resolve_class_ref(r, names, n);
      if (k >= 0)
        memcpy(rgb[k], r->rgb, 3);
      else
        describe_unresolved(unknown, "colors", r);
    }
  GST_OBJECT_UNLOCK(self);

  if (syntax_classes)
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("Bad classes value \"%s\": %s.", value_classes, syntax_classes),
                        ("classes is a comma-separated list of class names or indices; bad entries are ignored"));
  if (syntax_colors)
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("Bad colors value \"%s\": %s.", value_colors, syntax_colors),
                        ("colors is a comma-separated list of CLASS=#RRGGBB, CLASS a name or an index; bad "
                         "entries are ignored"));
  if (unknown->len) {
    gchar *table = gst_segrank_join_class_names(names, n);
    gchar *key =
        g_strdup_printf("%s\n%s\n%s", value_classes ? value_classes : "", value_colors ? value_colors : "", table);
    if (g_strcmp0(key, priv->warned_resolve)) {
      GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("%s (the frames' %u classes: %s).", unknown->str, n, table),
                          ("those entries are ignored"));
      g_free(priv->warned_resolve);
      priv->warned_resolve = g_steal_pointer(&key);
    }
    g_free(key);
    g_free(table);
  }
  g_string_free(unknown, TRUE);
  g_free(syntax_classes);
  g_free(syntax_colors);
  g_free(value_classes);
  g_free(value_colors);
}

/* ---- colour ---- */

/* @rgb in the negotiated Y'CbCr (8-bit, the caps' matrix and range). */
static void rgb_to_ycbcr(const GstSegOverlayPrivate *priv, const guint8 rgb[3], guint8 out[3]) {
  gdouble r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
  gdouble y = priv->kr * r + (1 - priv->kr - priv->kb) * g + priv->kb * b;
  gdouble v[3] = {priv->y_off + priv->y_scale * y, 128 + priv->c_scale * (b - y) / (2 * (1 - priv->kb)),
                  128 + priv->c_scale * (r - y) / (2 * (1 - priv->kr))};
  for (int i = 0; i < 3; i++) out[i] = (guint8)CLAMP((gint)(v[i] + 0.5), 0, 255);
}

static gboolean gst_seg_overlay_set_info(GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *in_info,
                                         GstCaps *outcaps, GstVideoInfo *out_info) {
  (void)incaps, (void)outcaps;
  GstSegOverlay *self = GST_SEG_OVERLAY(filter);
  GstSegOverlayPrivate *priv = get_priv(self);
  priv->yuv = GST_VIDEO_INFO_IS_YUV(in_info);
  priv->index_out = GST_VIDEO_INFO_FORMAT(out_info) == GST_VIDEO_FORMAT_GRAY8;
  if (priv->index_out ? GST_VIDEO_INFO_WIDTH(in_info) != GST_VIDEO_INFO_WIDTH(out_info) ||
                            GST_VIDEO_INFO_HEIGHT(in_info) != GST_VIDEO_INFO_HEIGHT(out_info)
                      : GST_VIDEO_INFO_FORMAT(in_info) != GST_VIDEO_INFO_FORMAT(out_info)) {
    GST_ERROR_OBJECT(self, "cannot output %" GST_PTR_FORMAT " for %" GST_PTR_FORMAT, outcaps, incaps);
    return FALSE;
  }
  if (priv->yuv) {
    if (!gst_video_color_matrix_get_Kr_Kb(in_info->colorimetry.matrix, &priv->kr, &priv->kb))
      priv->kr = 0.299, priv->kb = 0.114; /* unknown: BT.601 */
    gboolean full = in_info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
    priv->y_off = full ? 0 : 16;
    priv->y_scale = full ? 255 : 219;
    priv->c_scale = full ? 255 : 224;
    GST_DEBUG_OBJECT(self, "Y'CbCr with Kr %g, Kb %g, %s range", priv->kr, priv->kb, full ? "full" : "limited");
  } else {
    self->layout = gst_segrank_pixel_layout(in_info);
  }
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(filter), !priv->index_out);
  return TRUE;
}

/* mode=index outputs GRAY8 at the input's size, framerate and aspect; the
 * other modes the input's caps. */
static GstCaps *gst_seg_overlay_transform_caps(GstBaseTransform *trans, GstPadDirection direction, GstCaps *caps,
                                               GstCaps *filter) {
  GstSegOverlay *self = GST_SEG_OVERLAY(trans);
  GST_OBJECT_LOCK(self);
  gboolean index = self->prop_mode == GST_SEG_OVERLAY_MODE_INDEX;
  GST_OBJECT_UNLOCK(self);
  GstCaps *res;
  if (!index) {
    res = gst_caps_ref(caps);
  } else {
    res = gst_caps_new_empty();
    for (guint i = 0; i < gst_caps_get_size(caps); i++) {
      GstStructure *s = gst_structure_copy(gst_caps_get_structure(caps, i));
      GstCapsFeatures *f = gst_caps_get_features(caps, i);
      /* Upstream (direction SRC) any of the sink formats will do: the pad
       * template narrows the missing format field down. */
      gst_structure_remove_fields(s, "format", "colorimetry", "chroma-site", NULL);
      if (direction == GST_PAD_SINK) gst_structure_set(s, "format", G_TYPE_STRING, "GRAY8", NULL);
      res = gst_caps_merge_structure_full(res, s, f ? gst_caps_features_copy(f) : NULL);
    }
  }
  if (filter) {
    GstCaps *t = gst_caps_intersect_full(filter, res, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(res);
    res = t;
  }
  GST_DEBUG_OBJECT(self, "%s %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT, direction == GST_PAD_SINK ? "sink" : "src", caps,
                   res);
  return res;
}

/* GstController: `alpha` follows its control source at the buffer's
 * stream time. */
static void gst_seg_overlay_before_transform(GstBaseTransform *trans, GstBuffer *buf) {
  GstClockTime t = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_TIMESTAMP(buf));
  if (GST_CLOCK_TIME_IS_VALID(t)) gst_object_sync_values(GST_OBJECT(trans), t);
}

/* ---- the legend ---- */

/* Renders the legend (a swatch and a name per drawn class) once per class
 * table, selection and palette. */
static void update_legend(GstSegOverlay *self, gchar **class_names, guint n_classes, guint8 rgb[256][3],
                          const guint8 draw[256]) {
  GString *k = g_string_new(NULL);
  guint n_drawn = 0;
  for (guint c = 0; c < n_classes; c++)
    if (draw[c]) {
      const gchar *name = gst_segrank_class_name(class_names, c);
      g_string_append_printf(k, "%s#%02x%02x%02x\n", name ? name : "?", rgb[c][0], rgb[c][1], rgb[c][2]);
      n_drawn++;
    }
  gchar *key = g_string_free(k, FALSE);
  if (self->legend && !g_strcmp0(key, self->legend_key)) {
    g_free(key);
    return;
  }
  if (self->legend) cairo_surface_destroy(self->legend);
  g_free(self->legend_key);
  self->legend_key = key;
  const int row = 16, pad = 4;
  int w = 140, h = pad * 2 + row * (int)n_drawn;
  self->legend = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create(self->legend);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 11);
  int i = 0;
  for (guint c = 0; c < n_classes; c++) {
    if (!draw[c]) continue;
    const gchar *name = gst_segrank_class_name(class_names, c);
    cairo_set_source_rgb(cr, rgb[c][0] / 255.0, rgb[c][1] / 255.0, rgb[c][2] / 255.0);
    cairo_rectangle(cr, pad, pad + row * i + 2, row - 4, row - 4);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_move_to(cr, pad + row + 2, pad + row * i + row - 4);
    cairo_show_text(cr, name ? name : "?");
    i++;
  }
  cairo_destroy(cr);
  cairo_surface_flush(self->legend);
}

/* Composites the premultiplied ARGB legend into the frame's top-left corner:
 * on RGB per pixel, on Y'CbCr luma per pixel and chroma per 2×2 block from
 * its top-left pixel. */
static void draw_legend(GstSegOverlay *self, GstVideoFrame *frame) {
  GstSegOverlayPrivate *priv = get_priv(self);
  int lw = cairo_image_surface_get_width(self->legend), lh = cairo_image_surface_get_height(self->legend);
  int ls = cairo_image_surface_get_stride(self->legend);
  const guint8 *src = cairo_image_surface_get_data(self->legend);
  int w = MIN(lw, GST_VIDEO_FRAME_WIDTH(frame)), h = MIN(lh, GST_VIDEO_FRAME_HEIGHT(frame));
  guint8 *dst = GST_VIDEO_FRAME_PLANE_DATA(frame, 0); /* packed RGB, or luma */
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  sr_pixel_layout l = self->layout;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint32 argb;
      memcpy(&argb, src + y * ls + 4 * x, 4);
      guint a = argb >> 24, r = (argb >> 16) & 255, g = (argb >> 8) & 255, b = argb & 255;
      if (!priv->yuv) {
        guint8 *p = dst + y * stride + x * l.pixel_stride;
        p[l.r] = (guint8)(r + p[l.r] * (255 - a) / 255);
        p[l.g] = (guint8)(g + p[l.g] * (255 - a) / 255);
        p[l.b] = (guint8)(b + p[l.b] * (255 - a) / 255);
        continue;
      }
      if (!a) continue;
      /* Un-premultiply, convert, blend with the pixel's own alpha. */
      guint8 rgb[3] = {(guint8)MIN(r * 255 / a, 255), (guint8)MIN(g * 255 / a, 255), (guint8)MIN(b * 255 / a, 255)};
      guint8 ycc[3];
      rgb_to_ycbcr(priv, rgb, ycc);
      guint8 *p = dst + y * stride + x;
      *p = (guint8)((ycc[0] * a + *p * (255 - a) + 127) / 255);
      if ((x | y) & 1) continue;
      for (int c = 1; c < 3; c++) {
        guint8 *q = (guint8 *)GST_VIDEO_FRAME_COMP_DATA(frame, c) + (y / 2) * GST_VIDEO_FRAME_COMP_STRIDE(frame, c) +
                    (x / 2) * GST_VIDEO_FRAME_COMP_PSTRIDE(frame, c);
        *q = (guint8)((ycc[c] * a + *q * (255 - a) + 127) / 255);
      }
    }
}

/* ---- the label map, split between threads ---- */

/* One frame's work, shared by the tasks. */
typedef struct {
  GstSegOverlay *self;
  GstSegOverlayPrivate *priv;
  /* the label map of the region (x0, y0, rw × rh) of the frame */
  gint x0, y0, rw, rh;
  guint8 *labels;
  /* from a probability map: C × h × w, horizontal pass into scratch */
  const gfloat *probs;
  gint c, h, w;
  gfloat *scratch;
  gint rows_per_task;
  /* from a full-resolution map resampled nearest-neighbour */
  const guint8 *src;
  guint sw;
  const guint *xs, *ys;
  /* drawing */
  GstVideoFrame *frame; /* the frame drawn in, or the GRAY8 output */
  GstSegOverlayMode mode;
  gint a;              /* alpha × 256 */
  const Paint *paint;  /* per class index */
  const gint (*pc)[4]; /* per class index: its colour × a, and whether drawn */
  const guint8 *index; /* mode=index: the value per class index */
} Job;

/* The interpolation sr_labels_from_probs() (core/image.c) uses: source
 * samples @i0, @i1 and weight @t of destination sample @i, pixel centres
 * aligned. Kept identical, so that the labels are those of the core and of
 * gst_segrank_net_labels() bit for bit. */
static void resize_coord(int i, int src, int dst, int *i0, int *i1, float *t) {
  float x = (i + 0.5f) * src / dst - 0.5f;
  if (x < 0) x = 0;
  int a = (int)x;
  if (a > src - 1) a = src - 1;
  *i0 = a;
  *i1 = a + 1 < src ? a + 1 : a;
  *t = x - a;
}

/* Horizontal pass: rows [task · rows_per_task, …) of the C·h map rows. */
static void xpass_task(void *ctx, int task, int thread) {
  (void)thread;
  const Job *j = ctx;
  const GstSegOverlayPrivate *priv = j->priv;
  gint n = j->c * j->h, r0 = task * j->rows_per_task, r1 = MIN(r0 + j->rows_per_task, n);
  for (gint r = r0; r < r1; r++) {
    const gfloat *row = j->probs + (gsize)r * j->w;
    gfloat *out = j->scratch + (gsize)r * j->rw;
    for (gint x = 0; x < j->rw; x++) out[x] = row[priv->xa[x]] + priv->xt[x] * (row[priv->xb[x]] - row[priv->xa[x]]);
  }
}

/* One class @k of one row: interpolates between map rows @pa and @pb with
 * weight @t and keeps the best so far (@bp, @bk) where @k is better
 * (strictly: ties keep the lower class). Branch-free, for vectorisation. */
static SR_ALWAYS_INLINE void argmax_step_body(const gfloat *restrict pa, const gfloat *restrict pb, float t,
                                              gfloat *restrict bp, gint32 *restrict bk, gint32 k, gint n) {
  for (gint x = 0; x < n; x++) {
    float p = pa[x] + t * (pb[x] - pa[x]), q = bp[x];
    gint32 better = -(gint32)(p > q);
    bp[x] = p > q ? p : q;
    bk[x] = (bk[x] & ~better) | (k & better);
  }
}

/* Compiled for AVX2 and for baseline x86-64, picked by the core's
 * cpu_isa.h (SEGRANK_CPU_ISA overrides); no FMA in either, so the two give
 * the same labels bit for bit. */
SR_TARGET_AVX2 static void argmax_step_avx2(const gfloat *restrict pa, const gfloat *restrict pb, float t,
                                            gfloat *restrict bp, gint32 *restrict bk, gint32 k, gint n) {
  argmax_step_body(pa, pb, t, bp, bk, k, n);
}

static void argmax_step_generic(const gfloat *restrict pa, const gfloat *restrict pb, float t, gfloat *restrict bp,
                                gint32 *restrict bk, gint32 k, gint n) {
  argmax_step_body(pa, pb, t, bp, bk, k, n);
}

static void argmax_step(const gfloat *restrict pa, const gfloat *restrict pb, float t, gfloat *restrict bp,
                        gint32 *restrict bk, gint32 k, gint n) {
  (sr__cpu_isa() >= SR_CPU_ISA_AVX2 ? argmax_step_avx2 : argmax_step_generic)(pa, pb, t, bp, bk, k, n);
}

/* Vertical pass and argmax for label rows [task · BAND_ROWS, …): the classes
 * outer and the pixels inner, so that the compiler vectorises across the
 * row; the comparisons are sr_labels_from_probs()'s, in its order. */
static void ypass_task(void *ctx, int task, int thread) {
  const Job *j = ctx;
  const GstSegOverlayPrivate *priv = j->priv;
  gint rw = j->rw, y1 = MIN((task + 1) * BAND_ROWS, j->rh);
  gfloat *bp = priv->best_p + (gsize)thread * rw;
  gint32 *bk = priv->best_k + (gsize)thread * rw;
  for (gint y = task * BAND_ROWS; y < y1; y++) {
    int a, b;
    float t;
    resize_coord(y, j->h, j->rh, &a, &b, &t);
    for (gint x = 0; x < rw; x++) bp[x] = -1, bk[x] = 0;
    for (gint k = 0; k < j->c; k++)
      argmax_step(j->scratch + ((gsize)k * j->h + a) * rw, j->scratch + ((gsize)k * j->h + b) * rw, t, bp, bk, k, rw);
    guint8 *out = j->labels + (gsize)y * rw;
    for (gint x = 0; x < rw; x++) out[x] = (guint8)bk[x];
  }
}

/* Nearest-neighbour resampling of label rows [task · BAND_ROWS, …). */
static void nearest_task(void *ctx, int task, int thread) {
  (void)thread;
  const Job *j = ctx;
  gint y0 = task * BAND_ROWS, y1 = MIN(y0 + BAND_ROWS, j->rh);
  gst_sr_resample_labels(j->src, j->sw, j->xs, j->ys + y0, j->labels + (gsize)y0 * j->rw, (guint)j->rw,
                         (guint)(y1 - y0));
}

static int n_bands(gint rows) { return (rows + BAND_ROWS - 1) / BAND_ROWS; }

/* Makes room for @n labels in self->labels. */
static void reserve_labels(GstSegOverlay *self, gsize n) {
  if (n <= self->labels_size) return;
  g_free(self->labels);
  self->labels = g_malloc(n);
  self->labels_size = n;
}

/* The pool for `threads` (0: one per core), made anew when that changed. */
static sr_pool *get_pool(GstSegOverlay *self) {
  GstSegOverlayPrivate *priv = get_priv(self);
  GST_OBJECT_LOCK(self);
  guint n = priv->prop_threads;
  GST_OBJECT_UNLOCK(self);
  if (!n) n = MIN(g_get_num_processors(), MAX_THREADS);
  if (!priv->pool || priv->pool_threads != n) {
    g_clear_pointer(&priv->pool, sr_pool_free);
    priv->pool = sr_pool_new((int)n);
    priv->pool_threads = n;
    GST_DEBUG_OBJECT(self, "drawing with %d threads", sr_pool_size(priv->pool));
  }
  return priv->pool;
}

/* The region's labels from the probability map (sr_labels_from_probs(),
 * split between threads). */
static void labels_from_probs(Job *j, sr_pool *pool, const GstSrProbMeta *meta) {
  GstSegOverlay *self = j->self;
  GstSegOverlayPrivate *priv = j->priv;
  j->probs = meta->probs, j->c = (gint)meta->n_classes, j->h = (gint)meta->height, j->w = (gint)meta->width;
  gsize need_scratch = (gsize)j->c * j->h * j->rw;
  if (need_scratch > self->scratch_size) {
    g_free(self->scratch);
    self->scratch = g_malloc(need_scratch * sizeof(gfloat));
    self->scratch_size = need_scratch;
  }
  j->scratch = self->scratch;
  if ((gsize)j->rw > priv->x_size) {
    g_free(priv->xa), g_free(priv->xb), g_free(priv->xt);
    priv->xa = g_new(gint, j->rw), priv->xb = g_new(gint, j->rw), priv->xt = g_new(gfloat, j->rw);
    priv->x_size = (gsize)j->rw;
  }
  for (gint x = 0; x < j->rw; x++) resize_coord(x, j->w, j->rw, &priv->xa[x], &priv->xb[x], &priv->xt[x]);
  gsize need_best = (gsize)sr_pool_size(pool) * j->rw;
  if (need_best > priv->best_size) {
    g_free(priv->best_p), g_free(priv->best_k);
    priv->best_p = g_new(gfloat, need_best), priv->best_k = g_new(gint32, need_best);
    priv->best_size = need_best;
  }
  gint n_rows = j->c * j->h;
  j->rows_per_task = MAX(1, (n_rows + 4 * sr_pool_size(pool) - 1) / (4 * sr_pool_size(pool)));
  sr_pool_run(pool, (n_rows + j->rows_per_task - 1) / j->rows_per_task, xpass_task, j);
  sr_pool_run(pool, n_bands(j->rh), ypass_task, j);
}

/* ---- drawing, per band of frame rows ---- */

/* Whether region pixel (@x, @y) is on a class boundary (its right or lower
 * neighbour has another class) of a drawn class. */
static inline gboolean is_edge(const Job *j, gint x, gint y) {
  const guint8 *l = j->labels + (gsize)y * j->rw + x;
  return j->paint[*l].draw && ((x + 1 < j->rw && l[1] != *l) || (y + 1 < j->rh && l[j->rw] != *l));
}

/* Blends one row of @n pixels of @ps bytes (a constant once inlined). */
static SR_ALWAYS_INLINE void blend_rgb_row(guint8 *restrict p, const guint8 *restrict lab, gint n, gint ps,
                                           sr_pixel_layout l, const gint (*pc)[4], int keep) {
  for (gint x = 0; x < n; x++, p += ps) {
    const gint *c = pc[lab[x]];
    if (!c[3]) continue;
    p[l.r] = (guint8)((p[l.r] * keep + c[0]) >> 8);
    p[l.g] = (guint8)((p[l.g] * keep + c[1]) >> 8);
    p[l.b] = (guint8)((p[l.b] * keep + c[2]) >> 8);
  }
}

static void paint_rgb_rows(const Job *j, gint ya, gint yb) {
  sr_pixel_layout l = j->self->layout;
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE(j->frame, 0);
  for (gint y = ya; y < yb; y++) {
    const guint8 *lab = j->labels + (gsize)(y - j->y0) * j->rw;
    guint8 *p = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(j->frame, 0) + (gsize)y * stride + (gsize)j->x0 * l.pixel_stride;
    if (j->mode != GST_SEG_OVERLAY_MODE_CONTOURS) {
      if (l.pixel_stride == 3)
        blend_rgb_row(p, lab, j->rw, 3, l, j->pc, 256 - j->a);
      else
        blend_rgb_row(p, lab, j->rw, 4, l, j->pc, 256 - j->a);
      continue;
    }
    for (gint x = 0; x < j->rw; x++, p += l.pixel_stride) {
      const Paint *c = &j->paint[lab[x]];
      if (is_edge(j, x, y - j->y0)) p[l.r] = c->c[0], p[l.g] = c->c[1], p[l.b] = c->c[2];
    }
  }
}

/* 4:2:0: luma rows [ya, yb) per pixel, chroma rows [ya/2, yb/2) per 2×2
 * block (ya even, yb even or the frame's last row + 1). */
static void paint_yuv_rows(const Job *j, gint ya, gint yb) {
  GstVideoFrame *f = j->frame;
  int a = j->a, keep = 256 - a;
  gboolean contours = j->mode == GST_SEG_OVERLAY_MODE_CONTOURS;
  gint ry0 = MAX(ya, j->y0), ry1 = MIN(yb, j->y0 + j->rh);
  int ystride = GST_VIDEO_FRAME_COMP_STRIDE(f, 0);
  for (gint y = ry0; y < ry1; y++) {
    const guint8 *lab = j->labels + (gsize)(y - j->y0) * j->rw;
    guint8 *p = (guint8 *)GST_VIDEO_FRAME_COMP_DATA(f, 0) + (gsize)y * ystride + j->x0;
    for (gint x = 0; x < j->rw; x++) {
      const Paint *c = &j->paint[lab[x]];
      if (contours) {
        if (is_edge(j, x, y - j->y0)) p[x] = c->c[0];
      } else if (c->draw) {
        p[x] = (guint8)((p[x] * keep + j->pc[lab[x]][0]) >> 8);
      }
    }
  }
  if (ry0 >= ry1) return;
  guint8 *u = GST_VIDEO_FRAME_COMP_DATA(f, 1), *v = GST_VIDEO_FRAME_COMP_DATA(f, 2);
  int us = GST_VIDEO_FRAME_COMP_STRIDE(f, 1), vs = GST_VIDEO_FRAME_COMP_STRIDE(f, 2);
  int ups = GST_VIDEO_FRAME_COMP_PSTRIDE(f, 1), vps = GST_VIDEO_FRAME_COMP_PSTRIDE(f, 2);
  gint cx0 = j->x0 / 2, cx1 = (j->x0 + j->rw + 1) / 2;
  for (gint cy = ry0 / 2; cy < (ry1 + 1) / 2; cy++) {
    /* The block's rows and columns inside the region, in region coordinates. */
    gint by0 = MAX(2 * cy, j->y0) - j->y0, by1 = MIN(2 * cy + 2, j->y0 + j->rh) - j->y0;
    guint8 *pu = u + (gsize)cy * us, *pv = v + (gsize)cy * vs;
    for (gint cx = cx0; cx < cx1; cx++) {
      gint bx0 = MAX(2 * cx, j->x0) - j->x0, bx1 = MIN(2 * cx + 2, j->x0 + j->rw) - j->x0;
      const Paint *c = NULL;
      if (!contours) {
        c = &j->paint[j->labels[(gsize)by0 * j->rw + bx0]];
        if (!c->draw) continue;
        pu[cx * ups] = (guint8)((pu[cx * ups] * keep + c->c[1] * a) >> 8);
        pv[cx * vps] = (guint8)((pv[cx * vps] * keep + c->c[2] * a) >> 8);
        continue;
      }
      for (gint by = by0; by < by1 && !c; by++)
        for (gint bx = bx0; bx < bx1 && !c; bx++)
          if (is_edge(j, bx, by)) c = &j->paint[j->labels[(gsize)by * j->rw + bx]];
      if (c) pu[cx * ups] = c->c[1], pv[cx * vps] = c->c[2];
    }
  }
}

/* mode=index: GRAY8 rows [ya, yb); 255 outside the region. */
static void paint_index_rows(const Job *j, gint ya, gint yb) {
  GstVideoFrame *f = j->frame;
  gint fw = GST_VIDEO_FRAME_WIDTH(f);
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE(f, 0);
  for (gint y = ya; y < yb; y++) {
    guint8 *o = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(f, 0) + (gsize)y * stride;
    if (!j->labels || y < j->y0 || y >= j->y0 + j->rh) {
      memset(o, INDEX_VOID, fw);
      continue;
    }
    const guint8 *lab = j->labels + (gsize)(y - j->y0) * j->rw;
    memset(o, INDEX_VOID, j->x0);
    for (gint x = 0; x < j->rw; x++) o[j->x0 + x] = j->index[lab[x]];
    memset(o + j->x0 + j->rw, INDEX_VOID, fw - j->x0 - j->rw);
  }
}

static void paint_task(void *ctx, int task, int thread) {
  (void)thread;
  const Job *j = ctx;
  gint fh = GST_VIDEO_FRAME_HEIGHT(j->frame), ya = task * BAND_ROWS, yb = MIN(ya + BAND_ROWS, fh);
  if (j->mode == GST_SEG_OVERLAY_MODE_INDEX)
    paint_index_rows(j, ya, yb);
  else if (j->priv->yuv)
    paint_yuv_rows(j, ya, yb);
  else
    paint_rgb_rows(j, MAX(ya, j->y0), MIN(yb, j->y0 + j->rh));
}

/* ---- per frame ---- */

/* Where the segmentation to draw comes from, and its class table. */
typedef struct {
  const guint8 *labels; /* full-frame map (mw × mh), or NULL: @prob */
  guint mw, mh;
  const GstSrProbMeta *prob;
  gchar **class_names;
  const guint8 *class_colors;
  guint n_classes;
} Source;

/* The segmentation @frame's metas give, as proposal-index says; FALSE when
 * there is none (warned once). */
static gboolean find_source(GstSegOverlay *self, GstBuffer *buf, gint proposal_index, Source *s) {
  GstSegOverlayPrivate *priv = get_priv(self);
  memset(s, 0, sizeof *s);
  if (proposal_index >= 0) {
    GstSrProposalMeta *meta = gst_buffer_get_sr_proposal_meta(buf);
    if (!meta || (guint)proposal_index >= meta->n_proposals) {
      if (!priv->warned_no_proposal) {
        if (!meta)
          GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                              ("proposal-index=%d, but the frames carry no proposals.", proposal_index),
                              ("no GstSrProposalMeta: is divmbest or proposalload upstream? Frames pass unchanged"));
        else
          GST_ELEMENT_WARNING(
              self, STREAM, FORMAT,
              ("proposal-index=%d, but a frame has only %u proposals.", proposal_index, meta->n_proposals),
              ("such frames pass unchanged"));
      }
      priv->warned_no_proposal = TRUE;
      return FALSE;
    }
    gsize n_pixels;
    s->labels = gst_sr_proposal_meta_get_labels(meta, (guint)proposal_index, &n_pixels);
    s->mw = meta->width, s->mh = meta->height;
    s->class_names = meta->class_names, s->class_colors = meta->class_colors, s->n_classes = meta->n_classes;
    return TRUE;
  }
  GstSrSegmentationMeta *final = gst_buffer_get_sr_segmentation_meta(buf);
  if (final) {
    s->labels = final->labels, s->mw = final->width, s->mh = final->height;
    s->class_names = final->class_names, s->class_colors = final->class_colors, s->n_classes = final->n_classes;
    return TRUE;
  }
  GstSrProbMeta *meta = gst_buffer_get_sr_prob_meta(buf);
  if (!meta) {
    if (!self->warned_no_meta) GST_WARNING_OBJECT(self, "frames carry no GstSrProbMeta: is segnetinfer upstream?");
    self->warned_no_meta = TRUE;
    return FALSE;
  }
  s->prob = meta;
  s->class_names = meta->class_names, s->class_colors = meta->class_colors, s->n_classes = meta->n_classes;
  return TRUE;
}

/* Draws the segmentation of @in's metas into @frame (@in itself, or the
 * GRAY8 output of mode=index). */
static GstFlowReturn render(GstSegOverlay *self, GstVideoFrame *in, GstVideoFrame *frame) {
  GstSegOverlayPrivate *priv = get_priv(self);
  GST_OBJECT_LOCK(self);
  gdouble alpha = self->prop_alpha;
  GstSegOverlayMode mode = self->prop_mode;
  gboolean legend = self->prop_legend;
  gint proposal_index = priv->prop_proposal_index;
  GST_OBJECT_UNLOCK(self);
  /* The negotiated caps decide index or not: a mode switched while playing
   * takes effect with the caps it renegotiates. */
  if (priv->index_out)
    mode = GST_SEG_OVERLAY_MODE_INDEX;
  else if (mode == GST_SEG_OVERLAY_MODE_INDEX)
    mode = GST_SEG_OVERLAY_MODE_BLEND;

  gint fw = GST_VIDEO_FRAME_WIDTH(in), fh = GST_VIDEO_FRAME_HEIGHT(in);
  sr_pool *pool = get_pool(self);
  Job j = {.self = self, .priv = priv, .frame = frame, .mode = mode, .a = (gint)(alpha * 256 + 0.5)};
  if (mode == GST_SEG_OVERLAY_MODE_LABELS) j.a = 256;
  Source s;
  if (!find_source(self, in->buffer, proposal_index, &s)) {
    if (mode == GST_SEG_OVERLAY_MODE_INDEX) sr_pool_run(pool, n_bands(fh), paint_task, &j);
    return GST_FLOW_OK;
  }

  /* The palette, in Y'CbCr with the coefficients set_info() took from the
   * caps (a few classes: negligible per frame, and the palette may change
   * with the meta or the properties). */
  guint8 rgb[256][3], draw[256], index[256];
  Paint paint[256];
  gint pc[256][4];
  resolve_palette(self, s.class_names, s.class_colors, s.n_classes, rgb, draw);
  memset(paint, 0, sizeof paint);
  for (int k = 0; k < 256; k++) {
    paint[k].draw = draw[k];
    index[k] = draw[k] ? (guint8)k : INDEX_VOID;
    if (draw[k] && priv->yuv)
      rgb_to_ycbcr(priv, rgb[k], paint[k].c);
    else if (draw[k])
      memcpy(paint[k].c, rgb[k], 3);
    for (int i = 0; i < 3; i++) pc[k][i] = paint[k].c[i] * j.a;
    pc[k][3] = paint[k].draw;
  }
  j.paint = paint, j.index = index, j.pc = (const gint(*)[4])pc;

  guint *xs = NULL, *ys = NULL;
  if (s.labels) {
    j.x0 = j.y0 = 0, j.rw = fw, j.rh = fh;
    if (s.mw == (guint)fw && s.mh == (guint)fh) {
      j.labels = (guint8 *)s.labels;
    } else {
      reserve_labels(self, (gsize)fw * fh);
      j.labels = self->labels;
      xs = gst_sr_nearest_table(s.mw, (guint)fw), ys = gst_sr_nearest_table(s.mh, (guint)fh);
      j.src = s.labels, j.sw = s.mw, j.xs = xs, j.ys = ys;
      sr_pool_run(pool, n_bands(fh), nearest_task, &j);
    }
  } else {
    /* Clip the covered region to the frame. */
    j.x0 = CLAMP(s.prob->region.x, 0, fw), j.y0 = CLAMP(s.prob->region.y, 0, fh);
    j.rw = MIN(s.prob->region.w, fw - j.x0), j.rh = MIN(s.prob->region.h, fh - j.y0);
    if (j.rw > 0 && j.rh > 0) {
      reserve_labels(self, (gsize)j.rw * j.rh);
      j.labels = self->labels;
      labels_from_probs(&j, pool, s.prob);
    } else {
      j.rw = j.rh = 0;
    }
  }
  if (j.labels || mode == GST_SEG_OVERLAY_MODE_INDEX) sr_pool_run(pool, n_bands(fh), paint_task, &j);
  g_free(xs);
  g_free(ys);
  if (legend && mode != GST_SEG_OVERLAY_MODE_INDEX && j.labels) {
    update_legend(self, s.class_names, s.n_classes, rgb, draw);
    draw_legend(self, frame);
  }
  return GST_FLOW_OK;
}

static GstFlowReturn gst_seg_overlay_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame) {
  return render(GST_SEG_OVERLAY(filter), frame, frame);
}

/* Not in place: mode=index (GRAY8 out); otherwise a copy drawn into. */
static GstFlowReturn gst_seg_overlay_transform_frame(GstVideoFilter *filter, GstVideoFrame *in, GstVideoFrame *out) {
  GstSegOverlay *self = GST_SEG_OVERLAY(filter);
  if (get_priv(self)->index_out) return render(self, in, out);
  if (!gst_video_frame_copy(out, in)) return GST_FLOW_ERROR;
  return render(self, out, out);
}

static gboolean gst_seg_overlay_stop(GstBaseTransform *trans) {
  GstSegOverlay *self = GST_SEG_OVERLAY(trans);
  GstSegOverlayPrivate *priv = get_priv(self);
  g_clear_pointer(&self->labels, g_free);
  g_clear_pointer(&self->scratch, g_free);
  self->labels_size = self->scratch_size = 0;
  g_clear_pointer(&self->legend, cairo_surface_destroy);
  g_clear_pointer(&self->legend_key, g_free);
  self->warned_no_meta = FALSE;
  priv->warned_no_proposal = FALSE;
  g_clear_pointer(&priv->warned_resolve, g_free);
  g_clear_pointer(&priv->pool, sr_pool_free);
  priv->pool_threads = 0;
  g_clear_pointer(&priv->best_p, g_free);
  g_clear_pointer(&priv->best_k, g_free);
  priv->best_size = 0;
  g_clear_pointer(&priv->xa, g_free);
  g_clear_pointer(&priv->xb, g_free);
  g_clear_pointer(&priv->xt, g_free);
  priv->x_size = 0;
  return TRUE;
}

/* Sets `classes` or `colors` (@colors): the string, what it parses to, and
 * its syntax errors, posted as a warning with the next frame. */
static void set_class_list(GstSegOverlay *self, const gchar *value, gboolean colors) {
  GstSegOverlayPrivate *priv = get_priv(self);
  gchar *error;
  GPtrArray *refs = parse_class_list(value, colors, &error);
  if (error) GST_WARNING_OBJECT(self, "%s=\"%s\": %s", colors ? "colors" : "classes", value, error);
  gchar **prop = colors ? &priv->prop_colors : &priv->prop_classes,
        **err = colors ? &priv->colors_error : &priv->classes_error;
  GPtrArray **list = colors ? &priv->colors : &priv->classes;
  g_free(*prop);
  *prop = g_strdup(value);
  g_clear_pointer(list, g_ptr_array_unref);
  *list = refs;
  g_free(*err);
  *err = error;
  g_clear_pointer(&priv->warned_resolve, g_free);
}

static void gst_seg_overlay_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstSegOverlay *self = GST_SEG_OVERLAY(object);
  GstSegOverlayPrivate *priv = get_priv(self);
  gboolean reconfigure = FALSE;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_ALPHA:
      self->prop_alpha = g_value_get_double(value);
      break;
    case PROP_MODE: {
      GstSegOverlayMode mode = g_value_get_enum(value);
      reconfigure = (mode == GST_SEG_OVERLAY_MODE_INDEX) != (self->prop_mode == GST_SEG_OVERLAY_MODE_INDEX);
      self->prop_mode = mode;
      break;
    }
    case PROP_LEGEND:
      self->prop_legend = g_value_get_boolean(value);
      break;
    case PROP_PROPOSAL_INDEX:
      priv->prop_proposal_index = g_value_get_int(value);
      break;
    case PROP_CLASSES:
      set_class_list(self, g_value_get_string(value), FALSE);
      break;
    case PROP_COLORS:
      set_class_list(self, g_value_get_string(value), TRUE);
      break;
    case PROP_THREADS:
      priv->prop_threads = g_value_get_uint(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
  /* index or not changes the output caps. */
  if (reconfigure) gst_base_transform_reconfigure_src(GST_BASE_TRANSFORM(self));
}

static void gst_seg_overlay_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstSegOverlay *self = GST_SEG_OVERLAY(object);
  GstSegOverlayPrivate *priv = get_priv(self);
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
      g_value_set_int(value, priv->prop_proposal_index);
      break;
    case PROP_CLASSES:
      g_value_set_string(value, priv->prop_classes);
      break;
    case PROP_COLORS:
      g_value_set_string(value, priv->prop_colors);
      break;
    case PROP_THREADS:
      g_value_set_uint(value, priv->prop_threads);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_seg_overlay_finalize(GObject *object) {
  GstSegOverlay *self = GST_SEG_OVERLAY(object);
  GstSegOverlayPrivate *priv = get_priv(self);
  gst_seg_overlay_stop(GST_BASE_TRANSFORM(object));
  g_free(priv->prop_classes);
  g_free(priv->prop_colors);
  g_clear_pointer(&priv->classes, g_ptr_array_unref);
  g_clear_pointer(&priv->colors, g_ptr_array_unref);
  g_free(priv->classes_error);
  g_free(priv->colors_error);
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
      g_param_spec_double(
          "alpha", "Alpha",
          "Opacity of the class colours in blend mode: 0 leaves the frame as it is, 1 paints the "
          "class colours; controllable (GstController), synced to each buffer's stream time",
          0.0, 1.0, PROP_ALPHA_DEFAULT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_CONTROLLABLE | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode",
                        "How the segmentation is drawn; index outputs GRAY8 class indices at the frame's size "
                        "instead of the frame (255: void, not covered or not among classes); switching to or "
                        "from index while playing renegotiates the caps",
                        GST_TYPE_SEG_OVERLAY_MODE, PROP_MODE_DEFAULT,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property(
      gobject_class, PROP_LEGEND,
      g_param_spec_boolean("legend", "Legend",
                           "Draw a legend of the drawn classes' colours and names in the top-left corner (not in "
                           "index mode)",
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
  g_object_class_install_property(
      gobject_class, PROP_CLASSES,
      g_param_spec_string("classes", "Classes",
                          "The classes to draw, comma-separated class names (case-insensitive) or indices, e.g. "
                          "\"Road,Car,8\"; the other classes' pixels are left as they are (index mode: 255). "
                          "Unset or empty: all. Unknown classes and malformed entries are ignored with a warning",
                          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property(
      gobject_class, PROP_COLORS,
      g_param_spec_string("colors", "Colors",
                          "Colours replacing the meta's class colours, comma-separated CLASS=#RRGGBB, CLASS a "
                          "class name (case-insensitive) or index, e.g. \"Road=#804080,0=#87ceeb\". Unset or "
                          "empty: the meta's. Unknown classes and malformed entries are ignored with a warning",
                          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_uint("threads", "Threads",
                        "Threads the label upsampling and the drawing split each frame's rows between (0: one "
                        "per core); the output does not depend on it",
                        0, MAX_THREADS, PROP_THREADS_DEFAULT,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata(
      element_class, "Segmentation overlay", "Filter/Effect/Video",
      "Draws the segmentation carried by a frame's metas (the final segmentation of proposalscore or "
      "svmrerank, the argmax of segnetinfer's class distribution, upsampled bilinearly, or one proposal of "
      "divmbest or proposalload) in the model's class colours on RGB or 4:2:0 Y'CbCr frames, or outputs it "
      "as a GRAY8 class-index mask",
      "segrank developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->stop = GST_DEBUG_FUNCPTR(gst_seg_overlay_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_seg_overlay_transform_caps);
  trans_class->before_transform = GST_DEBUG_FUNCPTR(gst_seg_overlay_before_transform);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_seg_overlay_set_info);
  filter_class->transform_frame = GST_DEBUG_FUNCPTR(gst_seg_overlay_transform_frame);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_seg_overlay_transform_frame_ip);

  gst_type_mark_as_plugin_api(GST_TYPE_SEG_OVERLAY_MODE, 0);
  GST_DEBUG_CATEGORY_INIT(gst_seg_overlay_debug, "segoverlay", 0, "Segmentation overlay");
}

static void gst_seg_overlay_init(GstSegOverlay *self) {
  self->prop_alpha = PROP_ALPHA_DEFAULT;
  self->prop_mode = PROP_MODE_DEFAULT;
  self->prop_legend = PROP_LEGEND_DEFAULT;
  GstSegOverlayPrivate *priv = get_priv(self);
  priv->prop_proposal_index = PROP_PROPOSAL_INDEX_DEFAULT;
  priv->prop_threads = PROP_THREADS_DEFAULT;
}
