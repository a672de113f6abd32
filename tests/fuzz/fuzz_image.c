/* fuzz_image.c: libFuzzer target for image loading: PNG and JPEG as RGB and
 * as grey (sr_image_load, by extension; JPEG when the input starts with
 * JPEG's SOI marker). */
#include "fuzz_file.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int jpeg = size >= 2 && data[0] == 0xFF && data[1] == 0xD8;
  const char *p = fuzz_write(jpeg ? "in.jpg" : "in.png", data, size);
  for (int grey = 0; grey < 2; grey++) {
    sr_image img = {0};
    sr_error err = {0};
    if (sr_image_load(p, grey, &img, &err) == SR_OK) sr_image_clear(&img);
  }
  return 0;
}
