/* test_caffe_import.c: writes .caffemodel files itself (protobuf-c packing of
 * the same schema) in both record formats, both blob shape conventions, with
 * and without convolution parameters, with and without the pooling, LRN,
 * dropout and softmax records, and checks that the import reproduces the
 * weights exactly, appends a head when asked, and rejects what it cannot map
 * (AlexNet's layer order included) with a message naming the layer. */
#include <glib.h>
#include <string.h>

#include "caffe.pb-c.h"
#include "test_util.h"

typedef struct {
  Caffe__BlobProto blob[2];
  Caffe__BlobProto *blobs[2];
  Caffe__BlobShape shape[2];
  int64_t dims[2][4];
  Caffe__ConvolutionParameter conv;
  uint32_t kernel, stride, pad;
  Caffe__PoolingParameter pool;
  Caffe__LRNParameter lrn;
  Caffe__DropoutParameter dropout;
} conv_rec;

/* Fills @r with layer @l's weights; @legacy uses num/channels/height/width. */
static void make_blobs(conv_rec *r, const sr_layer *l, gboolean legacy) {
  const sr_conv_params *p = &l->conv;
  int64_t wd[4] = {p->out_c, p->in_c / p->group, p->kh, p->kw};
  for (int b = 0; b < 2; b++) {
    caffe__blob_proto__init(&r->blob[b]);
    r->blobs[b] = &r->blob[b];
    int rank = b == 0 ? 4 : 1;
    if (legacy) {
      int64_t d[4] = {1, 1, 1, p->out_c};
      const int64_t *s = b == 0 ? wd : d;
      r->blob[b].has_num = r->blob[b].has_channels = r->blob[b].has_height = r->blob[b].has_width = 1;
      r->blob[b].num = (int)s[0], r->blob[b].channels = (int)s[1];
      r->blob[b].height = (int)s[2], r->blob[b].width = (int)s[3];
    } else {
      caffe__blob_shape__init(&r->shape[b]);
      memcpy(r->dims[b], b == 0 ? wd : (int64_t[]){p->out_c}, rank * sizeof(int64_t));
      r->shape[b].n_dim = rank;
      r->shape[b].dim = r->dims[b];
      r->blob[b].shape = &r->shape[b];
    }
    r->blob[b].n_data = b == 0 ? (size_t)(wd[0] * wd[1] * wd[2] * wd[3]) : (size_t)p->out_c;
    r->blob[b].data = b == 0 ? l->weight : l->bias;
  }
  caffe__convolution_parameter__init(&r->conv);
  r->conv.has_num_output = 1, r->conv.num_output = p->out_c;
  r->kernel = p->kh, r->stride = p->stride, r->pad = p->pad;
  r->conv.n_kernel_size = 1, r->conv.kernel_size = &r->kernel;
  r->conv.n_stride = 1, r->conv.stride = &r->stride;
  r->conv.n_pad = 1, r->conv.pad = &r->pad;
  r->conv.has_group = 1, r->conv.group = p->group;
}

typedef struct {
  gboolean v1, legacy, params, trunk_only;
  const char *extra;    /* name of an extra layer with weights (NULL: none) */
  const char *drop;     /* conv layer to leave out */
  int stride1;          /* conv1 stride written into the params (0: right one) */
  /* With @chain every layer of @m is written (pool, LRN, dropout, softmax
   * records with their parameters), not only conv and ReLU; @alexnet
   * writes each norm before the pool it follows; @pool2_stride and
   * @norm2_beta (0: the right ones) alter pool2 and norm2. */
  gboolean chain, alexnet;
  int pool2_stride;
  float norm2_beta;
  const char *mid; /* type of a weightless record written after conv2 (NULL: none) */
} variant;

static const char *const caffe_types[] = {"Convolution", "ReLU", "Pooling", "LRN", "Dropout", "Softmax"};
static const int v1_types[] = {4, 18, 17, 15, 6, 20};

/* Writes the conv layers of @m (plus a ReLU and an fc6; with v.chain every
 * layer) as a caffemodel. */
