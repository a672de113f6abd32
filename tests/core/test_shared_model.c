/* test_shared_model.c: one model shared read-only by nets on several
 * threads at once, each net on its own CPU backend with its own thread pool
 * (what two segnetinfer elements on one model file do below GStreamer),
 * gives every thread the result of the same pass run alone. Its main use is
 * under ThreadSanitizer (.ci/run's TSan stage), which sees the pools'
 * pthread synchronisation; without TSan it still checks the results. */
#include <pthread.h>
#include <string.h>

#include "test_util.h"

#define N_THREADS 3
#define PASSES 4
#define SIDE 67

typedef struct {
  const sr_model *model;
  const sr_tensor *x;
  const sr_tensor *want;
  int id;
  double worst;
  char err[600];
} worker;

static void *run(void *arg) {
  worker *w = arg;
  sr_error err = {0};
  sr_backend *b = NULL;
  sr_net *net = NULL;
  sr_tensor y = {0};
  /* Each worker's backend has two pool threads: tasks of one pass run on
   * three threads while the other workers' passes run too. */
  if (sr_backend_new("cpu", 2, &b, &err) != SR_OK || sr_net_new(w->model, b, &net, &err) != SR_OK) {
    snprintf(w->err, sizeof w->err, "worker %d: %s", w->id, err.msg);
  } else {
    for (int p = 0; p < PASSES && !w->err[0]; p++) {
      if (sr_net_forward(net, w->x, &y, &err) != SR_OK) {
        snprintf(w->err, sizeof w->err, "worker %d pass %d: %s", w->id, p, err.msg);
        break;
      }
      if (sr_tensor_count(&y) != sr_tensor_count(w->want)) {
        snprintf(w->err, sizeof w->err, "worker %d: output of %zu values, want %zu", w->id, sr_tensor_count(&y),
                 sr_tensor_count(w->want));
        break;
      }
      double d = max_abs_diff(y.data, w->want->data, sr_tensor_count(&y));
      if (d > w->worst) w->worst = d;
    }
  }
  sr_tensor_clear(&y);
  sr_net_free(net);
  sr_backend_free(b);
  return NULL;
}

int main(void) {
  sr_error err = {0};
  sr_model *m = NULL;
  if (sr_model_new_segnet(5, NULL, 7, &m, &err) != SR_OK || sr_model_init_missing(m, 7, &err) != SR_OK) {
    fprintf(stderr, "model: %s\n", err.msg);
    return 1;
  }
  sr_rng rng;
  sr_rng_seed(&rng, 3);
  sr_tensor x = {0}, want = {0};
  CHECK(sr_tensor_alloc(&x, 1, 3, SIDE, SIDE) == SR_OK, "input");
  fill_normal(x.data, sr_tensor_count(&x), &rng, 40.0);

  /* The reference: the same pass, alone, on a backend of its own. */
  sr_backend *b = NULL;
  sr_net *net = NULL;
  CHECK(sr_backend_new("cpu", 2, &b, &err) == SR_OK, "%s", err.msg);
  CHECK(b && sr_net_new(m, b, &net, &err) == SR_OK, "%s", err.msg);
  CHECK(net && sr_net_forward(net, &x, &want, &err) == SR_OK, "%s", err.msg);
  sr_net_free(net);
  sr_backend_free(b);
  if (test_failures) return 1;

  worker w[N_THREADS];
  pthread_t th[N_THREADS];
  for (int i = 0; i < N_THREADS; i++) {
    w[i] = (worker){.model = m, .x = &x, .want = &want, .id = i};
    CHECK(pthread_create(&th[i], NULL, run, &w[i]) == 0, "pthread_create %d", i);
  }
  for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
  /* The same backend kind, input and weights: the passes are computed in
   * the same order, so the results agree exactly. */
  for (int i = 0; i < N_THREADS; i++) {
    CHECK(!w[i].err[0], "%s", w[i].err);
    CHECK(w[i].worst == 0.0, "worker %d differs from the pass run alone by %g", i, w[i].worst);
  }
  printf("%d threads x %d passes on one shared model (%dx%d input): %s\n", N_THREADS, PASSES, SIDE, SIDE,
         test_failures ? "differ" : "identical to the pass run alone");
  sr_tensor_clear(&x), sr_tensor_clear(&want);
  sr_model_free(m);
  return test_failures ? 1 : 0;
}
