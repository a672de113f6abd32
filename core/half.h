/* half.h: IEEE 754 binary16 <-> binary32 conversion for fp16 weight storage. */
#ifndef SR_HALF_H
#define SR_HALF_H

#include <stdint.h>

uint16_t sr_f32_to_f16(float f); /* round to nearest even, overflow to inf */
float sr_f16_to_f32(uint16_t h);

#endif
