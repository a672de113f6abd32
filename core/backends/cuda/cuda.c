/* cuda.c: the CUDA backend. Buffers live in device memory (cudaMalloc) and
 * stay there across frames; every op is queued on the backend's own stream
 * and synchronize waits for it. Convolutions are im2col (kernels.cu; 1x1
 * stride-1 layers read their input directly) and one strided-batched cuBLAS
 * SGEMM per group over the whole batch, then a bias + ReLU kernel; the
 * backward pass is the same GEMMs transposed and col2im. Uploads and
 * downloads go through a pinned host buffer. Ops also take host pointers
 * (the trainer keeps its graph in host memory): those are copied to device
 * scratch buffers and results copied back.
 *
 * Host mode (sr__backend_cuda_host_new, for tests): the same op code with
 * host memory, every kernel body run in a host loop and every GEMM by a
 * plain loop with cuBLAS's column-major semantics, so that everything but
 * the launch itself and cuBLAS is checked against ref without a GPU.
 *
 * $SEGRANK_CUDA_DEVICE picks a device by index (default 0). */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend_impl.h"
#include "kernels.h"

/* Device scratch buffers, by use. */
enum { SCR_COL, SCR_ONES, SCR_X, SCR_W, SCR_BIAS, SCR_Y, SCR_Y2, SCR_DY, SCR_DX, SCR_DW, SCR_DB, SCR_COUNT };

typedef struct {
  sr_backend base;
  int on_host;
  int device, sms;
  char device_name[256];
  cudaStream_t stream;
  cublasHandle_t blas;
  sr_cuda_launch launch;
  float *scratch[SCR_COUNT];
  size_t scratch_cap[SCR_COUNT];
  float *pinned;
  size_t pinned_cap;
} cuda_backend;

#define CU_OK(call) ((call) == cudaSuccess)

/* The current device is per thread, and a backend may be made on one
 * thread and used on another (segnetinfer's model swap): every entry point
 * makes the backend's device current first. */
static int bind(cuda_backend *cb) { return cb->on_host || CU_OK(cudaSetDevice(cb->device)); }

/* ---- memory ---- */

static float *scratch(cuda_backend *cb, int slot, size_t count) {
  if (count == 0) count = 1;
  if (cb->scratch_cap[slot] >= count) return cb->scratch[slot];
  if (cb->scratch[slot]) {
    if (cb->on_host) sr__host_release(&cb->base, cb->scratch[slot]);
    else cudaStreamSynchronize(cb->stream), cudaFree(cb->scratch[slot]);
  }
  cb->scratch[slot] = NULL, cb->scratch_cap[slot] = 0;
  float *p = NULL;
  if (cb->on_host) p = sr__host_alloc(&cb->base, count);
  else if (!CU_OK(cudaMalloc((void **)&p, count * sizeof(float)))) p = NULL;
  if (p) cb->scratch[slot] = p, cb->scratch_cap[slot] = count;
  return p;
}

static float *cu_alloc(sr_backend *b, size_t count) {
  cuda_backend *cb = (cuda_backend *)b;
  if (cb->on_host) return sr__host_alloc(b, count);
  float *p = NULL;
  return bind(cb) && CU_OK(cudaMalloc((void **)&p, (count ? count : 1) * sizeof(float))) ? p : NULL;
}

static void cu_release(sr_backend *b, float *buf) {
  cuda_backend *cb = (cuda_backend *)b;
  if (!buf) return;
  if (cb->on_host) {
    sr__host_release(b, buf);
    return;
  }
  bind(cb);
  cudaStreamSynchronize(cb->stream);
  cudaFree(buf);
}

static float *pinned(cuda_backend *cb, size_t count) {
  if (cb->pinned_cap >= count) return cb->pinned;
  if (cb->pinned) cudaFreeHost(cb->pinned);
  cb->pinned = NULL, cb->pinned_cap = 0;
  if (!CU_OK(cudaMallocHost((void **)&cb->pinned, count * sizeof(float)))) return cb->pinned = NULL;
  cb->pinned_cap = count;
  return cb->pinned;
}

