/* test_train.c: training on a tiny synthetic dataset that the test writes
 * itself: the loss falls, a run stopped and resumed from its checkpoint ends
 * with exactly the weights of an uninterrupted run and one metrics line per
 * epoch, a resume with other settings is refused, gradient clipping bounds
 * the step, paper mode's feature cache holds the mirrored images' own
 * features, metrics/plot/checkpoint files appear without temporaries; plus
 * the mIoU arithmetic (absent classes left out), the dataset reader's
 * errors, naive (eq. 16) and superpixel upsampling, and that scoring every
 * upsampling from one forward pass equals evaluating each alone. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "test_util.h"

#define S 96 /* image side: a 5x5 map */

/* Three classes in fixed regions with noise; void (255) in a corner. */
static void write_dataset(const char *dir, int n, sr_rng *rng) {
  char *id = g_build_filename(dir, "images", NULL), *ld = g_build_filename(dir, "labels", NULL);
  g_mkdir_with_parents(id, 0755), g_mkdir_with_parents(ld, 0755);
  for (int i = 0; i < n; i++) {
    sr_image img = {S, S, 3, malloc(S * S * 3)}, lab = {S, S, 1, malloc(S * S)};
    int split = S / 3 + (int)(sr_rng_next(rng) % (S / 3));
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++) {
        int k = y > 2 * S / 3 ? 2 : x < split ? 0 : 1;
        uint8_t *p = img.data + (y * S + x) * 3;
        for (int c = 0; c < 3; c++) p[c] = (uint8_t)(40 + (c == k ? 150 : 0) + sr_rng_next(rng) % 40);
        lab.data[y * S + x] = (x < 6 && y < 6) ? 255 : (uint8_t)k;
      }
    char name[32];
    snprintf(name, sizeof name, "%03d.png", i);
    char *ip = g_build_filename(id, name, NULL), *lp = g_build_filename(ld, name, NULL);
    sr_image_save_png(ip, &img, NULL);
    sr_image_save_png(lp, &lab, NULL);
    g_free(ip), g_free(lp);
    sr_image_clear(&img), sr_image_clear(&lab);
  }
  g_free(id), g_free(ld);
}

static sr_train_config run_config(const char *out, long stop_after, bool resume) {
  return (sr_train_config){.out = out, .loss = {SR_LOSS_CE, 0.7, 0.3}, .batch = 4, .epochs = 10, .lr = 0.002,
                           .momentum = 0.9, .weight_decay = 5e-4, .warmup = 3, .aug = {S, S, 0.9f, 1.1f, 1, 0.1f},
                           .seed = 11, .checkpoint_every = 5, .eval_every = 3, .eval_w = S, .eval_h = S,
                           .eval_upsample = SR_UPSAMPLE_BILINEAR, .resume = resume, .stop_after = stop_after};
}

static sr_model *train_run(const char *out, const sr_dataset *ds, long stop_after, bool resume, sr_backend *b,
                           bool paper_mode) {
  sr_model *m;
  sr_error err = {0};
  sr_model_new_segnet(3, NULL, 3, &m, &err);
  sr_train_config c = run_config(out, stop_after, resume);
  if (paper_mode) c.freeze = 5, c.cache_features = true, c.lr = 0.01;
  CHECK(sr_train(m, b, ds, ds, &c, &err) == SR_OK, "%s", err.msg);
  return m;
}

static void count_progress(int done, int total, void *data) {
  int *calls = data;
  calls[0]++;
  if (done != calls[0] || total < done) calls[1]++; /* out of order */
}

/* `segrank eval -u all`'s path: one forward pass per image scored with
 * every upsampling gives, mode by mode, exactly the confusion matrices of
 * one sr_evaluate per mode (which differ from one another, so a mix-up of
 * modes or matrices shows). */
static void check_evaluate_multi(const sr_model *m, sr_backend *b, const sr_dataset *ds) {
  sr_net *net;
  sr_error err = {0};
  CHECK(sr_net_new(m, b, &net, &err) == SR_OK, "%s", err.msg);
  const sr_upsample ups[SR_UPSAMPLE_COUNT] = {SR_UPSAMPLE_NAIVE, SR_UPSAMPLE_BILINEAR, SR_UPSAMPLE_SUPERPIXEL};
  sr_confusion one[SR_UPSAMPLE_COUNT], multi[SR_UPSAMPLE_COUNT];
  for (int u = 0; u < SR_UPSAMPLE_COUNT; u++) {
    CHECK(sr_confusion_init(&one[u], 3) == SR_OK && sr_confusion_init(&multi[u], 3) == SR_OK, "confusion init");
    CHECK(sr_evaluate(net, m, ds, S, S, ups[u], &one[u], NULL, NULL, &err) == SR_OK, "%s", err.msg);
  }
  int calls[2] = {0, 0};
  CHECK(sr_evaluate_multi(net, m, ds, S, S, ups, SR_UPSAMPLE_COUNT, multi, count_progress, calls, &err) == SR_OK, "%s",
        err.msg);
  CHECK(calls[0] == ds->n && !calls[1], "progress called %d times (%d out of order) for %d images", calls[0], calls[1],
        ds->n);
  for (int u = 0; u < SR_UPSAMPLE_COUNT; u++) {
    CHECK(!memcmp(one[u].m, multi[u].m, 9 * sizeof(uint64_t)), "%s: one pass for all modes gives mIoU %.4f, alone %.4f",
          sr_upsample_name(ups[u]), sr_confusion_miou(&multi[u], NULL), sr_confusion_miou(&one[u], NULL));
    printf("eval %-10s alone %.4f, one pass for all %.4f\n", sr_upsample_name(ups[u]), sr_confusion_miou(&one[u], NULL),
           sr_confusion_miou(&multi[u], NULL));
  }
  CHECK(memcmp(one[0].m, one[1].m, 9 * sizeof(uint64_t)) && memcmp(one[1].m, one[2].m, 9 * sizeof(uint64_t)),
        "naive, bilinear and superpixel upsampling gave equal counts: the check above cannot tell them apart");
  for (int u = 0; u < SR_UPSAMPLE_COUNT; u++) sr_confusion_clear(&one[u]), sr_confusion_clear(&multi[u]);
  sr_net_free(net);
}

