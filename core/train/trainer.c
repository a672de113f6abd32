/* trainer.c: training graph (all activations kept), backward pass, SGD with
 * momentum, schedule, checkpoints, metrics and the progress plot. */
#include "trainer.h"

#include <cairo.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../backends/backend_impl.h"
#include "../io/atomic_file.h"
#include "../io/json_fields.h"
#include "../io/npy.h"
#include "../net.h"

/* ---- the training graph ---- */

typedef struct {
  const sr_model *m;
  sr_backend *b;
  int n_steps;      /* layers before the final softmax */
  sr_tensor *act;   /* act[0] = input, act[i+1] = output of layer i */
  sr_tensor *grad;  /* gradients of the same shapes */
  uint8_t **mask;   /* dropout keep-masks, per layer */
  int B, H, W;      /* net input */
  int LH, LW;       /* label maps (the input's size unless features are cached) */
  int from;         /* first layer run: act[from] is given (cached features) */
  /* Per layer: its output shares the input's memory (a ReLU after a
   * convolution, which then runs with the ReLU fused; a dropout of rate 0,
   * whose gradient is shared too): nothing to run for it. */
  uint8_t *in_place;
} tgraph;

enum { SHARE_ACT = 1, SHARE_GRAD = 2 };

static void tg_free(tgraph *g) {
  for (int i = 0; i <= g->n_steps; i++) {
    uint8_t sh = i > 0 && g->in_place ? g->in_place[i - 1] : 0;
    if (sh & SHARE_ACT) g->act[i].data = NULL;
    if (sh & SHARE_GRAD) g->grad[i].data = NULL;
    if (i > 0) sr_tensor_clear(&g->act[i]);
    sr_tensor_clear(&g->grad[i]);
    if (i < g->n_steps) free(g->mask[i]);
  }
  free(g->act), free(g->grad), free(g->mask), free(g->in_place);
  memset(g, 0, sizeof *g);
}

static sr_status tg_init(tgraph *g, const sr_model *m, sr_backend *b, int B, int H, int W, sr_error *err) {
  memset(g, 0, sizeof *g);
  if (!b->ops->conv2d_backward)
    return sr_error_set(err, SR_ERR_UNSUPPORTED, "the %s backend cannot train", b->ops->name);
  if (m->layers[m->n_layers - 1].type != SR_LAYER_SOFTMAX)
    return sr_error_set(err, SR_ERR_UNSUPPORTED, "training needs a model that ends in a softmax");
  g->m = m, g->b = b, g->B = B, g->H = H, g->W = W, g->LH = H, g->LW = W;
  g->n_steps = m->n_layers - 1;
  g->act = calloc(g->n_steps + 1, sizeof(sr_tensor));
  g->grad = calloc(g->n_steps + 1, sizeof(sr_tensor));
  g->mask = calloc(g->n_steps, sizeof(uint8_t *));
  g->in_place = calloc(g->n_steps, 1);
  if (!g->act || !g->grad || !g->mask || !g->in_place) {
    free(g->act), free(g->grad), free(g->mask), free(g->in_place);
    memset(g, 0, sizeof *g);
    return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the training graph");
  }
  sr_tensor cur = {B, 3, H, W, NULL};
  g->act[0] = cur; /* the caller points act[0].data at its input */
  if (sr_tensor_alloc(&g->grad[0], B, 3, H, W) != SR_OK) {
    tg_free(g);
    return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the training activations");
  }
  for (int i = 0; i < g->n_steps; i++) {
    const sr_layer *l = &m->layers[i];
    if (l->type == SR_LAYER_CONV) {
      if (cur.h + 2 * l->conv.pad < l->conv.kh || cur.w + 2 * l->conv.pad < l->conv.kw) goto small;
      cur.c = l->conv.out_c;
      cur.h = sr_conv_out_size(cur.h, l->conv.kh, l->conv.stride, l->conv.pad);
      cur.w = sr_conv_out_size(cur.w, l->conv.kw, l->conv.stride, l->conv.pad);
    } else if (l->type == SR_LAYER_MAXPOOL) {
      if (cur.h < l->pool.kernel || cur.w < l->pool.kernel) goto small;
      cur.h = sr_pool_out_size(cur.h, l->pool.kernel, l->pool.stride, l->pool.pad);
      cur.w = sr_pool_out_size(cur.w, l->pool.kernel, l->pool.stride, l->pool.pad);
    }
    if (i > 0 && l->type == SR_LAYER_RELU && m->layers[i - 1].type == SR_LAYER_CONV) g->in_place[i] = SHARE_ACT;
    if (i > 0 && l->type == SR_LAYER_DROPOUT && l->dropout <= 0) g->in_place[i] = SHARE_ACT | SHARE_GRAD;
    if (l->type == SR_LAYER_DROPOUT && !g->in_place[i] && !(g->mask[i] = malloc(sr_tensor_count(&cur)))) {
      tg_free(g);
      return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the dropout masks");
    }
    g->act[i + 1] = g->act[i], g->grad[i + 1] = g->grad[i];
    g->act[i + 1].c = cur.c, g->act[i + 1].h = cur.h, g->act[i + 1].w = cur.w;
    g->grad[i + 1].c = cur.c, g->grad[i + 1].h = cur.h, g->grad[i + 1].w = cur.w;
    if ((!(g->in_place[i] & SHARE_ACT) && sr_tensor_alloc(&g->act[i + 1], cur.n, cur.c, cur.h, cur.w) != SR_OK) ||
        (!(g->in_place[i] & SHARE_GRAD) && sr_tensor_alloc(&g->grad[i + 1], cur.n, cur.c, cur.h, cur.w) != SR_OK)) {
      tg_free(g);
      return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the training activations");
    }
  }
  return SR_OK;
small:
  tg_free(g);
  return sr_error_set(err, SR_ERR_INVALID, "training crop %dx%d is too small for the net", W, H);
}

/* Inverted dropout: keeps each element with probability 1 − @rate (two
 * 32-bit draws per generator step) and scales the kept ones by 1/(1 − rate);
 * @rate 0 copies and keeps all. */
static void dropout_forward(const float *x, float *y, uint8_t *mask, size_t n, float rate, sr_rng *rng) {
  if (rate <= 0) {
    memcpy(y, x, sizeof(float) * n);
    memset(mask, 1, n);
    return;
  }
  double keep = 1.0 - rate;
  uint64_t thr = (uint64_t)(keep * 4294967296.0);
  for (size_t k = 0; k < n; k += 2) {
    uint64_t r = sr_rng_next(rng);
    mask[k] = (r & 0xffffffffu) < thr;
    if (k + 1 < n) mask[k + 1] = (r >> 32) < thr;
  }
  float scale = (float)(1.0 / keep);
  for (size_t k = 0; k < n; k++) y[k] = x[k] * (float)mask[k] * scale;
}

static void relu_forward(const float *restrict x, float *restrict y, size_t n) {
  for (size_t k = 0; k < n; k++) y[k] = x[k] > 0 ? x[k] : 0;
}

/* dx = dy where the output was positive. */
static void relu_backward(const float *restrict y, const float *restrict dy, float *restrict dx, size_t n) {
  for (size_t k = 0; k < n; k++) {
    float d = dy[k]; /* loaded unconditionally, so the loop vectorises */
    dx[k] = y[k] > 0 ? d : 0;
  }
}

/* act[0] must point at the input. */
static sr_status tg_forward(tgraph *g, sr_rng *rng, bool dropout) {
  const struct sr_backend_ops *ops = g->b->ops;
  sr_status st = SR_OK;
  for (int i = g->from; i < g->n_steps && st == SR_OK; i++) {
    const sr_layer *l = &g->m->layers[i];
    sr_tensor *x = &g->act[i], *y = &g->act[i + 1];
    size_t n = sr_tensor_count(y);
    switch (l->type) {
      case SR_LAYER_CONV: {
        sr_conv_params p = l->conv;
        p.relu = i + 1 < g->n_steps && (g->in_place[i + 1] & SHARE_ACT) && g->m->layers[i + 1].type == SR_LAYER_RELU;
        st = ops->conv2d(g->b, &p, x, l->weight, l->bias, y);
        break;
      }
      case SR_LAYER_RELU:
        if (!g->in_place[i]) relu_forward(x->data, y->data, n);
        break;
      case SR_LAYER_MAXPOOL: st = ops->maxpool(g->b, &l->pool, x, y); break;
      case SR_LAYER_LRN: st = ops->lrn(g->b, &l->lrn, x, y); break;
      case SR_LAYER_DROPOUT:
        if (!g->in_place[i]) dropout_forward(x->data, y->data, g->mask[i], n, dropout ? l->dropout : 0.f, rng);
        break;
      case SR_LAYER_SOFTMAX: st = ops->softmax(g->b, x, y); break;
    }
  }
  return st;
}

