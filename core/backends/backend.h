/* backend.h: the public face of a compute backend. A backend owns device
 * memory and runs the forward operations of the net on it; callers (sr_net)
 * never look inside: "ref" (plain loops, the test oracle), "cpu" (Winograd
 * and im2col convolutions on the backend's own GEMM, on its own
 * thread pool), "vulkan" (compute shaders of shaders/) and "cuda" (cuBLAS
 * and kernels of core/backends/cuda). */
#ifndef SR_BACKEND_H
#define SR_BACKEND_H

#include <stdbool.h>

#include "../status.h"
#include "../tensor.h"

typedef struct sr_backend sr_backend;

/* Convolution geometry. Weights are out_c × (in_c/group) × kh × kw, bias out_c. */
typedef struct {
  int in_c, out_c, kh, kw, stride, pad, group;
  bool relu; /* apply ReLU to the output (fused epilogue) */
} sr_conv_params;

/* Max pooling with Caffe's ceil rounding of the output size. */
typedef struct {
  int kernel, stride, pad;
} sr_pool_params;

/* Local response normalisation across channels, as Caffe defines it:
 * y = x · (k + alpha/size · Σ_{window} x²)^(-beta). */
typedef struct {
  int size;
  float alpha, beta, k;
} sr_lrn_params;

/* Creates a backend by name: "ref", "cpu", "vulkan", "cuda" (when built
 * with them) or "auto" (CUDA on a GPU, else Vulkan on a real GPU, else cpu).
 * @threads: worker threads, 0 = as many as the machine has.
 * Returns (transfer full) a backend in @out. */
sr_status sr_backend_new(const char *name, int threads, sr_backend **out, sr_error *err);
void sr_backend_free(sr_backend *b);
const char *sr_backend_name(const sr_backend *b);
int sr_backend_threads(const sr_backend *b);
/* The GPU a backend runs on ("NVIDIA H200", "llvmpipe (LLVM 15.0.6, 256
 * bits)"), or NULL for the host backends. */
const char *sr_backend_device_name(const sr_backend *b);
/* The device's float32 FMA rate, measured now, in GFLOP/s; -1 where the
 * backend cannot measure it (the cpu backend's is `segrank bench`'s). */
double sr_backend_peak_gflops(sr_backend *b);
/* Runs fn(ctx, i) for i in [0, n), each once in any order, on the host
 * threads of @b where it has them (cpu), else one after another: host-side
 * work between ops (the trainer's soft targets and SGD update). */
void sr_backend_host_parallel(sr_backend *b, int n, void (*fn)(void *ctx, int i), void *ctx);

/* SR_OK when sr_backend_new knows @name (NULL, "auto" or one of
 * sr_backend_list()); else an error naming it and the names available. */
sr_status sr_backend_check(const char *name, sr_error *err);
/* Names of the backends compiled in, NULL-terminated (transfer none). */
const char *const *sr_backend_list(void);

/* Output size of a convolution or pooling window along one axis. */
int sr_conv_out_size(int in, int k, int stride, int pad);
int sr_pool_out_size(int in, int k, int stride, int pad);

#endif