static char *write_caffemodel(const char *dir, const char *name, const sr_model *m, variant v) {
  conv_rec recs[32];
  Caffe__LayerParameter layers[40], *lp[40];
  Caffe__V1LayerParameter v1[40], *v1p[40];
  int order[32];
  for (int i = 0; i < m->n_layers; i++) order[i] = i;
  for (int i = 0; v.alexnet && i + 1 < m->n_layers; i++)
    if (m->layers[i].type == SR_LAYER_MAXPOOL && m->layers[i + 1].type == SR_LAYER_LRN)
      order[i] = i + 1, order[i + 1] = i, i++;
  size_t n = 0;
  for (int oi = 0; oi < m->n_layers; oi++) {
    const sr_layer *l = &m->layers[order[oi]];
    if (!v.chain && l->type != SR_LAYER_CONV && l->type != SR_LAYER_RELU) continue;
    if (v.trunk_only && l->type == SR_LAYER_CONV && atoi(l->name + 4) > 5) continue;
    if (v.trunk_only && (l->type == SR_LAYER_DROPOUT || l->type == SR_LAYER_SOFTMAX)) continue;
    if (v.drop && !strcmp(l->name, v.drop)) continue;
    caffe__layer_parameter__init(&layers[n]);
    caffe__v1_layer_parameter__init(&v1[n]);
    layers[n].name = v1[n].name = (char *)l->name;
    if (l->type == SR_LAYER_CONV) {
      make_blobs(&recs[n], l, v.legacy);
      if (v.stride1 && !strcmp(l->name, "conv1")) recs[n].stride = v.stride1;
      layers[n].type = "Convolution", v1[n].has_type = 1, v1[n].type = 4;
      layers[n].n_blobs = v1[n].n_blobs = 2;
      layers[n].blobs = v1[n].blobs = recs[n].blobs;
      if (v.params) layers[n].convolution_param = v1[n].convolution_param = &recs[n].conv;
    } else {
      layers[n].type = (char *)caffe_types[l->type], v1[n].has_type = 1, v1[n].type = v1_types[l->type];
    }
    if (l->type == SR_LAYER_MAXPOOL) {
      caffe__pooling_parameter__init(&recs[n].pool);
      recs[n].pool.has_pool = 1, recs[n].pool.pool = 0;
      recs[n].pool.has_kernel_size = 1, recs[n].pool.kernel_size = l->pool.kernel;
      recs[n].pool.has_stride = 1, recs[n].pool.stride = l->pool.stride;
      if (v.pool2_stride && !strcmp(l->name, "pool2")) recs[n].pool.stride = v.pool2_stride;
      layers[n].pooling_param = v1[n].pooling_param = &recs[n].pool;
    } else if (l->type == SR_LAYER_LRN) {
      caffe__lrnparameter__init(&recs[n].lrn);
      recs[n].lrn.has_local_size = 1, recs[n].lrn.local_size = l->lrn.size;
      recs[n].lrn.has_alpha = 1, recs[n].lrn.alpha = l->lrn.alpha;
      recs[n].lrn.has_beta = 1, recs[n].lrn.beta = l->lrn.beta;
      if (v.norm2_beta && !strcmp(l->name, "norm2")) recs[n].lrn.beta = v.norm2_beta;
      layers[n].lrn_param = v1[n].lrn_param = &recs[n].lrn; /* k left to Caffe's default, 1 */
    } else if (l->type == SR_LAYER_DROPOUT) {
      caffe__dropout_parameter__init(&recs[n].dropout);
      recs[n].dropout.has_dropout_ratio = 1, recs[n].dropout.dropout_ratio = l->dropout;
      layers[n].dropout_param = v1[n].dropout_param = &recs[n].dropout;
    }
    lp[n] = &layers[n], v1p[n] = &v1[n];
    n++;
    if (v.mid && !strcmp(l->name, "conv2")) {
      caffe__layer_parameter__init(&layers[n]);
      caffe__v1_layer_parameter__init(&v1[n]);
      layers[n].name = v1[n].name = "odd2";
      layers[n].type = (char *)v.mid, v1[n].has_type = 1, v1[n].type = 99;
      lp[n] = &layers[n], v1p[n] = &v1[n];
      n++;
    }
  }
  float fc[6] = {1, 2, 3, 4, 5, 6};
  Caffe__BlobProto fcb;
  Caffe__BlobProto *fcbp = &fcb;
  caffe__blob_proto__init(&fcb);
  fcb.n_data = 6, fcb.data = fc;
  if (v.extra) {
    caffe__layer_parameter__init(&layers[n]);
    caffe__v1_layer_parameter__init(&v1[n]);
    layers[n].name = v1[n].name = (char *)v.extra;
    gboolean fc6 = g_str_has_prefix(v.extra, "fc");
    layers[n].type = fc6 ? "InnerProduct" : "BatchNorm", v1[n].has_type = 1, v1[n].type = fc6 ? 14 : 99;
    layers[n].n_blobs = v1[n].n_blobs = 1;
    layers[n].blobs = v1[n].blobs = &fcbp;
    lp[n] = &layers[n], v1p[n] = &v1[n];
    n++;
  }
  Caffe__NetParameter net;
  caffe__net_parameter__init(&net);
  net.name = "test";
  if (v.v1)
    net.n_layers = n, net.layers = v1p;
  else
    net.n_layer = n, net.layer = lp;
  size_t size = caffe__net_parameter__get_packed_size(&net);
  uint8_t *buf = g_malloc(size);
  caffe__net_parameter__pack(&net, buf);
  char *path = g_build_filename(dir, name, NULL);
  g_file_set_contents(path, (gchar *)buf, (gssize)size, NULL);
  g_free(buf);
  return path;
}