/* grad[n_steps] must hold dL/d(logits). Layers before @first_trainable get
 * no gradient, and no input gradient is computed below it. */
static sr_status tg_backward(tgraph *g, int first_trainable, bool dropout, float **dw, float **db) {
  const struct sr_backend_ops *ops = g->b->ops;
  sr_status st = SR_OK;
  for (int i = g->n_steps - 1; i >= first_trainable && st == SR_OK; i--) {
    const sr_layer *l = &g->m->layers[i];
    sr_tensor *x = &g->act[i], *y = &g->act[i + 1], *dy = &g->grad[i + 1], *dx = &g->grad[i];
    size_t n = sr_tensor_count(dy);
    bool need_dx = i > first_trainable;
    switch (l->type) {
      case SR_LAYER_CONV:
        st = ops->conv2d_backward(g->b, &l->conv, x, l->weight, dy, need_dx ? dx : NULL, dw[i], db[i]);
        break;
      case SR_LAYER_RELU:
        relu_backward(y->data, dy->data, dx->data, n);
        break;
      case SR_LAYER_MAXPOOL:
        if (need_dx) st = ops->maxpool_backward(g->b, &l->pool, x, dy, dx);
        break;
      case SR_LAYER_LRN:
        if (need_dx) st = ops->lrn_backward(g->b, &l->lrn, x, y, dy, dx);
        break;
      case SR_LAYER_DROPOUT: {
        if (g->in_place[i]) break; /* rate 0: the gradient is shared */
        float scale = dropout && l->dropout > 0 ? 1.f / (1.f - l->dropout) : 1.f;
        for (size_t k = 0; k < n; k++) dx->data[k] = dy->data[k] * (float)g->mask[i][k] * scale;
        break;
      }
      case SR_LAYER_SOFTMAX: break;
    }
  }
  return st;
}

typedef struct {
  const tgraph *g;
  const uint8_t *labels;
  float *target;
  uint8_t *valid;
} targets_job;

static void frame_targets(void *ctx, int b) {
  const targets_job *t = ctx;
  const tgraph *g = t->g;
  const sr_tensor *z = &g->act[g->n_steps];
  sr_soft_target(t->labels + (size_t)b * g->LH * g->LW, g->LH, g->LW, z->c, z->h, z->w,
                 t->target + (size_t)b * z->c * z->h * z->w, t->valid + (size_t)b * z->h * z->w);
}

/* Soft targets of a batch of label crops for the logits' map size, a frame
 * per task on the backend's host threads. */
static void batch_targets(const tgraph *g, const uint8_t *labels, int void_label, float *target, uint8_t *valid) {
  (void)void_label;
  targets_job t = {g, labels, target, valid};
  sr_backend_host_parallel(g->b, g->B, frame_targets, &t);
}

static sr_status tg_step(tgraph *g, const sr_loss *loss, const uint8_t *labels, int void_label, sr_rng *rng,
                         bool dropout, int first_trainable, double *value, float **dw, float **db, float *target,
                         uint8_t *valid) {
  sr_status st = tg_forward(g, rng, dropout);
  if (st != SR_OK) return st;
  batch_targets(g, labels, void_label, target, valid);
  st = sr_loss_eval(loss, &g->act[g->n_steps], target, valid, value, g->grad[g->n_steps].data);
  if (st == SR_ERR_INVALID) { /* an all-void batch: no gradient */
    *value = NAN;
    for (int i = 0; i < g->m->n_layers; i++)
      if (dw[i]) {
        memset(dw[i], 0, sizeof(float) * sr_layer_weight_count(&g->m->layers[i]));
        memset(db[i], 0, sizeof(float) * g->m->layers[i].conv.out_c);
      }
    return SR_OK;
  }
  return tg_backward(g, first_trainable, dropout, dw, db);
}

sr_status sr_train_gradients(const sr_model *m, sr_backend *b, const sr_loss *loss, const sr_tensor *input,
                             const uint8_t *labels, int void_label, uint64_t seed, bool dropout, double *value,
                             float **dw, float **db, sr_error *err) {
  tgraph g;
  sr_status st = tg_init(&g, m, b, input->n, input->h, input->w, err);
  if (st != SR_OK) return st;
  sr_tensor in = *input;
  g.act[0] = in;
  const sr_tensor *z = &g.act[g.n_steps];
  float *target = malloc(sizeof(float) * sr_tensor_count(z));
  uint8_t *valid = malloc((size_t)z->n * z->h * z->w);
  sr_rng rng;
  sr_rng_seed(&rng, seed);
  if (!target || !valid)
    st = sr_error_set(err, SR_ERR_NOMEM, "out of memory for the training targets");
  else if ((st = tg_step(&g, loss, labels, void_label, &rng, dropout, 0, value, dw, db, target, valid)) != SR_OK)
    sr_error_set(err, st, "training step failed: %s", sr_status_str(st));
  free(target), free(valid);
  tg_free(&g);
  return st;
}

/* SGD with momentum in Caffe's form (v = μv + lr·g; w −= v) on the layers
 * from @first on, weight decay on weights only. @glr scales the gradient
 * (the learning rate times any clipping factor), @lr the decay. */
/* The SGD update in pieces of this many weights, run on the backend's host threads. */
#define SGD_PIECE 32768

typedef struct {
  sr_model *m;
  int first;
  float **dw, **db, **vw, **vb;
  double glr, lr, momentum, decay;
} sgd_job;

/* Piece @task: the pieces of layer first, then of the next trained layer, …;
 * a layer's first piece also updates its biases. */
static void sgd_piece(void *ctx, int task) {
  const sgd_job *s = ctx;
  for (int i = s->first; i < s->m->n_layers; i++) {
    if (!s->dw[i]) continue;
    sr_layer *l = &s->m->layers[i];
    size_t wc = sr_layer_weight_count(l);
    int pieces = (int)((wc + SGD_PIECE - 1) / SGD_PIECE);
    if (task >= pieces) {
      task -= pieces;
      continue;
    }
    size_t k0 = (size_t)task * SGD_PIECE, k1 = k0 + SGD_PIECE < wc ? k0 + SGD_PIECE : wc;
    float *v = s->vw[i], *w = l->weight;
    const float *d = s->dw[i];
    for (size_t k = k0; k < k1; k++) {
      v[k] = (float)(s->momentum * v[k] + s->glr * d[k] + s->lr * s->decay * w[k]);
      w[k] -= v[k];
    }
    if (task == 0)
      for (int k = 0; k < l->conv.out_c; k++) {
        s->vb[i][k] = (float)(s->momentum * s->vb[i][k] + s->glr * s->db[i][k]);
        l->bias[k] -= s->vb[i][k];
      }
    return;
  }
}

static void sgd_step(sr_backend *b, sr_model *m, int first, float **dw, float **db, float **vw, float **vb, double glr,
                     double lr, double momentum, double decay) {
  int pieces = 0;
  for (int i = first; i < m->n_layers; i++)
    if (dw[i]) pieces += (int)((sr_layer_weight_count(&m->layers[i]) + SGD_PIECE - 1) / SGD_PIECE);
  sgd_job s = {m, first, dw, db, vw, vb, glr, lr, momentum, decay};
  sr_backend_host_parallel(b, pieces, sgd_piece, &s);
}

/* ---- bookkeeping: schedule, progress, metrics, plot ---- */

