/* test_rerank_features.c: the ranking SVM's features
 * (core/rerank/rerank_features.h) on hand-computed tiny cases (2 classes,
 * 2 × 2 frame and net grid, void, NAN source values, the first-m limit),
 * against eq. 17's own KL (sr_kl_score_labels) and a plain double
 * reference of the expected intersection and union on random frames, the
 * name list, the group text, and refused inputs. eq. 17's loss-cases.json
 * cases are test_rerank's. */
#include <string.h>

#include "rerank/rerank_features.h"
#include "test_util.h"

static int close_to(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(1.0, fabs(b)); }

static const sr_class two[2] = {{"A", {0, 0, 0}}, {"B", {0, 0, 0}}};

/* Feature @name's value in row @row of @f. */
static double feat(unsigned groups, const double *f, int row, const char *name) {
  char **names = NULL;
  sr_error err = {0};
  if (sr_rerank_feature_names(groups, two, 2, &names, &err) != SR_OK) return NAN;
  int dim = sr_rerank_feature_dim(groups, 2), at = -1;
  for (int d = 0; d < dim; d++)
    if (!strcmp(names[d], name)) at = d;
  sr_rerank_feature_names_free(names);
  if (at < 0) {
    fprintf(stderr, "no feature %s\n", name);
    return NAN;
  }
  return f[(size_t)row * dim + at];
}

/* p(class 0) per cell = 0.8, 0.6 / 0.3, 0.5 (class 1 the rest); proposals
 * over the 2 × 2 frame (one pixel per cell):
 *   P0 = [0 0; 1 1]   P1 = [0 0; 0 0]   P2 = [0 0; 1 void]
 * By hand (per valid cell, q one-hot):
 *   P0: EI_A = (0.8+0.6)/4 = 0.35, EU_A = (1+1+0.3+0.5)/4 = 0.7, I/U 0.5,
 *       log U/I = ln 2; EI_B = (0.7+0.5)/4 = 0.3, EU_B = (0.2+0.4+1+1)/4 =
 *       0.65, I/U = 6/13, log U/I = ln(13/6).
 *   P1: EI_A = 2.2/4 = 0.55, EU_A = 1, I/U 0.55, ln(1/0.55); EI_B = 0 →
 *       I/U 0, log U/I = ln 100 (the cap); EU_B = (0.2+0.4+0.7+0.5)/4 = 0.45.
 *   P2: 3 valid cells: EI_A = 1.4/3, EU_A = 2.3/3, I/U = 14/23;
 *       EI_B = 0.7/3, EU_B = (0.2+0.4+1)/3 = 1.6/3, I/U = 7/16. */
