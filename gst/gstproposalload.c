/* gstproposalload.c: attaches proposals made by another tool (a folder per
 * frame, read with sr_proposal_set_load_dir) to each frame as a
 * GstSrProposalMeta; the frame itself passes through unchanged. */

/**
 * SECTION:element-proposalload
 * @title: proposalload
 *
 * Reads, for every frame, one folder of proposals in the layout
 * `segrank propose` writes: FOLDER/<k>.png (8-bit class indices, grey or
 * palette; name order is rank order) and an optional FOLDER/scores.json, and
 * attaches them as a #GstSrProposalMeta with source "proposalload".
 *
 * With `match=index` (the default) `location` is the parent folder and the
 * i-th frame takes its i-th sub-folder in name order (the order
 * `segrank propose` writes images in, when they were fed in name order).
 * With `match=pattern` `location` names the folders the way multifilesrc
 * names files: one integer conversion (`%d`, `%05d`, `%u`...), replaced by
 * start-index + i.
 *
 * A frame whose folder is missing, whose PNGs differ from the frame size, or
 * whose files cannot be read (including class values ≥ num-classes other
 * than void-label) is handled as `on-error` says; the message names the
 * folder.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 multifilesrc location=frames/%05d.png caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! \
 *     proposalload location=proposals/%05d match=pattern ! segoverlay proposal-index=0 mode=labels ! \
 *     videoconvert ! pngenc ! multifilesink location=out/%05d.png
 * ]|
 */
#include "gstproposalload.h"

#include <string.h>

#include "gstsrproposalmeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_proposal_load_debug);
#define GST_CAT_DEFAULT gst_proposal_load_debug

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_MATCH,
  PROP_START_INDEX,
  PROP_NUM_CLASSES,
  PROP_CLASSES,
  PROP_VOID_LABEL,
  PROP_MAX_PROPOSALS,
  PROP_ON_ERROR,
};

#define PROP_LOCATION_DEFAULT NULL
#define PROP_MATCH_DEFAULT GST_PROPOSAL_LOAD_MATCH_INDEX
#define PROP_START_INDEX_DEFAULT 0
#define PROP_NUM_CLASSES_DEFAULT 0
#define PROP_CLASSES_DEFAULT GST_PROPOSAL_LOAD_CLASSES_CAMVID
#define PROP_VOID_LABEL_DEFAULT -1
#define PROP_MAX_PROPOSALS_DEFAULT 0
#define PROP_ON_ERROR_DEFAULT GST_PROPOSAL_LOAD_ON_ERROR_ERROR

/* The kinds of problem a frame can have (bits of `warned`). */
typedef enum { PROBLEM_MISSING = 1, PROBLEM_SIZE = 2, PROBLEM_UNREADABLE = 4 } problem_kind;

/* The pixels are never read: any raw video, in any memory. */
static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));

