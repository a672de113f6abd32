/* cmd_ranker.c: `segrank train-ranker` — trains the ranking SVM the paper's
 * way: on the training split's proposals scored with out-of-fold net
 * outputs (`segrank train --folds`) and out-of-fold image-classifier
 * values, C chosen by leave-one-sequence-out cross-validation, and the
 * deployment image classifier (on the shipped net's descriptors of the
 * whole split) stored in the ranker file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ranker_study.h"
#include "rerank/image_classifier.h"
#include "rerank/ranker.h"
#include "sr_config.h"

/* Ground-truth coverage of every image (n × k). */
static double *gt_coverage(const sr_dataset *ds, int k) {
  double *cov = malloc(sizeof(double) * ds->n * k);
  for (int i = 0; i < ds->n; i++)
    sr_label_coverage(ds->labels[i].data, (size_t)ds->labels[i].width * ds->labels[i].height, k, cov + (size_t)i * k);
  return cov;
}

/* Classifier values for ranker training: image i scored by the classifier
 * of its fold, trained on the other folds' images, all under fold i's net
 * (the descriptors of one net only make sense to a classifier of that net). */
static sr_status oof_classifier(const ranker_inputs *in, const double *cov, const sr_image_classifier_params *cp,
                                float *scores, float *thr, sr_error *err) {
  const int n = in->n, k = in->k, D = in->dims, no = SR_IMAGE_CLASSIFIER_OUTPUTS(k), nt = SR_RERANK_COVER_LEVELS * k;
  float *x = malloc(sizeof(float) * n * D);
  double *y = malloc(sizeof(double) * n * k);
  sr_status st = SR_OK;
  for (int f = 0; f < in->folds && st == SR_OK; f++) {
    int nt_img = 0;
    for (int i = 0; i < n; i++) {
      if (in->fold[i] == f) continue;
      memcpy(x + (size_t)nt_img * D, in->fold_desc + ((size_t)f * n + i) * D, sizeof(float) * D);
      memcpy(y + (size_t)nt_img * k, cov + (size_t)i * k, sizeof(double) * k);
      nt_img++;
    }
    sr_image_classifier *c = NULL;
    st = sr_image_classifier_train(x, nt_img, D, y, k, cp, &c, err);
    for (int i = 0; i < n && st == SR_OK; i++) {
      if (in->fold[i] != f) continue;
      st = sr_image_classifier_predict(c, in->fold_desc + ((size_t)f * n + i) * D, D, scores + (size_t)i * no, err);
      memcpy(thr + (size_t)i * nt, sr_image_classifier_thresholds(c), sizeof(float) * nt);
    }
    sr_image_classifier_free(c);
  }
  free(x), free(y);
  return st;
}

/* Trains a ranker of @groups with @C on the images with @use[i]. */
static sr_status fit(const ranker_study *s, unsigned groups, const sr_class *classes, const sr_image_classifier *cls,
                     const sr_ranker_train_params *base, double C, const bool *use, sr_ranker **out, sr_error *err) {
  const int nc = sr_rerank_feature_dim(groups, s->k);
  int *cols = malloc(sizeof(int) * nc), ne = 0;
  ranker_study_columns(s, groups, cols);
  sr_ranker_example *ex = calloc(s->n, sizeof *ex);
  double *rows = malloc(sizeof(double) * s->n * s->m * nc);
  for (int i = 0; i < s->n; i++) {
    if ((use && !use[i]) || s->count[i] < 2) continue;
    double *r = rows + (size_t)i * s->m * nc;
    ranker_study_rows(s, i, cols, nc, r);
    ex[ne++] = (sr_ranker_example){s->count[i], r, s->iou + (size_t)i * s->m};
  }
  sr_ranker_train_params tp = *base;
  tp.C = C;
  sr_status st = sr_ranker_new(groups, classes, s->k, NULL, (groups & SR_RERANK_CLS) ? cls : NULL, out, err);
  if (st == SR_OK) st = sr_ranker_train(*out, ex, ne, &tp, err);
  if (st != SR_OK) sr_ranker_free(*out), *out = NULL;
  free(cols), free(ex), free(rows);
  return st;
}

