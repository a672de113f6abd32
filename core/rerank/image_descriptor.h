/* image_descriptor.h: the image-level descriptor the re-ranker's
 * classification features are computed from: the net's conv5 output
 * (after relu5; sr_net_set_tap(net, "conv5")) pooled over the map, per
 * channel its mean and its maximum. 2 × 256 values for SegNet; any input
 * size gives the same length, so classifiers trained at one frame size
 * apply at another. */
#ifndef SR_IMAGE_DESCRIPTOR_H
#define SR_IMAGE_DESCRIPTOR_H

#include "../tensor.h"

/* The tap layer the descriptor is pooled from. */
#define SR_IMAGE_DESCRIPTOR_LAYER "conv5"

/* Length of the descriptor of an N × C × h × w map: 2C. */
static inline int sr_image_descriptor_dims(const sr_tensor *conv5) { return 2 * conv5->c; }

/* Writes batch item @n's descriptor into @out (2C floats): out[c] = mean of
 * channel c over the map, out[C + c] = its maximum. */
void sr_image_descriptor(const sr_tensor *conv5, int n, float *out);

#endif
