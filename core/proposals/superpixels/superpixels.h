/* superpixels.h: superpixel maps and our own SLIC (Achanta et al. 2012),
 * threaded, on CIE Lab; the region adjacency graph the CRF and the features
 * are built on (shared boundary lengths, areas, centroids). */
#ifndef SR_SUPERPIXELS_H
#define SR_SUPERPIXELS_H

#include <stdint.h>

#include "../../image.h"
#include "../../status.h"

/* A superpixel map: every pixel has a label in 0..n-1, every label is used
 * and each superpixel is one 4-connected region. */
typedef struct {
  int width, height;
  int n;
  int32_t *labels; /* width × height, row-major */
} sr_superpixels;

/* skimage's slic(n_segments, compactness) semantics: centres on a grid of
 * step S = sqrt(W·H / n) rounded to whole pixels (first centre at S/2),
 * distance² = ‖ΔLab‖² + (compactness / S)²·‖Δxy‖², each centre competing
 * for its 2S×2S window; then fragments below half the mean cell area are
 * merged into the adjacent superpixel closest in colour. On CamVid's
 * 480×360 frames 1000 requested gives 37 × 28 centres and ~885
 * superpixels (skimage: ~845). vlfeat's vl_slic_segment has the same
 * distance with regularization = compactness² (its regionSize = S). */
typedef struct {
  int n_superpixels; /* requested count (the grid step follows from it) */
  float compactness; /* weight of space against colour, skimage's scale (10) */
  int iterations;    /* k-means assignment passes, the grid's included (10) */
  int threads;       /* 0: all online cores; the result does not depend on it */
} sr_slic_params;

void sr_slic_params_default(sr_slic_params *p);

/* Segments the RGB image @rgb (channels 3). Deterministic for given params
 * whatever the thread count. Errors (SR_ERR_INVALID) for other channel
 * counts, empty images and bad parameters; @out is zeroed first. */
sr_status sr_slic(const sr_image *rgb, const sr_slic_params *p, sr_superpixels *out, sr_error *err);
/* The same on packed pixels (row stride in bytes, layout as sr_preprocess),
 * so a GStreamer frame needs no copy. */
sr_status sr_slic_pixels(const uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout layout,
                         const sr_slic_params *p, sr_superpixels *out, sr_error *err);
void sr_superpixels_clear(sr_superpixels *sp);

/* Scratch memory and worker threads kept from one call to the next: a
 * video pipeline segments every frame, and fresh memory per call costs
 * page faults (~4 ms of a 480×360 frame on the 2-core VM). Only the output
 * labels are allocated per call. One workspace serves one call at a time. */
typedef struct sr_slic_workspace sr_slic_workspace;

sr_slic_workspace *sr_slic_workspace_new(void); /* NULL when out of memory */
void sr_slic_workspace_free(sr_slic_workspace *ws);
/* sr_slic and sr_slic_pixels with a workspace (@ws NULL: a fresh one). */
sr_status sr_slic_ws(sr_slic_workspace *ws, const sr_image *rgb, const sr_slic_params *p, sr_superpixels *out,
                     sr_error *err);
sr_status sr_slic_pixels_ws(sr_slic_workspace *ws, const uint8_t *pixels, int width, int height, int row_stride,
                            sr_pixel_layout layout, const sr_slic_params *p, sr_superpixels *out, sr_error *err);

/* An edge between two adjacent superpixels a < b; @boundary counts the
 * 4-neighbour pixel pairs (one in a, one in b) across their border. */
typedef struct {
  int a, b;
  int boundary;
} sr_sp_edge;

typedef struct {
  int n;            /* superpixels */
  int n_edges;
  sr_sp_edge *edges; /* sorted by (a, b) */
  int *adj_start;   /* n + 1: the neighbours of i are adj[adj_start[i] .. adj_start[i+1]) */
  int *adj;         /* 2 × n_edges neighbour indices */
  int *adj_edge;    /* 2 × n_edges: the edge index of each adj entry */
  int *area;        /* pixels per superpixel */
  float *centroid;  /* 2n: x, y in pixels */
  int *bbox;        /* 4n: x0, y0, x1, y1 inclusive */
  int *perimeter;   /* pixel sides on the superpixel's border (frame edges included) */
} sr_sp_graph;

/* Errors (SR_ERR_INVALID) for labels outside 0..n-1 or unused ones; @g is
 * zeroed first. About 0.6 ms for ~900 superpixels on 480×360. */
sr_status sr_sp_graph_build(const sr_superpixels *sp, sr_sp_graph *g, sr_error *err);
void sr_sp_graph_clear(sr_sp_graph *g);

/* Quality of a superpixel map against a ground-truth label map (@void_label
 * pixels ignored): boundary recall (fraction of ground-truth boundary pixels
 * with a superpixel boundary within @tolerance pixels, Chebyshev distance) and
 * under-segmentation error (Neubert & Protzel's corrected form: for each
 * superpixel and each ground-truth segment it overlaps, the smaller of the
 * inside and outside parts, summed, over the pixel count).
 * Precisely: a ground-truth boundary pixel is a non-void pixel with a
 * non-void 4-neighbour of another label, a superpixel boundary pixel one
 * with a 4-neighbour in another superpixel (both sides of a border count);
 * recall is 1 without ground-truth boundaries. Segments are the
 * 4-connected regions of one label; sizes count non-void pixels only, and
 * the error is over the non-void pixel count (0 when there is none).
 * @sp must be a valid map (labels 0..n-1). */
typedef struct {
  double boundary_recall;
  double undersegmentation;
} sr_sp_quality;

void sr_superpixel_quality(const sr_superpixels *sp, const uint8_t *truth, int void_label, int tolerance,
                           sr_sp_quality *q);

#endif
