/* npy.h: NumPy .npy files (version 1.0, little-endian float32, C order), the
 * exchange format for probability maps and raw net inputs. */
#ifndef SR_NPY_H
#define SR_NPY_H

#include <stddef.h>

#include "../status.h"

/* Writes atomically. */
sr_status sr_npy_save(const char *path, const float *data, const int *shape, int rank, sr_error *err);
/* Reads a '<f4' array of rank ≤ 4; returns (transfer full, free()) the data. */
sr_status sr_npy_load(const char *path, float **data, int *shape, int *rank, sr_error *err);

#endif
