/* main.c: the segrank command-line tool: subcommand dispatch and the helpers
 * all subcommands use. */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "io/json_fields.h"
#include "sr_config.h"

static const struct {
  const char *name;
  int (*run)(int, char **);
  const char *summary;
} commands[] = {
    {"infer", cmd_infer, "segment PNG or JPEG images: label map, overlay and probabilities per image"},
    {"forward", cmd_forward, "run the net on a raw N×3×H×W .npy tensor, write the probabilities as .npy"},
    {"import-caffe", cmd_import_caffe, "convert a Caffe .caffemodel into a segrank model"},
    {"info", cmd_info, "print a model file's header"},
    {"convert", cmd_convert, "rewrite a model or checkpoint as a model file, fp32 or fp16"},
    {"init", cmd_init, "write a randomly initialised SegNet model"},
    {"train", cmd_train, "train SegNet with the paper's losses (CE, IOU, UOI, UOI+CE)"},
    {"eval", cmd_eval, "mIoU of a model on a dataset split (PASCAL VOC protocol)"},
    {"train-unary", cmd_train_unary, "train the proposal source's superpixel unary classifier (.srunary)"},
    {"propose", cmd_propose, "write DivMBest CRF proposals per image (DIR/<image>/<rank>.png + scores.json)"},
    {"rerank", cmd_rerank, "re-rank proposal folders with the net (eq. 17 or trained rankers) and report the mIoU of the picks"},
    {"train-ranker", cmd_train_ranker, "train the ranking SVM on out-of-fold net outputs (C by leave-one-sequence-out CV)"},
    {"bench", cmd_bench, "time the forward pass per backend and per layer"},
};

/* The option values GLib allocated for the running command (strings and
 * string arrays): their variables are the command's locals, so the values
 * are kept here and freed once the command returns. */
static GPtrArray *parsed_strings, *parsed_arrays;

static gboolean is_string_arg(GOptionArg a) { return a == G_OPTION_ARG_STRING || a == G_OPTION_ARG_FILENAME; }
static gboolean is_array_arg(GOptionArg a) {
  return a == G_OPTION_ARG_STRING_ARRAY || a == G_OPTION_ARG_FILENAME_ARRAY;
}

gboolean cli_parse(int *argc, char ***argv, const char *params, const char *summary, const GOptionEntry *entries) {
  /* Values before parsing (defaults the command set, not GLib's to free). */
  int n = 0;
  while (entries[n].long_name) n++;
  void **before = g_new0(void *, n + 1);
  for (int i = 0; i < n; i++)
    if (is_string_arg(entries[i].arg) || is_array_arg(entries[i].arg)) before[i] = *(void **)entries[i].arg_data;
  GOptionContext *ctx = g_option_context_new(params);
  g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  gboolean ok = g_option_context_parse(ctx, argc, argv, &err);
  if (!ok) {
    fprintf(stderr, "segrank %s: %s\n", (*argv)[0], err->message);
    g_error_free(err);
  }
  g_option_context_free(ctx);
  if (!parsed_strings) {
    parsed_strings = g_ptr_array_new_with_free_func(g_free);
    parsed_arrays = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
  }
  for (int i = 0; i < n; i++) {
    void *now = (is_string_arg(entries[i].arg) || is_array_arg(entries[i].arg)) ? *(void **)entries[i].arg_data
                                                                                : NULL;
    if (now && now != before[i]) g_ptr_array_add(is_array_arg(entries[i].arg) ? parsed_arrays : parsed_strings, now);
  }
  g_free(before);
  return ok;
}

/* Frees what cli_parse kept. */
static void cli_free_parsed(void) {
  if (parsed_strings) g_ptr_array_free(parsed_strings, TRUE);
  if (parsed_arrays) g_ptr_array_free(parsed_arrays, TRUE);
  parsed_strings = parsed_arrays = NULL;
}

int cli_fail(const sr_error *err) {
  fprintf(stderr, "segrank: %s\n", err->msg);
  return 1;
}

gboolean cli_open_net(const char *path, const char *backend, int threads, sr_model **m, sr_backend **b,
                      sr_net **net) {
  sr_error err = {0};
  if (sr_backend_check(backend, &err) != SR_OK) return cli_fail(&err), FALSE;
  if (!path) path = sr_default_model_path();
  if (sr_model_load(path, m, &err) != SR_OK) return cli_fail(&err), FALSE;
  if (sr_backend_new(backend, threads, b, &err) != SR_OK) {
    sr_model_free(*m);
    return cli_fail(&err), FALSE;
  }
  if (sr_net_new(*m, *b, net, &err) != SR_OK) {
    sr_backend_free(*b);
    sr_model_free(*m);
    return cli_fail(&err), FALSE;
  }
  return TRUE;
}

