/* net.c: forward-pass planning and execution over the backend op table. */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/backend_impl.h"

typedef struct {
  const sr_layer *layer;
  char name[72];
  bool relu; /* conv with the following ReLU fused */
  sr_tensor in, out; /* shapes; data filled at run time */
  double ms, flops;
} step;

struct sr_net {
  const sr_model *model;
  sr_backend *b;
  float **weights, **biases; /* device copies, per layer (NULL if not conv) */
  step *steps;
  int n_steps;
  int pn, ph, pw; /* planned input shape */
  float *input, *ping, *pong; /* device buffers */
  size_t input_cap, buf_cap;
  bool profiling;
  char *tap_layer; /* nullable: copy this layer's output to the host */
  sr_tensor tap;
};

sr_status sr_net_new(const sr_model *m, sr_backend *b, sr_net **out, sr_error *err) {
  sr_net *net = calloc(1, sizeof *net);
  net->model = m;
  net->b = b;
  net->weights = calloc(m->n_layers, sizeof(float *));
  net->biases = calloc(m->n_layers, sizeof(float *));
  net->steps = calloc(m->n_layers, sizeof(step));
  for (int i = 0; i < m->n_layers; i++) {
    const sr_layer *l = &m->layers[i];
    if (l->type != SR_LAYER_CONV) continue;
    size_t wc = sr_layer_weight_count(l);
    net->weights[i] = b->ops->alloc(b, wc);
    net->biases[i] = b->ops->alloc(b, l->conv.out_c);
    if (!net->weights[i] || !net->biases[i] || b->ops->upload(b, net->weights[i], l->weight, wc) != SR_OK ||
        b->ops->upload(b, net->biases[i], l->bias, l->conv.out_c) != SR_OK) {
      sr_net_free(net);
      return sr_error_set(err, SR_ERR_BACKEND, "%s backend: cannot upload the weights of %s", b->ops->name,
                          l->name);
    }
  }
  *out = net;
  return SR_OK;
}

void sr_net_free(sr_net *net) {
  if (!net) return;
  sr_backend *b = net->b;
  for (int i = 0; i < net->model->n_layers; i++) {
    if (net->weights[i]) b->ops->release(b, net->weights[i]);
    if (net->biases[i]) b->ops->release(b, net->biases[i]);
  }
  if (net->input) b->ops->release(b, net->input);
  if (net->ping) b->ops->release(b, net->ping);
  if (net->pong) b->ops->release(b, net->pong);
  free(net->weights);
  free(net->biases);
  free(net->steps);
  free(net->tap_layer);
  sr_tensor_clear(&net->tap);
  free(net);
}

