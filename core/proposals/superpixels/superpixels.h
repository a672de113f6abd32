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

typedef struct {
  int n_superpixels; /* requested count (the grid step follows from it) */
  float compactness; /* weight of space against colour, as in skimage/vlfeat (10) */
  int iterations;    /* k-means passes (10) */
  int threads;       /* 0: all online cores */
} sr_slic_params;

void sr_slic_params_default(sr_slic_params *p);

/* Segments the RGB image @rgb (channels 3). Deterministic for given params
 * whatever the thread count. */
sr_status sr_slic(const sr_image *rgb, const sr_slic_params *p, sr_superpixels *out, sr_error *err);
/* The same on packed pixels (row stride in bytes, layout as sr_preprocess),
 * so a GStreamer frame needs no copy. */
sr_status sr_slic_pixels(const uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout layout,
                         const sr_slic_params *p, sr_superpixels *out, sr_error *err);
void sr_superpixels_clear(sr_superpixels *sp);

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

sr_status sr_sp_graph_build(const sr_superpixels *sp, sr_sp_graph *g, sr_error *err);
void sr_sp_graph_clear(sr_sp_graph *g);

/* Quality of a superpixel map against a ground-truth label map (@void_label
 * pixels ignored): boundary recall (fraction of ground-truth boundary pixels
 * with a superpixel boundary within @tolerance pixels, Chebyshev distance) and
 * under-segmentation error (Neubert & Protzel's corrected form: for each
 * superpixel and each ground-truth segment it overlaps, the smaller of the
 * inside and outside parts, summed, over the pixel count). */
typedef struct {
  double boundary_recall;
  double undersegmentation;
} sr_sp_quality;

void sr_superpixel_quality(const sr_superpixels *sp, const uint8_t *truth, int void_label, int tolerance,
                           sr_sp_quality *q);

#endif
