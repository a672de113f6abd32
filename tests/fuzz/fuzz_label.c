/* fuzz_label.c: libFuzzer target for dataset label maps as datasets read
 * them (sr_label_png_load: palette indices or raw grey values). */
#include "fuzz_file.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = fuzz_write("in.png", data, size);
  sr_image img = {0};
  sr_error err = {0};
  if (sr_label_png_load(p, &img, &err) == SR_OK) sr_image_clear(&img);
  return 0;
}
