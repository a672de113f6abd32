/* backend_impl.h: the operation table a backend implements (the way ggml's
 * backends work). Tensors passed to the ops live in memory from the same
 * backend's alloc. Ops may be queued; synchronize waits for them. Every slot is
 * required unless marked optional. */
#ifndef SR_BACKEND_IMPL_H
#define SR_BACKEND_IMPL_H

#include <stddef.h>

#include "backend.h"

struct sr_backend_ops {
  const char *name;
  /* Device memory for @count floats; NULL on failure. */
  float *(*alloc)(sr_backend *b, size_t count);
  void (*release)(sr_backend *b, float *buf);
  /* Host <-> device copies of @count floats. */
  sr_status (*upload)(sr_backend *b, float *dst, const float *src, size_t count);
  sr_status (*download)(sr_backend *b, float *dst, const float *src, size_t count);

  /* y = conv(x, w) + bias, then ReLU when p->relu. y is preshaped. */
  sr_status (*conv2d)(sr_backend *b, const sr_conv_params *p, const sr_tensor *x,
                      const float *w, const float *bias, sr_tensor *y);
  /* In place. */
  sr_status (*relu)(sr_backend *b, sr_tensor *x);
  sr_status (*maxpool)(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, sr_tensor *y);
  sr_status (*lrn)(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, sr_tensor *y);
  /* Softmax over channels, per pixel. */
  sr_status (*softmax)(sr_backend *b, const sr_tensor *x, sr_tensor *y);

  /* Training (optional: NULL where a backend cannot train). Outputs are
   * overwritten, not accumulated; dw and db sum over the batch.
   * conv2d_backward: gradients of y = conv(x, w) + bias (before any ReLU;
   * the caller masks dy first); dx may be NULL (first layer). */
  sr_status (*conv2d_backward)(sr_backend *b, const sr_conv_params *p, const sr_tensor *x, const float *w,
                               const sr_tensor *dy, sr_tensor *dx, float *dw, float *db);
  /* Routes each output's gradient to the first maximum of its window. */
  sr_status (*maxpool_backward)(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, const sr_tensor *dy,
                                sr_tensor *dx);
  /* y is the forward output for x. */
  sr_status (*lrn_backward)(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, const sr_tensor *y,
                            const sr_tensor *dy, sr_tensor *dx);

  /* (optional) The device the backend runs on, for GPU backends. */
  const char *(*device_name)(const sr_backend *b);
  /* (optional) The device's float32 FMA rate, measured now (GFLOP/s), or -1. */
  double (*peak_gflops)(sr_backend *b);
  /* (optional) Wait until all queued work is done. */
  sr_status (*synchronize)(sr_backend *b);
  /* (optional) Runs fn(ctx, i) for i in [0, n) on the backend's host threads
   * (the cpu backend's pool), each once, in any order; returns when all are
   * done. */
  void (*host_parallel)(sr_backend *b, int n, void (*fn)(void *ctx, int i), void *ctx);
  void (*destroy)(sr_backend *b);
};

struct sr_backend {
  const struct sr_backend_ops *ops;
  int threads;
};

/* Constructors of the built-in backends. */
sr_status sr__backend_ref_new(int threads, sr_backend **out, sr_error *err);
sr_status sr__backend_cpu_new(int threads, sr_backend **out, sr_error *err);
#ifdef SR_HAVE_VULKAN
sr_status sr__backend_vulkan_new(int threads, sr_backend **out, sr_error *err);
/* Whether a discrete or integrated GPU with Vulkan is present. */
int sr__vulkan_has_gpu(void);
#endif

#ifdef SR_HAVE_CUDA
sr_status sr__backend_cuda_new(int threads, sr_backend **out, sr_error *err);
/* The CUDA backend's op code in host mode: host memory, kernel bodies in
 * host loops, GEMMs by plain loops (tests without a GPU). */
sr_status sr__backend_cuda_host_new(int threads, sr_backend **out, sr_error *err);
/* Whether the CUDA runtime sees a GPU. */
int sr__cuda_has_gpu(void);
#endif

/* Host-memory helpers shared by the ref and cpu backends. */
float *sr__host_alloc(sr_backend *b, size_t count);
void sr__host_release(sr_backend *b, float *buf);
sr_status sr__host_copy(sr_backend *b, float *dst, const float *src, size_t count);

#endif
