/* model.c: the SegNet template, layer-chain validation and shape arithmetic. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rng.h"
#include "sr_config.h"

static const char *const layer_type_names[] = {
#define SR_X_NAME(e, s) s,
    SR_LAYER_TYPE_LIST(SR_X_NAME)
#undef SR_X_NAME
};

const char *sr_layer_type_name(sr_layer_type t) { return layer_type_names[t]; }

int sr_layer_type_from_name(const char *name, sr_layer_type *t) {
  for (size_t i = 0; i < sizeof layer_type_names / sizeof *layer_type_names; i++)
    if (!strcmp(name, layer_type_names[i])) {
      *t = (sr_layer_type)i;
      return 0;
    }
  return -1;
}

static sr_layer *add_layer(sr_model *m, sr_layer_type type, const char *name) {
  sr_layer *l = &m->layers[m->n_layers++];
  memset(l, 0, sizeof *l);
  l->type = type;
  snprintf(l->name, sizeof l->name, "%s", name);
  return l;
}

static void add_conv(sr_model *m, const char *name, int out, int k, int stride, int pad, int group) {
  sr_layer *l = add_layer(m, SR_LAYER_CONV, name);
  l->conv = (sr_conv_params){.out_c = out, .kh = k, .kw = k, .stride = stride, .pad = pad, .group = group};
  char relu[32];
  snprintf(relu, sizeof relu, "relu%s", name + 4);
  if (strcmp(name, "conv8")) add_layer(m, SR_LAYER_RELU, relu);
}

static void add_pool_norm(sr_model *m, const char *pool, const char *norm) {
  add_layer(m, SR_LAYER_MAXPOOL, pool)->pool = (sr_pool_params){3, 2, 0};
  add_layer(m, SR_LAYER_LRN, norm)->lrn = (sr_lrn_params){5, 1e-4f, 0.75f, 1.0f};
}

void sr_model_append_head(sr_model *m, int n_classes) {
  add_layer(m, SR_LAYER_DROPOUT, "drop6")->dropout = 0.5f;
  add_conv(m, "conv6", 128, 3, 1, 1, 1);
  add_layer(m, SR_LAYER_DROPOUT, "drop7")->dropout = 0.5f;
  add_conv(m, "conv7", 128, 3, 1, 1, 1);
  add_layer(m, SR_LAYER_DROPOUT, "drop8")->dropout = 0.5f;
  add_conv(m, "conv8", n_classes, 1, 1, 0, 1);
  add_layer(m, SR_LAYER_SOFTMAX, "prob");
}

void sr_model_set_default_classes(sr_model *m, int n_classes) {
  free(m->classes);
  m->classes = calloc(n_classes, sizeof *m->classes);
  m->n_classes = m->classes ? n_classes : 0;
  for (int i = 0; i < m->n_classes; i++) {
    snprintf(m->classes[i].name, sizeof m->classes[i].name, "class%d", i);
    /* PASCAL VOC's bit-interleaved palette: distinct for every index. */
    int r = 0, g = 0, b = 0;
    for (int j = 0, c = i; j < 8; j++, c >>= 3) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
    }
    m->classes[i].rgb[0] = r, m->classes[i].rgb[1] = g, m->classes[i].rgb[2] = b;
  }
}

sr_model *sr_model_new_empty(int max_layers) {
  sr_model *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  if (!(m->layers = calloc(max_layers > 0 ? max_layers : 1, sizeof *m->layers))) {
    free(m);
    return NULL;
  }
  m->input_w = m->input_h = 227;
  m->mean_bgr[0] = 104.007f, m->mean_bgr[1] = 116.669f, m->mean_bgr[2] = 122.679f;
  return m;
}

sr_status sr_model_init_missing(sr_model *m, uint64_t seed, sr_error *err) {
  /* Channels are needed to size the weights: validate first. */
  sr_status st = sr_model_validate(m, err);
  if (st != SR_OK) return st;
  sr_rng rng;
  sr_rng_seed(&rng, seed);
  for (int i = 0; i < m->n_layers; i++) {
    sr_layer *l = &m->layers[i];
    if (l->type != SR_LAYER_CONV || l->weight) continue;
    sr_conv_params *p = &l->conv;
    size_t fan_in = (size_t)p->in_c / p->group * p->kh * p->kw, count = (size_t)p->out_c * fan_in;
    /* He-normal; conv1 sees 0..255 inputs (pixel std about 79), the class
     * layer starts small (training-notes.md: He-init there diverged). */
    double std = sqrt(2.0 / fan_in);
    if (i == 0) std /= 79.0;
    if (p->out_c == m->n_classes && p->kh == 1) std = 0.01;
    l->weight = malloc(count * sizeof(float));
    l->bias = calloc(p->out_c, sizeof(float));
    if (!l->weight || !l->bias) {
      free(l->weight), free(l->bias);
      l->weight = l->bias = NULL;
      return sr_error_set(err, SR_ERR_NOMEM, "layer %s: out of memory for %zu weights", l->name, count);
    }
    for (size_t j = 0; j < count; j++) l->weight[j] = (float)(std * sr_rng_normal(&rng));
  }
  return SR_OK;
}

