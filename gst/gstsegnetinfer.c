/* gstsegnetinfer.c: runs the paper's SegNet on every frame and attaches the
 * coarse class distribution, and the frame's image descriptor (conv5 pooled,
 * for svmrerank), as a GstSrProbMeta; the frame itself passes through
 * unchanged. */

/**
 * SECTION:element-segnetinfer
 * @title: segnetinfer
 *
 * Resizes each frame to the net's input size, converts it to BGR minus the
 * model's mean, runs SegNet (CaffeNet conv1-5 + conv6-8, Cogswell et al.
 * 2014) and attaches the C × h × w softmax output as a #GstSrProbMeta.
 *
 * With `descriptor` (the default) the meta also carries the frame's image
 * descriptor: the net's conv5 output (after relu5) pooled over the map, per
 * channel its mean and its maximum (2 × 256 floats, at any input size;
 * sr_image_descriptor). `svmrerank` needs it when its ranker uses the
 * classification features. Its cost is small (counted, not timed): at the
 * shipped model's 480 × 360 input the conv5 map (256 × 22 × 29 floats, 638
 * KiB; 256 × 13 × 13 at the paper's 227) is copied out of the net once per
 * frame and pooled in about 2 × 163 k operations, against the forward
 * pass's 5.4 GFLOP (sr_net_step_flops), and the meta grows by 2 KiB; on a
 * GPU backend the copy adds one synchronisation in the middle of the pass.
 * Set `descriptor=false` when nothing downstream reads it. A model without
 * a conv5 layer gets no descriptor (a warning).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 multifilesrc location=frames/%05d.png caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! \
 *     segnetinfer ! segoverlay ! videoconvert ! pngenc ! multifilesink location=out/%05d.png
 * ]|
 */
#include "gstsegnetinfer.h"

#include "gstsrprobmeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_segnet_infer_debug);
#define GST_CAT_DEFAULT gst_segnet_infer_debug

enum { PROP_0, PROP_MODEL, PROP_BACKEND, PROP_INPUT_SIZE, PROP_THREADS, PROP_BATCH_SIZE, PROP_DESCRIPTOR };

#define PROP_MODEL_DEFAULT NULL
#define PROP_BACKEND_DEFAULT GST_SEGRANK_BACKEND_AUTO
#define PROP_INPUT_SIZE_DEFAULT "0"
#define PROP_THREADS_DEFAULT 0
#define PROP_BATCH_SIZE_DEFAULT 1
#define PROP_DESCRIPTOR_DEFAULT TRUE

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_SEGRANK_VIDEO_FORMATS)));