static double lr_at(const sr_train_config *c, long it, long total) {
  if (it < c->warmup) return c->lr * (it + 1) / c->warmup;
  double t = (double)(it - c->warmup) / fmax(1, total - c->warmup);
  return 0.5 * c->lr * (1 + cos(M_PI * t));
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
  long iter;                 /* iterations done */
  double epoch_loss;         /* running sum for the current epoch */
  long epoch_n;
  GArray *loss_hist, *miou_hist; /* per finished epoch (miou NaN when not evaluated) */
} train_state;

/* The settings a resumed run must share with its checkpoint: all that shapes
 * the weights' trajectory (the seed is checked on its own). @option names
 * the command-line option in messages. */
typedef struct {
  const char *key, *option;
  double value;
} run_setting;

enum { N_RUN_SETTINGS = 20 };

static void run_settings(const sr_train_config *c, run_setting *s) {
  const run_setting all[N_RUN_SETTINGS] = {
      {"loss", "--loss", c->loss.kind},
      {"w_uoi", "--uoi-weight", c->loss.w_uoi},
      {"w_ce", "--ce-weight", c->loss.w_ce},
      {"lr", "--lr", c->lr},
      {"momentum", "--momentum", c->momentum},
      {"weight_decay", "--weight-decay", c->weight_decay},
      {"warmup", "--warmup", c->warmup},
      {"clip", "--clip", c->clip},
      {"batch", "--batch", c->batch},
      {"epochs", "--epochs", c->epochs},
      {"crop_w", "--crop (width)", c->aug.crop_w},
      {"crop_h", "--crop (height)", c->aug.crop_h},
      {"scale_min", "--scale-min", c->aug.scale_min},
      {"scale_max", "--scale-max", c->aug.scale_max},
      {"flip", "--no-flip (flip)", c->aug.flip != 0},
      {"jitter", "--jitter", c->aug.jitter},
      {"freeze", "--freeze", c->freeze},
      {"cache_features", "--cache-features", c->cache_features},
      /* cached features are computed at the validation size */
      {"eval_w", "--eval-size (width, with --cache-features)", c->cache_features ? c->eval_w : 0},
      {"eval_h", "--eval-size (height, with --cache-features)", c->cache_features ? c->eval_h : 0},
  };
  memcpy(s, all, sizeof all);
}

static char *state_to_json(const train_state *s, const sr_train_config *c) {
  GString *j = g_string_new("");
  g_string_append_printf(j, "{\"iter\":%ld,\"epoch_loss\":%.17g,\"epoch_n\":%ld,\"seed\":%llu,\"settings\":{", s->iter,
                         s->epoch_loss, s->epoch_n, (unsigned long long)c->seed);
  run_setting set[N_RUN_SETTINGS];
  run_settings(c, set);
  for (int i = 0; i < N_RUN_SETTINGS; i++) g_string_append_printf(j, "%s\"%s\":%.17g", i ? "," : "", set[i].key, set[i].value);
  g_string_append(j, "},\"loss_hist\":[");
  for (guint i = 0; i < s->loss_hist->len; i++)
    g_string_append_printf(j, "%s%.9g", i ? "," : "", g_array_index(s->loss_hist, double, i));
  g_string_append(j, "],\"miou_hist\":[");
  for (guint i = 0; i < s->miou_hist->len; i++) {
    double v = g_array_index(s->miou_hist, double, i);
    if (isnan(v)) g_string_append_printf(j, "%snull", i ? "," : "");
    else g_string_append_printf(j, "%s%.6g", i ? "," : "", v);
  }
  g_string_append(j, "]}");
  return g_string_free(j, FALSE);
}

/* A finite number (@allow_null: or null, read as NaN) for each element of @a
 * into @out; FALSE on anything else. */
static gboolean read_hist(JsonArray *a, gboolean allow_null, GArray *out) {
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonNode *n = json_array_get_element(a, i);
    GType t = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    double v;
    if (allow_null && JSON_NODE_HOLDS_NULL(n)) v = NAN;
    else if (t == G_TYPE_INT64 || t == G_TYPE_DOUBLE) v = json_node_get_double(n);
    else return FALSE;
    if (!isfinite(v) && !isnan(v)) return FALSE;
    g_array_append_val(out, v);
  }
  return TRUE;
}

/* Refuses a checkpoint whose train_state.settings differ from @c's (a
 * checkpoint from before they were recorded is resumed with a warning). */
static sr_status check_settings(const char *path, JsonObject *state, const sr_train_config *c, sr_error *err) {
  JsonObject *o = sr_json_get_obj(state, "settings");
  if (!o) {
    fprintf(stderr, "warning: %s records no training settings (an older checkpoint): only --seed is checked\n", path);
    return SR_OK;
  }
  run_setting set[N_RUN_SETTINGS];
  run_settings(c, set);
  for (int i = 0; i < N_RUN_SETTINGS; i++) {
    double v;
    if (!sr_json_get_num(o, set[i].key, &v))
      return sr_error_set(err, SR_ERR_FORMAT, "%s: train_state.settings.%s must be a finite number", path, set[i].key);
    if (v == set[i].value) continue;
    if (!strcmp(set[i].key, "loss"))
      return sr_error_set(err, SR_ERR_INVALID,
                          "%s: checkpoint was made with --loss %s, this run has --loss %s: resuming would not be "
                          "exact (use the same settings, or another -o to start afresh)",
                          path, v >= 0 && v <= SR_LOSS_COMBO && v == floor(v) ? sr_loss_name((sr_loss_kind)v) : "?",
                          sr_loss_name(c->loss.kind));
    return sr_error_set(err, SR_ERR_INVALID,
                        "%s: checkpoint was made with %s %g, this run has %g: resuming would not be exact "
                        "(use the same settings, or another -o to start afresh)",
                        path, set[i].option, v, set[i].value);
  }
  return SR_OK;
}

/* Reads checkpoint @path's training state for a run of @total iterations,
 * @ipe per epoch: every field present, of its kind and in range (the
 * iteration indexes the epoch's permutation), the histories one entry per
 * finished epoch. */
static sr_status state_from_json(const char *path, const char *text, train_state *s, const sr_train_config *c,
                                 long total, long ipe, sr_error *err) {
  JsonParser *p = json_parser_new();
  sr_status st = sr_json_parse(p, text, -1, path, "train_state", err);
  JsonObject *o = st == SR_OK ? sr_json_root_obj(p) : NULL;
  JsonNode *seed = o ? json_object_get_member(o, "seed") : NULL;
  JsonArray *lh = sr_json_get_arr(o, "loss_hist"), *mh = sr_json_get_arr(o, "miou_hist");
  double iter = -1, epoch_n = -1, epoch_loss = NAN;
  if (st != SR_OK || (st = check_settings(path, o, c, err)) != SR_OK) {
    /* reported */
  } else if (!sr_json_get_num(o, "iter", &iter) || iter != floor(iter) || iter < 0 || iter > total) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: train_state.iter must be an integer in 0..%ld (this run's iterations)",
                      path, total);
  } else if (!sr_json_get_num(o, "epoch_n", &epoch_n) || epoch_n != floor(epoch_n) || epoch_n < 0 || epoch_n > ipe) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: train_state.epoch_n must be an integer in 0..%ld", path, ipe);
  } else if (!sr_json_get_num(o, "epoch_loss", &epoch_loss)) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: train_state.epoch_loss must be a finite number", path);
  } else if (!seed || !JSON_NODE_HOLDS_VALUE(seed) || json_node_get_value_type(seed) != G_TYPE_INT64) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: train_state.seed must be an integer", path);
  } else if ((uint64_t)json_node_get_int(seed) != c->seed) {
    st = sr_error_set(err, SR_ERR_INVALID, "%s: checkpoint was made with --seed %lld, this run has --seed %llu: "
                      "resuming would not be exact", path, (long long)json_node_get_int(seed),
                      (unsigned long long)c->seed);
  } else if (!lh || !mh || !read_hist(lh, FALSE, s->loss_hist) || !read_hist(mh, TRUE, s->miou_hist)) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: train_state needs loss_hist (numbers) and miou_hist (numbers or null)",
                      path);
  } else if (s->loss_hist->len != (guint)((long)iter / ipe) || s->miou_hist->len != s->loss_hist->len) {
    st = sr_error_set(err, SR_ERR_INVALID,
                      "%s: train_state has %u/%u epochs of history at iteration %.0f, not %ld: made with another "
                      "batch size or dataset",
                      path, s->loss_hist->len, s->miou_hist->len, iter, (long)iter / ipe);
  }
  if (st == SR_OK) s->iter = (long)iter, s->epoch_n = (long)epoch_n, s->epoch_loss = epoch_loss;
  g_object_unref(p);
  return st;
}

