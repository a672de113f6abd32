/* test_proposals.c: the proposal set and its folder layout (save/load round
 * trip, the loader's errors), the oracle and diversity measures, and the
 * proposer end to end on synthetic frames with a unary model trained here. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "synthetic_scenes.h"
#include "test_util.h"

static char *tmp_dir;

static void make_set(sr_proposal_set *s, int w, int h, int c, int n) {
  sr_error err = {0};
  CHECK(sr_proposal_set_alloc(s, w, h, c, n, &err) == SR_OK, "%s", err.msg);
  for (int k = 0; k < n; k++) {
    uint8_t *l = sr_proposal_labels(s, k);
    for (int i = 0; i < w * h; i++) l[i] = (uint8_t)((i / w + k * (i % w)) % c);
    s->score[k] = 10.0 + k;
    s->energy[k] = 20.5 + k;
    s->unary[k] = 5.25 * k;
    s->pairwise[k] = k == 1 ? NAN : 1.0;
  }
  sr_proposal_set_update_areas(s);
}

static void write_png(const char *dir, const char *name, int w, int h, uint8_t v) {
  char *p = g_build_filename(dir, name, NULL);
  sr_image img = {w, h, 1, malloc((size_t)w * h)};
  memset(img.data, v, (size_t)w * h);
  sr_error err = {0};
  CHECK(sr_image_save_png(p, &img, &err) == SR_OK, "%s", err.msg);
  sr_image_clear(&img);
  g_free(p);
}

static void test_io(void) {
  sr_error err = {0};
  sr_proposal_set s, t, u;
  make_set(&s, 13, 7, 4, 12);
  double sum = 0;
  for (int c = 0; c < 4; c++) sum += s.areas[4 * 3 + c];
  CHECK(fabs(sum - 1) < 1e-12, "areas of proposal 3 sum to %g", sum);
  char *dir = g_build_filename(tmp_dir, "frame0", NULL);
  CHECK(sr_proposal_set_save_dir(&s, dir, &err) == SR_OK, "%s", err.msg);
  char *first = g_build_filename(dir, "00.png", NULL), *last = g_build_filename(dir, "11.png", NULL);
  CHECK(g_file_test(first, G_FILE_TEST_EXISTS) && g_file_test(last, G_FILE_TEST_EXISTS), "zero-padded names");
  g_free(first), g_free(last);
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 13, 7, 0, &t, &err) == SR_OK, "%s", err.msg);
  CHECK(t.n == 12 && t.width == 13 && t.height == 7, "loaded %d proposals of %dx%d", t.n, t.width, t.height);
  for (int k = 0; k < t.n && k < s.n; k++) {
    CHECK(!memcmp(sr_proposal_labels(&s, k), sr_proposal_labels(&t, k), 13 * 7), "proposal %d labels", k);
    CHECK(t.score[k] == s.score[k] && t.energy[k] == s.energy[k] && t.unary[k] == s.unary[k], "proposal %d scores", k);
    CHECK(k == 1 ? isnan(t.pairwise[k]) : t.pairwise[k] == 1.0, "proposal %d pairwise %g", k, t.pairwise[k]);
    CHECK(t.rank[k] == k, "rank %d", t.rank[k]);
    for (int c = 0; c < 4; c++) CHECK(t.areas[4 * k + c] == s.areas[4 * k + c], "areas");
  }
  sr_proposal_set_clear(&t);
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 0, 0, 5, &t, &err) == SR_OK && t.n == 5, "max_n 5: %d", t.n);
  sr_proposal_set_clear(&t);
  CHECK(sr_proposal_set_copy(&s, &u, &err) == SR_OK, "%s", err.msg);
  CHECK(!memcmp(u.labels, s.labels, 12 * 13 * 7) && u.energy[11] == s.energy[11], "copy");
  sr_proposal_set_clear(&u);

  /* Errors: size mismatch with the frame, missing folder, empty folder,
   * a label that is not a class, a PNG of another size, bad scores.json. */
  CHECK(sr_proposal_set_load_dir(dir, 4, 255, 14, 7, 0, &t, &err) == SR_ERR_INVALID && strstr(err.msg, "00.png") &&
            strstr(err.msg, "14x7"),
        "frame size mismatch: %s", err.msg);
  char *missing = g_build_filename(tmp_dir, "nope", NULL);
  CHECK(sr_proposal_set_load_dir(missing, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_IO && strstr(err.msg, "nope"),
        "missing folder: %s", err.msg);
  g_free(missing);
  char *empty = g_build_filename(tmp_dir, "empty", NULL);
  g_mkdir(empty, 0755);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_IO && strstr(err.msg, "no proposal"),
        "empty folder: %s", err.msg);
  write_png(empty, "a.png", 5, 4, 4);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_FORMAT && strstr(err.msg, "a.png") &&
            strstr(err.msg, "label 4"),
        "label 4 with 4 classes: %s", err.msg);
  write_png(empty, "a.png", 5, 4, 255);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_OK && t.n == 1, "void is accepted: %s", err.msg);
  CHECK(t.score[0] == 0 && isnan(t.energy[0]), "no scores.json: score = rank, energy unknown");
  sr_proposal_set_clear(&t);
  write_png(empty, "b.png", 6, 4, 1);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_INVALID && strstr(err.msg, "b.png"),
        "mixed sizes: %s", err.msg);
  write_png(empty, "b.png", 5, 4, 1);
  char *sj = g_build_filename(empty, "scores.json", NULL);
  g_file_set_contents(sj, "{\"proposals\": [{\"file\": \"b.png\", \"score\": -3.5}, {\"file\": \"a.png\", \"score\": 7}]}", -1, NULL);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_OK && t.score[0] == 7 && t.score[1] == -3.5,
        "scores matched by file: %s %g %g", err.msg, t.score[0], t.score[1]);
  sr_proposal_set_clear(&t);
  g_file_set_contents(sj, "{\"proposals\": [{\"score\": \"x\"}]}", -1, NULL);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_FORMAT && strstr(err.msg, "scores.json"),
        "non-numeric score: %s", err.msg);
  g_file_set_contents(sj, "{\"proposals\": [", -1, NULL);
  CHECK(sr_proposal_set_load_dir(empty, 4, 255, 0, 0, 0, &t, &err) == SR_ERR_FORMAT && strstr(err.msg, "scores.json"),
        "truncated scores.json: %s", err.msg);
  g_free(sj);
  g_free(empty);
  g_free(dir);
  sr_proposal_set_clear(&s);
  printf("proposal folders: round trip, max_n, copy and 8 error cases checked\n");
}

