/* cmd_unary.c: `segrank train-unary`: trains the proposal source's
 * superpixel unary classifier (.srunary) on a labelled split, optionally
 * holding out one sequence (leave-one-sequence-out validation) and
 * evaluating the unary-argmax labelling on a split afterwards. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "io/json_fields.h"
#include "sr_config.h"

typedef struct {
  double start, last_print;
  char stage[32];
  double stage_start;
} train_progress;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Stage, count, rate and ETA on stderr: at each stage's start and end and
 * at most every 5 seconds between. */
static void on_progress(const char *stage, int done, int total, void *data) {
  train_progress *tp = data;
  double t = now_s();
  if (strcmp(stage, tp->stage)) {
    snprintf(tp->stage, sizeof tp->stage, "%s", stage);
    tp->stage_start = t;
    tp->last_print = 0;
  }
  if (done != total && done != 0 && t - tp->last_print < 5) return;
  tp->last_print = t;
  double el = t - tp->stage_start, rate = el > 0 ? done / el : 0;
  fprintf(stderr, "  [%6.0f s] %s: %d/%d", t - tp->start, stage, done, total);
  if (done > 0 && done < total && rate > 0)
    fprintf(stderr, " (%.2f/s, ETA %.0f s)", rate, (total - done) / rate);
  else if (done == total && done > 0)
    fprintf(stderr, " (%.1f s)", el);
  fputc('\n', stderr);
}

static void eval_progress(int done, int total, void *data) {
  train_progress *tp = data;
  on_progress("evaluation", done, total, tp);
}

/* Unary-argmax evaluation of @m on @ds: prints per-class IoU, mIoU and times. */
static int report_eval(const sr_unary_model *m, const sr_dataset *ds, const char *what, int threads,
                       train_progress *tp) {
  sr_confusion conf;
  cli_confusion_init(&conf, sr_unary_model_n_classes(m));
  sr_unary_times t;
  sr_error err = {0};
  tp->stage[0] = 0;
  if (sr_unary_evaluate(m, ds, threads, &conf, &t, eval_progress, tp, &err) != SR_OK) {
    sr_confusion_clear(&conf);
    return cli_fail(&err);
  }
  int k = sr_unary_model_n_classes(m);
  double per[256];
  double miou = sr_confusion_miou(&conf, per), acc = sr_confusion_pixel_accuracy(&conf);
  printf("unary argmax on %s (%d images):\n%-12s %7s\n", what, ds->n, "class", "IoU %");
  for (int c = 0; c < k; c++) printf("%-12s %7.2f\n", sr_unary_model_classes(m)[c].name, per[c]);
  printf("pixel accuracy: %.2f\nmIoU: %.2f\n", acc, miou);
  printf("per frame (%d threads): SLIC %.1f ms, features %.1f ms, classification %.2f ms, %.0f superpixels\n\n",
         threads, t.slic_ms / ds->n, t.features_ms / ds->n, t.classify_ms / ds->n, (double)t.superpixels / ds->n);
  sr_confusion_clear(&conf);
  return 0;
}

static char *provenance_json(const char *command, const char *dataset, const char *split, const char *holdout,
                             int n_images) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "command");
  json_builder_add_string_value(b, command);
  json_builder_set_member_name(b, "dataset");
  json_builder_add_string_value(b, dataset);
  json_builder_set_member_name(b, "split");
  json_builder_add_string_value(b, split);
  if (holdout) {
    json_builder_set_member_name(b, g_str_has_prefix(holdout, "fold ") ? "holdout_fold" : "holdout_sequence");
    json_builder_add_string_value(b, holdout);
  }
  json_builder_set_member_name(b, "images");
  json_builder_add_int_value(b, n_images);
  GDateTime *now = g_date_time_new_now_utc();
  gchar *date = g_date_time_format_iso8601(now);
  json_builder_set_member_name(b, "date");
  json_builder_add_string_value(b, date);
  g_free(date);
  g_date_time_unref(now);
  json_builder_set_member_name(b, "segrank_version");
  json_builder_add_string_value(b, SR_VERSION);
  json_builder_end_object(b);
  char *text = sr_json_builder_finish(b, FALSE);
  return text;
}

