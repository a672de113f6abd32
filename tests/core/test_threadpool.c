/* test_threadpool.c: the CPU backend's thread pool runs every task of every
 * job exactly once, and returns only when all have finished, across many
 * short jobs of changing sizes on a shared context (the pattern of a
 * forward pass, where a worker may still be leaving one job when the next
 * starts). */
#include <stdatomic.h>
#include <string.h>

#include "backends/cpu/threadpool.h"
#include "test_util.h"

#define MAX_N 64
#ifndef SR_TP_MAX
#define SR_TP_MAX 8
#endif

typedef struct {
  atomic_int runs[MAX_N];
  int job;
} ctx_t;

static void task(void *c, int t, int thread) {
  ctx_t *x = c;
  (void)thread;
  if (t >= 0 && t < MAX_N) atomic_fetch_add(&x->runs[t], 1);
}

int main(void) {
  for (int threads = 2; threads <= SR_TP_MAX; threads *= 2) {
    sr_pool *p = sr_pool_new(threads);
    ctx_t x;
    int bad = 0;
    for (int job = 0; job < 300000 && !bad; job++) {
      int n = 2 + (int)(((unsigned)job * 7919u) % (MAX_N - 2)); /* sizes jump up and down */
      for (int i = 0; i < MAX_N; i++) atomic_store(&x.runs[i], 0);
      x.job = job;
      sr_pool_run(p, n, task, &x);
      for (int i = 0; i < MAX_N && !bad; i++) {
        int r = atomic_load(&x.runs[i]);
        if (r != (i < n)) {
          CHECK(0, "%d threads, job %d (%d tasks): task %d ran %d times when the job returned", threads, job, n, i, r);
          bad = 1;
        }
      }
    }
    sr_pool_free(p);
    printf("%d threads: 300000 jobs of 2-63 tasks, every task exactly once: %s\n", threads, bad ? "no" : "yes");
  }
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
