/* gstsegnetinfer.c: runs the paper's SegNet on every frame (or every Nth)
 * and attaches the coarse class distribution, and the frame's image
 * descriptor (conv5 pooled, for svmrerank), as a GstSrProbMeta; the frame
 * itself passes through unchanged. Owns batching (frames held until a
 * batch is full, drained before every serialized event), the latency it
 * adds, QoS (late frames reuse the latest result instead of running the
 * net), colour conversion of non-RGB input at the net's size, and the
 * model hot swap (loaded off the streaming thread, swapped between
 * batches). */

/**
 * SECTION:element-segnetinfer
 * @title: segnetinfer
 *
 * Resizes each frame to the net's input size, converts it to BGR minus the
 * model's mean, runs SegNet (CaffeNet conv1-5 + conv6-8, Cogswell et al.
 * 2014) and attaches the C × h × w softmax output as a #GstSrProbMeta.
 *
 * Input may be packed RGB (read directly) or YUV / grey (I420, YV12, NV12,
 * NV21, YUY2, UYVY, Y42B, Y444, GRAY8, as decoders give it): those are
 * resized and converted to the net's input in one pass (bilinear per
 * component, the frame's matrix and range), so no full-frame `videoconvert`
 * is needed upstream and the frame goes on in its own format.
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
 * ## Keeping up with live sources
 *
 * The element answers latency queries with what it adds: (batch-size − 1)
 * frame durations (a frame waits for the batch to fill) plus the time of
 * one batch's forward pass with a quarter's headroom (measured when the
 * model loads, then smoothed over the frames; a latency message is posted
 * when a batch outgrows the headroom). `interval=N` runs the
 * net on every Nth frame only; with `qos` (the default) a frame that the
 * sink's QoS reports say is already late skips the net too. Frames that
 * skip the net pass at once and carry the latest result, marked as reused
 * (GstSrProbMeta's `reused` and `source_pts`), so a display shows every
 * frame.
 *
 * ## Changing the model while playing
 *
 * Setting `model` while the element runs loads the new file on a separate
 * thread; once loaded it replaces the old one between two batches, so each
 * frame is computed by one model, never a mix. A file that does not load
 * keeps the old model, posts a warning and sets `model` back. The other
 * properties but `interval` and `qos` are read when the element starts.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 multifilesrc location=frames/%05d.png caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! \
 *     segnetinfer ! segoverlay ! videoconvert ! pngenc ! multifilesink location=out/%05d.png
 * ]|
 * |[
 * gst-launch-1.0 uridecodebin uri=file:///path/video.mp4 ! segnetinfer interval=2 ! segoverlay ! \
 *     videoconvert ! autovideosink
 * ]|
 */
#include "gstsegnetinfer.h"

#include "gstsegnetinput.h"
#include "gstsrprobmeta.h"
#include "backends/cpu/cpu_isa.h"

GST_DEBUG_CATEGORY_STATIC(gst_segnet_infer_debug);
#define GST_CAT_DEFAULT gst_segnet_infer_debug

enum {
  PROP_0,
  PROP_MODEL,
  PROP_BACKEND,
  PROP_INPUT_SIZE,
  PROP_THREADS,
  PROP_BATCH_SIZE,
  PROP_DESCRIPTOR,
  PROP_INTERVAL,
  PROP_QOS,
};

#define PROP_MODEL_DEFAULT NULL
#define PROP_BACKEND_DEFAULT GST_SEGRANK_BACKEND_AUTO
#define PROP_INPUT_SIZE_DEFAULT "0"
#define PROP_THREADS_DEFAULT 0
#define PROP_BATCH_SIZE_DEFAULT 1
#define PROP_DESCRIPTOR_DEFAULT TRUE
#define PROP_INTERVAL_DEFAULT 1
#define PROP_QOS_DEFAULT TRUE

/* Packed RGB (read directly), then what decoders give (converted). */
#define SEGNET_INFER_FORMATS                                                                                     \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, YV12, NV12, NV21, YUY2, UYVY, Y42B, Y444, " \
  "GRAY8 }"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(SEGNET_INFER_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(SEGNET_INFER_FORMATS)));