/* Keeps the lines of metrics file @path for epochs 1..@epochs (those the
 * checkpoint has; 0 for a fresh run) and drops the rest, atomically: a run
 * killed after an epoch's line but before its checkpoint re-runs that epoch
 * on resume, and must not log it twice. Unparsable lines (one torn by a
 * kill) go too. No file: nothing to do. */
static sr_status trim_metrics(const char *path, long epochs, sr_error *err) {
  char *text = NULL;
  gsize len = 0;
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) return SR_OK;
  if (!g_file_get_contents(path, &text, &len, NULL))
    return sr_error_set(err, SR_ERR_IO, "%s: cannot read the metrics file", path);
  GString *kept = g_string_new("");
  bool dropped = false;
  for (char *line = text, *end; line < text + len; line = end + 1) {
    end = memchr(line, '\n', (size_t)(text + len - line));
    if (!end) end = text + len; /* a last line without its newline was cut short */
    long e = 0;
    bool keep = end < text + len && sscanf(line, "{\"epoch\":%ld,", &e) == 1 && e >= 1 && e <= epochs;
    if (keep) g_string_append_len(kept, line, end - line + 1);
    else dropped = true;
  }
  sr_status st = SR_OK;
  if (dropped) {
    if (epochs > 0) fprintf(stderr, "%s: dropped the lines past epoch %ld (the checkpoint's)\n", path, epochs);
    st = sr_atomic_write(path, kept->str, kept->len, err);
  }
  g_string_free(kept, TRUE);
  g_free(text);
  return st;
}

static cairo_status_t write_stream(void *closure, const unsigned char *data, unsigned int length) {
  return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Training loss (left axis) and validation mIoU (right axis) per epoch. */
static void write_plot(const char *path, const train_state *s, const char *title, const char *val_name) {
  const int W = 720, H = 420, L = 60, R = 60, T = 40, B = 45;
  cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  int n = (int)s->loss_hist->len;
  double lmax = 1e-9;
  for (int i = 0; i < n; i++) lmax = fmax(lmax, g_array_index(s->loss_hist, double, i));
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, L, T, W - L - R, H - T - B);
  cairo_stroke(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
  char buf[160];
  cairo_move_to(cr, L, 22);
  cairo_show_text(cr, title);
  snprintf(buf, sizeof buf, "loss (max %.3g)", lmax);
  cairo_move_to(cr, 5, H - 10);
  cairo_set_source_rgb(cr, 0.1, 0.3, 0.8);
  cairo_show_text(cr, buf);
  cairo_move_to(cr, W - 260, H - 10);
  cairo_set_source_rgb(cr, 0.85, 0.3, 0.1);
  snprintf(buf, sizeof buf, "%s mIoU %% (right axis, 0-100)", val_name);
  cairo_show_text(cr, buf);
  cairo_set_source_rgb(cr, 0, 0, 0);
  snprintf(buf, sizeof buf, "epochs 1..%d", n);
  cairo_move_to(cr, W / 2 - 30, H - 28);
  cairo_show_text(cr, buf);
  double pw = W - L - R, ph = H - T - B;
  for (int series = 0; series < 2 && n > 0; series++) {
    GArray *a = series ? s->miou_hist : s->loss_hist;
    double scale = series ? 100.0 : lmax;
    cairo_set_source_rgb(cr, series ? 0.85 : 0.1, 0.3, series ? 0.1 : 0.8);
    cairo_set_line_width(cr, 2);
    bool pen = false;
    for (int i = 0; i < (int)a->len; i++) {
      double v = g_array_index(a, double, i);
      if (isnan(v)) continue;
      double x = L + (n > 1 ? pw * i / (n - 1) : pw / 2), y = T + ph * (1 - v / scale);
      if (pen) cairo_line_to(cr, x, y);
      else cairo_move_to(cr, x, y), pen = true;
      cairo_arc(cr, x, y, 1.5, 0, 2 * M_PI);
      cairo_move_to(cr, x, y);
    }
    cairo_stroke(cr);
  }
  cairo_destroy(cr);
  sr_atomic_file af;
  if (sr_atomic_open(&af, path, NULL) == SR_OK) {
    if (cairo_surface_write_to_png_stream(surf, write_stream, af.f) == CAIRO_STATUS_SUCCESS)
      sr_atomic_commit(&af, NULL);
    else
      sr_atomic_abort(&af);
  }
  cairo_surface_destroy(surf);
}

static void progress_eval(int done, int total, void *data) {
  (void)data;
  if (isatty(2)) fprintf(stderr, "\r  validating %d/%d", done, total);
  if (done == total && isatty(2)) fprintf(stderr, "\n");
}

static double validate(sr_model *m, sr_backend *b, const sr_dataset *val, const sr_train_config *c) {
  sr_net *net;
  sr_error err = {0};
  if (sr_net_new(m, b, &net, &err) != SR_OK) return NAN;
  sr_confusion conf;
  double miou = NAN;
  if (sr_confusion_init(&conf, m->n_classes) != SR_OK)
    fprintf(stderr, "validation failed: out of memory for a %d-class confusion matrix\n", m->n_classes);
  else if (sr_evaluate(net, m, val, c->eval_w, c->eval_h, c->eval_upsample, &conf, progress_eval, NULL, &err) == SR_OK)
    miou = sr_confusion_miou(&conf, NULL);
  else
    fprintf(stderr, "validation failed: %s\n", err.msg);
  sr_confusion_clear(&conf);
  sr_net_free(net);
  return miou;
}

/* ---- cached features (the paper's mode: frozen conv1-5 run once) ---- */

/* Where the frozen trunk ends: the input of the first trainable conv, moved
 * before any dropout so dropout still acts during training. */
static int cache_point(const sr_model *m, int first_trainable) {
  int at = first_trainable;
  while (at > 0 && m->layers[at - 1].type == SR_LAYER_DROPOUT) at--;
  return at;
}

/* Mirrors each of the @rows rows of @w floats at @v in place. */
static void mirror_rows(float *v, size_t rows, int w) {
  for (size_t r = 0; r < rows; r++)
    for (int x = 0, y = w - 1; x < y; x++, y--) {
      float t = v[r * w + x];
      v[r * w + x] = v[r * w + y], v[r * w + y] = t;
    }
}

/* Runs the frozen layers once per image and writes OUT.features (float32)
 * atomically; returns it memory-mapped. Layout: per image, @views blocks of
 * C × h × w (*@per_image floats each): the image's features, then (@views 2,
 * for random flips) those of the mirrored image. A mirrored feature map is
 * not the features of the mirrored image (conv strides and pool windows do
 * not line up under a mirror), so the mirrored input is run too. */
static sr_status build_feature_cache(const sr_model *m, sr_backend *b, const sr_dataset *ds, int at, int w, int h,
                                     int views, const char *path, GMappedFile **out, size_t *per_image,
                                     sr_error *err) {
  tgraph g;
  sr_status st = tg_init(&g, m, b, 1, h, w, err);
  if (st != SR_OK) return st;
  g.n_steps = at; /* run only the frozen part */
  *per_image = sr_tensor_count(&g.act[at]);
  float *input = malloc(sizeof(float) * 3 * w * h);
  g.act[0].data = input;
  sr_atomic_file af = {0};
  st = input ? sr_atomic_open(&af, path, err) : sr_error_set(err, SR_ERR_NOMEM, "out of memory for the feature cache");
  const sr_pixel_layout rgb = {3, 0, 1, 2};
  for (int i = 0; i < ds->n && st == SR_OK; i++) {
    const sr_image *img = &ds->images[i];
    sr_preprocess(img->data, img->width, img->height, img->width * 3, rgb, m->mean_bgr, w, h, input);
    for (int v = 0; v < views && st == SR_OK; v++) {
      if (v == 1) mirror_rows(input, (size_t)3 * h, w);
      if ((st = tg_forward(&g, NULL, false)) != SR_OK) break;
      if (fwrite(g.act[at].data, sizeof(float), *per_image, af.f) != *per_image)
        st = sr_error_set(err, SR_ERR_IO, "%s: write failed", path);
    }
    if (isatty(2)) fprintf(stderr, "\r  caching features %d/%d", i + 1, ds->n);
  }
  if (isatty(2)) fprintf(stderr, "\n");
  g.n_steps = m->n_layers - 1;
  g.act[0].data = NULL;
  tg_free(&g);
  free(input);
  if (st != SR_OK) {
    sr_atomic_abort(&af);
    return st;
  }
  if ((st = sr_atomic_commit(&af, err)) != SR_OK) return st;
  GError *gerr = NULL;
  *out = g_mapped_file_new(path, FALSE, &gerr);
  if (!*out) {
    st = sr_error_set(err, SR_ERR_IO, "%s", gerr->message);
    g_error_free(gerr);
  }
  return st;
}

/* Copies one cached view @feat (the image's features, or its mirror's when
 * @flip) into batch slot @slot, and the labels, mirrored when @flip. */
static void load_cached(const float *feat, const sr_tensor *dst, int slot, const sr_image *lab, uint8_t *labels, bool flip) {
  size_t per = (size_t)dst->c * dst->h * dst->w;
  memcpy(dst->data + slot * per, feat, sizeof(float) * per);
  uint8_t *l = labels + (size_t)slot * lab->width * lab->height;
  for (int y = 0; y < lab->height; y++)
    for (int x = 0; x < lab->width; x++)
      l[(size_t)y * lab->width + x] = lab->data[(size_t)y * lab->width + (flip ? lab->width - 1 - x : x)];
}

static bool valid_any(const uint8_t *valid, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (valid[i]) return true;
  return false;
}

/* ---- the loop ---- */

static void shuffle(int *perm, int n, uint64_t seed) {
  sr_rng r;
  sr_rng_seed(&r, seed);
  for (int i = 0; i < n; i++) perm[i] = i;
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(sr_rng_next(&r) % (uint64_t)(i + 1)), t = perm[i];
    perm[i] = perm[j], perm[j] = t;
  }
}

