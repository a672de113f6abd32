/* model.h: sr_model, the network description (an ordered layer list with
 * host weights) plus what an application needs to use its output: input size,
 * mean, class names and colours, and training provenance. Models come from a
 * model file (model_file.c), a Caffe import (caffe_import.c) or the SegNet
 * template below. */
#ifndef SR_MODEL_H
#define SR_MODEL_H

#include <stdint.h>

#include "backends/backend.h"
#include "status.h"

#define SR_LAYER_TYPE_LIST(X) \
  X(SR_LAYER_CONV, "conv")    \
  X(SR_LAYER_RELU, "relu")    \
  X(SR_LAYER_MAXPOOL, "maxpool") \
  X(SR_LAYER_LRN, "lrn")      \
  X(SR_LAYER_DROPOUT, "dropout") \
  X(SR_LAYER_SOFTMAX, "softmax")

typedef enum {
#define SR_X_ENUM(e, s) e,
  SR_LAYER_TYPE_LIST(SR_X_ENUM)
#undef SR_X_ENUM
} sr_layer_type;

typedef struct {
  sr_layer_type type;
  char name[32];
  sr_conv_params conv; /* SR_LAYER_CONV; conv.in_c is derived from the chain */
  sr_pool_params pool; /* SR_LAYER_MAXPOOL */
  sr_lrn_params lrn;   /* SR_LAYER_LRN */
  float dropout;       /* SR_LAYER_DROPOUT: drop probability (identity at inference) */
  float *weight;       /* conv: out_c × in_c/group × kh × kw (owned) */
  float *bias;         /* conv: out_c (owned) */
} sr_layer;

typedef struct {
  char name[48];
  uint8_t rgb[3];
} sr_class;

typedef struct {
  int input_w, input_h; /* default net input size */
  float mean_bgr[3];    /* subtracted from 0..255 BGR input */
  int n_classes;
  sr_class *classes;
  int n_layers;
  sr_layer *layers;
  char *provenance; /* JSON object text (nullable): how the weights were made */
} sr_model;

const char *sr_layer_type_name(sr_layer_type t);
/* Returns 0 and sets @t when @name is a layer type name. */
int sr_layer_type_from_name(const char *name, sr_layer_type *t);

/* CaffeNet conv1–5 + conv6–8 (the paper's SegNet) for @n_classes classes
 * with He-normal weights drawn from @seed (conv8 N(0, 0.01²), biases 0).
 * @classes (nullable) gives names and colours; otherwise "class<i>" and a
 * generated palette. Returns (transfer full) the model in @out. */
sr_status sr_model_new_segnet(int n_classes, const sr_class *classes, uint64_t seed, sr_model **out,
                              sr_error *err);

/* Building blocks for importers: an empty model with room for @max_layers
 * layers (227×227 input, Caffe mean; NULL when memory runs out), class names
 * "class<i>" with a generated palette (out of memory: no classes, n_classes
 * 0, which validation refuses), the SegNet head (drop6 conv6 relu6 drop7
 * conv7 relu7 drop8 conv8 prob; needs 9 free layer slots), and random
 * weights for every convolution that has none yet (validates the model
 * first). */
sr_model *sr_model_new_empty(int max_layers);
void sr_model_set_default_classes(sr_model *m, int n_classes);
void sr_model_append_head(sr_model *m, int n_classes);
sr_status sr_model_init_missing(sr_model *m, uint64_t seed, sr_error *err);

/* Checks the layer chain: parameters in range, channels consistent, weights
 * present, the last conv's outputs equal n_classes, output shape non-empty at
 * the default input size. Fills conv.in_c. */
sr_status sr_model_validate(sr_model *m, sr_error *err);

/* Output map size (classes × @oh × @ow) for an input of @h × @w.
 * Returns SR_ERR_INVALID when the input is too small for the net. */
sr_status sr_model_output_size(const sr_model *m, int h, int w, int *oh, int *ow);

/* Multiply-adds ×2 of the convolutions for one frame of @h × @w. */
double sr_model_flops(const sr_model *m, int h, int w);

/* Number of weights of convolution @l: out_c × in_c/group × kh × kw. */
size_t sr_layer_weight_count(const sr_layer *l);

/* Zeroed float buffers shaped like every convolution's weights (@w) and
 * bias (@b), indexed by layer, NULL for other layers: gradients, momentum.
 * (transfer full) free with sr_param_buffers_free. Returns SR_ERR_NOMEM,
 * with nothing allocated and *@w = *@b = NULL, when memory runs out (the
 * caller names what the buffers were for). */
sr_status sr_param_buffers_new(const sr_model *m, float ***w, float ***b);
void sr_param_buffers_free(int n_layers, float **w, float **b);

/* A deep copy (transfer full); NULL when memory runs out. */
sr_model *sr_model_copy(const sr_model *m);

void sr_model_free(sr_model *m);

/* Model files (model_file.c). Loading validates everything against the
 * header and rejects truncated, oversized or inconsistent files. */
typedef enum { SR_DTYPE_F32, SR_DTYPE_F16 } sr_dtype;
/* The version of the .srmodel format this build writes and reads (the
 * header's __metadata__.segrank.version); a file of another version is
 * refused with both versions and releases named (docs/format-model.md). */
#define SR_MODEL_FORMAT_VERSION 1
sr_status sr_model_load(const char *path, sr_model **out, sr_error *err); /* checkpoints load too */
/* Writes atomically (temp file, fsync, rename). */
sr_status sr_model_save(const sr_model *m, const char *path, sr_dtype dtype, sr_error *err);
/* Training checkpoints: a model file (fp32) that also holds the momentum of
 * every convolution ("momentum.<layer>.weight|bias", indexed by layer here,
 * NULL for other layers) and a JSON training state. One file, written
 * atomically, so weights and optimizer state can never disagree. */
sr_status sr_checkpoint_save(const sr_model *m, float *const *mom_w, float *const *mom_b, const char *train_state,
                             const char *path, sr_error *err);
sr_status sr_checkpoint_load(const char *path, sr_model **out, float ***mom_w, float ***mom_b, char **train_state,
                             sr_error *err);

/* The header's JSON text (transfer full, g_free) for `segrank info`. */
sr_status sr_model_read_header(const char *path, char **json, sr_error *err);

/* Path of the shipped default model: $SEGRANK_MODEL if set, else the
 * installed copy, else the build tree's. (transfer none) */
const char *sr_default_model_path(void);

#endif