G_DEFINE_TYPE(GstSegnetInfer, gst_segnet_infer, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(segnetinfer, "segnetinfer", GST_RANK_NONE, GST_TYPE_SEGNET_INFER);

/* ---- one loaded model ---- */

struct _GstSegnetRunner {
  gchar *path;
  sr_model *model;
  sr_backend *backend;
  sr_net *net;
  gint in_w, in_h;
  gboolean descriptor; /* conv5 is tapped */
  gchar *descriptor_problem; /* why it is not, when it was asked for (a warning to post) */
  sr_tensor input, probs;
  gchar **class_names;
  guint8 *class_colors;
  GstClockTime frame_time; /* one frame's forward pass, measured at load */
};

/* Why a runner could not be made: a GStreamer error domain and code, the
 * message for users and the details. */
typedef struct {
  GQuark domain;
  gint code;
  gchar *text;
  gchar *debug;
} RunnerFailure;

static void runner_free(GstSegnetRunner *r) {
  if (!r) return;
  sr_net_free(r->net);
  sr_backend_free(r->backend);
  sr_model_free(r->model);
  sr_tensor_clear(&r->input);
  sr_tensor_clear(&r->probs);
  g_strfreev(r->class_names);
  g_free(r->class_colors);
  g_free(r->descriptor_problem);
  g_free(r->path);
  g_free(r);
}

static GstSegnetRunner *runner_fail(GstSegnetRunner *r, RunnerFailure *f, GQuark domain, gint code, gchar *text,
                                    gchar *debug) {
  runner_free(r);
  f->domain = domain, f->code = code, f->text = text, f->debug = debug;
  return NULL;
}

/* Loads @path and sets up its backend, net and buffers for @cfg, then runs
 * one warm-up frame (its time is the latency estimate). NULL and @f filled
 * on failure. */
static GstSegnetRunner *runner_new(const GstSegnetConfig *cfg, const gchar *path, RunnerFailure *f) {
  GstSegnetRunner *r = g_new0(GstSegnetRunner, 1);
  r->path = g_strdup(path);
  sr_error err = {0};
  if (sr_model_load(path, &r->model, &err) != SR_OK)
    return runner_fail(r, f, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
                       g_strdup_printf("Could not load the SegNet model \"%s\".", path), g_strdup(err.msg));
  if (sr_backend_new(gst_segrank_backend_name(cfg->backend), cfg->threads, &r->backend, &err) != SR_OK ||
      sr_net_new(r->model, r->backend, &r->net, &err) != SR_OK)
    return runner_fail(r, f, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT, g_strdup("Could not set up the compute backend."),
                       g_strdup(err.msg));
  r->descriptor = cfg->descriptor;
  if (r->descriptor && sr_net_set_tap(r->net, SR_IMAGE_DESCRIPTOR_LAYER, &err) != SR_OK) {
    r->descriptor_problem = g_strdup_printf("%s (the descriptor pools layer %s; set descriptor=false to silence this)",
                                            err.msg, SR_IMAGE_DESCRIPTOR_LAYER);
    r->descriptor = FALSE;
  }
  r->in_w = cfg->size_w > 0 ? cfg->size_w : r->model->input_w;
  r->in_h = cfg->size_h > 0 ? cfg->size_h : r->model->input_h;
  int oh, ow;
  if (sr_model_output_size(r->model, r->in_h, r->in_w, &oh, &ow) != SR_OK)
    return runner_fail(r, f, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
                       g_strdup_printf("input-size %dx%d is too small for the net.", r->in_w, r->in_h), NULL);
  if (sr_tensor_alloc(&r->input, cfg->batch, 3, r->in_h, r->in_w) != SR_OK)
    return runner_fail(
        r, f, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT,
        g_strdup_printf("Out of memory for the net input: input-size %dx%d x batch-size %d.", r->in_w, r->in_h,
                        cfg->batch),
        g_strdup_printf("%d x 3 x %d x %d floats could not be allocated; lower input-size or batch-size", cfg->batch,
                        r->in_h, r->in_w));
  r->class_names = g_new0(gchar *, r->model->n_classes + 1);
  r->class_colors = g_new(guint8, 3 * r->model->n_classes);
  for (int i = 0; i < r->model->n_classes; i++) {
    r->class_names[i] = g_strdup(r->model->classes[i].name);
    memcpy(r->class_colors + 3 * i, r->model->classes[i].rgb, 3);
  }
  /* Warm-up: a mid-grey frame (zero after the mean), which also fills the
   * backend's caches before the first real frame. */
  sr_tensor one = r->input;
  one.n = 1;
  memset(one.data, 0, sizeof(float) * 3 * r->in_w * r->in_h);
  gint64 t0 = g_get_monotonic_time();
  if (sr_net_forward(r->net, &one, &r->probs, &err) != SR_OK)
    return runner_fail(r, f, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED, g_strdup("SegNet forward pass failed."),
                       g_strdup(err.msg));
  r->frame_time = (GstClockTime)(g_get_monotonic_time() - t0) * GST_USECOND;
  return r;
}

/* Posts @f as a message of @type on @self and frees its texts. */
static void post_failure(GstSegnetInfer *self, GstMessageType type, RunnerFailure *f) {
  gst_element_message_full(GST_ELEMENT(self), type, f->domain, f->code, f->text, f->debug, __FILE__, GST_FUNCTION,
                           __LINE__);
  f->text = f->debug = NULL;
}

/* ---- held frames and the latest result ---- */

/* A frame waiting for its meta: @infer when it runs through the net, else
 * it reuses the latest result before it. */
typedef struct {
  GstBuffer *buf;
  gboolean infer;
} GstSegnetHeld;

static void drop_queued(GstSegnetInfer *self) {
  GstSegnetHeld *h;
  while ((h = g_queue_pop_head(&self->held))) gst_buffer_unref(h->buf), g_free(h);
  self->held_infer = 0;
  GstBuffer *b;
  while ((b = g_queue_pop_head(&self->ready))) gst_buffer_unref(b);
}

static void forget_last(GstSegnetInfer *self) {
  g_free(self->last_probs);
  g_free(self->last_descriptor);
  self->last_probs = self->last_descriptor = NULL;
  self->last_descriptor_len = 0;
  self->have_last = FALSE;
}

/* Keeps a copy of a result for the frames that reuse it. */
static void remember(GstSegnetInfer *self, const GstSrProbMeta *m, GstClockTime pts) {
  gsize n = (gsize)m->n_classes * m->width * m->height;
  if (!self->have_last || self->last_c * self->last_w * self->last_h != n) {
    g_free(self->last_probs);
    self->last_probs = g_new(gfloat, n);
  }
  memcpy(self->last_probs, m->probs, n * sizeof(gfloat));
  self->last_c = m->n_classes, self->last_w = m->width, self->last_h = m->height;
  g_free(self->last_descriptor);
  self->last_descriptor = m->n_descriptor ? g_memdup2(m->descriptor, m->n_descriptor * sizeof(gfloat)) : NULL;
  self->last_descriptor_len = m->n_descriptor;
  self->last_pts = pts;
  self->have_last = TRUE;
}

static void release_all(GstSegnetInfer *self) {
  drop_queued(self);
  forget_last(self);
  runner_free(self->runner);
  self->runner = NULL;
  g_mutex_lock(&self->swap_lock);
  runner_free(self->next);
  self->next = NULL;
  g_mutex_unlock(&self->swap_lock);
  g_free(self->descriptor_buf);
  self->descriptor_buf = NULL, self->descriptor_len = 0;
}

/* ---- model loading and the hot swap ---- */

static void set_batch_time(GstSegnetInfer *self, GstClockTime t, gboolean initial) {
  gboolean repost = FALSE;
  GST_OBJECT_LOCK(self);
  self->batch_time = t;
  if (initial) {
    self->reported_batch_time = t;
  } else if (t > self->reported_batch_time + self->reported_batch_time / 4) {
    /* A batch takes longer than the latency we answered (its time and a
     * quarter's headroom): ask the pipeline to query again. */
    self->reported_batch_time = t;
    repost = TRUE;
  }
  GST_OBJECT_UNLOCK(self);
  if (repost || initial) gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

/* Makes @r the running model (streaming thread, nothing held). */
static void use_runner(GstSegnetInfer *self, GstSegnetRunner *r) {
  if (self->runner)
    GST_INFO_OBJECT(self, "switched from %s to %s", self->runner->path, r->path);
  runner_free(self->runner);
  self->runner = r;
  forget_last(self);
  self->warned_descriptor = FALSE;
  if (r->descriptor_problem)
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("The model cannot give an image descriptor: none is attached."),
                        ("%s", r->descriptor_problem));
  GST_INFO_OBJECT(self, "model %s: %d classes, input %dx%d, backend %s, %d threads, %.1f ms per frame", r->path,
                  r->model->n_classes, r->in_w, r->in_h, sr_backend_name(r->backend), sr_backend_threads(r->backend),
                  (double)r->frame_time / GST_MSECOND);
  set_batch_time(self, r->frame_time * (GstClockTime)self->cfg.batch, TRUE);
}

/* At a safe point (nothing held): swaps in a model loaded meanwhile. */
static void maybe_swap(GstSegnetInfer *self) {
  g_mutex_lock(&self->swap_lock);
  GstSegnetRunner *r = self->next;
  self->next = NULL;
  g_mutex_unlock(&self->swap_lock);
  if (r) use_runner(self, r);
}

/* The loader thread: @data is the requested `model` value (NULL: the
 * default). */
static void load_in_background(gpointer data, gpointer user_data) {
  GstSegnetInfer *self = GST_SEGNET_INFER(user_data);
  gchar *prop = data;
  const gchar *path = prop ? prop : sr_default_model_path();
  RunnerFailure f = {0};
  GstSegnetRunner *r = runner_new(&self->cfg, path, &f);
  GST_OBJECT_LOCK(self);
  gboolean latest = g_strcmp0(self->prop_model, prop) == 0;
  gboolean revert = FALSE;
  if (r) {
    g_free(self->prop_model_loaded);
    self->prop_model_loaded = g_strdup(prop);
  } else if (latest) {
    /* No newer request: `model` reads back as the model still running. */
    g_free(self->prop_model);
    self->prop_model = g_strdup(self->prop_model_loaded);
    revert = TRUE;
  }
  GST_OBJECT_UNLOCK(self);
  if (r) {
    GST_INFO_OBJECT(self, "loaded %s, swapping it in between two batches", path);
    g_mutex_lock(&self->swap_lock);
    runner_free(self->next);
    self->next = r;
    g_mutex_unlock(&self->swap_lock);
  } else {
    gchar *text = g_strdup_printf("%s The running model is kept.", f.text);
    g_free(f.text);
    f.text = text;
    post_failure(self, GST_MESSAGE_WARNING, &f);
    if (revert) g_object_notify(G_OBJECT(self), "model");
  }
  g_free(prop);
}

static gboolean gst_segnet_infer_start(GstBaseTransform *trans) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  GST_OBJECT_LOCK(self);
  gchar *prop = g_strdup(self->prop_model);
  self->cfg.backend = self->prop_backend;
  self->cfg.size_w = self->prop_input_w, self->cfg.size_h = self->prop_input_h;
  self->cfg.threads = self->prop_threads;
  self->cfg.batch = self->prop_batch_size;
  self->cfg.descriptor = self->prop_descriptor;
  self->started = TRUE;
  self->earliest_time = GST_CLOCK_TIME_NONE;
  g_free(self->prop_model_loaded);
  self->prop_model_loaded = g_strdup(prop);
  GST_OBJECT_UNLOCK(self);
  self->frame_count = self->n_inferred = self->n_reused = 0;

  RunnerFailure f = {0};
  GstSegnetRunner *r = runner_new(&self->cfg, prop ? prop : sr_default_model_path(), &f);
  g_free(prop);
  if (!r) {
    post_failure(self, GST_MESSAGE_ERROR, &f);
    GST_OBJECT_LOCK(self);
    self->started = FALSE;
    GST_OBJECT_UNLOCK(self);
    return FALSE;
  }
  GST_INFO_OBJECT(self, "backend %s (backend=%s)", sr_backend_name(r->backend),
                  gst_segrank_backend_name(self->cfg.backend));
  use_runner(self, r);
  self->loader = g_thread_pool_new(load_in_background, self, 1, FALSE, NULL);
  return TRUE;
}

