/* test_svmrerank.c: GstHarness tests of svmrerank and of the image
 * descriptor segnetinfer attaches for it. Rankers are trained here
 * (sr_ranker_train) on small synthetic sets whose answer is known and saved
 * to a temporary folder: a "source" ranker that learned to prefer the
 * source's LAST rank (so its pick is neither the MAP nor eq. 17's), a
 * "segnet" ranker that learned to prefer the proposal closest to the net,
 * and a "cls" ranker on a synthetic image descriptor. On hand-made frames (a
 * 3-class net on a 4 × 3 grid and four proposals, as in
 * test_proposalscore.c) svmrerank picks the expected proposal, its costs are
 * exactly the negated sr_ranker_score_set scores of the same ranker file,
 * num-proposals limits the scored set; a void-everywhere proposal costs +inf
 * and the rest are scored as a set without it; frames without proposals
 * get the net's own bilinear argmax with one warning; num-proposals 0 scores
 * the M in the ranker's provenance, and another number or fewer proposals
 * than M warn once; a ranker whose classes
 * differ from the frames', a missing or garbage ranker file, a segnet
 * ranker without the net, a cls ranker without (or with a wrong-sized)
 * descriptor are errors naming the cause; $SEGRANK_RANKER is the default
 * ranker. segnetinfer's descriptor is conv5's mean and max per channel (2 ×
 * 256 values, equal to sr_image_descriptor of the net's own tap, also in
 * batches), descriptor=false attaches none, and the prob meta keeps it
 * through copies and scaling. */
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <math.h>

#include "gstsrprobmeta.h"
#include "gstsrproposalmeta.h"
#include "gstsrsegmentationmeta.h"
#include "segrank.h"

#define W 32
#define H 24
#define GW 4 /* the net's grid */
#define GH 3
#define C 3
#define N_PROPOSALS 4
#define DESC_DIM 6 /* the synthetic descriptor of the cls ranker */

static const gchar *names[] = {"a", "b", "c", NULL};
static const guint8 net_colors[3 * C] = {10, 20, 30, 40, 50, 60, 70, 80, 90};
static const guint8 proposal_colors[3 * C] = {200, 0, 0, 0, 200, 0, 0, 0, 200};

/* The rankers, written once by the first test that needs them. */
static gchar *tmp_dir, *source_ranker, *segnet_ranker, *cls_ranker, *other_classes_ranker, *four_classes_ranker;

/* ---- the test frame (as test_proposalscore.c) ---- */

/* The net: 0.8 on class 2 in grid columns 0-1, on class 1 in columns 2-3,
 * 0.1 on each other class. */
static void net_probs(gfloat *p) {
  for (int k = 0; k < C; k++)
    for (int i = 0; i < GH; i++)
      for (int j = 0; j < GW; j++) p[(k * GH + i) * GW + j] = k == (j < 2 ? 2 : 1) ? 0.8f : 0.1f;
}

/* The grid cell (of @cells over @n pixels) that pixel @x lies in. */
static int cell_of(int x, int n, int cells) {
  int c = 0;
  while (c + 1 < cells && (c + 1) * n / cells <= x) c++;
  return c;
}

/* The four proposals: 0 all class 0 (wrong everywhere), 1 all class 2
 * (right on the left half), 2 the net's labelling, 3 right but for grid
 * cell (0, 0), which is class 0. */
static void proposal_maps(guint8 *labels) {
  for (int k = 0; k < N_PROPOSALS; k++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        int j = cell_of(x, W, GW), i = cell_of(y, H, GH);
        guint8 l = j < 2 ? 2 : 1;
        if (k == 0) l = 0;
        if (k == 1) l = 2;
        if (k == 3 && i == 0 && j == 0) l = 0;
        labels[((gsize)k * H + y) * W + x] = l;
      }
}

/* The synthetic descriptor of a map: its class coverages, then constants. */
static void descriptor_of(const guint8 *labels, gfloat *desc) {
  double cov[C];
  sr_label_coverage(labels, (size_t)W * H, C, cov);
  for (int c = 0; c < C; c++) desc[c] = (gfloat)cov[c];
  for (int d = C; d < DESC_DIM; d++) desc[d] = 0.5f;
}

static GstBuffer *grey_frame(void) {
  GstBuffer *buf = gst_buffer_new_allocate(NULL, (gsize)W * H * 3, NULL);
  gst_buffer_memset(buf, 0, 77, (gsize)W * H * 3);
  return buf;
}

static GstSrProbMeta *add_net(GstBuffer *buf, const gchar *const *class_names) {
  gfloat p[C * GH * GW];
  net_probs(p);
  GstSrProbMeta *pm = gst_buffer_add_sr_prob_meta(buf, C, GW, GH, p, class_names, net_colors, W, H);
  fail_unless(pm != NULL);
  return pm;
}

/* A frame with the net's distribution (@with_net), the descriptor of the
 * net's labelling (@desc_len values of it, 0: none) and @maps (@n of them,
 * NULL: the four proposals). */
static GstBuffer *test_frame(gboolean with_net, guint desc_len, const guint8 *maps, guint n) {
  GstBuffer *buf = grey_frame();
  guint8 own[N_PROPOSALS * W * H];
  proposal_maps(own);
  if (with_net) {
    GstSrProbMeta *pm = add_net(buf, names);
    gfloat desc[DESC_DIM + 4];
    descriptor_of(own + 2 * W * H, desc);
    for (guint d = DESC_DIM; d < G_N_ELEMENTS(desc); d++) desc[d] = 0;
    if (desc_len) fail_unless(gst_sr_prob_meta_set_descriptor(pm, desc_len, desc));
  }
  fail_unless(gst_buffer_add_sr_proposal_meta(buf, "test", maps ? n : N_PROPOSALS, W, H, C, names, proposal_colors,
                                              maps ? maps : own, NULL, NULL, NULL, NULL, NULL, NULL) != NULL);
  return buf;
}