static void test_segnet_hand(void) {
  const float p[] = {0.8f, 0.6f, 0.3f, 0.5f, 0.2f, 0.4f, 0.7f, 0.5f};
  sr_coarse_dist d = {p, 2, 2, 2};
  sr_proposal_set s;
  sr_error err = {0};
  CHECK(sr_proposal_set_alloc(&s, 2, 2, 2, 3, &err) == SR_OK, "%s", err.msg);
  const uint8_t maps[3][4] = {{0, 0, 1, 1}, {0, 0, 0, 0}, {0, 0, 1, 11}};
  for (int k = 0; k < 3; k++) memcpy(sr_proposal_labels(&s, k), maps[k], 4);
  sr_rerank_feature_params par;
  sr_rerank_feature_params_default(&par);
  sr_rerank_input in = {.set = &s, .net = &d};
  const unsigned G = SR_RERANK_SEGNET;
  double f[3 * 10];
  CHECK(sr_rerank_feature_dim(G, 2) == 10, "segnet dim %d, want 2 + 4C = 10", sr_rerank_feature_dim(G, 2));
  CHECK(sr_rerank_features(G, &par, &in, 0, f, &err) == SR_OK, "%s", err.msg);
  const double tol = 1e-6; /* p is float */
  struct {
    int row;
    const char *name;
    double want;
  } cases[] = {
      {0, "segnet.inter.A", 0.35},         {0, "segnet.union.A", 0.7},          {0, "segnet.iou.A", 0.5},
      {0, "segnet.log_uoi.A", log(2.0)},   {0, "segnet.inter.B", 0.3},          {0, "segnet.union.B", 0.65},
      {0, "segnet.iou.B", 6.0 / 13},       {0, "segnet.log_uoi.B", log(13.0 / 6)}, {1, "segnet.inter.A", 0.55},
      {1, "segnet.union.A", 1.0},          {1, "segnet.iou.A", 0.55},           {1, "segnet.log_uoi.A", log(1 / 0.55)},
      {1, "segnet.inter.B", 0.0},          {1, "segnet.union.B", 0.45},         {1, "segnet.iou.B", 0.0},
      {1, "segnet.log_uoi.B", log(100.0)}, {2, "segnet.inter.A", 1.4 / 3},      {2, "segnet.union.A", 2.3 / 3},
      {2, "segnet.iou.A", 14.0 / 23},      {2, "segnet.inter.B", 0.7 / 3},      {2, "segnet.union.B", 1.6 / 3},
      {2, "segnet.iou.B", 7.0 / 16},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    double got = feat(G, f, cases[i].row, cases[i].name);
    CHECK(close_to(got, cases[i].want, tol), "P%d %s = %.9f, want %.9f", cases[i].row, cases[i].name, got,
          cases[i].want);
  }
  /* The KLs are eq. 17's, same eps, same valid cells. */
  for (int k = 0; k < 3; k++) {
    sr_kl_score_params kp;
    sr_kl_score_params_default(&kp);
    sr_kl_score sc;
    CHECK(sr_kl_score_labels(&d, maps[k], 2, 2, &kp, &sc, &err) == SR_OK, "%s", err.msg);
    CHECK(f[k * 10] == sc.kl_pq && f[k * 10 + 1] == sc.kl_qp, "P%d KLs %g %g vs eq. 17's %g %g", k, f[k * 10],
          f[k * 10 + 1], sc.kl_pq, sc.kl_qp);
  }
  printf("segnet hand case: %zu values by hand, KLs equal to sr_kl_score_labels\n", sizeof cases / sizeof *cases);
  /* A proposal void everywhere has no valid cell. */
  memset(sr_proposal_labels(&s, 1), 11, 4);
  CHECK(sr_rerank_features(G, &par, &in, 0, f, &err) == SR_ERR_INVALID, "all-void proposal accepted");
  printf("all-void proposal refused: %s\n", err.msg);
  sr_proposal_set_clear(&s);
}

/* Classifier pairing: scores s, thresholds t; P0 = [0 0; 1 1] covers A and
 * B by 0.5 each, P1 = [0 0; 0 0] covers A fully and B not at all. */
static void test_cls_hand(void) {
  sr_proposal_set s;
  sr_error err = {0};
  CHECK(sr_proposal_set_alloc(&s, 2, 2, 2, 2, &err) == SR_OK, "%s", err.msg);
  const uint8_t m0[] = {0, 0, 1, 1}, m1[] = {0, 0, 0, 0};
  memcpy(sr_proposal_labels(&s, 0), m0, 4), memcpy(sr_proposal_labels(&s, 1), m1, 4);
  /* [present A, present B, cover A j=0..3, cover B j=0..3] */
  const float scores[10] = {1.5f, -0.7f, 0.2f, -0.3f, 0.9f, -1.1f, 0.4f, 0.5f, -0.6f, 2.0f};
  const float thr[8] = {0.1f, 0.3f, 0.5f, 0.7f, 0.2f, 0.4f, 0.6f, 0.8f};
  sr_rerank_input in = {.set = &s, .cls_scores = scores, .cls_thresholds = thr};
  sr_rerank_feature_params par;
  sr_rerank_feature_params_default(&par);
  const unsigned G = SR_RERANK_CLS;
  double f[2 * 10];
  CHECK(sr_rerank_feature_dim(G, 2) == 10, "cls dim %d, want 5C", sr_rerank_feature_dim(G, 2));
  CHECK(sr_rerank_features(G, &par, &in, 0, f, &err) == SR_OK, "%s", err.msg);
  /* P0: cov 0.5 / 0.5: present yes/yes; A > 0.1 0.3 yes, > 0.5 0.7 no (0.5
   * is not above 0.5); B > 0.2 0.4 yes, > 0.6 0.8 no. P1: cov 1 / 0. */
  const double want0[10] = {1.5, -0.7, 0.2, 0.4, -0.3, 0.5, -0.9, 0.6, 1.1, -2.0};
  const double want1[10] = {1.5, 0.7, 0.2, -0.4, -0.3, -0.5, 0.9, 0.6, -1.1, -2.0};
  for (int i = 0; i < 10; i++) {
    CHECK(close_to(f[i], want0[i], 1e-6), "P0 cls feature %d = %g, want %g", i, f[i], want0[i]);
    CHECK(close_to(f[10 + i], want1[i], 1e-6), "P1 cls feature %d = %g, want %g", i, f[10 + i], want1[i]);
  }
  CHECK(close_to(feat(G, f, 0, "cls.cover2.B"), 0.6, 1e-6), "cls.cover2.B is not the B, j=2 entry");
  CHECK(close_to(feat(G, f, 1, "cls.present.B"), 0.7, 1e-6), "cls.present.B is not the B presence entry");
  /* A few void pixels do not change the coverage answers (fraction of the
   * labelled pixels): P1 with one void pixel still covers A fully. */
  sr_proposal_labels(&s, 1)[3] = 11;
  CHECK(sr_rerank_features(G, &par, &in, 0, f, &err) == SR_OK, "%s", err.msg);
  for (int i = 0; i < 10; i++) CHECK(close_to(f[10 + i], want1[i], 1e-6), "P1 with void: feature %d = %g", i, f[10 + i]);
  float bad[10];
  memcpy(bad, scores, sizeof bad);
  bad[4] = NAN;
  in.cls_scores = bad;
  CHECK(sr_rerank_features(G, &par, &in, 0, f, &err) == SR_ERR_INVALID, "NaN classifier score accepted");
  in.cls_scores = NULL;
  CHECK(sr_rerank_features(G, &par, &in, 0, f, &err) == SR_ERR_INVALID, "missing classifier scores accepted");
  printf("cls pairing: score x (+1 yes / -1 no) per presence and threshold, by hand\n");
  sr_proposal_set_clear(&s);
}