static gboolean gst_segnet_infer_stop(GstBaseTransform *trans) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  /* A load under way finishes (its result is then freed); queued ones are
   * dropped. */
  if (self->loader) g_thread_pool_free(self->loader, TRUE, TRUE);
  self->loader = NULL;
  GST_INFO_OBJECT(self, "%" G_GUINT64_FORMAT " frames ran the net, %" G_GUINT64_FORMAT " reused a result",
                  self->n_inferred, self->n_reused);
  release_all(self);
  GST_OBJECT_LOCK(self);
  self->started = FALSE;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

/* ---- frames in ---- */

static gboolean gst_segnet_infer_set_info(GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *in_info,
                                          GstCaps *outcaps, GstVideoInfo *out_info) {
  (void)incaps, (void)outcaps, (void)out_info;
  GstSegnetInfer *self = GST_SEGNET_INFER(filter);
  self->packed_rgb = GST_VIDEO_INFO_IS_RGB(in_info);
  if (self->packed_rgb) self->layout = gst_segrank_pixel_layout(in_info);
  GST_OBJECT_LOCK(self);
  gboolean changed = self->fps_n != GST_VIDEO_INFO_FPS_N(in_info) || self->fps_d != GST_VIDEO_INFO_FPS_D(in_info);
  self->fps_n = GST_VIDEO_INFO_FPS_N(in_info), self->fps_d = GST_VIDEO_INFO_FPS_D(in_info);
  GST_OBJECT_UNLOCK(self);
  /* The held frames' share of the latency depends on the frame rate. */
  if (changed && self->cfg.batch > 1)
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  return TRUE;
}

