/* test_cpu_isa.c: the instruction-set levels of cpu_isa.h (avx512, avx2,
 * generic), each that this CPU runs; the others are skipped with a message
 * naming them, and the log says which ran.
 *  - gemm.h's GEMM at every level (and through OpenBLAS) against a double
 *    sum: odd sizes, every transpose, A packed ahead, β 0 and 1, K, M and
 *    N past one cache block, padded leading dimensions whose padding must
 *    stay untouched. The bound is float32 rounding: |error| ≤ 2·K·ε·Σ|a·b|.
 *  - The CPU backend's Winograd convolutions (forward 3×3 and 5×5, both
 *    work splits, the input and weight gradients) at every level against
 *    ref, within NMSE 1e-10 (the GEMM kernels use FMA: levels differ in
 *    rounding, not beyond it).
 *  - SLIC's labels and the unary filter bank, gradients and nearest
 *    textons: bit-identical at every level (their AVX2 variants have no
 *    FMA; they run at avx2 and avx512; the unary code picks once per
 *    process: computed in a child per level).
 *  - SEGRANK_CPU_ISA: an unknown name, and a level the CPU lacks (real, or
 *    made missing by SEGRANK_CPU_ISA_CAP), refused with a message by the
 *    backend and SLIC.
 * Without AVX2 only generic runs and the test reports SKIP (77). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/backend_impl.h"
#include "backends/cpu/cpu_isa.h"
#include "backends/cpu/gemm.h"
#include "proposals/superpixels/superpixels.h"
#include "proposals/unary/unary_internal.h"
#include "test_util.h"

static const sr_cpu_isa levels[] = {SR_CPU_ISA_AVX512, SR_CPU_ISA_AVX2, SR_CPU_ISA_GENERIC};
#define N_LEVELS 3

/* ---- the GEMM ---- */

typedef struct {
  int M, N, K, flags;
  float beta;
} gemm_case;

/* One case at level @lv (a sr_cpu_isa or SR_GEMM_OPENBLAS): false on failure. */
static bool gemm_one(int lv, const gemm_case *t, sr_rng *rng) {
  int M = t->M, N = t->N, K = t->K, ta = t->flags & SR_GEMM_TA, tb = t->flags & SR_GEMM_TB;
  int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 7;
  size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
  float *a = malloc(sizeof(float) * na), *b = malloc(sizeof(float) * nb), *c = malloc(sizeof(float) * nc);
  fill_normal(a, na, rng, 1.0), fill_normal(b, nb, rng, 1.0), fill_normal(c, nc, rng, 1.0);
  float *c0 = malloc(sizeof(float) * nc);
  memcpy(c0, c, sizeof(float) * nc);
  const float *ap = a;
  float *packed = NULL;
  int flags = t->flags;
  if (flags & SR_GEMM_A_PACKED) {
    packed = malloc(sizeof(float) * sr__gemm_packed_a_count(lv, M, K));
    sr__gemm_pack_a(lv, M, K, a, lda, ta, packed);
    ap = packed, flags &= ~SR_GEMM_TA;
  }
  const float *bq = b;
  float *bpanels = NULL;
  if (flags & SR_GEMM_B_PACKED) { /* B laid out in the kernel's panels, the columns past N NaN */
    int nr = sr__gemm_b_panel(lv, N, K), np = (N + nr - 1) / nr;
    bpanels = malloc(sizeof(float) * (size_t)np * nr * K);
    for (int p = 0; p < np; p++)
      for (int k = 0; k < K; k++)
        for (int q = 0; q < nr; q++) {
          int j = p * nr + q;
          bpanels[((size_t)p * K + k) * nr + q] = j >= N ? NAN : tb ? b[(size_t)j * ldb + k] : b[(size_t)k * ldb + j];
        }
    bq = bpanels, flags &= ~SR_GEMM_TB;
  }
  float *ws = malloc(sizeof(float) * sr__gemm_workspace(lv, flags, M, N, K));
  sr__gemm(lv, flags, M, N, K, ap, lda, bq, ldb, t->beta, c, ldc, ws);
  double worst = 0;
  int bad_pad = 0;
  for (int i = 0; i < M; i++) {
    for (int j = 0; j < N; j++) {
      double s = t->beta ? c0[(size_t)i * ldc + j] : 0, mag = fabs(s);
      for (int k = 0; k < K; k++) {
        double x = ta ? a[(size_t)k * lda + i] : a[(size_t)i * lda + k];
        double y = tb ? b[(size_t)j * ldb + k] : b[(size_t)k * ldb + j];
        s += x * y, mag += fabs(x * y);
      }
      double e = fabs(c[(size_t)i * ldc + j] - s) / (2.0 * (K + 1) * FLT_EPSILON * (mag > 0 ? mag : 1));
      worst = e > worst ? e : worst;
    }
    for (int j = N; j < ldc; j++) bad_pad += c[(size_t)i * ldc + j] != c0[(size_t)i * ldc + j];
  }
  bool ok = worst <= 1 && bad_pad == 0;
  CHECK(ok, "gemm %s %dx%dx%d flags %d beta %g: error %.3g of the bound, %d padding floats written",
        lv == SR_GEMM_OPENBLAS ? "openblas" : sr__cpu_isa_name(lv), M, N, K, t->flags, t->beta, worst, bad_pad);
  free(a), free(b), free(c), free(c0), free(packed), free(bpanels), free(ws);
  return ok;
}

