/* caffe_import.h: .caffemodel (binary NetParameter) to sr_model. */
#ifndef SR_CAFFE_IMPORT_H
#define SR_CAFFE_IMPORT_H

#include <stdint.h>

#include "../model.h"

typedef struct {
  /* Stop after this layer (NULL: after the last mappable layer; when the net
   * goes on with layers we cannot map, such as CaffeNet's fc6, a layer named
   * "relu5" ends the trunk as in the paper). */
  const char *trunk;
  /* When the imported layers do not end in a softmax, the SegNet head
   * conv6–8 is appended for this many classes (randomly initialised);
   * 0 = such a file is an error. */
  int classes;
  uint64_t seed;
} sr_caffe_options;

/* Imports @path. Returns (transfer full) the model in @out. Every layer it
 * cannot map, every shape or parameter it cannot honour, is an error that
 * names the file and the layer. */
sr_status sr_caffe_import(const char *path, const sr_caffe_options *opt, sr_model **out, sr_error *err);

#endif