sr_status sr_train(sr_model *m, sr_backend *b, const sr_dataset *train, const sr_dataset *val,
                   const sr_train_config *c, sr_error *err) {
  const int B = c->batch, CH = c->aug.crop_h, CW = c->aug.crop_w;
  if (B < 1 || c->epochs < 1 || !(c->lr > 0)) return sr_error_set(err, SR_ERR_INVALID, "batch, epochs and lr must be positive");
  if (train->n_classes != m->n_classes)
    return sr_error_set(err, SR_ERR_INVALID, "dataset has %d classes, model %d", train->n_classes, m->n_classes);
  char *ckpt = g_strdup_printf("%s.ckpt", c->out), *metrics = g_strdup_printf("%s.metrics.jsonl", c->out);
  char *plot = g_strdup_printf("%s.png", c->out);
  float **mom_w = NULL, **mom_b = NULL, **dw = NULL, **db = NULL;
  train_state s = {0, 0, 0, g_array_new(FALSE, FALSE, sizeof(double)), g_array_new(FALSE, FALSE, sizeof(double))};
  sr_status st = SR_OK;
  if (sr_param_buffers_new(m, &mom_w, &mom_b) != SR_OK || sr_param_buffers_new(m, &dw, &db) != SR_OK)
    st = sr_error_set(err, SR_ERR_NOMEM, "out of memory for the gradient and momentum buffers");
  int first_trainable = 0, convs = 0;
  for (int i = 0; i < m->n_layers; i++) {
    if (m->layers[i].type != SR_LAYER_CONV) continue;
    if (convs++ == c->freeze) first_trainable = i;
  }
  if (st == SR_OK && c->freeze >= convs) st = sr_error_set(err, SR_ERR_INVALID, "--freeze %d leaves nothing to train", c->freeze);
  if (st == SR_OK && c->resume) {
    sr_model *cm = NULL;
    float **cw = NULL, **cb = NULL;
    char *state = NULL;
    const long ipe = (train->n + B - 1) / B;
    st = sr_checkpoint_load(ckpt, &cm, &cw, &cb, &state, err);
    bool same = st == SR_OK && cm->n_layers == m->n_layers && cm->n_classes == m->n_classes;
    for (int i = 0; same && i < m->n_layers; i++)
      same = cm->layers[i].type == m->layers[i].type &&
             (m->layers[i].type != SR_LAYER_CONV || !memcmp(&cm->layers[i].conv, &m->layers[i].conv, sizeof m->layers[i].conv));
    if (st == SR_OK && !same) {
      st = sr_error_set(err, SR_ERR_INVALID, "%s: checkpoint does not match the model being trained", ckpt);
    } else if (st == SR_OK) {
      for (int i = 0; i < m->n_layers; i++) {
        if (!dw[i]) continue;
        size_t wc = sr_layer_weight_count(&m->layers[i]);
        memcpy(m->layers[i].weight, cm->layers[i].weight, wc * sizeof(float));
        memcpy(m->layers[i].bias, cm->layers[i].bias, m->layers[i].conv.out_c * sizeof(float));
        memcpy(mom_w[i], cw[i], wc * sizeof(float));
        memcpy(mom_b[i], cb[i], m->layers[i].conv.out_c * sizeof(float));
      }
      st = state_from_json(ckpt, state, &s, c, ipe * c->epochs, ipe, err);
      if (st == SR_OK) fprintf(stderr, "resuming from %s at iteration %ld\n", ckpt, s.iter);
    }
    if (cm) {
      sr_param_buffers_free(cm->n_layers, cw, cb);
      sr_model_free(cm);
      g_free(state);
    }
  }
  if (st == SR_OK) st = trim_metrics(metrics, (long)s.loss_hist->len, err);
  tgraph g;
  GMappedFile *cache = NULL;
  size_t per_image = 0;
  const bool cached = c->cache_features;
  const int views = c->aug.flip ? 2 : 1; /* cached views per image: it, and its mirror for flips */
  if (st == SR_OK && cached) {
    for (int i = 0; i < train->n && st == SR_OK; i++)
      if (train->labels[i].width != train->labels[0].width || train->labels[i].height != train->labels[0].height)
        st = sr_error_set(err, SR_ERR_INVALID, "--cache-features needs images of one size (%s differs)", train->names[i]);
    if (st == SR_OK && c->freeze < 1) st = sr_error_set(err, SR_ERR_INVALID, "--cache-features needs --freeze");
    char *fpath = g_strdup_printf("%s.features", c->out);
    if (st == SR_OK) {
      fprintf(stderr, "caching the frozen layers' output for %d images in %s\n", train->n, fpath);
      st = build_feature_cache(m, b, train, cache_point(m, first_trainable), c->eval_w, c->eval_h, views, fpath,
                               &cache, &per_image, err);
    }
    g_free(fpath);
  }
  if (st == SR_OK) st = tg_init(&g, m, b, B, cached ? c->eval_h : CH, cached ? c->eval_w : CW, err);
  if (st != SR_OK) goto out;
  if (cached) {
    g.from = cache_point(m, first_trainable);
    g.LH = train->labels[0].height, g.LW = train->labels[0].width;
  }
  {
    const long ipe = (train->n + B - 1) / B, total = ipe * c->epochs;
    const sr_tensor *z = &g.act[g.n_steps];
    float *input = malloc(sizeof(float) * B * 3 * CH * CW);
    uint8_t *labels = malloc((size_t)B * g.LH * g.LW), *valid = malloc((size_t)B * z->h * z->w);
    float *target = malloc(sizeof(float) * sr_tensor_count(z));
    int *perm = malloc(sizeof(int) * train->n);
    if (!input || !labels || !valid || !target || !perm)
      st = sr_error_set(err, SR_ERR_NOMEM, "out of memory for the training batch (%d images)", B);
    if (!cached) g.act[0] = (sr_tensor){B, 3, CH, CW, input};
    m->input_w = c->eval_w, m->input_h = c->eval_h;
    double t_start = now_s(), t_last = t_start;
    long it0 = s.iter, perm_epoch = -1;
    fprintf(stderr, "training: %d images, batch %d, %ld iterations/epoch, %d epochs, loss %s, %s %dx%d, map %dx%d\n",
            train->n, B, ipe, c->epochs, sr_loss_name(c->loss.kind), cached ? "cached features of" : "crop",
            cached ? c->eval_w : CW, cached ? c->eval_h : CH, z->w, z->h);
    long stop = c->stop_after > 0 && c->stop_after < total ? c->stop_after : total;
    for (; s.iter < stop && st == SR_OK; s.iter++) {
      long epoch = s.iter / ipe, pos = s.iter % ipe;
      if (epoch != perm_epoch) shuffle(perm, train->n, c->seed * 1000003u + (uint64_t)epoch), perm_epoch = epoch;
      sr_rng rng;
      sr_rng_seed(&rng, c->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(s.iter + 1)));
      for (int k = 0; k < B; k++) {
        int idx = perm[(pos * B + k) % train->n];
        if (cached) {
          bool flip = c->aug.flip && sr_rng_uniform(&rng) < 0.5;
          load_cached((const float *)g_mapped_file_get_contents(cache) + ((size_t)idx * views + flip) * per_image,
                      &g.act[g.from], k, &train->labels[idx], labels, flip);
        } else
          sr_augment(&train->images[idx], &train->labels[idx], &c->aug, m->mean_bgr, train->void_label, &rng,
                     input + (size_t)k * 3 * CH * CW, labels + (size_t)k * CH * CW);
      }
      double value;
      st = tg_step(&g, &c->loss, labels, train->void_label, &rng, true, first_trainable, &value, dw, db, target,
                   valid);
      if (st != SR_OK) {
        sr_error_set(err, st, "training step %ld failed: %s", s.iter, sr_status_str(st));
        break;
      }
      bool all_void = isnan(value) && !valid_any(valid, (size_t)B * z->h * z->w);
      if (!isfinite(value) && !all_void) {
        st = sr_error_set(err, SR_ERR_INVALID, "loss diverged (%g) at iteration %ld: lower --lr or set --clip", value,
                          s.iter);
        break;
      }
      if (!all_void) s.epoch_loss += value, s.epoch_n++;
      /* Gradient clipping by global L2 norm. */
      double gscale = 1;
      if (c->clip > 0) {
        double norm = 0;
        for (int i = first_trainable; i < m->n_layers; i++) {
          if (!dw[i]) continue;
          size_t wc = sr_layer_weight_count(&m->layers[i]);
          for (size_t k = 0; k < wc; k++) norm += (double)dw[i][k] * dw[i][k];
          for (int k = 0; k < m->layers[i].conv.out_c; k++) norm += (double)db[i][k] * db[i][k];
        }
        norm = sqrt(norm);
        if (norm > c->clip) gscale = c->clip / norm;
      }
      double lr = lr_at(c, s.iter, total);
      sgd_step(g.b, m, first_trainable, dw, db, mom_w, mom_b, lr * gscale, lr, c->momentum, c->weight_decay);
      double t = now_s();
      bool epoch_end = pos == ipe - 1;
      if (t - t_last > 2 || epoch_end || s.iter + 1 == total) {
        double ips = (s.iter + 1 - it0) * B / (t - t_start), eta = (total - s.iter - 1) * B / ips;
        fprintf(stderr, "%sepoch %ld/%d iter %ld/%ld  %.1f img/s  loss %.4f  lr %.5f  ETA %02d:%02d:%02d%s",
                isatty(2) ? "\r" : "", epoch + 1, c->epochs, s.iter + 1, total, ips,
                s.epoch_n ? s.epoch_loss / s.epoch_n : NAN, lr, (int)(eta / 3600), (int)fmod(eta / 60, 60),
                (int)fmod(eta, 60), isatty(2) ? "   " : "\n");
        t_last = t;
      }
      if (epoch_end) {
        double mean = s.epoch_n ? s.epoch_loss / s.epoch_n : NAN, miou = NAN;
        bool due = val && ((c->eval_every > 0 && (epoch + 1) % c->eval_every == 0) || epoch + 1 == c->epochs);
        if (isatty(2)) fprintf(stderr, "\n");
        if (due) miou = validate(m, b, val, c);
        g_array_append_val(s.loss_hist, mean);
        g_array_append_val(s.miou_hist, miou);
        s.epoch_loss = 0, s.epoch_n = 0;
        if (due) fprintf(stderr, "epoch %ld: mean loss %.4f, %s mIoU %.2f (%s)\n", epoch + 1, mean,
                         c->val_name ? c->val_name : "val", miou,
                         sr_upsample_name(c->eval_upsample));
        FILE *f = fopen(metrics, "a");
        if (f) {
          fprintf(f, "{\"epoch\":%ld,\"iter\":%ld,\"loss\":%.6g,\"val_miou\":", epoch + 1, s.iter + 1, mean);
          if (isnan(miou)) fprintf(f, "null");
          else fprintf(f, "%.4f", miou);
          fprintf(f, ",\"lr\":%.6g,\"images_per_s\":%.3f,\"seconds\":%.1f}\n", lr,
                  (s.iter + 1 - it0) * B / (now_s() - t_start), now_s() - t_start);
          fclose(f);
        }
        char title[200];
        snprintf(title, sizeof title, "%s: loss %s, batch %d, lr %g", c->out, sr_loss_name(c->loss.kind), B, c->lr);
        write_plot(plot, &s, title, c->val_name ? c->val_name : "val");
      }
      if (epoch_end || (c->checkpoint_every > 0 && (s.iter + 1) % c->checkpoint_every == 0) || s.iter + 1 == stop) {
        train_state next = s;
        next.iter = s.iter + 1;
        char *json = state_to_json(&next, c);
        st = sr_checkpoint_save(m, mom_w, mom_b, json, ckpt, err);
        g_free(json);
      }
    }
    if (st == SR_OK && s.iter < total) {
      fprintf(stderr, "stopped after iteration %ld of %ld; continue with --resume\n", s.iter, total);
    } else if (st == SR_OK) {
      GString *prov = g_string_new("");
      double last = NAN;
      for (guint i = 0; i < s.miou_hist->len; i++)
        if (!isnan(g_array_index(s.miou_hist, double, i))) last = g_array_index(s.miou_hist, double, i);
      g_string_append_printf(prov,
                             "{\"source\":\"segrank train\",\"loss\":\"%s\",\"epochs\":%d,\"batch\":%d,\"lr\":%g,"
                             "\"crop\":[%d,%d],\"seed\":%llu,\"freeze\":%d,\"train_images\":%d,",
                             sr_loss_name(c->loss.kind), c->epochs, B, c->lr, CW, CH, (unsigned long long)c->seed,
                             c->freeze, train->n);
      if (isnan(last)) g_string_append(prov, "\"val_miou\":null");
      else g_string_append_printf(prov, "\"val_miou\":%.2f,\"val_upsample\":\"%s\"", last, sr_upsample_name(c->eval_upsample));
      if (c->val_name) g_string_append_printf(prov, ",\"val_set\":\"%s\"", c->val_name);
      if (c->command) {
        char *esc = g_strescape(c->command, NULL);
        g_string_append_printf(prov, ",\"command\":\"%s\"", esc);
        g_free(esc);
      }
      if (c->provenance_extra && *c->provenance_extra) g_string_append_printf(prov, ",%s", c->provenance_extra);
      /* A model trained from another keeps that one's history. */
      if (m->provenance) g_string_append_printf(prov, ",\"init\":%s", m->provenance);
      g_string_append(prov, "}");
      free(m->provenance);
      m->provenance = g_string_free(prov, FALSE);
      st = sr_model_save(m, c->out, c->fp16 ? SR_DTYPE_F16 : SR_DTYPE_F32, err);
    }
    free(input), free(labels), free(valid), free(target), free(perm);
    if (!cached) g.act[0].data = NULL;
    tg_free(&g);
  }