G_DEFINE_TYPE(GstProposalLoad, gst_proposal_load, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(proposalload, "proposalload", GST_RANK_NONE, GST_TYPE_PROPOSAL_LOAD);

GType gst_proposal_load_match_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_PROPOSAL_LOAD_MATCH_INDEX, "Frame i takes the i-th sub-folder of location, in name order", "index"},
      {GST_PROPOSAL_LOAD_MATCH_PATTERN,
       "location is a folder pattern with one integer conversion (e.g. props/%05d), filled with start-index + i",
       "pattern"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstProposalLoadMatch", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

GType gst_proposal_load_on_error_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_PROPOSAL_LOAD_ON_ERROR_ERROR, "Post an error and stop", "error"},
      {GST_PROPOSAL_LOAD_ON_ERROR_WARN, "Warn once per kind of problem and pass the frame without proposals",
       "warn"},
      {GST_PROPOSAL_LOAD_ON_ERROR_DROP, "Warn once per kind of problem and drop the frame", "drop"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstProposalLoadOnError", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

GType gst_proposal_load_classes_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_PROPOSAL_LOAD_CLASSES_CAMVID, "CamVid: 11 classes", "camvid"},
      {GST_PROPOSAL_LOAD_CLASSES_VOC, "PASCAL VOC: 21 classes", "voc"},
      {GST_PROPOSAL_LOAD_CLASSES_GENERIC, "class0, class1... (num-classes of them), VOC palette", "generic"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstProposalLoadClasses", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

static void release_state(GstProposalLoad *self) {
  g_clear_pointer(&self->location, g_free);
  g_clear_pointer(&self->folders, g_strfreev);
  self->n_folders = 0;
  g_clear_pointer(&self->pattern_prefix, g_free);
  g_clear_pointer(&self->pattern_suffix, g_free);
  g_clear_pointer(&self->class_names, g_strfreev);
  g_clear_pointer(&self->class_colors, g_free);
  self->have_info = FALSE;
  self->frame = 0;
  self->warned = 0;
}

static gint compare_names(gconstpointer a, gconstpointer b) {
  return strcmp(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* index matching: the sub-folders of @dir in name order. */
static gboolean list_folders(GstProposalLoad *self, const gchar *dir) {
  GError *gerr = NULL;
  GDir *d = g_dir_open(dir, 0, &gerr);
  if (!d) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Could not open the proposal folder \"%s\".", dir),
                      ("%s", gerr->message));
    g_error_free(gerr);
    return FALSE;
  }
  GPtrArray *names = g_ptr_array_new();
  const gchar *name;
  while ((name = g_dir_read_name(d))) {
    gchar *path = g_build_filename(dir, name, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) g_ptr_array_add(names, g_strdup(name));
    g_free(path);
  }
  g_dir_close(d);
  g_ptr_array_sort(names, compare_names);
  self->n_folders = names->len;
  g_ptr_array_add(names, NULL);
  self->folders = (gchar **)g_ptr_array_free(names, FALSE);
  if (self->n_folders == 0) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("The proposal folder \"%s\" has no sub-folders.", dir),
                      ("match=index takes one sub-folder per frame"));
    return FALSE;
  }
  GST_INFO_OBJECT(self, "%s: %u proposal folders, first %s", dir, self->n_folders, self->folders[0]);
  return TRUE;
}

/* pattern matching: splits @pattern around its one integer conversion
 * (%d, %i or %u with an optional 0 flag and width; %% is a literal %). */
static gboolean parse_pattern(GstProposalLoad *self, const gchar *pattern) {
  GString *prefix = g_string_new(NULL), *suffix = g_string_new(NULL), *part = prefix;
  gint conversions = 0;
  gboolean ok = TRUE;
  for (const gchar *p = pattern; *p && ok; p++) {
    if (*p != '%') {
      g_string_append_c(part, *p);
      continue;
    }
    if (p[1] == '%') {
      g_string_append_c(part, '%');
      p++;
      continue;
    }
    const gchar *q = p + 1;
    gboolean zero = *q == '0';
    if (zero) q++;
    gint width = 0;
    while (g_ascii_isdigit(*q) && width < 100) width = width * 10 + (*q++ - '0');
    if ((*q != 'd' && *q != 'i' && *q != 'u') || ++conversions > 1) {
      ok = FALSE;
      break;
    }
    self->pattern_zero_pad = zero, self->pattern_width = width;
    part = suffix;
    p = q;
  }
  if (!ok || conversions != 1) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid proposal folder pattern \"%s\".", pattern),
                      ("match=pattern needs exactly one integer conversion such as %%d or %%05d (%%%% for a "
                       "literal %%)"));
    g_string_free(prefix, TRUE);
    g_string_free(suffix, TRUE);
    return FALSE;
  }
  self->pattern_prefix = g_string_free(prefix, FALSE);
  self->pattern_suffix = g_string_free(suffix, FALSE);
  return TRUE;
}

/* The class table: names and colours for @n classes of @table. */
static gboolean set_classes(GstProposalLoad *self, GstProposalLoadClasses table, gint n) {
  const sr_class *classes = NULL;
  sr_model *generic = NULL;
  gint have;
  if (table == GST_PROPOSAL_LOAD_CLASSES_GENERIC) {
    if (n <= 0) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("classes=generic needs num-classes."), (NULL));
      return FALSE;
    }
    generic = sr_model_new_empty(0);
    if (generic) sr_model_set_default_classes(generic, n);
    if (!generic || !generic->classes) {
      sr_model_free(generic);
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Out of memory for a table of %d classes.", n), (NULL));
      return FALSE;
    }
    classes = generic->classes, have = n;
  } else {
    const gchar *dataset = table == GST_PROPOSAL_LOAD_CLASSES_VOC ? "voc" : "camvid";
    have = sr_dataset_classes(dataset, &classes);
    if (n > 0 && n != have) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                        ("num-classes=%d does not match the %d classes of classes=%s.", n, have, dataset),
                        ("set num-classes=0 to use the table's count, or classes=generic"));
      return FALSE;
    }
  }
  self->n_classes = have;
  self->class_names = g_new0(gchar *, have + 1);
  self->class_colors = g_new(guint8, 3 * have);
  for (gint c = 0; c < have; c++) {
    self->class_names[c] = g_strdup(classes[c].name);
    memcpy(self->class_colors + 3 * c, classes[c].rgb, 3);
  }
  sr_model_free(generic);
  return TRUE;
}