/* ---- rankers trained on synthetic sets ---- */

static void classes_of(const gchar *const *class_names, int n, sr_class *out) {
  memset(out, 0, sizeof(sr_class) * n);
  for (int c = 0; c < n; c++) g_strlcpy(out[c].name, class_names[c], sizeof out[c].name);
}

/* Random map of classes < @n_classes per grid cell (each pixel its cell's). */
static void random_cells(GRand *r, int n_classes, int *cells) {
  for (int i = 0; i < GH * GW; i++) cells[i] = g_rand_int_range(r, 0, n_classes);
}

static void paint(const int *cells, guint8 *labels) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) labels[y * W + x] = (guint8)cells[cell_of(y, H, GH) * GW + cell_of(x, W, GW)];
}

/* Trains @r (its groups) on @n_images synthetic images and saves it to
 * @path. Image i: a ground truth of random grid cells, the net 0.8 on the
 * truth per cell, descriptor_of(truth); its four proposals k = 0..3 are the
 * truth with 2k cells changed, rank k, of quality 100 − 20k (the closer to
 * the truth the better), or with @reverse_rank 40 + 20k (the higher the
 * rank the better, whatever the maps: what a source ranker can learn). */
static void train_and_save(sr_ranker *r, const sr_image_classifier *cls, int n_images, gboolean reverse_rank,
                           const char *path) {
  const unsigned groups = sr_ranker_groups(r);
  const int dim = sr_ranker_dim(r);
  GRand *rnd = g_rand_new_with_seed(7);
  sr_ranker_example *ex = g_new0(sr_ranker_example, n_images);
  double *features = g_new(double, (gsize)n_images * N_PROPOSALS * dim);
  double *iou = g_new(double, (gsize)n_images * N_PROPOSALS);
  for (int im = 0; im < n_images; im++) {
    int truth[GH * GW];
    random_cells(rnd, C, truth);
    sr_proposal_set set;
    sr_error err = {0};
    fail_unless(sr_proposal_set_alloc(&set, W, H, C, N_PROPOSALS, &err) == SR_OK, "%s", err.msg);
    for (int k = 0; k < N_PROPOSALS; k++) {
      int cells[GH * GW];
      memcpy(cells, truth, sizeof cells);
      int changed = 2 * k;
      for (int i = 0; i < changed; i++) cells[i] = (cells[i] + 1 + g_rand_int_range(rnd, 0, C - 1)) % C;
      paint(cells, sr_proposal_labels(&set, k));
      iou[im * N_PROPOSALS + k] = reverse_rank ? 40 + 20 * k : 100 - 20 * k;
    }
    sr_proposal_set_update_areas(&set);
    gfloat p[C * GH * GW];
    for (int c = 0; c < C; c++)
      for (int i = 0; i < GH * GW; i++) p[c * GH * GW + i] = truth[i] == c ? 0.8f : 0.1f;
    sr_coarse_dist net = {p, C, GH, GW};
    guint8 truth_map[W * H];
    paint(truth, truth_map);
    gfloat desc[DESC_DIM], cls_scores[SR_IMAGE_CLASSIFIER_OUTPUTS(C)];
    descriptor_of(truth_map, desc);
    sr_rerank_input in = {.set = &set, .net = &net};
    if (groups & SR_RERANK_CLS) {
      fail_unless(sr_image_classifier_predict(cls, desc, DESC_DIM, cls_scores, &err) == SR_OK, "%s", err.msg);
      in.cls_scores = cls_scores, in.cls_thresholds = sr_image_classifier_thresholds(cls);
    }
    double *f = features + (gsize)im * N_PROPOSALS * dim;
    fail_unless(sr_rerank_features(groups, sr_ranker_feature_params(r), &in, N_PROPOSALS, f, &err) == SR_OK, "%s",
                err.msg);
    ex[im] = (sr_ranker_example){N_PROPOSALS, f, iou + im * N_PROPOSALS};
    sr_proposal_set_clear(&set);
  }
  sr_ranker_train_params tp;
  sr_ranker_train_params_default(&tp);
  sr_error err = {0};
  fail_unless(sr_ranker_train(r, ex, n_images, &tp, &err) == SR_OK, "%s", err.msg);
  fail_unless(sr_ranker_save(r, path, &err) == SR_OK, "%s", err.msg);
  g_free(ex);
  g_free(features);
  g_free(iou);
  g_rand_free(rnd);
}

/* An image classifier on the synthetic descriptor: 24 random truths. */
static sr_image_classifier *train_classifier(void) {
  enum { N = 24 };
  GRand *rnd = g_rand_new_with_seed(3);
  gfloat desc[N * DESC_DIM];
  double cov[N * C];
  for (int i = 0; i < N; i++) {
    int cells[GH * GW];
    /* Some images lack a class: only classes < 2 or ≥ 1. */
    int lo = i % 3 == 0 ? 1 : 0, hi = i % 3 == 1 ? 2 : 3;
    for (int k = 0; k < GH * GW; k++) cells[k] = g_rand_int_range(rnd, lo, hi);
    guint8 map[W * H];
    paint(cells, map);
    descriptor_of(map, desc + i * DESC_DIM);
    sr_label_coverage(map, (size_t)W * H, C, cov + i * C);
  }
  sr_image_classifier_params cp;
  sr_image_classifier_params_default(&cp);
  sr_image_classifier *cls = NULL;
  sr_error err = {0};
  fail_unless(sr_image_classifier_train(desc, N, DESC_DIM, cov, C, &cp, &cls, &err) == SR_OK, "%s", err.msg);
  g_rand_free(rnd);
  return cls;
}

