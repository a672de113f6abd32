/* ranker_inputs.h: what the re-ranker needs from the net for each image of
 * a split — its coarse distribution and its conv5 descriptor — either from
 * the deployment net (every image under one net), or out of fold: each
 * training image's distribution from the fold model that did not train on
 * it (`segrank train --folds K -o OUT`: OUT.oof/folds.json, OUT.fold<f>.srmodel,
 * OUT.oof/NAME.npy), plus every image's descriptor under every fold model
 * (fold f's image classifier trains on fold f's own training images). */
#ifndef SR_RANKER_INPUTS_H
#define SR_RANKER_INPUTS_H

#include "segrank.h"

typedef struct {
  int n;          /* images (the dataset's order) */
  int k, h, w;    /* classes and net grid of the distributions */
  int dims;       /* descriptor length */
  float *probs;   /* n × k × h × w: each image's distribution (OOF or deployment) */
  float *desc;    /* n × dims: each image's descriptor under the same net */
  int folds;      /* 0: the deployment net */
  int *fold;      /* n: the fold holding each image out (NULL without folds) */
  float *fold_desc; /* folds × n × dims: every image under every fold model (NULL without folds) */
} ranker_inputs;

/* Every image of @ds under the net @m (threads for the cpu backend). */
sr_status ranker_inputs_from_net(const sr_model *m, const sr_dataset *ds, int threads, ranker_inputs *out,
                                 sr_error *err);

/* Out of fold, from the folds written for @folds_out (the -o of
 * `segrank train --folds`). Checks that the plan lists every image of @ds,
 * that each fold model's provenance names its image as held out (a model
 * that trained on the image is refused), and that OUT.oof/NAME.npy agrees
 * with the fold model's own output. */
sr_status ranker_inputs_from_folds(const char *folds_out, const sr_dataset *ds, int threads, ranker_inputs *out,
                                   sr_error *err);

void ranker_inputs_clear(ranker_inputs *r);

/* Image @i's distribution as the re-ranking code takes it. */
static inline sr_coarse_dist ranker_inputs_dist(const ranker_inputs *r, int i) {
  return (sr_coarse_dist){r->probs + (size_t)i * r->k * r->h * r->w, r->k, r->h, r->w};
}

#endif
