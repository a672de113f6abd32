/* cmd_infer.c: `segrank infer` and `segrank forward`: run the net on images
 * or on raw tensors and write what it predicts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rerank/image_descriptor.h"
#include "rerank/ranker.h"

static const sr_pixel_layout rgb_layout = {3, 0, 1, 2};

/* The second half of the paper for `--unary`: proposals, re-ranked by the
 * ranker or by eq. 17. */
typedef struct {
  sr_proposer *proposer;
  sr_ranker *ranker; /* NULL: eq. 17 */
  int m;             /* proposals scored */
} final_stage;

/* Proposes for @img, picks one with the net's output @probs (and the conv5
 * tap of @net for a ranker's classifier) and writes it as @path. */
static int write_final(final_stage *fs, sr_net *net, const sr_image *img, const sr_tensor *probs, const char *path) {
  sr_error err = {0};
  sr_proposal_set set = {0};
  sr_coarse_dist d = {probs->data, probs->c, probs->h, probs->w};
  int best = 0, rc = 0;
  sr_status st = sr_proposer_run(fs->proposer, img, NULL, &set, NULL, &err);
  if (st == SR_OK && fs->ranker) {
    const sr_tensor *tap = sr_net_tap(net);
    int dims = tap ? sr_image_descriptor_dims(tap) : 0;
    float *desc = dims ? malloc(sizeof(float) * dims) : NULL;
    if (desc) sr_image_descriptor(tap, 0, desc);
    st = sr_ranker_score_set(fs->ranker, &set, &d, desc, desc ? dims : 0, fs->m, NULL, &best, &err);
    free(desc);
  } else if (st == SR_OK) {
    sr_kl_score_params par;
    sr_kl_score_params_default(&par);
    st = sr_kl_rerank(&d, &set, fs->m, &par, NULL, &best, &err);
  }
  sr_image final = {set.width, set.height, 1, st == SR_OK ? sr_proposal_labels(&set, best) : NULL};
  if (st == SR_OK) st = sr_image_save_png(path, &final, &err);
  if (st != SR_OK) rc = cli_fail(&err);
  else printf("  %s: proposal %d of %d (%s)\n", path, best, set.n < fs->m || fs->m <= 0 ? set.n : fs->m,
              fs->ranker ? "ranker" : "eq. 17");
  sr_proposal_set_clear(&set);
  return rc;
}

/* Segments one image: writes NAME.labels.png, NAME.overlay.png, NAME.probs.npy. */
static int infer_one(sr_net *net, const sr_model *m, const char *path, const char *out_dir, int in_w, int in_h,
                     sr_tensor *input, sr_tensor *probs, final_stage *fs) {
  sr_error err = {0};
  sr_image img;
  if (sr_image_load(path, 0, &img, &err) != SR_OK) return cli_fail(&err);
  sr_preprocess(img.data, img.width, img.height, img.width * 3, rgb_layout, m->mean_bgr, in_w, in_h, input->data);
  if (sr_net_forward(net, input, probs, &err) != SR_OK) {
    sr_image_clear(&img);
    return cli_fail(&err);
  }
  sr_image labels = {img.width, img.height, 1, malloc((size_t)img.width * img.height)};
  float *scratch = malloc(sizeof(float) * probs->c * probs->h * img.width);
  sr_labels_from_probs(probs->data, probs->c, probs->h, probs->w, img.width, img.height, labels.data, scratch);
  free(scratch);
  uint8_t(*colors)[3] = malloc(sizeof *colors * m->n_classes);
  for (int i = 0; i < m->n_classes; i++) memcpy(colors[i], m->classes[i].rgb, 3);
  sr_blend_labels(img.data, img.width, img.height, img.width * 3, rgb_layout, labels.data, (const uint8_t(*)[3])colors,
                  m->n_classes, 0.5f);
  free(colors);

  char *base = g_path_get_basename(path);
  char *dot = strrchr(base, '.');
  if (dot) *dot = 0;
  char *lp = g_strdup_printf("%s/%s.labels.png", out_dir, base);
  char *op = g_strdup_printf("%s/%s.overlay.png", out_dir, base);
  char *np = g_strdup_printf("%s/%s.probs.npy", out_dir, base);
  int shape[3] = {probs->c, probs->h, probs->w};
  int rc = 0;
  if (sr_image_save_png(lp, &labels, &err) != SR_OK || sr_image_save_png(op, &img, &err) != SR_OK ||
      sr_npy_save(np, probs->data, shape, 3, &err) != SR_OK)
    rc = cli_fail(&err);
  else
    printf("%s -> %s %s %s (%dx%d map)\n", path, lp, op, np, probs->w, probs->h);
  if (!rc && fs->proposer) {
    char *fp = g_strdup_printf("%s/%s.final.png", out_dir, base);
    sr_image_clear(&img);
    if (sr_image_load(path, 0, &img, &err) != SR_OK) rc = cli_fail(&err); /* the overlay drew over it */
    else rc = write_final(fs, net, &img, probs, fp);
    g_free(fp);
  }
  g_free(lp), g_free(op), g_free(np), g_free(base);
  sr_image_clear(&labels);
  sr_image_clear(&img);
  return rc;
}

