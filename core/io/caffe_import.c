/* caffe_import.c: maps a Caffe NetParameter (new `layer` records, field 100,
 * or V1 `layers`, field 2) onto segrank layers, reading weights from
 * BlobProto `shape` or the legacy num/channels/height/width. */
#include "caffe_import.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caffe.pb-c.h"

/* One layer record, whichever of the two formats it came from. */
typedef struct {
  const char *name, *type;
  size_t n_blobs;
  Caffe__BlobProto **blobs;
  Caffe__ConvolutionParameter *conv;
  Caffe__PoolingParameter *pool;
  Caffe__LRNParameter *lrn;
  Caffe__DropoutParameter *dropout;
} clayer;

/* Caffe's V1LayerParameter.LayerType numbers for the types we know. */
static const char *v1_type_name(uint32_t t) {
  switch (t) {
    case 1: return "Accuracy";
    case 4: return "Convolution";
    case 5: return "Data";
    case 6: return "Dropout";
    case 9: return "HDF5Data";
    case 12: return "ImageData";
    case 14: return "InnerProduct";
    case 15: return "LRN";
    case 17: return "Pooling";
    case 18: return "ReLU";
    case 20: return "Softmax";
    case 21: return "SoftmaxWithLoss";
    case 22: return "Split";
    case 24: return "WindowData";
    case 29: return "MemoryData";
    case 32: return "DummyData";
    case 36: return "Silence";
    default: return "V1-unknown";
  }
}

/* Layers that carry no computation at inference. */
static gboolean is_ignorable(const char *type) {
  static const char *const names[] = {"Data", "Input", "ImageData", "HDF5Data", "WindowData", "MemoryData",
                                      "DummyData", "Accuracy", "SoftmaxWithLoss", "Silence", "Split", NULL};
  for (int i = 0; names[i]; i++)
    if (!strcmp(type, names[i])) return TRUE;
  return FALSE;
}

typedef struct {
  const char *path;
  sr_error *err;
} ctx;