/* Preprocesses frame @slot of the input batch from @buf (read-only map). */
static gboolean load_frame(GstSegnetInfer *self, GstBuffer *buf, int slot) {
  GstVideoFilter *filter = GST_VIDEO_FILTER(self);
  GstSegnetRunner *r = self->runner;
  float *dst = r->input.data + (size_t)slot * 3 * r->in_w * r->in_h;
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &filter->in_info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, (NULL),
                      ("cannot map a %" G_GSIZE_FORMAT "-byte buffer as a %dx%d %s frame", gst_buffer_get_size(buf),
                       GST_VIDEO_INFO_WIDTH(&filter->in_info), GST_VIDEO_INFO_HEIGHT(&filter->in_info),
                       gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&filter->in_info))));
    return FALSE;
  }
  if (self->packed_rgb) {
    sr_preprocess(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0), GST_VIDEO_FRAME_WIDTH(&frame),
                  GST_VIDEO_FRAME_HEIGHT(&frame), GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0), self->layout,
                  r->model->mean_bgr, r->in_w, r->in_h, dst);
    gst_video_frame_unmap(&frame);
    return TRUE;
  }
  gboolean ok = gst_segnet_input_from_yuv(&frame, r->model->mean_bgr, r->in_w, r->in_h, dst);
  gst_video_frame_unmap(&frame);
  if (!ok)
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Cannot read %s frames for the net.",
                                             gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&filter->in_info))),
                      ("out of memory, or not an 8-bit YUV or grey format"));
  return ok;
}