/* Shapes every step for an N×3×H×W input and sizes the ping-pong buffers. */
static sr_status plan(sr_net *net, int n, int h, int w, sr_error *err) {
  const sr_model *m = net->model;
  sr_tensor cur = {n, 3, h, w, NULL};
  size_t biggest = 0;
  net->n_steps = 0;
  for (int i = 0; i < m->n_layers; i++) {
    const sr_layer *l = &m->layers[i];
    if (l->type == SR_LAYER_DROPOUT) continue;
    step *s = &net->steps[net->n_steps++];
    memset(s, 0, sizeof *s);
    s->layer = l;
    s->in = cur;
    snprintf(s->name, sizeof s->name, "%s", l->name);
    switch (l->type) {
      case SR_LAYER_CONV:
        if (h + 2 * l->conv.pad < l->conv.kh || w + 2 * l->conv.pad < l->conv.kw) goto too_small;
        cur.c = l->conv.out_c;
        cur.h = sr_conv_out_size(cur.h, l->conv.kh, l->conv.stride, l->conv.pad);
        cur.w = sr_conv_out_size(cur.w, l->conv.kw, l->conv.stride, l->conv.pad);
        s->flops = 2.0 * n * cur.c * (double)(l->conv.in_c / l->conv.group) * l->conv.kh * l->conv.kw * cur.h * cur.w;
        /* Fuse a directly following ReLU into the convolution epilogue. */
        if (i + 1 < m->n_layers && m->layers[i + 1].type == SR_LAYER_RELU) {
          s->relu = true;
          i++;
          snprintf(s->name, sizeof s->name, "%s+%s", l->name, m->layers[i].name);
        }
        break;
      case SR_LAYER_MAXPOOL:
        if (cur.h + 2 * l->pool.pad < l->pool.kernel || cur.w + 2 * l->pool.pad < l->pool.kernel) goto too_small;
        cur.h = sr_pool_out_size(cur.h, l->pool.kernel, l->pool.stride, l->pool.pad);
        cur.w = sr_pool_out_size(cur.w, l->pool.kernel, l->pool.stride, l->pool.pad);
        break;
      default:
        break;
    }
    h = cur.h, w = cur.w;
    s->out = cur;
    if (sr_tensor_count(&cur) > biggest) biggest = sr_tensor_count(&cur);
  }
  sr_backend *b = net->b;
  size_t in_count = (size_t)n * 3 * net->steps[0].in.h * net->steps[0].in.w;
  if (in_count > net->input_cap) {
    if (net->input) b->ops->release(b, net->input);
    net->input = b->ops->alloc(b, in_count);
    net->input_cap = net->input ? in_count : 0;
  }
  if (biggest > net->buf_cap) {
    if (net->ping) b->ops->release(b, net->ping);
    if (net->pong) b->ops->release(b, net->pong);
    net->ping = b->ops->alloc(b, biggest);
    net->pong = b->ops->alloc(b, biggest);
    net->buf_cap = net->ping && net->pong ? biggest : 0;
  }
  if (!net->input_cap || !net->buf_cap) {
    net->pn = 0;
    return sr_error_set(err, SR_ERR_NOMEM, "%s backend: cannot allocate blobs for a %dx3x%dx%d input",
                        b->ops->name, n, net->steps[0].in.h, net->steps[0].in.w);
  }
  net->pn = n, net->ph = net->steps[0].in.h, net->pw = net->steps[0].in.w;
  return SR_OK;
too_small:
  net->pn = 0;
  return sr_error_set(err, SR_ERR_INVALID, "input %dx%d is too small for layer %s", net->steps[0].in.w,
                      net->steps[0].in.h, net->steps[net->n_steps - 1].layer->name);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Whether step @s is layer @name or ends with it (conv5 fused with relu5
 * answers to "conv5" and "relu5"). */
static bool step_is(const step *s, const char *name) {
  if (!strcmp(s->layer->name, name)) return true;
  const char *plus = strchr(s->name, '+');
  return plus && !strcmp(plus + 1, name);
}

static sr_status copy_tap(sr_net *net, const step *s) {
  sr_backend *b = net->b;
  sr_tensor *t = &net->tap;
  if (t->n != s->out.n || t->c != s->out.c || t->h != s->out.h || t->w != s->out.w) {
    sr_tensor_clear(t);
    if (sr_tensor_alloc(t, s->out.n, s->out.c, s->out.h, s->out.w) != SR_OK) return SR_ERR_NOMEM;
  }
  sr_status st = b->ops->synchronize ? b->ops->synchronize(b) : SR_OK;
  return st == SR_OK ? b->ops->download(b, t->data, s->out.data, sr_tensor_count(t)) : st;
}

sr_status sr_net_set_tap(sr_net *net, const char *layer, sr_error *err) {
  free(net->tap_layer);
  net->tap_layer = NULL;
  sr_tensor_clear(&net->tap);
  if (!layer) return SR_OK;
  const sr_model *m = net->model;
  for (int i = 0; i < m->n_layers; i++)
    if (!strcmp(m->layers[i].name, layer) && m->layers[i].type != SR_LAYER_DROPOUT) {
      net->tap_layer = strdup(layer);
      return SR_OK;
    }
  return sr_error_set(err, SR_ERR_INVALID, "the model has no layer %s to read features from", layer);
}

const sr_tensor *sr_net_tap(const sr_net *net) { return net->tap.data ? &net->tap : NULL; }

sr_status sr_net_forward(sr_net *net, const sr_tensor *input, sr_tensor *output, sr_error *err) {
  if (input->c != 3) return sr_error_set(err, SR_ERR_INVALID, "net input has %d channels, expected 3", input->c);
  sr_status st = SR_OK;
  if (input->n != net->pn || input->h != net->ph || input->w != net->pw)
    if ((st = plan(net, input->n, input->h, input->w, err)) != SR_OK) return st;
  sr_backend *b = net->b;
  const struct sr_backend_ops *ops = b->ops;
  if ((st = ops->upload(b, net->input, input->data, sr_tensor_count(input))) != SR_OK)
    return sr_error_set(err, st, "%s backend: input upload failed", ops->name);
  float *src = net->input, *dst = net->ping;
  for (int i = 0; i < net->n_steps && st == SR_OK; i++) {
    step *s = &net->steps[i];
    const sr_layer *l = s->layer;
    s->in.data = src;
    s->out.data = dst;
    double t0 = net->profiling ? now_ms() : 0;
    switch (l->type) {
      case SR_LAYER_CONV: {
        sr_conv_params p = l->conv;
        p.relu = s->relu;
        int idx = (int)(l - net->model->layers);
        st = ops->conv2d(b, &p, &s->in, net->weights[idx], net->biases[idx], &s->out);
        break;
      }
      case SR_LAYER_RELU:
        s->out.data = src; /* in place */
        st = ops->relu(b, &s->out);
        break;
      case SR_LAYER_MAXPOOL:
        st = ops->maxpool(b, &l->pool, &s->in, &s->out);
        break;
      case SR_LAYER_LRN:
        st = ops->lrn(b, &l->lrn, &s->in, &s->out);
        break;
      case SR_LAYER_SOFTMAX:
        st = ops->softmax(b, &s->in, &s->out);
        break;
      case SR_LAYER_DROPOUT:
        break;
    }
    if (net->profiling) {
      if (ops->synchronize) ops->synchronize(b);
      s->ms = now_ms() - t0;
    }
    if (st == SR_OK && net->tap_layer && step_is(s, net->tap_layer)) st = copy_tap(net, s);
    if (s->out.data != src) {
      src = s->out.data;
      dst = src == net->ping ? net->pong : net->ping;
    }
  }
  if (st != SR_OK) return sr_error_set(err, st, "%s backend: forward pass failed (%s)", ops->name, sr_status_str(st));
  if (ops->synchronize && (st = ops->synchronize(b)) != SR_OK)
    return sr_error_set(err, st, "%s backend: synchronize failed", ops->name);
  const sr_tensor *last = &net->steps[net->n_steps - 1].out;
  if (output->n != last->n || output->c != last->c || output->h != last->h || output->w != last->w) {
    sr_tensor_clear(output);
    if (sr_tensor_alloc(output, last->n, last->c, last->h, last->w) != SR_OK)
      return sr_error_set(err, SR_ERR_NOMEM, "cannot allocate the output");
  }
  if ((st = ops->download(b, output->data, src, sr_tensor_count(output))) != SR_OK)
    return sr_error_set(err, st, "%s backend: output download failed", ops->name);
  return SR_OK;
}

void sr_net_set_profiling(sr_net *net, bool on) { net->profiling = on; }
int sr_net_step_count(const sr_net *net) { return net->n_steps; }
const char *sr_net_step_name(const sr_net *net, int i) { return net->steps[i].name; }
double sr_net_step_ms(const sr_net *net, int i) { return net->steps[i].ms; }
double sr_net_step_flops(const sr_net *net, int i) { return net->steps[i].flops; }
