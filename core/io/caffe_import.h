/* caffe_import.h: .caffemodel (binary NetParameter) to sr_model. */
#ifndef SR_CAFFE_IMPORT_H
#define SR_CAFFE_IMPORT_H

#include <stdint.h>

#include "../model.h"

typedef struct {
  /* Classes of the SegNet head. A file without conv6-8 (an ImageNet
   * CaffeNet) needs it: the head is then randomly initialised from @seed, as
   * the paper's training starts. With conv6-8 present, 0 or conv8's count. */
  int classes;
  uint64_t seed;
} sr_caffe_options;

/* Imports @path. Returns (transfer full) the model in @out. Every layer it
 * cannot map, every shape or parameter it cannot honour, is an error that
 * names the file and the layer. */
sr_status sr_caffe_import(const char *path, const sr_caffe_options *opt, sr_model **out, sr_error *err);

#endif
