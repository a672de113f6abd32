/* test_rerank.c: eq. 17 (core/rerank/kl_score.h) against hand-computed
 * cases (smoothing, penalty, frame-region convention on a non-divisible
 * frame, void cells, argmin and its ties, the first-M limit, bad input),
 * against a plain double-precision reference that counts pixels itself on
 * random maps; with --loss-cases (the meson test loss_cases_rerank),
 * against every "rerank_eq17" case of ../shared/paper/loss-cases.json
 * instead, exiting 77 (skipped) without SEGRANK_SHARED's file. */
#include <float.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "rerank/kl_score.h"
#include "test_util.h"

/* Relative closeness with an absolute floor. */
static int close_to(double a, double b, double rel) { return fabs(a - b) <= rel * fmax(1.0, fabs(b)); }

/* Two cells over a 2 × 2 frame (grid 1 × 2): left column {0,0} → q = (1, 0),
 * right column {1,0} → q = (0.5, 0.5). p = (0.8, 0.2) and (0.5, 0.5);
 * eps = 0.01 so q̃ = (1.01, 0.01)/1.02 and (0.5, 0.5). By hand (calculator):
 * KL(p‖q̃) = 0.8 ln(0.8·1.02/1.01) + 0.2 ln(0.2·1.02/0.01) = 0.43247397627,
 * KL(q̃‖p) = (1.01/1.02) ln(1.01/(1.02·0.8)) + (0.01/1.02) ln(0.01/(1.02·0.2))
 *          = 0.18163609648; the right cell contributes 0 to both.
 * Penalty on class 1 with weight 0.5: 0.5 · (0 + 0.5) = 0.25. */
static void test_hand_two_cells(void) {
  const float p[] = {0.8f, 0.5f, 0.2f, 0.5f}; /* K × h × w = 2 × 1 × 2 */
  const uint8_t labels[] = {0, 1, 0, 0};
  sr_coarse_dist d = {p, 2, 1, 2};
  sr_kl_score_params par = {.eps = 1e-2, .penalty_class = -1, .penalty_weight = 0};
  sr_kl_score s;
  sr_error err = {0};
  CHECK(sr_kl_score_labels(&d, labels, 2, 2, &par, &s, &err) == SR_OK, "%s", err.msg);
  printf("hand case: KL(p||q~) %.11f KL(q~||p) %.11f\n", s.kl_pq, s.kl_qp);
  /* p is float: 0.8f differs from 0.8 by 1.2e-8, hence 1e-6. */
  CHECK(close_to(s.kl_pq, 0.4324739762730757, 1e-6), "KL(p||q~) %.12f", s.kl_pq);
  CHECK(close_to(s.kl_qp, 0.18163609648177298, 1e-6), "KL(q~||p) %.12f", s.kl_qp);
  CHECK(s.penalty == 0 && s.cells == 2, "penalty %g cells %d", s.penalty, s.cells);
  CHECK(close_to(s.score, s.kl_pq + s.kl_qp, 1e-12), "score %g", s.score);
  par.penalty_class = 1, par.penalty_weight = 0.5;
  CHECK(sr_kl_score_labels(&d, labels, 2, 2, &par, &s, &err) == SR_OK, "%s", err.msg);
  CHECK(close_to(s.penalty, 0.25, 1e-12), "penalty %g, want 0.25", s.penalty);
  CHECK(close_to(s.score, 0.4324739762730757 + 0.18163609648177298 + 0.25, 1e-6), "score %g", s.score);
  /* The penalty is on unsmoothed q: class 0 has mass 1 + 0.5 = 1.5. */
  par.penalty_class = 0, par.penalty_weight = 0.02;
  CHECK(sr_kl_score_labels(&d, labels, 2, 2, &par, &s, &err) == SR_OK, "%s", err.msg);
  CHECK(close_to(s.penalty, 0.03, 1e-12), "penalty %g, want 0.03", s.penalty);
}

/* p with exact zeros (an underflowed softmax): scores stay finite (p is
 * clamped at FLT_MIN) and the labelling that matches p still wins. */
