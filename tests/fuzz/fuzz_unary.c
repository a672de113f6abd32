/* fuzz_unary.c: libFuzzer target for the unary classifier's .srunary files
 * (sr_unary_model_load). */
#include "fuzz_file.h"
#include "proposals/unary/unary_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = fuzz_write("in.srunary", data, size);
  sr_unary_model *m = NULL;
  sr_error err = {0};
  if (sr_unary_model_load(p, &m, &err) == SR_OK) sr_unary_model_free(m);
  return 0;
}
