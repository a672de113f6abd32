/* gstproposalscore.h: the proposalscore element (frames in, same frames out
 * with a GstSrSegmentationMeta: the proposal that eq. 17 scores best against
 * the net's coarse distribution, or the net's own output when there are no
 * proposals). */
#ifndef GST_PROPOSAL_SCORE_H
#define GST_PROPOSAL_SCORE_H

#include <gst/video/gstvideofilter.h>

#include "gstsegrankcommon.h"

G_BEGIN_DECLS

#define GST_TYPE_PROPOSAL_SCORE (gst_proposal_score_get_type())
G_DECLARE_FINAL_TYPE(GstProposalScore, gst_proposal_score, GST, PROPOSAL_SCORE, GstVideoFilter)

struct _GstProposalScore {
  GstVideoFilter parent;

  /* < private > */
  /* Properties as set (under the object lock). */
  gint prop_num_proposals;
  gdouble prop_eps;
  gint prop_penalty_class;
  gdouble prop_penalty_weight;

  /* Once-per-stream warnings and notes, reset in start(). */
  gboolean warned_no_proposals, warned_void_proposal, noted_size;
};

GST_ELEMENT_REGISTER_DECLARE(proposalscore);

G_END_DECLS

#endif
