/* kernels.cu: the CUDA backend's kernels. One template kernel runs a
 * functor over an index range with a grid-stride loop; each functor applies
 * a body of kernel_bodies.cuh, and each launcher either launches the kernel
 * on the backend's stream or, in host mode, runs the same functor in a loop
 * (so tests check the GPU's arithmetic on any machine). */
#include <cuda_runtime.h>

#include "kernel_bodies.cuh"

namespace {

constexpr int kBlock = 256;

template <typename Body>
__global__ void each_index(size_t count, const Body body) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x)
    body(i);
}

/* Runs @body(i) for i in [0, count) on the GPU or the host. */
template <typename Body>
int for_each(const sr_cuda_launch *l, size_t count, Body body) {
  if (count == 0) return 0;
  if (l->on_host) {
    for (size_t i = 0; i < count; i++) body(i);
    return 0;
  }
  size_t blocks = (count + kBlock - 1) / kBlock;
  if (blocks > 65535u * 32u) blocks = 65535u * 32u; /* the grid-stride loop covers the rest */
  cudaGetLastError(); /* an earlier failure already reported is not this launch's */
  each_index<<<(unsigned)blocks, kBlock, 0, (cudaStream_t)l->stream>>>(count, body);
  return (int)cudaGetLastError();
}

} // namespace

/* One functor per kernel: the body's arguments, held by value (what the
 * kernel receives as its parameter), applied to an index. */
struct Im2col {
  sr_cuda_conv p;
  int g;
  const float *x;
  float *col;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_im2col_body(i, &p, g, x, col); }
};
struct Col2im {
  sr_cuda_conv p;
  int g;
  const float *col;
  float *dx;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_col2im_body(i, &p, g, col, dx); }
};
struct BiasRelu {
  int c;
  size_t plane;
  const float *bias;
  int relu;
  float *y;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_bias_relu_body(i, c, plane, bias, relu, y); }
};
struct Relu {
  float *x;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_relu_body(i, x); }
};
struct Maxpool {
  sr_cuda_pool p;
  const float *x;
  float *y;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_maxpool_body(i, &p, x, y); }
};
struct MaxpoolBackward {
  sr_cuda_pool p;
  const float *x, *dy;
  float *dx;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_maxpool_backward_body(i, &p, x, dy, dx); }
};
struct Lrn {
  sr_cuda_lrn p;
  const float *x;
  float *y;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_lrn_body(i, &p, x, y); }
};
struct LrnBackward {
  sr_cuda_lrn p;
  const float *x, *y, *dy;
  float *dx;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_lrn_backward_body(i, &p, x, y, dy, dx); }
};
struct Softmax {
  int c;
  size_t plane;
  const float *x;
  float *y;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_softmax_body(i, c, plane, x, y); }
};
struct Fill {
  float v;
  float *x;
  __host__ __device__ void operator()(size_t i) const { sr_cuda_fill_body(i, v, x); }
};

extern "C" {

int sr__cuda_im2col(const sr_cuda_launch *l, const sr_cuda_conv *p, int n, int g, const float *x, float *col) {
  return for_each(l, (size_t)n * p->icg * p->kh * p->kw * p->oh * p->ow, Im2col{*p, g, x, col});
}

int sr__cuda_col2im(const sr_cuda_launch *l, const sr_cuda_conv *p, int n, int g, const float *col, float *dx) {
  return for_each(l, (size_t)n * p->icg * p->h * p->w, Col2im{*p, g, col, dx});
}

int sr__cuda_bias_relu(const sr_cuda_launch *l, size_t count, int c, size_t plane, const float *bias, int relu,
                       float *y) {
  return for_each(l, count, BiasRelu{c, plane, bias, relu, y});
}

int sr__cuda_relu(const sr_cuda_launch *l, size_t count, float *x) { return for_each(l, count, Relu{x}); }

int sr__cuda_maxpool(const sr_cuda_launch *l, const sr_cuda_pool *p, size_t planes, const float *x, float *y) {
  return for_each(l, planes * p->oh * p->ow, Maxpool{*p, x, y});
}

int sr__cuda_maxpool_backward(const sr_cuda_launch *l, const sr_cuda_pool *p, size_t planes, const float *x,
                              const float *dy, float *dx) {
  return for_each(l, planes * p->h * p->w, MaxpoolBackward{*p, x, dy, dx});
}

int sr__cuda_lrn(const sr_cuda_launch *l, const sr_cuda_lrn *p, int n, const float *x, float *y) {
  return for_each(l, (size_t)n * p->c * p->plane, Lrn{*p, x, y});
}

int sr__cuda_lrn_backward(const sr_cuda_launch *l, const sr_cuda_lrn *p, int n, const float *x, const float *y,
                          const float *dy, float *dx) {
  return for_each(l, (size_t)n * p->c * p->plane, LrnBackward{*p, x, y, dy, dx});
}

int sr__cuda_softmax(const sr_cuda_launch *l, int n, int c, size_t plane, const float *x, float *y) {
  return for_each(l, (size_t)n * plane, Softmax{c, plane, x, y});
}

int sr__cuda_fill(const sr_cuda_launch *l, size_t count, float v, float *x) {
  return for_each(l, count, Fill{v, x});
}

/* Eight independent FMA chains per thread: the GPU's float32 FMA rate. */
__global__ void fma_chains(int iters, float seed, float *out) {
  float a[8];
  for (int c = 0; c < 8; c++) a[c] = seed + (float)(threadIdx.x + c);
  for (int i = 0; i < iters; i++)
    for (int c = 0; c < 8; c++) a[c] = fmaf(a[c], 0.999999f, 1e-7f);
  float s = 0.f;
  for (int c = 0; c < 8; c++) s += a[c];
  if (s == 1234.5f) out[0] = s; /* never true; keeps the chains alive */
}

double sr__cuda_fma_peak_gflops(void *stream, int sms) {
  const int threads = 256, blocks = sms * 8, iters = 4096;
  float *out = NULL;
  cudaEvent_t t0 = NULL, t1 = NULL;
  if (cudaMalloc((void **)&out, sizeof(float)) != cudaSuccess) return cudaGetLastError(), -1;
  if (cudaEventCreate(&t0) != cudaSuccess || cudaEventCreate(&t1) != cudaSuccess) {
    if (t0) cudaEventDestroy(t0);
    cudaFree(out);
    return cudaGetLastError(), -1;
  }
  double best = 0;
  for (int r = 0; r < 10; r++) {
    cudaEventRecord(t0, (cudaStream_t)stream);
    fma_chains<<<blocks, threads, 0, (cudaStream_t)stream>>>(iters, 1.f, out);
    cudaError_t launch = cudaGetLastError();
    cudaEventRecord(t1, (cudaStream_t)stream);
    float ms = 0;
    if (launch != cudaSuccess || cudaEventSynchronize(t1) != cudaSuccess ||
        cudaEventElapsedTime(&ms, t0, t1) != cudaSuccess || ms <= 0) {
      best = -1;
      break;
    }
    double gflops = 2.0 * 8 * iters * (double)threads * blocks / (ms * 1e6);
    if (r > 0 && gflops > best) best = gflops; /* the first launch warms up */
  }
  cudaEventDestroy(t0), cudaEventDestroy(t1);
  cudaFree(out);
  return best;
}

} // extern "C"
