/* gstproposalload.h: the proposalload element (frames in, same frames out
 * with a GstSrProposalMeta read from a folder of proposals made by another
 * tool, e.g. `segrank propose`). */
#ifndef GST_PROPOSAL_LOAD_H
#define GST_PROPOSAL_LOAD_H

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

#include "gstsegrankcommon.h"

G_BEGIN_DECLS

/**
 * GstProposalLoadMatch:
 * @GST_PROPOSAL_LOAD_MATCH_INDEX: frame i takes the i-th sub-folder of
 *   `location` in name order
 * @GST_PROPOSAL_LOAD_MATCH_PATTERN: `location` is a pattern with one integer
 *   conversion, as multifilesrc's (e.g. "props/%05d"); frame i takes the
 *   folder it names for start-index + i
 *
 * How frames find their proposal folder. Frames are counted from 0 since
 * the element started; a seek does not change the count.
 */
typedef enum {
  GST_PROPOSAL_LOAD_MATCH_INDEX,
  GST_PROPOSAL_LOAD_MATCH_PATTERN,
} GstProposalLoadMatch;

#define GST_TYPE_PROPOSAL_LOAD_MATCH (gst_proposal_load_match_get_type())
GType gst_proposal_load_match_get_type(void);

/**
 * GstProposalLoadOnError:
 * @GST_PROPOSAL_LOAD_ON_ERROR_ERROR: post an error and stop the stream
 * @GST_PROPOSAL_LOAD_ON_ERROR_WARN: post a warning (once per kind of
 *   problem) and pass the frame without proposals
 * @GST_PROPOSAL_LOAD_ON_ERROR_DROP: post a warning (once per kind of
 *   problem) and drop the frame
 *
 * What a frame whose proposals are missing, of the wrong size or unreadable
 * does.
 */
typedef enum {
  GST_PROPOSAL_LOAD_ON_ERROR_ERROR,
  GST_PROPOSAL_LOAD_ON_ERROR_WARN,
  GST_PROPOSAL_LOAD_ON_ERROR_DROP,
} GstProposalLoadOnError;

#define GST_TYPE_PROPOSAL_LOAD_ON_ERROR (gst_proposal_load_on_error_get_type())
GType gst_proposal_load_on_error_get_type(void);

/**
 * GstProposalLoadClasses:
 * @GST_PROPOSAL_LOAD_CLASSES_CAMVID: CamVid's 11 classes and colours
 * @GST_PROPOSAL_LOAD_CLASSES_VOC: PASCAL VOC's 21 classes and colours
 * @GST_PROPOSAL_LOAD_CLASSES_GENERIC: "class0", "class1"... with the VOC
 *   palette, as many as num-classes
 *
 * The class table that names the label values.
 */
typedef enum {
  GST_PROPOSAL_LOAD_CLASSES_CAMVID,
  GST_PROPOSAL_LOAD_CLASSES_VOC,
  GST_PROPOSAL_LOAD_CLASSES_GENERIC,
} GstProposalLoadClasses;

#define GST_TYPE_PROPOSAL_LOAD_CLASSES (gst_proposal_load_classes_get_type())
GType gst_proposal_load_classes_get_type(void);

#define GST_TYPE_PROPOSAL_LOAD (gst_proposal_load_get_type())
G_DECLARE_FINAL_TYPE(GstProposalLoad, gst_proposal_load, GST, PROPOSAL_LOAD, GstBaseTransform)

struct _GstProposalLoad {
  GstBaseTransform parent;

  /* < private > */
  /* Properties as set (under the object lock). */
  gchar *prop_location;
  GstProposalLoadMatch prop_match;
  gint prop_start_index;
  gint prop_num_classes;
  GstProposalLoadClasses prop_classes;
  gint prop_void_label;
  gint prop_max_proposals;
  GstProposalLoadOnError prop_on_error;

  /* Working state, fixed in start(). */
  gchar *location;
  GstProposalLoadMatch match;
  gint start_index, void_label, max_proposals;
  GstProposalLoadOnError on_error;
  gchar **folders;          /* index matching: the sub-folders in name order */
  guint n_folders;
  gchar *pattern_prefix;    /* pattern matching: prefix, number format, suffix */
  gchar *pattern_suffix;
  gint pattern_width;
  gboolean pattern_zero_pad;
  gint n_classes;
  gchar **class_names;
  guint8 *class_colors;
  GstVideoInfo info;
  gboolean have_info;
  guint64 frame;            /* frames seen since start */
  guint warned;             /* one bit per kind of problem already reported */
};

GST_ELEMENT_REGISTER_DECLARE(proposalload);

G_END_DECLS

#endif