static void test_oracle(void) {
  /* Truth: left half class 0, right half class 1, one void column. */
  enum { W = 10, H = 4 };
  uint8_t truth[W * H];
  for (int i = 0; i < W * H; i++) truth[i] = i % W == 9 ? 255 : (i % W < 5 ? 0 : 1);
  sr_proposal_set s;
  sr_error err = {0};
  sr_proposal_set_alloc(&s, W, H, 3, 3, &err);
  memset(sr_proposal_labels(&s, 0), 0, W * H);                                 /* all 0 */
  for (int i = 0; i < W * H; i++) sr_proposal_labels(&s, 1)[i] = i % W < 5 ? 0 : 1; /* perfect */
  for (int i = 0; i < W * H; i++) sr_proposal_labels(&s, 2)[i] = i % W < 3 ? 0 : 2; /* wrong */
  double m0 = sr_image_miou(truth, sr_proposal_labels(&s, 0), W * H, 3);
  /* class 0: I = 20, U = 36 (all non-void pixels); class 1: I = 0, U = 16. */
  CHECK(fabs(m0 - 100.0 * (20.0 / 36 + 0) / 2) < 1e-9, "mIoU of 'all 0' = %g", m0);
  CHECK(sr_image_miou(truth, sr_proposal_labels(&s, 1), W * H, 3) == 100, "perfect proposal");
  CHECK(sr_oracle_pick(&s, truth, 1) == 0, "oracle@1 is rank 0");
  CHECK(sr_oracle_pick(&s, truth, 3) == 1, "oracle@3 picks the perfect one");
  CHECK(sr_oracle_pick(&s, truth, 99) == 1, "M beyond the set");
  double d = sr_proposal_diversity(&s, 2);
  CHECK(fabs(d - 0.5) < 1e-12, "diversity of 'all 0' vs halves = %g", d);
  CHECK(sr_proposal_diversity(&s, 1) == 0, "diversity of one proposal");
  sr_proposal_set_clear(&s);
  printf("oracle: per-image IoU, best-of-M and diversity on a hand-made case\n");
}

/* The proposer on a synthetic scene: M proposals of the frame size, each
 * constant on every superpixel, energies as reported equal the CRF's
 * parts, the MAP beats the unary argmax or ties it, proposals pairwise
 * different, areas consistent; a hybrid term that strongly favours one
 * class turns the MAP into that class; bad parameters are refused. */