static gboolean gst_proposal_load_start(GstBaseTransform *trans) {
  GstProposalLoad *self = GST_PROPOSAL_LOAD(trans);
  release_state(self);
  GST_OBJECT_LOCK(self);
  self->location = g_strdup(self->prop_location);
  self->match = self->prop_match;
  self->start_index = self->prop_start_index;
  self->void_label = self->prop_void_label;
  self->max_proposals = self->prop_max_proposals;
  self->on_error = self->prop_on_error;
  gint n_classes = self->prop_num_classes;
  GstProposalLoadClasses table = self->prop_classes;
  GST_OBJECT_UNLOCK(self);

  if (!self->location || !*self->location) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No proposal location set."),
                      ("set location to the folder of proposal folders (or a folder pattern)"));
    return FALSE;
  }
  if (!set_classes(self, table, n_classes)) return FALSE;
  if (self->void_label >= 0 && self->void_label < self->n_classes) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("void-label %d is a class (there are %d).", self->void_label,
                                                 self->n_classes),
                      (NULL));
    return FALSE;
  }
  if (self->match == GST_PROPOSAL_LOAD_MATCH_PATTERN) return parse_pattern(self, self->location);
  return list_folders(self, self->location);
}

static gboolean gst_proposal_load_stop(GstBaseTransform *trans) {
  release_state(GST_PROPOSAL_LOAD(trans));
  return TRUE;
}

static gboolean gst_proposal_load_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps) {
  (void)outcaps;
  GstProposalLoad *self = GST_PROPOSAL_LOAD(trans);
  self->have_info = gst_video_info_from_caps(&self->info, incaps);
  if (!self->have_info) GST_ERROR_OBJECT(self, "cannot read the frame size from %" GST_PTR_FORMAT, incaps);
  return self->have_info;
}

/* The folder of frame @frame, or NULL when index matching has run out. */
static gchar *frame_folder(GstProposalLoad *self, guint64 frame) {
  if (self->match == GST_PROPOSAL_LOAD_MATCH_PATTERN) {
    gint64 n = (gint64)self->start_index + (gint64)frame;
    if (self->pattern_zero_pad)
      return g_strdup_printf("%s%0*" G_GINT64_FORMAT "%s", self->pattern_prefix, self->pattern_width, n,
                             self->pattern_suffix);
    return g_strdup_printf("%s%*" G_GINT64_FORMAT "%s", self->pattern_prefix, self->pattern_width, n,
                           self->pattern_suffix);
  }
  if (frame >= self->n_folders) return NULL;
  return g_build_filename(self->location, self->folders[frame], NULL);
}

/* Reports a frame's problem as on-error says: GST_FLOW_ERROR after an error
 * message, else a warning the first time this kind occurs and OK (pass) or
 * DROPPED. */
static GstFlowReturn report(GstProposalLoad *self, problem_kind kind, const gchar *text, const gchar *detail) {
  if (self->on_error == GST_PROPOSAL_LOAD_ON_ERROR_ERROR) {
    if (kind == PROBLEM_MISSING) GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("%s", text), ("%s", detail));
    else GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("%s", text), ("%s", detail));
    return GST_FLOW_ERROR;
  }
  if (!(self->warned & kind)) {
    if (kind == PROBLEM_MISSING) GST_ELEMENT_WARNING(self, RESOURCE, NOT_FOUND, ("%s", text), ("%s", detail));
    else GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("%s", text), ("%s", detail));
    self->warned |= kind;
  } else {
    GST_INFO_OBJECT(self, "%s (%s)", text, detail);
  }
  return self->on_error == GST_PROPOSAL_LOAD_ON_ERROR_DROP ? GST_BASE_TRANSFORM_FLOW_DROPPED : GST_FLOW_OK;
}