static sr_status fail(ctx *c, const clayer *l, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sr_status fail(ctx *c, const clayer *l, const char *fmt, ...) {
  char msg[380];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (l) return sr_error_set(c->err, SR_ERR_UNSUPPORTED, "%s: layer %s (%s): %s", c->path, l->name, l->type, msg);
  return sr_error_set(c->err, SR_ERR_FORMAT, "%s: %s", c->path, msg);
}

/* Pick one value for a Caffe repeated/explicit h,w parameter pair. */
static sr_status axis_param(ctx *c, const clayer *l, const char *what, size_t n, const uint32_t *rep,
                            gboolean has_h, uint32_t h, gboolean has_w, uint32_t w, uint32_t dflt, int *kh,
                            int *kw) {
  if (has_h || has_w) {
    *kh = (int)h, *kw = (int)w;
  } else if (n == 0) {
    *kh = *kw = (int)dflt;
  } else if (n == 1) {
    *kh = *kw = (int)rep[0];
  } else if (n == 2) {
    *kh = (int)rep[0], *kw = (int)rep[1];
  } else {
    return fail(c, l, "%s has %zu values; only 2-D is supported", what, n);
  }
  return SR_OK;
}

/* Copies blob @i into a new float array after checking it holds @shape
 * (rank @rank). Legacy 4-D blobs of a lower-rank tensor carry leading 1s. */
static sr_status take_blob(ctx *c, const clayer *l, size_t i, const int *shape, int rank, float **out) {
  if (i >= l->n_blobs) return fail(c, l, "blob %zu is missing", i);
  const Caffe__BlobProto *b = l->blobs[i];
  int64_t dims[8];
  int nd = 0;
  if (b->shape) {
    if (b->shape->n_dim > 8) return fail(c, l, "blob %zu has rank %zu", i, b->shape->n_dim);
    for (size_t k = 0; k < b->shape->n_dim; k++) dims[nd++] = b->shape->dim[k];
  } else {
    int64_t legacy[4] = {b->num, b->channels, b->height, b->width};
    int k = 0;
    while (k < 4 - rank && legacy[k] == 1) k++; /* leading 1s of a lower-rank blob */
    for (; k < 4; k++) dims[nd++] = legacy[k];
  }
  gboolean same = nd == rank;
  for (int k = 0; same && k < rank; k++) same = dims[k] == shape[k];
  if (!same) {
    GString *got = g_string_new(""), *want = g_string_new("");
    for (int k = 0; k < nd; k++) g_string_append_printf(got, k ? "x%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, dims[k]);
    for (int k = 0; k < rank; k++) g_string_append_printf(want, k ? "x%d" : "%d", shape[k]);
    sr_status st = fail(c, l, "blob %zu has shape %s, expected %s", i, got->str, want->str);
    g_string_free(got, TRUE);
    g_string_free(want, TRUE);
    return st;
  }
  size_t count = 1;
  for (int k = 0; k < rank; k++) count *= shape[k];
  float *v = malloc(count * sizeof(float));
  if (b->n_data == count) {
    memcpy(v, b->data, count * sizeof(float));
  } else if (b->n_double_data == count) {
    for (size_t k = 0; k < count; k++) v[k] = (float)b->double_data[k];
  } else {
    free(v);
    return fail(c, l, "blob %zu holds %zu values for a %zu-value shape", i, b->n_data ? b->n_data : b->n_double_data,
                count);
  }
  *out = v;
  return SR_OK;
}

/* Maps one computing layer; @channels is the running input channel count. */
static sr_status map_layer(ctx *c, const clayer *cl, sr_layer *l, int *channels) {
  memset(l, 0, sizeof *l);
  if (strlen(cl->name) >= sizeof l->name) return fail(c, cl, "name longer than %zu bytes", sizeof l->name - 1);
  strcpy(l->name, cl->name);
  const char *t = cl->type;
  if (!strcmp(t, "Convolution")) {
    Caffe__ConvolutionParameter *p = cl->conv;
    if (!p || !p->has_num_output) return fail(c, cl, "no convolution_param.num_output");
    int sh = 1, sw = 1, ph = 0, pw = 0;
    sr_status st;
    if ((st = axis_param(c, cl, "kernel_size", p->n_kernel_size, p->kernel_size, p->has_kernel_h, p->kernel_h,
                         p->has_kernel_w, p->kernel_w, 0, &l->conv.kh, &l->conv.kw)) != SR_OK ||
        (st = axis_param(c, cl, "stride", p->n_stride, p->stride, p->has_stride_h, p->stride_h, p->has_stride_w,
                         p->stride_w, 1, &sh, &sw)) != SR_OK ||
        (st = axis_param(c, cl, "pad", p->n_pad, p->pad, p->has_pad_h, p->pad_h, p->has_pad_w, p->pad_w, 0, &ph,
                         &pw)) != SR_OK)
      return st;
    if (sh != sw || ph != pw) return fail(c, cl, "different vertical and horizontal stride or pad");
    for (size_t k = 0; k < p->n_dilation; k++)
      if (p->dilation[k] != 1) return fail(c, cl, "dilation %u is not supported", p->dilation[k]);
    if (!p->bias_term) return fail(c, cl, "convolutions without bias are not supported");
    l->type = SR_LAYER_CONV;
    l->conv.out_c = (int)p->num_output;
    l->conv.stride = sh, l->conv.pad = ph, l->conv.group = (int)p->group;
    if (l->conv.kh < 1 || l->conv.kw < 1 || l->conv.group < 1 || *channels % l->conv.group ||
        l->conv.out_c % l->conv.group)
      return fail(c, cl, "kernel %dx%d, group %d do not fit %d input channels", l->conv.kh, l->conv.kw,
                  l->conv.group, *channels);
    l->conv.in_c = *channels;
    int wshape[4] = {l->conv.out_c, *channels / l->conv.group, l->conv.kh, l->conv.kw};
    if ((st = take_blob(c, cl, 0, wshape, 4, &l->weight)) != SR_OK) return st;
    if ((st = take_blob(c, cl, 1, &l->conv.out_c, 1, &l->bias)) != SR_OK) return st;
    *channels = l->conv.out_c;
  } else if (!strcmp(t, "ReLU")) {
    l->type = SR_LAYER_RELU;
  } else if (!strcmp(t, "Pooling")) {
    Caffe__PoolingParameter *p = cl->pool;
    if (!p || p->pool != 0) return fail(c, cl, "only MAX pooling is supported");
    if (p->global_pooling) return fail(c, cl, "global pooling is not supported");
    int kh = p->has_kernel_h ? (int)p->kernel_h : (int)p->kernel_size;
    int kw = p->has_kernel_w ? (int)p->kernel_w : (int)p->kernel_size;
    int sh = p->has_stride_h ? (int)p->stride_h : (int)p->stride;
    int sw = p->has_stride_w ? (int)p->stride_w : (int)p->stride;
    int ph = p->has_pad_h ? (int)p->pad_h : (int)p->pad, pw = p->has_pad_w ? (int)p->pad_w : (int)p->pad;
    if (kh != kw || sh != sw || ph != pw) return fail(c, cl, "only square pooling windows are supported");
    if (kh < 1 || sh < 1) return fail(c, cl, "kernel %d stride %d", kh, sh);
    l->type = SR_LAYER_MAXPOOL;
    l->pool = (sr_pool_params){kh, sh, ph};
  } else if (!strcmp(t, "LRN")) {
    Caffe__LRNParameter *p = cl->lrn;
    if (p && p->norm_region != 0) return fail(c, cl, "only ACROSS_CHANNELS normalisation is supported");
    l->type = SR_LAYER_LRN;
    l->lrn = p ? (sr_lrn_params){(int)p->local_size, p->alpha, p->beta, p->k} : (sr_lrn_params){5, 1, 0.75f, 1};
  } else if (!strcmp(t, "Dropout")) {
    l->type = SR_LAYER_DROPOUT;
    l->dropout = cl->dropout ? cl->dropout->dropout_ratio : 0.5f;
  } else if (!strcmp(t, "Softmax")) {
    l->type = SR_LAYER_SOFTMAX;
  } else {
    return fail(c, cl, "this layer type cannot be mapped onto segrank's layers");
  }
  if (l->type != SR_LAYER_CONV && cl->n_blobs) return fail(c, cl, "unexpected weights on a parameter-free layer");
  return SR_OK;
}

static sr_status import_layers(ctx *c, const clayer *cls, size_t n, const sr_caffe_options *opt, sr_model *m) {
  /* Without an explicit trunk, an unmappable layer ends the net at relu5. */
  const char *trunk = opt->trunk;
  gboolean has_relu5 = FALSE, unmappable = FALSE;
  for (size_t i = 0; i < n; i++) {
    const char *t = cls[i].type;
    if (!strcmp(cls[i].name, "relu5")) has_relu5 = TRUE;
    if (!is_ignorable(t) && strcmp(t, "Convolution") && strcmp(t, "ReLU") && strcmp(t, "Pooling") &&
        strcmp(t, "LRN") && strcmp(t, "Dropout") && strcmp(t, "Softmax"))
      unmappable = TRUE;
  }
  if (!trunk && unmappable && has_relu5) trunk = "relu5";
  gboolean found_trunk = trunk == NULL;
  int channels = 3;
  for (size_t i = 0; i < n; i++) {
    if (is_ignorable(cls[i].type)) continue;
    if (m->n_layers >= 200) return fail(c, NULL, "more than 200 layers");
    sr_status st = map_layer(c, &cls[i], &m->layers[m->n_layers], &channels);
    if (st != SR_OK) return st;
    m->n_layers++;
    if (trunk && !strcmp(cls[i].name, trunk)) {
      found_trunk = TRUE;
      break;
    }
  }
  if (!found_trunk) return fail(c, NULL, "no layer named '%s' to end the trunk at", trunk);
  if (m->n_layers == 0) return fail(c, NULL, "no layers with weights or computation");
  return SR_OK;
}

sr_status sr_caffe_import(const char *path, const sr_caffe_options *opt, sr_model **out, sr_error *err) {
  gchar *contents;
  gsize size;
  GError *gerr = NULL;
  if (!g_file_get_contents(path, &contents, &size, &gerr)) {
    sr_status st = sr_error_set(err, SR_ERR_IO, "%s", gerr->message);
    g_error_free(gerr);
    return st;
  }
  ctx c = {path, err};
  Caffe__NetParameter *net = caffe__net_parameter__unpack(NULL, size, (const uint8_t *)contents);
  g_free(contents);
  if (!net) return fail(&c, NULL, "not a Caffe NetParameter (protobuf parse failed; truncated or not a .caffemodel)");
  size_t n = net->n_layer ? net->n_layer : net->n_layers;
  if (net->n_layer && net->n_layers) {
    caffe__net_parameter__free_unpacked(net, NULL);
    return fail(&c, NULL, "file mixes new `layer` and V1 `layers` records");
  }
  clayer *cls = calloc(n + 1, sizeof *cls);
  for (size_t i = 0; i < n; i++) {
    if (net->n_layer) {
      Caffe__LayerParameter *l = net->layer[i];
      cls[i] = (clayer){l->name ? l->name : "", l->type ? l->type : "", l->n_blobs, l->blobs,
                        l->convolution_param, l->pooling_param, l->lrn_param, l->dropout_param};
    } else {
      Caffe__V1LayerParameter *l = net->layers[i];
      cls[i] = (clayer){l->name ? l->name : "", v1_type_name(l->type), l->n_blobs, l->blobs,
                        l->convolution_param, l->pooling_param, l->lrn_param, l->dropout_param};
    }
  }
  sr_model *m = sr_model_new_empty((int)n + 16);
  sr_status st = import_layers(&c, cls, n, opt, m);
  free(cls);
  caffe__net_parameter__free_unpacked(net, NULL);
  int last_conv = -1;
  gboolean ends_in_softmax = m->n_layers > 0 && m->layers[m->n_layers - 1].type == SR_LAYER_SOFTMAX;
  for (int i = 0; i < m->n_layers; i++)
    if (m->layers[i].type == SR_LAYER_CONV) last_conv = i;
  if (st == SR_OK && last_conv < 0) st = fail(&c, NULL, "no convolution layers");
  gboolean head = FALSE;
  if (st == SR_OK) {
    if (ends_in_softmax) {
      sr_model_set_default_classes(m, m->layers[last_conv].conv.out_c);
    } else if (opt->classes > 1) {
      sr_model_set_default_classes(m, opt->classes);
      sr_model_append_head(m, opt->classes);
      head = TRUE;
    } else {
      st = sr_error_set(err, SR_ERR_INVALID,
                        "%s: the imported layers end at %s without a softmax; give a number of classes to append "
                        "the SegNet head conv6-8",
                        path, m->layers[m->n_layers - 1].name);
    }
  }
  if (st == SR_OK) st = sr_model_init_missing(m, opt->seed, err);
  if (st == SR_OK) {
    char *base = g_path_get_basename(path);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "source");
    json_builder_add_string_value(b, "caffe-import");
    json_builder_set_member_name(b, "caffemodel");
    json_builder_add_string_value(b, base);
    json_builder_set_member_name(b, "head");
    json_builder_add_string_value(b, head ? "conv6-8 appended, random init" : "imported");
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    m->provenance = json_to_string(root, FALSE);
    json_node_unref(root);
    g_object_unref(b);
    g_free(base);
  }
  if (st != SR_OK) {
    sr_model_free(m);
    return st;
  }
  *out = m;
  return SR_OK;
}