static gchar *new_ranker(unsigned groups, const gchar *const *class_names, int n_classes, const sr_image_classifier *cls,
                         gboolean reverse_rank, const char *file) {
  sr_class classes[8];
  classes_of(class_names, n_classes, classes);
  sr_ranker *r = NULL;
  sr_error err = {0};
  fail_unless(sr_ranker_new(groups, classes, n_classes, NULL, cls, &r, &err) == SR_OK, "%s", err.msg);
  gchar *path = g_build_filename(tmp_dir, file, NULL);
  if (n_classes == C) {
    train_and_save(r, cls, 12, reverse_rank, path);
  } else {
    fail_unless(sr_ranker_save(r, path, &err) == SR_OK, "%s", err.msg);
  }
  sr_ranker_free(r);
  return path;
}

static void make_rankers(void) {
  if (tmp_dir) return;
  tmp_dir = g_dir_make_tmp("segrank-svmrerank-XXXXXX", NULL);
  fail_unless(tmp_dir != NULL);
  sr_image_classifier *cls = train_classifier();
  source_ranker = new_ranker(SR_RERANK_SOURCE, names, C, NULL, TRUE, "source.srranker");
  segnet_ranker = new_ranker(SR_RERANK_SEGNET, names, C, NULL, FALSE, "segnet.srranker");
  cls_ranker = new_ranker(SR_RERANK_CLS, names, C, cls, FALSE, "cls.srranker");
  static const gchar *other[] = {"a", "b", "x", NULL}, *four[] = {"a", "b", "c", "d", NULL};
  other_classes_ranker = new_ranker(SR_RERANK_SOURCE, other, C, NULL, TRUE, "other.srranker");
  four_classes_ranker = new_ranker(SR_RERANK_SOURCE, four, 4, NULL, TRUE, "four.srranker");
  sr_image_classifier_free(cls);
}

/* Each test (a forked child by default) makes its own, removed after it. */
static void remove_rankers(void) {
  if (!tmp_dir) return;
  gchar **all[] = {&source_ranker, &segnet_ranker, &cls_ranker, &other_classes_ranker, &four_classes_ranker};
  for (guint i = 0; i < G_N_ELEMENTS(all); i++) {
    g_unlink(*all[i]);
    g_free(*all[i]);
    *all[i] = NULL;
  }
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  tmp_dir = NULL;
}

/* ---- harness helpers ---- */

static GstHarness *harness(const gchar *desc, GstBus **bus) {
  GstHarness *hrn = gst_harness_new_parse(desc);
  if (bus) {
    *bus = gst_bus_new();
    gst_element_set_bus(hrn->element, *bus);
  }
  gchar *caps = g_strdup_printf("video/x-raw,format=RGB,width=%d,height=%d,framerate=10/1", W, H);
  gst_harness_set_src_caps_str(hrn, caps);
  g_free(caps);
  return hrn;
}

static void teardown(GstHarness *hrn, GstBus *bus) {
  if (bus) {
    gst_bus_set_flushing(bus, TRUE);
    gst_element_set_bus(hrn->element, NULL);
  }
  gst_harness_teardown(hrn);
  if (bus) gst_object_unref(bus);
}

static void expect_one_warning(GstBus *bus, const gchar *text) {
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(msg != NULL, "no warning");
  GError *err = NULL;
  gst_message_parse_warning(msg, &err, NULL);
  fail_unless(strstr(err->message, text) != NULL, "\"%s\" lacks \"%s\"", err->message, text);
  g_error_free(err);
  gst_message_unref(msg);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING) == NULL, "warned twice");
}

/* The error on @bus has @text in its message and every @details in its
 * debug text. */
static void expect_error_message(GstBus *bus, const gchar *text, const gchar *const *details) {
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL, "no error message");
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_error(msg, &err, &dbg);
  fail_unless(strstr(err->message, text) != NULL, "\"%s\" lacks \"%s\"", err->message, text);
  for (guint i = 0; details[i]; i++)
    fail_unless(dbg && strstr(dbg, details[i]) != NULL, "debug \"%s\" lacks \"%s\"", dbg, details[i]);
  g_print("  error: %s (%s)\n", err->message, dbg);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
}

/* Pushing @in into "@desc" must fail with such an error. */
static void expect_error(const gchar *desc, GstBuffer *in, const gchar *text, const gchar *const *details) {
  GstBus *bus;
  GstHarness *hrn = harness(desc, &bus);
  fail_unless_equals_int(gst_harness_push(hrn, in), GST_FLOW_ERROR);
  expect_error_message(bus, text, details);
  teardown(hrn, bus);
}

/* sr_ranker_score_set of the ranker file @path on @maps (@n proposals, rank
 * = index, no energies, as the meta gives them), the first @m, with the
 * test net and @desc: into @scores, the best returned. */
static int library_scores(const char *path, const guint8 *maps, int n, int m, const gfloat *desc, double *scores) {
  sr_ranker *r = NULL;
  sr_error err = {0};
  fail_unless(sr_ranker_load(path, NULL, 0, &r, &err) == SR_OK, "%s", err.msg);
  sr_proposal_set set;
  fail_unless(sr_proposal_set_alloc(&set, W, H, C, n, &err) == SR_OK);
  memcpy(set.labels, maps, (gsize)n * W * H);
  sr_proposal_set_update_areas(&set);
  gfloat p[C * GH * GW];
  net_probs(p);
  sr_coarse_dist net = {p, C, GH, GW};
  int best = -1;
  fail_unless(sr_ranker_score_set(r, &set, &net, desc, desc ? DESC_DIM : 0, m, scores, &best, &err) == SR_OK, "%s",
              err.msg);
  sr_proposal_set_clear(&set);
  sr_ranker_free(r);
  return best;
}