/* Host <-> device through the pinned buffer, in pieces of at most 16 MiB. */
static sr_status transfer(cuda_backend *cb, float *dst, const float *src, size_t count, int to_device) {
  if (cb->on_host) return sr__host_copy(&cb->base, dst, src, count);
  if (count == 0) return SR_OK;
  if (!bind(cb)) return SR_ERR_BACKEND;
  const size_t piece = (size_t)4 << 20;
  float *pin = pinned(cb, count < piece ? count : piece);
  if (!pin) return SR_ERR_NOMEM;
  for (size_t at = 0; at < count; at += piece) {
    size_t n = count - at < piece ? count - at : piece;
    if (to_device) {
      memcpy(pin, src + at, n * sizeof(float));
      if (!CU_OK(cudaMemcpyAsync(dst + at, pin, n * sizeof(float), cudaMemcpyHostToDevice, cb->stream)) ||
          !CU_OK(cudaStreamSynchronize(cb->stream)))
        return SR_ERR_BACKEND;
    } else {
      if (!CU_OK(cudaMemcpyAsync(pin, src + at, n * sizeof(float), cudaMemcpyDeviceToHost, cb->stream)) ||
          !CU_OK(cudaStreamSynchronize(cb->stream)))
        return SR_ERR_BACKEND;
      memcpy(dst + at, pin, n * sizeof(float));
    }
  }
  return SR_OK;
}

static sr_status cu_upload(sr_backend *b, float *dst, const float *src, size_t count) {
  return transfer((cuda_backend *)b, dst, src, count, 1);
}

static sr_status cu_download(sr_backend *b, float *dst, const float *src, size_t count) {
  return transfer((cuda_backend *)b, dst, src, count, 0);
}

/* ---- host pointers given to ops ---- */

static int on_device(cuda_backend *cb, const void *p) {
  if (cb->on_host || !p) return 1;
  struct cudaPointerAttributes a;
  if (!CU_OK(cudaPointerGetAttributes(&a, p))) {
    cudaGetLastError(); /* clears the error of an unknown pointer */
    return 0;
  }
  /* another GPU's memory is not this device's to use directly */
  return a.type == cudaMemoryTypeManaged || (a.type == cudaMemoryTypeDevice && a.device == cb->device);
}

/* An op's operand: its device address, and the host one it mirrors. */
typedef struct {
  float *dev, *host;
  size_t count;
} operand;

/* @p as a device operand; a host @p is copied to scratch @slot first when
 * @read (inputs), else only given room (outputs). */
static sr_status operand_in(cuda_backend *cb, int slot, const float *p, size_t count, int read, operand *o) {
  o->host = NULL, o->count = count, o->dev = (float *)p;
  if (!bind(cb)) return SR_ERR_BACKEND;
  if (on_device(cb, p)) return SR_OK;
  if (!(o->dev = scratch(cb, slot, count))) return SR_ERR_NOMEM;
  o->host = (float *)p;
  /* Waited for, so the caller may reuse its buffer once the op returns
   * (cudaMemcpyAsync from pinned memory would not have read it yet). */
  if (read && (!CU_OK(cudaMemcpyAsync(o->dev, p, count * sizeof(float), cudaMemcpyHostToDevice, cb->stream)) ||
               !CU_OK(cudaStreamSynchronize(cb->stream))))
    return SR_ERR_BACKEND;
  return SR_OK;
}

/* Copies a host output back once the op's work is done. */
static sr_status operand_out(cuda_backend *cb, const operand *o) {
  if (!o->host) return SR_OK;
  if (!CU_OK(cudaMemcpyAsync(o->host, o->dev, o->count * sizeof(float), cudaMemcpyDeviceToHost, cb->stream)) ||
      !CU_OK(cudaStreamSynchronize(cb->stream)))
    return SR_ERR_BACKEND;
  return SR_OK;
}