/* CE of @m on every image of @ds at full size, dropout off. */
static double full_loss(const sr_model *m, sr_backend *b, const sr_dataset *ds) {
  sr_tensor x;
  sr_tensor_alloc(&x, ds->n, 3, S, S);
  uint8_t *labels = malloc((size_t)ds->n * S * S);
  const sr_pixel_layout rgb = {3, 0, 1, 2};
  for (int i = 0; i < ds->n; i++) {
    sr_preprocess(ds->images[i].data, S, S, S * 3, rgb, m->mean_bgr, S, S, x.data + (size_t)i * 3 * S * S);
    memcpy(labels + (size_t)i * S * S, ds->labels[i].data, S * S);
  }
  float **dw, **db;
  sr_param_buffers_new(m, &dw, &db);
  sr_loss loss = {SR_LOSS_CE, 0, 0};
  double v = NAN;
  sr_error err = {0};
  CHECK(sr_train_gradients(m, b, &loss, &x, labels, 255, 1, false, &v, dw, db, &err) == SR_OK, "%s", err.msg);
  sr_param_buffers_free(m->n_layers, dw, db);
  free(labels);
  sr_tensor_clear(&x);
  return v;
}

/* --resume from OUT.ckpt holding @state (or garbage when @state is NULL;
 * no file when @good is NULL too) must fail with @needle, not crash. */
static void expect_resume_fails(const char *out, const char *good, const char *state, const sr_dataset *ds,
                                sr_backend *b, const char *needle) {
  char *ckpt = g_strdup_printf("%s.ckpt", out);
  g_unlink(ckpt);
  sr_error err = {0};
  if (state) {
    sr_model *cm;
    float **cw, **cb;
    char *old;
    CHECK(sr_checkpoint_load(good, &cm, &cw, &cb, &old, &err) == SR_OK, "%s", err.msg);
    CHECK(sr_checkpoint_save(cm, cw, cb, state, ckpt, &err) == SR_OK, "%s", err.msg);
    sr_param_buffers_free(cm->n_layers, cw, cb);
    sr_model_free(cm);
    g_free(old);
  } else if (good) {
    g_file_set_contents(ckpt, "not a checkpoint at all", -1, NULL);
  }
  sr_model *m;
  sr_model_new_segnet(3, NULL, 3, &m, &err);
  sr_train_config c = run_config(out, 0, true);
  sr_status st = sr_train(m, b, ds, NULL, &c, &err);
  CHECK(st != SR_OK && strstr(err.msg, ckpt) && strstr(err.msg, needle), "resume from %s: %s (wanted '%s')",
        state ? state : good ? "garbage" : "nothing", st == SR_OK ? "accepted" : err.msg, needle);
  printf("resume refused: %s\n", err.msg);
  sr_model_free(m);
  g_unlink(ckpt);
  g_free(ckpt);
}