/* Source group: P0 = [0 0; 1 1] rank 1, E = 10 = 7 + 3, score 10; P1 = all
 * 0, rank 0 (the MAP), E = 8 = 6 + 2; P2 = [1 1; 1 void], everything
 * unknown (NAN), rank 2. */
static void test_source_hand(void) {
  sr_proposal_set s;
  sr_error err = {0};
  CHECK(sr_proposal_set_alloc(&s, 2, 2, 2, 3, &err) == SR_OK, "%s", err.msg);
  const uint8_t maps[3][4] = {{0, 0, 1, 1}, {0, 0, 0, 0}, {1, 1, 1, 11}};
  for (int k = 0; k < 3; k++) memcpy(sr_proposal_labels(&s, k), maps[k], 4);
  s.rank[0] = 1, s.rank[1] = 0, s.rank[2] = 2;
  s.energy[0] = 10, s.unary[0] = 7, s.pairwise[0] = 3, s.score[0] = 10;
  s.energy[1] = 8, s.unary[1] = 6, s.pairwise[1] = 2, s.score[1] = 8;
  sr_rerank_input in = {.set = &s};
  sr_rerank_feature_params par;
  sr_rerank_feature_params_default(&par);
  const unsigned G = SR_RERANK_SOURCE;
  const int dim = sr_rerank_feature_dim(G, 2);
  CHECK(dim == SR_RERANK_SOURCE_SCALARS + 2, "source dim %d", dim);
  double f[3 * 32];
  CHECK(sr_rerank_features(G, &par, &in, 0, f, &err) == SR_OK, "%s", err.msg);
  struct {
    int row;
    const char *name;
    double want;
  } cases[] = {
      {0, "source.rank", 1},          {0, "source.inv_rank", 0.5},     {0, "source.is_map", 0},
      {0, "source.score", 10},        {0, "source.energy", 10},        {0, "source.unary", 7},
      {0, "source.pairwise", 3},      {0, "source.energy_missing", 0}, {0, "source.energy_gap", 2},
      {0, "source.energy_gap_rel", 0.25}, {0, "source.unary_gap", 1},  {0, "source.pairwise_gap", 1},
      {0, "source.gap_parts_missing", 0}, {0, "source.map_agreement", 0.5},
      /* consensus: P0 agrees with P1 on 2/4, with P2 on 1/4 (pixel 2) */
      {0, "source.consensus", 0.375}, {0, "source.area.A", 0.5},       {0, "source.area.B", 0.5},
      {1, "source.is_map", 1},        {1, "source.inv_rank", 1},       {1, "source.energy_gap", 0},
      {1, "source.map_agreement", 1}, {1, "source.consensus", 0.25},   {1, "source.area.A", 1},
      {2, "source.rank", 2},          {2, "source.score", 0},          {2, "source.score_missing", 1},
      {2, "source.energy", 0},        {2, "source.energy_missing", 1}, {2, "source.unary_missing", 1},
      {2, "source.pairwise_missing", 1}, {2, "source.energy_gap", 0},  {2, "source.energy_gap_missing", 1},
      {2, "source.gap_parts_missing", 1}, {2, "source.map_agreement", 0}, {2, "source.consensus", 0.125},
      {2, "source.area.A", 0},        {2, "source.area.B", 0.75},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    double got = feat(G, f, cases[i].row, cases[i].name);
    CHECK(close_to(got, cases[i].want, 1e-12), "P%d %s = %g, want %g", cases[i].row, cases[i].name, got, cases[i].want);
  }
  for (int i = 0; i < 3 * dim; i++) CHECK(isfinite(f[i]), "source feature %d of P%d is %g", i % dim, i / dim, f[i]);
  /* First m = 2 only: consensus between P0 and P1 alone. */
  CHECK(sr_rerank_features(G, &par, &in, 2, f, &err) == SR_OK, "%s", err.msg);
  CHECK(close_to(feat(G, f, 0, "source.consensus"), 0.5, 1e-12), "m = 2 consensus %g, want 0.5",
        feat(G, f, 0, "source.consensus"));
  printf("source hand case: %zu values, NAN inputs → 0 + missing, m limits consensus\n", sizeof cases / sizeof *cases);
  sr_proposal_set_clear(&s);
}

