/* gstsegnetinput.c: the net input from a YUV or grey frame in one pass:
 * each component resized bilinearly to the net's size (pixel-centre
 * aligned, as sr_preprocess does for RGB), converted to RGB with the
 * frame's matrix and range, written as planar BGR minus the model's mean.
 * No full-size RGB copy of the frame is ever made. */
#include "gstsegnetinput.h"

#include "segrank.h"

/* One component: where its samples are, its column table and a row of
 * scratch at its own width. */
typedef struct {
  const guint8 *data;
  gint stride, pstride, width, height;
  gint *x0, *x1;
  gfloat *tx;
  gfloat *line;
} Component;

/* Row @y of the output for component @c into @row: the two source rows
 * blended first (contiguous, at the component's width), then sampled along
 * the row. */
static void component_row(const Component *c, int y, int out_h, int out_w, gfloat *row) {
  int y0, y1;
  float ty;
  sr_resize_coord(y, c->height, out_h, &y0, &y1, &ty);
  const guint8 *r0 = c->data + (gsize)y0 * c->stride, *r1 = c->data + (gsize)y1 * c->stride;
  const gint ps = c->pstride;
  gfloat *line = c->line;
  if (ps == 1)
    for (int x = 0; x < c->width; x++) line[x] = r0[x] + ty * (r1[x] - r0[x]);
  else
    for (int x = 0; x < c->width; x++) line[x] = r0[x * ps] + ty * (r1[x * ps] - r0[x * ps]);
  for (int x = 0; x < out_w; x++) row[x] = line[c->x0[x]] + c->tx[x] * (line[c->x1[x]] - line[c->x0[x]]);
}

gboolean gst_segnet_input_from_yuv(const GstVideoFrame *frame, const gfloat mean_bgr[3], gint out_w, gint out_h,
                                   gfloat *out) {
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  gboolean grey = GST_VIDEO_FORMAT_INFO_IS_GRAY(finfo);
  gint n = grey ? 1 : 3;
  if (GST_VIDEO_FORMAT_INFO_BITS(finfo) != 8 || (!grey && !GST_VIDEO_FORMAT_INFO_IS_YUV(finfo)) ||
      (gint)GST_VIDEO_FORMAT_INFO_N_COMPONENTS(finfo) < n)
    return FALSE;
  Component comp[3];
  gsize lines = 0;
  for (gint c = 0; c < n; c++) lines += GST_VIDEO_FRAME_COMP_WIDTH(frame, c);
  gint *tables = g_try_new(gint, (gsize)2 * n * out_w);
  gfloat *ftables = g_try_new(gfloat, (gsize)(n + 3) * out_w + lines);
  if (!tables || !ftables) {
    g_free(tables), g_free(ftables);
    return FALSE;
  }
  gfloat *line = ftables + (gsize)(n + 3) * out_w;
  for (gint c = 0; c < n; c++) {
    Component *k = &comp[c];
    k->data = GST_VIDEO_FRAME_COMP_DATA(frame, c);
    k->stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, c);
    k->pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, c);
    k->width = GST_VIDEO_FRAME_COMP_WIDTH(frame, c);
    k->height = GST_VIDEO_FRAME_COMP_HEIGHT(frame, c);
    k->x0 = tables + (gsize)2 * c * out_w, k->x1 = k->x0 + out_w;
    k->tx = ftables + (gsize)c * out_w;
    k->line = line, line += k->width;
    for (gint x = 0; x < out_w; x++) sr_resize_coord(x, k->width, out_w, &k->x0[x], &k->x1[x], &k->tx[x]);
  }
  /* Y'CbCr to R'G'B' 0..255: with the range's offsets and scales and the
   * matrix's Kr, Kb (BT.601 when unknown); grey is full-range luma. */
  gint offs[4] = {0}, scale[4] = {255, 255, 255, 255};
  gdouble kr = 0.299, kb = 0.114;
  if (!grey) {
    gst_video_color_range_offsets(frame->info.colorimetry.range, finfo, offs, scale);
    if (!gst_video_color_matrix_get_Kr_Kb(frame->info.colorimetry.matrix, &kr, &kb)) kr = 0.299, kb = 0.114;
  }
  const float ys = 255.0f / scale[0], cs = 255.0f / scale[1];
  const float rv = (float)(2 * (1 - kr)), bu = (float)(2 * (1 - kb));
  const float gu = (float)(-2 * (1 - kb) * kb / (1 - kr - kb)), gv = (float)(-2 * (1 - kr) * kr / (1 - kr - kb));
  gfloat *yrow = ftables + (gsize)n * out_w, *urow = yrow + out_w, *vrow = urow + out_w;
  gsize plane = (gsize)out_w * out_h;
  const float mean_b = mean_bgr[0], mean_g = mean_bgr[1], mean_r = mean_bgr[2];
  for (gint y = 0; y < out_h; y++) {
    component_row(&comp[0], y, out_h, out_w, yrow);
    gfloat *ob = out + (gsize)y * out_w, *og = ob + plane, *orr = og + plane;
    if (grey) {
      for (gint x = 0; x < out_w; x++) ob[x] = yrow[x] - mean_bgr[0], og[x] = yrow[x] - mean_bgr[1],
                                      orr[x] = yrow[x] - mean_bgr[2];
      continue;
    }
    component_row(&comp[1], y, out_h, out_w, urow);
    component_row(&comp[2], y, out_h, out_w, vrow);
    for (gint x = 0; x < out_w; x++) {
      float l = (yrow[x] - offs[0]) * ys, u = (urow[x] - offs[1]) * cs, v = (vrow[x] - offs[2]) * cs;
      float r = l + rv * v, g = l + gu * u + gv * v, b = l + bu * u;
      /* Clamped like an 8-bit RGB frame would be. */
      b = b < 0.0f ? 0.0f : b, g = g < 0.0f ? 0.0f : g, r = r < 0.0f ? 0.0f : r;
      ob[x] = (b > 255.0f ? 255.0f : b) - mean_b;
      og[x] = (g > 255.0f ? 255.0f : g) - mean_g;
      orr[x] = (r > 255.0f ? 255.0f : r) - mean_r;
    }
  }
  g_free(tables), g_free(ftables);
  return TRUE;
}
