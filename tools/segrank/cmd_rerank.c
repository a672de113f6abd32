/* cmd_rerank.c: `segrank rerank` — re-ranks a proposal folder (as `segrank
 * propose --out-dir` writes) with the net's coarse distribution by the
 * paper's fixed score (eq. 17, core/rerank/kl_score.h) and reports the mIoU
 * (VOC protocol, one confusion matrix over the split) of the MAP, the
 * eq. 17 pick and the oracle at several M, and of the net's own bilinear
 * output. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "io/atomic_file.h"
#include "ranker_study.h"
#include "rerank/image_classifier.h"
#include "rerank/kl_score.h"
#include "rerank/ranker.h"

enum { MAX_MS = 5 };

/* The Ms reported: 5, 10, 20, 30 and @m itself, those ≤ @m, ascending. */
static int report_ms(int m, int *ms) {
  static const int fixed[] = {5, 10, 20, 30};
  int n = 0;
  for (int i = 0; i < 4; i++)
    if (fixed[i] < m) ms[n++] = fixed[i];
  ms[n++] = m;
  return n;
}

/* Index of the lowest of scores[0..m) (ties: the lower index). */
static int lowest(const sr_kl_score *s, int m) {
  int b = 0;
  for (int k = 1; k < m; k++)
    if (s[k].score < s[b].score) b = k;
  return b;
}

static double headroom(double pick, double map, double oracle) {
  return oracle - map > 1e-9 ? 100.0 * (pick - map) / (oracle - map) : NAN;
}

/* Each trained ranker's pick among the first @m proposals of every image of
 * @ds, beside the MAP, eq. 17 and the oracle at the same M: the net (with
 * its conv5 descriptor) runs once, each ranker's image classifier scores
 * the descriptors. */
static int report_rankers(char **paths, const sr_model *nm, const sr_dataset *ds, const char *dir, int m, int threads,
                          GString *js) {
  sr_error err = {0};
  ranker_inputs in = {0};
  fprintf(stderr, "net and conv5 descriptors for the rankers…\n");
  if (ranker_inputs_from_net(nm, ds, threads, &in, &err) != SR_OK) return cli_fail(&err);
  const int k = nm->n_classes, no = SR_IMAGE_CLASSIFIER_OUTPUTS(k), nt = SR_RERANK_COVER_LEVELS * k;
  float *cls = malloc(sizeof(float) * ds->n * no), *thr = malloc(sizeof(float) * ds->n * nt);
  int *pick = malloc(sizeof(int) * ds->n), rc = 0;
  double vmap = -1, vor = -1;
  printf("\ntrained rankers, first %d proposals:\n  %-44s %7s %9s\n", m, "ranker [groups]", "mIoU", "headroom");
  for (int r = 0; paths[r] && !rc; r++) {
    sr_ranker *rk = NULL;
    ranker_study st = {0};
    if (sr_ranker_load(paths[r], nm->classes, k, &rk, &err) != SR_OK) {
      rc = cli_fail(&err);
      break;
    }
    int trained_m = sr_ranker_trained_m(rk);
    if (trained_m && trained_m != m)
      fprintf(stderr, "segrank rerank: warning: %s was trained with M = %d, scored here with M = %d "
                      "(source.consensus depends on M)\n", paths[r], trained_m, m);
    const sr_image_classifier *c = sr_ranker_classifier(rk);
    for (int i = 0; i < ds->n && c && !rc; i++) {
      if (sr_image_classifier_predict(c, in.desc + (size_t)i * in.dims, in.dims, cls + (size_t)i * no, &err) != SR_OK)
        rc = cli_fail(&err);
      memcpy(thr + (size_t)i * nt, sr_image_classifier_thresholds(c), sizeof(float) * nt);
    }
    if (!rc && ranker_study_build(ds, dir, m, &in, c ? cls : NULL, c ? thr : NULL, nm->classes, sr_ranker_feature_params(rk), &st, &err) != SR_OK)
      rc = cli_fail(&err);
    if (!rc) {
      if (vmap < 0) {
        ranker_study_pick_map(&st, m, pick);
        vmap = ranker_study_miou(&st, pick, NULL);
        ranker_study_pick_oracle(&st, m, pick);
        vor = ranker_study_miou(&st, pick, NULL);
      }
      ranker_study_pick_ranker(&st, rk, NULL, pick);
      double v = ranker_study_miou(&st, pick, NULL);
      char g[32], *base = g_path_get_basename(paths[r]), *label = g_strdup_printf("%s [%s]", base,
                                                                                  sr_rerank_groups_format(sr_ranker_groups(rk), g, sizeof g));
      double hr = headroom(v, vmap, vor);
      printf("  %-44s %7.2f %8.1f%%\n", label, v, hr);
      char *esc = g_strescape(paths[r], NULL);
      g_string_append_printf(js, "%s{\"file\":\"%s\",\"groups\":\"%s\",\"miou\":%.4f,\"headroom_pct\":%.2f}",
                             r ? "," : "", esc, g, v, isfinite(hr) ? hr : 0.0);
      g_free(esc);
      g_free(base), g_free(label);
    }
    ranker_study_clear(&st);
    sr_ranker_free(rk);
  }
  if (!rc) printf("  (MAP %.2f, oracle %.2f at M %d)\n", vmap, vor, m);
  free(cls), free(thr), free(pick);
  ranker_inputs_clear(&in);
  return rc;
}