/* The meta chose proposal @best of @maps with costs = −@scores. */
static void check_choice(const GstSrSegmentationMeta *m, const guint8 *maps, guint n_scored, const double *scores,
                         gint best) {
  fail_unless(m != NULL, "no segmentation meta");
  fail_unless_equals_string(m->method, "svm");
  fail_unless_equals_int(m->n_scores, n_scored);
  for (guint k = 0; k < n_scored; k++) {
    fail_unless(m->scores[k] == -scores[k], "proposal %u: cost %.17g, library score %.17g", k, m->scores[k],
                scores[k]);
    fail_unless(m->scores[k] >= m->scores[m->selected], "proposal %u costs less than the selected one", k);
  }
  fail_unless_equals_int(m->selected, best);
  fail_unless(m->width == W && m->height == H && m->n_classes == C);
  fail_unless(memcmp(m->labels, maps + (gsize)best * W * H, (gsize)W * H) == 0, "labels are not proposal %d's", best);
  fail_unless(memcmp(m->class_colors, proposal_colors, sizeof proposal_colors) == 0, "not the proposals' colours");
}

/* ---- tests ---- */

GST_START_TEST(test_picks_ranker_best) {
  g_print("svmrerank: picks the ranker's best; costs are the negated sr_ranker_score_set scores\n");
  make_rankers();
  guint8 maps[N_PROPOSALS * W * H];
  proposal_maps(maps);
  gfloat desc[DESC_DIM];
  descriptor_of(maps + 2 * W * H, desc);
  static const struct {
    const gchar *what;
    gchar **ranker;
    const gchar *props;
    gboolean with_net;
    guint desc_len, n_scored;
    gint best;
  } cases[] = {
      /* Learned to prefer the source's last rank: proposal 3 (neither the
       * MAP, 0, nor eq. 17's choice, 2), without any net upstream. */
      {"source", &source_ranker, "", FALSE, 0, 4, 3},
      {"source", &source_ranker, "num-proposals=2", FALSE, 0, 2, 1},
      {"source", &source_ranker, "num-proposals=9", TRUE, DESC_DIM, 4, 3},
      /* Learned to prefer the proposal closest to the net: the net's map. */
      {"segnet", &segnet_ranker, "", TRUE, 0, 4, 2},
      {"segnet", &segnet_ranker, "num-proposals=2", TRUE, 0, 2, 1},
      /* The classifier on the descriptor: the map whose classes agree. */
      {"cls", &cls_ranker, "", TRUE, DESC_DIM, 4, 2},
  };
  for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
    gchar *desc_str = g_strdup_printf("svmrerank ranker=%s %s", *cases[c].ranker, cases[c].props);
    GstBus *bus;
    GstHarness *hrn = harness(desc_str, &bus);
    GstBuffer *out = gst_harness_push_and_pull(hrn, test_frame(cases[c].with_net, cases[c].desc_len, NULL, 0));
    fail_unless(out != NULL, "%s: no output", desc_str);
    double scores[N_PROPOSALS];
    int lib_best = library_scores(*cases[c].ranker, maps, N_PROPOSALS, (int)cases[c].n_scored,
                                  cases[c].desc_len ? desc : NULL, scores);
    GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
    g_print("  %-7s %-16s selected %d, costs", cases[c].what, cases[c].props, m ? m->selected : -9);
    for (guint k = 0; m && k < m->n_scores; k++) g_print(" %.3f", m->scores[k]);
    g_print("\n");
    fail_unless_equals_int(lib_best, cases[c].best);
    check_choice(m, maps, cases[c].n_scored, scores, cases[c].best);
    /* The frame passes unchanged with its metas. */
    GstMapInfo info;
    fail_unless(gst_buffer_map(out, &info, GST_MAP_READ));
    for (gsize i = 0; i < info.size; i++) fail_unless(info.data[i] == 77, "pixel byte %zu changed", i);
    gst_buffer_unmap(out, &info);
    fail_unless(gst_buffer_get_sr_proposal_meta(out) != NULL);
    fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR) == NULL);
    gst_buffer_unref(out);
    teardown(hrn, bus);
    g_free(desc_str);
  }
  /* After proposalscore: svmrerank's choice replaces eq. 17's. */
  gchar *d = g_strdup_printf("proposalscore ! svmrerank ranker=%s", source_ranker);
  GstHarness *hrn = harness(d, NULL);
  GstBuffer *out = gst_harness_push_and_pull(hrn, test_frame(TRUE, 0, NULL, 0));
  gpointer state = NULL;
  guint n = 0;
  while (gst_buffer_iterate_meta_filtered(out, &state, GST_SR_SEGMENTATION_META_API_TYPE)) n++;
  fail_unless_equals_int(n, 1);
  GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
  fail_unless(m && m->selected == 3 && strcmp(m->method, "svm") == 0);
  gst_buffer_unref(out);
  teardown(hrn, NULL);
  g_free(d);
}
GST_END_TEST;

/* A copy of the source ranker whose provenance says it was trained with @m
 * proposals (NULL provenance for m 0). */
static gchar *ranker_with_m(int m, const char *file) {
  sr_ranker *r = NULL;
  sr_error err = {0};
  fail_unless(sr_ranker_load(source_ranker, NULL, 0, &r, &err) == SR_OK, "%s", err.msg);
  gchar *prov = g_strdup_printf("{\"source\":\"test\",\"M\":%d}", m);
  fail_unless(sr_ranker_set_provenance(r, m ? prov : NULL, &err) == SR_OK, "%s", err.msg);
  fail_unless_equals_int(sr_ranker_trained_m(r), m);
  gchar *path = g_build_filename(tmp_dir, file, NULL);
  fail_unless(sr_ranker_save(r, path, &err) == SR_OK, "%s", err.msg);
  sr_ranker_free(r);
  g_free(prov);
  return path;
}

