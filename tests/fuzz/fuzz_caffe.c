/* fuzz_caffe.c: libFuzzer target for the Caffe importer (.caffemodel, a
 * binary NetParameter), with and without a requested class count. */
#include "fuzz_file.h"
#include "io/caffe_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = fuzz_write("in.caffemodel", data, size);
  for (int classes = 0; classes <= 11; classes += 11) {
    sr_caffe_options opt = {.classes = classes, .seed = 1};
    sr_error err = {0};
    sr_model *m = NULL;
    if (sr_caffe_import(p, &opt, &m, &err) == SR_OK) sr_model_free(m);
  }
  return 0;
}
