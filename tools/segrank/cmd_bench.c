/* cmd_bench.c: `segrank bench`: whole-net forward time at batch 1 and 8,
 * per-layer times and GFLOP/s for each backend, against OpenBLAS sgemm's peak
 * measured in the same run. Figures, never pass/fail. Each timing waits for
 * a quiet machine and is retried under foreign load, as the peers' scripts
 * do theirs (load_meter.h). */
#include <cblas.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "load_meter.h"

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
static char *run_peer(const char *dir, const char *script, int threads, int runs) {
  char *path = g_build_filename(dir, script, NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    printf("  peer %s: not found (needs ../shared/peers or --peers DIR)\n", path);
    g_free(path);
    return NULL;
  }
  char t[16], r[16];
  snprintf(t, sizeof t, "%d", threads);
  snprintf(r, sizeof r, "%d", runs);
  char *argv[] = {"/usr/bin/python3", path, t, r, NULL};
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
  char *peer_dir = NULL;
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
      {"backend", 'b', 0, G_OPTION_ARG_STRING, &backend, "Backend to time: " CLI_BACKENDS " (default: cpu, and vulkan on a GPU)", "B"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (0 = all cores)", "N"},
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model (default: random SegNet, 21 classes)", "M"},
      {"input-size", 's', 0, G_OPTION_ARG_STRING, &size, "Input W or WxH (default 227)", "S"},
      {"runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Timed runs at batch 1 (default 10; batch 8 uses a third)", "N"},
      {"json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "Also write the figures as JSON", "FILE"},
      {"train", 0, 0, G_OPTION_ARG_NONE, &train, "Also time training steps (from scratch and paper mode)", NULL},
      {"compare-peers", 0, 0, G_OPTION_ARG_NONE, &peers,
       "Run OpenCV DNN and PyTorch on the same network in the same run and print the ratios", NULL},
      {"peers", 0, 0, G_OPTION_ARG_FILENAME, &peer_dir, "Peer scripts (default ../shared/peers)", "DIR"},
      {0}};
  if (!cli_parse(&argc, &argv, "",
                 "Prints ms/frame at batch 1 and 8, GFLOP/s, the per-layer split and the ratio to\n"
                 "OpenBLAS sgemm's peak (2048³, same thread count) measured in the same run.",
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
  double flops = sr_model_flops(m, h, w);
  printf("segrank bench: %dx%d input, %.3f GFLOP/frame\n", w, h, flops / 1e9);
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
    sr_tensor x1 = {0}, x8 = {0}, y = {0};
    sr_tensor_alloc(&x1, 1, 3, h, w);
    sr_tensor_alloc(&x8, 8, 3, h, w);
    for (size_t i = 0; i < sr_tensor_count(&x8); i++) x8.data[i] = (float)(sr_rng_normal(&rng) * 60);
    memcpy(x1.data, x8.data, sizeof(float) * sr_tensor_count(&x1));
    int r1 = strcmp(names[bi], "ref") ? runs : 1, r8 = r1 / 3 > 1 ? r1 / 3 : 1;
    forward_timing t1 = {net, &x1, &y, r1, &err}, t8 = {net, &x8, &y, r8, &err};
    guarded_figure g1 = guarded("batch 1", forward_fn, &t1);
    guarded_figure g8 = g1.value >= 0 ? guarded("batch 8", forward_fn, &t8) : g1;
    double ms1 = g1.value, ms8 = g8.value / 8;
    if (ms1 < 0 || ms8 < 0) return cli_fail(&err);
    double gf1 = flops / ms1 / 1e6, gf8 = flops / ms8 / 1e6;
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
    sr_backend_free(b);
    openblas_set_num_threads(nt);
    double peak = sgemm_peak(2048, 3);
    printf("\nbackend %s, %d threads; OpenBLAS sgemm peak %.1f GFLOP/s (2048^3, measured after the net)\n",
           names[bi], nt, peak);
    printf("  batch 1: %8.2f ms/frame %7.1f GFLOP/s (%.0f%% of sgemm peak)  [foreign load %.0f%%]\n", ms1, gf1,
           100 * gf1 / peak, 100 * g1.foreign);
    printf("  batch 8: %8.2f ms/frame %7.1f GFLOP/s (%.0f%% of sgemm peak)  [foreign load %.0f%%]\n", ms8, gf8,
           100 * gf8 / peak, 100 * g8.foreign);
    printf("  %-14s %9s %9s %6s\n", "layer (b1)", "ms", "GFLOP/s", "share");
    double total = 0;
    for (int s = 0; s < steps; s++) {
      qsort(ms + (size_t)s * prof_runs, prof_runs, sizeof(double), cmp_double);
      total += ms[(size_t)s * prof_runs + prof_runs / 2];
    }
    g_string_append_printf(js,
                           "%s{\"backend\":\"%s\",\"threads\":%d,\"input\":[%d,%d],\"gflop_per_frame\":%.4f,"
                           "\"ms_per_frame_b1\":%.3f,\"ms_per_frame_b8\":%.3f,\"gflops_b1\":%.2f,\"gflops_b8\":%.2f,"
                           "\"sgemm_peak_gflops\":%.2f,\"ratio_to_sgemm_peak_b1\":%.3f,\"layers\":[",
                           bi && js->len > 1 ? "," : "", names[bi], nt, w, h, flops / 1e9, ms1, ms8, gf1, gf8, peak,
                           gf1 / peak);
    for (int s = 0; s < steps; s++) {
      double t = ms[(size_t)s * prof_runs + prof_runs / 2], f = step_flops[s];
      char gf[32] = "-";
      if (f > 0) snprintf(gf, sizeof gf, "%.1f", f / t / 1e6);
      printf("  %-14s %9.3f %9s %5.1f%%\n", step_name[s], t, gf, 100 * t / total);
      g_string_append_printf(js, "%s{\"name\":\"%s\",\"ms\":%.4f,\"gflops\":%.2f}", s ? "," : "", step_name[s], t,
                             f > 0 ? f / t / 1e6 : 0);
    }
    g_string_append(js, "]}");
    free(ms), free(step_name), free(step_flops);
    sr_tensor_clear(&x1), sr_tensor_clear(&x8), sr_tensor_clear(&y);
  }
  g_free(auto_name);
  g_string_append(js, "]");
  double cpu_b1 = -1, cpu_b8 = -1;
  {
    /* The first timed backend's figures are what the peers are compared with. */
    const char *p1 = strstr(js->str, "\"ms_per_frame_b1\":"), *p8 = strstr(js->str, "\"ms_per_frame_b8\":");
    if (p1) cpu_b1 = g_ascii_strtod(p1 + 18, NULL);
    if (p8) cpu_b8 = g_ascii_strtod(p8 + 18, NULL);
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
    printf("  from scratch, batch 8, 256x256 crops: %8.1f ms/step  %6.2f images/s  [foreign load %.0f%%]\n",
           scratch_ms, 8e3 / scratch_ms, 100 * gs.foreign);
    printf("  paper mode (conv6-8 on cached conv5 features of 227x227), batch 16: %6.2f ms/step  %7.1f images/s"
           "  [foreign load %.0f%%]\n",
           paper_ms, 16e3 / paper_ms, 100 * gp.foreign);
    sr_backend_free(b);
  }
  double ocv1 = -1, ocv16 = -1, pt1 = -1, pt16 = -1, pt_train = -1;
  if (peers) {
    const char *dir = peer_dir ? peer_dir : "../shared/peers";
    printf("\npeers on the same network (%s), %d threads, measured now:\n", dir, nt);
    char *o = run_peer(dir, "ocv_bench.py", nt, 15), *t = run_peer(dir, "torch_bench.py", nt, 15);
    ocv1 = peer_figure(o, "opencv forward b1 (median)", 1), ocv16 = peer_figure(o, "opencv forward b16 (median)", 1);
    pt1 = peer_figure(t, "forward b1 (median)", 1), pt16 = peer_figure(t, "forward b16 (median)", 1);
    pt_train = peer_figure(t, "train step conv6-8 b16 (median)", 0);
    g_free(o), g_free(t);
    printf("  %-28s %10s %10s\n", "", "b1 ms/fr", "b8/16 ms/fr");
    printf("  %-28s %10.2f %10.2f\n", "segrank (this run)", cpu_b1, cpu_b8);
    printf("  %-28s %10.2f %10.2f   segrank is %.2fx faster at b1\n", "OpenCV DNN", ocv1, ocv16, ocv1 / cpu_b1);
    printf("  %-28s %10.2f %10.2f   segrank is %.2fx faster at b1\n", "PyTorch", pt1, pt16, pt1 / cpu_b1);
    if (train && pt_train > 0)
      printf("  conv6-8 training step b16: segrank %.2f ms, PyTorch %.2f ms: segrank is %.2fx faster\n", paper_ms,
             pt_train, pt_train / paper_ms);
  }
  g_string_append_printf(js,
                         ",\"train\":{\"scratch_ms_per_step_b8\":%.3f,\"paper_ms_per_step_b16\":%.3f},"
                         "\"peers\":{\"opencv_ms_per_frame_b1\":%.3f,\"opencv_ms_per_frame_b16\":%.3f,"
                         "\"torch_ms_per_frame_b1\":%.3f,\"torch_ms_per_frame_b16\":%.3f,"
                         "\"torch_train_step_ms_b16\":%.3f}",
                         scratch_ms, paper_ms, ocv1, ocv16, pt1, pt16, pt_train);
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
