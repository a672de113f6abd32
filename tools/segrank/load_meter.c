/* load_meter.c: foreign CPU load from /proc/stat and getrusage (see the header). */
#include "load_meter.h"

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Busy CPU seconds of the whole machine (all but idle and iowait); −1 if unknown. */
static double busy_s(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                 &v[7]);
  fclose(f);
  if (n != 8) return -1;
  unsigned long long total = 0;
  for (int i = 0; i < 8; i++) total += v[i];
  return (double)(total - v[3] - v[4]) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of this process, all threads (and waited-for children: the peers' scripts). */
static double own_s(void) {
  struct rusage self, kids;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  return self.ru_utime.tv_sec + self.ru_utime.tv_usec * 1e-6 + self.ru_stime.tv_sec + self.ru_stime.tv_usec * 1e-6 +
         kids.ru_utime.tv_sec + kids.ru_utime.tv_usec * 1e-6 + kids.ru_stime.tv_sec + kids.ru_stime.tv_usec * 1e-6;
}

void load_meter_start(load_meter *m) {
  m->t0 = now_s(), m->busy0 = busy_s(), m->own0 = own_s();
}

double load_meter_foreign(const load_meter *m) {
  double busy = busy_s(), dt = now_s() - m->t0;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (busy < 0 || m->busy0 < 0 || dt <= 0 || ncpu < 1) return 0;
  double other = (busy - m->busy0) - (own_s() - m->own0);
  return other > 0 ? other / (dt * (double)ncpu) : 0;
}

double load_wait_idle(double thresh, double window_s, int need, double max_wait_s) {
  double start = now_s();
  int ok = 0;
  while (now_s() - start < max_wait_s) {
    load_meter m;
    load_meter_start(&m);
    struct timespec w = {(time_t)window_s, (long)((window_s - (time_t)window_s) * 1e9)};
    nanosleep(&w, NULL);
    ok = load_meter_foreign(&m) < thresh ? ok + 1 : 0;
    if (ok >= need) return now_s() - start;
  }
  return -1;
}
