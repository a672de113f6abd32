/* plugin.c: registers the segrank plugin's elements; nothing else. */
#include <gst/gst.h>

#include "gstdivmbest.h"
#include "gstproposalload.h"
#include "gstproposalscore.h"
#include "gstsegnetinfer.h"
#include "gstsegoverlay.h"
#include "gstsvmrerank.h"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ret = FALSE;
  ret |= GST_ELEMENT_REGISTER(segnetinfer, plugin);
  ret |= GST_ELEMENT_REGISTER(segoverlay, plugin);
  ret |= GST_ELEMENT_REGISTER(divmbest, plugin);
  ret |= GST_ELEMENT_REGISTER(proposalload, plugin);
  ret |= GST_ELEMENT_REGISTER(proposalscore, plugin);
  ret |= GST_ELEMENT_REGISTER(svmrerank, plugin);
  return ret;
}

#define PACKAGE "segrank"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, segrank,
                  "Semantic segmentation: SegNet inference and proposal re-ranking (Cogswell et al. 2014)",
                  plugin_init, "0.1.0", "LGPL", "segrank", "https://github.com/segrank/segrank")
