/* trainer.h: minibatch SGD training of a model on a host backend (ref, cpu)
 * with the paper's losses, checkpoints that resume exactly, progress lines,
 * JSON-lines metrics and a PNG plot of the loss and validation mIoU. */
#ifndef SR_TRAINER_H
#define SR_TRAINER_H

#include <stdbool.h>

#include "../data/augment.h"
#include "../data/dataset.h"
#include "../losses/losses.h"
#include "../model.h"
#include "eval.h"

typedef struct {
  const char *out;        /* final model; also OUT.ckpt, OUT.metrics.jsonl, OUT.png */
  sr_loss loss;
  int batch, epochs;
  double lr, momentum, weight_decay; /* no weight decay on biases */
  int warmup;             /* iterations of linear warm-up, then cosine decay to 0 */
  double clip;            /* rescale the gradient to at most this L2 norm (0: never) */
  sr_augment_params aug;
  uint64_t seed;          /* shuffles, augmentation and dropout derive from it */
  int freeze;             /* leading convolutions kept fixed (5: the paper's mode) */
  bool cache_features;    /* with freeze: compute the frozen layers' output once per image (at eval size,
                             no augmentation but flips), memory-map it from OUT.features, train the rest.
                             With aug.flip the mirrored image is run through the frozen layers too and
                             its features cached beside the image's (twice the cache): a flipped sample
                             gets its own features, not the image's mirrored */
  int checkpoint_every;   /* iterations between checkpoints */
  int eval_every;         /* epochs between validations (0: only at the end) */
  int eval_w, eval_h;     /* validation input size; stored as the model's input size */
  sr_upsample eval_upsample;
  bool resume;            /* continue from OUT.ckpt; refused when the checkpoint was made with another seed,
                             loss (or weights), lr, momentum, weight decay, warm-up, clip, batch, epochs,
                             crop, augmentation, freeze or feature caching. OUT.metrics.jsonl keeps only the
                             checkpoint's epochs (a fresh run starts it empty) */
  long stop_after;        /* stop (with a checkpoint) after this many iterations in total; 0: run to the end */
  bool fp16;              /* store the final model in fp16 */
  const char *command;    /* recorded in the model's provenance */
  const char *provenance_extra; /* nullable: JSON members (`"a":1,"b":[..]`) added to the provenance */
  const char *val_name;   /* what the validation set is, in messages, the curves and the provenance's
                             "val_set" (NULL: "val"; sr_train_folds: "held-out fold") */
} sr_train_config;

/* Trains @m (updated in place) on @train, validating on @val (nullable). */
sr_status sr_train(sr_model *m, sr_backend *b, const sr_dataset *train, const sr_dataset *val,
                   const sr_train_config *cfg, sr_error *err);

/* The fold of each image of @ds for @folds-fold training: contiguous blocks
 * of the images in name order (image i of the sorted list goes to fold
 * floor(i·K/n)). Video frames are named in time order, so a held-out
 * frame's neighbours are held out with it (random folds would leave
 * near-duplicate neighbours in training, and the "out-of-fold" predictions
 * would be nearly in-domain). Fills @fold_of (ds->n entries); SR_ERR_NOMEM
 * when its sort index cannot be allocated. */
sr_status sr_fold_plan(const sr_dataset *ds, int folds, int *fold_of, sr_error *err);

/* K-fold training (the paper uses 10 folds): model f starts from @proto,
 * trains on every fold but f (sr_fold_plan; written to OUT.fold<f>.srmodel
 * where OUT is cfg->out without ".srmodel", validated on fold f, its
 * provenance naming the fold and the held-out images), then writes its
 * coarse predictions for fold f's images to OUT.oof/NAME.npy (C × h × w at
 * the validation size). Every training image thus gets a prediction from a
 * model that did not see it: the re-ranker's training data.
 * OUT.oof/folds.json records the plan ({"folds":K,"images":[{"name","fold"}],
 * "models":[...]}); a later run with another plan (other K or images) is
 * refused. @only_fold ≥ 0 trains that fold alone (-1: all, in order). A
 * fold whose model already exists is not retrained (its predictions are
 * rewritten); with cfg->resume a fold continues from its checkpoint when it
 * has one. When cfg->stop_after stops a fold early, nothing more is done
 * and *@complete (nullable) is false. */
sr_status sr_train_folds(const sr_model *proto, sr_backend *b, const sr_dataset *train, int folds, int only_fold,
                         const sr_train_config *cfg, bool *complete, sr_error *err);

/* Whether a model with @provenance (its JSON text, nullable) never trained
 * on the image @name: every model in its history made by `segrank train`
 * (the provenance itself and its "init" chain) lists @name in "held_out".
 * Models not made by `segrank train` (random starts, Caffe imports) have
 * seen no image of the split. */
bool sr_provenance_holds_out(const char *provenance, const char *name);

/* The file names sr_train_folds uses for @out (cfg->out): OUT.fold<f>.srmodel
 * and OUT.oof (g_free them). */
char *sr_fold_model_path(const char *out, int fold);
char *sr_fold_oof_dir(const char *out);

/* Times training steps (forward without dropout, as the PyTorch peer's head
 * and our from-scratch recipe run, CE on random soft targets, backward, SGD
 * update) at @batch: from the input (@paper_mode false, an
 * @h × @w crop) or from cached conv5 features of an @h × @w input (conv6-8
 * only). Returns the median milliseconds per step over @steps. */
sr_status sr_train_bench(const sr_model *m, sr_backend *b, bool paper_mode, int batch, int h, int w, int steps,
                         double *ms_per_step, sr_error *err);

/* One forward + backward pass of @m in training mode (dropout from @seed)
 * on @input (B × 3 × H × W): returns the loss in @value and fills @dw/@db
 * (indexed by layer) with the gradients. Exposed for gradient checks. */
sr_status sr_train_gradients(const sr_model *m, sr_backend *b, const sr_loss *loss, const sr_tensor *input,
                             const uint8_t *labels, int void_label, uint64_t seed, bool dropout, double *value,
                             float **dw, float **db, sr_error *err);

#endif