static void check_gemm(sr_cpu_isa lv) {
  static const int sizes[][3] = {{1, 1, 1},    {5, 7, 3},     {13, 33, 17},  {12, 32, 9},   {37, 49, 256},
                                 {25, 17, 385}, {200, 45, 31}, {7, 1100, 20}, {64, 96, 800}, {97, 131, 401}};
  int n = 0, ok = 0;
  sr_rng rng;
  sr_rng_seed(&rng, 3);
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    for (int flags = 0; flags < 16; flags++)
      for (int beta = 0; beta < 2; beta++) {
        if ((flags & SR_GEMM_A_PACKED) && beta) continue;
        /* B in panels: where the level offers that layout for this size */
        if ((flags & SR_GEMM_B_PACKED) && !sr__gemm_b_panel(lv, sizes[i][1], sizes[i][2])) continue;
        gemm_case t = {sizes[i][0], sizes[i][1], sizes[i][2], flags, (float)beta};
        ok += gemm_one(lv, &t, &rng), n++;
      }
  printf("gemm %s: %d of %d cases within float32 rounding of a double sum, padding untouched\n",
         lv == SR_GEMM_OPENBLAS ? "openblas" : sr__cpu_isa_name(lv), ok, n);
}

/* ---- the CPU backend ---- */

typedef struct {
  int n, c, h, w;
  sr_conv_params p;
  const char *what;
} conv_case;

static const conv_case conv_cases[] = {
    {1, 16, 37, 29, {16, 24, 3, 3, 1, 1, 1, true}, "3x3, one frame (chunks of tiles)"},
    {8, 8, 21, 17, {8, 12, 3, 3, 1, 1, 1, false}, "3x3, threads take whole frames"},
    {2, 8, 19, 23, {8, 10, 5, 5, 1, 2, 2, true}, "5x5 as four 3x3, two groups"},
    {3, 6, 15, 12, {6, 4, 3, 3, 1, 0, 1, false}, "3x3, no padding"},
    {2, 40, 13, 13, {40, 30, 3, 3, 1, 1, 2, true}, "3x3, more channels than a micro-tile, groups"},
};

/* Forward output, then dx, dw and db, of @t on a backend @name (cpu made
 * under SEGRANK_CPU_ISA=@isa, or ref), into @out (grown). Returns the
 * float count. */
