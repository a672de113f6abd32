/* bench_proposals.c: `segrank bench --proposals`: wall time of each stage of
 * the proposal source (superpixels, features, unaries + graph, DivMBest) on
 * one frame, median over runs, each run taken when the machine is quiet,
 * right after an untimed pass over the same frame (steady state). */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "load_meter.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static char *cpu_model(void) {
  char *text = NULL;
  if (g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL)) {
    char *p = strstr(text, "model name");
    if (p && (p = strchr(p, ':'))) {
      char *end = strchr(p, '\n');
      char *s = g_strndup(p + 2, end ? (gsize)(end - p - 2) : strlen(p + 2));
      g_free(text);
      return s;
    }
  }
  g_free(text);
  return g_strdup("unknown CPU");
}

/* A deterministic 480×360 street-like frame: sky, road, blocks and noise. */
static void synthetic_frame(sr_image *img) {
  img->width = 480, img->height = 360, img->channels = 3;
  img->data = malloc((size_t)480 * 360 * 3);
  uint32_t s = 12345;
  for (int y = 0; y < 360; y++)
    for (int x = 0; x < 480; x++) {
      s = s * 1664525u + 1013904223u;
      int noise = (int)(s >> 27) - 16;
      int r, g, b;
      if (y < 120) r = 120, g = 160, b = 220;
      else if (y > 250) r = g = b = 90;
      else if ((x / 60) % 2) r = 150, g = 110, b = 80;
      else r = 60, g = 120, b = 50;
      uint8_t *p = img->data + 3 * ((size_t)y * 480 + x);
      p[0] = (uint8_t)CLAMP(r + noise, 0, 255), p[1] = (uint8_t)CLAMP(g + noise, 0, 255), p[2] = (uint8_t)CLAMP(b + noise, 0, 255);
    }
}

int bench_proposals(const char *unary_model, const char *image, int num_solutions, int threads, int runs) {
  sr_error err = {0};
  sr_unary_model *um;
  const char *path = unary_model ? unary_model : sr_default_unary_model_path();
  if (sr_unary_model_load(path, &um, &err) != SR_OK) return cli_fail(&err);
  sr_image img = {0};
  if (image && sr_image_load(image, 0, &img, &err) != SR_OK) {
    sr_unary_model_free(um);
    return cli_fail(&err);
  }
  if (!image) synthetic_frame(&img);
  sr_proposer_params pp;
  sr_proposer_params_default(&pp);
  pp.num_solutions = num_solutions;
  pp.threads = threads;
  sr_proposer *pr;
  if (sr_proposer_new(um, &pp, &pr, &err) != SR_OK) {
    sr_image_clear(&img);
    sr_unary_model_free(um);
    return cli_fail(&err);
  }
  if (runs < 3) runs = 3;
  double *v[6];
  for (int j = 0; j < 6; j++) v[j] = g_new0(double, runs);
  int rc = 0;
  double load_sum = 0;
  for (int r = -1; r < runs && !rc; r++) { /* run -1 warms up */
    if (r >= 0) {
      /* A quiet machine, then one untimed pass so caches, page tables and
       * the pool's threads are warm as in a stream of frames. */
      load_wait_idle(0.10, 0.2, 2, 10);
      sr_proposal_set warm;
      if (sr_proposer_run(pr, &img, NULL, &warm, NULL, &err) != SR_OK) {
        rc = cli_fail(&err);
        break;
      }
      sr_proposal_set_clear(&warm);
    }
    load_meter lm;
    load_meter_start(&lm);
    sr_proposal_set set;
    sr_proposer_times t;
    if (sr_proposer_run(pr, &img, NULL, &set, &t, &err) != SR_OK) {
      rc = cli_fail(&err);
      break;
    }
    if (r >= 0) {
      v[0][r] = t.superpixels, v[1][r] = t.features, v[2][r] = t.unaries, v[3][r] = t.crf;
      v[4][r] = t.superpixels + t.features + t.unaries + t.crf;
      v[5][r] = t.max_flows;
      load_sum += load_meter_foreign(&lm);
    }
    sr_proposal_set_clear(&set);
  }
  if (!rc) {
    char *cpu = cpu_model();
    printf("segrank bench --proposals: %dx%d frame (%s), %d solutions, %d threads, %s; median of %d runs, foreign load %.0f%%\n",
           img.width, img.height, image ? image : "synthetic", num_solutions, threads ? threads : (int)g_get_num_processors(),
           cpu, runs, 100 * load_sum / runs);
    static const char *names[] = {"superpixels", "features", "unaries + graph", "DivMBest", "total"};
    for (int j = 0; j < 5; j++) printf("  %-16s %8.2f ms\n", names[j], median(v[j], runs));
    printf("  max-flows        %8.0f per frame\n", median(v[5], runs));
    g_free(cpu);
  }
  for (int j = 0; j < 6; j++) g_free(v[j]);
  sr_proposer_free(pr);
  sr_image_clear(&img);
  sr_unary_model_free(um);
  return rc;
}