/* Random frames (non-divisible sizes, void): EI/EU/I/U/log U/I against a
 * plain double reference that counts pixels per cell itself; KLs equal to
 * sr_kl_score_labels; all features finite and within their ranges. */
static void test_random_against_reference(void) {
  sr_rng rng;
  sr_rng_seed(&rng, 5);
  double worst = 0;
  int rows = 0;
  for (int t = 0; t < 20; t++) {
    int K = 2 + t % 4, h = 2 + t % 3, w = 3 + t % 4, H = h * 3 + t % 5, W = w * 2 + t % 7, n = 2 + t % 4;
    float *p = malloc(sizeof(float) * K * h * w);
    for (int c = 0; c < h * w; c++) {
      double z[8], s = 0;
      for (int k = 0; k < K; k++) s += z[k] = exp(2 * sr_rng_normal(&rng));
      for (int k = 0; k < K; k++) p[k * h * w + c] = (float)(z[k] / s);
    }
    sr_proposal_set set;
    sr_error err = {0};
    CHECK(sr_proposal_set_alloc(&set, W, H, K, n, &err) == SR_OK, "%s", err.msg);
    for (int k = 0; k < n; k++) {
      uint8_t *l = sr_proposal_labels(&set, k);
      int base = (int)(sr_rng_uniform(&rng) * K);
      for (int x = 0; x < W * H; x++) {
        double u = sr_rng_uniform(&rng);
        l[x] = u < 0.05 ? 255 : u < 0.7 ? (uint8_t)base : (uint8_t)(sr_rng_uniform(&rng) * (K - 1));
      }
    }
    sr_coarse_dist d = {p, K, h, w};
    sr_rerank_input in = {.set = &set, .net = &d};
    sr_rerank_feature_params par = {.eps = t % 2 ? 1e-4 : 1e-6};
    const int dim = sr_rerank_feature_dim(SR_RERANK_SEGNET, K);
    double *f = malloc(sizeof(double) * n * dim);
    CHECK(sr_rerank_features(SR_RERANK_SEGNET, &par, &in, 0, f, &err) == SR_OK, "%s", err.msg);
    for (int k = 0; k < n; k++, rows++) {
      const uint8_t *lab = sr_proposal_labels(&set, k);
      const double *fk = f + (size_t)k * dim;
      sr_kl_score_params kp = {.eps = par.eps, .penalty_class = -1};
      sr_kl_score sc;
      CHECK(sr_kl_score_labels(&d, lab, W, H, &kp, &sc, &err) == SR_OK, "%s", err.msg);
      CHECK(fk[0] == sc.kl_pq && fk[1] == sc.kl_qp, "KLs differ from eq. 17's");
      double ei[8] = {0}, eu[8] = {0};
      int cells = 0;
      for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
          double cnt[8] = {0}, tot = 0;
          for (int r = i * H / h; r < (i + 1) * H / h; r++)
            for (int c = j * W / w; c < (j + 1) * W / w; c++)
              if (lab[r * W + c] < K) cnt[lab[r * W + c]]++, tot++;
          if (!tot) continue;
          cells++;
          for (int c = 0; c < K; c++) {
            double pc = p[(c * h + i) * w + j], q = cnt[c] / tot;
            ei[c] += pc * q, eu[c] += pc + q - pc * q;
          }
        }
      for (int c = 0; c < K; c++) {
        double I = ei[c] / cells, U = eu[c] / cells;
        double want[4] = {I, U, U > 0 ? I / U : 1, I > 0 ? log(fmin(U / I, 100)) : log(100)};
        for (int b = 0; b < 4; b++) {
          double got = fk[2 + b * K + c];
          worst = fmax(worst, fabs(got - want[b]) / fmax(1, fabs(want[b])));
        }
        CHECK(fk[2 + 2 * K + c] >= 0 && fk[2 + 2 * K + c] <= 1, "I/U %g outside [0, 1]", fk[2 + 2 * K + c]);
        CHECK(fk[2 + 3 * K + c] >= 0 && fk[2 + 3 * K + c] <= log(100) + 1e-12, "log U/I %g outside [0, ln 100]",
              fk[2 + 3 * K + c]);
      }
    }
    free(f), free(p);
    sr_proposal_set_clear(&set);
  }
  printf("random frames: %d proposals, worst relative EI/EU/IoU/logUoI error %.2e vs the double reference\n", rows,
         worst);
  CHECK(worst < 1e-6, "worst relative error %g", worst);
}

