/* fuzz_ranker.c: libFuzzer target for ranking-SVM .srranker files
 * (sr_ranker_load, without and with an expected class list). */
#include "fuzz_file.h"
#include "rerank/ranker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = fuzz_write("in.srranker", data, size);
  sr_ranker *r = NULL;
  sr_error err = {0};
  if (sr_ranker_load(p, NULL, 0, &r, &err) == SR_OK) sr_ranker_free(r);
  return 0;
}