static sr_status launched(int rc) { return rc == 0 ? SR_OK : SR_ERR_BACKEND; }

/* ---- GEMM: cuBLAS, or its column-major semantics on the host ---- */

/* C_i = alpha·op(A_i)·op(B_i) + beta·C_i for i < batch, column-major,
 * A_i = A + i·sa (and so on); op transposes when t. */
static sr_status gemm(cuda_backend *cb, int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda,
                      long long sa, const float *B, int ldb, long long sb, float beta, float *C, int ldc,
                      long long sc, int batch) {
  /* cuBLAS's argument rules, in both modes, so that host mode catches a
   * layout the GPU would refuse (CUBLAS_STATUS_INVALID_VALUE). */
  int ra = ta ? k : m, rb = tb ? n : k;
  if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < (ra > 1 ? ra : 1) || ldb < (rb > 1 ? rb : 1) ||
      ldc < (m > 1 ? m : 1))
    return SR_ERR_BACKEND;
  if (!cb->on_host) {
    cublasStatus_t s = cublasSgemmStridedBatched(cb->blas, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                                 m, n, k, &alpha, A, lda, sa, B, ldb, sb, &beta, C, ldc, sc, batch);
    return s == CUBLAS_STATUS_SUCCESS ? SR_OK : SR_ERR_BACKEND;
  }
  for (int i = 0; i < batch; i++) {
    const float *a = A + i * sa, *bm = B + i * sb;
    float *c = C + i * sc;
    for (int col = 0; col < n; col++)
      for (int row = 0; row < m; row++) {
        float acc = 0.f;
        for (int l = 0; l < k; l++) {
          float av = ta ? a[(size_t)row * lda + l] : a[(size_t)l * lda + row];
          float bv = tb ? bm[(size_t)l * ldb + col] : bm[(size_t)col * ldb + l];
          acc += av * bv;
        }
        float *out = &c[(size_t)col * ldc + row];
        *out = alpha * acc + (beta != 0.f ? beta * *out : 0.f);
      }
  }
  return SR_OK;
}

/* ---- ops ---- */

static sr_cuda_conv conv_geometry(const sr_conv_params *p, const sr_tensor *x, int oh, int ow) {
  sr_cuda_conv c = {x->c, x->h, x->w, p->in_c / p->group, p->kh, p->kw, p->stride, p->pad, oh, ow};
  return c;
}

/* The GEMM reads the input itself: 1x1, stride 1, no padding. */
static int direct(const sr_conv_params *p) { return p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad == 0; }

static sr_status cu_conv2d(sr_backend *b, const sr_conv_params *p, const sr_tensor *x, const float *w,
                           const float *bias, sr_tensor *y) {
  cuda_backend *cb = (cuda_backend *)b;
  sr_cuda_conv g = conv_geometry(p, x, y->h, y->w);
  int ocg = p->out_c / p->group, K = g.icg * p->kh * p->kw, P = y->h * y->w, N = x->n;
  operand ox, ow, ob, oy;
  sr_status st = operand_in(cb, SCR_X, x->data, sr_tensor_count(x), 1, &ox);
  if (st == SR_OK) st = operand_in(cb, SCR_W, w, (size_t)p->out_c * K, 1, &ow);
  if (st == SR_OK) st = operand_in(cb, SCR_BIAS, bias, bias ? (size_t)p->out_c : 0, 1, &ob);
  if (st == SR_OK) st = operand_in(cb, SCR_Y, y->data, sr_tensor_count(y), 0, &oy);
  float *col = NULL;
  if (st == SR_OK && !direct(p) && !(col = scratch(cb, SCR_COL, (size_t)N * K * P))) st = SR_ERR_NOMEM;
  for (int gi = 0; gi < p->group && st == SR_OK; gi++) {
    const float *a = ox.dev + (size_t)gi * g.icg * P;
    long long sa = (long long)x->c * P;
    if (col) {
      st = launched(sr__cuda_im2col(&cb->launch, &g, N, gi, ox.dev, col));
      a = col, sa = (long long)K * P;
    }
    /* y_g (row-major ocg x P) = W_g (ocg x K) · col (K x P): column-major, y_gᵀ = colᵀ · W_gᵀ. */
    if (st == SR_OK)
      st = gemm(cb, 0, 0, P, ocg, K, 1.f, a, P, sa, ow.dev + (size_t)gi * ocg * K, K, 0, 0.f,
                oy.dev + (size_t)gi * ocg * P, P, (long long)p->out_c * P, N);
  }
  if (st == SR_OK && (bias || p->relu))
    st = launched(sr__cuda_bias_relu(&cb->launch, sr_tensor_count(y), p->out_c, (size_t)P, bias ? ob.dev : NULL,
                                     p->relu, oy.dev));
  if (st == SR_OK) st = operand_out(cb, &oy);
  return st;
}