G_DEFINE_TYPE(GstSegnetInfer, gst_segnet_infer, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(segnetinfer, "segnetinfer", GST_RANK_NONE, GST_TYPE_SEGNET_INFER);

static void drop_queued(GstSegnetInfer *self) {
  GstBuffer *b;
  while ((b = g_queue_pop_head(&self->pending))) gst_buffer_unref(b);
  while ((b = g_queue_pop_head(&self->ready))) gst_buffer_unref(b);
}

static void release_net(GstSegnetInfer *self) {
  drop_queued(self);
  sr_net_free(self->net);
  sr_backend_free(self->backend);
  sr_model_free(self->model);
  self->net = NULL, self->backend = NULL, self->model = NULL;
  sr_tensor_clear(&self->input);
  sr_tensor_clear(&self->probs);
  g_strfreev(self->class_names);
  g_free(self->class_colors);
  self->class_names = NULL, self->class_colors = NULL;
  g_free(self->descriptor_buf);
  self->descriptor_buf = NULL, self->descriptor_len = 0;
}

static gboolean gst_segnet_infer_start(GstBaseTransform *trans) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  GST_OBJECT_LOCK(self);
  gchar *path = g_strdup(self->prop_model ? self->prop_model : sr_default_model_path());
  GstSegrankBackend backend = self->prop_backend;
  gint size_w = self->prop_input_w, size_h = self->prop_input_h, threads = self->prop_threads;
  self->batch = self->prop_batch_size;
  self->descriptor = self->prop_descriptor;
  self->started = TRUE;
  GST_OBJECT_UNLOCK(self);
  self->warned_descriptor = FALSE;

  sr_error err = {0};
  if (sr_model_load(path, &self->model, &err) != SR_OK) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Could not load the SegNet model \"%s\".", path), ("%s", err.msg));
    g_free(path);
    return FALSE;
  }
  GST_INFO_OBJECT(self, "loaded %s: %d classes, input %dx%d", path, self->model->n_classes, self->model->input_w,
                  self->model->input_h);
  g_free(path);
  if (sr_backend_new(gst_segrank_backend_name(backend), threads, &self->backend, &err) != SR_OK ||
      sr_net_new(self->model, self->backend, &self->net, &err) != SR_OK) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Could not set up the compute backend."), ("%s", err.msg));
    release_net(self);
    return FALSE;
  }
  GST_INFO_OBJECT(self, "backend %s (backend=%s), %d threads", sr_backend_name(self->backend),
                  gst_segrank_backend_name(backend), sr_backend_threads(self->backend));
  if (self->descriptor && sr_net_set_tap(self->net, SR_IMAGE_DESCRIPTOR_LAYER, &err) != SR_OK) {
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("The model cannot give an image descriptor: none is attached."),
                        ("%s (the descriptor pools layer %s; set descriptor=false to silence this)", err.msg,
                         SR_IMAGE_DESCRIPTOR_LAYER));
    self->descriptor = FALSE;
  }
  self->in_w = size_w > 0 ? size_w : self->model->input_w;
  self->in_h = size_h > 0 ? size_h : self->model->input_h;
  int oh, ow;
  if (sr_model_output_size(self->model, self->in_h, self->in_w, &oh, &ow) != SR_OK) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("input-size %dx%d is too small for the net.", self->in_w, self->in_h),
                      (NULL));
    release_net(self);
    return FALSE;
  }
  if (sr_tensor_alloc(&self->input, self->batch, 3, self->in_h, self->in_w) != SR_OK) {
    GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT,
                      ("Out of memory for the net input: input-size %dx%d x batch-size %d.", self->in_w, self->in_h,
                       self->batch),
                      ("%d x 3 x %d x %d floats could not be allocated; lower input-size or batch-size", self->batch,
                       self->in_h, self->in_w));
    release_net(self);
    return FALSE;
  }
  self->class_names = g_new0(gchar *, self->model->n_classes + 1);
  self->class_colors = g_new(guint8, 3 * self->model->n_classes);
  for (int i = 0; i < self->model->n_classes; i++) {
    self->class_names[i] = g_strdup(self->model->classes[i].name);
    memcpy(self->class_colors + 3 * i, self->model->classes[i].rgb, 3);
  }
  return TRUE;
}

static gboolean gst_segnet_infer_stop(GstBaseTransform *trans) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  release_net(self);
  GST_OBJECT_LOCK(self);
  self->started = FALSE;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_segnet_infer_set_info(GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *in_info,
                                          GstCaps *outcaps, GstVideoInfo *out_info) {
  (void)incaps, (void)outcaps, (void)out_info;
  GstSegnetInfer *self = GST_SEGNET_INFER(filter);
  self->layout = gst_segrank_pixel_layout(in_info);
  return TRUE;
}

/* Preprocesses frame @slot of the input batch from @buf (read-only map). */
static gboolean load_frame(GstSegnetInfer *self, GstBuffer *buf, int slot, gint *fw, gint *fh) {
  GstVideoFilter *filter = GST_VIDEO_FILTER(self);
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &filter->in_info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, (NULL), ("cannot map the frame"));
    return FALSE;
  }
  *fw = GST_VIDEO_FRAME_WIDTH(&frame), *fh = GST_VIDEO_FRAME_HEIGHT(&frame);
  sr_preprocess(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0), *fw, *fh, GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0),
                self->layout, self->model->mean_bgr, self->in_w, self->in_h,
                self->input.data + (size_t)slot * 3 * self->in_w * self->in_h);
  gst_video_frame_unmap(&frame);
  return TRUE;
}