int cmd_rerank(int argc, char **argv) {
  char *dir = NULL, *dataset = NULL, *split = "val", *model = NULL, *only = NULL, *json = NULL;
  char **rankers = NULL;
  int m = 10, threads = 0;
  sr_kl_score_params par;
  sr_kl_score_params_default(&par);
  double weight = 0.02;
  GOptionEntry entries[] = {
      {"proposals", 'p', 0, G_OPTION_ARG_FILENAME, &dir, "Folder of DIR/<image name>/<rank>.png", "DIR"},
      {"dataset", 'd', 0, G_OPTION_ARG_STRING, &dataset, CLI_DATASETS, "SPEC"},
      {"split", 0, 0, G_OPTION_ARG_STRING, &split, "Split (default val)", "S"},
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Net (default: the shipped model)", "M"},
      {"num-proposals", 'M', 0, G_OPTION_ARG_INT, &m, "Proposals scored per image, the first M (default 10)", "M"},
      {"penalty-class", 0, 0, G_OPTION_ARG_INT, &par.penalty_class,
       "Class whose mass is penalised (paper, PASCAL: 0; default -1: none)", "K"},
      {"penalty-weight", 0, 0, G_OPTION_ARG_DOUBLE, &weight, "Weight of the penalty (default 0.02)", "W"},
      {"eps", 0, 0, G_OPTION_ARG_DOUBLE, &par.eps, "Smoothing q~ = (q+eps)/(1+K eps) (default 1e-6)", "E"},
      {"only", 0, 0, G_OPTION_ARG_STRING, &only, "Only images whose names start with one of these comma-separated prefixes", "P"},
      {"json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Also write the results (and each image's pick) as JSON", "FILE"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads for the net (0 = all cores)", "N"},
      {"ranker", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &rankers,
       "Also report the picks of this trained ranker (`segrank train-ranker`) among the first M; repeatable", "R"},
      {0}};
  if (!cli_parse(&argc, &argv, "",
                 "Re-ranks each image's proposals with the net (eq. 17: symmetric KL between the\n"
                 "net's coarse distribution and the proposal's class fractions on the same grid,\n"
                 "smoothed, plus an optional class penalty; lowest wins) and prints the mIoU of\n"
                 "the MAP (rank 0), the eq. 17 pick and the oracle among the first 5, 10, 20, 30\n"
                 "and M proposals (up to M), the net's bilinear output, and the share of the\n"
                 "MAP-to-oracle headroom the pick takes. With --ranker, each ranker's pick\n"
                 "among the first M too.",
                 entries))
    return 2;
  par.penalty_weight = weight;
  if (!dir || !dataset || m < 1) {
    fprintf(stderr, "segrank rerank: needs --proposals and --dataset (and -M >= 1)\n");
    return 2;
  }
  sr_model *nm;
  sr_backend *nb;
  sr_net *net;
  if (!cli_open_net(model, "cpu", threads, &nm, &nb, &net)) return 1;
  sr_error err = {0};
  int rc = 0, c = nm->n_classes;
  if (par.penalty_class < -1 || par.penalty_class >= c) {
    fprintf(stderr, "segrank rerank: --penalty-class %d outside -1..%d\n", par.penalty_class, c - 1);
    rc = 2;
    goto out_net;
  }
  sr_dataset all, ds;
  fprintf(stderr, "reading %s (%s)…\n", dataset, split);
  if (sr_dataset_open(dataset, split, c, FALSE, &all, &err) != SR_OK) {
    rc = cli_fail(&err);
    goto out_net;
  }
  cli_filter_names(&all, only, NULL, 1, &ds);
  int ms[MAX_MS], nms = report_ms(m, ms);
  sr_confusion map, bilinear, pick[MAX_MS], oracle[MAX_MS];
  cli_confusion_init(&map, c);
  cli_confusion_init(&bilinear, c);
  for (int j = 0; j < nms; j++) cli_confusion_init(&pick[j], c), cli_confusion_init(&oracle[j], c);
  double pick_rank[MAX_MS] = {0}, t0 = cli_now_s(), t_net = 0, t_score = 0;
  int n_min = 1 << 30, n_max = 0, used = 0;
  sr_tensor in = {0}, probs = {0};
  sr_kl_score *scores = g_new(sr_kl_score, m);
  uint8_t *pred = NULL;
  float *scratch = NULL;
  GString *picks = g_string_new(NULL);
  const sr_pixel_layout rgb = {3, 0, 1, 2};
  if (sr_tensor_alloc(&in, 1, 3, nm->input_h, nm->input_w) != SR_OK)
    rc = cli_fail(&(sr_error){SR_ERR_NOMEM, "out of memory for the net input"});
  for (int i = 0; i < ds.n && !rc; i++) {
    const sr_image *img = &ds.images[i], *gt = &ds.labels[i];
    size_t px = (size_t)gt->width * gt->height;
    char *s = cli_stem(ds.names[i]), *sub = g_build_filename(dir, s, NULL);
    sr_proposal_set set = {0};
    double ta = cli_now_s();
    if (sr_proposal_set_load_dir(sub, c, ds.void_label, gt->width, gt->height, m, &set, &err) != SR_OK) {
      rc = cli_fail(&err);
      goto next;
    }
    sr_preprocess(img->data, img->width, img->height, img->width * 3, rgb, nm->mean_bgr, nm->input_w, nm->input_h,
                  in.data);
    if (sr_net_forward(net, &in, &probs, &err) != SR_OK) {
      rc = cli_fail(&err);
      goto next;
    }
    double tb = cli_now_s();
    sr_coarse_dist d = {probs.data, probs.c, probs.h, probs.w};
    int best;
    if (sr_kl_rerank(&d, &set, m, &par, scores, &best, &err) != SR_OK) {
      sr_error_prefix(&err, "%s", sub);
      rc = cli_fail(&err);
      goto next;
    }
    t_net += tb - ta, t_score += cli_now_s() - tb;
    sr_confusion_add(&map, gt->data, sr_proposal_labels(&set, 0), px);
    for (int j = 0; j < nms; j++) {
      int mj = ms[j] < set.n ? ms[j] : set.n, k = lowest(scores, mj);
      sr_confusion_add(&pick[j], gt->data, sr_proposal_labels(&set, k), px);
      sr_confusion_add(&oracle[j], gt->data, sr_proposal_labels(&set, sr_oracle_pick(&set, gt->data, mj)), px);
      pick_rank[j] += set.rank[k];
    }
    pred = g_renew(uint8_t, pred, px);
    scratch = g_renew(float, scratch, (size_t)probs.c * probs.h * gt->width);
    sr_labels_from_probs(probs.data, probs.c, probs.h, probs.w, gt->width, gt->height, pred, scratch);
    sr_confusion_add(&bilinear, gt->data, pred, px);
    g_string_append_printf(picks, "%s\"%s\":{\"rank\":%d,\"score\":%.6f,\"map_score\":%.6f}", used ? "," : "", s,
                           set.rank[best], scores[best].score, scores[0].score);
    if (set.n < n_min) n_min = set.n;
    if (set.n > n_max) n_max = set.n;
    used++;
    cli_progress("re-ranking", i + 1, ds.n, t0);
  next:
    sr_proposal_set_clear(&set);
    g_free(sub);
    g_free(s);
  }
  if (!rc && used == 0) {
    fprintf(stderr, "segrank rerank: no images in %s/%s\n", dataset, split);
    rc = 1;
  }
  if (!rc) {
    double vmap = sr_confusion_miou(&map, NULL), vnet = sr_confusion_miou(&bilinear, NULL);
    printf("images: %d, proposals per image: %d..%d (first %d scored), net %dx%d map\n", used, n_min, n_max, m,
           probs.w, probs.h);
    printf("eq. 17: eps %g, penalty %s", par.eps, par.penalty_class >= 0 ? "" : "off");
    if (par.penalty_class >= 0) printf("class %d (%s) x %g", par.penalty_class, nm->classes[par.penalty_class].name, weight);
    printf("; summed over cells, lowest wins\n");
    printf("net bilinear mIoU: %.2f\n", vnet);
    printf("MAP (rank 0) mIoU: %.2f\n", vmap);
    printf("   M   eq17  oracle  headroom taken  mean picked rank\n");
    GString *js = g_string_new(NULL);
    g_string_append_printf(js,
                           "{\"images\":%d,\"proposals_min\":%d,\"proposals_max\":%d,\"eps\":%g,\"penalty_class\":%d,"
                           "\"penalty_weight\":%g,\"net_bilinear\":%.4f,\"map\":%.4f,\"at\":{",
                           used, n_min, n_max, par.eps, par.penalty_class, par.penalty_class >= 0 ? weight : 0.0, vnet,
                           vmap);
    for (int j = 0; j < nms; j++) {
      double vp = sr_confusion_miou(&pick[j], NULL), vo = sr_confusion_miou(&oracle[j], NULL);
      double hr = headroom(vp, vmap, vo);
      printf("  %2d  %5.2f   %5.2f   %6.1f%%         %5.2f%s\n", ms[j], vp, vo, hr, pick_rank[j] / used,
             ms[j] > n_min ? "  (some images have fewer proposals)" : "");
      char hr_text[32] = "null";
      if (isfinite(hr)) g_snprintf(hr_text, sizeof hr_text, "%.2f", hr);
      g_string_append_printf(js, "%s\"%d\":{\"eq17\":%.4f,\"oracle\":%.4f,\"headroom_pct\":%s,\"mean_rank\":%.3f}",
                             j ? "," : "", ms[j], vp, vo, hr_text, pick_rank[j] / used);
    }
    printf("time per image: %.1f ms loading + net, %.2f ms scoring %d proposals\n", 1e3 * t_net / used,
           1e3 * t_score / used, m);
    g_string_append_printf(js, "},\"picks_at_M\":%d,\"picks\":{%s},\"rankers\":[", m, picks->str);
    if (rankers) rc = report_rankers(rankers, nm, &ds, dir, m, threads, js);
    g_string_append(js, "]}\n");
    if (!rc && json && sr_atomic_write(json, js->str, js->len, &err) != SR_OK) rc = cli_fail(&err);
    g_string_free(js, TRUE);
  }
  g_string_free(picks, TRUE);
  g_free(scores), g_free(pred), g_free(scratch);
  sr_tensor_clear(&in), sr_tensor_clear(&probs);
  sr_confusion_clear(&map), sr_confusion_clear(&bilinear);
  for (int j = 0; j < nms; j++) sr_confusion_clear(&pick[j]), sr_confusion_clear(&oracle[j]);
  sr_dataset_clear(&ds);
  sr_dataset_clear(&all);
out_net:
  sr_net_free(net), sr_backend_free(nb), sr_model_free(nm);
  g_strfreev(rankers);
  return rc;
}