static sr_status cu_relu(sr_backend *b, sr_tensor *x) {
  cuda_backend *cb = (cuda_backend *)b;
  operand o;
  sr_status st = operand_in(cb, SCR_X, x->data, sr_tensor_count(x), 1, &o);
  if (st == SR_OK) st = launched(sr__cuda_relu(&cb->launch, sr_tensor_count(x), o.dev));
  return st == SR_OK ? operand_out(cb, &o) : st;
}

static sr_cuda_pool pool_geometry(const sr_pool_params *p, const sr_tensor *x, const sr_tensor *y) {
  sr_cuda_pool g = {x->h, x->w, y->h, y->w, p->kernel, p->stride, p->pad};
  return g;
}

static sr_status cu_maxpool(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, sr_tensor *y) {
  cuda_backend *cb = (cuda_backend *)b;
  sr_cuda_pool g = pool_geometry(p, x, y);
  operand ox, oy;
  sr_status st = operand_in(cb, SCR_X, x->data, sr_tensor_count(x), 1, &ox);
  if (st == SR_OK) st = operand_in(cb, SCR_Y, y->data, sr_tensor_count(y), 0, &oy);
  if (st == SR_OK) st = launched(sr__cuda_maxpool(&cb->launch, &g, (size_t)x->n * x->c, ox.dev, oy.dev));
  return st == SR_OK ? operand_out(cb, &oy) : st;
}

static sr_cuda_lrn lrn_geometry(const sr_lrn_params *p, const sr_tensor *x) {
  sr_cuda_lrn g = {x->c, p->size, (size_t)x->h * x->w, p->alpha, p->beta, p->k};
  return g;
}

static sr_status cu_lrn(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, sr_tensor *y) {
  cuda_backend *cb = (cuda_backend *)b;
  sr_cuda_lrn g = lrn_geometry(p, x);
  operand ox, oy;
  sr_status st = operand_in(cb, SCR_X, x->data, sr_tensor_count(x), 1, &ox);
  if (st == SR_OK) st = operand_in(cb, SCR_Y, y->data, sr_tensor_count(y), 0, &oy);
  if (st == SR_OK) st = launched(sr__cuda_lrn(&cb->launch, &g, x->n, ox.dev, oy.dev));
  return st == SR_OK ? operand_out(cb, &oy) : st;
}

static sr_status cu_softmax(sr_backend *b, const sr_tensor *x, sr_tensor *y) {
  cuda_backend *cb = (cuda_backend *)b;
  operand ox, oy;
  sr_status st = operand_in(cb, SCR_X, x->data, sr_tensor_count(x), 1, &ox);
  if (st == SR_OK) st = operand_in(cb, SCR_Y, y->data, sr_tensor_count(y), 0, &oy);
  if (st == SR_OK) st = launched(sr__cuda_softmax(&cb->launch, x->n, x->c, (size_t)x->h * x->w, ox.dev, oy.dev));
  return st == SR_OK ? operand_out(cb, &oy) : st;
}