/* Pools batch item @i of the tapped conv5 map into @meta's descriptor;
 * warns once when it cannot. */
static void attach_descriptor(GstSegnetInfer *self, GstSrProbMeta *meta, int i) {
  const sr_tensor *conv5 = sr_net_tap(self->runner->net);
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

static GstSrProbMeta *add_meta(GstSegnetInfer *self, GstBuffer *buf, guint c, guint w, guint h, const gfloat *probs) {
  GstVideoInfo *info = &GST_VIDEO_FILTER(self)->in_info;
  GstSegnetRunner *r = self->runner;
  GstSrProbMeta *meta =
      gst_buffer_add_sr_prob_meta(buf, c, w, h, probs, (const gchar *const *)r->class_names, r->class_colors,
                                  GST_VIDEO_INFO_WIDTH(info), GST_VIDEO_INFO_HEIGHT(info));
  meta->input_width = r->in_w, meta->input_height = r->in_h;
  return meta;
}

/* Gives @buf a copy of the latest result, marked as reused. */
static void attach_reused(GstSegnetInfer *self, GstBuffer *buf) {
  GstSrProbMeta *meta = add_meta(self, buf, self->last_c, self->last_w, self->last_h, self->last_probs);
  if (self->last_descriptor_len) gst_sr_prob_meta_set_descriptor(meta, self->last_descriptor_len, self->last_descriptor);
  meta->reused = TRUE, meta->source_pts = self->last_pts;
  self->n_reused++;
}

/* Runs the net on the held frames that need it (at most one batch), gives
 * every held frame its meta in order (the others reuse the latest result
 * before them) and moves them all to `ready`. */
static GstFlowReturn run_held(GstSegnetInfer *self) {
  GstSegnetRunner *r = self->runner;
  gint n = self->held_infer;
  GstClockTime t0 = gst_util_get_timestamp();
  if (n > 0) {
    gint slot = 0;
    for (GList *l = self->held.head; l; l = l->next) {
      GstSegnetHeld *h = l->data;
      if (h->infer && !load_frame(self, h->buf, slot++)) return GST_FLOW_ERROR;
    }
    sr_tensor input = r->input;
    input.n = n;
    sr_error err = {0};
    if (sr_net_forward(r->net, &input, &r->probs, &err) != SR_OK) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("SegNet forward pass failed."), ("%s", err.msg));
      return GST_FLOW_ERROR;
    }
  }
  size_t per = (size_t)r->probs.c * r->probs.h * r->probs.w;
  gint slot = 0;
  GstSegnetHeld *h;
  while ((h = g_queue_pop_head(&self->held))) {
    if (h->infer) {
      GstSrProbMeta *meta = add_meta(self, h->buf, r->probs.c, r->probs.w, r->probs.h, r->probs.data + slot * per);
      if (r->descriptor) attach_descriptor(self, meta, slot);
      remember(self, meta, GST_BUFFER_PTS(h->buf));
      slot++;
      self->n_inferred++;
    } else {
      attach_reused(self, h->buf);
    }
    g_queue_push_tail(&self->ready, h->buf);
    g_free(h);
  }
  self->held_infer = 0;
  if (n > 0) {
    GST_LOG_OBJECT(self, "%d frame(s) -> %u classes x %ux%u", n, r->probs.c, r->probs.w, r->probs.h);
    /* A full batch's time, smoothed, for the latency answer. */
    if (n == self->cfg.batch) {
      GstClockTime t = gst_util_get_timestamp() - t0;
      GST_OBJECT_LOCK(self);
      GstClockTime est = (self->batch_time * 7 + t) / 8;
      GST_OBJECT_UNLOCK(self);
      set_batch_time(self, est, FALSE);
    }
  }
  return GST_FLOW_OK;
}