GST_START_TEST(test_trained_m) {
  g_print("svmrerank: num-proposals 0 scores the ranker's M; another number or too few proposals warn once\n");
  make_rankers();
  gchar *m2 = ranker_with_m(2, "m2.srranker"), *m6 = ranker_with_m(6, "m6.srranker");
  sr_ranker *r = NULL;
  sr_error err = {0};
  fail_unless(sr_ranker_load(m2, NULL, 0, &r, &err) == SR_OK, "%s", err.msg);
  fail_unless_equals_int(sr_ranker_trained_m(r), 2); /* survives the file */
  fail_unless(sr_ranker_set_provenance(r, "{\"M\":\"ten\"}", &err) == SR_OK);
  fail_unless_equals_int(sr_ranker_trained_m(r), 0);
  fail_unless(sr_ranker_set_provenance(r, "[2]", &err) == SR_OK);
  fail_unless_equals_int(sr_ranker_trained_m(r), 0);
  sr_ranker_free(r);
  guint8 maps[N_PROPOSALS * W * H];
  proposal_maps(maps);
  static const struct {
    const gchar *file, *props;
    guint n_scored;
    gint best;
    gboolean warns;
  } cases[] = {
      {"m2", "", 2, 1, FALSE},                 /* its M: the first 2 */
      {"m2", "num-proposals=2", 2, 1, FALSE},  /* the same, said */
      {"m2", "num-proposals=4", 4, 3, TRUE},   /* more than its M */
      {"m6", "", 4, 3, TRUE},                  /* fewer proposals than its M */
      {"none", "", 4, 3, FALSE},               /* no M known: all */
  };
  for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
    const gchar *path = !strcmp(cases[c].file, "m2") ? m2 : !strcmp(cases[c].file, "m6") ? m6 : source_ranker;
    gchar *desc = g_strdup_printf("svmrerank ranker=%s %s", path, cases[c].props);
    GstBus *bus;
    GstHarness *hrn = harness(desc, &bus);
    double scores[N_PROPOSALS];
    library_scores(path, maps, N_PROPOSALS, (int)cases[c].n_scored, NULL, scores);
    for (int f = 0; f < 2; f++) {
      GstBuffer *out = gst_harness_push_and_pull(hrn, test_frame(FALSE, 0, NULL, 0));
      GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
      check_choice(m, maps, cases[c].n_scored, scores, cases[c].best);
      gst_buffer_unref(out);
    }
    guint warnings = 0;
    GstMessage *msg;
    while ((msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR))) {
      fail_unless(GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING, "%s: an error", desc);
      GError *e = NULL;
      gchar *dbg = NULL;
      gst_message_parse_warning(msg, &e, &dbg);
      fail_unless(strstr(dbg, "trained with M = ") != NULL, "%s: unexpected warning %s", desc, dbg);
      g_error_free(e);
      g_free(dbg);
      gst_message_unref(msg);
      warnings++;
    }
    g_print("  %-5s %-16s scored %u, warnings %u\n", cases[c].file, cases[c].props, cases[c].n_scored, warnings);
    fail_unless_equals_int(warnings, cases[c].warns ? 1 : 0);
    teardown(hrn, bus);
    g_free(desc);
  }
  g_unlink(m2);
  g_unlink(m6);
  g_free(m2);
  g_free(m6);
}
GST_END_TEST;

GST_START_TEST(test_void_proposals) {
  g_print("svmrerank: a void-everywhere proposal costs +inf, the others are scored without it\n");
  make_rankers();
  guint8 maps[N_PROPOSALS * W * H];
  proposal_maps(maps);
  memset(maps + 2 * W * H, 255, W * H); /* proposal 2, the net's map, void */
  gchar *desc = g_strdup_printf("svmrerank ranker=%s", segnet_ranker);
  GstBus *bus;
  GstHarness *hrn = harness(desc, &bus);
  for (int f = 0; f < 2; f++) {
    GstBuffer *out = gst_harness_push_and_pull(hrn, test_frame(TRUE, 0, maps, N_PROPOSALS));
    GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
    /* The library on the set of the other three. */
    guint8 rest[3 * W * H];
    memcpy(rest, maps, 2 * W * H);
    memcpy(rest + 2 * W * H, maps + 3 * W * H, W * H);
    double scores[3];
    int best = library_scores(segnet_ranker, rest, 3, 3, NULL, scores);
    fail_unless(m && m->n_scores == 4, "no meta of 4 costs");
    fail_unless(isinf(m->scores[2]) && m->scores[2] > 0, "void proposal cost %g", m->scores[2]);
    static const int index[3] = {0, 1, 3};
    for (int i = 0; i < 3; i++) fail_unless(m->scores[index[i]] == -scores[i], "proposal %d", index[i]);
    fail_unless_equals_int(m->selected, index[best]);
    fail_unless_equals_int(m->selected, 3);
    gst_buffer_unref(out);
  }
  expect_one_warning(bus, "void everywhere");
  /* All void: the net's own output. */
  memset(maps, 255, sizeof maps);
  GstBuffer *out = gst_harness_push_and_pull(hrn, test_frame(TRUE, 0, maps, 2));
  GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
  fail_unless(m && strcmp(m->method, "net") == 0 && m->selected == -1 && m->n_scores == 2);
  fail_unless(isinf(m->scores[0]) && isinf(m->scores[1]));
  gst_buffer_unref(out);
  teardown(hrn, bus);
  g_free(desc);
}
GST_END_TEST;

