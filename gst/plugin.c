/* plugin.c: registers the segrank plugin's elements; nothing else. */
#include <gst/gst.h>

#include "gstdivmbest.h"
#include "gstproposalload.h"
#include "gstproposalscore.h"
#include "gstsegnetinfer.h"
#include "gstsegoverlay.h"
#include "gstsvmrerank.h"
#include "sr_config.h"

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
/* The project has no web page: the origin is the package name, as
 * GStreamer allows. The description names exactly the elements above. */
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, segrank,
                  "Semantic segmentation after Cogswell et al. 2014: segnetinfer (SegNet inference), divmbest "
                  "(CRF proposals), proposalload (proposals from files), proposalscore (eq. 17 re-ranking), "
                  "svmrerank (ranking-SVM re-ranking) and segoverlay (drawing)",
                  plugin_init, SR_VERSION, "LGPL", PACKAGE, PACKAGE)
