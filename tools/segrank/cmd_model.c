/* cmd_model.c: model-file commands: `init` (random SegNet), `import-caffe`
 * and `info`. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Applies --dataset's class names and colours to @m when the counts agree. */
static gboolean apply_dataset(sr_model *m, const char *dataset) {
  const sr_class *cls;
  int n = sr_dataset_classes(dataset, &cls);
  if (n == 0) {
    fprintf(stderr, "segrank: unknown dataset '%s' (known: camvid, voc)\n", dataset);
    return FALSE;
  }
  if (n != m->n_classes) {
    fprintf(stderr, "segrank: dataset %s has %d classes but the model predicts %d\n", dataset, n, m->n_classes);
    return FALSE;
  }
  memcpy(m->classes, cls, n * sizeof *cls);
  return TRUE;
}

static int save(sr_model *m, const char *out, gboolean fp16) {
  sr_error err = {0};
  int rc = sr_model_save(m, out, fp16 ? SR_DTYPE_F16 : SR_DTYPE_F32, &err) == SR_OK ? 0 : cli_fail(&err);
  if (!rc) printf("wrote %s (%d classes, %d layers, %s)\n", out, m->n_classes, m->n_layers, fp16 ? "fp16" : "fp32");
  sr_model_free(m);
  return rc;
}

int cmd_init(int argc, char **argv) {
  char *out = NULL, *dataset = NULL;
  int classes = 0;
  gint64 seed = 1;
  gboolean fp16 = FALSE;
  GOptionEntry entries[] = {
      {"dataset", 'd', 0, G_OPTION_ARG_STRING, &dataset, "Class table: camvid or voc", "NAME"},
      {"classes", 'c', 0, G_OPTION_ARG_INT, &classes, "Number of classes (without --dataset)", "N"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "S"},
      {"fp16", 0, 0, G_OPTION_ARG_NONE, &fp16, "Store weights as fp16", NULL},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output model file", "OUT"},
      {0}};
  if (!cli_parse(&argc, &argv, "", "Writes the paper's SegNet with He-normal random weights.", entries)) return 2;
  const sr_class *cls = NULL;
  if (dataset && !(classes = sr_dataset_classes(dataset, &cls))) {
    fprintf(stderr, "segrank init: unknown dataset '%s' (known: camvid, voc)\n", dataset);
    return 2;
  }
  if (!out || classes < 2) {
    fprintf(stderr, "segrank init: needs -o and --dataset or --classes ≥ 2\n");
    return 2;
  }
  sr_error err = {0};
  sr_model *m;
  if (sr_model_new_segnet(classes, cls, (uint64_t)seed, &m, &err) != SR_OK) return cli_fail(&err);
  m->provenance = g_strdup_printf("{\"source\":\"random-init\",\"seed\":%" G_GINT64_FORMAT
                                  ",\"note\":\"untrained: predictions are meaningless\"}",
                                  seed);
  return save(m, out, fp16);
}

int cmd_import_caffe(int argc, char **argv) {
  char *out = NULL, *dataset = NULL;
  int classes = 0;
  gint64 seed = 1;
  gboolean fp16 = FALSE;
  GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output model file", "OUT"},
      {"classes", 'c', 0, G_OPTION_ARG_INT, &classes, "Append the SegNet head conv6-8 for N classes", "N"},
      {"dataset", 'd', 0, G_OPTION_ARG_STRING, &dataset, "Class names and colours: camvid or voc", "NAME"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed for the appended head's weights", "S"},
      {"fp16", 0, 0, G_OPTION_ARG_NONE, &fp16, "Store weights as fp16", NULL},
      {0}};
  if (!cli_parse(&argc, &argv, "MODEL.caffemodel",
                 "Maps the layers conv1-conv8 of a CaffeNet-based SegNet (new `layer` or V1 `layers`\n"
                 "records; weights-only files too) onto segrank's SegNet by name. CaffeNet's fc6-8\n"
                 "are dropped. A file without conv6-8 (an ImageNet CaffeNet) gets the paper's head\n"
                 "with random weights for --classes (or --dataset) classes, ready for training.",
                 entries))
    return 2;
  if (argc != 2 || !out) {
    fprintf(stderr, "segrank import-caffe: needs one .caffemodel and -o OUT\n");
    return 2;
  }
  const sr_class *cls;
  if (dataset && !classes) classes = sr_dataset_classes(dataset, &cls);
  sr_caffe_options opt = {classes, (uint64_t)seed};
  sr_error err = {0};
  sr_model *m;
  if (sr_caffe_import(argv[1], &opt, &m, &err) != SR_OK) return cli_fail(&err);
  if (dataset && !apply_dataset(m, dataset)) {
    sr_model_free(m);
    return 1;
  }
  return save(m, out, fp16);
}