gboolean cli_parse_size(const char *s, int *w, int *h) { return sr_parse_size(s, 8192, w, h); }

void cli_confusion_init(sr_confusion *c, int k) {
  if (sr_confusion_init(c, k) == SR_OK) return;
  fprintf(stderr, "segrank: out of memory for a %d x %d confusion matrix\n", k, k);
  exit(1);
}

double cli_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress(const char *what, int done, int total, double t0) {
  double el = cli_now_s() - t0, rate = done / (el > 0 ? el : 1e-9);
  fprintf(stderr, "\r%s %d/%d  %.2f images/s  ETA %.0f s   ", what, done, total, rate,
          rate > 0 ? (total - done) / rate : 0.0);
  if (done == total) fputc('\n', stderr);
}

char *cli_stem(const char *name) {
  char *s = g_strdup(name), *dot = strrchr(s, '.');
  if (dot && dot != s) *dot = 0;
  return s;
}

/* sr_dataset_subset, or the error and exit 1 (out of memory). */
static void cli_subset_or_exit(const sr_dataset *ds, const int *idx, int n, sr_dataset *out) {
  sr_error err = {0};
  if (sr_dataset_subset(ds, idx, n, out, &err) != SR_OK) cli_fail(&err), exit(1);
}

void cli_filter_names(const sr_dataset *ds, const char *only, const char *exclude, int stride, sr_dataset *out) {
  gchar **inc = only ? g_strsplit(only, ",", -1) : NULL, **exc = exclude ? g_strsplit(exclude, ",", -1) : NULL;
  int *idx = g_new(int, ds->n > 0 ? ds->n : 1), n = 0, seen = 0;
  for (int i = 0; i < ds->n; i++) {
    gboolean keep = !inc;
    for (int j = 0; inc && inc[j]; j++) keep |= g_str_has_prefix(ds->names[i], inc[j]);
    for (int j = 0; exc && exc[j]; j++) keep &= !g_str_has_prefix(ds->names[i], exc[j]);
    if (keep && seen++ % stride == 0) idx[n++] = i;
  }
  cli_subset_or_exit(ds, idx, n, out);
  g_free(idx);
  g_strfreev(inc);
  g_strfreev(exc);
}

void cli_fold_subset(const sr_dataset *ds, int folds, int fold, gboolean held_out, sr_dataset *out) {
  int *plan = g_new(int, ds->n > 0 ? ds->n : 1), *idx = g_new(int, ds->n > 0 ? ds->n : 1), n = 0;
  sr_error err = {0};
  if (sr_fold_plan(ds, folds, plan, &err) != SR_OK) cli_fail(&err), exit(1);
  for (int i = 0; i < ds->n; i++)
    if ((plan[i] == fold) == held_out) idx[n++] = i;
  cli_subset_or_exit(ds, idx, n, out);
  g_free(plan), g_free(idx);
}

/* The JSON object of @text, or NULL (unref the parser). */
static JsonObject *parse_object(const char *text, JsonParser **p) {
  *p = json_parser_new();
  return text && sr_json_parse(*p, text, -1, "unary model", "provenance", NULL) == SR_OK ? sr_json_root_obj(*p) : NULL;
}

gboolean cli_unary_holds_out_fold(const sr_unary_model *m, int fold, int folds) {
  JsonParser *p;
  JsonObject *o = parse_object(sr_unary_model_provenance(m), &p);
  char want[64];
  snprintf(want, sizeof want, "fold %d of %d", fold, folds);
  gboolean ok = o && !strcmp(sr_json_get_str(o, "holdout_fold", ""), want);
  g_object_unref(p);
  return ok;
}

static void usage(FILE *f) {
  fprintf(f, "segrank %s: SegNet + proposal re-ranking (Cogswell et al. 2014)\n\nUsage: segrank COMMAND [OPTION…]\n\n",
          SR_VERSION);
  for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n`segrank COMMAND --help` describes each command's options.\n");
}

int main(int argc, char **argv) {
  setlocale(LC_ALL, ""); /* GLib converts help text (×, …) to the locale's charset */
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("segrank %s\n", SR_VERSION);
    return 0;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
    if (!strcmp(argv[1], commands[i].name)) {
      char *prgname = g_strconcat("segrank ", commands[i].name, NULL);
      g_set_prgname(prgname); /* help's "Usage: segrank COMMAND [OPTION…]" */
      g_free(prgname);
      int rc = commands[i].run(argc - 1, argv + 1);
      cli_free_parsed();
      return rc;
    }
  fprintf(stderr, "segrank: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