static void test_zero_probability_is_finite(void) {
  const float p[] = {1, 0, 0, 1}; /* 2 classes, 1 × 2 cells, one-hot */
  const uint8_t match[] = {0, 1}, other[] = {1, 0};
  sr_coarse_dist d = {p, 2, 1, 2};
  sr_kl_score_params par;
  sr_kl_score_params_default(&par);
  sr_kl_score a, b;
  sr_error err = {0};
  CHECK(sr_kl_score_labels(&d, match, 2, 1, &par, &a, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_kl_score_labels(&d, other, 2, 1, &par, &b, &err) == SR_OK, "%s", err.msg);
  CHECK(isfinite(a.score) && isfinite(b.score), "scores %g %g", a.score, b.score);
  CHECK(a.score < b.score, "matching %g vs mismatched %g", a.score, b.score);
  printf("one-hot p: match %.4f, mismatch %.4f (finite)\n", a.score, b.score);
}

/* Frame 3 rows × 1 column, grid 2 × 1: cell 0 = row 0, cell 1 = rows 1..2
 * (floor(1·3/2) = 1). Labels {0, 0, 1}: q = (1,0) and (0.5,0.5). With p equal
 * to those q the score is small (only eps); a convention that put row 1 in
 * cell 0 (ceil) would give q = (1,0),(0,1) and a much larger score. Void:
 * a third cell entirely void is skipped and counted out. */
static void test_cell_regions_and_void(void) {
  const float p[] = {1.0f, 0.5f, 0.0f, 0.5f};
  const uint8_t labels[] = {0, 0, 1};
  sr_coarse_dist d = {p, 2, 2, 1};
  sr_kl_score_params par = {.eps = 1e-6, .penalty_class = -1};
  sr_kl_score s;
  sr_error err = {0};
  CHECK(sr_kl_score_labels(&d, labels, 1, 3, &par, &s, &err) == SR_OK, "%s", err.msg);
  /* q̃ = (1+eps, eps)/(1+2eps) vs p = (1, FLT_MIN): KL(p‖q̃) ≈ 2eps − eps = eps,
   * KL(q̃‖p) ≈ −eps + eps·ln(eps/FLT_MIN) (to O(eps²)); cell 1 is exactly 0. */
  double want_qp = -1e-6 + 1e-6 * log(1e-6 / FLT_MIN);
  CHECK(fabs(s.kl_pq) < 3e-6, "KL(p||q~) %g", s.kl_pq);
  CHECK(fabs(s.kl_qp - want_qp) < 1e-9, "KL(q~||p) %g, want ~%g", s.kl_qp, want_qp);
  CHECK(s.cells == 2, "cells %d", s.cells);
  /* Void: labels ≥ K. Frame 3 × 1, grid 3 × 1, middle row void. */
  const float p3[] = {0.9f, 0.5f, 0.1f, 0.1f, 0.5f, 0.9f};
  const uint8_t lv[] = {0, 11, 1};
  sr_coarse_dist d3 = {p3, 2, 3, 1};
  sr_kl_score sv, sr;
  CHECK(sr_kl_score_labels(&d3, lv, 1, 3, &par, &sv, &err) == SR_OK, "%s", err.msg);
  const float p2[] = {0.9f, 0.1f, 0.1f, 0.9f};
  const uint8_t l2[] = {0, 1};
  sr_coarse_dist d2 = {p2, 2, 2, 1};
  CHECK(sr_kl_score_labels(&d2, l2, 1, 2, &par, &sr, &err) == SR_OK, "%s", err.msg);
  CHECK(sv.cells == 2 && close_to(sv.score, sr.score, 1e-12), "void cell: cells %d score %g vs %g", sv.cells,
        sv.score, sr.score);
  const uint8_t all_void[] = {11, 11, 11};
  CHECK(sr_kl_score_labels(&d3, all_void, 1, 3, &par, &sv, &err) == SR_ERR_INVALID, "all void accepted");
}

static void test_bad_input(void) {
  const float p[] = {0.5f, 0.5f};
  const uint8_t l[] = {0, 1, 0, 1};
  sr_coarse_dist d = {p, 2, 1, 1};
  sr_kl_score s;
  sr_error err = {0};
  sr_kl_score_params par;
  sr_kl_score_params_default(&par);
  par.eps = 0;
  CHECK(sr_kl_score_labels(&d, l, 2, 2, &par, &s, &err) == SR_ERR_INVALID, "eps 0 accepted");
  sr_kl_score_params_default(&par);
  par.penalty_class = 2;
  CHECK(sr_kl_score_labels(&d, l, 2, 2, &par, &s, &err) == SR_ERR_INVALID, "penalty class 2 of 2 accepted");
  par.penalty_class = 0, par.penalty_weight = NAN;
  CHECK(sr_kl_score_labels(&d, l, 2, 2, &par, &s, &err) == SR_ERR_INVALID, "NaN weight accepted");
  sr_kl_score_params_default(&par);
  sr_coarse_dist big = {p, 2, 3, 1};
  CHECK(sr_kl_score_labels(&big, l, 2, 2, &par, &s, &err) == SR_ERR_INVALID, "grid finer than frame accepted");
  sr_proposal_set set;
  CHECK(sr_proposal_set_alloc(&set, 2, 2, 3, 2, &err) == SR_OK, "%s", err.msg);
  int best;
  CHECK(sr_kl_rerank(&d, &set, 0, &par, NULL, &best, &err) == SR_ERR_INVALID, "class mismatch accepted");
  printf("bad input refused: %s\n", err.msg);
  sr_proposal_set_clear(&set);
}

/* Plain reference: counts pixels per cell itself in double. */
static double reference_score(const float *p, int K, int h, int w, const uint8_t *lab, int W, int H, double eps,
                              int pc, double pw) {
  double total = 0;
  for (int i = 0; i < h; i++)
    for (int j = 0; j < w; j++) {
      double cnt[16] = {0}, n = 0;
      for (int r = i * H / h; r < (i + 1) * H / h; r++)
        for (int c = j * W / w; c < (j + 1) * W / w; c++)
          if (lab[r * W + c] < K) cnt[lab[r * W + c]]++, n++;
      if (n == 0) continue;
      for (int k = 0; k < K; k++) {
        double pk = p[(k * h + i) * w + j], q = cnt[k] / n, qt = (q + eps) / (1 + K * eps);
        total += pk * log(pk / qt) + qt * log(qt / pk);
      }
      if (pc >= 0) total += pw * cnt[pc] / n;
    }
  return total;
}

/* Random frames (non-divisible sizes, some void) and proposal sets: every
 * score matches the reference to 1e-6 relative (q is float in the library),
 * and the pick is the argmin of the reference scores within the first m. */
static void test_random_against_reference(void) {
  sr_rng rng;
  sr_rng_seed(&rng, 17);
  double worst = 0;
  int picks_ok = 0, trials = 40;
  for (int t = 0; t < trials; t++) {
    int K = 2 + t % 6, h = 2 + t % 5, w = 3 + t % 4, H = h * 3 + t % 7, W = w * 4 + t % 5, n = 2 + t % 6;
    int m = 1 + t % n;
    float *p = malloc(sizeof(float) * K * h * w);
    for (int c = 0; c < h * w; c++) {
      double z[16], s = 0;
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
        l[x] = u < 0.05 ? 255 : u < 0.6 ? (uint8_t)base : (uint8_t)(sr_rng_uniform(&rng) * K);
      }
    }
    sr_kl_score_params par = {.eps = t % 2 ? 1e-4 : 1e-6, .penalty_class = t % 3 ? -1 : t % K, .penalty_weight = 0.3};
    sr_coarse_dist d = {p, K, h, w};
    sr_kl_score sc[8];
    int best = -1;
    CHECK(sr_kl_rerank(&d, &set, m, &par, sc, &best, &err) == SR_OK, "%s", err.msg);
    int ref_best = 0;
    double ref_low = INFINITY;
    for (int k = 0; k < m; k++) {
      double r = reference_score(p, K, h, w, sr_proposal_labels(&set, k), W, H, par.eps, par.penalty_class,
                                 par.penalty_weight);
      worst = fmax(worst, fabs(sc[k].score - r) / fmax(1, fabs(r)));
      if (r < ref_low) ref_low = r, ref_best = k;
    }
    picks_ok += best == ref_best;
    free(p);
    sr_proposal_set_clear(&set);
  }
  printf("random sets: worst relative score error %.2e, picks agreeing %d/%d\n", worst, picks_ok, trials);
  CHECK(worst < 1e-6, "worst relative error %g", worst);
  CHECK(picks_ok == trials, "%d of %d picks differ from the reference", trials - picks_ok, trials);
}