static GstFlowReturn gst_proposal_load_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  GstProposalLoad *self = GST_PROPOSAL_LOAD(trans);
  if (!self->have_info) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("unknown frame size"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  guint64 frame = self->frame++;
  gint fw = GST_VIDEO_INFO_WIDTH(&self->info), fh = GST_VIDEO_INFO_HEIGHT(&self->info);
  gchar *folder = frame_folder(self, frame);
  GstFlowReturn ret = GST_FLOW_OK;
  gchar *text = NULL, *detail = NULL;
  if (!folder) {
    text = g_strdup_printf("No proposals for frame %" G_GUINT64_FORMAT ".", frame);
    detail = g_strdup_printf("%s has only %u sub-folders", self->location, self->n_folders);
    ret = report(self, PROBLEM_MISSING, text, detail);
  } else if (!g_file_test(folder, G_FILE_TEST_IS_DIR)) {
    text = g_strdup_printf("No proposals for frame %" G_GUINT64_FORMAT ".", frame);
    detail = g_strdup_printf("%s: no such folder", folder);
    ret = report(self, PROBLEM_MISSING, text, detail);
  } else {
    sr_proposal_set set = {0};
    sr_error err = {0};
    if (sr_proposal_set_load_dir(folder, self->n_classes, self->void_label, 0, 0, self->max_proposals, &set,
                                 &err) != SR_OK) {
      text = g_strdup_printf("Could not read the proposals of frame %" G_GUINT64_FORMAT ".", frame);
      detail = g_strdup(err.msg);
      ret = report(self, err.code == SR_ERR_IO ? PROBLEM_MISSING : PROBLEM_UNREADABLE, text, detail);
    } else if (set.width != fw || set.height != fh) {
      text = g_strdup_printf("The proposals of frame %" G_GUINT64_FORMAT " do not match its size.", frame);
      detail = g_strdup_printf("%s: proposals are %dx%d, the frame is %dx%d", folder, set.width, set.height, fw, fh);
      ret = report(self, PROBLEM_SIZE, text, detail);
    } else {
      GstSrProposalMeta *meta = gst_buffer_add_sr_proposal_meta(
          buf, "proposalload", (guint)set.n, (guint)set.width, (guint)set.height, (guint)set.n_classes,
          (const gchar *const *)self->class_names, self->class_colors, set.labels, set.score, set.energy,
          set.unary, set.pairwise, set.rank, set.areas);
      if (meta && set.superpixels)
        gst_sr_proposal_meta_set_superpixels(meta, (guint)set.n_superpixels, set.superpixels);
      GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": %d proposals from %s", frame, set.n, folder);
    }
    sr_proposal_set_clear(&set);
  }
  g_free(text);
  g_free(detail);
  g_free(folder);
  return ret;
}

