/* shipped_files.h: where the shipped model files (net, unary model, ranker)
 * are found: the environment variable naming one, else the copy that goes
 * with the running code: the build tree's when this library was loaded
 * from the build tree (uninstalled use never picks up an older installed
 * copy), the installed one otherwise; each falling back on the other. The public look-ups
 * are declared beside their formats: sr_default_model_path (model.h),
 * sr_default_unary_model_path (proposals/unary/unary_model.h) and
 * sr_default_ranker_path (rerank/ranker.h). */
#ifndef SR_SHIPPED_FILES_H
#define SR_SHIPPED_FILES_H

/* $@env_var if set and not empty, else the first of @built and @installed
 * (in the order above) that exists, else the preferred one. All three must
 * outlive the caller (compile-time strings). */
const char *sr_shipped_file(const char *env_var, const char *installed, const char *built);

#endif