static sr_status cu_conv2d_backward(sr_backend *b, const sr_conv_params *p, const sr_tensor *x, const float *w,
                                    const sr_tensor *dy, sr_tensor *dx, float *dw, float *db) {
  cuda_backend *cb = (cuda_backend *)b;
  sr_cuda_conv g = conv_geometry(p, x, dy->h, dy->w);
  int ocg = p->out_c / p->group, K = g.icg * p->kh * p->kw, P = dy->h * dy->w, N = x->n;
  size_t wc = (size_t)p->out_c * K;
  operand ox, ow, ody, odx = {0}, odw, odb;
  sr_status st = operand_in(cb, SCR_X, x->data, sr_tensor_count(x), 1, &ox);
  if (st == SR_OK) st = operand_in(cb, SCR_W, w, wc, 1, &ow);
  if (st == SR_OK) st = operand_in(cb, SCR_DY, dy->data, sr_tensor_count(dy), 1, &ody);
  if (st == SR_OK && dx) st = operand_in(cb, SCR_DX, dx->data, sr_tensor_count(dx), 0, &odx);
  if (st == SR_OK) st = operand_in(cb, SCR_DW, dw, wc, 0, &odw);
  if (st == SR_OK) st = operand_in(cb, SCR_DB, db, (size_t)p->out_c, 0, &odb);
  /* db = Σ_n dy_n · 1 (dy_n row-major out_c x P: column-major P x out_c, transposed). */
  float *ones = st == SR_OK ? scratch(cb, SCR_ONES, (size_t)P) : NULL;
  if (st == SR_OK && !ones) st = SR_ERR_NOMEM;
  if (st == SR_OK) st = launched(sr__cuda_fill(&cb->launch, (size_t)P, 1.f, ones));
  for (int n = 0; n < N && st == SR_OK; n++)
    st = gemm(cb, 1, 0, p->out_c, 1, P, 1.f, ody.dev + (size_t)n * p->out_c * P, P, 0, ones, P, 0, n ? 1.f : 0.f,
              odb.dev, p->out_c, 0, 1);
  float *col = NULL;
  if (st == SR_OK && !direct(p) && !(col = scratch(cb, SCR_COL, (size_t)N * K * P))) st = SR_ERR_NOMEM;
  for (int gi = 0; gi < p->group && st == SR_OK; gi++) {
    const float *a = ox.dev + (size_t)gi * g.icg * P;
    long long sa = (long long)x->c * P;
    if (!direct(p)) {
      st = launched(sr__cuda_im2col(&cb->launch, &g, N, gi, ox.dev, col));
      a = col, sa = (long long)K * P;
    }
    const float *dyg = ody.dev + (size_t)gi * ocg * P;
    /* dW_g (row-major ocg x K) = Σ_n dy_g (ocg x P) · colᵀ: column-major, dW_gᵀ = col · dy_gᵀ. */
    for (int n = 0; n < N && st == SR_OK; n++)
      st = gemm(cb, 1, 0, K, ocg, P, 1.f, a + n * sa, P, 0, dyg + (size_t)n * p->out_c * P, P, 0, n ? 1.f : 0.f,
                odw.dev + (size_t)gi * ocg * K, K, 0, 1);
    if (st != SR_OK || !dx) continue;
    /* dcol (K x P) = W_gᵀ · dy_g: column-major, dcolᵀ = dy_gᵀ · W_g. A 1x1 layer's dcol is dx_g itself. */
    float *dcol = direct(p) ? odx.dev + (size_t)gi * g.icg * P : col;
    long long sdc = direct(p) ? (long long)x->c * P : (long long)K * P;
    st = gemm(cb, 0, 1, P, K, ocg, 1.f, dyg, P, (long long)p->out_c * P, ow.dev + (size_t)gi * ocg * K, K, 0, 0.f,
              dcol, P, sdc, N);
    if (st == SR_OK && !direct(p)) st = launched(sr__cuda_col2im(&cb->launch, &g, N, gi, col, odx.dev));
  }
  if (st == SR_OK && dx) st = operand_out(cb, &odx);
  if (st == SR_OK) st = operand_out(cb, &odw);
  if (st == SR_OK) st = operand_out(cb, &odb);
  return st;
}

