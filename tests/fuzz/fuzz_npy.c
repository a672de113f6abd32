/* fuzz_npy.c: libFuzzer target for .npy arrays (sr_npy_load). */
#include <stdlib.h>

#include "fuzz_file.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = fuzz_write("in.npy", data, size);
  float *v = NULL;
  int shape[4], rank = 0;
  sr_error err = {0};
  if (sr_npy_load(p, &v, shape, &rank, &err) == SR_OK) free(v);
  return 0;
}