static size_t run_conv(const char *name, const char *isa, const conv_case *t, float **out) {
  setenv("SEGRANK_CPU_ISA", isa, 1);
  sr_backend *b = NULL;
  sr_error err = {0};
  CHECK(sr_backend_new(name, 2, &b, &err) == SR_OK, "%s backend under %s: %s", name, isa, err.msg);
  if (!b) return 0;
  const sr_conv_params *p = &t->p;
  int oh = sr_conv_out_size(t->h, p->kh, p->stride, p->pad), ow = sr_conv_out_size(t->w, p->kw, p->stride, p->pad);
  sr_tensor x, y, dy, dx;
  sr_tensor_alloc(&x, t->n, t->c, t->h, t->w), sr_tensor_alloc(&dx, t->n, t->c, t->h, t->w);
  sr_tensor_alloc(&y, t->n, p->out_c, oh, ow), sr_tensor_alloc(&dy, t->n, p->out_c, oh, ow);
  size_t wc = (size_t)p->out_c * (p->in_c / p->group) * p->kh * p->kw;
  float *w = malloc(sizeof(float) * wc), *bias = malloc(sizeof(float) * p->out_c);
  float *dw = malloc(sizeof(float) * wc), *db = malloc(sizeof(float) * p->out_c);
  sr_rng rng;
  sr_rng_seed(&rng, 7);
  fill_normal(x.data, sr_tensor_count(&x), &rng, 1.0);
  fill_normal(dy.data, sr_tensor_count(&dy), &rng, 1.0);
  fill_normal(w, wc, &rng, 0.3), fill_normal(bias, p->out_c, &rng, 0.1);
  /* Weights uploaded whole: the cpu backend transforms, packs and caches them. */
  float *bw = b->ops->alloc(b, wc);
  sr_status st = bw ? b->ops->upload(b, bw, w, wc) : SR_ERR_NOMEM;
  if (st == SR_OK) st = b->ops->conv2d(b, p, &x, bw, bias, &y);
  CHECK(st == SR_OK, "%s forward under %s", t->what, isa);
  bool backward = p->kh == 3; /* the training passes take 3x3 only */
  if (backward) {
    st = b->ops->conv2d_backward(b, p, &x, w, &dy, &dx, dw, db);
    CHECK(st == SR_OK, "%s backward under %s", t->what, isa);
  }
  size_t ny = sr_tensor_count(&y), nx = sr_tensor_count(&dx), count = ny + (backward ? nx + wc + p->out_c : 0);
  *out = realloc(*out, sizeof(float) * count);
  memcpy(*out, y.data, sizeof(float) * ny);
  if (backward) {
    memcpy(*out + ny, dx.data, sizeof(float) * nx);
    memcpy(*out + ny + nx, dw, sizeof(float) * wc);
    memcpy(*out + ny + nx + wc, db, sizeof(float) * p->out_c);
  }
  if (bw) b->ops->release(b, bw);
  sr_backend_free(b);
  free(w), free(bias), free(dw), free(db);
  sr_tensor_clear(&x), sr_tensor_clear(&y), sr_tensor_clear(&dy), sr_tensor_clear(&dx);
  return count;
}

static void check_backend(sr_cpu_isa lv) {
  const char *isa = sr__cpu_isa_name(lv);
  for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++) {
    float *r = NULL, *a = NULL;
    size_t nr = run_conv("ref", "", &conv_cases[i], &r), na = run_conv("cpu", isa, &conv_cases[i], &a);
    double e = nr == na && nr ? nmse(a, r, nr) : 1;
    CHECK(e <= 1e-10, "%s: %s differs from ref: NMSE %.3g > 1e-10", conv_cases[i].what, isa, e);
    printf("cpu backend %s, %s: %zu floats, NMSE vs ref %.2e (bound 1e-10)\n", isa, conv_cases[i].what, na, e);
    free(r), free(a);
  }
}

/* ---- SLIC ---- */