int cmd_info(int argc, char **argv) {
  GOptionEntry entries[] = {{0}};
  if (!cli_parse(&argc, &argv, "MODEL", "Prints the model's input, classes, layers, output size and provenance.",
                 entries))
    return 2;
  if (argc != 2) {
    fprintf(stderr, "segrank info: needs one model file\n");
    return 2;
  }
  sr_error err = {0};
  sr_model *m;
  if (sr_model_load(argv[1], &m, &err) != SR_OK) return cli_fail(&err);
  char *header;
  sr_model_read_header(argv[1], &header, &err);
  printf("model       %s\n", argv[1]);
  printf("input       %dx%d, BGR minus mean (%.3f, %.3f, %.3f)\n", m->input_w, m->input_h, m->mean_bgr[0],
         m->mean_bgr[1], m->mean_bgr[2]);
  int oh, ow;
  sr_model_output_size(m, m->input_h, m->input_w, &oh, &ow);
  printf("output      %d classes x %dx%d\n", m->n_classes, ow, oh);
  printf("flops       %.3f GFLOP per frame\n", sr_model_flops(m, m->input_h, m->input_w) / 1e9);
  printf("weights     %s\n", header && strstr(header, "\"F16\"") ? "fp16" : "fp32");
  printf("classes    ");
  for (int i = 0; i < m->n_classes; i++)
    printf(" %d:%s#%02x%02x%02x", i, m->classes[i].name, m->classes[i].rgb[0], m->classes[i].rgb[1],
           m->classes[i].rgb[2]);
  printf("\nlayers\n");
  size_t params = 0;
  for (int i = 0; i < m->n_layers; i++) {
    const sr_layer *l = &m->layers[i];
    printf("  %-8s %-8s", l->name, sr_layer_type_name(l->type));
    if (l->type == SR_LAYER_CONV) {
      size_t n = sr_layer_weight_count(l) + l->conv.out_c;
      params += n;
      printf(" %d->%d %dx%d stride %d pad %d group %d (%zu params)", l->conv.in_c, l->conv.out_c, l->conv.kh,
             l->conv.kw, l->conv.stride, l->conv.pad, l->conv.group, n);
    } else if (l->type == SR_LAYER_MAXPOOL) {
      printf(" %dx%d stride %d pad %d", l->pool.kernel, l->pool.kernel, l->pool.stride, l->pool.pad);
    } else if (l->type == SR_LAYER_LRN) {
      printf(" size %d alpha %g beta %g k %g", l->lrn.size, l->lrn.alpha, l->lrn.beta, l->lrn.k);
    } else if (l->type == SR_LAYER_DROPOUT) {
      printf(" p %g (identity at inference)", l->dropout);
    }
    printf("\n");
  }
  printf("parameters  %zu\n", params);
  printf("provenance  %s\n", m->provenance ? m->provenance : "(none)");
  g_free(header);
  sr_model_free(m);
  return 0;
}

int cmd_convert(int argc, char **argv) {
  char *out = NULL;
  gboolean fp16 = FALSE;
  GOptionEntry entries[] = {{"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output model file", "OUT"},
                            {"fp16", 0, 0, G_OPTION_ARG_NONE, &fp16, "Store weights as fp16", NULL},
                            {0}};
  if (!cli_parse(&argc, &argv, "MODEL",
                 "Rewrites a model (or a training checkpoint, minus its optimizer state) as a\n"
                 "model file, in fp32 or fp16.",
                 entries))
    return 2;
  if (argc != 2 || !out) {
    fprintf(stderr, "segrank convert: needs one model and -o OUT\n");
    return 2;
  }
  sr_error err = {0};
  sr_model *m;
  if (sr_model_load(argv[1], &m, &err) != SR_OK) return cli_fail(&err);
  return save(m, out, fp16);
}