static void gst_proposal_load_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstProposalLoad *self = GST_PROPOSAL_LOAD(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free(self->prop_location);
      self->prop_location = g_value_dup_string(value);
      break;
    case PROP_MATCH:
      self->prop_match = g_value_get_enum(value);
      break;
    case PROP_START_INDEX:
      self->prop_start_index = g_value_get_int(value);
      break;
    case PROP_NUM_CLASSES:
      self->prop_num_classes = g_value_get_int(value);
      break;
    case PROP_CLASSES:
      self->prop_classes = g_value_get_enum(value);
      break;
    case PROP_VOID_LABEL:
      self->prop_void_label = g_value_get_int(value);
      break;
    case PROP_MAX_PROPOSALS:
      self->prop_max_proposals = g_value_get_int(value);
      break;
    case PROP_ON_ERROR:
      self->prop_on_error = g_value_get_enum(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_proposal_load_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstProposalLoad *self = GST_PROPOSAL_LOAD(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string(value, self->prop_location);
      break;
    case PROP_MATCH:
      g_value_set_enum(value, self->prop_match);
      break;
    case PROP_START_INDEX:
      g_value_set_int(value, self->prop_start_index);
      break;
    case PROP_NUM_CLASSES:
      g_value_set_int(value, self->prop_num_classes);
      break;
    case PROP_CLASSES:
      g_value_set_enum(value, self->prop_classes);
      break;
    case PROP_VOID_LABEL:
      g_value_set_int(value, self->prop_void_label);
      break;
    case PROP_MAX_PROPOSALS:
      g_value_set_int(value, self->prop_max_proposals);
      break;
    case PROP_ON_ERROR:
      g_value_set_enum(value, self->prop_on_error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_proposal_load_finalize(GObject *object) {
  GstProposalLoad *self = GST_PROPOSAL_LOAD(object);
  release_state(self);
  g_free(self->prop_location);
  G_OBJECT_CLASS(gst_proposal_load_parent_class)->finalize(object);
}

static void gst_proposal_load_class_init(GstProposalLoadClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  gobject_class->set_property = gst_proposal_load_set_property;
  gobject_class->get_property = gst_proposal_load_get_property;
  gobject_class->finalize = gst_proposal_load_finalize;

  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Location",
                          "match=index: the folder holding one proposal folder per frame (FOLDER/<k>.png and an "
                          "optional FOLDER/scores.json, as `segrank propose` writes); match=pattern: the folder "
                          "pattern, e.g. proposals/%05d",
                          PROP_LOCATION_DEFAULT, flags));
  g_object_class_install_property(
      gobject_class, PROP_MATCH,
      g_param_spec_enum("match", "Match", "How frame i (counted from 0 since start) finds its proposal folder",
                        GST_TYPE_PROPOSAL_LOAD_MATCH, PROP_MATCH_DEFAULT, flags));
  g_object_class_install_property(
      gobject_class, PROP_START_INDEX,
      g_param_spec_int("start-index", "Start index",
                       "match=pattern: the number of the first frame's folder (like multifilesrc's start-index)", 0,
                       G_MAXINT, PROP_START_INDEX_DEFAULT, flags));
  g_object_class_install_property(
      gobject_class, PROP_NUM_CLASSES,
      g_param_spec_int("num-classes", "Number of classes",
                       "Label values below this are classes (0: as many as the class table has, 11 for camvid)", 0,
                       255, PROP_NUM_CLASSES_DEFAULT, flags));
  g_object_class_install_property(
      gobject_class, PROP_CLASSES,
      g_param_spec_enum("classes", "Classes", "Class table naming the labels and giving their display colours",
                        GST_TYPE_PROPOSAL_LOAD_CLASSES, PROP_CLASSES_DEFAULT, flags));
  g_object_class_install_property(
      gobject_class, PROP_VOID_LABEL,
      g_param_spec_int("void-label", "Void label",
                       "A label value ≥ num-classes allowed in the maps as void (not a class), e.g. 11 for CamVid "
                       "annotations, 255 for VOC; -1: none, every value must be a class; other values are an error",
                       -1, 255, PROP_VOID_LABEL_DEFAULT, flags));
  g_object_class_install_property(
      gobject_class, PROP_MAX_PROPOSALS,
      g_param_spec_int("max-proposals", "Maximum proposals",
                       "Read at most this many proposals per frame, the first in name (rank) order (0: all)", 0,
                       G_MAXINT, PROP_MAX_PROPOSALS_DEFAULT, flags));
  g_object_class_install_property(
      gobject_class, PROP_ON_ERROR,
      g_param_spec_enum("on-error", "On error",
                        "What a frame whose proposal folder is missing, of another size than the frame, or "
                        "unreadable does",
                        GST_TYPE_PROPOSAL_LOAD_ON_ERROR, PROP_ON_ERROR_DEFAULT, flags));

  gst_element_class_set_static_metadata(
      element_class, "Proposal loader", "Filter/Analyzer/Video",
      "Attaches segmentation proposals made by another tool (one folder of label-map PNGs and an optional "
      "scores.json per frame) to each frame as a GstSrProposalMeta; frames pass through unchanged",
      "segrank developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_proposal_load_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_proposal_load_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_proposal_load_set_caps);
  /* In place and never mapped: only the meta is added, so the buffer's
   * memory is shared with upstream, never copied. */
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_proposal_load_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api(GST_TYPE_PROPOSAL_LOAD_MATCH, 0);
  gst_type_mark_as_plugin_api(GST_TYPE_PROPOSAL_LOAD_ON_ERROR, 0);
  gst_type_mark_as_plugin_api(GST_TYPE_PROPOSAL_LOAD_CLASSES, 0);
  GST_DEBUG_CATEGORY_INIT(gst_proposal_load_debug, "proposalload", 0, "Proposal loader");
}

static void gst_proposal_load_init(GstProposalLoad *self) {
  self->prop_location = g_strdup(PROP_LOCATION_DEFAULT);
  self->prop_match = PROP_MATCH_DEFAULT;
  self->prop_start_index = PROP_START_INDEX_DEFAULT;
  self->prop_num_classes = PROP_NUM_CLASSES_DEFAULT;
  self->prop_classes = PROP_CLASSES_DEFAULT;
  self->prop_void_label = PROP_VOID_LABEL_DEFAULT;
  self->prop_max_proposals = PROP_MAX_PROPOSALS_DEFAULT;
  self->prop_on_error = PROP_ON_ERROR_DEFAULT;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
