/* color_lab.c: fast sRGB → CIE L*a*b* for the proposal source: table
 * lookups instead of pow and cbrt, rows split across the thread pool. The constants are skimage's
 * (rgb2lab: sRGB D65 matrix, white point 0.95047, 1, 1.08883). */
#include <math.h>
#include <pthread.h>

#include "color_lab.h"

#define CBRT_STEPS 4096 /* table intervals over t in [0, 1] */

static const double rgb_to_xyz[3][3] = {
    {0.412453, 0.357580, 0.180423}, {0.212671, 0.715160, 0.072169}, {0.019334, 0.119193, 0.950227}};
static const double white[3] = {0.95047, 1.0, 1.08883};

static double srgb_to_linear(double v) { return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4); }
static double lab_f(double t) { return t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116; }

void sr_lab_reference(uint8_t r, uint8_t g, uint8_t b, double lab[3]) {
  double c[3] = {srgb_to_linear(r / 255.0), srgb_to_linear(g / 255.0), srgb_to_linear(b / 255.0)}, f[3];
  for (int i = 0; i < 3; i++)
    f[i] = lab_f((rgb_to_xyz[i][0] * c[0] + rgb_to_xyz[i][1] * c[1] + rgb_to_xyz[i][2] * c[2]) / white[i]);
  lab[0] = 116 * f[1] - 16, lab[1] = 500 * (f[0] - f[1]), lab[2] = 200 * (f[1] - f[2]);
}

/* linear[v]: sRGB byte → linear light; f_table[i] = lab_f(i / CBRT_STEPS),
 * one extra entry so interpolation at t = 1 needs no clamp of i + 1. */
static float linear[256];
static float f_table[CBRT_STEPS + 2];
static float matrix[3][3]; /* rgb_to_xyz rows divided by the white point */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
  for (int v = 0; v < 256; v++) linear[v] = (float)srgb_to_linear(v / 255.0);
  for (int i = 0; i <= CBRT_STEPS + 1; i++) f_table[i] = (float)lab_f((double)i / CBRT_STEPS);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) matrix[i][j] = (float)(rgb_to_xyz[i][j] / white[i]);
}

static inline float f_lookup(float t) {
  float u = t * CBRT_STEPS;
  u = u < 0 ? 0 : u > CBRT_STEPS ? CBRT_STEPS : u;
  int i = (int)u;
  float frac = u - (float)i;
  return f_table[i] + frac * (f_table[i + 1] - f_table[i]);
}

typedef struct {
  const uint8_t *pixels;
  int width, height, row_stride, rows_per_task;
  sr_pixel_layout layout;
  float *L, *A, *B;
} lab_job;

static void lab_rows(void *ctx, int task, int thread) {
  (void)thread;
  const lab_job *j = ctx;
  const int ps = j->layout.pixel_stride, ro = j->layout.r, go = j->layout.g, bo = j->layout.b;
  int y0 = task * j->rows_per_task, y1 = y0 + j->rows_per_task < j->height ? y0 + j->rows_per_task : j->height;
  for (int y = y0; y < y1; y++) {
    const uint8_t *row = j->pixels + (size_t)y * j->row_stride;
    float *L = j->L + (size_t)y * j->width, *A = j->A + (size_t)y * j->width, *B = j->B + (size_t)y * j->width;
    for (int x = 0; x < j->width; x++) {
      const uint8_t *p = row + (size_t)x * ps;
      float r = linear[p[ro]], g = linear[p[go]], b = linear[p[bo]];
      float fx = f_lookup(matrix[0][0] * r + matrix[0][1] * g + matrix[0][2] * b);
      float fy = f_lookup(matrix[1][0] * r + matrix[1][1] * g + matrix[1][2] * b);
      float fz = f_lookup(matrix[2][0] * r + matrix[2][1] * g + matrix[2][2] * b);
      L[x] = 116.f * fy - 16.f, A[x] = 500.f * (fx - fy), B[x] = 200.f * (fy - fz);
    }
  }
}

void sr_lab_from_pixels(const uint8_t *pixels, int width, int height, int row_stride, sr_pixel_layout layout,
                        float *L, float *A, float *B, sr_pool *pool) {
  pthread_once(&tables_once, build_tables);
  lab_job j = {pixels, width, height, row_stride, 16, layout, L, A, B};
  int tasks = (height + j.rows_per_task - 1) / j.rows_per_task;
  if (pool)
    sr_pool_run(pool, tasks, lab_rows, &j);
  else
    for (int t = 0; t < tasks; t++) lab_rows(&j, t, 0);
}
