/* caffe_import.c: maps a Caffe NetParameter (new `layer` records, field 100,
 * or V1 `layers`, field 2) onto the paper's SegNet: conv1-5 of CaffeNet and,
 * when present, conv6-8, matched by layer name, weights read from BlobProto
 * `shape` or the legacy num/channels/height/width. Weights-only files (no
 * convolution_param) are accepted; parameters that are present must agree
 * with the network. The layer chain is checked too: the file's Convolution,
 * ReLU, Pooling, LRN, Dropout and Softmax records must come in SegNet's order
 * (CaffeNet's: pool, then normalise; an AlexNet-ordered file normalises first
 * and is refused) with SegNet's pooling, LRN and dropout parameters; a layer
 * of any other computing type inside the chain is refused. A weights-only
 * file without records of some type (say no Pooling at all) is checked on the
 * types it has. */
#include "caffe_import.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caffe.pb-c.h"
#include "input_file.h"

/* protobuf messages are limited to 2 GiB. */
#define CAFFE_MAX_BYTES ((guint64)2 << 30)

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
  if (!v) return sr_error_set(c->err, SR_ERR_NOMEM, "%s: out of memory", c->path);
  if (b->n_data == count) {
    memcpy(v, b->data, count * sizeof(float));
  } else if (b->n_double_data == count) {
    for (size_t k = 0; k < count; k++) v[k] = (float)b->double_data[k];
  } else {
    free(v);
    return fail(c, l, "blob %zu holds %zu values for a %zu-value shape", i, b->n_data ? b->n_data : b->n_double_data,
                count);
  }
  for (size_t k = 0; k < count; k++)
    if (!isfinite(v[k])) {
      free(v);
      return fail(c, l, "blob %zu: value %zu is not finite as a float32", i, k);
    }
  *out = v;
  return SR_OK;
}

/* Checks the convolution parameters a layer record carries (weights-only
 * files carry none) against the template layer @l. */
static sr_status check_conv_params(ctx *c, const clayer *cl, const sr_layer *l) {
  if (strcmp(cl->type, "Convolution")) return fail(c, cl, "expected a Convolution layer under this name");
  const Caffe__ConvolutionParameter *p = cl->conv;
  if (!p) return SR_OK;
  int kh = 0, kw = 0, sh = 1, sw = 1, ph = 0, pw = 0;
  sr_status st;
  if ((st = axis_param(c, cl, "kernel_size", p->n_kernel_size, p->kernel_size, p->has_kernel_h, p->kernel_h,
                       p->has_kernel_w, p->kernel_w, 0, &kh, &kw)) != SR_OK ||
      (st = axis_param(c, cl, "stride", p->n_stride, p->stride, p->has_stride_h, p->stride_h, p->has_stride_w,
                       p->stride_w, 1, &sh, &sw)) != SR_OK ||
      (st = axis_param(c, cl, "pad", p->n_pad, p->pad, p->has_pad_h, p->pad_h, p->has_pad_w, p->pad_w, 0, &ph,
                       &pw)) != SR_OK)
    return st;
  for (size_t k = 0; k < p->n_dilation; k++)
    if (p->dilation[k] != 1) return fail(c, cl, "dilation %u is not supported", p->dilation[k]);
  if (!p->bias_term) return fail(c, cl, "convolutions without bias are not supported");
  const sr_conv_params *t = &l->conv;
  if ((p->has_num_output && (int)p->num_output != t->out_c) || (kh && (kh != t->kh || kw != t->kw)) ||
      sh != t->stride || sw != t->stride || ph != t->pad || pw != t->pad || (int)p->group != t->group)
    return fail(c, cl,
                "parameters (outputs %u, kernel %dx%d, stride %dx%d, pad %dx%d, group %u) differ from the "
                "paper's SegNet (outputs %d, kernel %dx%d, stride %d, pad %d, group %d)",
                p->num_output, kh, kw, sh, sw, ph, pw, p->group, t->out_c, t->kh, t->kw, t->stride, t->pad, t->group);
  return SR_OK;
}

/* The Caffe type of each of our layer types. */
static const char *caffe_type(sr_layer_type t) {
  switch (t) {
    case SR_LAYER_CONV: return "Convolution";
    case SR_LAYER_RELU: return "ReLU";
    case SR_LAYER_MAXPOOL: return "Pooling";
    case SR_LAYER_LRN: return "LRN";
    case SR_LAYER_DROPOUT: return "Dropout";
    case SR_LAYER_SOFTMAX: return "Softmax";
  }
  return "?";
}

