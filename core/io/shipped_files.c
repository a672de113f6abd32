/* shipped_files.c: the look-up of shipped model files and its three users. */
#include "shipped_files.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "../model.h"
#include "../proposals/unary/unary_model.h"
#include "../rerank/ranker.h"
#include "sr_config.h"

const char *sr_shipped_file(const char *env_var, const char *installed, const char *built) {
  const char *env = getenv(env_var);
  if (env && *env) return env;
  struct stat st;
  return stat(installed, &st) == 0 ? installed : built;
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
