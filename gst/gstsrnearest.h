/* gstsrnearest.h: nearest-neighbour resampling of label maps, shared by the
 * GstSrProposalMeta scale transform and segoverlay's proposal drawing.
 * Private to the plugin and libgstsegrankmeta: neither installed nor
 * scanned for introspection, and all static inline, so no symbol is
 * exported. */
#ifndef GST_SR_NEAREST_H
#define GST_SR_NEAREST_H

#include <glib.h>

/* Source column (or row) of each of @to destination ones out of @from,
 * nearest-neighbour with pixel centres aligned: floor((d + 1/2) · from / to).
 * Free with g_free(). */
static inline guint *gst_sr_nearest_table(guint from, guint to) {
  guint *t = g_new(guint, MAX(to, 1));
  for (guint d = 0; d < to; d++) t[d] = MIN((guint)(((guint64)2 * d + 1) * from / (2 * (guint64)to)), from - 1);
  return t;
}

/* @src (@sw × @sh labels, row-major) resampled into @dst (@dw × @dh) with the
 * column and row tables of gst_sr_nearest_table(). */
static inline void gst_sr_resample_labels(const guint8 *src, guint sw, const guint *xs, const guint *ys, guint8 *dst,
                                          guint dw, guint dh) {
  for (guint y = 0; y < dh; y++) {
    const guint8 *row = src + (gsize)ys[y] * sw;
    guint8 *out = dst + (gsize)y * dw;
    for (guint x = 0; x < dw; x++) out[x] = row[xs[x]];
  }
}

#endif
