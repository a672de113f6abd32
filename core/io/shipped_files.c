/* shipped_files.c: the look-up of shipped model files and its three users. */
#include "shipped_files.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../model.h"
#include "../proposals/unary/unary_model.h"
#include "../rerank/ranker.h"
#include "sr_config.h"

/* Whether the code of this function was loaded from under the build root
 * (the uninstalled shared library, or a test or tool linking the static
 * one). */
static bool loaded_from_build_tree(void) {
  Dl_info info;
  char real[PATH_MAX], root[PATH_MAX];
  if (!dladdr((void *)&loaded_from_build_tree, &info) || !info.dli_fname || !realpath(info.dli_fname, real) ||
      !realpath(SR_BUILD_ROOT, root))
    return false;
  size_t n = strlen(root);
  return !strncmp(real, root, n) && real[n] == '/';
}

const char *sr_shipped_file(const char *env_var, const char *installed, const char *built) {
  const char *env = getenv(env_var);
  if (env && *env) return env;
  const char *first = loaded_from_build_tree() ? built : installed, *second = first == built ? installed : built;
  struct stat st;
  return stat(first, &st) == 0 || stat(second, &st) != 0 ? first : second;
}

/* Each candidate is a compile-time string: no buffer shared between threads. */
const char *sr_default_model_path(void) {
  return sr_shipped_file("SEGRANK_MODEL", SR_MODEL_INSTALL_DIR "/" SR_DEFAULT_MODEL_NAME,
                         SR_MODEL_BUILD_DIR "/" SR_DEFAULT_MODEL_NAME);
}

const char *sr_default_unary_model_path(void) {
  return sr_shipped_file("SEGRANK_UNARY_MODEL", SR_MODEL_INSTALL_DIR "/" SR_DEFAULT_UNARY_MODEL_NAME,
                         SR_MODEL_BUILD_DIR "/" SR_DEFAULT_UNARY_MODEL_NAME);
}

const char *sr_default_ranker_path(void) {
  return sr_shipped_file("SEGRANK_RANKER", SR_MODEL_INSTALL_DIR "/" SR_DEFAULT_RANKER_NAME,
                         SR_MODEL_BUILD_DIR "/" SR_DEFAULT_RANKER_NAME);
}