/* A missing or damaged checkpoint, and train states out of range. */
static void check_hostile_checkpoints(const char *dir, const char *trained, const sr_dataset *ds, sr_backend *b) {
  char *out = g_strdup_printf("%s/hostile.srmodel", dir), *good = g_strdup_printf("%s.ckpt", trained);
  expect_resume_fails(out, NULL, NULL, ds, b, "cannot open");
  expect_resume_fails(out, good, NULL, ds, b, "does not fit");
  static const struct {
    const char *state, *needle;
  } cases[] = {
      {"{\"iter\":-5,\"epoch_loss\":0,\"epoch_n\":0,\"seed\":11,\"loss_hist\":[],\"miou_hist\":[]}", "train_state.iter"},
      {"{\"iter\":99999,\"epoch_loss\":0,\"epoch_n\":0,\"seed\":11,\"loss_hist\":[],\"miou_hist\":[]}", "train_state.iter"},
      {"{\"iter\":1.5,\"epoch_loss\":0,\"epoch_n\":0,\"seed\":11,\"loss_hist\":[],\"miou_hist\":[]}", "train_state.iter"},
      {"{\"iter\":1,\"epoch_loss\":0,\"epoch_n\":-1,\"seed\":11,\"loss_hist\":[],\"miou_hist\":[]}", "epoch_n"},
      {"{\"iter\":1,\"epoch_loss\":\"x\",\"epoch_n\":1,\"seed\":11,\"loss_hist\":[],\"miou_hist\":[]}", "epoch_loss"},
      {"{\"iter\":1,\"epoch_loss\":0,\"epoch_n\":1,\"seed\":11,\"loss_hist\":[\"x\"],\"miou_hist\":[]}", "loss_hist"},
      {"{\"iter\":3,\"epoch_loss\":0,\"epoch_n\":1,\"seed\":11,\"loss_hist\":[1,2],\"miou_hist\":[null,3]}", "history"},
      {"{\"iter\":1,\"epoch_loss\":0,\"epoch_n\":1,\"loss_hist\":[],\"miou_hist\":[]}", "seed"},
      {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
       "nests"},
      {"not json", "not JSON"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    expect_resume_fails(out, good, cases[i].state, ds, b, cases[i].needle);
  g_free(out), g_free(good);
}

/* The epochs of metrics file @path in order, into @ep (capacity @cap);
 * returns their count. */
static int metrics_epochs(const char *path, int *ep, int cap) {
  char *text = NULL;
  int n = 0;
  CHECK(g_file_get_contents(path, &text, NULL, NULL), "no %s", path);
  for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    int e;
    if (sscanf(line, "{\"epoch\":%d,", &e) == 1 && n < cap) ep[n++] = e;
    else if (*line != '\n') n = cap + 1; /* a line that is no epoch's */
  }
  g_free(text);
  return n;
}

/* A resumed run whose settings differ from its checkpoint's (@good, copied)
 * is refused with a message naming the checkpoint and @needle. */
static void expect_setting_refused(const char *dir, const char *good, const sr_dataset *ds, sr_backend *b,
                                   sr_train_config c, const char *needle) {
  char *out = g_strdup_printf("%s/settings.srmodel", dir), *ckpt = g_strdup_printf("%s.ckpt", out), *data = NULL;
  gsize len = 0;
  CHECK(g_file_get_contents(good, &data, &len, NULL) && g_file_set_contents(ckpt, data, (gssize)len, NULL),
        "cannot copy %s", good);
  sr_model *m;
  sr_error err = {0};
  sr_model_new_segnet(3, NULL, 3, &m, &err);
  c.out = out, c.resume = true;
  sr_status st = sr_train(m, b, ds, NULL, &c, &err);
  CHECK(st != SR_OK && strstr(err.msg, ckpt) && strstr(err.msg, needle), "resume with another %s: %s", needle,
        st == SR_OK ? "accepted" : err.msg);
  printf("resume refused: %s\n", err.msg);
  sr_model_free(m);
  g_unlink(ckpt);
  g_free(data), g_free(ckpt), g_free(out);
}

/* Resuming with another loss, loss weight, lr, crop, batch, epoch count or
 * freeze than the checkpoint's is refused (only the seed was checked). */
static void check_resume_settings(const char *dir, const char *trained, const sr_dataset *ds, sr_backend *b) {
  char *good = g_strdup_printf("%s.ckpt", trained);
  sr_train_config c = run_config(NULL, 0, true);
  c.loss.kind = SR_LOSS_UOI, expect_setting_refused(dir, good, ds, b, c, "--loss ce, this run has --loss uoi");
  c = run_config(NULL, 0, true), c.loss.w_ce = 0.5, expect_setting_refused(dir, good, ds, b, c, "--ce-weight");
  c = run_config(NULL, 0, true), c.lr = 0.004, expect_setting_refused(dir, good, ds, b, c, "--lr 0.002, this run has 0.004");
  c = run_config(NULL, 0, true), c.aug.crop_w = 64, expect_setting_refused(dir, good, ds, b, c, "--crop");
  c = run_config(NULL, 0, true), c.batch = 2, expect_setting_refused(dir, good, ds, b, c, "--batch 4, this run has 2");
  c = run_config(NULL, 0, true), c.epochs = 12, expect_setting_refused(dir, good, ds, b, c, "--epochs 10");
  c = run_config(NULL, 0, true), c.epochs = 3, expect_setting_refused(dir, good, ds, b, c, "--epochs 10");
  c = run_config(NULL, 0, true), c.freeze = 2, expect_setting_refused(dir, good, ds, b, c, "--freeze");
  g_free(good);
}

/* Gradient clipping: one SGD step without momentum, decay or warm-up is lr
 * × the gradient, clipped to L2 norm @clip; so with clipping the weights
 * move by exactly lr × clip, along the unclipped step. */
static void check_clip(const char *dir, const sr_dataset *ds, sr_backend *b) {
  sr_model *start, *m[2];
  sr_error err = {0};
  sr_model_new_segnet(3, NULL, 3, &start, &err);
  const double lr = 0.01, clip = 0.1;
  for (int r = 0; r < 2; r++) {
    char *out = g_strdup_printf("%s/clip%d.srmodel", dir, r);
    sr_train_config c = {.out = out, .loss = {SR_LOSS_CE, 0.7, 0.3}, .batch = ds->n, .epochs = 1, .lr = lr,
                         .clip = r ? clip : 0, .aug = {S, S, 1, 1, 0, 0}, .seed = 5, .eval_w = S, .eval_h = S,
                         .eval_upsample = SR_UPSAMPLE_NAIVE};
    m[r] = sr_model_copy(start);
    CHECK(sr_train(m[r], b, ds, NULL, &c, &err) == SR_OK, "%s", err.msg);
    g_free(out);
  }
  double n0 = 0, n1 = 0, dot = 0;
  for (int i = 0; i < start->n_layers; i++) {
    const sr_layer *l = &start->layers[i];
    if (l->type != SR_LAYER_CONV) continue;
    size_t wc = sr_layer_weight_count(l);
    for (size_t k = 0; k < wc + l->conv.out_c; k++) {
      double w0 = k < wc ? l->weight[k] : l->bias[k - wc];
      double d0 = (k < wc ? m[0]->layers[i].weight[k] : m[0]->layers[i].bias[k - wc]) - w0;
      double d1 = (k < wc ? m[1]->layers[i].weight[k] : m[1]->layers[i].bias[k - wc]) - w0;
      n0 += d0 * d0, n1 += d1 * d1, dot += d0 * d1;
    }
  }
  n0 = sqrt(n0), n1 = sqrt(n1);
  double cosine = dot / (n0 * n1 + 1e-300);
  printf("clipping: gradient norm %.4g; clipped step %.6g (want lr x clip = %g), cosine to the unclipped %.6f\n",
         n0 / lr, n1, lr * clip, cosine);
  CHECK(n0 / lr > 3 * clip, "the test's gradient (norm %g) is too short to be clipped at %g", n0 / lr, clip);
  CHECK(fabs(n1 - lr * clip) < 1e-3 * lr * clip, "--clip %g: the step has norm %g, want %g", clip, n1, lr * clip);
  CHECK(cosine > 0.9999, "--clip changed the step's direction (cosine %.6f)", cosine);
  sr_model_free(start), sr_model_free(m[0]), sr_model_free(m[1]);
}

/* Paper mode's feature cache (OUT.features), made with flips on: per image,
 * the frozen trunk's output (conv5 after its ReLU, the input of drop6) of
 * the image, then that of the mirrored image, which is not the image's map
 * mirrored (conv1's stride 4 and the pooling windows do not line up under a
 * mirror). Both must equal the net's own conv5 (sr_net_set_tap) to 1e-4
 * relative (L2). */
static void check_feature_cache(const char *fpath, const sr_dataset *ds, sr_backend *b) {
  sr_model *m;
  sr_net *net = NULL;
  sr_error err = {0};
  sr_model_new_segnet(3, NULL, 3, &m, &err); /* train_run's start: the frozen trunk */
  bool tapped = sr_net_new(m, b, &net, &err) == SR_OK && sr_net_set_tap(net, "conv5", &err) == SR_OK;
  CHECK(tapped, "%s", err.msg);
  GMappedFile *f = g_mapped_file_new(fpath, FALSE, NULL);
  CHECK(f, "cannot map %s", fpath);
  sr_tensor x = {0}, probs = {0};
  sr_tensor_alloc(&x, 1, 3, S, S);
  const sr_pixel_layout rgb = {3, 0, 1, 2};
  sr_image mir = {S, S, 3, malloc(S * S * 3)};
  for (int i = 0; f && tapped && i < ds->n; i += 5) {
    const sr_image *img = &ds->images[i];
    for (int y = 0; y < S; y++)
      for (int xx = 0; xx < S; xx++) memcpy(mir.data + (y * S + xx) * 3, img->data + (y * S + S - 1 - xx) * 3, 3);
    float *want[2] = {NULL, NULL};
    size_t per = 0;
    for (int v = 0; v < 2; v++) {
      sr_preprocess((v ? &mir : img)->data, S, S, S * 3, rgb, m->mean_bgr, S, S, x.data);
      CHECK(sr_net_forward(net, &x, &probs, &err) == SR_OK, "%s", err.msg);
      const sr_tensor *t = sr_net_tap(net); /* set: the tap is on and the pass ran */
      per = sr_tensor_count(t);
      want[v] = g_memdup2(t->data, per * sizeof(float));
    }
    CHECK(g_mapped_file_get_length(f) == (size_t)ds->n * 2 * per * sizeof(float),
          "%s holds %zu bytes, want %d images x 2 views x %zu floats", fpath, g_mapped_file_get_length(f), ds->n, per);
    const float *got = (const float *)g_mapped_file_get_contents(f) + (size_t)i * 2 * per;
    double e0 = sqrt(nmse(got, want[0], per)), e1 = sqrt(nmse(got + per, want[1], per));
    /* The naive alternative: the image's map mirrored. */
    const sr_tensor *t = sr_net_tap(net);
    float *mirrored = malloc(per * sizeof(float));
    for (size_t r = 0; r < per / t->w; r++)
      for (int xx = 0; xx < t->w; xx++) mirrored[r * t->w + xx] = want[0][r * t->w + t->w - 1 - xx];
    double em = sqrt(nmse(mirrored, want[1], per));
    printf("feature cache, image %d: plain %.1e, flipped %.1e from the net's conv5 (bound 1e-4); a mirrored map is "
           "%.2f off the mirrored image's\n", i, e0, e1, em);
    CHECK(e0 < 1e-4 && e1 < 1e-4, "%s, image %d: cached features %.3g (plain) and %.3g (flipped) from the net's conv5",
          fpath, i, e0, e1);
    CHECK(em > 0.05, "image %d: the mirrored map is only %.3g from the mirrored image's (test too weak)", i, em);
    free(mirrored), g_free(want[0]), g_free(want[1]);
  }
  if (f) g_mapped_file_unref(f);
  sr_image_clear(&mir);
  sr_tensor_clear(&x), sr_tensor_clear(&probs);
  sr_net_free(net);
  sr_model_free(m);
}

static void check_training(sr_backend *b, sr_rng *rng) {
  char *dir = g_dir_make_tmp("segrank-train-XXXXXX", NULL);
  write_dataset(dir, 8, rng);
  char *spec = g_strdup_printf("folder:%s/images,%s/labels", dir, dir);
  sr_dataset ds;
  sr_error err = {0};
  CHECK(sr_dataset_open(spec, "train", 3, false, &ds, &err) == SR_OK, "%s", err.msg);
  char *a = g_build_filename(dir, "a.srmodel", NULL), *bpath = g_build_filename(dir, "b.srmodel", NULL);
  sr_model *start;
  sr_model_new_segnet(3, NULL, 3, &start, &err); /* train_run's starting point */
  double before = full_loss(start, b, &ds);
  sr_model *ma = train_run(a, &ds, 0, false, b, false);
  double after = full_loss(ma, b, &ds);
  /* The loss falls: CE on all images, without dropout, before and after. */
  CHECK(after < 0.8 * before, "CE without dropout did not fall: %.4f -> %.4f", before, after);
  printf("synthetic training: CE (no dropout, all images) %.4f -> %.4f\n", before, after);
  sr_model_free(start);
  check_evaluate_multi(ma, b, &ds);
  /* And validation mIoU on this easy colour-coded task climbs high. (The
   * per-epoch training loss is measured with dropout on three layers and
   * grows noisy as the logits sharpen, so it is not the criterion.) */
  char *metrics = g_strdup_printf("%s.metrics.jsonl", a), *text = NULL;
  CHECK(g_file_get_contents(metrics, &text, NULL, NULL), "no %s", metrics);
  double first = NAN, last = NAN;
  int epochs = 0;
  for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    char *v = strstr(line, "\"val_miou\":");
    if (!v) break;
    epochs++;
    if (!strncmp(v + 11, "null", 4)) continue;
    last = g_ascii_strtod(v + 11, NULL);
    if (isnan(first)) first = last;
  }
  /* Dropout on 8 images makes the end point vary with float rounding (62 to
   * 85 between the im2col and Winograd paths); chance is ≈ 33. */
  CHECK(epochs == 10 && last > 55 && last > first + 10, "no learning: %d epochs, val mIoU %.2f -> %.2f", epochs, first,
        last);
  printf("synthetic training: val mIoU %.2f (epoch 3) -> %.2f (epoch 10)\n", first, last);
  g_free(text);
  char *plot = g_strdup_printf("%s.png", a);
  sr_image img;
  CHECK(sr_image_load_png(plot, 0, &img, &err) == SR_OK && img.width == 720, "plot: %s", err.msg);
  sr_image_clear(&img);
  /* Paper mode: conv1-5 frozen and run once; only conv6-8 change. */
  char *cpath = g_build_filename(dir, "c.srmodel", NULL);
  sr_model *mc = train_run(cpath, &ds, 0, false, b, true), *init;
  sr_model_new_segnet(3, NULL, 3, &init, &err);
  for (int i = 0; i < mc->n_layers; i++) {
    const sr_layer *x = &mc->layers[i], *y = &init->layers[i];
    if (x->type != SR_LAYER_CONV) continue;
    size_t n = sr_layer_weight_count(x);
    bool same = !memcmp(x->weight, y->weight, n * 4);
    CHECK(same == (atoi(x->name + 4) <= 5), "%s %s in paper mode", x->name, same ? "unchanged" : "changed");
  }
  char *fpath = g_strdup_printf("%s.features", cpath);
  CHECK(g_file_test(fpath, G_FILE_TEST_EXISTS), "no feature cache %s", fpath);
  check_feature_cache(fpath, &ds, b);
  g_free(fpath), g_free(cpath);
  sr_model_free(mc), sr_model_free(init);

  /* Stopped after 5 iterations (mid-epoch), then resumed: same weights. */
  sr_model *mstop = train_run(bpath, &ds, 5, false, b, false);
  sr_model_free(mstop);
  /* As if killed after writing epoch 3's metrics line (and half of another)
   * but before its checkpoint: the resumed run re-runs epoch 3 and must not
   * log it twice. */
  char *bmetrics = g_strdup_printf("%s.metrics.jsonl", bpath);
  int ep[16];
  CHECK(metrics_epochs(bmetrics, ep, 16) == 2, "metrics of the stopped run: not epochs 1-2");
  FILE *mf = fopen(bmetrics, "a");
  if (mf) fputs("{\"epoch\":3,\"iter\":6,\"loss\":1,\"val_miou\":null}\n{\"epoch\":4,\"it", mf), fclose(mf);
  sr_model *mb = train_run(bpath, &ds, 0, true, b, false);
  int ne = metrics_epochs(bmetrics, ep, 16);
  bool in_order = ne == 10;
  for (int i = 0; in_order && i < ne; i++) in_order = ep[i] == i + 1;
  CHECK(in_order, "%s after a resume: %d lines, not epochs 1..10 once each", bmetrics, ne);
  g_free(bmetrics);
  for (int i = 0; i < ma->n_layers; i++) {
    const sr_layer *x = &ma->layers[i], *y = &mb->layers[i];
    if (x->type != SR_LAYER_CONV) continue;
    size_t n = sr_layer_weight_count(x);
    CHECK(!memcmp(x->weight, y->weight, n * 4) && !memcmp(x->bias, y->bias, x->conv.out_c * 4),
          "%s differs between the uninterrupted and the resumed run", x->name);
  }
  sr_model *saved;
  CHECK(sr_model_load(a, &saved, &err) == SR_OK, "%s", err.msg);
  CHECK(saved->provenance && strstr(saved->provenance, "\"loss\":\"ce\""), "provenance %s", saved->provenance);
  CHECK(saved->input_w == S && saved->input_h == S, "input size %dx%d", saved->input_w, saved->input_h);
  sr_model_free(saved);
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name(d))) CHECK(!strstr(name, ".tmp-"), "leftover temporary file %s", name);
  g_dir_close(d);

  check_hostile_checkpoints(dir, bpath, &ds, b);
  check_resume_settings(dir, bpath, &ds, b);
  check_clip(dir, &ds, b);

  /* A label out of range is an error naming the file, or skipped. */
  sr_image bad = {S, S, 1, calloc(S * S, 1)};
  bad.data[5] = 7;
  char *bp = g_strdup_printf("%s/labels/003.png", dir);
  sr_image_save_png(bp, &bad, NULL);
  sr_dataset ds2;
  CHECK(sr_dataset_open(spec, "train", 3, false, &ds2, &err) == SR_ERR_FORMAT && strstr(err.msg, "003.png") &&
            strstr(err.msg, "out of range"),
        "bad label: %s", err.msg);
  CHECK(sr_dataset_open(spec, "train", 3, true, &ds2, &err) == SR_OK && ds2.n == 7 && ds2.skipped == 1, "skip-bad");
  sr_dataset_clear(&ds2);
  char *lp = g_strdup_printf("%s/labels/004.png", dir);
  g_unlink(lp);
  CHECK(sr_dataset_open(spec, "train", 3, true, &ds2, &err) == SR_OK && ds2.skipped == 2, "missing label skipped");
  sr_dataset_clear(&ds2);
  sr_image_save_png(bp, &ds.labels[3], NULL); /* repair 003, so 004 is the first bad pair */
  CHECK(sr_dataset_open(spec, "train", 3, false, &ds2, &err) != SR_OK && strstr(err.msg, "label file missing") &&
            strstr(err.msg, "004.png"),
        "missing label: %s", err.msg);
  sr_image_clear(&bad);
  g_free(bp), g_free(lp);

  sr_model_free(ma), sr_model_free(mb);
  sr_dataset_clear(&ds);
  g_free(metrics), g_free(plot), g_free(a), g_free(bpath), g_free(spec);
  char *cmd = g_strdup_printf("rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  g_free(cmd), g_free(dir);
}

