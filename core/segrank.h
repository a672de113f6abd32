/* segrank.h: the public C API of libsegrank (umbrella header). */
#ifndef SEGRANK_H
#define SEGRANK_H

#include "backends/backend.h"
#include "classes.h"
#include "image.h"
#include "io/caffe_import.h"
#include "io/npy.h"
#include "losses/losses.h"
#include "data/dataset.h"
#include "data/augment.h"
#include "train/eval.h"
#include "train/trainer.h"
#include "model.h"
#include "proposals/crf/crf.h"
#include "proposals/crf/maxflow.h"
#include "proposals/oracle.h"
#include "proposals/proposal_set.h"
#include "proposals/proposer.h"
#include "proposals/superpixels/superpixels.h"
#include "proposals/unary/unary_model.h"
#include "net.h"
#include "rerank/kl_score.h"
#include "rerank/image_classifier.h"
#include "rerank/image_descriptor.h"
#include "rerank/ranker.h"
#include "rerank/rerank_features.h"
#include "rng.h"
#include "status.h"
#include "tensor.h"

#endif
