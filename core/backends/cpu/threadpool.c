/* threadpool.c: tasks are handed out by one atomic word holding the job's
 * sequence number, its task count and the next task index, so a worker
 * still leaving one job can never take (or skip) a task of the next: a task
 * is claimed by a compare-and-swap of exactly (job, count, index). Workers
 * spin briefly between jobs (a forward pass issues one job per layer in
 * quick succession) and then sleep on a condition variable. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FIELD_BITS 20
#define FIELD_MASK ((UINT64_C(1) << FIELD_BITS) - 1)
#define MAX_TASKS ((int)FIELD_MASK)

static inline uint64_t pack(uint64_t job, uint64_t n, uint64_t i) {
  return job << (2 * FIELD_BITS) | n << FIELD_BITS | i;
}

struct sr_pool {
  int n;
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  atomic_uint generation; /* bumped for every job (wakes the workers) */
  _Atomic uint64_t next;  /* pack(job, task count, next index) */
  uint64_t job;
  atomic_int pending;
  void (*fn)(void *, int, int);
  void *ctx;
  atomic_bool quit;
};

typedef struct {
  sr_pool *p;
  int index;
} worker_arg;

static void drain(sr_pool *p, int thread) {
  for (;;) {
    uint64_t v = atomic_load(&p->next);
    if ((v & FIELD_MASK) >= ((v >> FIELD_BITS) & FIELD_MASK)) return;
    if (!atomic_compare_exchange_weak(&p->next, &v, v + 1)) continue;
    p->fn(p->ctx, (int)(v & FIELD_MASK), thread);
    atomic_fetch_sub(&p->pending, 1);
  }
}

static void *worker(void *arg) {
  worker_arg *wa = arg;
  sr_pool *p = wa->p;
  int index = wa->index;
  free(wa);
  unsigned seen = atomic_load(&p->generation);
  for (;;) {
    /* Spin a little before sleeping: the next layer's job comes soon. */
    for (int spin = 0; spin < 20000 && atomic_load(&p->generation) == seen && !atomic_load(&p->quit); spin++)
      __asm__ volatile("" ::: "memory");
    if (atomic_load(&p->generation) == seen && !atomic_load(&p->quit)) {
      pthread_mutex_lock(&p->lock);
      while (atomic_load(&p->generation) == seen && !atomic_load(&p->quit)) pthread_cond_wait(&p->wake, &p->lock);
      pthread_mutex_unlock(&p->lock);
    }
    if (atomic_load(&p->quit)) return NULL;
    seen = atomic_load(&p->generation);
    drain(p, index);
  }
}

sr_pool *sr_pool_new(int n) {
  sr_pool *p = calloc(1, sizeof *p);
  p->n = n < 1 ? 1 : n;
  atomic_store(&p->next, pack(0, 0, 0));
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  p->threads = calloc(p->n, sizeof(pthread_t));
  if (!p->threads) p->n = 1; /* no room to track workers: run on the caller's thread */
  for (int i = 1; i < p->n; i++) {
    worker_arg *wa = malloc(sizeof *wa);
    if (wa) wa->p = p, wa->index = i;
    if (!wa || pthread_create(&p->threads[i], NULL, worker, wa) != 0) {
      /* No memory or thread for worker i: run with the i threads there are
       * (the workers started so far all have lower indices). */
      free(wa);
      fprintf(stderr, "segrank: could start only %d of %d worker threads\n", i, p->n);
      p->n = i;
      break;
    }
  }
  return p;
}

int sr_pool_size(const sr_pool *p) { return p->n; }

void sr_pool_run(sr_pool *p, int n_tasks, void (*fn)(void *, int, int), void *ctx) {
  if (p->n == 1 || n_tasks <= 1 || n_tasks > MAX_TASKS) {
    for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
    return;
  }
  /* fn and ctx are published by the store of the new word, and stay valid
   * until every task of this job has finished. */
  p->fn = fn, p->ctx = ctx;
  p->job = (p->job + 1) & ((UINT64_C(1) << (64 - 2 * FIELD_BITS)) - 1);
  atomic_store(&p->pending, n_tasks);
  atomic_store(&p->next, pack(p->job, (uint64_t)n_tasks, 0));
  pthread_mutex_lock(&p->lock);
  atomic_fetch_add(&p->generation, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  drain(p, 0);
  while (atomic_load(&p->pending) > 0) __asm__ volatile("" ::: "memory");
}

void sr_pool_free(sr_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  atomic_store(&p->quit, true);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  free(p->threads);
  free(p);
}