static void check_metrics(void) {
  sr_confusion c;
  sr_confusion_init(&c, 3);
  const uint8_t truth[] = {0, 0, 1, 1, 2, 2, 9, 1};
  const uint8_t pred[] = {0, 1, 1, 1, 2, 0, 2, 2};
  sr_confusion_add(&c, truth, pred, 8); /* the pixel with truth 9 is void */
  double per[3];
  double miou = sr_confusion_miou(&c, per);
  /* class 0: TP1 FP1 FN1 -> 1/3; class 1: TP2 FP1 FN1 -> 2/4; class 2: TP1 FP1 FN1 -> 1/3 */
  CHECK(fabs(per[0] - 100.0 / 3) < 1e-9 && fabs(per[1] - 50) < 1e-9 && fabs(per[2] - 100.0 / 3) < 1e-9,
        "per-class IoU %g %g %g", per[0], per[1], per[2]);
  CHECK(fabs(miou - (100.0 / 3 + 50 + 100.0 / 3) / 3) < 1e-9, "mIoU %g", miou);
  CHECK(fabs(sr_confusion_pixel_accuracy(&c) - 400.0 / 7) < 1e-9, "pixel accuracy");
  sr_confusion_clear(&c);
  /* The same pixels with a fourth class that neither truth nor prediction
   * has: it is left out of the mean (counting it as IoU 0 would give 3/4 of
   * the mean above) and its per-class IoU is NaN. */
  sr_confusion_init(&c, 4);
  sr_confusion_add(&c, truth, pred, 8);
  double per4[4];
  miou = sr_confusion_miou(&c, per4);
  CHECK(isnan(per4[3]) && fabs(miou - (100.0 / 3 + 50 + 100.0 / 3) / 3) < 1e-9,
        "mIoU with a class absent from truth and prediction: %g (class 3: %g), want %g and NaN", miou, per4[3],
        (100.0 / 3 + 50 + 100.0 / 3) / 3);
  sr_confusion_clear(&c);

  /* eq. 16 on a 2x3 map over a 5x7 image: cell (i, j) covers rows
   * [floor(5i/2), floor(5(i+1)/2)) and columns [floor(7j/3), floor(7(j+1)/3)). */
  float probs[2 * 2 * 3] = {0};
  for (int i = 0; i < 6; i++) probs[(i % 2) * 6 + i] = 1; /* class = (cell index) % 2 */
  uint8_t labels[35];
  sr_labels_naive(probs, 2, 2, 3, 7, 5, labels);
  for (int r = 0; r < 5; r++)
    for (int col = 0; col < 7; col++) {
      int i = r < 2 ? 0 : 1, j = col < 2 ? 0 : col < 4 ? 1 : 2;
      CHECK(labels[r * 7 + col] == (i * 3 + j) % 2, "naive label at (%d, %d)", r, col);
    }
}