/* Moves the held frames at the head that reuse a result to `ready`. */
static void release_leading_reused(GstSegnetInfer *self) {
  GstSegnetHeld *h;
  while ((h = g_queue_peek_head(&self->held)) && !h->infer) {
    g_queue_pop_head(&self->held);
    attach_reused(self, h->buf);
    g_queue_push_tail(&self->ready, h->buf);
    g_free(h);
  }
}

/* TRUE when the sink's QoS reports say that @buf would reach it late. */
static gboolean is_late(GstSegnetInfer *self, GstBuffer *buf) {
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  if (trans->segment.format != GST_FORMAT_TIME || !GST_BUFFER_PTS_IS_VALID(buf)) return FALSE;
  GstClockTime rt = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  GST_OBJECT_LOCK(self);
  gboolean late = self->prop_qos && GST_CLOCK_TIME_IS_VALID(rt) && GST_CLOCK_TIME_IS_VALID(self->earliest_time) &&
                  rt <= self->earliest_time;
  GST_OBJECT_UNLOCK(self);
  return late;
}

/* Every frame comes here (the parent has checked negotiation and left it in
 * queued_buf): it runs through the net, alone or in a batch, or reuses the
 * latest result (`interval`, QoS); generate_output() then pushes what is
 * ready, in order. */
static GstFlowReturn gst_segnet_infer_submit_input_buffer(GstBaseTransform *trans, gboolean discont, GstBuffer *buf) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  GstFlowReturn ret = GST_BASE_TRANSFORM_CLASS(gst_segnet_infer_parent_class)->submit_input_buffer(trans, discont, buf);
  if (ret != GST_FLOW_OK || !trans->queued_buf) return ret;
  buf = gst_buffer_make_writable(trans->queued_buf);
  trans->queued_buf = NULL;
  if (!GST_VIDEO_FILTER(self)->negotiated) {
    gst_buffer_unref(buf);
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("unknown format"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (g_queue_is_empty(&self->held)) maybe_swap(self);

  GST_OBJECT_LOCK(self);
  guint interval = self->prop_interval;
  GST_OBJECT_UNLOCK(self);
  /* A frame with nothing to reuse (none computed, none on its way) runs. */
  gboolean can_reuse = self->have_last || self->held_infer > 0;
  if (self->have_last && is_late(self, buf)) {
    /* The held frames are older still: all of them reuse the latest
     * result and go now. */
    GST_DEBUG_OBJECT(self, "late frame %" GST_TIME_FORMAT ": the net is skipped for it and %u held",
                     GST_TIME_ARGS(GST_BUFFER_PTS(buf)), g_queue_get_length(&self->held));
    for (GList *l = self->held.head; l; l = l->next) ((GstSegnetHeld *)l->data)->infer = FALSE;
    self->held_infer = 0;
    GstSegnetHeld *h = g_new(GstSegnetHeld, 1);
    h->buf = buf, h->infer = FALSE;
    g_queue_push_tail(&self->held, h);
    release_leading_reused(self);
    return GST_FLOW_OK;
  }
  GstSegnetHeld *h = g_new(GstSegnetHeld, 1);
  h->buf = buf;
  h->infer = !can_reuse || self->frame_count % interval == 0;
  self->frame_count++;
  g_queue_push_tail(&self->held, h);
  if (!h->infer) {
    release_leading_reused(self);
    return GST_FLOW_OK;
  }
  if (++self->held_infer < self->cfg.batch) return GST_FLOW_OK;
  return run_held(self);
}

static GstFlowReturn gst_segnet_infer_generate_output(GstBaseTransform *trans, GstBuffer **out) {
  *out = g_queue_pop_head(&GST_SEGNET_INFER(trans)->ready);
  return GST_FLOW_OK;
}

/* Runs and pushes everything held (a short batch), before an event that
 * must follow them. */
static GstFlowReturn drain(GstSegnetInfer *self) {
  if (!self->runner || g_queue_is_empty(&self->held)) return GST_FLOW_OK;
  GST_DEBUG_OBJECT(self, "draining %u held frame(s)", g_queue_get_length(&self->held));
  GstFlowReturn ret = run_held(self);
  GstBuffer *b;
  while ((b = g_queue_pop_head(&self->ready))) {
    if (ret == GST_FLOW_OK) ret = gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(self), b);
    else gst_buffer_unref(b);
  }
  return ret;
}