int cmd_train_unary(int argc, char **argv) {
  sr_unary_train_params p;
  sr_unary_train_params_default(&p);
  char *dataset = NULL, *split = "train", *out = NULL, *holdout = NULL, *eval_split = NULL;
  int textons = p.n_textons, samples = p.texton_samples, stride = p.frame_stride, n_sp = p.slic.n_superpixels;
  int threads = 0, iterations = p.slic.iterations, folds = 0, fold = -1;
  double exponent = p.class_weight_exponent, C = p.C, compactness = p.slic.compactness;
  gint64 seed = (gint64)p.seed;
  GOptionEntry entries[] = {
      {"dataset", 'd', 0, G_OPTION_ARG_STRING, &dataset, CLI_DATASETS, "SPEC"},
      {"split", 0, 0, G_OPTION_ARG_STRING, &split, "Training split (default train)", "S"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output model (.srunary), written atomically", "FILE"},
      {"textons", 0, 0, G_OPTION_ARG_INT, &textons, "Texton dictionary size (default 64)", "K"},
      {"texton-samples", 0, 0, G_OPTION_ARG_INT, &samples, "Filter responses sampled for k-means (default 400000)", "N"},
      {"frame-stride", 0, 0, G_OPTION_ARG_INT, &stride, "Train on every k-th image (default 1)", "K"},
      {"class-weight-exponent", 0, 0, G_OPTION_ARG_DOUBLE, &exponent,
       "Sample weight = non-void pixels × class frequency^-E (default 0.5)", "E"},
      {"C", 'C', 0, G_OPTION_ARG_DOUBLE, &C, "liblinear regularisation C (default 0.1)", "C"},
      {"n-superpixels", 0, 0, G_OPTION_ARG_INT, &n_sp, "SLIC superpixels requested (default 1000)", "N"},
      {"compactness", 0, 0, G_OPTION_ARG_DOUBLE, &compactness, "SLIC compactness (default 10)", "M"},
      {"slic-iterations", 0, 0, G_OPTION_ARG_INT, &iterations, "SLIC k-means passes (default 10)", "N"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (0 = all cores)", "N"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed for texton sampling, k-means and resampling (default 1)", "S"},
      {"holdout-sequence", 0, 0, G_OPTION_ARG_STRING, &holdout,
       "Leave out training images whose name starts with PREFIX and report the unary mIoU on them", "PREFIX"},
      {"eval-split", 0, 0, G_OPTION_ARG_STRING, &eval_split, "After training, report the unary mIoU on this split", "S"},
      {"folds", 0, 0, G_OPTION_ARG_INT, &folds, "With --fold: the folds of `segrank train --folds K`", "K"},
      {"fold", 0, 0, G_OPTION_ARG_INT, &fold, "Leave out fold F (0..K-1) and report the unary mIoU on it", "F"},
      {0}};
  GString *command = g_string_new("segrank");
  for (int i = 0; i < argc; i++) g_string_append_printf(command, " %s", argv[i]);
  if (!cli_parse(&argc, &argv, "",
                 "Trains the proposal source's unary classifier: per-superpixel Lab, texton,\n"
                 "gradient-orientation and position histograms with neighbour context and shape\n"
                 "scalars, an additive-chi2 feature map, and liblinear L2 logistic regression\n"
                 "(one-vs-rest, softmax of the decision values) with class-balanced sample weights.",
                 entries)) {
    g_string_free(command, TRUE);
    return 2;
  }
  if (!dataset || !out || (folds || fold >= 0) != (folds >= 2 && fold >= 0 && fold < folds) ||
      (holdout && folds)) {
    fprintf(stderr, "segrank train-unary: needs --dataset and -o (and --folds K with --fold 0..K-1, not with "
                    "--holdout-sequence)\n");
    g_string_free(command, TRUE);
    return 2;
  }
  char *kind = g_strndup(dataset, strcspn(dataset, ":"));
  p.dataset = kind;
  p.n_textons = textons, p.texton_samples = samples, p.frame_stride = stride;
  p.class_weight_exponent = exponent, p.C = C;
  p.slic.n_superpixels = n_sp, p.slic.compactness = (float)compactness, p.slic.iterations = iterations;
  p.threads = threads, p.seed = (uint64_t)seed;
  int rc = 0;
  sr_error err = {0};
  sr_dataset all = {0}, train = {0}, held = {0};
  fprintf(stderr, "reading %s (%s)…\n", dataset, split);
  if (sr_dataset_open(dataset, split, 0, FALSE, &all, &err) != SR_OK) {
    rc = cli_fail(&err);
    goto done;
  }
  char fold_name[64] = "";
  if (folds) {
    snprintf(fold_name, sizeof fold_name, "fold %d of %d", fold, folds);
    cli_fold_subset(&all, folds, fold, FALSE, &train);
    cli_fold_subset(&all, folds, fold, TRUE, &held);
    holdout = fold_name;
  } else if (holdout) {
    cli_filter_names(&all, NULL, holdout, 1, &train);
    cli_filter_names(&all, holdout, NULL, 1, &held);
  } else {
    cli_filter_names(&all, NULL, NULL, 1, &train);
  }
  int nk = train.n, no = held.n;
  if (holdout && (no == 0 || nk == 0)) {
    fprintf(stderr, "segrank train-unary: holding out %s leaves %d training and %d held-out images\n", holdout,
            nk, no);
    rc = 1;
    goto done;
  }
  char *prov = provenance_json(command->str, dataset, split, holdout, train.n);
  p.provenance = prov;
  int used = (train.n + stride - 1) / (stride > 0 ? stride : 1);
  fprintf(stderr, "training on %d of %d images (every %d%s), %d textons, C %g, class weight exponent %g\n", used,
          train.n, stride, holdout ? ", held-out images excluded" : "", textons, C, exponent);
  train_progress tp = {.start = now_s()};
  sr_unary_model *m = NULL;
  sr_status st = sr_unary_train(&train, &p, &m, on_progress, &tp, &err);
  g_free(prov);
  if (st != SR_OK) {
    rc = cli_fail(&err);
    goto done;
  }
  double train_s = now_s() - tp.start;
  if (sr_unary_model_save(m, out, &err) != SR_OK) {
    rc = cli_fail(&err);
    sr_unary_model_free(m);
    goto done;
  }
  printf("wrote %s (%d features, %d classes) after %.0f s of training\n", out, sr_unary_model_feature_dim(m),
         sr_unary_model_n_classes(m), train_s);
  int eval_threads = threads > 0 ? threads : 0;
  if (holdout) {
    char what[160];
    snprintf(what, sizeof what, "held-out %s%s of %s", folds ? "" : "sequence ", holdout, split);
    rc = report_eval(m, &held, what, eval_threads, &tp);
  }
  if (!rc && eval_split) {
    sr_dataset ev = {0};
    fprintf(stderr, "reading %s (%s)…\n", dataset, eval_split);
    if (sr_dataset_open(dataset, eval_split, 0, FALSE, &ev, &err) != SR_OK) {
      rc = cli_fail(&err);
    } else {
      rc = report_eval(m, &ev, eval_split, eval_threads, &tp);
      sr_dataset_clear(&ev);
    }
  }
  sr_unary_model_free(m);
done:
  sr_dataset_clear(&train);
  sr_dataset_clear(&held);
  sr_dataset_clear(&all);
  g_free(kind);
  g_string_free(command, TRUE);
  return rc;
}