/* Sets @t and returns TRUE when Caffe type @caffe is one SegNet is made of. */
static gboolean chain_type(const char *caffe, sr_layer_type *t) {
  for (int k = SR_LAYER_CONV; k <= SR_LAYER_SOFTMAX; k++)
    if (!strcmp(caffe, caffe_type((sr_layer_type)k))) {
      *t = (sr_layer_type)k;
      return TRUE;
    }
  return FALSE;
}

/* Records that change nothing the net computes: inputs, losses, metrics,
 * blob plumbing. */
static gboolean passive_type(const char *caffe) {
  static const char *const names[] = {"Input",     "Data",       "ImageData", "HDF5Data", "MemoryData",     "WindowData",
                                      "DummyData", "Split",      "Silence",   "Accuracy", "SoftmaxWithLoss"};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++)
    if (!strcmp(caffe, names[k])) return TRUE;
  return FALSE;
}

static gboolean close_to(float a, float b) { return fabsf(a - b) <= 1e-5f * fmaxf(fabsf(a), fabsf(b)); }

/* Checks a Pooling record's parameters (none: a weights-only record)
 * against our max-pooling layer @l. */
static sr_status check_pool_params(ctx *c, const clayer *cl, const sr_layer *l) {
  const Caffe__PoolingParameter *p = cl->pool;
  if (!p) return SR_OK;
  const sr_pool_params *t = &l->pool;
  if (p->global_pooling) return fail(c, cl, "global pooling; the paper's SegNet pools %dx%d windows", t->kernel, t->kernel);
  int kh = 0, kw = 0, sh = 1, sw = 1, ph = 0, pw = 0;
  sr_status st;
  if ((st = axis_param(c, cl, "kernel_size", p->has_kernel_size, &p->kernel_size, p->has_kernel_h, p->kernel_h,
                       p->has_kernel_w, p->kernel_w, 0, &kh, &kw)) != SR_OK ||
      (st = axis_param(c, cl, "stride", 1, &p->stride, p->has_stride_h, p->stride_h, p->has_stride_w, p->stride_w, 1,
                       &sh, &sw)) != SR_OK ||
      (st = axis_param(c, cl, "pad", 1, &p->pad, p->has_pad_h, p->pad_h, p->has_pad_w, p->pad_w, 0, &ph, &pw)) != SR_OK)
    return st;
  static const char *const kinds[] = {"MAX", "AVE", "STOCHASTIC"};
  const char *kind = p->pool < 3 ? kinds[p->pool] : "unknown";
  if (p->pool != 0 || kh != t->kernel || kw != t->kernel || sh != t->stride || sw != t->stride || ph != t->pad ||
      pw != t->pad)
    return fail(c, cl,
                "pooling (%s, kernel %dx%d, stride %dx%d, pad %dx%d) differs from the paper's SegNet %s (MAX, "
                "kernel %d, stride %d, pad %d)",
                kind, kh, kw, sh, sw, ph, pw, l->name, t->kernel, t->stride, t->pad);
  return SR_OK;
}

/* Checks an LRN record's parameters (none: a weights-only record); Caffe's
 * defaults stand for the fields a present lrn_param leaves out. */
static sr_status check_lrn_params(ctx *c, const clayer *cl, const sr_layer *l) {
  const Caffe__LRNParameter *p = cl->lrn;
  if (!p) return SR_OK;
  const sr_lrn_params *t = &l->lrn;
  if (p->norm_region != 0 || (int)p->local_size != t->size || !close_to(p->alpha, t->alpha) ||
      !close_to(p->beta, t->beta) || !close_to(p->k, t->k))
    return fail(c, cl,
                "LRN (%s, local_size %u, alpha %g, beta %g, k %g) differs from the paper's SegNet %s "
                "(ACROSS_CHANNELS, local_size %d, alpha %g, beta %g, k %g)",
                p->norm_region ? "WITHIN_CHANNEL" : "ACROSS_CHANNELS", p->local_size, p->alpha, p->beta, p->k,
                l->name, t->size, t->alpha, t->beta, t->k);
  return SR_OK;
}