/* A smooth colour field with noise: many near-ties between centres. */
static void make_image(sr_image *im, int w, int h) {
  im->width = w, im->height = h, im->channels = 3;
  im->data = malloc((size_t)w * h * 3);
  sr_rng rng;
  sr_rng_seed(&rng, 11);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        double v = 128 + 90 * sin(0.05 * (x + 2 * c) + 0.03 * y * (c + 1)) + 20 * sr_rng_normal(&rng);
        im->data[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
}

static void check_slic(const sr_image *im, sr_cpu_isa lv) {
  sr_slic_params p;
  sr_slic_params_default(&p);
  p.n_superpixels = 300, p.threads = 2;
  sr_superpixels g = {0}, a = {0};
  sr_error err = {0};
  setenv("SEGRANK_CPU_ISA", "generic", 1);
  CHECK(sr_slic(im, &p, &g, &err) == SR_OK, "slic generic: %s", err.msg);
  setenv("SEGRANK_CPU_ISA", sr__cpu_isa_name(lv), 1);
  CHECK(sr_slic(im, &p, &a, &err) == SR_OK, "slic %s: %s", sr__cpu_isa_name(lv), err.msg);
  CHECK(g.labels && a.labels && g.n == a.n && !memcmp(g.labels, a.labels, sizeof(int32_t) * im->width * im->height),
        "slic: %s labels differ from generic (%d and %d superpixels)", sr__cpu_isa_name(lv), g.n, a.n);
  printf("slic %dx%d: %d superpixels, %s and generic identical\n", im->width, im->height, g.n, sr__cpu_isa_name(lv));
  sr_superpixels_clear(&g), sr_superpixels_clear(&a);
}

/* ---- unary features (variant picked once per process) ---- */

/* Filter responses, gradient rows and nearest textons of @im into @f. */
static void unary_outputs(const sr_image *im, FILE *f) {
  sr_pool *pool = sr_pool_new(2);
  int gw = sr_texton_grid(im->width), gh = sr_texton_grid(im->height), k = 64;
  size_t nr = (size_t)gw * gh * SR_N_FILTERS;
  float *resp = malloc(sizeof(float) * nr);
  sr_error err = {0};
  CHECK(sr_unary_frame_responses(im, pool, resp, &err) == SR_OK, "filter bank: %s", err.msg);
  fwrite(resp, sizeof(float), nr, f);
  /* gradients of the first response plane as an L image */
  float *L = malloc(sizeof(float) * gw * gh), *mag = malloc(sizeof(float) * 2 * gw),
        *ori = malloc(sizeof(float) * 2 * gw);
  for (size_t i = 0; i < (size_t)gw * gh; i++) L[i] = resp[i * SR_N_FILTERS];
  sr_filter_scratch *s = sr_filter_scratch_new(gw);
  for (int y = 0; y < gh; y++) {
    sr_gradient_row(L, gw, gh, y, s, mag, ori);
    fwrite(mag, sizeof(float), 2 * gw, f), fwrite(ori, sizeof(float), 2 * gw, f);
  }
  /* nearest of k random textons (transposed, with squared norms) */
  float *tt = malloc(sizeof(float) * SR_N_FILTERS * k), cc[64];
  sr_rng rng;
  sr_rng_seed(&rng, 5);
  fill_normal(tt, (size_t)SR_N_FILTERS * k, &rng, 40.0);
  for (int j = 0; j < k; j++) {
    cc[j] = 0;
    for (int d = 0; d < SR_N_FILTERS; d++) cc[j] += tt[d * k + j] * tt[d * k + j];
  }
  for (size_t i = 0; i < (size_t)gw * gh; i++) {
    int32_t j = sr_texton_nearest(resp + i * SR_N_FILTERS, tt, cc, k);
    fwrite(&j, sizeof j, 1, f);
  }
  sr_filter_scratch_free(s);
  free(resp), free(L), free(mag), free(ori), free(tt);
  sr_pool_free(pool);
}

/* The outputs under SEGRANK_CPU_ISA=@isa, from a child process; their size in @n. */
static char *unary_in_child(const sr_image *im, const char *isa, size_t *n) {
  *n = 0;
  FILE *f = tmpfile();
  if (!f) return NULL;
  fflush(stdout), fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("SEGRANK_CPU_ISA", isa, 1);
    unary_outputs(im, f);
    _exit(fflush(f) == 0 && test_failures == 0 ? 0 : 1);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "unary child under %s failed", isa);
  long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  char *buf = size > 0 ? malloc(size) : NULL;
  rewind(f);
  if (buf && fread(buf, 1, size, f) == (size_t)size) *n = size;
  fclose(f);
  return buf;
}

static void check_unary(const sr_image *im, sr_cpu_isa lv) {
  size_t ng, na;
  const char *isa = sr__cpu_isa_name(lv);
  char *g = unary_in_child(im, "generic", &ng), *a = unary_in_child(im, isa, &na);
  CHECK(ng > 0 && ng == na && !memcmp(g, a, ng), "unary features: %s differs from generic (%zu and %zu bytes)", isa,
        ng, na);
  printf("unary filter bank, gradients, textons: %zu bytes, %s and generic identical\n", ng, isa);
  free(g), free(a);
}

/* ---- refusals ---- */

/* SEGRANK_CPU_ISA=@isa refused by the backend and SLIC with a message
 * holding @want. */
static void check_refused(const sr_image *im, const char *isa, const char *want) {
  sr_backend *b = NULL;
  sr_error err = {0};
  setenv("SEGRANK_CPU_ISA", isa, 1);
  CHECK(sr_backend_new("cpu", 1, &b, &err) == SR_ERR_UNSUPPORTED && !b && strstr(err.msg, want),
        "SEGRANK_CPU_ISA=%s accepted by the backend, or no '%s' in: %s", isa, want, err.msg);
  printf("SEGRANK_CPU_ISA=%s%s%s refused: %s\n", isa, getenv("SEGRANK_CPU_ISA_CAP") ? " with SEGRANK_CPU_ISA_CAP=" : "",
         getenv("SEGRANK_CPU_ISA_CAP") ? getenv("SEGRANK_CPU_ISA_CAP") : "", err.msg);
  sr_backend_free(b);
  sr_slic_params p;
  sr_slic_params_default(&p);
  sr_superpixels sp = {0};
  err = (sr_error){0};
  CHECK(sr_slic(im, &p, &sp, &err) == SR_ERR_UNSUPPORTED && strstr(err.msg, want),
        "SEGRANK_CPU_ISA=%s accepted by slic, or no '%s' in: %s", isa, want, err.msg);
  sr_superpixels_clear(&sp);
}

