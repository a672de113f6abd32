/* fuzz_model.c: libFuzzer target for .srmodel files and checkpoints
 * (sr_model_load, sr_checkpoint_load). */
#include "fuzz_file.h"
#include "segrank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = fuzz_write("in.srmodel", data, size);
  sr_error err = {0};
  sr_model *m = NULL;
  if (sr_model_load(p, &m, &err) == SR_OK) sr_model_free(m);
  float **mw = NULL, **mb = NULL;
  char *state = NULL;
  if (sr_checkpoint_load(p, &m, &mw, &mb, &state, &err) == SR_OK) {
    sr_param_buffers_free(m->n_layers, mw, mb);
    sr_model_free(m);
    g_free(state);
  }
  return 0;
}
