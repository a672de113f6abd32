/* cmd_propose.c: `segrank propose` (DivMBest CRF proposals for every image
 * of a dataset split, written as DIR/<image name>/<rank>.png + scores.json)
 * and `segrank eval --proposals DIR` (MAP, oracle@M and diversity of a
 * proposal folder against the split's ground truth). */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void print_miou(const char *what, const sr_confusion *c) {
  printf("%s mIoU: %.2f (pixel accuracy %.2f)\n", what, sr_confusion_miou(c, NULL), sr_confusion_pixel_accuracy(c));
}

int cmd_propose(int argc, char **argv) {
  char *unary = NULL, *dataset = NULL, *split = "val", *out_dir = NULL, *only = NULL, *exclude = NULL, *net_path = NULL;
  sr_proposer_params defaults;
  sr_proposer_params_default(&defaults);
  int threads = 0, m = defaults.num_solutions, superpixels = 0, max_sweeps = 0, stride = 1, folds = 0, fold = -1;
  double lambda = defaults.lambda, wp = defaults.pairwise_weight, hybrid = 0;
  GOptionEntry entries[] = {
      {"unary", 'u', 0, G_OPTION_ARG_FILENAME, &unary, "Unary model (default: the shipped one)", "U"},
      {"dataset", 'd', 0, G_OPTION_ARG_STRING, &dataset, CLI_DATASETS, "SPEC"},
      {"split", 0, 0, G_OPTION_ARG_STRING, &split, "Split (default val)", "S"},
      {"out-dir", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir, "Write DIR/<image>/<rank>.png + scores.json (optional)", "DIR"},
      {"num-solutions", 'M', 0, G_OPTION_ARG_INT, &m, "DivMBest solutions per image (default 10)", "M"},
      {"lambda", 'l', 0, G_OPTION_ARG_DOUBLE, &lambda, "DivMBest diversity weight (default 0.2)", "L"},
      {"pairwise-weight", 'w', 0, G_OPTION_ARG_DOUBLE, &wp, "Potts weight (default 1.6)", "W"},
      {"superpixels", 0, 0, G_OPTION_ARG_INT, &superpixels, "Superpixels requested (0: as the unary model was trained)", "N"},
      {"max-sweeps", 0, 0, G_OPTION_ARG_INT, &max_sweeps, "alpha-expansion sweeps per solution (0: to convergence)", "N"},
      {"hybrid-weight", 0, 0, G_OPTION_ARG_DOUBLE, &hybrid, "Weight of the net's -log p in the unaries (0: off)", "H"},
      {"net", 0, 0, G_OPTION_ARG_FILENAME, &net_path, "Net for the hybrid term (default: the shipped model)", "M"},
      {"only", 0, 0, G_OPTION_ARG_STRING, &only, "Only images whose names start with one of these comma-separated prefixes", "P"},
      {"exclude", 0, 0, G_OPTION_ARG_STRING, &exclude, "Skip images whose names start with one of these prefixes", "P"},
      {"stride", 0, 0, G_OPTION_ARG_INT, &stride, "Every k-th image (1)", "K"},
      {"folds", 0, 0, G_OPTION_ARG_INT, &folds, "With --fold: the folds of `segrank train --folds K`", "K"},
      {"fold", 0, 0, G_OPTION_ARG_INT, &fold, "Only the images of fold F (0..K-1)", "F"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (0 = all cores)", "N"},
      {0}};
  if (!cli_parse(&argc, &argv, "",
                 "Runs the proposal source (SLIC superpixels, unary classifier, contrast-sensitive\n"
                 "Potts CRF, DivMBest) on every image of a split. With --out-dir, writes each\n"
                 "image's proposals as DIR/<image name>/<rank>.png (grey class indices, rank 0 =\n"
                 "MAP) and scores.json, the layout proposalload and `segrank eval --proposals`\n"
                 "read. Prints the unary-argmax and MAP mIoU and proposals per second.",
                 entries))
    return 2;
  if (!dataset || stride < 1 || (folds || fold >= 0) != (folds >= 2 && fold >= 0 && fold < folds)) {
    fprintf(stderr, "segrank propose: needs --dataset (and --stride >= 1, --folds K with --fold 0..K-1)\n");
    return 2;
  }
  sr_error err = {0};
  sr_unary_model *um;
  const char *upath = unary ? unary : sr_default_unary_model_path();
  if (sr_unary_model_load(upath, &um, &err) != SR_OK) return cli_fail(&err);
  int c = sr_unary_model_n_classes(um);
  if (folds && !cli_unary_holds_out_fold(um, fold, folds)) {
    fprintf(stderr, "segrank propose: %s was not trained with fold %d of %d held out (segrank train-unary --folds %d "
                    "--fold %d): its proposals for the fold would be in-sample\n", upath, fold, folds, folds, fold);
    sr_unary_model_free(um);
    return 1;
  }
  sr_dataset all, ds;
  fprintf(stderr, "reading %s (%s)…\n", dataset, split);
  if (sr_dataset_open(dataset, split, c, FALSE, &all, &err) != SR_OK) {
    sr_unary_model_free(um);
    return cli_fail(&err);
  }
  sr_dataset in_fold = {0};
  if (folds) cli_fold_subset(&all, folds, fold, TRUE, &in_fold);
  cli_filter_names(folds ? &in_fold : &all, only, exclude, stride, &ds);
  sr_model *nm = NULL;
  sr_backend *nb = NULL;
  sr_net *net = NULL;
  sr_proposer *pr = NULL;
  int rc = 0;
  if (hybrid > 0 && !cli_open_net(net_path, "cpu", threads, &nm, &nb, &net)) {
    rc = 1;
    goto out_ds;
  }
  if (net) {
    const sr_class *uc = sr_unary_model_classes(um);
    for (int k = 0; k < c && !rc; k++)
      if (nm->n_classes != c || strcmp(nm->classes[k].name, uc[k].name)) {
        fprintf(stderr, "segrank propose: the net's classes differ from the unary model's (class %d: %s vs %s)\n", k,
                k < nm->n_classes ? nm->classes[k].name : "none", uc[k].name);
        rc = 1;
      }
    if (rc) goto out_ds;
  }
  sr_proposer_params pp;
  sr_proposer_params_default(&pp);
  pp.num_solutions = m, pp.lambda = (float)lambda, pp.pairwise_weight = (float)wp, pp.n_superpixels = superpixels;
  pp.hybrid_weight = (float)hybrid, pp.max_sweeps = max_sweeps, pp.threads = threads;
  if (sr_proposer_new(um, &pp, &pr, &err) != SR_OK) {
    rc = cli_fail(&err);
    goto out_ds;
  }
  sr_confusion cu, cm;
  cli_confusion_init(&cu, c);
  cli_confusion_init(&cm, c);
  double t0 = cli_now_s(), stage[4] = {0}, sp_count = 0;
  uint8_t *ulabels = NULL;
  sr_tensor in = {0}, probs = {0};
  for (int i = 0; i < ds.n && !rc; i++) {
    const sr_image *img = &ds.images[i];
    sr_coarse_probs cp = {0}, *cpp = NULL;
    if (net) {
      int iw = nm->input_w, ih = nm->input_h;
      sr_pixel_layout lay = {3, 0, 1, 2};
      if (!in.data && sr_tensor_alloc(&in, 1, 3, ih, iw) != SR_OK) {
        rc = cli_fail(&(sr_error){SR_ERR_NOMEM, "out of memory for the net input"});
        break;
      }
      sr_preprocess(img->data, img->width, img->height, img->width * 3, lay, nm->mean_bgr, iw, ih, in.data);
      if (sr_net_forward(net, &in, &probs, &err) != SR_OK) {
        rc = cli_fail(&err);
        break;
      }
      cp = (sr_coarse_probs){probs.data, probs.c, probs.h, probs.w};
      cpp = &cp;
    }
    sr_proposal_set set;
    sr_proposer_times t;
    if (sr_proposer_run(pr, img, cpp, &set, &t, &err) != SR_OK) {
      sr_error_prefix(&err, "%s", ds.names[i]);
      rc = cli_fail(&err);
      break;
    }
    stage[0] += t.superpixels, stage[1] += t.features, stage[2] += t.unaries, stage[3] += t.crf;
    size_t px = (size_t)img->width * img->height;
    /* Unary argmax painted on the pixels. */
    const float *pu = sr_proposer_last_probs(pr);
    const sr_superpixels *sp = sr_proposer_last_superpixels(pr);
    sp_count += sp->n;
    ulabels = g_renew(uint8_t, ulabels, px);
    for (size_t j = 0; j < px; j++) {
      const float *row = pu + (size_t)sp->labels[j] * c;
      int best = 0;
      for (int k = 1; k < c; k++)
        if (row[k] > row[best]) best = k;
      ulabels[j] = (uint8_t)best;
    }
    sr_confusion_add(&cu, ds.labels[i].data, ulabels, px);
    sr_confusion_add(&cm, ds.labels[i].data, sr_proposal_labels(&set, 0), px);
    if (out_dir) {
      char *s = cli_stem(ds.names[i]), *dir = g_build_filename(out_dir, s, NULL);
      if (sr_proposal_set_save_dir(&set, dir, &err) != SR_OK) rc = cli_fail(&err);
      g_free(dir);
      g_free(s);
    }
    sr_proposal_set_clear(&set);
    cli_progress("proposing", i + 1, ds.n, t0);
  }
  if (!rc && ds.n > 0) {
    double el = cli_now_s() - t0;
    printf("images: %d, %.1f superpixels per image, %d solutions, lambda %g, pairwise weight %g\n", ds.n,
           sp_count / ds.n, m, lambda, wp);
    print_miou("unary argmax", &cu);
    print_miou("CRF MAP", &cm);
    printf("time per image: %.1f ms (superpixels %.1f, features %.1f, unaries + graph %.1f, DivMBest %.1f); %.2f images/s, "
           "%.1f proposals/s\n",
           1e3 * el / ds.n, stage[0] / ds.n, stage[1] / ds.n, stage[2] / ds.n, stage[3] / ds.n, ds.n / el, ds.n * m / el);
  }
  g_free(ulabels);
  sr_tensor_clear(&in);
  sr_tensor_clear(&probs);
  sr_confusion_clear(&cu);
  sr_confusion_clear(&cm);
  sr_proposer_free(pr);
out_ds:
  if (net) sr_net_free(net), sr_backend_free(nb), sr_model_free(nm);
  sr_dataset_clear(&ds);
  sr_dataset_clear(&in_fold);
  sr_dataset_clear(&all);
  sr_unary_model_free(um);
  return rc;
}

int cmd_eval_proposals(int argc, char **argv) {
  char *dir = NULL, *dataset = NULL, *split = "val", *json = NULL, *only = NULL, *exclude = NULL;
  int classes = 11, stride = 1;
  GOptionEntry entries[] = {
      {"proposals", 'p', 0, G_OPTION_ARG_FILENAME, &dir, "Folder of DIR/<image name>/<rank>.png", "DIR"},
      {"dataset", 'd', 0, G_OPTION_ARG_STRING, &dataset, CLI_DATASETS, "SPEC"},
      {"split", 0, 0, G_OPTION_ARG_STRING, &split, "Split (default val)", "S"},
      {"classes", 0, 0, G_OPTION_ARG_INT, &classes, "Classes of a folder: dataset (11)", "N"},
      {"only", 0, 0, G_OPTION_ARG_STRING, &only, "Only images whose names start with one of these comma-separated prefixes", "P"},
      {"exclude", 0, 0, G_OPTION_ARG_STRING, &exclude, "Skip images whose names start with one of these prefixes", "P"},
      {"stride", 0, 0, G_OPTION_ARG_INT, &stride, "Every k-th image (1), as given to propose", "K"},
      {"json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Also write the results as JSON", "FILE"},
      {0}};
  if (!cli_parse(&argc, &argv, "",
                 "Evaluates a proposal folder (as `segrank propose --out-dir` writes): the MAP\n"
                 "(rank 0) mIoU, the oracle at M = 1, 5, 10, 20, 30 (per image the best of the\n"
                 "first M by per-image IoU, accumulated into one confusion matrix over the split)\n"
                 "and the mean pairwise diversity (fraction of pixels two proposals differ on).",
                 entries))
    return 2;
  if (!dir || !dataset || stride < 1) {
    fprintf(stderr, "segrank eval: --proposals needs --dataset (and --stride >= 1)\n");
    return 2;
  }
  sr_error err = {0};
  sr_dataset all, ds;
  fprintf(stderr, "reading %s (%s)…\n", dataset, split);
  if (sr_dataset_open(dataset, split, classes, FALSE, &all, &err) != SR_OK) return cli_fail(&err);
  cli_filter_names(&all, only, exclude, stride, &ds);
  static const int ms[] = {1, 5, 10, 20, 30};
  enum { NM = 5 };
  sr_confusion conf[NM];
  for (int j = 0; j < NM; j++) cli_confusion_init(&conf[j], ds.n_classes);
  double div10 = 0, div_all = 0, t0 = cli_now_s();
  int n_min = 1 << 30, n_max = 0, rc = 0, used = 0;
  for (int i = 0; i < ds.n && !rc; i++) {
    char *s = cli_stem(ds.names[i]), *sub = g_build_filename(dir, s, NULL);
    sr_proposal_set set;
    const sr_image *gt = &ds.labels[i];
    if (sr_proposal_set_load_dir(sub, ds.n_classes, ds.void_label, gt->width, gt->height, 0, &set, &err) != SR_OK) {
      rc = cli_fail(&err);
    } else {
      for (int j = 0; j < NM; j++) {
        int k = sr_oracle_pick(&set, gt->data, ms[j]);
        sr_confusion_add(&conf[j], gt->data, sr_proposal_labels(&set, k), (size_t)gt->width * gt->height);
      }
      div10 += sr_proposal_diversity(&set, 10);
      div_all += sr_proposal_diversity(&set, set.n);
      if (set.n < n_min) n_min = set.n;
      if (set.n > n_max) n_max = set.n;
      used++;
      sr_proposal_set_clear(&set);
    }
    g_free(sub);
    g_free(s);
    cli_progress("evaluating", i + 1, ds.n, t0);
  }
  if (!rc && used == 0) {
    fprintf(stderr, "segrank eval: no images in %s/%s\n", dataset, split);
    rc = 1;
  }
  if (!rc) {
    printf("images: %d, proposals per image: %d..%d\n", used, n_min, n_max);
    printf("MAP (rank 0) mIoU: %.2f\n", sr_confusion_miou(&conf[0], NULL));
    GString *js = g_string_new(NULL);
    g_string_append_printf(js, "{\"images\":%d,\"map\":%.4f,\"oracle\":{", used, sr_confusion_miou(&conf[0], NULL));
    for (int j = 0; j < NM; j++) {
      double v = sr_confusion_miou(&conf[j], NULL);
      printf("oracle@%-2d mIoU: %.2f%s\n", ms[j], v, ms[j] > n_max ? " (fewer proposals than M)" : "");
      g_string_append_printf(js, "%s\"%d\":%.4f", j ? "," : "", ms[j], v);
    }
    printf("mean pairwise diversity: first 10 %.4f, all %.4f\n", div10 / used, div_all / used);
    g_string_append_printf(js, "},\"diversity10\":%.6f,\"diversity\":%.6f}\n", div10 / used, div_all / used);
    if (json && !g_file_set_contents(json, js->str, -1, NULL)) {
      fprintf(stderr, "segrank eval: cannot write %s\n", json);
      rc = 1;
    }
    g_string_free(js, TRUE);
  }
  for (int j = 0; j < NM; j++) sr_confusion_clear(&conf[j]);
  sr_dataset_clear(&ds);
  sr_dataset_clear(&all);
  return rc;
}
