/* augment.h: training-time augmentation: random scale, crop (padded with the
 * mean colour and void), horizontal flip and brightness/contrast jitter. */
#ifndef SR_AUGMENT_H
#define SR_AUGMENT_H

#include <stdint.h>

#include "../image.h"
#include "../rng.h"

typedef struct {
  int crop_w, crop_h;
  float scale_min, scale_max; /* 1, 1: no scaling */
  int flip;                   /* random horizontal flip */
  float jitter;               /* brightness/contrast jitter amplitude (0: none) */
} sr_augment_params;

/* Draws one augmented crop of (@img, @lab): @input gets 3 × crop_h × crop_w
 * preprocessed values (BGR minus @mean), @labels crop_h × crop_w indices,
 * with @void_label where the crop leaves the scaled image. */
void sr_augment(const sr_image *img, const sr_image *lab, const sr_augment_params *p, const float mean_bgr[3],
                int void_label, sr_rng *rng, float *input, uint8_t *labels);

#endif
