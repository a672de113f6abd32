/* test_ops.c: every operation of every backend (cpu, and vulkan where a
 * device exists: lavapipe in CI) against the ref backend, on
 * random shapes covering stride, padding, groups and odd sizes (the way
 * ggml's test-backend-ops works): same inputs, compare within the row's
 * stated tolerance; then the whole SegNet on a small input; and max-pool
 * geometry whose last window would be empty (kernel 1, stride 2): refused by
 * model validation, and pooled without touching memory outside the plane.
 * `test_ops --cpu-only` (tests/cpu/meson.build, once per SEGRANK_CPU_ISA
 * level and with SEGRANK_CPU_GEMM=openblas) checks the cpu backend alone
 * at the level the environment names, and reports SKIP (77) naming the
 * level when this CPU lacks it. `test_ops --cuda-host` (tests/cuda) checks
 * the CUDA backend's op code in host mode, its kernel bodies in host loops
 * (every machine); `--cuda-device` the real backend on a GPU, SKIP (77)
 * naming the CUDA runtime's reason where none is usable. */
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend_impl.h"
#include "backends/cpu/cpu_isa.h"
#include "test_util.h"

typedef enum { OP_CONV, OP_RELU, OP_POOL, OP_LRN, OP_SOFTMAX } op_kind;

typedef struct {
  op_kind op;
  int n, c, h, w;        /* input shape */
  sr_conv_params conv;   /* OP_CONV (in_c = c) */
  sr_pool_params pool;   /* OP_POOL */
  sr_lrn_params lrn;     /* OP_LRN */
  double tol;            /* NMSE bound */
  const char *why;       /* reason for the bound */
} op_case;