static sr_status cu_maxpool_backward(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, const sr_tensor *dy,
                                     sr_tensor *dx) {
  cuda_backend *cb = (cuda_backend *)b;
  sr_cuda_pool g = pool_geometry(p, x, dy);
  operand ox, ody, odx;
  sr_status st = operand_in(cb, SCR_X, x->data, sr_tensor_count(x), 1, &ox);
  if (st == SR_OK) st = operand_in(cb, SCR_DY, dy->data, sr_tensor_count(dy), 1, &ody);
  if (st == SR_OK) st = operand_in(cb, SCR_DX, dx->data, sr_tensor_count(dx), 0, &odx);
  if (st == SR_OK)
    st = launched(sr__cuda_maxpool_backward(&cb->launch, &g, (size_t)x->n * x->c, ox.dev, ody.dev, odx.dev));
  return st == SR_OK ? operand_out(cb, &odx) : st;
}

static sr_status cu_lrn_backward(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, const sr_tensor *y,
                                 const sr_tensor *dy, sr_tensor *dx) {
  cuda_backend *cb = (cuda_backend *)b;
  sr_cuda_lrn g = lrn_geometry(p, x);
  size_t count = sr_tensor_count(x);
  operand ox, oy, ody, odx;
  sr_status st = operand_in(cb, SCR_X, x->data, count, 1, &ox);
  if (st == SR_OK) st = operand_in(cb, SCR_Y2, y->data, count, 1, &oy);
  if (st == SR_OK) st = operand_in(cb, SCR_DY, dy->data, count, 1, &ody);
  if (st == SR_OK) st = operand_in(cb, SCR_DX, dx->data, count, 0, &odx);
  if (st == SR_OK) st = launched(sr__cuda_lrn_backward(&cb->launch, &g, x->n, ox.dev, oy.dev, ody.dev, odx.dev));
  return st == SR_OK ? operand_out(cb, &odx) : st;
}

static sr_status cu_synchronize(sr_backend *b) {
  cuda_backend *cb = (cuda_backend *)b;
  if (cb->on_host) return SR_OK;
  return bind(cb) && CU_OK(cudaStreamSynchronize(cb->stream)) ? SR_OK : SR_ERR_BACKEND;
}

static void cu_destroy(sr_backend *b) {
  cuda_backend *cb = (cuda_backend *)b;
  bind(cb);
  if (!cb->on_host && cb->stream) cudaStreamSynchronize(cb->stream);
  for (int i = 0; i < SCR_COUNT; i++)
    if (cb->scratch[i]) {
      if (cb->on_host) sr__host_release(b, cb->scratch[i]);
      else cudaFree(cb->scratch[i]);
    }
  if (cb->pinned) cudaFreeHost(cb->pinned);
  if (cb->blas) cublasDestroy(cb->blas);
  if (cb->stream) cudaStreamDestroy(cb->stream);
  free(cb);
}

/* NULL in host mode, a host backend then (backend.h). */
static const char *cu_device_name(const sr_backend *b) {
  const cuda_backend *cb = (const cuda_backend *)b;
  return cb->on_host ? NULL : cb->device_name;
}

static double cu_peak_gflops(sr_backend *b) {
  cuda_backend *cb = (cuda_backend *)b;
  return cb->on_host || !bind(cb) ? -1 : sr__cuda_fma_peak_gflops(cb->stream, cb->sms);
}

