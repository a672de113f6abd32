/* fuzz_scores.c: libFuzzer target for a proposal folder's scores.json
 * (sr_proposal_set_load_dir on a folder of two fixed 4×3 label PNGs, 00.png
 * and 01.png, beside the input as scores.json). */
#include "fuzz_file.h"
#include "image.h"
#include "proposals/proposal_set.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  const char *p = fuzz_write("scores.json", data, size);
  char *dir = g_path_get_dirname(p);
  if (!ready) {
    uint8_t px[12] = {0, 1, 2, 3, 0, 1, 2, 3, 255, 0, 1, 2};
    sr_image img = {4, 3, 1, px};
    sr_error err = {0};
    for (int k = 0; k < 2; k++) {
      char *png = g_strdup_printf("%s/0%d.png", dir, k);
      if (sr_image_save_png(png, &img, &err) != SR_OK) abort();
      g_free(png);
    }
    ready = 1;
  }
  sr_proposal_set s = {0};
  sr_error err = {0};
  if (sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 0, &s, &err) == SR_OK) sr_proposal_set_clear(&s);
  g_free(dir);
  return 0;
}