/* A Winograd tile side other than 2, 4 or auto is refused, naming it. */
static void check_tile_refused(void) {
  sr_backend *b = NULL;
  sr_error err = {0};
  unsetenv("SEGRANK_CPU_ISA");
  setenv("SEGRANK_CPU_WINOGRAD_TILE", "3", 1);
  CHECK(sr_backend_new("cpu", 1, &b, &err) == SR_ERR_INVALID && !b && strstr(err.msg, "SEGRANK_CPU_WINOGRAD_TILE=3"),
        "SEGRANK_CPU_WINOGRAD_TILE=3 accepted, or not named in: %s", err.msg);
  printf("SEGRANK_CPU_WINOGRAD_TILE=3 refused: %s\n", err.msg);
  sr_backend_free(b);
  setenv("SEGRANK_CPU_WINOGRAD_TILE", "4", 1);
  CHECK(sr_backend_new("cpu", 1, &b, &err) == SR_OK, "SEGRANK_CPU_WINOGRAD_TILE=4 refused: %s", err.msg);
  sr_backend_free(b);
  unsetenv("SEGRANK_CPU_WINOGRAD_TILE");
}

static void check_refusals(const sr_image *im, const bool *have) {
  check_refused(im, "avx9", "SEGRANK_CPU_ISA=avx9: unknown");
  check_tile_refused();
  /* Levels this CPU lacks. */
  if (!have[SR_CPU_ISA_AVX512]) check_refused(im, "avx512", "no AVX-512");
  if (!have[SR_CPU_ISA_AVX2]) check_refused(im, "avx2", "no AVX2");
  /* ... and as if it lacked them. */
  setenv("SEGRANK_CPU_ISA_CAP", "avx2", 1);
  check_refused(im, "avx512", "no AVX-512");
  sr_cpu_isa isa;
  unsetenv("SEGRANK_CPU_ISA");
  CHECK(sr__cpu_isa_pick(&isa, NULL) == SR_OK && isa == (have[SR_CPU_ISA_AVX2] ? SR_CPU_ISA_AVX2 : SR_CPU_ISA_GENERIC),
        "capped at avx2: picked %s", sr__cpu_isa_name(isa));
  setenv("SEGRANK_CPU_ISA_CAP", "generic", 1);
  check_refused(im, "avx2", "no AVX2");
  setenv("SEGRANK_CPU_ISA", "generic", 1);
  CHECK(sr__cpu_isa_pick(&isa, NULL) == SR_OK && isa == SR_CPU_ISA_GENERIC, "generic refused");
  unsetenv("SEGRANK_CPU_ISA_CAP");
}

int main(void) {
  unsetenv("SEGRANK_CPU_ISA"), unsetenv("SEGRANK_CPU_ISA_CAP");
  bool have[N_LEVELS];
  for (int i = 0; i < N_LEVELS; i++) have[i] = sr__cpu_isa_supported((sr_cpu_isa)i);
  printf("this CPU: %s\n", sr__cpu_isa_name(sr__cpu_isa_detect()));
  sr_image im;
  make_image(&im, 203, 157);
  check_refusals(&im, have);
  check_gemm(SR_GEMM_OPENBLAS);
  char ran[64] = "";
  for (int i = 0; i < N_LEVELS; i++) {
    sr_cpu_isa lv = levels[i];
    if (!have[lv]) {
      printf("skipped: level %s: this CPU lacks it\n", sr__cpu_isa_name(lv));
      continue;
    }
    check_gemm(lv);
    check_backend(lv);
    if (lv != SR_CPU_ISA_GENERIC) check_slic(&im, lv), check_unary(&im, lv);
    strcat(ran, " "), strcat(ran, sr__cpu_isa_name(lv));
  }
  unsetenv("SEGRANK_CPU_ISA");
  printf("levels run:%s\n", ran);
  sr_image_clear(&im);
  if (test_failures) return 1;
  if (!have[SR_CPU_ISA_AVX2]) {
    printf("SKIP: no AVX2 on this CPU, only the generic level ran\n");
    return 77;
  }
  return 0;
}
