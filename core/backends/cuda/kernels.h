/* kernels.h: the C-callable launchers of the CUDA backend's kernels
 * (kernels.cu) and the geometry they take. Each launcher runs its body
 * (kernel_bodies.cuh) over every index, on @stream when @on_host is 0, else
 * in a loop on the calling thread over host memory (the backend's host
 * mode). Launchers return 0 or the cudaError_t of the launch. */
#ifndef SR_CUDA_KERNELS_H
#define SR_CUDA_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A convolution as the kernels see it: input c × h × w, output oh × ow,
 * group's input channels icg. */
typedef struct {
  int c, h, w, icg, kh, kw, stride, pad, oh, ow;
} sr_cuda_conv;

/* Max pooling over planes h × w to oh × ow. */
typedef struct {
  int h, w, oh, ow, kernel, stride, pad;
} sr_cuda_pool;

typedef struct {
  int c, size;
  size_t plane;
  float alpha, beta, k;
} sr_cuda_lrn;

typedef struct {
  void *stream; /* cudaStream_t */
  int on_host;
} sr_cuda_launch;

int sr__cuda_im2col(const sr_cuda_launch *l, const sr_cuda_conv *p, int n, int g, const float *x, float *col);
int sr__cuda_col2im(const sr_cuda_launch *l, const sr_cuda_conv *p, int n, int g, const float *col, float *dx);
int sr__cuda_bias_relu(const sr_cuda_launch *l, size_t count, int c, size_t plane, const float *bias, int relu,
                       float *y);
int sr__cuda_relu(const sr_cuda_launch *l, size_t count, float *x);
int sr__cuda_maxpool(const sr_cuda_launch *l, const sr_cuda_pool *p, size_t planes, const float *x, float *y);
int sr__cuda_maxpool_backward(const sr_cuda_launch *l, const sr_cuda_pool *p, size_t planes, const float *x,
                              const float *dy, float *dx);
int sr__cuda_lrn(const sr_cuda_launch *l, const sr_cuda_lrn *p, int n, const float *x, float *y);
int sr__cuda_lrn_backward(const sr_cuda_launch *l, const sr_cuda_lrn *p, int n, const float *x, const float *y,
                          const float *dy, float *dx);
int sr__cuda_softmax(const sr_cuda_launch *l, int n, int c, size_t plane, const float *x, float *y);
int sr__cuda_fill(const sr_cuda_launch *l, size_t count, float v, float *x);
/* The float32 FMA rate measured on @stream's GPU with @sms multiprocessors
 * (best of 9 launches), or -1. */
double sr__cuda_fma_peak_gflops(void *stream, int sms);

#ifdef __cplusplus
}
#endif

#endif
