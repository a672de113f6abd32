/* cmd_bench.c: `segrank bench`: whole-net forward time at batch 1, 8 and
 * 16, per-layer times and GFLOP/s for each backend, against two peaks
 * measured in the same run: the CPU's FMA peak at the cpu backend's
 * instruction-set level (cpu_isa.h; our own microbenchmark: independent
 * FMA chains on every thread) and OpenBLAS sgemm's. Training steps and
 * the peers (OpenCV, PyTorch; a from-scratch PyTorch step from
 * tools/peers) on request. Figures, never pass/fail. Each timing waits for
 * a quiet machine and is retried under foreign load, as the peers' scripts
 * do theirs (load_meter.h). */
#include <cblas.h>
#include <json-glib/json-glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/cpu/cpu_isa.h"
#include "cli.h"
#include "load_meter.h"
#if SR_HAVE_AVX2_VARIANTS
#include <immintrin.h>
#endif

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Best of @runs sgemm calls of n×n×n (after one warm-up), in GFLOP/s. */
static double sgemm_peak(int n, int runs) {
  float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
  for (int i = 0; i < n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
  double best = 1e9;
  for (int r = 0; r <= runs; r++) {
    double t0 = now_s();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
    double t = now_s() - t0;
    if (r > 0 && t < best) best = t;
  }
  free(a), free(b), free(c);
  return 2.0 * n * n * (double)n / best / 1e9;
}

/* ---- the FMA peak: 12 independent multiply-add chains per thread ---- */

#define PEAK_CHAINS 12
#define PEAK_STEPS 4096 /* steps of all chains between clock reads */
static volatile float peak_sink;

#if SR_HAVE_AVX2_VARIANTS
SR_TARGET_AVX512 static double chains_avx512(long steps) {
  __m512 a[PEAK_CHAINS], m = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
  for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm512_set1_ps((float)i);
  for (long k = 0; k < steps; k++) {
#pragma GCC unroll 12
    for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
  }
  for (int i = 1; i < PEAK_CHAINS; i++) a[0] = _mm512_add_ps(a[0], a[i]);
  peak_sink = _mm512_reduce_add_ps(a[0]);
  return (double)steps * PEAK_CHAINS * 32;
}

SR_TARGET_AVX2_FMA static double chains_avx2(long steps) {
  __m256 a[PEAK_CHAINS], m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
  for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm256_set1_ps((float)i);
  for (long k = 0; k < steps; k++) {
#pragma GCC unroll 12
    for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  for (int i = 1; i < PEAK_CHAINS; i++) a[0] = _mm256_add_ps(a[0], a[i]);
  float v[8];
  _mm256_storeu_ps(v, a[0]);
  peak_sink = v[0] + v[7];
  return (double)steps * PEAK_CHAINS * 16;
}
#endif

/* generic: the portable kernel's operations, a multiply then an add on
 * vectors of 4 (no FMA in baseline code) */
typedef float peak_v4 __attribute__((vector_size(16)));
static double chains_generic(long steps) {
  peak_v4 a[PEAK_CHAINS], m = {0.9999f, 0.9999f, 0.9999f, 0.9999f}, c = {1e-4f, 1e-4f, 1e-4f, 1e-4f};
  for (int i = 0; i < PEAK_CHAINS; i++) a[i] = (peak_v4){(float)i, (float)i, (float)i, (float)i};
  for (long k = 0; k < steps; k++) {
#pragma GCC unroll 12
    for (int i = 0; i < PEAK_CHAINS; i++) a[i] = a[i] * m + c;
  }
  for (int i = 1; i < PEAK_CHAINS; i++) a[0] += a[i];
  peak_sink = a[0][0] + a[0][3];
  return (double)steps * PEAK_CHAINS * 8;
}

typedef struct {
  sr_cpu_isa isa;
  double seconds, flops, elapsed;
  pthread_barrier_t *start;
} peak_thread;

static void *peak_run(void *arg) {
  peak_thread *t = arg;
  double (*fn)(long) = chains_generic;
#if SR_HAVE_AVX2_VARIANTS
  if (t->isa == SR_CPU_ISA_AVX512) fn = chains_avx512;
  if (t->isa == SR_CPU_ISA_AVX2) fn = chains_avx2;
#endif
  fn(PEAK_STEPS); /* warm-up: clocks up, the vector unit powered */
  pthread_barrier_wait(t->start);
  double t0 = now_s(), flops = 0;
  do flops += fn(PEAK_STEPS);
  while (now_s() - t0 < t->seconds);
  t->flops = flops, t->elapsed = now_s() - t0;
  return NULL;
}

/* GFLOP/s of @threads threads each running independent FMA chains (or
 * generic's multiply-adds) of level @isa for about @seconds. */
static double fma_peak(sr_cpu_isa isa, int threads, double seconds) {
  pthread_t *tid = calloc(threads, sizeof *tid);
  peak_thread *t = calloc(threads, sizeof *t);
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, threads);
  for (int i = 0; i < threads; i++) {
    t[i] = (peak_thread){isa, seconds, 0, 0, &start};
    if (i) pthread_create(&tid[i], NULL, peak_run, &t[i]);
  }
  peak_run(&t[0]);
  double flops = t[0].flops, elapsed = t[0].elapsed;
  for (int i = 1; i < threads; i++) {
    pthread_join(tid[i], NULL);
    flops += t[i].flops;
    if (t[i].elapsed > elapsed) elapsed = t[i].elapsed;
  }
  pthread_barrier_destroy(&start);
  free(tid), free(t);
  return flops / elapsed / 1e9;
}

typedef struct {
  sr_cpu_isa isa;
  int threads;
} peak_timing;

/* The best of three 0.2 s runs: a peak (a thread descheduled for a while
 * lowers one run). */
static double peak_fn(void *ctx) {
  peak_timing *p = ctx;
  double best = 0;
  for (int i = 0; i < 3; i++) {
    double v = fma_peak(p->isa, p->threads, 0.2);
    best = v > best ? v : best;
  }
  return best;
}

/* Training FLOPs per frame of the step sr_train_bench times: forward,
 * weight gradients, and input gradients of all trained convolutions but
 * the first (from conv @first, 0-based, at an @h × @w input). */
static double train_flops(const sr_model *m, int h, int w, int first) {
  double total = 0;
  for (int i = 0, conv = 0; i < m->n_layers; i++) {
    const sr_layer *l = &m->layers[i];
    if (l->type == SR_LAYER_CONV) {
      h = sr_conv_out_size(h, l->conv.kh, l->conv.stride, l->conv.pad);
      w = sr_conv_out_size(w, l->conv.kw, l->conv.stride, l->conv.pad);
      double f = 2.0 * l->conv.out_c * (double)(l->conv.in_c / l->conv.group) * l->conv.kh * l->conv.kw * h * w;
      if (conv >= first) total += conv == first ? 2 * f : 3 * f;
      conv++;
    } else if (l->type == SR_LAYER_MAXPOOL) {
      h = sr_pool_out_size(h, l->pool.kernel, l->pool.stride, l->pool.pad);
      w = sr_pool_out_size(w, l->pool.kernel, l->pool.stride, l->pool.pad);
    }
  }
  return total;
}

/* Median ms per call of @runs forward passes (after one warm-up). */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double time_forward(sr_net *net, sr_tensor *x, sr_tensor *y, int runs, sr_error *err) {
  double *t = malloc(sizeof(double) * runs);
  if (sr_net_forward(net, x, y, err) != SR_OK) return -1;
  for (int r = 0; r < runs; r++) {
    double t0 = now_s();
    if (sr_net_forward(net, x, y, err) != SR_OK) return -1;
    t[r] = (now_s() - t0) * 1e3;
  }
  qsort(t, runs, sizeof *t, cmp_double);
  double med = t[runs / 2];
  free(t);
  return med;
}

/* One timing, taken when the machine is quiet: up to four tries, keeping
 * the one with the least load from other processes (done below 5%). The
 * foreign load is printed after the figure, as the peers print theirs. */
typedef struct {
  double value, foreign;
} guarded_figure;

static guarded_figure guarded(const char *label, double (*fn)(void *), void *ctx) {
  guarded_figure best = {-1, 2};
  for (int i = 0; i < 4; i++) {
    load_wait_idle(0.05, 0.5, 2, 60);
    load_meter m;
    load_meter_start(&m);
    double v = fn(ctx), f = load_meter_foreign(&m);
    if (v < 0) return (guarded_figure){v, f};
    if (f < best.foreign) best = (guarded_figure){v, f};
    if (f < 0.05) break;
    printf("   [%s: foreign load %.0f%% during the run, retry %d]\n", label, 100 * f, i + 1);
    fflush(stdout);
  }
  return best;
}

typedef struct {
  sr_net *net;
  sr_tensor *x, *y;
  int runs;
  sr_error *err;
} forward_timing;

static double forward_fn(void *ctx) {
  forward_timing *t = ctx;
  return time_forward(t->net, t->x, t->y, t->runs, t->err);
}

typedef struct {
  const sr_model *m;
  sr_backend *b;
  bool paper;
  int batch, size, steps;
  sr_error *err;
} train_timing;

static double train_fn(void *ctx) {
  train_timing *t = ctx;
  double ms;
  return sr_train_bench(t->m, t->b, t->paper, t->batch, t->size, t->size, t->steps, &ms, t->err) == SR_OK ? ms : -1;
}

/* Runs a peer script of ../shared/peers and returns its stdout (g_free), or
 * NULL with a reason printed. */
static char *run_peer(const char *dir, const char *script, int threads, int runs, const char *extra) {
  char *path = g_build_filename(dir, script, NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    printf("  peer %s: not found (needs ../shared/peers or --peers DIR)\n", path);
    g_free(path);
    return NULL;
  }
  char t[16], r[16];
  snprintf(t, sizeof t, "%d", threads);
  snprintf(r, sizeof r, "%d", runs);
  char *argv[] = {"/usr/bin/python3", path, t, r, (char *)extra, NULL};
  char **envp = g_environ_setenv(g_get_environ(), "NO_LAYERS", "1", TRUE);
  char *out = NULL, *errs = NULL;
  int status = 0;
  GError *gerr = NULL;
  fflush(stdout);
  if (!g_spawn_sync(NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &errs, &status, &gerr) ||
      !g_spawn_check_wait_status(status, NULL)) {
    printf("  peer %s failed: %s\n", script, gerr ? gerr->message : (errs ? errs : "?"));
    g_clear_error(&gerr);
    g_free(out);
    out = NULL;
  }
  g_free(errs);
  g_strfreev(envp);
  g_free(path);
  return out;
}

/* The "ms/frame" figure of the first line of @out that starts with @label
 * (after leading spaces); -1 when absent. @field 0 = ms/call, 1 = ms/frame. */
static double peer_figure(const char *out, const char *label, int field) {
  for (const char *line = out; line && *line;) {
    while (*line == ' ') line++;
    if (g_str_has_prefix(line, label)) {
      const char *p = line + strlen(label);
      double call, frame;
      if (sscanf(p, " %lf ms/call %lf ms/frame", &call, &frame) == 2) return field ? frame : call;
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
  return -1;
}

int cmd_bench(int argc, char **argv) {
  char *backend = NULL, *json_path = NULL, *model_path = NULL, *size = NULL;
  int threads = 0, runs = 10;
  gboolean train = FALSE, peers = FALSE;
  char *peer_dir = NULL, *own_peer_dir = NULL;
  /* --superpixels: our SLIC against vlfeat's (bench_superpixels.c). */
  gboolean superpixels = FALSE;
  char *camvid_dir = NULL, *split = NULL;
  int n_superpixels = 1000, max_images = 0;
  /* --proposals: the proposal source per stage (bench_proposals.c). */
  gboolean proposals = FALSE;
  char *unary = NULL, *image = NULL;
  int num_solutions = 10;
  GOptionEntry entries[] = {
      {"proposals", 0, 0, G_OPTION_ARG_NONE, &proposals,
       "Instead: time the proposal source per stage (superpixels, features, unaries, DivMBest) on one frame", NULL},
      {"unary", 'u', 0, G_OPTION_ARG_FILENAME, &unary, "Unary model for --proposals (default: the shipped one)", "U"},
      {"image", 0, 0, G_OPTION_ARG_FILENAME, &image, "Frame for --proposals (PNG/JPEG; default: a synthetic 480x360 frame)", "F"},
      {"num-solutions", 'M', 0, G_OPTION_ARG_INT, &num_solutions, "DivMBest solutions for --proposals (default 10)", "M"},
      {"superpixels", 0, 0, G_OPTION_ARG_NONE, &superpixels,
       "Instead: time our SLIC against vlfeat's on CamVid frames, with boundary recall and under-segmentation error",
       NULL},
      {"camvid", 0, 0, G_OPTION_ARG_FILENAME, &camvid_dir, "CamVid folder for --superpixels (default ../shared/datasets/camvid)",
       "DIR"},
      {"split", 0, 0, G_OPTION_ARG_STRING, &split, "Split for --superpixels (default val)", "S"},
      {"n-superpixels", 0, 0, G_OPTION_ARG_INT, &n_superpixels, "Superpixels requested (default 1000)", "N"},
      {"max-images", 0, 0, G_OPTION_ARG_INT, &max_images, "At most this many frames for --superpixels (0 = all)", "N"},
      {"backend", 'b', 0, G_OPTION_ARG_STRING, &backend, "Backend to time: " CLI_BACKENDS " (default: cpu, and what auto picks on a GPU)", "B"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (0 = all cores)", "N"},
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model (default: random SegNet, 21 classes)", "M"},
      {"input-size", 's', 0, G_OPTION_ARG_STRING, &size, "Input W or WxH (default 227)", "S"},
      {"runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Timed runs at batch 1 (default 10; batch 8 uses a third)", "N"},
      {"json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "Also write the figures as JSON", "FILE"},
      {"train", 0, 0, G_OPTION_ARG_NONE, &train, "Also time training steps (from scratch and paper mode)", NULL},
      {"compare-peers", 0, 0, G_OPTION_ARG_NONE, &peers,
       "Run OpenCV DNN and PyTorch on the same network in the same run and print the ratios", NULL},
      {"peers", 0, 0, G_OPTION_ARG_FILENAME, &peer_dir, "Peer scripts (default ../shared/peers)", "DIR"},
      {"own-peers", 0, 0, G_OPTION_ARG_FILENAME, &own_peer_dir,
       "This project's peer scripts: the from-scratch PyTorch training step (default tools/peers)", "DIR"},
      {0}};
  if (!cli_parse(&argc, &argv, "",
                 "Prints ms/frame at batch 1, 8 and 16, GFLOP/s, the per-layer split, the cpu backend's\n"
                 "instruction-set level (cpu-isa; SEGRANK_CPU_ISA=avx512|avx2|generic overrides,\n"
                 "SEGRANK_CPU_GEMM=openblas sends its GEMMs to OpenBLAS) and the ratios to two peaks\n"
                 "measured in the same run: the FMA peak of that level (independent FMA chains on\n"
                 "every thread) and OpenBLAS sgemm's (2048³, same thread count).",
                 entries))
    return 2;
  if (proposals) return bench_proposals(unary, image, num_solutions, threads, runs);
  if (superpixels)
    return bench_superpixels(camvid_dir ? camvid_dir : "../shared/datasets/camvid", split ? split : "val",
                             n_superpixels, threads, max_images);
  sr_error err = {0};
  if (sr_backend_check(backend, &err) != SR_OK) return cli_fail(&err), 2;
  /* Default: cpu, plus Vulkan when "auto" picks it (a real GPU; lavapipe
   * is far too slow to time the whole net). ref only when asked for;
   * --backend auto times what auto picks. */
  char *auto_name = NULL;
  if (!backend || !strcmp(backend, "auto")) {
    sr_backend *probe;
    if (sr_backend_new("auto", 1, &probe, NULL) == SR_OK) {
      auto_name = g_strdup(sr_backend_name(probe));
      sr_backend_free(probe);
    }
    if (backend) backend = auto_name ? auto_name : "cpu";
  }
  sr_model *m;
  if (model_path ? sr_model_load(model_path, &m, &err) : sr_model_new_segnet(21, NULL, 1, &m, &err))
    return cli_fail(&err);
  int w = 227, h = 227;
  if (size && !cli_parse_size(size, &w, &h)) {
    fprintf(stderr, "segrank bench: bad --input-size '%s'\n", size);
    return 2;
  }
  if (runs < 3) runs = 3;
  const char *const *names = sr_backend_list();
  GString *js = g_string_new("{\"backends\":[");
  double flops = sr_model_flops(m, h, w), fpeak = 1;
  printf("segrank bench: %dx%d input, %.3f GFLOP/frame\n", w, h, flops / 1e9);
  /* The cpu backend's level, picked as the backend picks it. */
  sr_cpu_isa isa;
  sr_error ierr = {0};
  bool isa_ok = sr__cpu_isa_pick(&isa, &ierr) == SR_OK;
  const char *want_isa = getenv("SEGRANK_CPU_ISA"), *gemm_env = getenv("SEGRANK_CPU_GEMM");
  bool gemm_blas = gemm_env && !strcmp(gemm_env, "openblas");
  if (isa_ok)
    printf("cpu-isa: %s (this CPU's best: %s%s%s), GEMMs: %s\n", sr__cpu_isa_name(isa),
           sr__cpu_isa_name(sr__cpu_isa_detect()), want_isa && *want_isa ? "; SEGRANK_CPU_ISA=" : "",
           want_isa && *want_isa ? want_isa : "", gemm_blas ? "OpenBLAS (SEGRANK_CPU_GEMM=openblas)" : "own kernels");
  else
    printf("cpu-isa: %s\n", ierr.msg);
  for (int bi = 0; names[bi]; bi++) {
    if (backend ? strcmp(backend, names[bi]) != 0
                : strcmp(names[bi], "cpu") != 0 && g_strcmp0(names[bi], auto_name) != 0)
      continue;
    sr_backend *b;
    sr_net *net;
    if (sr_backend_new(names[bi], threads, &b, &err) != SR_OK) return cli_fail(&err);
    if (sr_net_new(m, b, &net, &err) != SR_OK) return cli_fail(&err);
    int nt = sr_backend_threads(b);
    sr_rng rng;
    sr_rng_seed(&rng, 7);
    sr_tensor x1 = {0}, x8 = {0}, x16 = {0}, y = {0};
    sr_tensor_alloc(&x1, 1, 3, h, w);
    sr_tensor_alloc(&x8, 8, 3, h, w);
    sr_tensor_alloc(&x16, 16, 3, h, w);
    for (size_t i = 0; i < sr_tensor_count(&x16); i++) x16.data[i] = (float)(sr_rng_normal(&rng) * 60);
    memcpy(x1.data, x16.data, sizeof(float) * sr_tensor_count(&x1));
    memcpy(x8.data, x16.data, sizeof(float) * sr_tensor_count(&x8));
    int r1 = strcmp(names[bi], "ref") ? runs : 1, r8 = r1 / 3 > 1 ? r1 / 3 : 1, r16 = r1 / 4 > 1 ? r1 / 4 : 1;
    bool big = strcmp(names[bi], "ref") != 0; /* batch 16 on ref would take minutes */
    forward_timing t1 = {net, &x1, &y, r1, &err}, t8 = {net, &x8, &y, r8, &err}, t16 = {net, &x16, &y, r16, &err};
    guarded_figure g1 = guarded("batch 1", forward_fn, &t1);
    guarded_figure g8 = g1.value >= 0 ? guarded("batch 8", forward_fn, &t8) : g1;
    guarded_figure g16 = g8.value >= 0 && big ? guarded("batch 16", forward_fn, &t16) : (guarded_figure){16 * g8.value, 0};
    double ms1 = g1.value, ms8 = g8.value / 8, ms16 = g16.value / 16;
    if (ms1 < 0 || ms8 < 0 || ms16 < 0) return cli_fail(&err);
    double gf1 = flops / ms1 / 1e6, gf8 = flops / ms8 / 1e6, gf16 = flops / ms16 / 1e6;
    /* Per-layer split: the median of a few profiled passes at batch 1. */
    sr_net_set_profiling(net, true);
    int steps = 0, prof_runs = r1 < 5 ? r1 : 5;
    double *ms = NULL;
    for (int r = 0; r < prof_runs; r++) {
      sr_net_forward(net, &x1, &y, &err);
      steps = sr_net_step_count(net);
      if (!ms) ms = calloc((size_t)steps * prof_runs, sizeof(double));
      for (int s = 0; s < steps; s++) ms[(size_t)s * prof_runs + r] = sr_net_step_ms(net, s);
    }
    sr_net_set_profiling(net, false);
    /* The peak is measured with this backend's thread count, after all the
     * timings: OpenBLAS's own threads keep spinning for a while after a
     * threaded sgemm and would steal the cores of the next measurement. */
    size_t n_steps = steps > 0 ? (size_t)steps : 1;
    char (*step_name)[72] = calloc(n_steps, sizeof *step_name);
    double *step_flops = calloc(n_steps, sizeof(double));
    for (int s = 0; s < steps; s++)
      snprintf(step_name[s], sizeof *step_name, "%s", sr_net_step_name(net, s)), step_flops[s] = sr_net_step_flops(net, s);
    sr_net_free(net);
    /* A GPU backend's figures against its GPU's own measured FMA peak. */
    char gpu_json[320] = "";
    const char *device = sr_backend_device_name(b);
    if (device) {
      double gpeak = sr_backend_peak_gflops(b);
      g_autofree gchar *gname = g_strescape(device, NULL);
      if (gpeak > 0) {
        printf("\nGPU %s: float32 FMA peak %.0f GFLOP/s (measured now); batch 1 %.0f%%, batch 8 %.0f%%, batch 16 "
               "%.0f%% of it\n",
               device, gpeak, 100 * gf1 / gpeak, 100 * gf8 / gpeak, 100 * gf16 / gpeak);
        snprintf(gpu_json, sizeof gpu_json,
                 "\"device\":\"%s\",\"device_fma_peak_gflops\":%.1f,\"ratio_to_device_peak_b16\":%.3f,", gname,
                 gpeak, gf16 / gpeak);
      } else {
        printf("\ndevice %s (no FMA peak measured for this backend)\n", device);
        snprintf(gpu_json, sizeof gpu_json, "\"device\":\"%s\",", gname);
      }
    }
    sr_backend_free(b);
    /* The FMA peak of the cpu backend's level, then OpenBLAS's (whose
     * threads linger), both with this backend's thread count. */
    peak_timing pt = {isa_ok ? isa : SR_CPU_ISA_GENERIC, nt};
    guarded_figure gpk = guarded("FMA peak", peak_fn, &pt);
    fpeak = gpk.value;
    openblas_set_num_threads(nt);
    double peak = sgemm_peak(2048, 3);
    printf("\nbackend %s, %d threads; cpu-isa %s: FMA peak %.1f GFLOP/s (%d independent FMA chains per thread, best of 3 × 0.2 s)"
           "  [foreign load %.0f%%]; OpenBLAS sgemm peak %.1f GFLOP/s (2048^3, OPENBLAS_CORETYPE=%s); both measured after"
           " the net\n",
           names[bi], nt, sr__cpu_isa_name(pt.isa), fpeak, PEAK_CHAINS, 100 * gpk.foreign, peak,
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");
    printf("  batch 1:  %8.2f ms/frame %7.1f GFLOP/s (%3.0f%% of FMA peak, %3.0f%% of sgemm peak)  [foreign load %.0f%%]\n",
           ms1, gf1, 100 * gf1 / fpeak, 100 * gf1 / peak, 100 * g1.foreign);
    printf("  batch 8:  %8.2f ms/frame %7.1f GFLOP/s (%3.0f%% of FMA peak, %3.0f%% of sgemm peak)  [foreign load %.0f%%]\n",
           ms8, gf8, 100 * gf8 / fpeak, 100 * gf8 / peak, 100 * g8.foreign);
    if (big)
      printf("  batch 16: %8.2f ms/frame %7.1f GFLOP/s (%3.0f%% of FMA peak, %3.0f%% of sgemm peak)  [foreign load %.0f%%]\n",
             ms16, gf16, 100 * gf16 / fpeak, 100 * gf16 / peak, 100 * g16.foreign);
    printf("  %-14s %9s %9s %6s %9s\n", "layer (b1)", "ms", "GFLOP/s", "share", "FMA peak");
    double total = 0;
    for (int s = 0; s < steps; s++) {
      qsort(ms + (size_t)s * prof_runs, prof_runs, sizeof(double), cmp_double);
      total += ms[(size_t)s * prof_runs + prof_runs / 2];
    }
    g_string_append_printf(js,
                           "%s{\"backend\":\"%s\",%s\"threads\":%d,\"input\":[%d,%d],\"gflop_per_frame\":%.4f,"
                           "\"ms_per_frame_b1\":%.3f,\"ms_per_frame_b8\":%.3f,\"ms_per_frame_b16\":%.3f,"
                           "\"gflops_b1\":%.2f,\"gflops_b8\":%.2f,\"gflops_b16\":%.2f,\"cpu_isa\":\"%s\","
                           "\"gemm\":\"%s\",\"fma_peak_gflops\":%.2f,\"ratio_to_fma_peak_b1\":%.3f,"
                           "\"sgemm_peak_gflops\":%.2f,\"ratio_to_sgemm_peak_b1\":%.3f,\"layers\":[",
                           bi && js->len > 1 ? "," : "", names[bi], gpu_json, nt, w, h, flops / 1e9, ms1, ms8, ms16, gf1, gf8,
                           gf16, sr__cpu_isa_name(pt.isa), gemm_blas ? "openblas" : "own", fpeak, gf1 / fpeak, peak,
                           gf1 / peak);
    for (int s = 0; s < steps; s++) {
      double t = ms[(size_t)s * prof_runs + prof_runs / 2], f = step_flops[s];
      char gf[32] = "-", pc[32] = "-";
      if (f > 0) snprintf(gf, sizeof gf, "%.1f", f / t / 1e6), snprintf(pc, sizeof pc, "%.0f%%", 100 * f / t / 1e6 / fpeak);
      printf("  %-14s %9.3f %9s %5.1f%% %9s\n", step_name[s], t, gf, 100 * t / total, pc);
      g_string_append_printf(js, "%s{\"name\":\"%s\",\"ms\":%.4f,\"gflops\":%.2f}", s ? "," : "", step_name[s], t,
                             f > 0 ? f / t / 1e6 : 0);
    }
    g_string_append(js, "]}");
    free(ms), free(step_name), free(step_flops);
    sr_tensor_clear(&x1), sr_tensor_clear(&x8), sr_tensor_clear(&x16), sr_tensor_clear(&y);
  }
  g_free(auto_name);
  g_string_append(js, "]");
  double cpu_b1 = -1, cpu_b8 = -1, cpu_b16 = -1;
  {
    /* The first timed backend's figures are what the peers are compared with. */
    const char *p1 = strstr(js->str, "\"ms_per_frame_b1\":"), *p8 = strstr(js->str, "\"ms_per_frame_b8\":");
    const char *p16 = strstr(js->str, "\"ms_per_frame_b16\":");
    if (p1) cpu_b1 = g_ascii_strtod(p1 + 18, NULL);
    if (p8) cpu_b8 = g_ascii_strtod(p8 + 18, NULL);
    if (p16) cpu_b16 = g_ascii_strtod(p16 + 19, NULL);
  }
  int nt = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
  double scratch_ms = -1, paper_ms = -1;
  if (train) {
    sr_backend *b;
    if (sr_backend_new(backend ? backend : "cpu", threads, &b, &err) != SR_OK) return cli_fail(&err);
    printf("\ntraining steps, %s backend, %d threads (forward without dropout, CE, backward, SGD):\n", sr_backend_name(b), nt);
    train_timing ts = {m, b, false, 8, 256, 5, &err}, tp = {m, b, true, 16, 227, 15, &err};
    guarded_figure gs = guarded("from scratch", train_fn, &ts);
    guarded_figure gp = gs.value >= 0 ? guarded("paper mode", train_fn, &tp) : gs;
    scratch_ms = gs.value, paper_ms = gp.value;
    if (scratch_ms < 0 || paper_ms < 0) return cli_fail(&err);
    double fs = 8 * train_flops(m, 256, 256, 0) / scratch_ms / 1e6, fp = 16 * train_flops(m, 227, 227, 5) / paper_ms / 1e6;
    printf("  from scratch, batch 8, 256x256 crops: %8.1f ms/step  %6.2f images/s  %6.1f GFLOP/s (%.0f%% of FMA peak)"
           "  [foreign load %.0f%%]\n",
           scratch_ms, 8e3 / scratch_ms, fs, 100 * fs / fpeak, 100 * gs.foreign);
    printf("  paper mode (conv6-8 on cached conv5 features of 227x227), batch 16: %6.2f ms/step  %7.1f images/s"
           "  %6.1f GFLOP/s (%.0f%% of FMA peak)  [foreign load %.0f%%]\n",
           paper_ms, 16e3 / paper_ms, fp, 100 * fp / fpeak, 100 * gp.foreign);
    sr_backend_free(b);
  }
  double ocv1 = -1, ocv16 = -1, pt1 = -1, pt16 = -1, pt_train = -1, pt_scratch = -1;
  if (peers) {
    const char *dir = peer_dir ? peer_dir : "../shared/peers";
    printf("\npeers on the same network (%s), %d threads, measured now:\n", dir, nt);
    char *o = run_peer(dir, "ocv_bench.py", nt, 15, NULL), *t = run_peer(dir, "torch_bench.py", nt, 15, NULL);
    ocv1 = peer_figure(o, "opencv forward b1 (median)", 1), ocv16 = peer_figure(o, "opencv forward b16 (median)", 1);
    pt1 = peer_figure(t, "forward b1 (median)", 1), pt16 = peer_figure(t, "forward b16 (median)", 1);
    pt_train = peer_figure(t, "train step conv6-8 b16 (median)", 0);
    g_free(o), g_free(t);
    if (train) { /* the from-scratch step: this project's peer script, using the shared helpers in @dir */
      char *sc = run_peer(own_peer_dir ? own_peer_dir : "tools/peers", "torch_train_scratch.py", nt, 7, dir);
      pt_scratch = peer_figure(sc, "train step scratch conv1-8 b8 (median)", 0);
      g_free(sc);
    }
    double b16 = cpu_b16 > 0 ? cpu_b16 : cpu_b8;
    printf("  %-28s %10s %10s\n", "", "b1 ms/fr", "b16 ms/fr");
    printf("  %-28s %10.2f %10.2f\n", "segrank (this run)", cpu_b1, b16);
    printf("  %-28s %10.2f %10.2f   segrank is %.2fx faster at b1, %.2fx at b16\n", "OpenCV DNN", ocv1, ocv16,
           ocv1 / cpu_b1, ocv16 / b16);
    printf("  %-28s %10.2f %10.2f   segrank is %.2fx faster at b1, %.2fx at b16\n", "PyTorch", pt1, pt16, pt1 / cpu_b1,
           pt16 / b16);
    if (train && pt_train > 0)
      printf("  conv6-8 training step b16: segrank %.2f ms, PyTorch %.2f ms: segrank is %.2fx faster\n", paper_ms,
             pt_train, pt_train / paper_ms);
    if (train && pt_scratch > 0)
      printf("  from-scratch training step (conv1-8) b8 256x256: segrank %.1f ms, PyTorch %.1f ms: segrank is %.2fx"
             " faster\n",
             scratch_ms, pt_scratch, pt_scratch / scratch_ms);
  }
  g_string_append_printf(js,
                         ",\"train\":{\"scratch_ms_per_step_b8\":%.3f,\"paper_ms_per_step_b16\":%.3f},"
                         "\"peers\":{\"opencv_ms_per_frame_b1\":%.3f,\"opencv_ms_per_frame_b16\":%.3f,"
                         "\"torch_ms_per_frame_b1\":%.3f,\"torch_ms_per_frame_b16\":%.3f,"
                         "\"torch_train_step_ms_b16\":%.3f,\"torch_train_scratch_ms_b8\":%.3f}",
                         scratch_ms, paper_ms, ocv1, ocv16, pt1, pt16, pt_train, pt_scratch);
  g_string_append(js, "}\n");
  int rc = 0;
  if (json_path) {
    /* The first backend's figures also sit at the top level. */
    JsonParser *p = json_parser_new();
    if (json_parser_load_from_data(p, js->str, -1, NULL)) {
      JsonObject *o = json_node_get_object(json_parser_get_root(p));
      JsonArray *a = json_object_get_array_member(o, "backends");
      if (json_array_get_length(a) > 0) {
        JsonObject *first = json_array_get_object_element(a, 0);
        GList *keys = json_object_get_members(first);
        for (GList *k = keys; k; k = k->next)
          json_object_set_member(o, k->data, json_node_copy(json_object_get_member(first, k->data)));
        g_list_free(keys);
      }
      char *text = json_to_string(json_parser_get_root(p), TRUE);
      g_string_assign(js, text);
      g_free(text);
    }
    g_object_unref(p);
  }
  if (json_path && !g_file_set_contents(json_path, js->str, -1, NULL)) {
    fprintf(stderr, "segrank bench: cannot write %s\n", json_path);
    rc = 1;
  }
  g_string_free(js, TRUE);
  sr_model_free(m);
  return rc;
}