/* The pick: lowest score, ties to the lower index, only the first m. */
static void test_pick(void) {
  const float p[] = {0.9f, 0.1f, 0.1f, 0.9f}; /* 2 classes, 1 × 2 cells: left class 0, right class 1 */
  sr_coarse_dist d = {p, 2, 1, 2};
  sr_proposal_set set;
  sr_error err = {0};
  CHECK(sr_proposal_set_alloc(&set, 2, 1, 2, 4, &err) == SR_OK, "%s", err.msg);
  const uint8_t maps[4][2] = {{1, 1}, {1, 0}, {0, 1}, {0, 1}};
  for (int k = 0; k < 4; k++) memcpy(sr_proposal_labels(&set, k), maps[k], 2);
  sr_kl_score_params par;
  sr_kl_score_params_default(&par);
  sr_kl_score sc[4];
  int best = -1;
  CHECK(sr_kl_rerank(&d, &set, 0, &par, sc, &best, &err) == SR_OK, "%s", err.msg);
  CHECK(best == 2, "pick %d, want 2 (3 ties with 2)", best);
  CHECK(sc[2].score == sc[3].score, "identical proposals scored %g %g", sc[2].score, sc[3].score);
  CHECK(sr_kl_rerank(&d, &set, 2, &par, sc, &best, &err) == SR_OK, "%s", err.msg);
  CHECK(best == 0, "first 2 only: pick %d, want 0 (one wrong cell against two)", best);
  /* A penalty on class 0 large enough turns the pick to {1,1}. */
  par.penalty_class = 0, par.penalty_weight = 1e3;
  CHECK(sr_kl_rerank(&d, &set, 0, &par, sc, &best, &err) == SR_OK, "%s", err.msg);
  CHECK(best == 0, "with a heavy class-0 penalty pick %d, want 0", best);
  printf("pick: argmin, ties to the lower index, first m only, penalty moves it\n");
  sr_proposal_set_clear(&set);
}

