/* threadpool.h: a small persistent pool of worker threads for the CPU
 * backend: the caller and n-1 workers split a job's tasks between them. */
#ifndef SR_THREADPOOL_H
#define SR_THREADPOOL_H

typedef struct sr_pool sr_pool;

/* A pool of @n threads in all (the caller counts as one). */
sr_pool *sr_pool_new(int n);
void sr_pool_free(sr_pool *p);
int sr_pool_size(const sr_pool *p);

/* Runs fn(ctx, task, thread) for task = 0..n_tasks-1 across the pool and
 * returns when all are done. @thread (0..size-1) indexes per-thread scratch. */
void sr_pool_run(sr_pool *p, int n_tasks, void (*fn)(void *ctx, int task, int thread), void *ctx);

#endif