/* Pools batch item @i of the tapped conv5 map into @meta's descriptor;
 * warns once when it cannot. */
static void attach_descriptor(GstSegnetInfer *self, GstSrProbMeta *meta, int i) {
  const sr_tensor *conv5 = sr_net_tap(self->net);
  const gchar *why = NULL;
  if (!conv5 || conv5->n <= i) {
    why = "the net returned no conv5 map";
  } else {
    int len = sr_image_descriptor_dims(conv5);
    if (len != self->descriptor_len) {
      g_free(self->descriptor_buf);
      self->descriptor_buf = g_new(gfloat, len);
      self->descriptor_len = len;
    }
    sr_image_descriptor(conv5, i, self->descriptor_buf);
    if (!gst_sr_prob_meta_set_descriptor(meta, (guint)len, self->descriptor_buf))
      why = "the pooled conv5 features are not finite";
  }
  if (why && !self->warned_descriptor)
    GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Some frames carry no image descriptor."),
                        ("%s; those frames' GstSrProbMeta has none", why));
  self->warned_descriptor = self->warned_descriptor || why;
}

/* Runs the net on @n frames (the batch, or a shorter last one) and attaches
 * each frame's meta. */
static GstFlowReturn infer(GstSegnetInfer *self, GstBuffer **bufs, int n) {
  if (!GST_VIDEO_FILTER(self)->negotiated) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("unknown format"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  gint fw = 0, fh = 0;
  for (int i = 0; i < n; i++)
    if (!load_frame(self, bufs[i], i, &fw, &fh)) return GST_FLOW_ERROR;
  sr_tensor input = self->input;
  input.n = n;
  sr_error err = {0};
  if (sr_net_forward(self->net, &input, &self->probs, &err) != SR_OK) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("SegNet forward pass failed."), ("%s", err.msg));
    return GST_FLOW_ERROR;
  }
  size_t per = (size_t)self->probs.c * self->probs.h * self->probs.w;
  for (int i = 0; i < n; i++) {
    GstSrProbMeta *meta = gst_buffer_add_sr_prob_meta(bufs[i], self->probs.c, self->probs.w, self->probs.h,
                                                      self->probs.data + i * per,
                                                      (const gchar *const *)self->class_names, self->class_colors, fw,
                                                      fh);
    meta->input_width = self->in_w, meta->input_height = self->in_h;
    if (self->descriptor) attach_descriptor(self, meta, i);
  }
  GST_LOG_OBJECT(self, "%d frame(s) %dx%d -> %u classes x %ux%u", n, fw, fh, self->probs.c, self->probs.w,
                 self->probs.h);
  return GST_FLOW_OK;
}

/* batch-size 1: frames pass straight through (read-only map, no copy). */
static GstFlowReturn gst_segnet_infer_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  return infer(GST_SEGNET_INFER(trans), &buf, 1);
}

/* Runs the frames waiting in `pending` and moves them to `ready`. */
static GstFlowReturn run_pending(GstSegnetInfer *self) {
  int n = (int)g_queue_get_length(&self->pending);
  if (n == 0) return GST_FLOW_OK;
  GstBuffer **bufs = g_new(GstBuffer *, n);
  for (int i = 0; i < n; i++) bufs[i] = g_queue_pop_head(&self->pending);
  GstFlowReturn ret = infer(self, bufs, n);
  for (int i = 0; i < n; i++) {
    if (ret == GST_FLOW_OK) g_queue_push_tail(&self->ready, bufs[i]);
    else gst_buffer_unref(bufs[i]);
  }
  g_free(bufs);
  return ret;
}