static void check_weights(const sr_model *want, const sr_model *got, int upto_conv) {
  for (int i = 0; i < want->n_layers; i++) {
    const sr_layer *a = &want->layers[i], *b = &got->layers[i];
    if (a->type != SR_LAYER_CONV || atoi(a->name + 4) > upto_conv) continue;
    size_t n = sr_layer_weight_count(a);
    CHECK(!memcmp(a->weight, b->weight, n * sizeof(float)) && !memcmp(a->bias, b->bias, a->conv.out_c * 4),
          "%s weights differ after import", a->name);
  }
}

static void expect_error(const char *dir, const char *name, const sr_model *m, variant v, int classes,
                         const char *needle) {
  char *p = write_caffemodel(dir, name, m, v);
  sr_caffe_options opt = {classes, 1};
  sr_model *out = NULL;
  sr_error err = {0};
  CHECK(sr_caffe_import(p, &opt, &out, &err) != SR_OK && !out, "%s imported", name);
  CHECK(strstr(err.msg, needle) != NULL, "%s: message lacks '%s': %s", name, needle, err.msg);
  printf("rejected %-14s %s\n", name, err.msg);
  g_free(p);
}

int main(void) {
  char *dir = g_dir_make_tmp("segrank-caffe-XXXXXX", NULL);
  sr_error err = {0};
  sr_model *m;
  CHECK(sr_model_new_segnet(5, NULL, 77, &m, &err) == SR_OK, "%s", err.msg);

  /* New `layer` records with `shape` blobs and parameters: full SegNet. */
  char *p = write_caffemodel(dir, "new.caffemodel", m, (variant){.params = TRUE});
  sr_caffe_options opt = {0, 1};
  sr_model *got;
  CHECK(sr_caffe_import(p, &opt, &got, &err) == SR_OK, "%s", err.msg);
  if (got) {
    CHECK(got->n_classes == 5, "%d classes", got->n_classes);
    check_weights(m, got, 8);
    sr_model_free(got);
  }
  g_free(p);

  /* V1 `layers`, legacy 4-D blobs, weights only, CaffeNet trunk + fc6:
   * conv6-8 appended for 3 classes. */
  p = write_caffemodel(dir, "v1.caffemodel", m, (variant){.v1 = TRUE, .legacy = TRUE, .trunk_only = TRUE, .extra = "fc6"});
  opt.classes = 3;
  CHECK(sr_caffe_import(p, &opt, &got, &err) == SR_OK, "%s", err.msg);
  if (got) {
    CHECK(got->n_classes == 3 && got->n_layers == m->n_layers, "%d classes, %d layers", got->n_classes,
          got->n_layers);
    check_weights(m, got, 5);
    CHECK(got->provenance && strstr(got->provenance, "random init"), "provenance %s", got->provenance);
    sr_model_free(got);
  }
  g_free(p);

  /* Every layer with its parameters, in CaffeNet's order: still imports, in
   * both record formats (V1: the trunk, an ImageNet file's fc6 dropped). */
  p = write_caffemodel(dir, "chain.caffemodel", m, (variant){.params = TRUE, .chain = TRUE});
  opt.classes = 0;
  CHECK(sr_caffe_import(p, &opt, &got, &err) == SR_OK, "chain: %s", err.msg);
  if (got) {
    check_weights(m, got, 8);
    sr_model_free(got);
  }
  g_free(p);
  p = write_caffemodel(dir, "chain-v1.caffemodel", m,
                       (variant){.v1 = TRUE, .params = TRUE, .chain = TRUE, .trunk_only = TRUE, .extra = "fc6"});
  opt.classes = 3;
  CHECK(sr_caffe_import(p, &opt, &got, &err) == SR_OK, "chain-v1: %s", err.msg);
  if (got) {
    check_weights(m, got, 5);
    sr_model_free(got);
  }
  g_free(p);
  opt.classes = 0;

  /* AlexNet's order (norm before pool), a pool2 stride and a norm2 beta
   * that differ, and a layer type SegNet has no counterpart for, are refused
   * naming the layer and what differs. */
  expect_error(dir, "alexnet-order", m, (variant){.params = TRUE, .chain = TRUE, .alexnet = TRUE}, 0,
               "layer norm1 (LRN): layer order differs from the paper's SegNet, which has pool1 (Pooling) here "
               "(after relu1) (normalising before pooling is AlexNet's order");
  expect_error(dir, "alexnet-v1", m, (variant){.v1 = TRUE, .chain = TRUE, .alexnet = TRUE, .trunk_only = TRUE}, 3,
               "layer norm1 (LRN): layer order differs");
  expect_error(dir, "pool2-stride", m, (variant){.params = TRUE, .chain = TRUE, .pool2_stride = 1}, 0,
               "layer pool2 (Pooling): pooling (MAX, kernel 3x3, stride 1x1, pad 0x0) differs from the paper's "
               "SegNet pool2 (MAX, kernel 3, stride 2, pad 0)");
  expect_error(dir, "norm2-beta", m, (variant){.params = TRUE, .chain = TRUE, .norm2_beta = 0.5f}, 0,
               "layer norm2 (LRN): LRN (ACROSS_CHANNELS, local_size 5, alpha 0.0001, beta 0.5, k 1) differs");
  expect_error(dir, "mid-sigmoid", m, (variant){.params = TRUE, .chain = TRUE, .mid = "Sigmoid"}, 0,
               "layer odd2 (Sigmoid): a layer of this type at the place of relu2 (ReLU) is not part");

  expect_error(dir, "trunk-no-cls", m, (variant){.trunk_only = TRUE}, 0, "number of classes");
  expect_error(dir, "unknown-layer", m, (variant){.params = TRUE, .extra = "bn1"}, 0, "layer bn1 (BatchNorm)");
  expect_error(dir, "missing-conv3", m, (variant){.drop = "conv3"}, 0, "no layer conv3");
  expect_error(dir, "partial-head", m, (variant){.drop = "conv7"}, 0, "all present or all absent");
  expect_error(dir, "wrong-stride", m, (variant){.params = TRUE, .stride1 = 2}, 0, "differ from the paper");
  expect_error(dir, "class-clash", m, (variant){0}, 4, "predicts 5 classes");

  /* A weight that is not finite (NaN in conv3, inf in conv5's bias) is refused, not written. */
  sr_model *nonfinite = sr_model_copy(m);
  nonfinite->layers[8].weight[17] = NAN;
  expect_error(dir, "nan-weight", nonfinite, (variant){0}, 0, "not finite");
  nonfinite->layers[8].weight[17] = 0;
  nonfinite->layers[12].bias[3] = INFINITY;
  expect_error(dir, "inf-bias", nonfinite, (variant){0}, 0, "not finite");
  sr_model_free(nonfinite);

  /* Wrong shapes: a model with other conv2 grouping written as SegNet. */
  sr_model *odd;
  sr_model_new_segnet(5, NULL, 3, &odd, &err);
  odd->layers[4].conv.group = 1; /* conv2: weights 256x96x5x5 instead of 256x48x5x5 */
  sr_model_validate(odd, &err);
  free(odd->layers[4].weight);
  odd->layers[4].weight = calloc((size_t)256 * 96 * 25, sizeof(float));
  expect_error(dir, "wrong-shape", odd, (variant){0}, 0, "expected 256x48x5x5");
  sr_model_free(odd);

  char *junk = g_build_filename(dir, "junk.caffemodel", NULL);
  g_file_set_contents(junk, "\xff\xff\xff\xff garbage", 12, NULL);
  CHECK(sr_caffe_import(junk, &opt, &got, &err) == SR_ERR_FORMAT && strstr(err.msg, "junk.caffemodel"), "junk: %s",
        err.msg);
  printf("rejected junk          %s\n", err.msg);
  g_free(junk);

  sr_model_free(m);
  char *cmd = g_strdup_printf("rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  g_free(cmd), g_free(dir);
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
