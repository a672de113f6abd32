/* gstsvmrerank.h: the svmrerank element (frames in, same frames out with a
 * GstSrSegmentationMeta: the proposal a trained linear ranking SVM scores
 * highest, or the net's own output when there are no proposals). */
#ifndef GST_SVM_RERANK_H
#define GST_SVM_RERANK_H

#include <gst/video/gstvideofilter.h>

#include "gstsegrankcommon.h"

G_BEGIN_DECLS

#define GST_TYPE_SVM_RERANK (gst_svm_rerank_get_type())
G_DECLARE_FINAL_TYPE(GstSvmRerank, gst_svm_rerank, GST, SVM_RERANK, GstVideoFilter)

struct _GstSvmRerank {
  GstVideoFilter parent;

  /* < private > */
  /* Properties as set (under the object lock). */
  gchar *prop_ranker;
  gint prop_num_proposals;

  /* Built in start(), freed in stop(). */
  sr_ranker *ranker;
  gchar *ranker_path;   /* the file it was loaded from */
  gchar **class_names;  /* the ranker's classes, NULL-terminated */
  guint n_classes;
  unsigned groups;      /* its feature groups (SR_RERANK_*) */
  gint descriptor_dim;  /* the descriptor length its classifier takes, 0 without */
  gint trained_m;       /* the M it was trained with (its provenance), 0 unknown */

  /* Once-per-stream warnings and notes, reset in start(). */
  gboolean warned_no_proposals, warned_void_proposal, warned_no_output, noted_size, warned_m;
};

GST_ELEMENT_REGISTER_DECLARE(svmrerank);

G_END_DECLS

#endif
