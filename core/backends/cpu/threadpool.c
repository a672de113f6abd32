/* threadpool.c: tasks are handed out by an atomic counter; workers spin
 * briefly between jobs (a forward pass issues one job per layer in quick
 * succession) and then sleep on a condition variable. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define CLOSED (1 << 30)

struct sr_pool {
  int n;
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  atomic_uint generation; /* bumped for every job */
  atomic_int next_task, pending;
  int n_tasks;
  void (*fn)(void *, int, int);
  void *ctx;
  atomic_bool quit;
};

typedef struct {
  sr_pool *p;
  int index;
} worker_arg;

static void drain(sr_pool *p, int thread) {
  int t;
  while ((t = atomic_fetch_add(&p->next_task, 1)) < p->n_tasks) {
    p->fn(p->ctx, t, thread);
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
  atomic_store(&p->next_task, CLOSED);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  p->threads = calloc(p->n, sizeof(pthread_t));
  for (int i = 1; i < p->n; i++) {
    worker_arg *wa = malloc(sizeof *wa);
    wa->p = p, wa->index = i;
    pthread_create(&p->threads[i], NULL, worker, wa);
  }
  return p;
}

int sr_pool_size(const sr_pool *p) { return p->n; }

void sr_pool_run(sr_pool *p, int n_tasks, void (*fn)(void *, int, int), void *ctx) {
  if (p->n == 1 || n_tasks == 1) {
    for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
    return;
  }
  /* next_task is parked at CLOSED between jobs, so a worker still leaving
   * the previous job cannot take a task of this one before it is set up. */
  p->fn = fn, p->ctx = ctx, p->n_tasks = n_tasks;
  atomic_store(&p->pending, n_tasks);
  atomic_store(&p->next_task, 0);
  pthread_mutex_lock(&p->lock);
  atomic_fetch_add(&p->generation, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  drain(p, 0);
  while (atomic_load(&p->pending) > 0) __asm__ volatile("" ::: "memory");
  atomic_store(&p->next_task, CLOSED);
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