out:
  if (cache) g_mapped_file_unref(cache);
  sr_param_buffers_free(m->n_layers, mom_w, mom_b);
  sr_param_buffers_free(m->n_layers, dw, db);
  g_array_free(s.loss_hist, TRUE), g_array_free(s.miou_hist, TRUE);
  g_free(ckpt), g_free(metrics), g_free(plot);
  return st;
}

static int cmp_name(const void *a, const void *b, void *ds) {
  char *const *names = ((const sr_dataset *)ds)->names;
  return strcmp(names[*(const int *)a], names[*(const int *)b]);
}

sr_status sr_fold_plan(const sr_dataset *ds, int folds, int *fold_of, sr_error *err) {
  int *order = malloc(sizeof(int) * (ds->n > 0 ? ds->n : 1));
  if (!order) return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the fold plan (%d images)", ds->n);
  for (int i = 0; i < ds->n; i++) order[i] = i;
  qsort_r(order, ds->n, sizeof(int), cmp_name, (void *)ds);
  for (int i = 0; i < ds->n; i++) fold_of[order[i]] = (int)((long)i * folds / ds->n);
  free(order);
  return SR_OK;
}

static char *out_stem(const char *out) {
  return g_str_has_suffix(out, ".srmodel") ? g_strndup(out, strlen(out) - strlen(".srmodel")) : g_strdup(out);
}