static int flatten(JsonNode *n, double *out, int cap, int at) {
  if (JSON_NODE_HOLDS_ARRAY(n)) {
    JsonArray *a = json_node_get_array(n);
    for (guint i = 0; i < json_array_get_length(a); i++) at = flatten(json_array_get_element(a, i), out, cap, at);
    return at;
  }
  if (at < cap) out[at] = json_node_get_double(n);
  return at + 1;
}

static double dbl_at(JsonObject *o, const char *key, int i) {
  return json_array_get_double_element(json_object_get_array_member(o, key), i);
}

/* Every rerank_eq17 case: q, both KLs, the penalty, the score to 1e-5
 * relative (p is rounded to float) and the chosen argmin exactly. Returns
 * the cases checked, or -1 when loss-cases.json is absent. */
static int test_loss_cases(void) {
  const char *shared = g_getenv("SEGRANK_SHARED");
  char *path = g_build_filename(shared && *shared ? shared : "../shared", "paper", "loss-cases.json", NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    printf("skipped: %s not found (set SEGRANK_SHARED)\n", path);
    g_free(path);
    return -1;
  }
  JsonParser *parser = json_parser_new();
  CHECK(json_parser_load_from_file(parser, path, NULL), "cannot parse %s", path);
  JsonArray *cases = json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)), "cases");
  int checked = 0;
  for (guint ci = 0; ci < json_array_get_length(cases); ci++) {
    JsonObject *c = json_array_get_object_element(cases, ci);
    if (!json_object_has_member(c, "rerank_eq17")) continue;
    JsonObject *r = json_object_get_object_member(c, "rerank_eq17");
    const char *name = json_object_get_string_member(c, "name");
    int K = (int)json_object_get_int_member(c, "K"), H = (int)json_object_get_int_member(c, "H");
    int W = (int)json_object_get_int_member(c, "W"), h = (int)json_object_get_int_member(c, "h");
    int w = (int)json_object_get_int_member(c, "w"), img = (int)json_object_get_int_member(r, "image_index");
    int M = (int)json_array_get_length(json_object_get_array_member(r, "proposals"));
    size_t khw = (size_t)K * h * w, hw = (size_t)H * W;
    double *ph = malloc(sizeof(double) * khw * (img + 1)), *lab = malloc(sizeof(double) * hw * M);
    double *q = malloc(sizeof(double) * khw * M);
    flatten(json_object_get_member(c, "p_hat"), ph, (int)(khw * (img + 1)), 0);
    flatten(json_object_get_member(r, "proposals"), lab, (int)(hw * M), 0);
    flatten(json_object_get_member(r, "q"), q, (int)(khw * M), 0);
    float *p = malloc(sizeof(float) * khw), *qs = malloc(sizeof(float) * khw);
    uint8_t *valid = malloc((size_t)h * w);
    for (size_t i = 0; i < khw; i++) p[i] = (float)ph[img * khw + i];
    sr_proposal_set set;
    sr_error err = {0};
    CHECK(sr_proposal_set_alloc(&set, W, H, K, M, &err) == SR_OK, "%s", err.msg);
    for (int m = 0; m < M; m++)
      for (size_t x = 0; x < hw; x++) sr_proposal_labels(&set, m)[x] = (uint8_t)lab[m * hw + x];
    sr_kl_score_params par = {.eps = json_object_get_double_member(r, "eps"),
                              .penalty_class = (int)json_object_get_int_member(r, "bg_class"),
                              .penalty_weight = json_object_get_double_member(r, "bg_weight")};
    sr_kl_score *sc = calloc(M, sizeof *sc);
    sr_coarse_dist d = {p, K, h, w};
    int best = -1;
    CHECK(sr_kl_rerank(&d, &set, 0, &par, sc, &best, &err) == SR_OK, "%s: %s", name, err.msg);
    double worst = 0, worst_q = 0;
    for (int m = 0; m < M; m++) {
      sr_soft_target(sr_proposal_labels(&set, m), H, W, K, h, w, qs, valid);
      for (size_t i = 0; i < khw; i++) worst_q = fmax(worst_q, fabs(qs[i] - q[m * khw + i]));
      const double want[4] = {dbl_at(r, "kl_phat_q", m), dbl_at(r, "kl_q_phat", m), dbl_at(r, "bg_term", m),
                              dbl_at(r, "score", m)};
      const double got[4] = {sc[m].kl_pq, sc[m].kl_qp, sc[m].penalty, sc[m].score};
      for (int j = 0; j < 4; j++) {
        double e = fabs(got[j] - want[j]) / fmax(1, fabs(want[j]));
        worst = fmax(worst, e);
        CHECK(e < 1e-5, "%s proposal %d part %d: %.10g, want %.10g", name, m, j, got[j], want[j]);
      }
    }
    int want_best = (int)json_object_get_int_member(r, "chosen_argmin");
    printf("loss-cases %s: %d proposals, eps %g, penalty %d x %g: worst relative error %.2e, q max error %.1e, "
           "pick %d (want %d)\n",
           name, M, par.eps, par.penalty_class, par.penalty_weight, worst, worst_q, best, want_best);
    CHECK(worst_q < 1e-6, "%s: q differs by %g", name, worst_q);
    CHECK(best == want_best, "%s: pick %d, want %d", name, best, want_best);
    checked++;
    free(ph), free(lab), free(q), free(p), free(qs), free(valid), free(sc);
    sr_proposal_set_clear(&set);
  }
  CHECK(checked > 0, "no rerank_eq17 case in %s", path);
  g_object_unref(parser);
  g_free(path);
  return checked;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--loss-cases")) {
    /* The meson test loss_cases_rerank: needs ../shared, skipped (77) without it. */
    if (test_loss_cases() < 0) return 77;
    if (test_failures) fprintf(stderr, "%d check(s) failed\n", test_failures);
    return test_failures ? 1 : 0;
  }
  test_hand_two_cells();
  test_zero_probability_is_finite();
  test_cell_regions_and_void();
  test_bad_input();
  test_pick();
  test_random_against_reference();
  if (test_failures) {
    fprintf(stderr, "%d check(s) failed\n", test_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