static void test_names_and_groups(void) {
  char **names = NULL;
  sr_error err = {0};
  CHECK(sr_rerank_feature_names(SR_RERANK_ALL, two, 2, &names, &err) == SR_OK, "%s", err.msg);
  int dim = sr_rerank_feature_dim(SR_RERANK_ALL, 2), n = 0;
  while (names[n]) n++;
  CHECK(n == dim && dim == 10 + 10 + SR_RERANK_SOURCE_SCALARS + 2, "%d names, dim %d", n, dim);
  CHECK(!strcmp(names[0], "segnet.kl_pq") && !strcmp(names[1], "segnet.kl_qp"), "first names %s %s", names[0], names[1]);
  CHECK(!strcmp(names[2 + 2 * 2 + 1], "segnet.iou.B"), "segnet.iou.B at %s", names[2 + 2 * 2 + 1]);
  CHECK(!strcmp(names[10], "cls.present.A") && !strcmp(names[19], "cls.cover3.B"), "cls names %s .. %s", names[10],
        names[19]);
  CHECK(!strcmp(names[20], "source.rank") && !strcmp(names[dim - 1], "source.area.B"), "source names %s .. %s",
        names[20], names[dim - 1]);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) CHECK(strcmp(names[i], names[j]), "duplicate feature name %s", names[i]);
  sr_rerank_feature_names_free(names);
  unsigned g = 0;
  char buf[32];
  CHECK(sr_rerank_groups_parse("source,segnet", &g, &err) == SR_OK && g == (SR_RERANK_SOURCE | SR_RERANK_SEGNET),
        "parse source,segnet: %x", g);
  CHECK(!strcmp(sr_rerank_groups_format(g, buf, sizeof buf), "segnet,source"), "format %s", buf);
  CHECK(sr_rerank_groups_parse("all", &g, &err) == SR_OK && g == SR_RERANK_ALL, "parse all");
  CHECK(sr_rerank_groups_parse("segnet,bogus", &g, &err) == SR_ERR_INVALID, "unknown group accepted");
  CHECK(sr_rerank_groups_parse("", &g, &err) == SR_ERR_INVALID, "empty group list accepted");
  CHECK(sr_rerank_feature_dim(0, 2) == 0 && sr_rerank_feature_dim(8, 2) == 0, "bad masks have a dimension");
  /* Missing inputs and class mismatches. */
  sr_proposal_set s;
  CHECK(sr_proposal_set_alloc(&s, 2, 2, 2, 1, &err) == SR_OK, "%s", err.msg);
  const float p3[12] = {0};
  sr_coarse_dist d3 = {p3, 3, 2, 2};
  sr_rerank_input in = {.set = &s};
  sr_rerank_feature_params par;
  sr_rerank_feature_params_default(&par);
  double f[64];
  CHECK(sr_rerank_features(SR_RERANK_SEGNET, &par, &in, 0, f, &err) == SR_ERR_INVALID, "segnet without a net accepted");
  in.net = &d3;
  CHECK(sr_rerank_features(SR_RERANK_SEGNET, &par, &in, 0, f, &err) == SR_ERR_INVALID, "3-class net, 2-class set accepted");
  printf("class mismatch refused: %s\n", err.msg);
  CHECK(sr_rerank_features(16, &par, &in, 0, f, &err) == SR_ERR_INVALID, "bad mask accepted");
  sr_proposal_set_clear(&s);
  printf("names: %d stable, unique; group text round trip; bad inputs refused\n", dim);
}

int main(void) {
  test_segnet_hand();
  test_cls_hand();
  test_source_hand();
  test_random_against_reference();
  test_names_and_groups();
  if (test_failures) {
    fprintf(stderr, "%d check(s) failed\n", test_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