static gboolean gst_segnet_infer_sink_event(GstBaseTransform *trans, GstEvent *event) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    drop_queued(self);
    GST_OBJECT_LOCK(self);
    self->earliest_time = GST_CLOCK_TIME_NONE;
    GST_OBJECT_UNLOCK(self);
  } else if (GST_EVENT_IS_SERIALIZED(event)) {
    /* Held frames go first, with the caps and segment they came with (a
     * CAPS event would otherwise re-label them). */
    GstFlowReturn ret = drain(self);
    if (ret != GST_FLOW_OK && ret != GST_FLOW_FLUSHING)
      GST_DEBUG_OBJECT(self, "pushing the held frames before %s: %s", GST_EVENT_TYPE_NAME(event),
                       gst_flow_get_name(ret));
  }
  return GST_BASE_TRANSFORM_CLASS(gst_segnet_infer_parent_class)->sink_event(trans, event);
}

static gboolean gst_segnet_infer_src_event(GstBaseTransform *trans, GstEvent *event) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;
    gst_event_parse_qos(event, &type, &proportion, &diff, &timestamp);
    GST_OBJECT_LOCK(self);
    /* As GstVideoDecoder: when the sink reports a frame late by diff, the
     * frames until twice that lateness plus one frame later are skipped,
     * which gives the stream room to catch up; an early report only sets
     * the point before which frames are late. */
    GstClockTime dur = self->fps_n > 0 && self->fps_d > 0
                           ? gst_util_uint64_scale_int(GST_SECOND, self->fps_d, self->fps_n)
                           : 0;
    if (GST_CLOCK_TIME_IS_VALID(timestamp)) {
      if (diff > 0) self->earliest_time = timestamp + 2 * diff + dur;
      else self->earliest_time = timestamp > (GstClockTime)-diff ? timestamp + diff : 0;
    }
    GST_OBJECT_UNLOCK(self);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_segnet_infer_parent_class)->src_event(trans, event);
}

/* What this element adds to the latency: a frame waits for (batch − 1)
 * more, then for the batch's forward pass. The pass's smoothed time gets a
 * quarter's headroom: answering the mean alone would make every slower
 * than average batch late at a sink that drops late frames. */
static gboolean gst_segnet_infer_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query) {
  GstSegnetInfer *self = GST_SEGNET_INFER(trans);
  gboolean ok = GST_BASE_TRANSFORM_CLASS(gst_segnet_infer_parent_class)->query(trans, direction, query);
  if (!ok || direction != GST_PAD_SRC || GST_QUERY_TYPE(query) != GST_QUERY_LATENCY) return ok;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  GST_OBJECT_LOCK(self);
  gint batch = self->started ? self->cfg.batch : self->prop_batch_size;
  GstClockTime ours = self->batch_time, wait = 0;
  self->reported_batch_time = self->batch_time;
  gboolean unbounded = FALSE;
  if (batch > 1) {
    if (self->fps_n > 0 && self->fps_d > 0)
      wait = gst_util_uint64_scale_int((guint64)(batch - 1) * GST_SECOND, self->fps_d, self->fps_n);
    else
      unbounded = TRUE; /* no frame rate: a frame may wait without bound */
  }
  GST_OBJECT_UNLOCK(self);
  if (!GST_CLOCK_TIME_IS_VALID(ours)) ours = 0;
  ours += ours / 4 + wait;
  GST_DEBUG_OBJECT(self, "adding latency %" GST_TIME_FORMAT " (batch %d)%s", GST_TIME_ARGS(ours), batch,
                   unbounded ? ", no upper bound" : "");
  min += ours;
  if (unbounded) max = GST_CLOCK_TIME_NONE;
  else if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
  gst_query_set_latency(query, live, min, max);
  return TRUE;
}

/* ---- properties ---- */

/* "0" (the model's own), "W" (square) or "WxH", as `segrank --input-size`. */
static gboolean parse_input_size(const gchar *s, gint *w, gint *h) {
  if (!g_strcmp0(s, "0")) return *w = *h = 0, TRUE;
  return sr_parse_size(s, 4096, w, h);
}