sr_status sr_model_new_segnet(int n_classes, const sr_class *classes, uint64_t seed, sr_model **out,
                              sr_error *err) {
  if (n_classes < 2 || n_classes > 255)
    return sr_error_set(err, SR_ERR_INVALID, "number of classes %d outside 2..255", n_classes);
  sr_model *m = sr_model_new_empty(32);
  if (m) sr_model_set_default_classes(m, n_classes);
  if (!m || !m->classes) {
    sr_model_free(m);
    return sr_error_set(err, SR_ERR_NOMEM, "out of memory for a %d-class SegNet", n_classes);
  }
  if (classes) memcpy(m->classes, classes, n_classes * sizeof *classes);
  add_conv(m, "conv1", 96, 11, 4, 0, 1);
  add_pool_norm(m, "pool1", "norm1");
  add_conv(m, "conv2", 256, 5, 1, 2, 2);
  add_pool_norm(m, "pool2", "norm2");
  add_conv(m, "conv3", 384, 3, 1, 1, 1);
  add_conv(m, "conv4", 384, 3, 1, 1, 2);
  add_conv(m, "conv5", 256, 3, 1, 1, 2);
  sr_model_append_head(m, n_classes);
  sr_status st = sr_model_init_missing(m, seed, err);
  if (st != SR_OK) {
    sr_model_free(m);
    return st;
  }
  *out = m;
  return SR_OK;
}

sr_status sr_model_validate(sr_model *m, sr_error *err) {
  if (m->input_w < 1 || m->input_h < 1 || m->input_w > 8192 || m->input_h > 8192)
    return sr_error_set(err, SR_ERR_FORMAT, "input size %dx%d outside 1..8192", m->input_w, m->input_h);
  if (m->n_classes < 1 || m->n_classes > 255)
    return sr_error_set(err, SR_ERR_FORMAT, "number of classes %d outside 1..255", m->n_classes);
  if (m->n_layers < 1) return sr_error_set(err, SR_ERR_FORMAT, "no layers");
  int c = 3, last_conv_out = -1;
  for (int i = 0; i < m->n_layers; i++) {
    sr_layer *l = &m->layers[i];
    switch (l->type) {
      case SR_LAYER_CONV: {
        sr_conv_params *p = &l->conv;
        if (p->out_c < 1 || p->kh < 1 || p->kw < 1 || p->stride < 1 || p->pad < 0 || p->group < 1 ||
            p->out_c > 65536 || p->kh > 64 || p->kw > 64 || p->stride > 64 || p->pad > 64)
          return sr_error_set(err, SR_ERR_FORMAT, "layer %s: convolution parameters out of range", l->name);
        if (c % p->group || p->out_c % p->group)
          return sr_error_set(err, SR_ERR_FORMAT, "layer %s: group %d does not divide %d inputs and %d outputs",
                              l->name, p->group, c, p->out_c);
        p->in_c = c;
        c = p->out_c;
        last_conv_out = c;
        break;
      }
      case SR_LAYER_MAXPOOL:
        if (l->pool.kernel < 1 || l->pool.stride < 1 || l->pool.pad < 0 || l->pool.pad >= l->pool.kernel)
          return sr_error_set(err, SR_ERR_FORMAT, "layer %s: pooling parameters out of range", l->name);
        /* With a stride above the kernel, windows skip input and Caffe's ceil
         * rounding can place the last one wholly outside it. */
        if (l->pool.stride > l->pool.kernel)
          return sr_error_set(err, SR_ERR_FORMAT,
                              "layer %s: pooling stride %d exceeds kernel %d (windows would skip input, the last "
                              "could lie outside it)",
                              l->name, l->pool.stride, l->pool.kernel);
        break;
      case SR_LAYER_LRN:
        if (l->lrn.size < 1 || l->lrn.size % 2 == 0 || !(l->lrn.k > 0) || !isfinite(l->lrn.alpha) ||
            !isfinite(l->lrn.beta))
          return sr_error_set(err, SR_ERR_FORMAT, "layer %s: LRN needs an odd size and k > 0", l->name);
        break;
      case SR_LAYER_DROPOUT:
        if (!(l->dropout >= 0 && l->dropout < 1))
          return sr_error_set(err, SR_ERR_FORMAT, "layer %s: dropout %g outside [0, 1)", l->name, l->dropout);
        break;
      case SR_LAYER_RELU:
      case SR_LAYER_SOFTMAX:
        break;
    }
  }
  if (last_conv_out != m->n_classes)
    return sr_error_set(err, SR_ERR_FORMAT, "last convolution has %d outputs but the model names %d classes",
                        last_conv_out, m->n_classes);
  int oh, ow;
  if (sr_model_output_size(m, m->input_h, m->input_w, &oh, &ow) != SR_OK)
    return sr_error_set(err, SR_ERR_FORMAT, "input size %dx%d is too small for the layers", m->input_w,
                        m->input_h);
  return SR_OK;
}