/* Superpixel upsampling (Section 4) on a uniform 64 × 64 image, where SLIC
 * (region size 16) can only cut the regular 16 × 16 grid, over a 1 × 3 map
 * whose cells (columns [0,21), [21,42), [42,64)) say class 0, 1, 0. Each
 * superpixel takes the class most of its pixels' cells give: columns 16-31
 * have 5 pixels in cell 0 and 11 in cell 1, columns 32-47 have 10 in cell 1
 * and 6 in cell 2, so class 1 covers [16,48), where naive upsampling (eq.
 * 16) gives it [21,42). */
static void check_superpixel_upsampling(void) {
  enum { N = 64 };
  sr_image img = {N, N, 3, malloc(N * N * 3)};
  memset(img.data, 128, N * N * 3);
  float probs[2 * 3] = {1, 0, 1, 0, 1, 0}; /* class plane 0, then 1; 1 × 3 cells */
  uint8_t sp[N * N], naive[N * N];
  sr_labels_superpixel(probs, 2, 1, 3, &img, sp);
  sr_labels_naive(probs, 2, 1, 3, N, N, naive);
  int wrong = 0, first = -1, differs = 0;
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++) {
      int want = x >= 16 && x < 48;
      if (sp[y * N + x] != want && first < 0) first = y * N + x;
      wrong += sp[y * N + x] != want;
      differs += sp[y * N + x] != naive[y * N + x];
    }
  CHECK(!wrong, "superpixel upsampling: %d pixels not as the 16x16 superpixels' majority (first at x %d, y %d)", wrong,
        first % N, first / N);
  CHECK(differs == 11 * N, "superpixel upsampling differs from naive at %d pixels, want %d (columns 16-20 and 42-47)",
        differs, 11 * N);
  sr_image_clear(&img);
}