/* batch-size > 1: frames are held until the batch is full (or EOS). */
static GstFlowReturn gst_segnet_infer_submit_input_buffer(GstBaseTransform *trans, gboolean discont, GstBuffer *buf) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  if (self->batch <= 1)
    return GST_BASE_TRANSFORM_CLASS(gst_segnet_infer_parent_class)->submit_input_buffer(trans, discont, buf);
  g_queue_push_tail(&self->pending, gst_buffer_make_writable(buf));
  return (int)g_queue_get_length(&self->pending) >= self->batch ? run_pending(self) : GST_FLOW_OK;
}

static GstFlowReturn gst_segnet_infer_generate_output(GstBaseTransform *trans, GstBuffer **out) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  if (self->batch <= 1) return GST_BASE_TRANSFORM_CLASS(gst_segnet_infer_parent_class)->generate_output(trans, out);
  *out = g_queue_pop_head(&self->ready);
  return GST_FLOW_OK;
}

static gboolean gst_segnet_infer_sink_event(GstBaseTransform *trans, GstEvent *event) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && self->batch > 1 && self->net) {
    /* A short last batch, pushed before EOS goes on. */
    if (run_pending(self) == GST_FLOW_OK) {
      GstBuffer *b;
      while ((b = g_queue_pop_head(&self->ready))) gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(trans), b);
    }
  } else if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    drop_queued(self);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_segnet_infer_parent_class)->sink_event(trans, event);
}

/* "0" (the model's own), "W" (square) or "WxH", as `segrank --input-size`. */
static gboolean parse_input_size(const gchar *s, gint *w, gint *h) {
  if (!g_strcmp0(s, "0")) return *w = *h = 0, TRUE;
  return sr_parse_size(s, 4096, w, h);
}