static sr_status check_dropout_params(ctx *c, const clayer *cl, const sr_layer *l) {
  if (cl->dropout && !close_to(cl->dropout->dropout_ratio, l->dropout))
    return fail(c, cl, "dropout ratio %g differs from the paper's SegNet %s (%g)", cl->dropout->dropout_ratio,
                l->name, l->dropout);
  return SR_OK;
}

/* Walks the file's records against @m's layers (the whole chain when the
 * file has conv6-8 (@head), else the trunk through relu5: what follows in a
 * CaffeNet file, pool5 and fc6-8 with their ReLUs and dropouts, is the
 * dropped classifier). Our layers of a type the file has no record of are
 * skipped, so weights-only files pass on the records they have. */
static sr_status check_chain(ctx *c, const clayer *cls, size_t n, const sr_model *m, gboolean head) {
  gboolean has_type[SR_LAYER_SOFTMAX + 1] = {0};
  for (size_t i = 0; i < n; i++) {
    sr_layer_type t;
    if (chain_type(cls[i].type, &t)) has_type[t] = TRUE;
  }
  int end = m->n_layers;
  if (!head) {
    for (end = 0; end < m->n_layers && strcmp(m->layers[end].name, "conv5"); end++) {
    }
    for (end++; end < m->n_layers && m->layers[end].type == SR_LAYER_RELU; end++) {
    }
  }
  int j = 0;
  const sr_layer *prev = NULL;
  for (size_t i = 0; i < n; i++) {
    const clayer *cl = &cls[i];
    while (j < end && !has_type[m->layers[j].type]) j++;
    if (passive_type(cl->type)) continue;
    if (j == end) {
      if (!head) break;
      return fail(c, cl, "follows %s, where the paper's SegNet ends", prev ? prev->name : "the chain");
    }
    const sr_layer *l = &m->layers[j];
    sr_layer_type t;
    if (!chain_type(cl->type, &t))
      return fail(c, cl, "a layer of this type at the place of %s (%s) is not part of the paper's SegNet", l->name,
                  caffe_type(l->type));
    if (t != l->type || (t == SR_LAYER_CONV && strcmp(cl->name, l->name))) {
      const char *hint = t == SR_LAYER_LRN && l->type == SR_LAYER_MAXPOOL
                             ? " (normalising before pooling is AlexNet's order; CaffeNet's and SegNet's pool first)"
                             : "";
      return fail(c, cl, "layer order differs from the paper's SegNet, which has %s (%s) here%s%s%s%s", l->name,
                  caffe_type(l->type), prev ? " (after " : "", prev ? prev->name : "", prev ? ")" : "", hint);
    }
    sr_status st = SR_OK;
    if (t == SR_LAYER_MAXPOOL)
      st = check_pool_params(c, cl, l);
    else if (t == SR_LAYER_LRN)
      st = check_lrn_params(c, cl, l);
    else if (t == SR_LAYER_DROPOUT)
      st = check_dropout_params(c, cl, l);
    if (st != SR_OK) return st;
    prev = l;
    j++;
  }
  while (j < end && !has_type[m->layers[j].type]) j++;
  if (j < end)
    return fail(c, NULL, "no %s record for the paper's SegNet %s%s%s, though the file has %s layers elsewhere",
                caffe_type(m->layers[j].type), m->layers[j].name, prev ? " after " : "", prev ? prev->name : "",
                caffe_type(m->layers[j].type));
  return SR_OK;
}

static const clayer *find_layer(const clayer *cls, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(cls[i].name, name)) return &cls[i];
  return NULL;
}

/* Number of outputs of a blob's first axis (conv8's class count). */
static int blob_outputs(const Caffe__BlobProto *b) {
  if (b->shape) return b->shape->n_dim ? (int)b->shape->dim[0] : 0;
  return b->num;
}

static const char *const conv_names[] = {"conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7", "conv8"};

