/* float_arrays.h: the named float32 arrays that follow the JSON header of the
 * .srranker and .srunary files. The header's "tensors" object gives each
 * array its dtype (F32), shape and data_offsets [begin, end) in bytes from
 * the start of the data section; the data section holds the arrays' values,
 * little-endian float32, in order, tiling it exactly. This file owns the
 * description, the writer (the whole file, atomically) and the checked
 * reader; the file-specific value checks stay with each format. */
#ifndef SR_FLOAT_ARRAYS_H
#define SR_FLOAT_ARRAYS_H

#include <json-glib/json-glib.h>
#include <stddef.h>

#include "../status.h"

typedef struct {
  const char *name;
  int rows, cols;         /* rows 0: a vector of cols */
  float *data;
  const char *shape_hint; /* appended to a shape mismatch message; NULL: none */
} sr_float_array;

/* The number of values of @a. */
size_t sr_float_array_count(const sr_float_array *a);

/* Adds the "tensors" member describing the @n arrays of @arr, in order, to
 * the object @b is building. */
void sr_float_arrays_describe(JsonBuilder *b, const sr_float_array *arr, int n);

/* Writes @path atomically: the length-prefixed @header, then the values of
 * the @n arrays. Refuses (SR_ERR_INVALID, nothing written) when a value is
 * not finite. */
sr_status sr_float_arrays_save(const char *path, const char *header, const sr_float_array *arr, int n,
                               sr_error *err);

/* Fills the @n arrays of @arr from the @data_len-byte data section @data,
 * as the "tensors" object of the header @o describes it: exactly these
 * arrays, dtype F32, the expected shapes, contiguous offsets in order that
 * cover the data section exactly, every value finite. Errors are
 * SR_ERR_FORMAT, "@path: reason". */
sr_status sr_float_arrays_read(const char *path, JsonObject *o, const guint8 *data, guint64 data_len,
                               const sr_float_array *arr, int n, sr_error *err);

#endif