static void gst_segnet_infer_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstSegnetInfer *self = GST_SEGNET_INFER(object);
  GST_OBJECT_LOCK(self);
  /* Every property is read once, in start(): while the element runs a new
   * value would be ignored while the getter returned it, so it is refused. */
  if (self->started) {
    GST_OBJECT_UNLOCK(self);
    g_warning("segnetinfer %s: '%s' cannot change while the element is running (PAUSED or PLAYING); "
              "set it in NULL or READY",
              GST_OBJECT_NAME(self), g_param_spec_get_name(pspec));
    return;
  }
  switch (prop_id) {
    case PROP_MODEL:
      g_free(self->prop_model);
      self->prop_model = g_value_dup_string(value);
      break;
    case PROP_BACKEND:
      self->prop_backend = g_value_get_enum(value);
      break;
    case PROP_INPUT_SIZE:
      if (!parse_input_size(g_value_get_string(value), &self->prop_input_w, &self->prop_input_h))
        g_warning("segnetinfer %s: bad input-size '%s' (0, W or WxH, at most 4096): kept %dx%d",
                  GST_OBJECT_NAME(self), g_value_get_string(value), self->prop_input_w, self->prop_input_h);
      break;
    case PROP_THREADS:
      self->prop_threads = g_value_get_int(value);
      break;
    case PROP_BATCH_SIZE:
      self->prop_batch_size = g_value_get_int(value);
      break;
    case PROP_DESCRIPTOR:
      self->prop_descriptor = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_segnet_infer_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstSegnetInfer *self = GST_SEGNET_INFER(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value, self->prop_model);
      break;
    case PROP_BACKEND:
      g_value_set_enum(value, self->prop_backend);
      break;
    case PROP_INPUT_SIZE:
      g_value_take_string(value, self->prop_input_w ? g_strdup_printf("%dx%d", self->prop_input_w, self->prop_input_h)
                                                    : g_strdup("0"));
      break;
    case PROP_THREADS:
      g_value_set_int(value, self->prop_threads);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_int(value, self->prop_batch_size);
      break;
    case PROP_DESCRIPTOR:
      g_value_set_boolean(value, self->prop_descriptor);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_segnet_infer_finalize(GObject *object) {
  GstSegnetInfer *self = GST_SEGNET_INFER(object);
  release_net(self);
  g_free(self->prop_model);
  G_OBJECT_CLASS(gst_segnet_infer_parent_class)->finalize(object);
}

static void gst_segnet_infer_class_init(GstSegnetInferClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_segnet_infer_set_property;
  gobject_class->get_property = gst_segnet_infer_get_property;
  gobject_class->finalize = gst_segnet_infer_finalize;

  /* The blurb names the file an unset `model` loads here and now. */
  gchar *model_blurb = g_strdup_printf("Path of the .srmodel file; unset: $SEGRANK_MODEL when set, else the installed "
                                       "default model, or uninstalled the build tree's (here: %s)",
                                       sr_default_model_path());
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model", g_intern_string(model_blurb), PROP_MODEL_DEFAULT,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_free(model_blurb);
  g_object_class_install_property(
      gobject_class, PROP_BACKEND,
      g_param_spec_enum("backend", "Backend", "Compute backend for the convolutions", GST_TYPE_SEGRANK_BACKEND,
                        PROP_BACKEND_DEFAULT, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_SIZE,
      g_param_spec_string("input-size", "Input size",
                          "Net input the frame is resized to: WxH, or W for a square (0: the model's own input "
                          "size, 480x360 for the shipped model; the paper uses 227). Larger inputs give larger "
                          "probability maps",
                          PROP_INPUT_SIZE_DEFAULT,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "Worker threads for the forward pass (0: one per core)", 0, 256,
                       PROP_THREADS_DEFAULT, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_int("batch-size", "Batch size",
                       "Frames per forward pass: 1 keeps latency lowest; larger batches raise throughput at the "
                       "cost of holding frames until the batch is full (a short batch runs at EOS)",
                       1, 64, PROP_BATCH_SIZE_DEFAULT,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property(
      gobject_class, PROP_DESCRIPTOR,
      g_param_spec_boolean("descriptor", "Image descriptor",
                           "Attach each frame's image descriptor (conv5 mean and max per channel, 2 x 256 floats) "
                           "to its GstSrProbMeta, for svmrerank's classification features; costs a copy of the "
                           "conv5 map per frame",
                           PROP_DESCRIPTOR_DEFAULT,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  gst_element_class_set_static_metadata(
      element_class, "SegNet inference", "Filter/Analyzer/Video",
      "Runs SegNet (CaffeNet conv1-5 + conv6-8, Cogswell et al. 2014) on each frame and attaches the coarse "
      "per-pixel class distribution, and the image descriptor (pooled conv5 features), as a GstSrProbMeta; "
      "frames pass through unchanged",
      "segrank developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_segnet_infer_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_segnet_infer_stop);
  /* Our own transform_ip maps the frame read-only: the pixels are never
   * written, so no copy of shared memory is made. */
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_segnet_infer_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;
  trans_class->submit_input_buffer = GST_DEBUG_FUNCPTR(gst_segnet_infer_submit_input_buffer);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_segnet_infer_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_segnet_infer_sink_event);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_segnet_infer_set_info);

  gst_type_mark_as_plugin_api(GST_TYPE_SEGRANK_BACKEND, 0);
  GST_DEBUG_CATEGORY_INIT(gst_segnet_infer_debug, "segnetinfer", 0, "SegNet inference");
}

static void gst_segnet_infer_init(GstSegnetInfer *self) {
  self->prop_model = g_strdup(PROP_MODEL_DEFAULT);
  self->prop_backend = PROP_BACKEND_DEFAULT;
  self->prop_input_w = self->prop_input_h = 0; /* PROP_INPUT_SIZE_DEFAULT */
  self->prop_threads = PROP_THREADS_DEFAULT;
  self->prop_batch_size = PROP_BATCH_SIZE_DEFAULT;
  self->prop_descriptor = PROP_DESCRIPTOR_DEFAULT;
  g_queue_init(&self->pending);
  g_queue_init(&self->ready);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