static void test_proposer(void) {
  enum { W = 96, H = 72 };
  sr_error err = {0};
  sr_unary_model *m = synth_train_unary(4, W, H, 80, &err);
  CHECK(m != NULL, "training: %s", err.msg);
  if (!m) return;
  sr_image img, lab;
  synth_scene(42, W, H, &img, &lab);
  sr_proposer_params pp;
  sr_proposer_params_default(&pp);
  pp.num_solutions = 6, pp.lambda = 0.5f, pp.threads = 2;
  sr_proposer *pr;
  CHECK(sr_proposer_new(m, &pp, &pr, &err) == SR_OK, "%s", err.msg);
  sr_proposal_set set;
  sr_proposer_times t;
  CHECK(sr_proposer_run(pr, &img, NULL, &set, &t, &err) == SR_OK, "%s", err.msg);
  CHECK(set.n == 6 && set.width == W && set.height == H && set.n_classes == 3, "%d proposals of %dx%d", set.n,
        set.width, set.height);
  CHECK(set.superpixels && set.n_superpixels > 20, "superpixel map with %d superpixels", set.n_superpixels);
  for (int k = 0; k < set.n; k++) {
    const uint8_t *l = sr_proposal_labels(&set, k);
    uint8_t *seen = calloc(set.n_superpixels, 1);
    int constant = 1;
    for (int i = 0; i < W * H; i++) {
      int s = set.superpixels[i];
      if (!seen[s]) seen[s] = (uint8_t)(l[i] + 1);
      else constant &= seen[s] == l[i] + 1;
    }
    free(seen);
    CHECK(constant, "proposal %d is constant on superpixels", k);
    CHECK(isfinite(set.energy[k]) && fabs(set.energy[k] - set.unary[k] - set.pairwise[k]) < 1e-6 * fabs(set.energy[k]) + 1e-9,
          "proposal %d: energy %g = unary %g + pairwise %g", k, set.energy[k], set.unary[k], set.pairwise[k]);
    CHECK(set.rank[k] == k && set.score[k] == set.energy[k], "rank and score of %d", k);
    if (k > 0) CHECK(set.energy[k] >= set.energy[0] - 1e-9, "the MAP has the lowest energy (%g < %g)", set.energy[k], set.energy[0]);
    for (int j = 0; j < k; j++)
      CHECK(memcmp(l, sr_proposal_labels(&set, j), W * H), "proposals %d and %d differ", j, k);
    double a = 0;
    for (int c = 0; c < 3; c++) a += set.areas[3 * k + c];
    CHECK(fabs(a - 1) < 1e-9, "areas of %d sum to %g", k, a);
  }
  double map = sr_image_miou(lab.data, sr_proposal_labels(&set, 0), W * H, 3);
  CHECK(map > 80, "MAP of a held-out synthetic scene: %.1f mIoU", map);
  printf("proposer: %d proposals on %d superpixels, MAP %.1f mIoU, energies %.2f..%.2f, %d max-flows\n", set.n,
         set.n_superpixels, map, set.energy[0], set.energy[set.n - 1], t.max_flows);
  sr_proposal_set_clear(&set);
  sr_proposer_free(pr);

  /* Hybrid: a net that is certain of class 2 everywhere wins at weight 50. */
  enum { CH = 4, CW = 5 };
  float probs[3 * CH * CW];
  for (int i = 0; i < CH * CW; i++) probs[i] = 0.01f, probs[CH * CW + i] = 0.01f, probs[2 * CH * CW + i] = 0.98f;
  sr_coarse_probs net = {probs, 3, CH, CW};
  pp.hybrid_weight = 50;
  CHECK(sr_proposer_new(m, &pp, &pr, &err) == SR_OK, "%s", err.msg);
  CHECK(sr_proposer_run(pr, &img, &net, &set, NULL, &err) == SR_OK, "%s", err.msg);
  int all2 = 1;
  for (int i = 0; i < W * H; i++) all2 &= sr_proposal_labels(&set, 0)[i] == 2;
  CHECK(all2, "hybrid weight 50 towards class 2 labels every pixel 2");
  sr_proposal_set_clear(&set);
  sr_coarse_probs wrong = {probs, 2, CH, CW};
  CHECK(sr_proposer_run(pr, &img, &wrong, &set, NULL, &err) == SR_ERR_INVALID && strstr(err.msg, "classes"),
        "net with 2 classes: %s", err.msg);
  sr_proposer_free(pr);

  pp.num_solutions = 0;
  CHECK(sr_proposer_new(m, &pp, &pr, &err) == SR_ERR_INVALID, "num-solutions 0 refused");
  pp.num_solutions = 3, pp.lambda = -1;
  CHECK(sr_proposer_new(m, &pp, &pr, &err) == SR_ERR_INVALID, "negative lambda refused");
  sr_image_clear(&img);
  sr_image_clear(&lab);
  sr_unary_model_free(m);
}

int main(void) {
  tmp_dir = g_dir_make_tmp("segrank-proposals-XXXXXX", NULL);
  test_io();
  test_oracle();
  test_proposer();
  char *cmd = g_strdup_printf("rm -rf '%s'", tmp_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
  g_free(cmd);
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