static char *output_path(const char *out, unsigned groups, int n_sets) {
  if (n_sets == 1) return g_strdup(out);
  char buf[32], *stem = g_str_has_suffix(out, ".srranker") ? g_strndup(out, strlen(out) - 9) : g_strdup(out);
  if (groups == SR_RERANK_ALL) g_strlcpy(buf, "all", sizeof buf);
  else sr_rerank_groups_format(groups, buf, sizeof buf);
  for (char *c = buf; *c; c++)
    if (*c == ',') *c = '+';
  char *p = g_strdup_printf("%s.%s.srranker", stem, buf);
  g_free(stem);
  return p;
}

int cmd_train_ranker(int argc, char **argv) {
  char *dataset = NULL, *split = "train", *dir = NULL, *folds = NULL, *model = NULL, *out = NULL;
  char *c_list = "0.001,0.01,0.1,1,10";
  char **group_sets = NULL;
  int m = 30, threads = 0;
  double cls_c = 1;
  sr_ranker_train_params tp;
  sr_ranker_train_params_default(&tp);
  GOptionEntry entries[] = {
      {"dataset", 'd', 0, G_OPTION_ARG_STRING, &dataset, CLI_DATASETS, "SPEC"},
      {"split", 0, 0, G_OPTION_ARG_STRING, &split, "Training split (default train)", "S"},
      {"proposals", 'p', 0, G_OPTION_ARG_FILENAME, &dir, "The split's proposals, DIR/<image name>/<rank>.png", "DIR"},
      {"folds", 0, 0, G_OPTION_ARG_FILENAME, &folds,
       "The -o of `segrank train --folds K` on this split: its OUT.oof/ holds each image's out-of-fold net", "OUT"},
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
       "The net the ranker will run with (its image classifier is trained on it; default: the shipped model)", "M"},
      {"num-proposals", 'M', 0, G_OPTION_ARG_INT, &m, "Proposals per image, the first M (default 30)", "M"},
      {"groups", 'g', 0, G_OPTION_ARG_STRING_ARRAY, &group_sets,
       "Feature groups, comma-separated from segnet, cls, source, or all (default); repeat to train one ranker per set",
       "G"},
      {"C", 'C', 0, G_OPTION_ARG_STRING, &c_list, "Ranking-SVM C values tried by cross-validation (default 0.001,0.01,0.1,1,10)", "LIST"},
      {"margin", 0, 0, G_OPTION_ARG_DOUBLE, &tp.margin,
       "Pairs whose per-image IoU differs by less than this (IoU points) are skipped (default 0.5)", "P"},
      {"max-pairs", 0, 0, G_OPTION_ARG_INT, &tp.max_pairs,
       "Pairs per image at most, those with the image's best proposal first (default 200; 0: all)", "N"},
      {"classifier-C", 0, 0, G_OPTION_ARG_DOUBLE, &cls_c, "C of the image classifiers (default 1)", "C"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads for the nets (0 = all cores)", "N"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out,
       "Ranker file (.srranker); with several --groups, OUT.<groups>.srranker each", "OUT"},
      {0}};
  GString *command = g_string_new("segrank");
  for (int i = 0; i < argc; i++) g_string_append_printf(command, " %s", argv[i]);
  if (!cli_parse(&argc, &argv, "",
                 "Trains the ranking SVM over the proposals' features (SegNet, classification and\n"
                 "source groups): pairs of proposals of one image ordered by their IoU with the\n"
                 "ground truth, features from out-of-fold nets so that the ranker sees the net as\n"
                 "it behaves on unseen images, C chosen by leave-one-sequence-out cross-validation\n"
                 "(sequence = file-name prefix before '_'). Prints the cross-validated mIoU of each\n"
                 "C beside the MAP, eq. 17 and the oracle.",
                 entries)) {
    g_string_free(command, TRUE);
    return 2;
  }
  gchar **cs = g_strsplit(c_list, ",", -1);
  int n_c = (int)g_strv_length(cs), rc = 0;
  double *cvals = g_new(double, n_c > 0 ? n_c : 1);
  for (int j = 0; j < n_c; j++) {
    char *end;
    cvals[j] = g_ascii_strtod(cs[j], &end);
    if (end == cs[j] || *end || !isfinite(cvals[j]) || !(cvals[j] > 0)) n_c = 0; /* reported below */
  }
  g_strfreev(cs);
  if (!dataset || !dir || !folds || !out || m < 2 || n_c < 1) {
    fprintf(stderr, "segrank train-ranker: needs --dataset, --proposals, --folds, -o (and -M >= 2, --C: positive numbers)\n");
    g_string_free(command, TRUE), g_free(cvals);
    return 2;
  }
  static char *all_groups[] = {"all", NULL};
  char **sets = group_sets ? group_sets : all_groups;
  int n_sets = (int)g_strv_length(sets);
  unsigned *masks = g_new(unsigned, n_sets);
  sr_error err = {0};
  for (int g = 0; g < n_sets; g++)
    if (sr_rerank_groups_parse(sets[g], &masks[g], &err) != SR_OK) return cli_fail(&err);
  sr_model *net_model = NULL;
  if (sr_model_load(model ? model : sr_default_model_path(), &net_model, &err) != SR_OK) return cli_fail(&err);
  const int k = net_model->n_classes;
  sr_dataset ds = {0};
  ranker_inputs full = {0}, oof = {0};
  ranker_study study = {0};
  sr_image_classifier *deploy = NULL;
  float *scores = NULL, *thr = NULL;
  double *cov = NULL;
  fprintf(stderr, "reading %s (%s)…\n", dataset, split);
  if (sr_dataset_open(dataset, split, k, FALSE, &ds, &err) != SR_OK) goto fail;
  fprintf(stderr, "deployment net on %d images (for the image classifier)…\n", ds.n);
  if (ranker_inputs_from_net(net_model, &ds, threads, &full, &err) != SR_OK) goto fail;
  fprintf(stderr, "out-of-fold nets (%s)…\n", folds);
  if (ranker_inputs_from_folds(folds, &ds, threads, &oof, &err) != SR_OK) goto fail;
  if (oof.k != k || oof.dims != full.dims || oof.h != full.h || oof.w != full.w) {
    /* The KL features sum over the grid: the fold nets must see the frames as the deployment net does. */
    sr_error_set(&err, SR_ERR_INVALID,
                 "the fold nets (%d classes, %dx%d map, %d-value descriptor) do not match %s (%d, %dx%d, %d): "
                 "train the folds at the deployment net's input size",
                 oof.k, oof.w, oof.h, oof.dims, model ? model : "the shipped model", k, full.w, full.h, full.dims);
    goto fail;
  }
  cov = gt_coverage(&ds, k);
  sr_image_classifier_params cp;
  sr_image_classifier_params_default(&cp);
  cp.C = cls_c;
  scores = malloc(sizeof(float) * ds.n * SR_IMAGE_CLASSIFIER_OUTPUTS(k));
  thr = malloc(sizeof(float) * ds.n * SR_RERANK_COVER_LEVELS * k);
  if (oof_classifier(&oof, cov, &cp, scores, thr, &err) != SR_OK) goto fail;
  if (sr_image_classifier_train(full.desc, ds.n, full.dims, cov, k, &cp, &deploy, &err) != SR_OK) goto fail;
  fprintf(stderr, "features of the first %d proposals…\n", m);
  if (ranker_study_build(&ds, dir, m, &oof, scores, thr, net_model->classes, NULL, &study, &err) != SR_OK) goto fail;

  int *pick = g_new(int, ds.n), *pmap = g_new(int, ds.n), *peq = g_new(int, ds.n), *por = g_new(int, ds.n);
  bool *use = g_new(bool, ds.n);
  ranker_study_pick_map(&study, m, pmap);
  ranker_study_pick_eq17(&study, m, peq);
  ranker_study_pick_oracle(&study, m, por);
  printf("%s (%s): %d images in %d sequences, first %d proposals, out-of-fold nets from %s\n", dataset, split, ds.n,
         study.n_groups, m, folds);
  printf("MAP %.2f, eq. 17 %.2f, oracle %.2f (mIoU on %s, out-of-fold net)\n", ranker_study_miou(&study, pmap, NULL),
         ranker_study_miou(&study, peq, NULL), ranker_study_miou(&study, por, NULL), split);
  for (int g = 0; g < n_sets && !rc; g++) {
    char gname[32];
    sr_rerank_groups_format(masks[g], gname, sizeof gname);
    printf("\nranker [%s], %d features: leave-one-sequence-out mIoU of the picks\n      C", gname,
           sr_rerank_feature_dim(masks[g], k));
    for (int q = 0; q < study.n_groups; q++) printf("  %8s", study.group_names[q]);
    printf("    pooled\n");
    double best_v = -1, best_c = cvals[0];
    GString *cvjs = g_string_new("{");
    for (int j = 0; j < n_c && !rc; j++) {
      printf("  %5g", cvals[j]);
      memcpy(pick, pmap, sizeof(int) * ds.n);
      for (int q = 0; q < study.n_groups && !rc; q++) {
        for (int i = 0; i < ds.n; i++) use[i] = study.group[i] != q;
        sr_ranker *r = NULL;
        if (fit(&study, masks[g], net_model->classes, deploy, &tp, cvals[j], use, &r, &err) != SR_OK) {
          rc = cli_fail(&err);
          break;
        }
        for (int i = 0; i < ds.n; i++) use[i] = !use[i];
        ranker_study_pick_ranker(&study, r, use, pick);
        printf("  %8.2f", ranker_study_miou(&study, pick, use));
        sr_ranker_free(r);
      }
      if (rc) break;
      double v = ranker_study_miou(&study, pick, NULL);
      printf("  %8.2f\n", v);
      g_string_append_printf(cvjs, "%s\"%g\":%.4f", j ? "," : "", cvals[j], v);
      if (v > best_v) best_v = v, best_c = cvals[j];
    }
    g_string_append(cvjs, "}");
    if (!rc) {
      printf("  (per sequence: MAP");
      for (int q = 0; q < study.n_groups; q++) {
        for (int i = 0; i < ds.n; i++) use[i] = study.group[i] == q;
        printf(" %s %.2f", study.group_names[q], ranker_study_miou(&study, pmap, use));
      }
      printf(")\nchosen C %g (pooled %.2f); training on all %d images\n", best_c, best_v, ds.n);
      sr_ranker *r = NULL;
      char *path = output_path(out, masks[g], n_sets), *esc = g_strescape(command->str, NULL);
      char *prov = g_strdup_printf("{\"source\":\"segrank train-ranker\",\"command\":\"%s\",\"M\":%d,\"C\":%g,\"margin\":%g,\"max_pairs\":%d,"
                                   "\"cv_pooled_miou\":%s,\"train_images\":%d,\"folds\":%d,\"segrank_version\":\"%s\"}",
                                   esc, m, best_c, tp.margin, tp.max_pairs, cvjs->str, ds.n, oof.folds, SR_VERSION);
      if (fit(&study, masks[g], net_model->classes, deploy, &tp, best_c, NULL, &r, &err) != SR_OK ||
          sr_ranker_set_provenance(r, prov, &err) != SR_OK || sr_ranker_save(r, path, &err) != SR_OK)
        rc = cli_fail(&err);
      else
        printf("wrote %s\n", path);
      sr_ranker_free(r);
      g_free(path), g_free(esc), g_free(prov);
    }
    g_string_free(cvjs, TRUE);
  }
  g_free(pick), g_free(pmap), g_free(peq), g_free(por), g_free(use);
  goto done;
fail:
  rc = cli_fail(&err);
done:
  ranker_study_clear(&study);
  ranker_inputs_clear(&full), ranker_inputs_clear(&oof);
  sr_image_classifier_free(deploy);
  free(scores), free(thr), free(cov);
  sr_dataset_clear(&ds);
  sr_model_free(net_model);
  g_free(masks), g_free(cvals);
  g_strfreev(group_sets);
  g_string_free(command, TRUE);
  return rc;
}