GST_START_TEST(test_no_proposals) {
  g_print("svmrerank: no proposals: one warning, the net's own upsampled argmax\n");
  make_rankers();
  gfloat probs[C * GH * GW];
  net_probs(probs);
  guint8 want[W * H];
  gfloat scratch[C * GH * W];
  sr_labels_from_probs(probs, C, GH, GW, W, H, want, scratch);
  gchar *desc = g_strdup_printf("svmrerank ranker=%s", segnet_ranker);
  GstBus *bus;
  GstHarness *hrn = harness(desc, &bus);
  for (int f = 0; f < 3; f++) {
    GstBuffer *in = grey_frame();
    add_net(in, names);
    if (f == 1)
      fail_unless(gst_buffer_add_sr_proposal_meta(in, "test", 0, W, H, C, names, proposal_colors, NULL, NULL, NULL,
                                                  NULL, NULL, NULL, NULL) != NULL);
    GstBuffer *out = gst_harness_push_and_pull(hrn, in);
    GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
    fail_unless(m != NULL, "no segmentation meta");
    fail_unless_equals_string(m->method, "net");
    fail_unless(m->selected == -1 && m->n_scores == 0 && m->width == W && m->height == H);
    fail_unless(memcmp(m->labels, want, sizeof want) == 0, "not the net's bilinear argmax");
    fail_unless(memcmp(m->class_colors, net_colors, sizeof net_colors) == 0, "not the net's colours");
    gst_buffer_unref(out);
  }
  expect_one_warning(bus, "no proposals");
  teardown(hrn, bus);
  g_free(desc);

  /* A source ranker with neither proposals nor the net: no final
   * segmentation, one warning. */
  desc = g_strdup_printf("svmrerank ranker=%s", source_ranker);
  hrn = harness(desc, &bus);
  for (int f = 0; f < 2; f++) {
    GstBuffer *out = gst_harness_push_and_pull(hrn, grey_frame());
    fail_unless(out && gst_buffer_get_sr_segmentation_meta(out) == NULL);
    gst_buffer_unref(out);
  }
  GstMessage *msg;
  guint n_warnings = 0;
  gboolean nothing = FALSE;
  while ((msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING))) {
    GError *err = NULL;
    gst_message_parse_warning(msg, &err, NULL);
    nothing = nothing || strstr(err->message, "nothing to choose from") != NULL;
    n_warnings++;
    g_error_free(err);
    gst_message_unref(msg);
  }
  fail_unless(nothing && n_warnings == 2, "%u warnings", n_warnings);
  teardown(hrn, bus);
  g_free(desc);
}
GST_END_TEST;

GST_START_TEST(test_errors) {
  g_print("svmrerank: class mismatches, missing net or descriptor\n");
  make_rankers();
  gchar *d;
  /* The ranker's class 2 is "x". */
  d = g_strdup_printf("svmrerank ranker=%s", other_classes_ranker);
  gchar *named = g_strdup_printf("class 2 is \"x\" in the ranker %s (a, b, x)", other_classes_ranker);
  expect_error(d, test_frame(FALSE, 0, NULL, 0), "ranker's classes do not match",
               (const gchar *[]){named, "but \"c\" in the proposals from test (GstSrProposalMeta) (a, b, c)", NULL});
  g_free(named);
  g_free(d);
  /* Four classes in the ranker, three in the frames. */
  d = g_strdup_printf("svmrerank ranker=%s", four_classes_ranker);
  named = g_strdup_printf("the ranker %s has 4 classes (a, b, c, d)", four_classes_ranker);
  expect_error(d, test_frame(TRUE, 0, NULL, 0), "ranker's classes do not match",
               (const gchar *[]){named, "the proposals from test (GstSrProposalMeta): 3 (a, b, c)", NULL});
  g_free(named);
  g_free(d);
  /* A segnet ranker against a net of other names: the net is named. */
  d = g_strdup_printf("svmrerank ranker=%s", segnet_ranker);
  static const gchar *swapped[] = {"a", "c", "b", NULL};
  GstBuffer *in = grey_frame();
  add_net(in, swapped);
  expect_error(d, in, "ranker's classes do not match",
               (const gchar *[]){"\"b\" in the ranker", "but \"c\" in the net's distribution (GstSrProbMeta)", NULL});
  /* ... and without the net at all. */
  expect_error(d, test_frame(FALSE, 0, NULL, 0), "no class probabilities",
               (const gchar *[]){"uses the segnet features", "put segnetinfer upstream", NULL});
  g_free(d);
  /* A cls ranker: without the descriptor, and with one of another size. */
  d = g_strdup_printf("svmrerank ranker=%s", cls_ranker);
  named = g_strdup_printf("the ranker %s uses the classification features", cls_ranker);
  expect_error(d, test_frame(TRUE, 0, NULL, 0), "enable segnetinfer's descriptor",
               (const gchar *[]){named, "descriptor=true", NULL});
  g_free(named);
  expect_error(d, test_frame(TRUE, DESC_DIM + 4, NULL, 0), "descriptor does not fit",
               (const gchar *[]){"has 10 values", "classifier takes 6", NULL});
  g_free(d);
}
GST_END_TEST;

/* Starting svmrerank (ranker=@path, or the default when NULL) must fail with
 * a RESOURCE error naming @path and a debug text containing @needle. */
static void expect_start_error(const gchar *path, gboolean as_property, const gchar *needle) {
  GstElement *el = gst_element_factory_make("svmrerank", NULL);
  fail_unless(el != NULL);
  if (as_property) g_object_set(el, "ranker", path, NULL);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL, "no error message on the bus");
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_error(msg, &err, &dbg);
  g_print("  %s (%s)\n", err->message, dbg);
  fail_unless(err->domain == GST_RESOURCE_ERROR);
  fail_unless(strstr(err->message, path) != NULL, "%s", err->message);
  fail_unless(dbg && strstr(dbg, needle) != NULL, "%s", dbg);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
  gst_element_set_state(el, GST_STATE_NULL);
  gst_element_set_bus(el, NULL);
  gst_object_unref(bus);
  gst_object_unref(el);
}

