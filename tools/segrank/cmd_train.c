/* cmd_train.c: `segrank train` and `segrank eval`. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "io/atomic_file.h"
#include "io/json_fields.h"

static sr_status open_dataset(const char *spec, const char *split, int classes, gboolean skip_bad, sr_dataset *ds) {
  sr_error err = {0};
  fprintf(stderr, "reading %s (%s)…\n", spec, split);
  sr_status st = sr_dataset_open(spec, split, classes, skip_bad, ds, &err);
  if (st != SR_OK) cli_fail(&err);
  else if (ds->skipped) fprintf(stderr, "%d bad samples skipped\n", ds->skipped);
  return st;
}

static void set_dropout(sr_model *m, double dropout) {
  for (int i = 0; dropout >= 0 && i < m->n_layers; i++)
    if (m->layers[i].type == SR_LAYER_DROPOUT) m->layers[i].dropout = (float)dropout;
}

/* --folds: every fold (or --fold F), each from its own start when --init
 * names one per fold. */
static int train_folds(sr_model *proto, const char *init, sr_backend *b, const sr_dataset *train, int folds,
                       int only_fold, double dropout, const sr_train_config *cfg) {
  sr_error err = {0};
  bool complete = true;
  for (int f = only_fold >= 0 ? only_fold : 0; f < folds && complete; f++) {
    sr_model *m = proto;
    if (!proto) {
      GString *p = g_string_new(init);
      char num[16];
      snprintf(num, sizeof num, "%d", f);
      g_string_replace(p, "{fold}", num, 0);
      sr_status st = sr_model_load(p->str, &m, &err);
      g_string_free(p, TRUE);
      if (st != SR_OK) return cli_fail(&err);
      set_dropout(m, dropout);
    }
    sr_status st = sr_train_folds(m, b, train, folds, f, cfg, &complete, &err);
    if (m != proto) sr_model_free(m);
    if (st != SR_OK) return cli_fail(&err);
    if (only_fold >= 0) break;
  }
  char *first = sr_fold_model_path(cfg->out, 0), *oof = sr_fold_oof_dir(cfg->out);
  if (complete) printf("wrote %s.. (%d folds) and out-of-fold predictions in %s/\n", first, folds, oof);
  else printf("stopped early; continue with --resume\n");
  g_free(first), g_free(oof);
  return 0;
}

