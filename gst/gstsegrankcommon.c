/* gstsegrankcommon.c: backend enum registration and pixel layouts. */
#include "gstsegrankcommon.h"

GType gst_segrank_backend_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SEGRANK_BACKEND_AUTO, "Vulkan on a real GPU, otherwise cpu", "auto"},
      {GST_SEGRANK_BACKEND_CPU, "CPU: Winograd and im2col convolutions on OpenBLAS sgemm", "cpu"},
      {GST_SEGRANK_BACKEND_REF, "Reference loops (test oracle, slow)", "ref"},
      {GST_SEGRANK_BACKEND_VULKAN, "Vulkan compute shaders", "vulkan"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstSegrankBackend", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

const gchar *gst_segrank_backend_name(GstSegrankBackend b) {
  switch (b) {
    case GST_SEGRANK_BACKEND_CPU: return "cpu";
    case GST_SEGRANK_BACKEND_REF: return "ref";
    case GST_SEGRANK_BACKEND_VULKAN: return "vulkan";
    default: return "auto";
  }
}

sr_pixel_layout gst_segrank_pixel_layout(const GstVideoInfo *info) {
  const GstVideoFormatInfo *f = info->finfo;
  /* For packed RGB formats each component's offset is its byte position. */
  sr_pixel_layout l = {GST_VIDEO_FORMAT_INFO_PSTRIDE(f, 0), GST_VIDEO_FORMAT_INFO_POFFSET(f, 0),
                       GST_VIDEO_FORMAT_INFO_POFFSET(f, 1), GST_VIDEO_FORMAT_INFO_POFFSET(f, 2)};
  return l;
}
