/* backend.c: backend registry and the pieces every host backend shares. */
#include "backend_impl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const backend_names[] = {"cpu", "ref",
#ifdef SR_HAVE_VULKAN
                                            "vulkan",
#endif
#ifdef SR_HAVE_CUDA
                                            "cuda",
#endif
                                            NULL};

const char *const *sr_backend_list(void) { return backend_names; }

sr_status sr_backend_check(const char *name, sr_error *err) {
  if (!name || !strcmp(name, "auto")) return SR_OK;
  for (int i = 0; backend_names[i]; i++)
    if (!strcmp(name, backend_names[i])) return SR_OK;
  if (!strcmp(name, "vulkan"))
    return sr_error_set(err, SR_ERR_UNSUPPORTED, "this build has no Vulkan backend (configure with -Dvulkan=enabled)");
  if (!strcmp(name, "cuda"))
    return sr_error_set(err, SR_ERR_UNSUPPORTED,
                        "this build has no CUDA backend (configure with -Dcuda=enabled and nvcc on PATH)");
  char names[64] = "auto";
  for (int i = 0; backend_names[i]; i++)
    snprintf(names + strlen(names), sizeof names - strlen(names), ", %s", backend_names[i]);
  return sr_error_set(err, SR_ERR_UNSUPPORTED, "unknown backend '%s' (available: %s)", name, names);
}

sr_status sr_backend_new(const char *name, int threads, sr_backend **out, sr_error *err) {
  sr_status st = sr_backend_check(name, err);
  if (st != SR_OK) return st;
  if (threads <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    threads = n > 0 ? (int)n : 1;
  }
  bool automatic = !name || !strcmp(name, "auto");
#ifdef SR_HAVE_CUDA
  /* auto falls back on the next choice when a GPU is seen but unusable. */
  if (automatic && sr__cuda_has_gpu() && sr__backend_cuda_new(threads, out, NULL) == SR_OK) return SR_OK;
  if (name && !strcmp(name, "cuda")) return sr__backend_cuda_new(threads, out, err);
#endif
#ifdef SR_HAVE_VULKAN
  /* auto takes Vulkan only on a real GPU, never on a CPU driver like lavapipe. */
  if (automatic && sr__vulkan_has_gpu()) return sr__backend_vulkan_new(threads, out, err);
  if (name && !strcmp(name, "vulkan")) return sr__backend_vulkan_new(threads, out, err);
#endif
  if (name && !strcmp(name, "ref")) return sr__backend_ref_new(threads, out, err);
  (void)automatic;
  return sr__backend_cpu_new(threads, out, err); /* auto without a GPU, or cpu */
}

void sr_backend_free(sr_backend *b) {
  if (b) b->ops->destroy(b);
}

const char *sr_backend_name(const sr_backend *b) { return b->ops->name; }
int sr_backend_threads(const sr_backend *b) { return b->threads; }
const char *sr_backend_device_name(const sr_backend *b) { return b->ops->device_name ? b->ops->device_name(b) : NULL; }
double sr_backend_peak_gflops(sr_backend *b) { return b->ops->peak_gflops ? b->ops->peak_gflops(b) : -1; }

void sr_backend_host_parallel(sr_backend *b, int n, void (*fn)(void *ctx, int i), void *ctx) {
  if (b->ops->host_parallel) {
    b->ops->host_parallel(b, n, fn, ctx);
    return;
  }
  for (int i = 0; i < n; i++) fn(ctx, i);
}

int sr_conv_out_size(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

/* Caffe rounds pooled sizes up, then drops a last window that would start
 * inside the padding. */
int sr_pool_out_size(int in, int k, int stride, int pad) {
  int span = in + 2 * pad - k;
  int out = (span + stride - 1) / stride + 1;
  if (pad > 0 && (out - 1) * stride >= in + pad) out--;
  return out;
}

float *sr__host_alloc(sr_backend *b, size_t count) {
  (void)b;
  /* 64-byte alignment suits AVX-512 loads and cache lines. */
  size_t bytes = (count * sizeof(float) + 63) & ~(size_t)63;
  return aligned_alloc(64, bytes ? bytes : 64);
}

void sr__host_release(sr_backend *b, float *buf) {
  (void)b;
  free(buf);
}

sr_status sr__host_copy(sr_backend *b, float *dst, const float *src, size_t count) {
  (void)b;
  memmove(dst, src, count * sizeof(float));
  return SR_OK;
}