int cmd_train(int argc, char **argv) {
  char *dataset = NULL, *split = "train", *val_split = "val", *loss_name = "ce", *out = NULL, *init = NULL;
  char *crop = "256x256", *eval_size = NULL, *backend = "cpu", *upsample = "bilinear";
  int folds = 0, only_fold = -1;
  double dropout = -1, clip = 0;
  int classes = 0, epochs = 60, batch = 8, warmup = 100, freeze = 0, ckpt_every = 50, eval_every = 4, threads = 0;
  double lr = 0.01, momentum = 0.9, wd = 5e-4, smin = 0.8, smax = 1.2, jitter = 0.1;
  double w_uoi = NAN, w_ce = NAN; /* NAN: sr_loss_from_name's (the paper's 0.7, 0.3) */
  gint64 seed = 1, stop_after = 0;
  gboolean cache = FALSE;
  gboolean resume = FALSE, no_flip = FALSE, fp16 = FALSE, skip_bad = FALSE, no_val = FALSE;
  GOptionEntry entries[] = {
      {"dataset", 'd', 0, G_OPTION_ARG_STRING, &dataset, CLI_DATASETS, "SPEC"},
      {"split", 0, 0, G_OPTION_ARG_STRING, &split, "Training split (default train)", "S"},
      {"val-split", 0, 0, G_OPTION_ARG_STRING, &val_split, "Validation split (default val)", "S"},
      {"no-val", 0, 0, G_OPTION_ARG_NONE, &no_val, "Do not validate", NULL},
      {"classes", 0, 0, G_OPTION_ARG_INT, &classes, "Classes of a folder: dataset", "N"},
      {"skip-bad", 0, 0, G_OPTION_ARG_NONE, &skip_bad, "Skip malformed samples with a warning", NULL},
      {"loss", 'l', 0, G_OPTION_ARG_STRING, &loss_name, "ce, iou, uoi or uoi+ce (default ce)", "L"},
      {"uoi-weight", 0, 0, G_OPTION_ARG_DOUBLE, &w_uoi, "uoi+ce: weight of UOI (default 0.7)", "W"},
      {"ce-weight", 0, 0, G_OPTION_ARG_DOUBLE, &w_ce, "uoi+ce: weight of CE (default 0.3)", "W"},
      {"epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Epochs (default 60)", "N"},
      {"batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Minibatch size (default 8)", "N"},
      {"lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Peak learning rate (default 0.01)", "LR"},
      {"momentum", 0, 0, G_OPTION_ARG_DOUBLE, &momentum, "SGD momentum (default 0.9)", "M"},
      {"weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &wd, "Weight decay on weights (default 5e-4)", "WD"},
      {"warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Warm-up iterations before cosine decay (default 100)", "N"},
      {"crop", 0, 0, G_OPTION_ARG_STRING, &crop, "Training crop WxH (default 256x256)", "WxH"},
      {"scale-min", 0, 0, G_OPTION_ARG_DOUBLE, &smin, "Smallest random scale (default 0.8)", "S"},
      {"scale-max", 0, 0, G_OPTION_ARG_DOUBLE, &smax, "Largest random scale (default 1.2)", "S"},
      {"jitter", 0, 0, G_OPTION_ARG_DOUBLE, &jitter, "Brightness/contrast jitter (default 0.1)", "J"},
      {"no-flip", 0, 0, G_OPTION_ARG_NONE, &no_flip, "No random horizontal flips", NULL},
      {"clip", 0, 0, G_OPTION_ARG_DOUBLE, &clip, "Clip the gradient's global L2 norm to this (0: off)", "N"},
      {"dropout", 0, 0, G_OPTION_ARG_DOUBLE, &dropout, "Override the model's dropout probability (0: none)", "P"},
      {"freeze", 0, 0, G_OPTION_ARG_INT, &freeze, "Leading convolutions kept fixed (5: paper mode)", "N"},
      {"cache-features", 0, 0, G_OPTION_ARG_NONE, &cache,
       "With --freeze: run the frozen layers once per image and train the rest on their cached output (with "
       "flips, the mirrored image's output is cached too: twice the cache in OUT.features)", NULL},
      {"init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Start from this model (default: random SegNet)", "M"},
      {"resume", 0, 0, G_OPTION_ARG_NONE, &resume,
       "Continue from OUT.ckpt (with the settings it was made with; others are refused)", NULL},
      {"stop-after", 0, 0, G_OPTION_ARG_INT64, &stop_after, "Stop after N iterations in all (resume later)", "N"},
      {"checkpoint-every", 0, 0, G_OPTION_ARG_INT, &ckpt_every, "Iterations between checkpoints (default 50)", "N"},
      {"eval-every", 0, 0, G_OPTION_ARG_INT, &eval_every, "Epochs between validations (default 4)", "N"},
      {"eval-size", 0, 0, G_OPTION_ARG_STRING, &eval_size, "Validation input WxH (default: the images' size)", "WxH"},
      {"eval-upsample", 0, 0, G_OPTION_ARG_STRING, &upsample, "naive, bilinear or superpixel (default bilinear)", "U"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed for init, shuffles, augmentation, dropout", "S"},
      {"backend", 0, 0, G_OPTION_ARG_STRING, &backend, "Compute backend: " CLI_BACKENDS " (default cpu)", "B"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (0 = all cores)", "N"},
      {"fp16", 0, 0, G_OPTION_ARG_NONE, &fp16, "Store the final model in fp16", NULL},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output model (also OUT.ckpt, OUT.png, OUT.metrics.jsonl)", "OUT"},
      {"folds", 0, 0, G_OPTION_ARG_INT, &folds,
       "Train K models, each on all but one fold (contiguous blocks in name order), as OUT.fold<f>.srmodel; "
       "write each image's out-of-fold prediction to OUT.oof/ (OUT without .srmodel)", "K"},
      {"fold", 0, 0, G_OPTION_ARG_INT, &only_fold, "With --folds: train only fold F (0..K-1); --init may name "
       "each fold's start with {fold} (e.g. ce.fold{fold}.srmodel)", "F"},
      {0}};
  GString *command = g_string_new("segrank");
  for (int i = 0; i < argc; i++) g_string_append_printf(command, " %s", argv[i]);
  if (!cli_parse(&argc, &argv, "",
                 "Trains SegNet with the paper's losses: minibatch SGD with momentum, linear warm-up\n"
                 "then cosine decay, random scale/crop/flip/jitter, dropout before conv6-8.\n"
                 "Checkpoints (OUT.ckpt) are atomic; --resume continues exactly.",
                 entries))
    return 2;
  sr_loss loss;
  int cw, ch;
  sr_upsample up;
  if (!dataset || !out || sr_loss_from_name(loss_name, &loss) || !cli_parse_size(crop, &cw, &ch) ||
      sr_upsample_from_name(upsample, &up)) {
    fprintf(stderr, "segrank train: needs --dataset, -o, and valid --loss, --crop and --eval-upsample\n");
    return 2;
  }
  if (!isnan(w_uoi)) loss.w_uoi = w_uoi;
  if (!isnan(w_ce)) loss.w_ce = w_ce;
  if (freeze > 0 && !init) {
    fprintf(stderr, "segrank train: --freeze %d without --init would keep a random trunk fixed; "
                    "give --init MODEL (e.g. an imported CaffeNet)\n", freeze);
    return 2;
  }
  sr_error err0 = {0};
  if (sr_backend_check(backend, &err0) != SR_OK) return cli_fail(&err0), 2;
  sr_dataset train = {0}, val = {0};
  if (open_dataset(dataset, split, classes, skip_bad, &train) != SR_OK) return 1;
  if (!no_val && open_dataset(dataset, val_split, classes, skip_bad, &val) != SR_OK) return 1;
  sr_error err = {0};
  sr_model *m = NULL;
  bool per_fold_init = init && strstr(init, "{fold}");
  if (per_fold_init && folds < 2) {
    fprintf(stderr, "segrank train: --init with {fold} needs --folds\n");
    return 2;
  }
  if (per_fold_init) {
    /* loaded per fold below */
  } else if (init) {
    if (sr_model_load(init, &m, &err) != SR_OK) return cli_fail(&err);
  } else {
    const sr_class *cls = NULL;
    int n = g_str_has_prefix(dataset, "camvid:") ? sr_dataset_classes("camvid", &cls) : train.n_classes;
    if (sr_model_new_segnet(n, cls, (uint64_t)seed, &m, &err) != SR_OK) return cli_fail(&err);
  }
  if (m) set_dropout(m, dropout);
  int ew = train.images[0].width, eh = train.images[0].height;
  if (eval_size && !cli_parse_size(eval_size, &ew, &eh)) {
    fprintf(stderr, "segrank train: bad --eval-size\n");
    return 2;
  }
  sr_backend *b;
  if (sr_backend_new(backend, threads, &b, &err) != SR_OK) return cli_fail(&err);
  sr_train_config cfg = {
      .out = out, .loss = loss, .batch = batch, .epochs = epochs, .lr = lr, .momentum = momentum,
      .weight_decay = wd, .warmup = warmup, .clip = clip,
      .aug = {cw, ch, (float)smin, (float)smax, !no_flip, (float)jitter},
      .seed = (uint64_t)seed, .freeze = freeze, .cache_features = cache, .checkpoint_every = ckpt_every, .eval_every = eval_every,
      .eval_w = ew, .eval_h = eh, .eval_upsample = up, .resume = resume, .stop_after = stop_after, .fp16 = fp16, .command = command->str};
  int rc;
  if (folds >= 2) {
    rc = train_folds(m, init, b, &train, folds, only_fold, dropout, &cfg);
  } else if (only_fold >= 0) {
    fprintf(stderr, "segrank train: --fold needs --folds\n");
    rc = 2;
  } else {
    rc = sr_train(m, b, &train, no_val ? NULL : &val, &cfg, &err) == SR_OK ? 0 : cli_fail(&err);
    if (!rc) printf("wrote %s\n", out);
  }
  g_string_free(command, TRUE);
  sr_backend_free(b);
  sr_model_free(m);
  sr_dataset_clear(&train);
  sr_dataset_clear(&val);
  return rc;
}

/* Count, rate and ETA: in place on a terminal, every 20 images otherwise. */
static void eval_progress(int done, int total, void *data) {
  const gboolean tty = isatty(2);
  if (!tty && done != total && done % 20) return;
  cli_progress("  evaluated", done, total, *(const double *)data);
  if (!tty && done != total) fputc('\n', stderr);
}

/* "miou", "pixel_accuracy" and "per_class" (class name → IoU %, null when
 * the class never occurs) of one method, as members of @b's open object. */
static void add_scores(JsonBuilder *b, const sr_model *m, double miou, double acc, const double *per) {
  json_builder_set_member_name(b, "miou");
  json_builder_add_double_value(b, miou);
  json_builder_set_member_name(b, "pixel_accuracy");
  json_builder_add_double_value(b, acc);
  json_builder_set_member_name(b, "per_class");
  json_builder_begin_object(b);
  for (int k = 0; k < m->n_classes; k++) {
    json_builder_set_member_name(b, m->classes[k].name);
    if (isnan(per[k])) json_builder_add_null_value(b);
    else json_builder_add_double_value(b, per[k]);
  }
  json_builder_end_object(b);
}

int cmd_eval(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--proposals") || g_str_has_prefix(argv[i], "--proposals=") || !strcmp(argv[i], "-p"))
      return cmd_eval_proposals(argc, argv);
  char *model = NULL, *dataset = NULL, *split = "val", *upsample = "all", *json = NULL, *backend = "cpu", *size = NULL;
  int threads = 0, classes = 0;
  GOptionEntry entries[] = {
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model (default: the shipped model)", "M"},
      {"dataset", 'd', 0, G_OPTION_ARG_STRING, &dataset, CLI_DATASETS, "SPEC"},
      {"split", 0, 0, G_OPTION_ARG_STRING, &split, "Split (default val)", "S"},
      {"classes", 0, 0, G_OPTION_ARG_INT, &classes, "Classes of a folder: dataset", "N"},
      {"upsample", 'u', 0, G_OPTION_ARG_STRING, &upsample, "naive, bilinear, superpixel or all (default all)", "U"},
      {"input-size", 's', 0, G_OPTION_ARG_STRING, &size, "Net input WxH (default: the model's)", "S"},
      {"backend", 'b', 0, G_OPTION_ARG_STRING, &backend, "Compute backend: " CLI_BACKENDS " (default cpu)", "B"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (0 = all cores)", "N"},
      {"json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Also write the results as JSON", "FILE"},
      {0}};
  if (!cli_parse(&argc, &argv, "",
                 "PASCAL VOC protocol: one confusion matrix over the split, void ignored,\n"
                 "IoU = TP/(TP+FP+FN) per class, mean over classes. Upsampling: naive (eq. 16,\n"
                 "each pixel takes its coarse cell's argmax), superpixel (SLIC superpixels average\n"
                 "their cells' distributions, Section 4) and bilinear (probabilities interpolated,\n"
                 "then argmax).",
                 entries))
    return 2;
  if (!dataset) {
    fprintf(stderr, "segrank eval: needs --dataset\n");
    return 2;
  }
  sr_upsample only;
  if (strcmp(upsample, "all") && sr_upsample_from_name(upsample, &only)) {
    fprintf(stderr, "segrank eval: unknown --upsample '%s' (naive, bilinear, superpixel or all)\n", upsample);
    return 2;
  }
  sr_model *m;
  sr_backend *b;
  sr_net *net;
  if (!cli_open_net(model, backend, threads, &m, &b, &net)) return 1;
  int w = m->input_w, h = m->input_h;
  if (size && !cli_parse_size(size, &w, &h)) return 2;
  sr_dataset ds;
  if (open_dataset(dataset, split, classes ? classes : m->n_classes, FALSE, &ds) != SR_OK) return 1;
  if (ds.n_classes != m->n_classes) {
    fprintf(stderr, "segrank eval: dataset has %d classes, model %d\n", ds.n_classes, m->n_classes);
    return 1;
  }
  /* One object per method, then the first method's scores again at the top
   * level with its name as "upsample". */
  JsonBuilder *jb = json_builder_new();
  json_builder_begin_object(jb);
  int rc = 0, n_done = 0;
  double first_miou = NAN, first_acc = NAN, *first_per = g_new(double, m->n_classes);
  sr_upsample first_up = SR_UPSAMPLE_NAIVE;
  /* The net runs once per image; every upsampling asked for is scored from
   * that one output. */
  sr_upsample ups[SR_UPSAMPLE_COUNT];
  sr_confusion confs[SR_UPSAMPLE_COUNT];
  int n_up = 0;
  for (int u = 0; u < SR_UPSAMPLE_COUNT; u++)
    if (!strcmp(upsample, "all") || !strcmp(upsample, sr_upsample_name((sr_upsample)u))) ups[n_up++] = (sr_upsample)u;
  sr_error err = {0};
  int n_conf = 0;
  while (n_conf < n_up && sr_confusion_init(&confs[n_conf], m->n_classes) == SR_OK) n_conf++;
  GString *names = g_string_new("");
  for (int u = 0; u < n_up; u++) g_string_append_printf(names, "%s%s", u ? ", " : "", sr_upsample_name(ups[u]));
  fprintf(stderr, "evaluating %s on %s/%s at %dx%d, %s upsampling\n", model ? model : sr_default_model_path(),
          dataset, split, w, h, names->str);
  g_string_free(names, TRUE);
  double t0 = cli_now_s();
  if (n_conf < n_up) {
    sr_error_set(&err, SR_ERR_NOMEM, "out of memory for the confusion matrices");
    rc = cli_fail(&err);
  } else if (sr_evaluate_multi(net, m, &ds, w, h, ups, n_up, confs, eval_progress, &t0, &err) != SR_OK) {
    rc = cli_fail(&err);
  }
  if (!rc) fprintf(stderr, "  %d images in %.1f s, one forward pass each\n", ds.n, cli_now_s() - t0);
  for (int u = 0; u < n_up && !rc; u++) {
    sr_upsample up = ups[u];
    double *per = g_new(double, m->n_classes);
    double miou = sr_confusion_miou(&confs[u], per), acc = sr_confusion_pixel_accuracy(&confs[u]);
    printf("upsampling: %s\n%-12s %7s\n", sr_upsample_name(up), "class", "IoU %");
    for (int k = 0; k < m->n_classes; k++) printf("%-12s %7.2f\n", m->classes[k].name, per[k]);
    printf("pixel accuracy: %.2f\nmIoU: %.2f\n\n", acc, miou);
    json_builder_set_member_name(jb, sr_upsample_name(up));
    json_builder_begin_object(jb);
    add_scores(jb, m, miou, acc, per);
    json_builder_end_object(jb);
    if (n_done++ == 0) {
      first_miou = miou, first_acc = acc, first_up = up;
      memcpy(first_per, per, sizeof(double) * m->n_classes);
    }
    g_free(per);
  }
  for (int u = 0; u < n_conf; u++) sr_confusion_clear(&confs[u]);
  json_builder_set_member_name(jb, "images");
  json_builder_add_int_value(jb, ds.n);
  json_builder_set_member_name(jb, "input");
  json_builder_begin_array(jb);
  json_builder_add_int_value(jb, w);
  json_builder_add_int_value(jb, h);
  json_builder_end_array(jb);
  if (n_done) {
    add_scores(jb, m, first_miou, first_acc, first_per);
    json_builder_set_member_name(jb, "upsample");
    json_builder_add_string_value(jb, sr_upsample_name(first_up));
  }
  json_builder_end_object(jb);
  char *text = sr_json_builder_finish(jb, TRUE);
  if (!rc && json) {
    sr_error err = {0};
    if (sr_atomic_write(json, text, strlen(text), &err) != SR_OK) rc = cli_fail(&err);
  }
  g_free(text);
  g_free(first_per);
  sr_dataset_clear(&ds);
  sr_net_free(net);
  sr_backend_free(b);
  sr_model_free(m);
  return rc;
}