char *sr_fold_model_path(const char *out, int fold) {
  char *stem = out_stem(out), *p = g_strdup_printf("%s.fold%d.srmodel", stem, fold);
  g_free(stem);
  return p;
}

char *sr_fold_oof_dir(const char *out) {
  char *stem = out_stem(out), *p = g_strdup_printf("%s.oof", stem);
  g_free(stem);
  return p;
}

/* Writes OUT.oof/folds.json, or checks that an existing one records the
 * same plan. */
static sr_status fold_manifest(const char *oof, const sr_dataset *ds, int folds, const int *fold_of, const char *out,
                               sr_error *err) {
  JsonBuilder *jb = json_builder_new();
  json_builder_begin_object(jb);
  json_builder_set_member_name(jb, "folds"), json_builder_add_int_value(jb, folds);
  json_builder_set_member_name(jb, "plan"), json_builder_add_string_value(jb, "contiguous blocks in name order");
  json_builder_set_member_name(jb, "images"), json_builder_begin_array(jb);
  for (int i = 0; i < ds->n; i++) {
    json_builder_begin_object(jb);
    json_builder_set_member_name(jb, "name"), json_builder_add_string_value(jb, ds->names[i]);
    json_builder_set_member_name(jb, "fold"), json_builder_add_int_value(jb, fold_of[i]);
    json_builder_end_object(jb);
  }
  json_builder_end_array(jb);
  json_builder_set_member_name(jb, "models"), json_builder_begin_array(jb);
  for (int f = 0; f < folds; f++) {
    char *mp = sr_fold_model_path(out, f), *base = g_path_get_basename(mp);
    json_builder_add_string_value(jb, base);
    g_free(mp), g_free(base);
  }
  json_builder_end_array(jb);
  json_builder_end_object(jb);
  char *text = sr_json_builder_finish(jb, TRUE);
  char *path = g_build_filename(oof, "folds.json", NULL), *old = NULL;
  sr_status st = SR_OK;
  if (g_file_get_contents(path, &old, NULL, NULL)) {
    if (strcmp(old, text) != 0)
      st = sr_error_set(err, SR_ERR_INVALID,
                        "%s records another fold plan (other --folds or other images); "
                        "use another -o or remove the old folds",
                        path);
  } else {
    st = sr_atomic_write(path, text, strlen(text), err);
    /* A new plan: checkpoints left by another plan's folds must not be resumed. */
    for (int f = 0; f < folds && st == SR_OK; f++) {
      char *mp = sr_fold_model_path(out, f), *ck = g_strdup_printf("%s.ckpt", mp);
      if (g_file_test(ck, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "%s: left by another fold plan, removed\n", ck);
        g_unlink(ck);
      }
      g_free(mp), g_free(ck);
    }
  }
  g_free(old), g_free(path), g_free(text);
  return st;
}

static bool node_holds_out(JsonObject *o, const char *name) {
  for (; o; o = sr_json_get_obj(o, "init")) {
    if (strcmp(sr_json_get_str(o, "source", ""), "segrank train")) continue;
    JsonArray *a = sr_json_get_arr(o, "held_out");
    bool found = false;
    for (guint i = 0; a && i < json_array_get_length(a) && !found; i++) {
      JsonNode *e = json_array_get_element(a, i);
      found = JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING &&
              !strcmp(json_node_get_string(e), name);
    }
    if (!found) return false;
  }
  return true;
}

bool sr_provenance_holds_out(const char *provenance, const char *name) {
  if (!provenance) return true;
  JsonParser *p = json_parser_new();
  bool ok = false;
  if (sr_json_parse(p, provenance, -1, "model", "provenance", NULL) == SR_OK) {
    JsonObject *o = sr_json_root_obj(p);
    ok = o && node_holds_out(o, name);
  }
  g_object_unref(p);
  return ok;
}

/* Whether @m has seen none of the images of fold @f. */
static bool model_holds_out_fold(const sr_model *m, const sr_dataset *ds, int f, const int *fold_of, char **first_seen) {
  for (int i = 0; i < ds->n; i++)
    if (fold_of[i] == f && !sr_provenance_holds_out(m->provenance, ds->names[i])) {
      *first_seen = ds->names[i];
      return false;
    }
  return true;
}

/* Whether @m's provenance says it was trained by `segrank train` as fold
 * @f of @folds. */
static bool is_fold_model(const sr_model *m, int f, int folds) {
  JsonParser *p = json_parser_new();
  bool ok = false;
  if (m->provenance && sr_json_parse(p, m->provenance, -1, "model", "provenance", NULL) == SR_OK) {
    JsonObject *o = sr_json_root_obj(p);
    int pf, pk;
    ok = o && !strcmp(sr_json_get_str(o, "source", ""), "segrank train") &&
         sr_json_get_int(o, "fold", 0, 1 << 20, &pf) && sr_json_get_int(o, "folds", 0, 1 << 20, &pk) && pf == f &&
         pk == folds;
  }
  g_object_unref(p);
  return ok;
}

/* The provenance members that name fold @f and its held-out images. */
static char *fold_provenance(const sr_dataset *ds, int folds, int f, const int *fold_of) {
  GString *g = g_string_new("");
  g_string_append_printf(g, "\"fold\":%d,\"folds\":%d,\"held_out\":[", f, folds);
  bool first = true;
  for (int i = 0; i < ds->n; i++) {
    if (fold_of[i] != f) continue;
    char *esc = g_strescape(ds->names[i], NULL);
    g_string_append_printf(g, "%s\"%s\"", first ? "" : ",", esc);
    g_free(esc);
    first = false;
  }
  g_string_append(g, "]");
  return g_string_free(g, FALSE);
}

/* Runs @m on each image of @held and writes OOF/NAME.npy. */
static sr_status write_oof(const sr_model *m, sr_backend *b, const sr_dataset *held, const char *oof, int ew, int eh,
                           sr_error *err) {
  sr_net *net = NULL;
  sr_tensor input = {0}, probs = {0};
  sr_tensor_alloc(&input, 1, 3, eh, ew);
  sr_status st = sr_net_new(m, b, &net, err);
  const sr_pixel_layout rgb = {3, 0, 1, 2};
  for (int i = 0; i < held->n && st == SR_OK; i++) {
    const sr_image *img = &held->images[i];
    sr_preprocess(img->data, img->width, img->height, img->width * 3, rgb, m->mean_bgr, ew, eh, input.data);
    char *base = g_strdup(held->names[i]), *dot = strrchr(base, '.');
    if (dot) *dot = 0;
    char *np = g_strdup_printf("%s/%s.npy", oof, base);
    st = sr_net_forward(net, &input, &probs, err);
    int shape[3] = {probs.c, probs.h, probs.w};
    if (st == SR_OK) st = sr_npy_save(np, probs.data, shape, 3, err);
    g_free(np), g_free(base);
  }
  sr_net_free(net);
  sr_tensor_clear(&input), sr_tensor_clear(&probs);
  return st;
}