#define F32_SUM "float32 sums in a different order"
static const op_case cases[] = {
    /* conv: stride, pad, groups, odd sizes, 1x1 fast path, fused ReLU */
    {OP_CONV, 1, 3, 23, 19, {3, 8, 11, 11, 4, 0, 1, true}, {0}, {0}, 1e-10, F32_SUM},
    {OP_CONV, 2, 6, 9, 7, {6, 8, 5, 5, 1, 2, 2, true}, {0}, {0}, 1e-10, F32_SUM},
    {OP_CONV, 1, 8, 7, 7, {8, 12, 3, 3, 1, 1, 4, false}, {0}, {0}, 1e-10, F32_SUM},
    {OP_CONV, 3, 5, 6, 11, {5, 7, 3, 3, 2, 1, 1, false}, {0}, {0}, 1e-10, F32_SUM},
    {OP_CONV, 1, 16, 5, 5, {16, 21, 1, 1, 1, 0, 1, false}, {0}, {0}, 1e-10, F32_SUM},
    {OP_CONV, 2, 4, 13, 13, {4, 6, 3, 5, 1, 2, 2, true}, {0}, {0}, 1e-10, F32_SUM},
    {OP_CONV, 1, 3, 4, 4, {3, 2, 3, 3, 3, 2, 1, false}, {0}, {0}, 1e-10, "padding wider than the image"},
    /* 3x3 stride 1 (the cpu backend's Winograd path): no padding, padding 2, odd sizes, batch 3 */
    {OP_CONV, 3, 6, 9, 10, {6, 10, 3, 3, 1, 0, 2, true}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    {OP_CONV, 1, 4, 5, 8, {4, 5, 3, 3, 1, 2, 1, false}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    /* 8+ input channels: the filter transform's 8-wide steps and tail */
    {OP_CONV, 1, 20, 6, 7, {20, 9, 3, 3, 1, 1, 1, false}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    /* 5x5 stride 1 (the cpu backend's four stacked 3x3 Winograd kernels): pads 0, 1, 4, odd sizes */
    {OP_CONV, 1, 5, 11, 8, {5, 7, 5, 5, 1, 0, 1, false}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    {OP_CONV, 3, 4, 7, 10, {4, 6, 5, 5, 1, 1, 2, true}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    {OP_CONV, 1, 2, 3, 4, {2, 3, 5, 5, 1, 4, 1, false}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    {OP_CONV, 5, 6, 9, 9, {6, 4, 5, 5, 1, 2, 2, true}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    /* strided kernels with ceil(k/stride) = 3 (conv1's 11x11/4): space-to-depth, then Winograd */
    {OP_CONV, 5, 4, 17, 14, {4, 6, 5, 5, 2, 2, 2, true}, {0}, {0}, 1e-10, "space-to-depth + Winograd, float32"},
    {OP_CONV, 1, 3, 20, 23, {3, 5, 7, 7, 3, 1, 1, false}, {0}, {0}, 1e-10, "space-to-depth + Winograd, float32"},
    {OP_CONV, 2, 3, 29, 26, {3, 4, 9, 9, 4, 0, 1, false}, {0}, {0}, 1e-10, "space-to-depth + Winograd, float32"},
    /* frames larger than a Winograd chunk: chunks of tile rows */
    {OP_CONV, 1, 8, 301, 299, {8, 8, 3, 3, 1, 1, 1, true}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    {OP_CONV, 1, 4, 150, 157, {4, 6, 5, 5, 1, 2, 2, false}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    {OP_CONV, 1, 3, 450, 470, {3, 8, 11, 11, 4, 0, 1, true}, {0}, {0}, 1e-10, "space-to-depth + Winograd, float32"},
    /* batches of 2 x threads or more: threads take whole frames */
    {OP_CONV, 5, 4, 7, 9, {4, 6, 3, 3, 1, 1, 2, true}, {0}, {0}, 1e-10, "Winograd transforms, float32"},
    /* maps of 1024+ pixels take the cpu backend's column-split path */
    {OP_CONV, 2, 3, 70, 66, {3, 4, 3, 3, 1, 1, 1, true}, {0}, {0}, 1e-10, F32_SUM},
    {OP_CONV, 1, 8, 40, 41, {8, 6, 1, 1, 1, 0, 2, false}, {0}, {0}, 1e-10, F32_SUM},
    {OP_CONV, 1, 3, 135, 140, {3, 5, 11, 11, 4, 0, 1, true}, {0}, {0}, 1e-10, F32_SUM},
    {OP_CONV, 1, 2, 70, 69, {2, 3, 5, 3, 2, 2, 1, false}, {0}, {0}, 1e-10, "stride 2 with padding"},
    {OP_RELU, 2, 3, 5, 7, {0}, {0}, {0}, 0, "exact"},
    /* max pool with Caffe's ceil rounding: 55->27, 13->6, odd, padded */
    {OP_POOL, 1, 4, 55, 55, {0}, {3, 2, 0}, {0}, 0, "exact"},
    {OP_POOL, 2, 3, 13, 14, {0}, {3, 2, 0}, {0}, 0, "exact"},
    {OP_POOL, 1, 2, 8, 9, {0}, {2, 2, 0}, {0}, 0, "exact"},
    {OP_POOL, 1, 2, 10, 7, {0}, {3, 2, 1}, {0}, 0, "exact"},
    /* LRN across channels: CaffeNet's, fewer channels than the window, other beta */
    {OP_LRN, 2, 11, 5, 6, {0}, {0}, {5, 1e-4f, 0.75f, 1.f}, 1e-12, "float32 powers"},
    {OP_LRN, 1, 3, 4, 4, {0}, {0}, {5, 1e-2f, 0.75f, 2.f}, 1e-12, "float32 powers"},
    {OP_LRN, 1, 9, 3, 5, {0}, {0}, {3, 1e-3f, 0.6f, 1.f}, 1e-12, "powf"},
    {OP_SOFTMAX, 2, 11, 4, 5, {0}, {0}, {0}, 1e-12, "expf"},
};

static void out_shape(const op_case *t, sr_tensor *y) {
  *y = (sr_tensor){t->n, t->c, t->h, t->w, NULL};
  if (t->op == OP_CONV) {
    y->c = t->conv.out_c;
    y->h = sr_conv_out_size(t->h, t->conv.kh, t->conv.stride, t->conv.pad);
    y->w = sr_conv_out_size(t->w, t->conv.kw, t->conv.stride, t->conv.pad);
  } else if (t->op == OP_POOL) {
    y->h = sr_pool_out_size(t->h, t->pool.kernel, t->pool.stride, t->pool.pad);
    y->w = sr_pool_out_size(t->w, t->pool.kernel, t->pool.stride, t->pool.pad);
  }
}

/* Runs case @t on backend @b: inputs uploaded to the backend's memory, the
 * op run, the output downloaded into @y (host). */
static void run_case(sr_backend *b, const op_case *t, const sr_tensor *x, const float *w, const float *bias,
                     sr_tensor *y) {
  const struct sr_backend_ops *ops = b->ops;
  size_t nx = sr_tensor_count(x), ny = sr_tensor_count(y);
  sr_tensor dx = *x, dy = *y;
  dx.data = ops->alloc(b, nx);
  dy.data = ops->alloc(b, ny);
  float *dw = NULL, *db = NULL;
  sr_status st = ops->upload(b, dx.data, x->data, nx);
  if (t->op == OP_CONV) {
    size_t wc = (size_t)t->conv.out_c * (t->c / t->conv.group) * t->conv.kh * t->conv.kw;
    dw = ops->alloc(b, wc), db = ops->alloc(b, t->conv.out_c);
    ops->upload(b, dw, w, wc);
    ops->upload(b, db, bias, t->conv.out_c);
  }
  switch (t->op) {
    case OP_CONV: st = ops->conv2d(b, &t->conv, &dx, dw, db, &dy); break;
    case OP_RELU:
      ops->upload(b, dy.data, x->data, nx);
      st = ops->relu(b, &dy);
      break;
    case OP_POOL: st = ops->maxpool(b, &t->pool, &dx, &dy); break;
    case OP_LRN: st = ops->lrn(b, &t->lrn, &dx, &dy); break;
    case OP_SOFTMAX: st = ops->softmax(b, &dx, &dy); break;
  }
  if (st == SR_OK && ops->synchronize) st = ops->synchronize(b);
  if (st == SR_OK) st = ops->download(b, y->data, dy.data, ny);
  CHECK(st == SR_OK, "%s: op failed", sr_backend_name(b));
  ops->release(b, dx.data), ops->release(b, dy.data);
  if (dw) ops->release(b, dw), ops->release(b, db);
}

/* The training passes (where @b has them) against ref: convolution
 * (weights, bias and input gradients), max pooling and LRN. */
static void check_backward(sr_backend *ref, sr_backend *b, sr_rng *rng) {
  static const op_case bcases[] = {
      {OP_CONV, 3, 6, 9, 10, {6, 8, 3, 3, 1, 1, 2, false}, {0}, {0}, 1e-10, "Winograd, groups, batch 3"},
      {OP_CONV, 2, 4, 7, 6, {4, 5, 3, 3, 1, 0, 1, false}, {0}, {0}, 1e-10, "Winograd, no padding"},
      {OP_CONV, 1, 3, 5, 8, {3, 4, 3, 3, 1, 2, 1, false}, {0}, {0}, 1e-10, "Winograd, padding 2"},
      {OP_CONV, 5, 4, 6, 7, {4, 6, 3, 3, 1, 1, 1, false}, {0}, {0}, 1e-10, "Winograd, whole frames per thread"},
      {OP_CONV, 9, 6, 7, 6, {6, 8, 3, 3, 1, 1, 2, false}, {0}, {0}, 1e-10, "Winograd, 9 frames on 2 threads"},
      {OP_CONV, 2, 20, 5, 6, {20, 9, 3, 3, 1, 1, 1, false}, {0}, {0}, 1e-10, "Winograd, 8-wide filter transforms"},
      {OP_CONV, 2, 4, 13, 11, {4, 6, 5, 5, 1, 2, 2, false}, {0}, {0}, 1e-10, "im2col, 5x5 groups"},
      {OP_CONV, 2, 3, 23, 19, {3, 4, 11, 11, 4, 0, 1, false}, {0}, {0}, 1e-10, "im2col, stride 4"},
      {OP_CONV, 3, 6, 4, 5, {6, 7, 1, 1, 1, 0, 1, false}, {0}, {0}, 1e-10, "1x1"},
      {OP_POOL, 3, 4, 13, 14, {0}, {3, 2, 0}, {0}, 0, "exact"},
      {OP_LRN, 3, 7, 4, 5, {0}, {0}, {5, 0.3f, 0.75f, 1.f}, 1e-10, "float32 powers"},
  };
  for (size_t i = 0; i < sizeof bcases / sizeof *bcases; i++) {
    const op_case *t = &bcases[i];
    sr_tensor x, y, dy, dx_r, dx_b;
    out_shape(t, &y);
    sr_tensor_alloc(&x, t->n, t->c, t->h, t->w);
    sr_tensor_alloc(&dx_r, t->n, t->c, t->h, t->w), sr_tensor_alloc(&dx_b, t->n, t->c, t->h, t->w);
    sr_tensor_alloc(&dy, y.n, y.c, y.h, y.w), sr_tensor_alloc(&y, y.n, y.c, y.h, y.w);
    fill_normal(x.data, sr_tensor_count(&x), rng, 3.0);
    fill_normal(dy.data, sr_tensor_count(&dy), rng, 1.0);
    double e = 0, ew = 0, eb = 0;
    if (t->op == OP_CONV) {
      size_t wc = (size_t)t->conv.out_c * (t->c / t->conv.group) * t->conv.kh * t->conv.kw;
      float *w = malloc(wc * sizeof(float)), *dw_r = malloc(wc * sizeof(float)), *dw_b = malloc(wc * sizeof(float));
      float *db_r = malloc(t->conv.out_c * sizeof(float)), *db_b = malloc(t->conv.out_c * sizeof(float));
      fill_normal(w, wc, rng, 0.5);
      CHECK(ref->ops->conv2d_backward(ref, &t->conv, &x, w, &dy, &dx_r, dw_r, db_r) == SR_OK, "ref backward");
      CHECK(b->ops->conv2d_backward(b, &t->conv, &x, w, &dy, &dx_b, dw_b, db_b) == SR_OK, "%s backward",
            sr_backend_name(b));
      ew = nmse(dw_b, dw_r, wc), eb = nmse(db_b, db_r, t->conv.out_c);
      free(w), free(dw_r), free(dw_b), free(db_r), free(db_b);
    } else if (t->op == OP_POOL) {
      ref->ops->maxpool_backward(ref, &t->pool, &x, &dy, &dx_r);
      b->ops->maxpool_backward(b, &t->pool, &x, &dy, &dx_b);
    } else {
      ref->ops->lrn(ref, &t->lrn, &x, &y);
      ref->ops->lrn_backward(ref, &t->lrn, &x, &y, &dy, &dx_r);
      b->ops->lrn_backward(b, &t->lrn, &x, &y, &dy, &dx_b);
    }
    e = nmse(dx_b.data, dx_r.data, sr_tensor_count(&dx_r));
    CHECK(e <= t->tol && ew <= t->tol && eb <= t->tol, "%s backward case %zu: NMSE dx %.3g dw %.3g db %.3g > %.1g (%s)",
          sr_backend_name(b), i, e, ew, eb, t->tol, t->why);
    printf("%s backward case %zu op %d in %dx%dx%dx%d: NMSE dx %.2e dw %.2e db %.2e (bound %.0e: %s)\n",
           sr_backend_name(b), i, t->op, t->n, t->c, t->h, t->w, e, ew, eb, t->tol, t->why);
    sr_tensor_clear(&x), sr_tensor_clear(&y), sr_tensor_clear(&dy), sr_tensor_clear(&dx_r), sr_tensor_clear(&dx_b);
  }
}

/* Weights uploaded again must be used again: backends may keep derived
 * forms (the cpu backend's Winograd filters) of uploaded buffers. */
static void check_reupload(sr_backend *ref, sr_backend *b, sr_rng *rng) {
  const op_case t = {OP_CONV, 1, 4, 6, 6, {4, 3, 3, 3, 1, 1, 1, false}, {0}, {0}, 1e-10, "weights uploaded twice"};
  sr_tensor x, y_ref, y_b;
  sr_tensor_alloc(&x, 1, 4, 6, 6), sr_tensor_alloc(&y_ref, 1, 3, 6, 6), sr_tensor_alloc(&y_b, 1, 3, 6, 6);
  fill_normal(x.data, sr_tensor_count(&x), rng, 1.0);
  size_t wc = 3 * 4 * 9, nx = sr_tensor_count(&x), ny = sr_tensor_count(&y_b);
  float w[3 * 4 * 9], bias[3] = {0};
  const struct sr_backend_ops *ops = b->ops;
  sr_tensor dx = x, dy = y_b;
  dx.data = ops->alloc(b, nx), dy.data = ops->alloc(b, ny);
  float *dw = ops->alloc(b, wc), *db = ops->alloc(b, 3);
  sr_status st = ops->upload(b, dx.data, x.data, nx);
  if (st == SR_OK) st = ops->upload(b, db, bias, 3);
  for (int round = 0; round < 2 && st == SR_OK; round++) {
    fill_normal(w, wc, rng, 0.5);
    st = ops->upload(b, dw, w, wc);
    if (st == SR_OK) st = ops->conv2d(b, &t.conv, &dx, dw, db, &dy);
    if (st == SR_OK && ops->synchronize) st = ops->synchronize(b);
    if (st == SR_OK) st = ops->download(b, y_b.data, dy.data, ny);
    ref->ops->conv2d(ref, &t.conv, &x, w, bias, &y_ref);
    double e = nmse(y_b.data, y_ref.data, ny);
    CHECK(st == SR_OK && e <= t.tol, "%s: upload %d of the weights: NMSE vs ref %.3g", sr_backend_name(b), round, e);
  }
  ops->release(b, dx.data), ops->release(b, dy.data), ops->release(b, dw), ops->release(b, db);
  sr_tensor_clear(&x), sr_tensor_clear(&y_ref), sr_tensor_clear(&y_b);
}

/* The Vulkan pipeline cache is written at the end of a run and read by the
 * next; a damaged file is ignored, not fatal. */
static void check_pipeline_cache(sr_backend *ref, const char *path) {
  sr_error err = {0};
  sr_rng rng;
  sr_rng_seed(&rng, 7);
  gchar *data = NULL;
  gsize len = 0;
  CHECK(g_file_get_contents(path, &data, &len, NULL) && len > 0, "vulkan: no pipeline cache written to %s", path);
  g_free(data);
  for (int round = 0; round < 2; round++) {
    if (round == 1) CHECK(g_file_set_contents(path, "not a pipeline cache", -1, NULL), "cannot damage %s", path);
    sr_backend *b;
    CHECK(sr_backend_new("vulkan", 2, &b, &err) == SR_OK, "vulkan with %s cache file: %s",
          round ? "a damaged" : "a", err.msg);
    if (b) check_reupload(ref, b, &rng), sr_backend_free(b);
  }
  printf("vulkan pipeline cache %s: %zu bytes, reused; a damaged file is ignored\n", path, (size_t)len);
}

/* Every case on @b against ref, then the whole SegNet. */
static void check_backend(sr_backend *ref, sr_backend *b, uint64_t seed) {
  sr_error err = {0};
  sr_rng rng;
  sr_rng_seed(&rng, seed);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const op_case *t = &cases[i];
    sr_tensor x, y_ref, y_b;
    sr_tensor_alloc(&x, t->n, t->c, t->h, t->w);
    fill_normal(x.data, sr_tensor_count(&x), &rng, 3.0);
    out_shape(t, &y_ref);
    out_shape(t, &y_b);
    sr_tensor_alloc(&y_ref, y_ref.n, y_ref.c, y_ref.h, y_ref.w);
    sr_tensor_alloc(&y_b, y_b.n, y_b.c, y_b.h, y_b.w);
    float *w = NULL, *bias = NULL;
    if (t->op == OP_CONV) {
      size_t wc = (size_t)t->conv.out_c * (t->c / t->conv.group) * t->conv.kh * t->conv.kw;
      w = malloc(wc * sizeof(float));
      bias = malloc(t->conv.out_c * sizeof(float));
      fill_normal(w, wc, &rng, 0.5);
      fill_normal(bias, t->conv.out_c, &rng, 0.5);
    }
    run_case(ref, t, &x, w, bias, &y_ref);
    run_case(b, t, &x, w, bias, &y_b);
    double e = nmse(y_b.data, y_ref.data, sr_tensor_count(&y_ref));
    CHECK(e <= t->tol, "%s case %zu (op %d, in %dx%dx%dx%d, seed %llu): NMSE vs ref %.3g > %.1g (%s)",
          sr_backend_name(b), i, t->op, t->n, t->c, t->h, t->w, (unsigned long long)seed, e, t->tol, t->why);
    printf("%s case %2zu op %d in %dx%dx%dx%d -> %dx%dx%dx%d: NMSE %.2e (bound %.0e: %s)\n", sr_backend_name(b), i,
           t->op, t->n, t->c, t->h, t->w, y_ref.n, y_ref.c, y_ref.h, y_ref.w, e, t->tol, t->why);
    free(w), free(bias);
    sr_tensor_clear(&x), sr_tensor_clear(&y_ref), sr_tensor_clear(&y_b);
  }

  check_reupload(ref, b, &rng);
  if (b->ops->conv2d_backward) check_backward(ref, b, &rng);

  /* The whole SegNet at a small, non-square input, batch 2. */
  sr_model *m;
  CHECK(sr_model_new_segnet(5, NULL, 9, &m, &err) == SR_OK, "%s", err.msg);
  /* conv8 starts at N(0, 0.01²), which makes near-uniform probabilities that
   * hide errors: scale it up so the softmax is peaked. */
  sr_layer *c8 = &m->layers[m->n_layers - 2];
  for (int i = 0; i < c8->conv.out_c * c8->conv.in_c; i++) c8->weight[i] *= 300.f;
  sr_net *nr, *nb;
  sr_net_new(m, ref, &nr, &err);
  CHECK(sr_net_new(m, b, &nb, &err) == SR_OK, "%s", err.msg);
  sr_tensor x, yr = {0}, yb = {0};
  sr_tensor_alloc(&x, 2, 3, 99, 131);
  fill_normal(x.data, sr_tensor_count(&x), &rng, 60.0);
  /* conv5's output (after relu5) read back on the way: the re-ranker's image features. */
  CHECK(sr_net_set_tap(nr, "conv5", &err) == SR_OK && sr_net_set_tap(nb, "conv5", &err) == SR_OK, "%s", err.msg);
  CHECK(sr_net_set_tap(nb, "conv9", &err) == SR_ERR_INVALID, "tap on a layer the model lacks accepted");
  CHECK(sr_net_set_tap(nb, "conv5", &err) == SR_OK, "%s", err.msg);
  CHECK(sr_net_forward(nr, &x, &yr, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_net_forward(nb, &x, &yb, &err) == SR_OK, "%s", err.msg);
  {
    const sr_tensor *tr = sr_net_tap(nr), *tb = sr_net_tap(nb);
    CHECK(tr && tb && tb->n == 2 && tb->c == 256 && tb->h == tr->h && tb->w == tr->w, "conv5 tap shape");
    if (tr && tb) {
      double dm = 0, top = 0, neg = 0;
      for (size_t i = 0; i < sr_tensor_count(tr); i++) {
        dm = fmax(dm, fabs(tb->data[i] - tr->data[i])), top = fmax(top, fabs(tr->data[i]));
        neg = fmin(neg, tb->data[i]);
      }
      CHECK(dm <= 1e-4 * top && neg >= 0, "conv5 tap %s vs ref: max |diff| %.3g of %.3g, min %.3g", sr_backend_name(b),
            dm, top, neg);
      printf("%s conv5 tap %dx%dx%d: max |diff| %.2e of max %.3g (bound 1e-4 relative)\n", sr_backend_name(b), tb->c,
             tb->h, tb->w, dm, top);
      /* Against the net cut after relu5, whose output is conv5's. */
      sr_model *cut = sr_model_copy(m);
      int full = cut->n_layers;
      while (cut->n_layers > 0 && strcmp(cut->layers[cut->n_layers - 1].name, "relu5")) cut->n_layers--;
      sr_net *nc;
      sr_tensor yc = {0};
      sr_net_new(cut, ref, &nc, &err);
      CHECK(cut->n_layers > 0 && sr_net_forward(nc, &x, &yc, &err) == SR_OK, "cut net: %s", err.msg);
      CHECK(yc.c == tr->c && max_abs_diff(yc.data, tr->data, sr_tensor_count(tr)) == 0, "conv5 tap is not conv5's output");
      sr_net_free(nc), sr_tensor_clear(&yc);
      cut->n_layers = full;
      sr_model_free(cut);
    }
  }
  int oh, ow;
  sr_model_output_size(m, 99, 131, &oh, &ow);
  CHECK(yb.n == 2 && yb.c == 5 && yb.h == oh && yb.w == ow, "output %dx%dx%dx%d", yb.n, yb.c, yb.h, yb.w);
  double d = max_abs_diff(yb.data, yr.data, sr_tensor_count(&yr)), pmax = 0;
  for (size_t i = 0; i < sr_tensor_count(&yr); i++) pmax = fmax(pmax, yr.data[i]);
  CHECK(pmax > 0.9, "test net too flat: largest probability %.3f", pmax);
  /* float32 vs double sums through eight layers, amplified by the peaked
   * softmax: half the OpenCV cross-check's 1e-4. */
  CHECK(d < 5e-5, "whole net %s vs ref: max |diff| %.3g of probabilities", sr_backend_name(b), d);
  printf("%s whole net 2x3x99x131 -> %dx%dx%dx%d: max |diff| %.2e (bound 5e-5)\n", sr_backend_name(b), yb.n, yb.c,
         yb.h, yb.w, d);
  /* Too small an input is an error, not a crash. */
  sr_tensor tiny;
  sr_tensor_alloc(&tiny, 1, 3, 8, 8);
  CHECK(sr_net_forward(nb, &tiny, &yb, &err) == SR_ERR_INVALID, "8x8 input accepted");
  sr_tensor_clear(&tiny), sr_tensor_clear(&x), sr_tensor_clear(&yr), sr_tensor_clear(&yb);
  sr_net_free(nr), sr_net_free(nb);
  sr_model_free(m);
}

/* Kernel 1, stride 2 on 4x4 planes: Caffe's ceil rounding gives 3x3 outputs
 * whose last row and column of windows lie outside the input. Validation
 * refuses the geometry; a backend handed it anyway pools the non-empty
 * windows exactly, outputs 0 for empty ones, passes them no gradient and
 * writes nothing past the planes (a guard after the buffers stays intact). */
static void check_empty_pool_windows(sr_backend *b) {
  enum { N = 2, H = 4, W = 4, OH = 3, OW = 3, GUARD = 64 };
  const sr_pool_params pp = {1, 2, 0};
  CHECK(sr_pool_out_size(H, pp.kernel, pp.stride, pp.pad) == OH, "ceil rounding changed");
  float xin[N * H * W], dyv[N * OH * OW], yv[N * OH * OW + GUARD], dxv[N * H * W + GUARD];
  for (int i = 0; i < N * H * W; i++) xin[i] = (float)(i % 7) - 3.f;
  for (int i = 0; i < N * OH * OW; i++) dyv[i] = (float)(i + 1);
  for (int i = 0; i < N * OH * OW + GUARD; i++) yv[i] = 1234.f;
  for (int i = 0; i < N * H * W + GUARD; i++) dxv[i] = 1234.f;
  sr_tensor x = {N, 1, H, W, xin}, y = {N, 1, OH, OW, yv}, dy = {N, 1, OH, OW, dyv}, dx = {N, 1, H, W, dxv};
  CHECK(b->ops->maxpool(b, &pp, &x, &y) == SR_OK, "%s: maxpool", b->ops->name);
  CHECK(b->ops->maxpool_backward(b, &pp, &x, &dy, &dx) == SR_OK, "%s: maxpool backward", b->ops->name);
  int bad_y = 0, bad_dx = 0, guard = 0;
  for (int n = 0; n < N; n++) {
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++) {
        float want = oy < 2 && ox < 2 ? xin[(n * H + 2 * oy) * W + 2 * ox] : 0.f;
        bad_y += yv[(n * OH + oy) * OW + ox] != want;
      }
    for (int iy = 0; iy < H; iy++)
      for (int ix = 0; ix < W; ix++) {
        float want = iy % 2 == 0 && ix % 2 == 0 ? dyv[(n * OH + iy / 2) * OW + ix / 2] : 0.f;
        bad_dx += dxv[(n * H + iy) * W + ix] != want;
      }
  }
  for (int i = 0; i < GUARD; i++) guard += yv[N * OH * OW + i] != 1234.f || dxv[N * H * W + i] != 1234.f;
  CHECK(bad_y == 0, "%s: %d wrong max-pool outputs with empty windows", b->ops->name, bad_y);
  CHECK(bad_dx == 0, "%s: %d wrong max-pool gradients with empty windows", b->ops->name, bad_dx);
  CHECK(guard == 0, "%s: max pooling wrote %d floats past its planes", b->ops->name, guard);
}

static void check_pool_geometry_refused(void) {
  sr_model *m;
  sr_error err = {0};
  CHECK(sr_model_new_segnet(3, NULL, 1, &m, &err) == SR_OK, "%s", err.msg);
  for (int i = 0; i < m->n_layers; i++)
    if (m->layers[i].type == SR_LAYER_MAXPOOL) m->layers[i].pool.kernel = 1; /* stride stays 2 */
  CHECK(sr_model_validate(m, &err) != SR_OK && strstr(err.msg, "stride 2 exceeds kernel 1"),
        "pooling kernel 1, stride 2 accepted: %s", err.msg);
  sr_model_free(m);
}

#ifdef SR_HAVE_CUDA
/* The CUDA backend alone: in host mode, or on the GPU. */
static int check_cuda(bool device) {
  sr_backend *ref, *b;
  sr_error err = {0};
  CHECK(sr_backend_new("ref", 1, &ref, &err) == SR_OK, "%s", err.msg);
  if (device && sr_backend_new("cuda", 2, &b, &err) != SR_OK) {
    printf("SKIP: no GPU for the CUDA backend's device test: %s\n", err.msg);
    sr_backend_free(ref);
    return 77;
  }
  if (!device) {
    CHECK(sr__backend_cuda_host_new(1, &b, &err) == SR_OK, "%s", err.msg);
    printf("CUDA backend in host mode: every kernel body and GEMM call on the host (%s GPU seen), "
           "against ref\n", sr__cuda_has_gpu() ? "a" : "no");
  } else {
    printf("CUDA backend on %s, against ref\n", sr_backend_device_name(b));
  }
  check_backend(ref, b, 1234);
  check_empty_pool_windows(b);
  sr_backend_free(b);
  sr_backend_free(ref);
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
#endif

int main(int argc, char **argv) {
  bool cpu_only = argc > 1 && !strcmp(argv[1], "--cpu-only");
#ifdef SR_HAVE_CUDA
  if (argc > 1 && (!strcmp(argv[1], "--cuda-host") || !strcmp(argv[1], "--cuda-device")))
    return check_cuda(!strcmp(argv[1], "--cuda-device"));
#endif
  const char *want = getenv("SEGRANK_CPU_ISA");
  sr_cpu_isa level;
  sr_error lerr = {0};
  if (sr__cpu_isa_pick(&level, &lerr) != SR_OK) {
    /* a level this CPU lacks: the cpu backend refuses it (test_cpu_isa checks the message) */
    printf("SKIP: cpu level %s: %s\n", want, lerr.msg);
    return cpu_only ? 77 : 1;
  }
  const char *tile = getenv("SEGRANK_CPU_WINOGRAD_TILE");
  printf("cpu backend level: %s (SEGRANK_CPU_ISA=%s), GEMM: %s, Winograd tile: %s\n", sr__cpu_isa_name(level),
         want ? want : "", getenv("SEGRANK_CPU_GEMM") && !strcmp(getenv("SEGRANK_CPU_GEMM"), "openblas") ? "openblas" : "own",
         tile && *tile ? tile : "per layer");
  check_pool_geometry_refused();
  sr_backend *ref;
  sr_error err = {0};
  CHECK(sr_backend_new("ref", 1, &ref, &err) == SR_OK, "%s", err.msg);
  check_empty_pool_windows(ref);
  const char *const *names = sr_backend_list();
  for (int i = 0; names[i]; i++) {
    /* cuda has tests of its own (tests/cuda) */
    if (!strcmp(names[i], "ref") || !strcmp(names[i], "cuda") || (cpu_only && strcmp(names[i], "cpu"))) continue;
    sr_backend *b;
    bool vulkan = !strcmp(names[i], "vulkan");
    char *cache = vulkan ? g_build_filename(g_get_tmp_dir(), "segrank-test-vk-XXXXXX", NULL) : NULL;
    if (cache) { /* a pipeline cache file of our own, checked below */
      int fd = g_mkstemp(cache);
      if (fd >= 0) close(fd), unlink(cache);
      setenv("SEGRANK_VULKAN_CACHE", cache, 1);
    }
    if (sr_backend_new(names[i], 2, &b, &err) != SR_OK) {
      /* GPU backends may have no device here; CI sets SEGRANK_REQUIRE_VULKAN
       * so that a missing lavapipe fails instead of skipping silently. */
      bool required = !strcmp(names[i], "vulkan") && getenv("SEGRANK_REQUIRE_VULKAN");
      CHECK(!required, "%s backend required but unavailable: %s", names[i], err.msg);
      printf("skipped: %s backend: %s\n", names[i], err.msg);
      unsetenv("SEGRANK_VULKAN_CACHE"), g_free(cache);
      continue;
    }
    check_backend(ref, b, 1234);
    if (b->ops->maxpool_backward) check_empty_pool_windows(b);
    sr_backend_free(b);
    if (cache) {
      check_pipeline_cache(ref, cache);
      unsetenv("SEGRANK_VULKAN_CACHE"), unlink(cache), g_free(cache);
    }
    if (!strcmp(names[i], "cpu")) {
      /* and the cpu backend's im2col path for the 3x3 layers too */
      setenv("SEGRANK_CPU_WINOGRAD", "0", 1);
      CHECK(sr_backend_new("cpu", 2, &b, &err) == SR_OK, "%s", err.msg);
      unsetenv("SEGRANK_CPU_WINOGRAD");
      printf("cpu backend with SEGRANK_CPU_WINOGRAD=0:\n");
      check_backend(ref, b, 1234);
      sr_backend_free(b);
    }
  }
  sr_backend_free(ref);
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
