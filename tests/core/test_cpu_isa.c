/* test_cpu_isa.c: the instruction-set variants of cpu_isa.h. Where the CPU
 * has AVX2, every loop built in two variants gives bit-identical results
 * in both (SEGRANK_CPU_ISA=generic against avx2): the CPU backend's
 * Winograd convolutions (forward 3×3 and 5×5, both work splits, the input
 * and weight gradients), SLIC's labels, and the unary filter bank,
 * gradients and nearest textons (which pick once per process: computed in
 * a child per variant). A bad SEGRANK_CPU_ISA is refused with a message by
 * the backend and SLIC. Without AVX2 only the refusals are checked and the
 * test reports SKIP (77). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/backend_impl.h"
#include "backends/cpu/cpu_isa.h"
#include "proposals/superpixels/superpixels.h"
#include "proposals/unary/unary_internal.h"
#include "test_util.h"

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
};

/* Forward output, then dx, dw and db, of @t on a cpu backend made under
 * SEGRANK_CPU_ISA=@isa, into @out (grown). Returns the float count. */
static size_t run_conv(const char *isa, const conv_case *t, float **out) {
  setenv("SEGRANK_CPU_ISA", isa, 1);
  sr_backend *b = NULL;
  sr_error err = {0};
  CHECK(sr_backend_new("cpu", 2, &b, &err) == SR_OK, "cpu backend under %s: %s", isa, err.msg);
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
  /* Weights uploaded whole: the backend transforms and caches them. */
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

static void check_backend(void) {
  for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++) {
    float *g = NULL, *a = NULL;
    size_t ng = run_conv("generic", &conv_cases[i], &g), na = run_conv("avx2", &conv_cases[i], &a);
    CHECK(ng == na && ng > 0 && !memcmp(g, a, sizeof(float) * ng), "%s: avx2 differs from generic (max |diff| %.3g)",
          conv_cases[i].what, ng == na && ng ? max_abs_diff(g, a, ng) : -1.0);
    printf("cpu backend, %s: %zu floats, avx2 and generic identical\n", conv_cases[i].what, ng);
    free(g), free(a);
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

static void check_slic(const sr_image *im) {
  sr_slic_params p;
  sr_slic_params_default(&p);
  p.n_superpixels = 300, p.threads = 2;
  sr_superpixels g = {0}, a = {0};
  sr_error err = {0};
  setenv("SEGRANK_CPU_ISA", "generic", 1);
  CHECK(sr_slic(im, &p, &g, &err) == SR_OK, "slic generic: %s", err.msg);
  setenv("SEGRANK_CPU_ISA", "avx2", 1);
  CHECK(sr_slic(im, &p, &a, &err) == SR_OK, "slic avx2: %s", err.msg);
  CHECK(g.labels && a.labels && g.n == a.n && !memcmp(g.labels, a.labels, sizeof(int32_t) * im->width * im->height),
        "slic: avx2 labels differ from generic (%d and %d superpixels)", g.n, a.n);
  printf("slic %dx%d: %d superpixels, avx2 and generic identical\n", im->width, im->height, g.n);
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

static void check_unary(const sr_image *im) {
  size_t ng, na;
  char *g = unary_in_child(im, "generic", &ng), *a = unary_in_child(im, "avx2", &na);
  CHECK(ng > 0 && ng == na && !memcmp(g, a, ng), "unary features: avx2 differs from generic (%zu and %zu bytes)", ng,
        na);
  printf("unary filter bank, gradients, textons: %zu bytes, avx2 and generic identical\n", ng);
  free(g), free(a);
}

/* ---- refusals ---- */

static void check_refusals(const sr_image *im, bool have_avx2) {
  sr_backend *b = NULL;
  sr_error err = {0};
  setenv("SEGRANK_CPU_ISA", "avx9", 1);
  CHECK(sr_backend_new("cpu", 1, &b, &err) == SR_ERR_UNSUPPORTED && !b && strstr(err.msg, "SEGRANK_CPU_ISA=avx9"),
        "unknown ISA accepted by the backend: %s", err.msg);
  sr_backend_free(b), b = NULL;
  sr_slic_params p;
  sr_slic_params_default(&p);
  sr_superpixels sp = {0};
  err = (sr_error){0};
  CHECK(sr_slic(im, &p, &sp, &err) == SR_ERR_UNSUPPORTED && strstr(err.msg, "SEGRANK_CPU_ISA=avx9"),
        "unknown ISA accepted by slic: %s", err.msg);
  sr_superpixels_clear(&sp);
  if (!have_avx2) {
    setenv("SEGRANK_CPU_ISA", "avx2", 1);
    err = (sr_error){0};
    CHECK(sr_backend_new("cpu", 1, &b, &err) == SR_ERR_UNSUPPORTED && strstr(err.msg, "no AVX2"),
          "avx2 accepted on a CPU without it: %s", err.msg);
    sr_backend_free(b);
  }
  printf("bad SEGRANK_CPU_ISA refused: %s\n", err.msg);
}

int main(void) {
  unsetenv("SEGRANK_CPU_ISA");
  bool have_avx2 = sr__cpu_isa_detect() == SR_CPU_ISA_AVX2;
  printf("this CPU: %s\n", sr__cpu_isa_name(sr__cpu_isa_detect()));
  sr_image im;
  make_image(&im, 203, 157);
  check_refusals(&im, have_avx2);
  if (have_avx2) {
    check_backend();
    check_slic(&im);
    check_unary(&im);
  }
  sr_image_clear(&im);
  if (test_failures) return 1;
  if (!have_avx2) {
    printf("SKIP: no AVX2 on this CPU, the variants cannot be compared\n");
    return 77;
  }
  return 0;
}