static const struct sr_backend_ops cuda_ops = {
    .name = "cuda",
    .alloc = cu_alloc,
    .release = cu_release,
    .upload = cu_upload,
    .download = cu_download,
    .conv2d = cu_conv2d,
    .relu = cu_relu,
    .maxpool = cu_maxpool,
    .lrn = cu_lrn,
    .softmax = cu_softmax,
    .conv2d_backward = cu_conv2d_backward,
    .maxpool_backward = cu_maxpool_backward,
    .lrn_backward = cu_lrn_backward,
    .device_name = cu_device_name,
    .peak_gflops = cu_peak_gflops,
    .synchronize = cu_synchronize,
    .destroy = cu_destroy,
};

/* ---- setup ---- */

/* The device $SEGRANK_CUDA_DEVICE names (default 0), or an error naming
 * the CUDA runtime's reason. */
static sr_status pick_device(int *device, sr_error *err) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return sr_error_set(err, SR_ERR_UNSUPPORTED, "cuda: no usable GPU: %s (cudaGetDeviceCount: %s)",
                        cudaGetErrorString(e), cudaGetErrorName(e));
  }
  if (n == 0) return sr_error_set(err, SR_ERR_UNSUPPORTED, "cuda: the CUDA runtime found no GPU");
  const char *want = getenv("SEGRANK_CUDA_DEVICE");
  *device = 0;
  if (want && *want) {
    char *end;
    long idx = strtol(want, &end, 10);
    if (*end || idx < 0 || idx >= n)
      return sr_error_set(err, SR_ERR_UNSUPPORTED, "cuda: SEGRANK_CUDA_DEVICE=%s is not a device index (0 to %d)",
                          want, n - 1);
    *device = (int)idx;
  }
  return SR_OK;
}

sr_status sr__backend_cuda_new(int threads, sr_backend **out, sr_error *err) {
  int device;
  sr_status st = pick_device(&device, err);
  if (st != SR_OK) return st;
  cuda_backend *cb = calloc(1, sizeof *cb);
  if (!cb) return sr_error_set(err, SR_ERR_NOMEM, "cuda backend: out of memory");
  cb->base.ops = &cuda_ops, cb->base.threads = threads, cb->device = device;
  struct cudaDeviceProp prop;
  cudaError_t e;
  if ((e = cudaSetDevice(device)) != cudaSuccess || (e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess ||
      (e = cudaStreamCreateWithFlags(&cb->stream, cudaStreamNonBlocking)) != cudaSuccess) {
    free(cb);
    return sr_error_set(err, SR_ERR_BACKEND, "cuda: device %d: %s", device, cudaGetErrorString(e));
  }
  snprintf(cb->device_name, sizeof cb->device_name, "%s", prop.name);
  cb->sms = prop.multiProcessorCount;
  cublasStatus_t s = cublasCreate(&cb->blas);
  if (s == CUBLAS_STATUS_SUCCESS) s = cublasSetStream(cb->blas, cb->stream);
  if (s != CUBLAS_STATUS_SUCCESS) {
    cu_destroy(&cb->base);
    return sr_error_set(err, SR_ERR_BACKEND, "cuda: cuBLAS on %s: %s", prop.name, cublasGetStatusString(s));
  }
  /* cuBLAS's default math mode: full float32 products, as the other
   * backends (no TF32). */
  cb->launch.stream = cb->stream;
  *out = &cb->base;
  return SR_OK;
}

sr_status sr__backend_cuda_host_new(int threads, sr_backend **out, sr_error *err) {
  cuda_backend *cb = calloc(1, sizeof *cb);
  if (!cb) return sr_error_set(err, SR_ERR_NOMEM, "cuda backend: out of memory");
  cb->base.ops = &cuda_ops, cb->base.threads = threads;
  cb->on_host = cb->launch.on_host = 1;
  *out = &cb->base;
  return SR_OK;
}

int sr__cuda_has_gpu(void) {
  int device;
  return pick_device(&device, NULL) == SR_OK;
}