static sr_status import_layers(ctx *c, const clayer *cls, size_t n, const sr_caffe_options *opt, sr_model **out,
                               int *head_imported) {
  /* Every layer with weights must be one we map; CaffeNet's classifier is
   * dropped, as the paper does. */
  for (size_t i = 0; i < n; i++) {
    if (!cls[i].n_blobs) continue;
    gboolean known = FALSE;
    for (int k = 0; k < 8; k++) known |= !strcmp(cls[i].name, conv_names[k]);
    if (!known && !(!strcmp(cls[i].type, "InnerProduct") && g_str_has_prefix(cls[i].name, "fc")))
      return fail(c, &cls[i], "weights that map onto no layer of SegNet (conv1-8; fc* is dropped)");
  }
  for (int k = 0; k < 5; k++)
    if (!find_layer(cls, n, conv_names[k])) return fail(c, NULL, "no layer %s: not a CaffeNet/SegNet model", conv_names[k]);
  int head = !!find_layer(cls, n, "conv6") + !!find_layer(cls, n, "conv7") + !!find_layer(cls, n, "conv8");
  if (head != 0 && head != 3) return fail(c, NULL, "conv6, conv7 and conv8 must be all present or all absent");
  int classes = opt->classes;
  if (head == 3) {
    const clayer *c8 = find_layer(cls, n, "conv8");
    if (!c8->n_blobs) return fail(c, c8, "no weights");
    classes = blob_outputs(c8->blobs[0]);
    if (opt->classes && opt->classes != classes)
      return fail(c, c8, "predicts %d classes, but %d were asked for", classes, opt->classes);
  } else if (classes < 2) {
    return sr_error_set(c->err, SR_ERR_INVALID,
                        "%s: no conv6-8 (an ImageNet CaffeNet?): give the number of classes to append the SegNet head",
                        c->path);
  }
  sr_model *m;
  sr_status st = sr_model_new_segnet(classes, NULL, opt->seed, &m, c->err);
  if (st != SR_OK) return st;
  if ((st = check_chain(c, cls, n, m, head == 3)) != SR_OK) {
    sr_model_free(m);
    return st;
  }
  for (int i = 0; i < m->n_layers && st == SR_OK; i++) {
    sr_layer *l = &m->layers[i];
    const clayer *cl = l->type == SR_LAYER_CONV ? find_layer(cls, n, l->name) : NULL;
    if (!cl) continue; /* conv6-8 of a trunk-only file keep their random weights */
    int wshape[4] = {l->conv.out_c, l->conv.in_c / l->conv.group, l->conv.kh, l->conv.kw};
    float *w = NULL, *b = NULL;
    if ((st = check_conv_params(c, cl, l)) != SR_OK || (st = take_blob(c, cl, 0, wshape, 4, &w)) != SR_OK ||
        (st = take_blob(c, cl, 1, &l->conv.out_c, 1, &b)) != SR_OK) {
      free(w);
      break;
    }
    if (cl->n_blobs > 2) {
      free(w), free(b);
      st = fail(c, cl, "%zu blobs; a convolution has weights and bias", cl->n_blobs);
      break;
    }
    free(l->weight), free(l->bias);
    l->weight = w, l->bias = b;
  }
  if (st != SR_OK) {
    sr_model_free(m);
    return st;
  }
  *head_imported = head == 3;
  *out = m;
  return SR_OK;
}

sr_status sr_caffe_import(const char *path, const sr_caffe_options *opt, sr_model **out, sr_error *err) {
  gchar *contents;
  gsize size;
  *out = NULL;
  sr_status rst = sr_input_read(path, CAFFE_MAX_BYTES, "caffemodel", &contents, &size, err);
  if (rst != SR_OK) return rst;
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
  if (!cls) {
    caffe__net_parameter__free_unpacked(net, NULL);
    return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for %zu layer records", path, n);
  }
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
  sr_model *m = NULL;
  int head = 0;
  sr_status st = import_layers(&c, cls, n, opt, &m, &head);
  free(cls);
  caffe__net_parameter__free_unpacked(net, NULL);
  if (st == SR_OK) {
    char *base = g_path_get_basename(path);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "source");
    json_builder_add_string_value(b, "caffe-import");
    json_builder_set_member_name(b, "caffemodel");
    json_builder_add_string_value(b, base);
    json_builder_set_member_name(b, "head");
    json_builder_add_string_value(b, head ? "conv6-8 imported" : "conv6-8 random init (trunk-only file)");
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    m->provenance = json_to_string(root, FALSE);
    json_node_unref(root);
    g_object_unref(b);
    g_free(base);
  }
  if (st != SR_OK) return st;
  *out = m;
  return SR_OK;
}