sr_status sr_model_output_size(const sr_model *m, int h, int w, int *oh, int *ow) {
  for (int i = 0; i < m->n_layers; i++) {
    const sr_layer *l = &m->layers[i];
    if (l->type == SR_LAYER_CONV) {
      if (h + 2 * l->conv.pad < l->conv.kh || w + 2 * l->conv.pad < l->conv.kw) return SR_ERR_INVALID;
      h = sr_conv_out_size(h, l->conv.kh, l->conv.stride, l->conv.pad);
      w = sr_conv_out_size(w, l->conv.kw, l->conv.stride, l->conv.pad);
    } else if (l->type == SR_LAYER_MAXPOOL) {
      if (h + 2 * l->pool.pad < l->pool.kernel || w + 2 * l->pool.pad < l->pool.kernel) return SR_ERR_INVALID;
      h = sr_pool_out_size(h, l->pool.kernel, l->pool.stride, l->pool.pad);
      w = sr_pool_out_size(w, l->pool.kernel, l->pool.stride, l->pool.pad);
    }
    if (h < 1 || w < 1) return SR_ERR_INVALID;
  }
  *oh = h, *ow = w;
  return SR_OK;
}

double sr_model_flops(const sr_model *m, int h, int w) {
  double total = 0;
  for (int i = 0; i < m->n_layers; i++) {
    const sr_layer *l = &m->layers[i];
    if (l->type == SR_LAYER_CONV) {
      h = sr_conv_out_size(h, l->conv.kh, l->conv.stride, l->conv.pad);
      w = sr_conv_out_size(w, l->conv.kw, l->conv.stride, l->conv.pad);
      total += 2.0 * l->conv.out_c * (double)(l->conv.in_c / l->conv.group) * l->conv.kh * l->conv.kw * h * w;
    } else if (l->type == SR_LAYER_MAXPOOL) {
      h = sr_pool_out_size(h, l->pool.kernel, l->pool.stride, l->pool.pad);
      w = sr_pool_out_size(w, l->pool.kernel, l->pool.stride, l->pool.pad);
    }
  }
  return total;
}

size_t sr_layer_weight_count(const sr_layer *l) {
  return (size_t)l->conv.out_c * (l->conv.in_c / l->conv.group) * l->conv.kh * l->conv.kw;
}

sr_status sr_param_buffers_new(const sr_model *m, float ***w, float ***b) {
  float **bw = calloc(m->n_layers, sizeof(float *)), **bb = calloc(m->n_layers, sizeof(float *));
  bool ok = bw && bb;
  for (int i = 0; ok && i < m->n_layers; i++)
    if (m->layers[i].type == SR_LAYER_CONV) {
      bw[i] = calloc(sr_layer_weight_count(&m->layers[i]), sizeof(float));
      bb[i] = calloc(m->layers[i].conv.out_c, sizeof(float));
      ok = bw[i] && bb[i];
    }
  if (!ok) {
    if (bw && bb) sr_param_buffers_free(m->n_layers, bw, bb);
    else free(bw), free(bb);
    *w = *b = NULL;
    return SR_ERR_NOMEM;
  }
  *w = bw, *b = bb;
  return SR_OK;
}

void sr_param_buffers_free(int n_layers, float **w, float **b) {
  for (int i = 0; i < n_layers; i++) {
    if (w) free(w[i]);
    if (b) free(b[i]);
  }
  free(w);
  free(b);
}

sr_model *sr_model_copy(const sr_model *m) {
  sr_model *c = malloc(sizeof *c);
  if (!c) return NULL;
  *c = *m;
  c->classes = NULL, c->layers = NULL, c->provenance = NULL, c->n_layers = 0;
  c->classes = malloc(sizeof *c->classes * (m->n_classes > 0 ? m->n_classes : 1));
  c->layers = calloc(m->n_layers > 0 ? m->n_layers : 1, sizeof *c->layers);
  if (!c->classes || !c->layers) {
    sr_model_free(c);
    return NULL;
  }
  memcpy(c->classes, m->classes, sizeof *c->classes * m->n_classes);
  /* Layers are counted in as their weights are copied: a failure part way
   * frees exactly what was made. */
  for (int i = 0; i < m->n_layers; i++) {
    sr_layer *l = &c->layers[i];
    *l = m->layers[i];
    l->weight = l->bias = NULL;
    c->n_layers = i + 1;
    if (l->type != SR_LAYER_CONV) continue;
    size_t n = sr_layer_weight_count(l);
    l->weight = malloc(n * sizeof(float));
    l->bias = malloc(l->conv.out_c * sizeof(float));
    if (!l->weight || !l->bias) {
      sr_model_free(c);
      return NULL;
    }
    memcpy(l->weight, m->layers[i].weight, n * sizeof(float));
    memcpy(l->bias, m->layers[i].bias, l->conv.out_c * sizeof(float));
  }
  if (m->provenance && !(c->provenance = strdup(m->provenance))) {
    sr_model_free(c);
    return NULL;
  }
  return c;
}

void sr_model_free(sr_model *m) {
  if (!m) return;
  for (int i = 0; i < m->n_layers; i++) {
    free(m->layers[i].weight);
    free(m->layers[i].bias);
  }
  free(m->layers);
  free(m->classes);
  free(m->provenance);
  free(m);
}