GST_START_TEST(test_bad_ranker_files) {
  g_print("svmrerank: a missing or garbage ranker file is an error naming it; $SEGRANK_RANKER is the default\n");
  make_rankers();
  expect_start_error("/nonexistent/dir/missing.srranker", TRUE, "missing.srranker");
  gchar *garbage = g_build_filename(tmp_dir, "garbage.srranker", NULL);
  fail_unless(g_file_set_contents(garbage, "this is not a ranker file at all", -1, NULL));
  expect_start_error(garbage, TRUE, "not a .srranker file");
  /* A valid header that is not a ranker. */
  fail_unless(g_file_set_contents(garbage, "\x07\x00\x00\x00\x00\x00\x00\x00{\"a\":1}", 15, NULL));
  expect_start_error(garbage, TRUE, garbage);
  g_unlink(garbage);
  g_free(garbage);
  /* The default: $SEGRANK_RANKER. */
  g_setenv("SEGRANK_RANKER", "/nonexistent/env/default.srranker", TRUE);
  expect_start_error("/nonexistent/env/default.srranker", FALSE, "default.srranker");
  g_setenv("SEGRANK_RANKER", source_ranker, TRUE);
  GstHarness *hrn = harness("svmrerank", NULL);
  GstBuffer *out = gst_harness_push_and_pull(hrn, test_frame(FALSE, 0, NULL, 0));
  GstSrSegmentationMeta *m = gst_buffer_get_sr_segmentation_meta(out);
  fail_unless(m && m->selected == 3, "the default ranker is not $SEGRANK_RANKER's");
  gst_buffer_unref(out);
  teardown(hrn, NULL);
  g_unsetenv("SEGRANK_RANKER");
}
GST_END_TEST;

GST_START_TEST(test_properties) {
  g_print("svmrerank: property defaults and round trip\n");
  GstElement *el = gst_element_factory_make("svmrerank", NULL);
  fail_unless(el != NULL);
  gchar *ranker = NULL;
  gint num = -1;
  g_object_get(el, "ranker", &ranker, "num-proposals", &num, NULL);
  fail_unless(ranker == NULL && num == 0);
  g_object_set(el, "ranker", "/x/y.srranker", "num-proposals", 10, NULL);
  g_object_get(el, "ranker", &ranker, "num-proposals", &num, NULL);
  fail_unless(g_strcmp0(ranker, "/x/y.srranker") == 0 && num == 10);
  g_free(ranker);
  gst_object_unref(el);
}
GST_END_TEST;

/* ---- segnetinfer's descriptor ---- */

static GstBuffer *random_frame(gsize size, guint seed) {
  GstBuffer *buf = gst_buffer_new_allocate(NULL, size, NULL);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  GRand *r = g_rand_new_with_seed(seed);
  for (gsize i = 0; i < size; i++) map.data[i] = (guint8)g_rand_int_range(r, 0, 256);
  g_rand_free(r);
  gst_buffer_unmap(buf, &map);
  return buf;
}

/* The reference: the model run directly with the conv5 tap on the frame
 * preprocessed as segnetinfer does, pooled by sr_image_descriptor. */
static void reference_descriptor(GstBuffer *frame, int fw, int fh, float *out, int *len) {
  sr_model *model = NULL;
  sr_backend *backend = NULL;
  sr_net *net = NULL;
  sr_error err = {0};
  fail_unless(sr_model_load(sr_default_model_path(), &model, &err) == SR_OK, "%s", err.msg);
  fail_unless(sr_backend_new("cpu", 1, &backend, &err) == SR_OK, "%s", err.msg);
  fail_unless(sr_net_new(model, backend, &net, &err) == SR_OK, "%s", err.msg);
  fail_unless(sr_net_set_tap(net, SR_IMAGE_DESCRIPTOR_LAYER, &err) == SR_OK, "%s", err.msg);
  sr_tensor input = {0}, probs = {0};
  fail_unless(sr_tensor_alloc(&input, 1, 3, model->input_h, model->input_w) == SR_OK);
  GstMapInfo map;
  fail_unless(gst_buffer_map(frame, &map, GST_MAP_READ));
  sr_pixel_layout rgb = {3, 0, 1, 2};
  sr_preprocess(map.data, fw, fh, GST_ROUND_UP_4(fw * 3), rgb, model->mean_bgr, model->input_w, model->input_h,
                input.data);
  gst_buffer_unmap(frame, &map);
  fail_unless(sr_net_forward(net, &input, &probs, &err) == SR_OK, "%s", err.msg);
  const sr_tensor *conv5 = sr_net_tap(net);
  fail_unless(conv5 != NULL);
  *len = sr_image_descriptor_dims(conv5);
  sr_image_descriptor(conv5, 0, out);
  sr_tensor_clear(&input);
  sr_tensor_clear(&probs);
  sr_net_free(net);
  sr_backend_free(backend);
  sr_model_free(model);
}