int cmd_infer(int argc, char **argv) {
  char *model = NULL, *backend = "cpu", *out_dir = NULL, *size = NULL, *unary = NULL, *ranker = NULL;
  int threads = 0, num = 0;
  GOptionEntry entries[] = {
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (default: the shipped model)", "M"},
      {"unary", 'u', 0, G_OPTION_ARG_FILENAME, &unary,
       "Also run the proposal source with this unary model (`default`: the shipped one) and write NAME.final.png", "U"},
      {"ranker", 'r', 0, G_OPTION_ARG_FILENAME, &ranker, "With --unary: pick with this trained ranker (\"default\": the shipped one; without: eq. 17)", "R"},
      {"num-proposals", 'M', 0, G_OPTION_ARG_INT, &num, "With --unary: DivMBest solutions, all scored (default 10; with --ranker, the M it was trained with)", "M"},
      {"backend", 'b', 0, G_OPTION_ARG_STRING, &backend, "Compute backend: " CLI_BACKENDS " (default cpu)", "B"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (0 = all cores)", "N"},
      {"input-size", 's', 0, G_OPTION_ARG_STRING, &size, "Net input W or WxH (default: the model's)", "S"},
      {"out-dir", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir, "Directory for the outputs (created)", "D"},
      {0}};
  if (!cli_parse(&argc, &argv, "IMAGE…",
                 "Reads PNG or JPEG images. Writes, per image, NAME.labels.png (grey class indices at the image's resolution),\n"
                 "NAME.overlay.png (class colours blended over the image) and NAME.probs.npy\n"
                 "(the coarse C×h×w float32 probability map). With --unary, also NAME.final.png:\n"
                 "the proposal (DivMBest on the superpixel CRF) that eq. 17 or --ranker picks,\n"
                 "grey class indices at the image's resolution.",
                 entries))
    return 2;
  if (argc < 2 || !out_dir) {
    fprintf(stderr, "segrank infer: needs --out-dir and at least one image\n");
    return 2;
  }
  sr_model *m;
  sr_backend *b;
  sr_net *net;
  if (!cli_open_net(model, backend, threads, &m, &b, &net)) return 1;
  int in_w = m->input_w, in_h = m->input_h;
  if (size && !cli_parse_size(size, &in_w, &in_h)) {
    fprintf(stderr, "segrank infer: bad --input-size '%s'\n", size);
    return 2;
  }
  if (g_mkdir_with_parents(out_dir, 0755) != 0) {
    fprintf(stderr, "segrank infer: cannot create %s\n", out_dir);
    return 1;
  }
  final_stage fs = {0};
  sr_unary_model *um = NULL;
  sr_error err = {0};
  int rc = 0;
  if (ranker && !unary) {
    fprintf(stderr, "segrank infer: --ranker needs --unary\n");
    rc = 2;
  } else if (unary) {
    sr_proposer_params pp;
    sr_proposer_params_default(&pp);
    pp.threads = threads;
    if (ranker && !strcmp(ranker, "default")) ranker = (char *)sr_default_ranker_path();
    if (ranker && sr_ranker_load(ranker, m->classes, m->n_classes, &fs.ranker, &err) != SR_OK) {
      rc = cli_fail(&err);
      goto run;
    }
    int trained_m = fs.ranker ? sr_ranker_trained_m(fs.ranker) : 0;
    pp.num_solutions = num > 0 ? num : trained_m > 0 ? trained_m : pp.num_solutions;
    if (trained_m && trained_m != pp.num_solutions)
      fprintf(stderr, "segrank infer: warning: %s was trained with M = %d, run here with M = %d\n", ranker, trained_m,
              pp.num_solutions);
    fs.m = pp.num_solutions;
    if (sr_unary_model_load(strcmp(unary, "default") ? unary : sr_default_unary_model_path(), &um, &err) != SR_OK ||
        sr_proposer_new(um, &pp, &fs.proposer, &err) != SR_OK ||
        (fs.ranker && sr_ranker_classifier(fs.ranker) && sr_net_set_tap(net, SR_IMAGE_DESCRIPTOR_LAYER, &err) != SR_OK))
      rc = cli_fail(&err);
  }
run:;
  sr_tensor input = {0}, probs = {0};
  sr_tensor_alloc(&input, 1, 3, in_h, in_w);
  for (int i = 1; i < argc && !rc; i++) rc = infer_one(net, m, argv[i], out_dir, in_w, in_h, &input, &probs, &fs);
  sr_proposer_free(fs.proposer);
  sr_ranker_free(fs.ranker);
  sr_unary_model_free(um);
  sr_tensor_clear(&input);
  sr_tensor_clear(&probs);
  sr_net_free(net);
  sr_backend_free(b);
  sr_model_free(m);
  return rc;
}

int cmd_forward(int argc, char **argv) {
  char *model = NULL, *backend = "cpu", *in_path = NULL, *out_path = NULL;
  int threads = 0;
  GOptionEntry entries[] = {
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (default: the shipped model)", "M"},
      {"backend", 'b', 0, G_OPTION_ARG_STRING, &backend, "Compute backend: " CLI_BACKENDS " (default cpu)", "B"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (0 = all cores)", "N"},
      {"input", 'i', 0, G_OPTION_ARG_FILENAME, &in_path, "Input .npy, float32 N×3×H×W, preprocessed", "X.npy"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Output .npy, float32 N×C×h×w probabilities", "Y.npy"},
      {0}};
  if (!cli_parse(&argc, &argv, "",
                 "Runs the net on a tensor exactly as given (no resizing, no mean subtraction):\n"
                 "the hook for cross-checking against other frameworks.",
                 entries))
    return 2;
  if (!in_path || !out_path) {
    fprintf(stderr, "segrank forward: needs --input and --output\n");
    return 2;
  }
  sr_error err = {0};
  float *data;
  int shape[4], rank;
  if (sr_npy_load(in_path, &data, shape, &rank, &err) != SR_OK) return cli_fail(&err);
  if (rank != 4 || shape[1] != 3) {
    free(data);
    fprintf(stderr, "segrank forward: %s must be N×3×H×W\n", in_path);
    return 1;
  }
  sr_model *m;
  sr_backend *b;
  sr_net *net;
  if (!cli_open_net(model, backend, threads, &m, &b, &net)) return 1;
  sr_tensor x = {shape[0], 3, shape[2], shape[3], data}, y = {0};
  int rc = 0;
  if (sr_net_forward(net, &x, &y, &err) != SR_OK) {
    rc = cli_fail(&err);
  } else {
    int oshape[4] = {y.n, y.c, y.h, y.w};
    if (sr_npy_save(out_path, y.data, oshape, 4, &err) != SR_OK) rc = cli_fail(&err);
  }
  free(data);
  sr_tensor_clear(&y);
  sr_net_free(net);
  sr_backend_free(b);
  sr_model_free(m);
  return rc;
}