static void gst_segnet_infer_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstSegnetInfer *self = GST_SEGNET_INFER(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free(self->prop_model);
      self->prop_model = g_value_dup_string(value);
      /* Running: loaded off the streaming thread, swapped in later. */
      if (self->started && self->loader) g_thread_pool_push(self->loader, g_strdup(self->prop_model), NULL);
      GST_OBJECT_UNLOCK(self);
      return;
    case PROP_INTERVAL:
      self->prop_interval = g_value_get_uint(value);
      GST_OBJECT_UNLOCK(self);
      return;
    case PROP_QOS:
      self->prop_qos = g_value_get_boolean(value);
      GST_OBJECT_UNLOCK(self);
      return;
    default:
      break;
  }
  /* The others are read once, in start(): while the element runs a new
   * value would be ignored while the getter returned it, so it is refused. */
  if (self->started) {
    GST_OBJECT_UNLOCK(self);
    g_warning("segnetinfer %s: '%s' cannot change while the element is running (PAUSED or PLAYING); "
              "set it in NULL or READY",
              GST_OBJECT_NAME(self), g_param_spec_get_name(pspec));
    return;
  }
  switch (prop_id) {
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
    case PROP_INTERVAL:
      g_value_set_uint(value, self->prop_interval);
      break;
    case PROP_QOS:
      g_value_set_boolean(value, self->prop_qos);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_segnet_infer_finalize(GObject *object) {
  GstSegnetInfer *self = GST_SEGNET_INFER(object);
  if (self->loader) g_thread_pool_free(self->loader, TRUE, TRUE);
  release_all(self);
  g_mutex_clear(&self->swap_lock);
  g_free(self->prop_model);
  g_free(self->prop_model_loaded);
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
                                       "default model, or uninstalled the build tree's (here: %s). Set while "
                                       "playing, the new model is loaded on another thread and swapped in between "
                                       "two batches; one that does not load is refused with a warning",
                                       sr_default_model_path());
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model", g_intern_string(model_blurb), PROP_MODEL_DEFAULT,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_free(model_blurb);
  /* The cpu backend's instruction-set level on this machine (a bad
   * SEGRANK_CPU_ISA shows as generic here; the backend refuses it). */
  sr_cpu_isa isa;
  if (sr__cpu_isa_pick(&isa, NULL) != SR_OK) isa = SR_CPU_ISA_GENERIC;
  gchar *backend_blurb = g_strdup_printf(
      "Compute backend for the convolutions; cpu-isa: %s (the cpu backend's kernels: avx512, avx2 or generic, the "
      "best this CPU has; SEGRANK_CPU_ISA overrides)",
      sr__cpu_isa_name(isa));
  g_object_class_install_property(
      gobject_class, PROP_BACKEND,
      g_param_spec_enum("backend", "Backend", g_intern_string(backend_blurb), GST_TYPE_SEGRANK_BACKEND,
                        PROP_BACKEND_DEFAULT, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_free(backend_blurb);
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
                       "cost of holding frames until the batch is full (reported as latency; held frames are "
                       "pushed before any serialized event: caps, segment, EOS)",
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
  g_object_class_install_property(
      gobject_class, PROP_INTERVAL,
      g_param_spec_uint("interval", "Interval",
                        "Run the net on every Nth frame only; the frames between carry the latest result, marked "
                        "as reused (GstSrProbMeta reused, source-pts). 1: every frame",
                        1, 1000, PROP_INTERVAL_DEFAULT,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /* GstBaseTransform's own QoS would drop late frames; here they pass. */
  g_object_class_install_property(
      gobject_class, PROP_QOS,
      g_param_spec_boolean("qos", "QoS",
                           "Handle Quality-of-Service events: a frame the sink would get late skips the net and "
                           "carries the latest result (marked as reused) instead of being dropped",
                           PROP_QOS_DEFAULT, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

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
  /* Every frame goes through submit_input_buffer / generate_output (the
   * pixels are mapped read-only and never written, so no copy of shared
   * memory is made). */
  trans_class->submit_input_buffer = GST_DEBUG_FUNCPTR(gst_segnet_infer_submit_input_buffer);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_segnet_infer_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_segnet_infer_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_segnet_infer_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_segnet_infer_query);
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
  self->prop_interval = PROP_INTERVAL_DEFAULT;
  self->prop_qos = PROP_QOS_DEFAULT;
  self->earliest_time = GST_CLOCK_TIME_NONE;
  self->batch_time = GST_CLOCK_TIME_NONE;
  g_queue_init(&self->held);
  g_queue_init(&self->ready);
  g_mutex_init(&self->swap_lock);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  /* Our own `qos` decides (late frames reuse a result); the parent's stays
   * off so that it never drops them. */
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}