GST_START_TEST(test_segnetinfer_descriptor) {
  g_print("segnetinfer: the descriptor is conv5's mean and max (2 x 256), batched too; descriptor=false: none\n");
  enum { FW = 48, FH = 36 };
  const gchar *caps = "video/x-raw,format=RGB,width=48,height=36,framerate=10/1";
  float want[3][2 * 256 + 8];
  int len = 0;
  for (int i = 0; i < 3; i++) {
    GstBuffer *frame = random_frame(FW * FH * 3, 40 + i);
    reference_descriptor(frame, FW, FH, want[i], &len);
    gst_buffer_unref(frame);
  }
  fail_unless_equals_int(len, 2 * 256);
  static const gchar *descs[] = {"segnetinfer backend=cpu", "segnetinfer backend=cpu batch-size=2"};
  for (guint d = 0; d < G_N_ELEMENTS(descs); d++) {
    GstHarness *hrn = gst_harness_new_parse(descs[d]);
    gst_harness_set_src_caps_str(hrn, caps);
    for (int i = 0; i < 3; i++) fail_unless_equals_int(gst_harness_push(hrn, random_frame(FW * FH * 3, 40 + i)), GST_FLOW_OK);
    fail_unless(gst_harness_push_event(hrn, gst_event_new_eos()));
    for (int i = 0; i < 3; i++) {
      GstBuffer *out = gst_harness_pull(hrn);
      GstSrProbMeta *pm = gst_buffer_get_sr_prob_meta(out);
      fail_unless(pm != NULL);
      gsize n = 0;
      const gfloat *got = gst_sr_prob_meta_get_descriptor(pm, &n);
      fail_unless(got && n == 2 * 256 && pm->n_descriptor == 2 * 256, "%s: frame %d: %zu values", descs[d], i, n);
      double worst = 0;
      for (int k = 0; k < 256; k++) {
        fail_unless(got[k] >= 0 && got[k] <= got[256 + k], "channel %d: mean %g above max %g", k, got[k],
                    got[256 + k]);
      }
      for (int k = 0; k < 512; k++)
        worst = MAX(worst, fabs(got[k] - want[i][k]) / (1e-3 + fabs(want[i][k])));
      fail_unless(worst < 1e-4, "%s: frame %d: descriptor differs from the reference by %g (relative)", descs[d], i,
                  worst);
      if (i == 0) g_print("  %s: frame 0: %zu values, worst relative difference %.2g\n", descs[d], n, worst);
      gst_buffer_unref(out);
    }
    gst_harness_teardown(hrn);
  }
  /* descriptor=false: none. */
  GstHarness *hrn = gst_harness_new_parse("segnetinfer descriptor=false");
  gst_harness_set_src_caps_str(hrn, caps);
  GstBuffer *out = gst_harness_push_and_pull(hrn, random_frame(FW * FH * 3, 40));
  GstSrProbMeta *pm = gst_buffer_get_sr_prob_meta(out);
  gsize n = 99;
  fail_unless(pm && pm->n_descriptor == 0 && pm->descriptor == NULL);
  fail_unless(gst_sr_prob_meta_get_descriptor(pm, &n) == NULL && n == 0);
  gboolean on = TRUE;
  GstElement *infer = gst_harness_find_element(hrn, "segnetinfer");
  g_object_get(infer, "descriptor", &on, NULL);
  gst_object_unref(infer);
  fail_unless(!on);
  gst_buffer_unref(out);
  gst_harness_teardown(hrn);
  GstElement *el = gst_element_factory_make("segnetinfer", NULL);
  g_object_get(el, "descriptor", &on, NULL);
  fail_unless(on, "descriptor is not on by default");
  gst_object_unref(el);
}
GST_END_TEST;

GST_START_TEST(test_descriptor_meta) {
  g_print("GstSrProbMeta: the descriptor follows copies and scaling, rejects non-finite values\n");
  GstBuffer *src = grey_frame();
  GstSrProbMeta *pm = add_net(src, names);
  static const gfloat desc[4] = {0.5f, 1.5f, 2.0f, 3.0f};
  fail_unless(gst_sr_prob_meta_set_descriptor(pm, 4, desc));
  gfloat bad[2] = {1, NAN};
  fail_if(gst_sr_prob_meta_set_descriptor(pm, 2, bad));
  fail_unless(pm->n_descriptor == 4 && pm->descriptor[3] == 3.0f, "a rejected descriptor changed the meta");
  GstBuffer *copy = gst_buffer_copy(src);
  GstSrProbMeta *c = gst_buffer_get_sr_prob_meta(copy);
  fail_unless(c && c != pm && c->n_descriptor == 4 && c->descriptor != pm->descriptor &&
              memcmp(c->descriptor, desc, sizeof desc) == 0);
  GstVideoInfo in, outi;
  gst_video_info_set_format(&in, GST_VIDEO_FORMAT_RGB, W, H);
  gst_video_info_set_format(&outi, GST_VIDEO_FORMAT_RGB, 2 * W, 2 * H);
  GstVideoMetaTransform t = {&in, &outi};
  GstBuffer *scaled = gst_buffer_new();
  fail_unless(pm->meta.info->transform_func(scaled, (GstMeta *)pm, src, gst_video_meta_transform_scale_get_quark(), &t));
  GstSrProbMeta *s = gst_buffer_get_sr_prob_meta(scaled);
  fail_unless(s && s->frame_width == 2 * W && s->n_descriptor == 4 && memcmp(s->descriptor, desc, sizeof desc) == 0);
  /* Removing it. */
  fail_unless(gst_sr_prob_meta_set_descriptor(c, 0, NULL));
  fail_unless(c->n_descriptor == 0 && c->descriptor == NULL);
  gst_buffer_unref(src);
  gst_buffer_unref(copy);
  gst_buffer_unref(scaled);
}
GST_END_TEST;

static Suite *svmrerank_suite(void) {
  Suite *s = suite_create("svmrerank");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_checked_fixture(tc, NULL, remove_rankers);
  tcase_add_test(tc, test_picks_ranker_best);
  tcase_add_test(tc, test_void_proposals);
  tcase_add_test(tc, test_trained_m);
  tcase_add_test(tc, test_no_proposals);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_bad_ranker_files);
  tcase_add_test(tc, test_properties);
  tcase_add_test(tc, test_segnetinfer_descriptor);
  tcase_add_test(tc, test_descriptor_meta);
  return s;
}

GST_CHECK_MAIN(svmrerank);
