/* cli.h: what the segrank subcommands share: the command table and helpers
 * for loading a model and reporting errors. */
#ifndef SR_CLI_H
#define SR_CLI_H

#include <glib.h>

#include "segrank.h"

int cmd_infer(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_import_caffe(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);

/* Parses @argv with @entries; prints the error or help and returns FALSE. */
gboolean cli_parse(int *argc, char ***argv, const char *params, const char *summary, const GOptionEntry *entries);
/* Prints "segrank: <message>" to stderr and returns 1. */
int cli_fail(const sr_error *err);
/* Loads @path (NULL: the default model) and binds it to @backend. */
gboolean cli_open_net(const char *path, const char *backend, int threads, sr_model **m, sr_backend **b,
                      sr_net **net);
/* Parses "W" or "WxH" into a size; FALSE on anything else. */
gboolean cli_parse_size(const char *s, int *w, int *h);

#endif
