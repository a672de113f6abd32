/* cli.h: what the segrank subcommands share: the command table and helpers
 * for loading a model and reporting errors. */
#ifndef SR_CLI_H
#define SR_CLI_H

#include <glib.h>

#include "segrank.h"

/* What --backend and --dataset accept, for every command's help: the names
 * sr_backend_check and sr_dataset_open take in this build (tests/cli_help.sh
 * checks). */
#if defined(SR_HAVE_VULKAN) && defined(SR_HAVE_CUDA)
#define CLI_BACKENDS "auto, cpu, ref, vulkan or cuda (auto: cuda on a GPU, else vulkan on a real GPU, else cpu)"
#elif defined(SR_HAVE_CUDA)
#define CLI_BACKENDS "auto, cpu, ref or cuda (auto: cuda on a GPU, else cpu)"
#elif defined(SR_HAVE_VULKAN)
#define CLI_BACKENDS "auto, cpu, ref or vulkan (auto: vulkan on a real GPU, else cpu)"
#else
#define CLI_BACKENDS "auto, cpu or ref (auto: cpu)"
#endif
#define CLI_DATASETS "camvid:DIR, voc:DIR, sbd:DIR or folder:IMAGES,LABELS"

int cmd_infer(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_import_caffe(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train_unary(int argc, char **argv);
int cmd_propose(int argc, char **argv);
int cmd_rerank(int argc, char **argv);
int cmd_train_ranker(int argc, char **argv);
/* `segrank eval --proposals DIR`: MAP, oracle@M and diversity of a proposal folder. */
int cmd_eval_proposals(int argc, char **argv);

/* `segrank bench --superpixels`: our SLIC against vlfeat's on the images of
 * camvid:@camvid_dir split @split (at most @max_images, 0: all) at
 * @n_superpixels: time per frame, boundary recall, under-segmentation error.
 * Returns the exit code. */
int bench_superpixels(const char *camvid_dir, const char *split, int n_superpixels, int threads, int max_images);
/* `segrank bench --proposals`: time per stage of the proposal source on a
 * 480×360 frame (@image: a PNG, or NULL for a synthetic frame) with
 * @num_solutions DivMBest solutions. Returns the exit code. */
int bench_proposals(const char *unary_model, const char *image, int num_solutions, int threads, int runs);

/* Parses @argv with @entries; prints the error or help and returns FALSE.
 * The strings and string arrays it sets are freed when the command returns
 * (commands must not free them). */
gboolean cli_parse(int *argc, char ***argv, const char *params, const char *summary, const GOptionEntry *entries);
/* Prints "segrank: <message>" to stderr and returns 1. */
int cli_fail(const sr_error *err);
/* Checks @backend (sr_backend_check), then loads @path (NULL: the default
 * model) and binds it to @backend. */
gboolean cli_open_net(const char *path, const char *backend, int threads, sr_model **m, sr_backend **b,
                      sr_net **net);
/* Monotonic seconds. */
double cli_now_s(void);
/* "\rWHAT done/total  rate images/s  ETA s" on stderr (newline when done),
 * for a loop that started at @t0 (cli_now_s). */
void cli_progress(const char *what, int done, int total, double t0);
/* An image's file name without its extension: the name of its proposal
 * folder ("0016E5_07959.png" → "0016E5_07959"). g_free it. */
char *cli_stem(const char *name);
/* A view of the images of @ds whose names start with one of the
 * comma-separated prefixes of @only (nullable: all) and none of @exclude
 * (nullable), then every @stride-th of those. */
void cli_filter_names(const sr_dataset *ds, const char *only, const char *exclude, int stride, sr_dataset *out);
/* The images of fold @fold of sr_fold_plan(@ds, @folds) (@held_out) or all
 * the others (!@held_out), as a view of @ds: the same folds as
 * `segrank train --folds`. */
void cli_fold_subset(const sr_dataset *ds, int folds, int fold, gboolean held_out, sr_dataset *out);
/* Whether the unary model's provenance says fold @fold of @folds was held
 * out of its training (`segrank train-unary --folds K --fold F`). */
gboolean cli_unary_holds_out_fold(const sr_unary_model *m, int fold, int folds);
/* Parses "W" or "WxH" into a size; FALSE on anything else. */
gboolean cli_parse_size(const char *s, int *w, int *h);

/* sr_confusion_init, or a message and exit(1) when memory runs out. */
void cli_confusion_init(sr_confusion *c, int k);

#endif