/* Out-of-fold predictions cannot leak. Each image's four quadrants have a
 * colour of their own and a random class: a net can memorise the colours of
 * the images it trains on, but the class of an unseen colour is a coin
 * flip. So a fold model must be right on its own training images (it
 * trained, on the right ones) and at chance on its held-out images, whose
 * predictions OUT.oof/ must hold (a held-out image trained on, or the
 * predictions taken from another fold's model, would be right too). */
#define QN 16
static double quadrant_accuracy(const float *p, const uint8_t *cls) {
  /* 5×5 map of a 96×96 image: cells 1 and 3 lie inside the quadrants */
  int ok = 0;
  for (int q = 0; q < 4; q++) {
    int cy = q / 2 ? 3 : 1, cx = q % 2 ? 3 : 1, c = cy * 5 + cx;
    ok += (p[c] > p[25 + c]) == (cls[q] == 0);
  }
  return ok / 4.0;
}

static void check_folds(sr_backend *b, sr_rng *rng) {
  char *dir = g_dir_make_tmp("segrank-folds-XXXXXX", NULL);
  char *id = g_build_filename(dir, "images", NULL), *ld = g_build_filename(dir, "labels", NULL);
  g_mkdir_with_parents(id, 0755), g_mkdir_with_parents(ld, 0755);
  uint8_t cls[QN][4];
  for (int i = 0; i < QN; i++) {
    sr_image img = {S, S, 3, malloc(S * S * 3)}, lab = {S, S, 1, malloc(S * S)};
    uint8_t col[4][3];
    for (int q = 0; q < 4; q++) {
      cls[i][q] = (uint8_t)(sr_rng_next(rng) % 2);
      for (int c = 0; c < 3; c++) col[q][c] = (uint8_t)(30 + sr_rng_next(rng) % 196);
    }
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++) {
        int q = (y >= S / 2) * 2 + (x >= S / 2);
        memcpy(img.data + (y * S + x) * 3, col[q], 3);
        lab.data[y * S + x] = cls[i][q];
      }
    char name[32];
    snprintf(name, sizeof name, "%03d.png", i);
    char *ip = g_build_filename(id, name, NULL), *lp = g_build_filename(ld, name, NULL);
    sr_image_save_png(ip, &img, NULL), sr_image_save_png(lp, &lab, NULL);
    g_free(ip), g_free(lp);
    sr_image_clear(&img), sr_image_clear(&lab);
  }
  char *spec = g_strdup_printf("folder:%s,%s", id, ld);
  sr_dataset ds;
  sr_error err = {0};
  CHECK(sr_dataset_open(spec, "train", 2, false, &ds, &err) == SR_OK, "%s", err.msg);
  int plan[QN];
  CHECK(sr_fold_plan(&ds, 2, plan, &err) == SR_OK, "%s", err.msg);
  for (int i = 0; i < QN; i++) CHECK(plan[i] == (i >= QN / 2), "fold plan: image %d in fold %d", i, plan[i]);
  sr_model *proto;
  sr_model_new_segnet(2, NULL, 4, &proto, &err);
  char *kpath = g_build_filename(dir, "k.srmodel", NULL);
  sr_train_config kc = {.out = kpath, .loss = {SR_LOSS_CE, 0.7, 0.3}, .batch = 4, .epochs = 60, .lr = 0.003,
                        .momentum = 0.9, .warmup = 5, .clip = 5, .aug = {S, S, 1, 1, 0, 0}, .seed = 5, .eval_w = S,
                        .eval_h = S, .eval_upsample = SR_UPSAMPLE_NAIVE};
  bool complete = false;
  CHECK(sr_train_folds(proto, b, &ds, 2, -1, &kc, &complete, &err) == SR_OK && complete, "%s", err.msg);
  double in_acc = 0, out_acc = 0;
  sr_tensor x = {0}, probs = {0};
  sr_tensor_alloc(&x, 1, 3, S, S);
  const sr_pixel_layout rgb = {3, 0, 1, 2};
  for (int f = 0; f < 2; f++) {
    char *fp = g_strdup_printf("%s/k.fold%d.srmodel", dir, f);
    sr_model *m = NULL;
    sr_net *net = NULL;
    CHECK(sr_model_load(fp, &m, &err) == SR_OK && strstr(m->provenance, "\"held_out\":["), "%s: %s", fp, err.msg);
    /* Its validation figure is on the held-out fold and says so. */
    CHECK(strstr(m->provenance, "\"val_set\":\"held-out fold\""), "%s: provenance does not name its validation set", fp);
    sr_net_new(m, b, &net, &err);
    for (int i = 0; i < QN; i++) {
      if (plan[i] == f) continue; /* the fold's own training images */
      sr_preprocess(ds.images[i].data, S, S, S * 3, rgb, m->mean_bgr, S, S, x.data);
      sr_net_forward(net, &x, &probs, &err);
      in_acc += quadrant_accuracy(probs.data, cls[i]) / (QN / 2) / 2;
    }
    sr_net_free(net), sr_model_free(m), g_free(fp);
  }
  for (int i = 0; i < QN; i++) {
    char *np = g_strdup_printf("%s/k.oof/%03d.npy", dir, i);
    float *data = NULL;
    int shape[4], rank = 0;
    CHECK(sr_npy_load(np, &data, shape, &rank, &err) == SR_OK && rank == 3 && shape[0] == 2 && shape[1] == 5,
          "out-of-fold prediction %s: %s", np, err.msg);
    if (data) out_acc += quadrant_accuracy(data, cls[i]) / QN;
    free(data), g_free(np);
  }
  printf("folds: accuracy on a fold's own training images %.2f, out of fold %.2f (chance 0.5)\n", in_acc, out_acc);
  CHECK(in_acc >= 0.9, "fold models did not learn their training images (%.2f)", in_acc);
  CHECK(out_acc <= 0.75, "out-of-fold predictions know the held-out images (%.2f): a leak", out_acc);
  /* Starting a fold from a model that trained on its held-out images is
   * refused: fold 0's model saw fold 1's images. */
  {
    char *f0 = g_strdup_printf("%s/k.fold0.srmodel", dir), *k2 = g_strdup_printf("%s/k2.srmodel", dir);
    sr_model *seen = NULL;
    CHECK(sr_model_load(f0, &seen, &err) == SR_OK, "%s", err.msg);
    sr_train_config c2 = kc;
    c2.out = k2;
    CHECK(seen && sr_train_folds(seen, b, &ds, 2, 1, &c2, &complete, &err) == SR_ERR_INVALID &&
              strstr(err.msg, "held-out"),
          "a start that saw the held-out images: %s", err.msg);
    CHECK(!sr_provenance_holds_out(seen->provenance, ds.names[QN - 1]) &&
              sr_provenance_holds_out(seen->provenance, ds.names[0]),
          "provenance hold-out check");
    sr_model_free(seen);
    g_free(f0), g_free(k2);
  }
  /* A rerun finds the models and does not retrain; another plan is refused. */
  CHECK(sr_train_folds(proto, b, &ds, 2, -1, &kc, &complete, &err) == SR_OK && complete, "rerun: %s", err.msg);
  CHECK(sr_train_folds(proto, b, &ds, 3, 0, &kc, &complete, &err) == SR_ERR_INVALID && strstr(err.msg, "folds.json"),
        "another plan: %s", err.msg);
  sr_tensor_clear(&x), sr_tensor_clear(&probs);
  sr_model_free(proto);
  sr_dataset_clear(&ds);
  g_free(kpath), g_free(spec), g_free(id), g_free(ld);
  char *cmd = g_strdup_printf("rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  g_free(cmd), g_free(dir);
}

int main(void) {
  sr_backend *cpu;
  sr_error err = {0};
  sr_backend_new("cpu", 2, &cpu, &err);
  sr_rng rng;
  sr_rng_seed(&rng, 99);
  check_metrics();
  check_superpixel_upsampling();
  check_training(cpu, &rng);
  check_folds(cpu, &rng);
  sr_backend_free(cpu);
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
