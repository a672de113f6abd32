/* gstsrclasscolor.h: the class colour lookup the three metas' accessors
 * share. Private to libgstsegrankmeta (static inline, not installed, not
 * scanned for introspection). */
#ifndef GST_SR_CLASS_COLOR_H
#define GST_SR_CLASS_COLOR_H

#include <glib.h>

/* Class @c's RGB from a 3 x @n_classes palette into the non-NULL outs;
 * all 0 and FALSE (with a critical) when @c is not a class (a NULL palette
 * with @n_classes 0 has none). */
static inline gboolean gst_sr_class_color(const guint8 *colors, guint n_classes, guint c, guint8 *r, guint8 *g,
                                          guint8 *b) {
  if (r) *r = 0;
  if (g) *g = 0;
  if (b) *b = 0;
  g_return_val_if_fail(c < n_classes, FALSE);
  if (r) *r = colors[3 * c];
  if (g) *g = colors[3 * c + 1];
  if (b) *b = colors[3 * c + 2];
  return TRUE;
}

#endif