sr_status sr_train_folds(const sr_model *proto, sr_backend *b, const sr_dataset *train, int folds, int only_fold,
                         const sr_train_config *config, bool *complete, sr_error *err) {
  if (complete) *complete = false;
  if (folds < 2 || folds > train->n)
    return sr_error_set(err, SR_ERR_INVALID, "--folds %d: needs 2..%d (the training images)", folds, train->n);
  if (only_fold >= folds) return sr_error_set(err, SR_ERR_INVALID, "--fold %d: the folds are 0..%d", only_fold, folds - 1);
  int *fold_of = malloc(sizeof(int) * train->n), *in = malloc(sizeof(int) * train->n), *out = malloc(sizeof(int) * train->n);
  if (!fold_of || !in || !out) {
    free(fold_of), free(in), free(out);
    return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the fold plan (%d images)", train->n);
  }
  sr_status st = sr_fold_plan(train, folds, fold_of, err);
  char *oof = sr_fold_oof_dir(config->out);
  if (st == SR_OK && g_mkdir_with_parents(oof, 0755) != 0)
    st = sr_error_set(err, SR_ERR_IO, "%s: cannot create the folder", oof);
  if (st == SR_OK) st = fold_manifest(oof, train, folds, fold_of, config->out, err);
  bool done = true;
  for (int f = 0; f < folds && st == SR_OK && done; f++) {
    if (only_fold >= 0 && f != only_fold) continue;
    int ni = 0, no = 0;
    for (int i = 0; i < train->n; i++) {
      if (fold_of[i] == f) out[no++] = i;
      else in[ni++] = i;
    }
    sr_dataset tr, held;
    if (sr_dataset_subset(train, in, ni, &tr, err) != SR_OK) {
      st = SR_ERR_NOMEM;
      break;
    }
    if (sr_dataset_subset(train, out, no, &held, err) != SR_OK) {
      sr_dataset_clear(&tr);
      st = SR_ERR_NOMEM;
      break;
    }
    char *path = sr_fold_model_path(config->out, f), *ckpt = g_strdup_printf("%s.ckpt", path);
    char *prov = fold_provenance(train, folds, f, fold_of);
    sr_model *m = NULL;
    char *seen = NULL;
    if (g_file_test(path, G_FILE_TEST_EXISTS)) {
      st = sr_model_load(path, &m, err);
      if (st == SR_OK && (!is_fold_model(m, f, folds) || !model_holds_out_fold(m, train, f, fold_of, &seen)))
        st = sr_error_set(err, SR_ERR_INVALID, "%s exists but was not trained as fold %d of this plan%s%s", path, f,
                          seen ? ": it saw " : "", seen ? seen : "");
      if (st == SR_OK) fprintf(stderr, "fold %d/%d: %s exists, not retrained\n", f + 1, folds, path);
    } else if (!model_holds_out_fold(proto, train, f, fold_of, &seen)) {
      st = sr_error_set(err, SR_ERR_INVALID,
                        "fold %d: the starting model was trained on %s, one of the fold's held-out images "
                        "(start each fold from a model that did not see it, e.g. --init ce.fold{fold}.srmodel)",
                        f, seen);
    } else {
      m = sr_model_copy(proto); /* every fold starts from the same weights */
      fprintf(stderr, "fold %d/%d: %d training images, %d held out\n", f + 1, folds, ni, no);
      sr_train_config fc = *config;
      fc.out = path;
      fc.resume = config->resume && g_file_test(ckpt, G_FILE_TEST_EXISTS);
      fc.provenance_extra = prov;
      fc.val_name = "held-out fold";
      st = m ? sr_train(m, b, &tr, &held, &fc, err)
             : sr_error_set(err, SR_ERR_NOMEM, "fold %d: out of memory copying the starting model", f);
      done = st == SR_OK && g_file_test(path, G_FILE_TEST_EXISTS); /* stop_after leaves no model */
    }
    if (st == SR_OK && done) st = write_oof(m, b, &held, oof, config->eval_w, config->eval_h, err);
    sr_model_free(m);
    g_free(path), g_free(ckpt), g_free(prov);
    sr_dataset_clear(&tr), sr_dataset_clear(&held);
  }
  if (complete) *complete = st == SR_OK && done;
  g_free(oof), free(fold_of), free(in), free(out);
  return st;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

sr_status sr_train_bench(const sr_model *proto, sr_backend *b, bool paper_mode, int batch, int h, int w, int steps,
                         double *ms_per_step, sr_error *err) {
  sr_model *m = sr_model_copy(proto);
  if (!m) return sr_error_set(err, SR_ERR_NOMEM, "out of memory copying the model");
  for (int i = 0; i < m->n_layers; i++) /* no dropout: the peer's head has none */
    if (m->layers[i].type == SR_LAYER_DROPOUT) m->layers[i].dropout = 0;
  tgraph g;
  sr_status st = tg_init(&g, m, b, batch, h, w, err);
  if (st != SR_OK) {
    sr_model_free(m);
    return st;
  }
  int first_trainable = 0, convs = 0;
  for (int i = 0; i < m->n_layers; i++)
    if (m->layers[i].type == SR_LAYER_CONV && convs++ == (paper_mode ? 5 : 0)) first_trainable = i;
  if (paper_mode) g.from = cache_point(m, first_trainable);
  sr_rng rng;
  sr_rng_seed(&rng, 1);
  float *input = NULL;
  if (paper_mode) {
    for (size_t i = 0; i < sr_tensor_count(&g.act[g.from]); i++) g.act[g.from].data[i] = (float)fabs(sr_rng_normal(&rng));
  } else {
    input = malloc(sizeof(float) * batch * 3 * h * w);
    for (size_t i = 0; input && i < (size_t)batch * 3 * h * w; i++) input[i] = (float)(60 * sr_rng_normal(&rng));
    g.act[0] = (sr_tensor){batch, 3, h, w, input};
  }
  uint8_t *labels = malloc((size_t)batch * h * w);
  for (size_t i = 0; labels && i < (size_t)batch * h * w; i++) labels[i] = (uint8_t)((i / 37) % m->n_classes);
  const sr_tensor *z = &g.act[g.n_steps];
  float *target = malloc(sizeof(float) * sr_tensor_count(z));
  uint8_t *valid = malloc((size_t)z->n * z->h * z->w);
  float **dw = NULL, **db = NULL, **vw = NULL, **vb = NULL;
  sr_status pst = sr_param_buffers_new(m, &dw, &db);
  if (pst == SR_OK) pst = sr_param_buffers_new(m, &vw, &vb);
  sr_loss loss = {SR_LOSS_CE, 0, 0};
  double *t = malloc(sizeof(double) * (steps + 1));
  if (pst != SR_OK || !t || !labels || !target || !valid || (!paper_mode && !input))
    st = sr_error_set(err, SR_ERR_NOMEM, "out of memory for the training benchmark's buffers");
  for (int s = 0; s <= steps && st == SR_OK; s++) { /* step 0 warms up */
    double t0 = now_s(), v;
    st = tg_step(&g, &loss, labels, 255, &rng, false, first_trainable, &v, dw, db, target, valid);
    if (st == SR_OK) sgd_step(g.b, m, first_trainable, dw, db, vw, vb, 1e-3, 1e-3, 0.9, 5e-4);
    t[s] = (now_s() - t0) * 1e3;
  }
  if (st == SR_OK) {
    qsort(t + 1, steps, sizeof(double), cmp_double);
    *ms_per_step = t[1 + steps / 2];
  }
  free(t), free(labels), free(target), free(valid), free(input);
  sr_param_buffers_free(m->n_layers, dw, db);
  sr_param_buffers_free(m->n_layers, vw, vb);
  if (!paper_mode) g.act[0].data = NULL;
  tg_free(&g);
  sr_model_free(m);
  return st;
}
