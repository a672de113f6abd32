/* proposer.c: the proposal source end to end for one frame: SLIC
 * superpixels, the unary classifier's probabilities, the contrast-sensitive
 * Potts CRF over the superpixel graph, and DivMBest, painted back to frame
 * resolution as an sr_proposal_set.
 *
 * Energy (proposal-recipe.md): U_i(k) = min(−log p_i(k), clamp) · a_i, with
 * a_i = area_i / mean area; w_ij = wp · (boundary_ij / mean boundary) ·
 * exp(−‖Lab_i − Lab_j‖² / 2σ²), Lab of each superpixel's mean colour and σ²
 * the frame's mean of ‖Lab_i − Lab_j‖² over edges; DivMBest's diversity
 * term for node i is weighted by a_i. The hybrid term adds
 * hybrid_weight · min(−log q_i(k), clamp) · a_i, q_i the pixel-weighted mean
 * of the net's coarse cells under superpixel i (the net's cell of pixel
 * (x, y) is (⌊y·h/H⌋, ⌊x·w/W⌋), as eq. 16). */
#include "proposer.h"

#include "color_lab.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sr_proposer {
  const sr_unary_model *model;
  sr_proposer_params params;
  sr_slic_params slic;
  sr_crf_solver *solver;
  sr_slic_workspace *slic_ws;
  sr_superpixels sp;
  sr_sp_graph graph;
  /* Per-frame scratch, grown as needed. */
  size_t cap_nodes, cap_edges;
  float *features, *probs, *unary, *node_weight, *lab;
  double *rgb_sum;
  sr_crf_edge *edges;
  uint8_t *solutions;
};

