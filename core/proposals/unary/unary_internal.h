/* unary_internal.h: what the unary classifier's files share and nothing
 * outside core/proposals/unary/ sees: the model struct, the fixed feature
 * layout (block table), and the pixel-level building blocks (Lab, filter
 * bank, textons, χ² map) with their sizes. */
#ifndef SR_UNARY_INTERNAL_H
#define SR_UNARY_INTERNAL_H

#include <stdint.h>

#include "../../backends/cpu/cpu_isa.h"
#include "../../backends/cpu/threadpool.h"
#include "../../rng.h"
#include "../color_lab.h"
#include "unary_model.h"

#define SR_UNARY_FORMAT "segrank-unary"
#define SR_UNARY_VERSION 1
#define SR_N_FILTERS 17     /* TextonBoost bank: 3 Gaussians × Lab, 4 LoG, 4 Gaussian derivatives */
#define SR_MAX_TEXTONS 256  /* texton indices are bytes */
#define SR_TEXTON_STEP 2    /* textons are computed on every 2nd pixel of every 2nd row */
#define SR_N_SCALARS 18

/* Hot loops (filter bank, gradients, nearest texton) are also built for
 * AVX2, the variant picked on first use by cpu_isa.h's sr__cpu_isa (as in
 * the CPU backend and SLIC). No FMA: results match the generic build's
 * operation by operation. */

/* ---- the model ---- */

struct sr_unary_model {
  char dataset[32];
  int n_classes;
  sr_class *classes;
  sr_slic_params slic;
  int n_textons;
  float *textons;        /* n_textons × SR_N_FILTERS, in standardised filter space */
  float filter_mean[SR_N_FILTERS], filter_std[SR_N_FILTERS];
  int chi2_steps;        /* additive-χ² map: 2·steps − 1 outputs per histogram bin */
  float chi2_interval;   /* its sampling period L */
  int raw_dim, feature_dim;
  float *norm_shift, *norm_scale; /* feature_dim: output = (mapped − shift) · scale */
  float *weights;        /* n_classes × feature_dim */
  float *bias;           /* n_classes */
  float *weights_t;      /* feature_dim × n_classes: the weights transposed, for classification */
  char solver[32];       /* liblinear solver name, C, class weighting: how it was trained */
  double C, class_weight_exponent;
  char *provenance;      /* JSON object text (nullable) */
};

/* Allocates the arrays of a model whose sizes (n_classes, n_textons,
 * chi2_steps) are set; computes raw_dim and feature_dim. */
sr_status sr_unary_model_alloc(sr_unary_model *m, sr_error *err);
/* Derives weights_t from weights (after they are filled). */
void sr_unary_model_finish(sr_unary_model *m);

/* ---- feature layout ---- */

/* One block of the raw feature vector. Histogram blocks (L1-normalised,
 * non-negative) go through the χ² map; scalar blocks are only standardised. */
typedef struct {
  const char *name;
  int dims;      /* 0: n_textons */
  int histogram;
} sr_feature_block;

/* The code's fixed block list, in vector order. */
int sr_feature_blocks(const sr_feature_block **blocks);
int sr_feature_block_dims(const sr_feature_block *b, int n_textons);
/* Raw and mapped lengths for a dictionary size and map. */
int sr_feature_raw_dim(int n_textons);
int sr_feature_mapped_dim(int n_textons, int chi2_steps);

/* Raw (pre-map, pre-normalisation) features of every superpixel into @raw
 * (n × raw_dim), with textons from @m (n_textons, textons, filter norms).
 * Tasks are fixed by the image and superpixel count, so the result does not
 * depend on the pool size. */
sr_status sr_unary_raw_features(const sr_unary_model *m, const sr_image *rgb, const sr_superpixels *sp,
                                const sr_sp_graph *g, sr_pool *pool, float *raw, sr_error *err);
/* The 17 filter responses (unstandardised) at every texton grid point of
 * @rgb: gw·gh × SR_N_FILTERS. Training samples the dictionary's input here. */
sr_status sr_unary_frame_responses(const sr_image *rgb, sr_pool *pool, float *resp, sr_error *err);
/* Maps one raw vector (χ² on histogram blocks) to its mapped layout, then
 * applies shift/scale when @normalise. */
void sr_unary_map_features(const sr_unary_model *m, const float *raw, int normalise, float *out);

/* ---- pixel-level building blocks ---- */

/* 1-D Gaussian kernels: order 0, 1 (derivative) or 2, radius ceil(3σ);
 * @k holds 2·radius + 1 taps. Returns the radius. */
int sr_gauss_kernel(float sigma, int order, float *k, int max_taps);

/* Per-thread scratch of the filter bank for images @width wide. */
typedef struct sr_filter_scratch sr_filter_scratch;
sr_filter_scratch *sr_filter_scratch_new(int width);
void sr_filter_scratch_free(sr_filter_scratch *s);

/* Grid size of the texton sampling: ceil(width / SR_TEXTON_STEP). */
static inline int sr_texton_grid(int n) { return (n + SR_TEXTON_STEP - 1) / SR_TEXTON_STEP; }

/* The 17 filter responses at grid row @gy (pixels (SR_TEXTON_STEP·gx,
 * SR_TEXTON_STEP·gy)), written as gw × SR_N_FILTERS (pixel-major). */
void sr_filter_bank_row(const float *L, const float *a, const float *b, int width, int height, int gy,
                        sr_filter_scratch *s, float *resp);
/* Gradient of L smoothed at σ 1 and 3 along row @y: magnitude and unsigned
 * orientation in bin units [0, 9) for each scale (2 × width each). */
void sr_gradient_row(const float *L, int width, int height, int y, sr_filter_scratch *s, float *mag,
                     float *ori);

/* Index of the nearest texton to the standardised response @x. @tt is the
 * dictionary transposed (SR_N_FILTERS × k) and @cc its squared norms. */
int sr_texton_nearest(const float *x, const float *tt, const float *cc, int k);
/* Learns @k textons from @n standardised responses @x (n × SR_N_FILTERS)
 * by k-means++ and Lloyd iterations on @pool. Deterministic for @seed
 * whatever the pool size. */
sr_status sr_textons_learn(const float *x, int n, int k, uint64_t seed, sr_pool *pool, float *centres,
                           sr_error *err);

/* Additive-χ² explicit feature map (Vedaldi & Zisserman 2012) of one value
 * x ≥ 0 with sampling period @L and @steps: 2·steps − 1 outputs
 * [√(xLκ(0)), √(2xLκ(jL)) cos(jL log x), √(2xLκ(jL)) sin(jL log x) ...],
 * κ(λ) = sech(πλ), so Σ ψ(x)ψ(y) ≈ 2xy / (x + y). */
#define SR_CHI2_MAX_STEPS 8
void sr_chi2_map(float x, int steps, float L, float *out);
/* The map of @n values into n × (2·steps − 1) outputs. */
void sr_chi2_map_block(const float *x, int n, int steps, float L, float *out);
/* Default sampling periods by step count (those of sklearn's AdditiveChi2Sampler). */
float sr_chi2_default_interval(int steps);

int sr_unary_resolve_threads(int threads);

#endif
