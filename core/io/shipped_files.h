/* shipped_files.h: where the shipped model files (net, unary model, ranker)
 * are found: the environment variable naming one, else the installed copy,
 * else the build tree's (so uninstalled builds work). The public look-ups
 * are declared beside their formats: sr_default_model_path (model.h),
 * sr_default_unary_model_path (proposals/unary/unary_model.h) and
 * sr_default_ranker_path (rerank/ranker.h). */
#ifndef SR_SHIPPED_FILES_H
#define SR_SHIPPED_FILES_H

/* $@env_var if set and not empty, else @installed if it exists, else
 * @built. All three must outlive the caller (compile-time strings). */
const char *sr_shipped_file(const char *env_var, const char *installed, const char *built);

#endif
