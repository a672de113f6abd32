/* gstdivmbest.h: the divmbest element (frames in, same frames out with a
 * GstSrProposalMeta of M diverse segmentations from DivMBest on a
 * superpixel CRF). */
#ifndef GST_DIVMBEST_H
#define GST_DIVMBEST_H

#include <gst/video/gstvideofilter.h>

#include "gstsegrankcommon.h"

G_BEGIN_DECLS

#define GST_TYPE_DIVMBEST (gst_divmbest_get_type())
G_DECLARE_FINAL_TYPE(GstDivMBest, gst_divmbest, GST, DIVMBEST, GstVideoFilter)

struct _GstDivMBest {
  GstVideoFilter parent;

  /* < private > */
  /* Properties as set (under the object lock). */
  gchar *prop_unary_model;
  gint prop_num_solutions;
  gdouble prop_lambda;
  gint prop_superpixels;
  gdouble prop_pairwise_weight;
  gint prop_threads;
  gdouble prop_hybrid_weight;

  /* Working state, built in start(). */
  sr_unary_model *model;
  sr_proposer *proposer;
  gboolean hybrid;
  gint n_classes;
  gchar **class_names;
  guint8 *class_colors;
  sr_pixel_layout layout;
  sr_image rgb;             /* the frame as packed RGB, reused */
  gboolean warned_no_prob_meta, warned_prob_mismatch, warned_class_order;
};

GST_ELEMENT_REGISTER_DECLARE(divmbest);

G_END_DECLS

#endif