void sr_proposer_params_default(sr_proposer_params *p) {
  memset(p, 0, sizeof *p);
  /* λ and wp chosen by leave-one-sequence-out cross-validation on CamVid
   * train (tools/cv-proposals.sh, docs/results.md): wp by the MAP, λ by the
   * oracle@30. */
  p->num_solutions = 10;
  p->lambda = 0.2f;
  p->pairwise_weight = 1.6f;
  p->unary_clamp = 20.0f;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

sr_status sr_proposer_new(const sr_unary_model *m, const sr_proposer_params *p, sr_proposer **out, sr_error *err) {
  *out = NULL;
  if (!m) return sr_error_set(err, SR_ERR_INVALID, "proposer: no unary model");
  if (p->num_solutions < 1 || p->num_solutions > 1000)
    return sr_error_set(err, SR_ERR_INVALID, "proposer: num-solutions %d is outside 1..1000", p->num_solutions);
  /* Bounded so that every CRF term stays finite: λ is doubled up to 256×
   * by DivMBest, weights multiply areas and boundaries of up to 2^28 pixels. */
  const float max_w = 1e6f;
  if (!(p->lambda >= 0 && p->lambda <= max_w) || !(p->pairwise_weight >= 0 && p->pairwise_weight <= max_w) ||
      !(p->hybrid_weight >= 0 && p->hybrid_weight <= max_w) || !(p->unary_clamp > 0 && p->unary_clamp <= 1e3f))
    return sr_error_set(err, SR_ERR_INVALID,
                        "proposer: lambda, pairwise and hybrid weights must lie in [0, 1e6] and the clamp in (0, 1000]");
  sr_proposer *pr = calloc(1, sizeof *pr);
  if (!pr) return sr_error_set(err, SR_ERR_NOMEM, "proposer: out of memory");
  pr->model = m;
  pr->params = *p;
  sr_unary_model_slic_params(m, &pr->slic);
  if (p->n_superpixels > 0) pr->slic.n_superpixels = p->n_superpixels;
  if (p->compactness > 0) pr->slic.compactness = p->compactness;
  pr->slic.threads = p->threads;
  pr->solver = sr_crf_solver_new();
  pr->slic_ws = sr_slic_workspace_new();
  if (!pr->solver || !pr->slic_ws) {
    sr_crf_solver_free(pr->solver);
    sr_slic_workspace_free(pr->slic_ws);
    free(pr);
    return sr_error_set(err, SR_ERR_NOMEM, "proposer: out of memory");
  }
  *out = pr;
  return SR_OK;
}

void sr_proposer_free(sr_proposer *p) {
  if (!p) return;
  sr_crf_solver_free(p->solver);
  sr_slic_workspace_free(p->slic_ws);
  sr_superpixels_clear(&p->sp);
  sr_sp_graph_clear(&p->graph);
  free(p->features);
  free(p->probs);
  free(p->unary);
  free(p->node_weight);
  free(p->lab);
  free(p->rgb_sum);
  free(p->edges);
  free(p->solutions);
  free(p);
}

const sr_proposer_params *sr_proposer_get_params(const sr_proposer *p) { return &p->params; }
const float *sr_proposer_last_probs(const sr_proposer *p) { return p->probs; }
const sr_superpixels *sr_proposer_last_superpixels(const sr_proposer *p) { return &p->sp; }

static int grow(void **ptr, size_t n, size_t size) {
  void *q = realloc(*ptr, n * size);
  if (!q) return -1;
  *ptr = q;
  return 0;
}

static sr_status reserve(sr_proposer *p, int n, int n_edges, sr_error *err) {
  int c = sr_unary_model_n_classes(p->model), d = sr_unary_model_feature_dim(p->model);
  size_t m = (size_t)p->params.num_solutions;
  if ((size_t)n > p->cap_nodes) {
    if (grow((void **)&p->features, (size_t)n * d, sizeof(float)) || grow((void **)&p->probs, (size_t)n * c, sizeof(float)) ||
        grow((void **)&p->unary, (size_t)n * c, sizeof(float)) || grow((void **)&p->node_weight, n, sizeof(float)) ||
        grow((void **)&p->lab, (size_t)n * 3, sizeof(float)) || grow((void **)&p->rgb_sum, (size_t)n * 3, sizeof(double)) ||
        grow((void **)&p->solutions, m * n, 1))
      return sr_error_set(err, SR_ERR_NOMEM, "proposer: out of memory for %d superpixels", n);
    p->cap_nodes = n;
  }
  if ((size_t)n_edges > p->cap_edges) {
    if (grow((void **)&p->edges, n_edges, sizeof(sr_crf_edge)))
      return sr_error_set(err, SR_ERR_NOMEM, "proposer: out of memory for %d edges", n_edges);
    p->cap_edges = n_edges;
  }
  return SR_OK;
}

/* Mean colour of each superpixel, as Lab. */
static void superpixel_lab(sr_proposer *p, const sr_image *rgb) {
  int n = p->sp.n;
  memset(p->rgb_sum, 0, (size_t)n * 3 * sizeof(double));
  size_t px = (size_t)rgb->width * rgb->height;
  for (size_t i = 0; i < px; i++) {
    double *s = p->rgb_sum + 3 * (size_t)p->sp.labels[i];
    const uint8_t *c = rgb->data + 3 * i;
    s[0] += c[0], s[1] += c[1], s[2] += c[2];
  }
  for (int i = 0; i < n; i++) {
    double a = p->graph.area[i] > 0 ? p->graph.area[i] : 1, lab[3];
    uint8_t mean[3];
    for (int j = 0; j < 3; j++) mean[j] = (uint8_t)(p->rgb_sum[3 * i + j] / a + 0.5);
    sr_lab_reference(mean[0], mean[1], mean[2], lab);
    for (int j = 0; j < 3; j++) p->lab[3 * i + j] = (float)lab[j];
  }
}

/* Adds the hybrid term: the net's coarse distribution under each superpixel. */
static sr_status add_hybrid(sr_proposer *p, const sr_coarse_probs *net, int c, float mean_area, sr_error *err) {
  if (net->n_classes != c || net->h < 1 || net->w < 1 || !net->probs)
    return sr_error_set(err, SR_ERR_INVALID, "proposer: the net has %d classes, the unary model %d", net->n_classes, c);
  int n = p->sp.n, W = p->sp.width, H = p->sp.height;
  double *q = calloc((size_t)n * c, sizeof *q);
  int *col = malloc((size_t)W * sizeof *col);
  if (!q || !col) {
    free(q), free(col);
    return sr_error_set(err, SR_ERR_NOMEM, "proposer: out of memory for the hybrid term");
  }
  for (int x = 0; x < W; x++) col[x] = (int)((long)x * net->w / W);
  size_t plane = (size_t)net->h * net->w;
  for (int y = 0; y < H; y++) {
    int row = (int)((long)y * net->h / H);
    const int32_t *l = p->sp.labels + (size_t)y * W;
    for (int x = 0; x < W; x++) {
      const float *cell = net->probs + (size_t)row * net->w + col[x];
      double *dst = q + (size_t)l[x] * c;
      for (int k = 0; k < c; k++) dst[k] += cell[k * plane];
    }
  }
  float clamp = p->params.unary_clamp, wgt = p->params.hybrid_weight;
  for (int i = 0; i < n; i++) {
    double a = p->graph.area[i] > 0 ? p->graph.area[i] : 1;
    for (int k = 0; k < c; k++) {
      double v = q[(size_t)i * c + k] / a;
      double nl = v > 0 ? -log(v) : clamp;
      if (nl > clamp) nl = clamp;
      p->unary[(size_t)i * c + k] += (float)(wgt * nl * a / mean_area);
    }
  }
  free(q);
  free(col);
  return SR_OK;
}

sr_status sr_proposer_run(sr_proposer *p, const sr_image *rgb, const sr_coarse_probs *net, sr_proposal_set *out,
                          sr_proposer_times *times, sr_error *err) {
  memset(out, 0, sizeof *out);
  if (!rgb || rgb->channels != 3 || rgb->width < 1 || rgb->height < 1 || !rgb->data)
    return sr_error_set(err, SR_ERR_INVALID, "proposer: expected a non-empty RGB image");
  sr_proposer_times t = {0};
  double t0 = now_ms();
  sr_superpixels_clear(&p->sp);
  sr_sp_graph_clear(&p->graph);
  sr_status st = sr_slic_ws(p->slic_ws, rgb, &p->slic, &p->sp, err);
  if (st == SR_OK) st = sr_sp_graph_build(&p->sp, &p->graph, err);
  if (st != SR_OK) return st;
  double t1 = now_ms();
  int n = p->sp.n, c = sr_unary_model_n_classes(p->model), ne = p->graph.n_edges;
  if ((st = reserve(p, n, ne, err)) != SR_OK) return st;
  if ((st = sr_unary_features(p->model, rgb, &p->sp, &p->graph, p->params.threads, p->features, err)) != SR_OK)
    return st;
  double t2 = now_ms();
  sr_unary_classify(p->model, p->features, n, p->probs);

  /* Unaries and node weights. */
  float mean_area = (float)((double)rgb->width * rgb->height / n), clamp = p->params.unary_clamp;
  for (int i = 0; i < n; i++) {
    float a = p->graph.area[i] / mean_area;
    p->node_weight[i] = a;
    for (int k = 0; k < c; k++) {
      float pk = p->probs[(size_t)i * c + k];
      float nl = pk > 0 ? -logf(pk) : clamp;
      p->unary[(size_t)i * c + k] = (nl < clamp ? nl : clamp) * a;
    }
  }
  if (p->params.hybrid_weight > 0 && net && (st = add_hybrid(p, net, c, mean_area, err)) != SR_OK) return st;

  /* Contrast-sensitive Potts weights. */
  superpixel_lab(p, rgb);
  double mean_b = 0, mean_d2 = 0;
  for (int e = 0; e < ne; e++) {
    const sr_sp_edge *ed = p->graph.edges + e;
    const float *la = p->lab + 3 * ed->a, *lb = p->lab + 3 * ed->b;
    double d2 = 0;
    for (int j = 0; j < 3; j++) d2 += (double)(la[j] - lb[j]) * (la[j] - lb[j]);
    p->edges[e].a = ed->a, p->edges[e].b = ed->b, p->edges[e].w = (float)d2;
    mean_b += ed->boundary, mean_d2 += d2;
  }
  if (ne > 0) mean_b /= ne, mean_d2 /= ne;
  if (mean_d2 <= 0) mean_d2 = 1;
  if (mean_b <= 0) mean_b = 1;
  for (int e = 0; e < ne; e++)
    p->edges[e].w = (float)(p->params.pairwise_weight * (p->graph.edges[e].boundary / mean_b) *
                            exp(-p->edges[e].w / (2.0 * mean_d2)));
  double t3 = now_ms();

  sr_crf crf = {n, c, p->unary, ne, p->edges};
  sr_divmbest_params dp = {p->params.num_solutions, p->params.lambda, p->node_weight, p->params.max_sweeps};
  int m = p->params.num_solutions;
  double *energy = malloc(3 * (size_t)m * sizeof *energy);
  if (!energy) return sr_error_set(err, SR_ERR_NOMEM, "proposer: out of memory");
  int flows = 0;
  int got = sr_divmbest(p->solver, &crf, &dp, p->solutions, energy, energy + m, energy + 2 * m, &flows);
  if (got < 0) {
    free(energy);
    return sr_error_set(err, SR_ERR_BACKEND, "proposer: the CRF solver failed (out of memory, or a non-finite unary or weight)");
  }
  double t4 = now_ms();

  if ((st = sr_proposal_set_alloc(out, rgb->width, rgb->height, c, got, err)) != SR_OK) {
    free(energy);
    return st;
  }
  size_t px = (size_t)rgb->width * rgb->height;
  for (int k = 0; k < got; k++) {
    const uint8_t *x = p->solutions + (size_t)k * n;
    uint8_t *dst = sr_proposal_labels(out, k);
    for (size_t i = 0; i < px; i++) dst[i] = x[p->sp.labels[i]];
    out->score[k] = out->energy[k] = energy[k];
    out->unary[k] = energy[m + k];
    out->pairwise[k] = energy[2 * m + k];
    out->rank[k] = k;
    double *area = out->areas + (size_t)k * c;
    for (int i = 0; i < n; i++) area[x[i]] += p->graph.area[i];
    for (int j = 0; j < c; j++) area[j] /= (double)px;
  }
  free(energy);
  out->superpixels = malloc(px * sizeof *out->superpixels);
  if (!out->superpixels) {
    sr_proposal_set_clear(out);
    return sr_error_set(err, SR_ERR_NOMEM, "proposer: out of memory");
  }
  memcpy(out->superpixels, p->sp.labels, px * sizeof *out->superpixels);
  out->n_superpixels = n;
  t.superpixels = t1 - t0;
  t.features = t2 - t1;
  t.unaries = t3 - t2;
  t.crf = t4 - t3;
  t.max_flows = flows;
  if (times) *times = t;
  return SR_OK;
}
