/* test_slic.c: our SLIC (core/proposals/superpixels): the table-driven Lab
 * conversion against the exact formula; on a synthetic scene every pixel
 * is labelled, labels 0..n-1 are all used, each superpixel is one
 * 4-connected region (flood fill), the count is near the request, and the
 * result is the same with 1, 2 and 3 threads and for packed BGRx frames;
 * tiny, thin and uniform images; bad input is an error. The region graph
 * against brute-force counts (edges, boundary pairs, areas, centroids,
 * boxes, perimeters; symmetric sorted adjacency). Quality: perfect
 * superpixels give recall 1 and error 0, one superpixel over two regions
 * the expected error, the tolerance behaves as documented, and random maps
 * agree with a brute-force reference. */
#include <string.h>

#include "proposals/superpixels/slic_internal.h"
#include "proposals/superpixels/superpixels.h"
#include "test_util.h"

/* A scene with smooth shading, a few flat shapes and noise. */
static sr_image synthetic(int W, int H, uint64_t seed) {
  sr_image im = {W, H, 3, malloc((size_t)W * H * 3)};
  sr_rng r;
  sr_rng_seed(&r, seed);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      double c[3] = {60 + 120.0 * x / W, 40 + 150.0 * y / H, 128};
      double dx = x - 0.3 * W, dy = y - 0.4 * H;
      if (dx * dx + dy * dy < 0.04 * W * W) c[0] = 220, c[1] = 30, c[2] = 40;
      if (x > 0.6 * W && x < 0.9 * W && y > 0.2 * H && y < 0.7 * H) c[0] = 20, c[1] = 200, c[2] = 60;
      if (y > 0.8 * H && (x / 7) % 2) c[0] = c[1] = c[2] = 240;
      for (int q = 0; q < 3; q++) {
        double v = c[q] + 6 * sr_rng_normal(&r);
        im.data[((size_t)y * W + x) * 3 + q] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
  return im;
}

/* Labels in range, all used, each one 4-connected region. Returns 1 if so. */
static int valid_map(const sr_superpixels *sp, int W, int H, const char *what) {
  int ok = 1;
  const size_t n = (size_t)W * H;
  if (sp->width != W || sp->height != H || sp->n < 1 || !sp->labels) {
    CHECK(0, "%s: map %dx%d with %d labels", what, sp->width, sp->height, sp->n);
    return 0;
  }
  int *used = calloc(sp->n, sizeof(int));
  for (size_t i = 0; i < n && ok; i++) {
    int l = sp->labels[i];
    if (l < 0 || l >= sp->n) {
      CHECK(0, "%s: pixel %zu has label %d outside 0..%d", what, i, l, sp->n - 1);
      ok = 0;
    } else
      used[l]++;
  }
  for (int k = 0; k < sp->n && ok; k++)
    if (!used[k]) {
      CHECK(0, "%s: label %d unused", what, k);
      ok = 0;
    }
  /* Flood fill from the first pixel of each label; every pixel of the label
   * must be reached. */
  if (ok) {
    uint8_t *seen = calloc(n, 1);
    int *stack = malloc(n * sizeof(int)), *first = malloc(sp->n * sizeof(int));
    for (int k = 0; k < sp->n; k++) first[k] = -1;
    for (size_t i = 0; i < n; i++)
      if (first[sp->labels[i]] < 0) first[sp->labels[i]] = (int)i;
    for (int k = 0; k < sp->n && ok; k++) {
      int top = 0, reached = 0;
      stack[top++] = first[k], seen[first[k]] = 1;
      while (top) {
        int i = stack[--top], x = i % W, y = i / W;
        reached++;
        int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
        for (int d = 0; d < 4; d++) {
          if (nb[d][0] < 0 || nb[d][0] >= W || nb[d][1] < 0 || nb[d][1] >= H) continue;
          int j = nb[d][1] * W + nb[d][0];
          if (!seen[j] && sp->labels[j] == k) seen[j] = 1, stack[top++] = j;
        }
      }
      if (reached != used[k]) {
        CHECK(0, "%s: superpixel %d has %d pixels but only %d are 4-connected to its first", what, k, used[k],
              reached);
        ok = 0;
      }
    }
    free(seen), free(stack), free(first);
  }
  free(used);
  return ok;
}

static void test_lab(void) {
  float L[52 * 52], A[52 * 52], B[52 * 52];
  uint8_t row[52 * 52 * 3];
  double worst = 0;
  for (int r = 0; r < 256; r += 5) {
    for (int g = 0, i = 0; g < 256; g += 5)
      for (int b = 0; b < 256; b += 5, i++)
        row[3 * i] = (uint8_t)r, row[3 * i + 1] = (uint8_t)g, row[3 * i + 2] = (uint8_t)b;
    sr_pixel_layout lay = {3, 0, 1, 2};
    sr_lab_from_pixels(row, 52 * 52, 1, 52 * 52 * 3, lay, L, A, B, NULL);
    for (int i = 0; i < 52 * 52; i++) {
      double ref[3];
      sr_lab_reference(row[3 * i], row[3 * i + 1], row[3 * i + 2], ref);
      worst = fmax(worst, fmax(fabs(L[i] - ref[0]), fmax(fabs(A[i] - ref[1]), fabs(B[i] - ref[2]))));
    }
  }
  double white[3];
  sr_lab_reference(255, 255, 255, white);
  printf("Lab tables vs exact formula over 52^3 colours: max |diff| %.4f (white L %.3f a %.4f b %.4f)\n", worst,
         white[0], white[1], white[2]);
  CHECK(worst < 0.02, "Lab conversion off by %g", worst);
  CHECK(fabs(white[0] - 100) < 0.01 && fabs(white[1]) < 0.01 && fabs(white[2]) < 0.01, "white is not L=100 a=b=0");
}

static sr_superpixels run_slic(const sr_image *im, int n, int threads, const char *what) {
  sr_slic_params p;
  sr_slic_params_default(&p);
  p.n_superpixels = n, p.threads = threads;
  sr_superpixels sp;
  sr_error err = {0};
  sr_status st = sr_slic(im, &p, &sp, &err);
  CHECK(st == SR_OK, "%s: %s", what, err.msg);
  return sp;
}

static void test_synthetic(void) {
  const int W = 240, H = 180, n = 300;
  sr_image im = synthetic(W, H, 3);
  sr_superpixels sp1 = run_slic(&im, n, 1, "synthetic 1 thread");
  int ok = valid_map(&sp1, W, H, "synthetic");
  /* The grid gives 20 × 15 = 300 centres (step 12); fragments merge. */
  printf("synthetic %dx%d, %d requested: %d superpixels, valid map: %s\n", W, H, n, sp1.n, ok ? "yes" : "no");
  CHECK(sp1.n >= 0.7 * n && sp1.n <= 1.1 * n, "count %d too far from %d", sp1.n, n);
  for (int t = 2; t <= 3; t++) {
    sr_superpixels spt = run_slic(&im, n, t, "synthetic threads");
    int same = spt.n == sp1.n && spt.labels && !memcmp(spt.labels, sp1.labels, sizeof(int32_t) * W * H);
    printf("  %d threads: identical to 1 thread: %s\n", t, same ? "yes" : "no");
    CHECK(same, "%d threads differ from 1", t);
    sr_superpixels_clear(&spt);
  }
  /* The same frame as padded BGRx rows. */
  const int stride = W * 4 + 12;
  uint8_t *bgrx = calloc((size_t)stride * H, 1);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int q = 0; q < 3; q++) bgrx[(size_t)y * stride + 4 * x + 2 - q] = im.data[((size_t)y * W + x) * 3 + q];
  sr_slic_params p;
  sr_slic_params_default(&p);
  p.n_superpixels = n, p.threads = 2;
  sr_superpixels spx;
  sr_error err = {0};
  sr_status st = sr_slic_pixels(bgrx, W, H, stride, (sr_pixel_layout){4, 2, 1, 0}, &p, &spx, &err);
  int same = st == SR_OK && spx.n == sp1.n && !memcmp(spx.labels, sp1.labels, sizeof(int32_t) * W * H);
  printf("  BGRx padded rows: identical: %s\n", same ? "yes" : "no");
  CHECK(same, "packed BGRx frame differs (%s)", err.msg);
  sr_superpixels_clear(&spx);
  free(bgrx);

  /* A workspace reused across sizes and thread counts gives the same maps. */
  sr_slic_workspace *ws = sr_slic_workspace_new();
  sr_image tiny = synthetic(31, 17, 4);
  int ws_same = 1;
  for (int round = 0; round < 3; round++) {
    sr_superpixels a, b;
    p.threads = 3 - round; /* a pool for 3, then fewer */
    ws_same &= sr_slic_ws(ws, &tiny, &p, &a, &err) == SR_OK && sr_slic_ws(ws, &im, &p, &b, &err) == SR_OK;
    ws_same &= b.n == sp1.n && !memcmp(b.labels, sp1.labels, sizeof(int32_t) * W * H);
    sr_superpixels_clear(&a), sr_superpixels_clear(&b);
  }
  printf("  reused workspace (a 31x17 frame in between, 1-3 threads): identical: %s\n", ws_same ? "yes" : "no");
  CHECK(ws_same, "a reused workspace changes the result (%s)", err.msg);
  sr_slic_workspace_free(ws);
  sr_image_clear(&tiny);

  /* Superpixels follow the shapes: few cross the green box's border. */
  int crossing = 0, touching = 0;
  int *in = calloc(sp1.n, sizeof(int)), *all = calloc(sp1.n, sizeof(int));
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int l = sp1.labels[y * W + x];
      all[l]++;
      in[l] += x > 0.6 * W && x < 0.9 * W && y > 0.2 * H && y < 0.7 * H;
    }
  for (int k = 0; k < sp1.n; k++)
    if (in[k]) touching++, crossing += in[k] < all[k] * 0.9 && in[k] > all[k] * 0.1;
  printf("  superpixels meeting the box: %d, of them mixed (10-90%% inside): %d\n", touching, crossing);
  CHECK(crossing * 10 <= touching, "%d of %d superpixels straddle a sharp border", crossing, touching);
  free(in), free(all);
  sr_superpixels_clear(&sp1);
  sr_image_clear(&im);
}

static void test_small_and_uniform(void) {
  const int sizes[][3] = {{1, 1, 1000}, {7, 3, 1000}, {7, 3, 4}, {1, 200, 10}, {200, 1, 10}, {1, 5000, 1000},
                          {5, 3000, 100}, {2, 2, 1}, {64, 48, 48}};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    int W = sizes[s][0], H = sizes[s][1], n = sizes[s][2];
    sr_image im = synthetic(W, H, 5);
    char what[64];
    snprintf(what, sizeof what, "%dx%d, %d requested", W, H, n);
    sr_superpixels sp = run_slic(&im, n, 2, what);
    int ok = sp.labels && valid_map(&sp, W, H, what);
    printf("%s: %d superpixels, valid: %s\n", what, sp.n, ok ? "yes" : "no");
    if (W * H <= n) CHECK(sp.n >= 1 && sp.n <= W * H, "%s: %d superpixels", what, sp.n);
    else CHECK(sp.n >= 1 && sp.n <= 2 * n, "%s: %d superpixels", what, sp.n);
    sr_superpixels_clear(&sp);
    sr_image_clear(&im);
  }
  /* A uniform image: space alone decides, the grid cells come back. */
  sr_image flat = {64, 48, 3, malloc(64 * 48 * 3)};
  memset(flat.data, 90, 64 * 48 * 3);
  sr_superpixels sp = run_slic(&flat, 48, 3, "uniform");
  int ok = valid_map(&sp, 64, 48, "uniform");
  printf("uniform 64x48, 48 requested: %d superpixels (grid 8x6), valid: %s\n", sp.n, ok ? "yes" : "no");
  CHECK(sp.n == 48, "uniform image gave %d superpixels, expected the 48 grid cells", sp.n);
  sr_superpixels_clear(&sp);
  /* 1×1: exactly one superpixel. */
  sr_image one = {1, 1, 3, (uint8_t[3]){1, 2, 3}};
  sp = run_slic(&one, 1000, 1, "1x1");
  CHECK(sp.n == 1 && sp.labels && sp.labels[0] == 0, "1x1 gave %d superpixels", sp.n);
  sr_superpixels_clear(&sp);
  sr_image_clear(&flat);
}

static void test_bad_input(void) {
  sr_slic_params p;
  sr_slic_params_default(&p);
  uint8_t px[12] = {0};
  sr_superpixels sp = {3, 3, 3, (int32_t *)1};
  sr_error err = {0};
  sr_image grey = {2, 2, 1, px}, empty = {0, 5, 3, px}, none = {2, 2, 3, NULL};
  struct {
    const char *what;
    sr_status st;
  } cases[] = {
      {"1 channel", sr_slic(&grey, &p, &sp, &err)},
      {"zero width", sr_slic(&empty, &p, &sp, &err)},
      {"no data", sr_slic(&none, &p, &sp, &err)},
      {"no image", sr_slic(NULL, &p, &sp, &err)},
      {"no params", sr_slic_pixels(px, 2, 2, 6, (sr_pixel_layout){3, 0, 1, 2}, NULL, &sp, &err)},
      {"zero height", sr_slic_pixels(px, 2, 0, 6, (sr_pixel_layout){3, 0, 1, 2}, &p, &sp, &err)},
      {"pixel stride 2", sr_slic_pixels(px, 2, 2, 6, (sr_pixel_layout){2, 0, 1, 1}, &p, &sp, &err)},
      {"offset past pixel", sr_slic_pixels(px, 2, 2, 6, (sr_pixel_layout){3, 0, 1, 3}, &p, &sp, &err)},
      {"short rows", sr_slic_pixels(px, 2, 2, 5, (sr_pixel_layout){3, 0, 1, 2}, &p, &sp, &err)},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    CHECK(cases[i].st == SR_ERR_INVALID, "%s: status %d", cases[i].what, cases[i].st);
  }
  CHECK(sp.labels == NULL && sp.n == 0, "output not cleared on error");
  sr_image ok = {2, 2, 3, px};
  sr_slic_params bad = p;
  bad.n_superpixels = 0;
  CHECK(sr_slic(&ok, &bad, &sp, &err) == SR_ERR_INVALID, "n_superpixels 0 accepted");
  bad = p, bad.compactness = -1;
  CHECK(sr_slic(&ok, &bad, &sp, &err) == SR_ERR_INVALID, "negative compactness accepted");
  bad = p, bad.compactness = NAN;
  CHECK(sr_slic(&ok, &bad, &sp, &err) == SR_ERR_INVALID, "NaN compactness accepted");
  bad = p, bad.iterations = 0;
  CHECK(sr_slic(&ok, &bad, &sp, &err) == SR_ERR_INVALID, "0 iterations accepted");
  printf("bad input (channels, sizes, layouts, parameters): refused with errors, e.g. \"%s\"\n", err.msg);
  sr_slic(&grey, &p, &sp, &err);
  printf("  1 channel: \"%s\"\n", err.msg);
}

static void test_graph(void) {
  const int W = 160, H = 120;
  sr_image im = synthetic(W, H, 9);
  sr_superpixels sp = run_slic(&im, 150, 2, "graph image");
  sr_sp_graph g;
  sr_error err = {0};
  CHECK(sr_sp_graph_build(&sp, &g, &err) == SR_OK, "graph: %s", err.msg);
  const int n = sp.n;
  int *bound = calloc((size_t)n * n, sizeof(int)), *area = calloc(n, sizeof(int)), *per = calloc(n, sizeof(int));
  double *cx = calloc(n, sizeof(double)), *cy = calloc(n, sizeof(double));
  int *box = malloc(4 * n * sizeof(int));
  for (int k = 0; k < n; k++) box[4 * k] = W, box[4 * k + 1] = H, box[4 * k + 2] = -1, box[4 * k + 3] = -1;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int a = sp.labels[y * W + x];
      area[a]++, cx[a] += x, cy[a] += y;
      if (x < box[4 * a]) box[4 * a] = x;
      if (y < box[4 * a + 1]) box[4 * a + 1] = y;
      if (x > box[4 * a + 2]) box[4 * a + 2] = x;
      if (y > box[4 * a + 3]) box[4 * a + 3] = y;
      int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
      for (int d = 0; d < 4; d++) {
        int u = nb[d][0], v = nb[d][1];
        if (u < 0 || u >= W || v < 0 || v >= H) {
          per[a]++;
          continue;
        }
        int b = sp.labels[v * W + u];
        if (b != a) per[a]++;
        if (b > a) bound[a * n + b]++; /* each pair once: from the smaller label's side */
      }
    }
  int n_edges = 0, bad_edges = 0, bad_nodes = 0, sum_area = 0;
  for (int a = 0; a < n; a++)
    for (int b = a + 1; b < n; b++)
      if (bound[a * n + b]) {
        if (n_edges < g.n_edges) {
          sr_sp_edge e = g.edges[n_edges];
          bad_edges += e.a != a || e.b != b || e.boundary != bound[a * n + b];
        }
        n_edges++;
      }
  CHECK(n_edges == g.n_edges, "graph has %d edges, brute force %d", g.n_edges, n_edges);
  for (int k = 0; k < n; k++) {
    sum_area += g.area[k];
    int b[4] = {g.bbox[4 * k], g.bbox[4 * k + 1], g.bbox[4 * k + 2], g.bbox[4 * k + 3]};
    bad_nodes += g.area[k] != area[k] || g.perimeter[k] != per[k] || fabs(g.centroid[2 * k] - cx[k] / area[k]) > 1e-3 ||
                 fabs(g.centroid[2 * k + 1] - cy[k] / area[k]) > 1e-3 || b[0] != box[4 * k] ||
                 b[1] != box[4 * k + 1] || b[2] != box[4 * k + 2] || b[3] != box[4 * k + 3];
  }
  /* Adjacency: sorted, symmetric, and its edge indices name the right edge. */
  int bad_adj = g.adj_start[0] != 0 || g.adj_start[n] != 2 * g.n_edges;
  for (int i = 0; i < n && !bad_adj; i++)
    for (int q = g.adj_start[i]; q < g.adj_start[i + 1]; q++) {
      int j = g.adj[q];
      const sr_sp_edge *e = &g.edges[g.adj_edge[q]];
      if (q > g.adj_start[i] && g.adj[q - 1] >= j) bad_adj = 1;
      if (!((e->a == i && e->b == j) || (e->a == j && e->b == i))) bad_adj = 1;
      int back = 0;
      for (int r = g.adj_start[j]; r < g.adj_start[j + 1]; r++) back += g.adj[r] == i;
      if (back != 1) bad_adj = 1;
    }
  printf("graph of %d superpixels: %d edges (brute force %d), %d edges and %d nodes differ; areas sum %d of %d; "
         "adjacency sorted and symmetric: %s\n",
         n, g.n_edges, n_edges, bad_edges, bad_nodes, sum_area, W * H, bad_adj ? "no" : "yes");
  CHECK(bad_edges == 0, "%d edges differ from the brute-force count", bad_edges);
  CHECK(bad_nodes == 0, "%d superpixels' area/centroid/bbox/perimeter differ", bad_nodes);
  CHECK(sum_area == W * H, "areas sum to %d", sum_area);
  CHECK(!bad_adj, "adjacency not sorted/symmetric/consistent");
  sr_sp_graph_clear(&g);
  /* A map with a label out of range, or an unused label, is an error. */
  sp.labels[5] = n;
  CHECK(sr_sp_graph_build(&sp, &g, &err) == SR_ERR_INVALID, "label out of range accepted");
  sp.labels[5] = sp.labels[4];
  sp.n++;
  CHECK(sr_sp_graph_build(&sp, &g, &err) == SR_ERR_INVALID, "unused label accepted");
  CHECK(g.edges == NULL && g.area == NULL, "graph not cleared on error");
  free(bound), free(area), free(per), free(cx), free(cy), free(box);
  sr_superpixels_clear(&sp);
  sr_image_clear(&im);
}

/* Brute-force references for the quality measures (the header's text). */
static double brute_recall(const int32_t *sp, const uint8_t *t, int W, int H, int void_label, int tol) {
  int total = 0, hit = 0;
  const int dx[4] = {-1, 1, 0, 0}, dy[4] = {0, 0, -1, 1};
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int v = t[y * W + x], is_b = 0;
      if (v == void_label) continue;
      for (int d = 0; d < 4; d++) {
        int u = x + dx[d], w = y + dy[d];
        if (u >= 0 && u < W && w >= 0 && w < H && t[w * W + u] != void_label && t[w * W + u] != v) is_b = 1;
      }
      if (!is_b) continue;
      total++;
      int found = 0;
      for (int v2 = y - tol; v2 <= y + tol && !found; v2++)
        for (int u2 = x - tol; u2 <= x + tol && !found; u2++) {
          if (u2 < 0 || u2 >= W || v2 < 0 || v2 >= H) continue;
          for (int d = 0; d < 4; d++) {
            int u = u2 + dx[d], w = v2 + dy[d];
            if (u >= 0 && u < W && w >= 0 && w < H && sp[w * W + u] != sp[v2 * W + u2]) found = 1;
          }
        }
      hit += found;
    }
  return total ? (double)hit / total : 1;
}

static double brute_use(const int32_t *sp, int n_sp, const uint8_t *t, int W, int H, int void_label) {
  /* Segments by repeated relaxation (slow and simple): each pixel takes the
   * smallest index among equal-label neighbours until nothing changes. */
  int N = W * H, *seg = malloc(N * sizeof(int)), changed = 1, valid = 0;
  for (int i = 0; i < N; i++) seg[i] = t[i] == void_label ? -1 : i;
  while (changed) {
    changed = 0;
    for (int i = 0; i < N; i++) {
      if (seg[i] < 0) continue;
      int x = i % W, y = i / W, nb[4] = {x > 0 ? i - 1 : -1, x < W - 1 ? i + 1 : -1, y > 0 ? i - W : -1,
                                        y < H - 1 ? i + W : -1};
      for (int d = 0; d < 4; d++)
        if (nb[d] >= 0 && t[nb[d]] == t[i] && seg[nb[d]] < seg[i]) seg[i] = seg[nb[d]], changed = 1;
    }
  }
  double err = 0;
  for (int i = 0; i < N; i++) valid += seg[i] >= 0;
  for (int s = 0; s < n_sp; s++)
    for (int g = 0; g < N; g++) {
      int in = 0, size = 0;
      for (int i = 0; i < N; i++)
        if (seg[i] >= 0 && sp[i] == s) size++, in += seg[i] == g;
      if (in) err += in < size - in ? in : size - in;
    }
  free(seg);
  return valid ? err / valid : 0;
}

static void test_quality(void) {
  /* Truth: four rectangles and a void stripe; superpixels = the same regions. */
  enum { W = 40, H = 30 };
  uint8_t t[W * H];
  int32_t lab[W * H];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int v = (x >= 17) + 2 * (y >= 11);
      if (x == 30) v = 255;
      t[y * W + x] = (uint8_t)v;
      lab[y * W + x] = x == 30 ? 4 : x > 30 ? 5 + (v >= 2) : v; /* void column, the part right of it: own ids */
    }
  sr_superpixels sp = {W, H, 7, lab};
  sr_sp_quality q;
  sr_superpixel_quality(&sp, t, 255, 0, &q);
  printf("perfect superpixels: recall %.4f, under-segmentation %.4f\n", q.boundary_recall, q.undersegmentation);
  CHECK(q.boundary_recall == 1.0 && q.undersegmentation == 0.0, "perfect superpixels: recall %g, USE %g",
        q.boundary_recall, q.undersegmentation);

  /* One superpixel over two regions of 3 and 7 columns of 10×10. */
  uint8_t t2[100];
  int32_t one[100] = {0};
  for (int i = 0; i < 100; i++) t2[i] = (uint8_t)(i % 10 >= 3);
  sp = (sr_superpixels){10, 10, 1, one};
  sr_superpixel_quality(&sp, t2, 255, 2, &q);
  printf("one superpixel over regions of 30 and 70 pixels: USE %.4f (expected 2*30/100 = 0.6), recall %.2f\n",
         q.undersegmentation, q.boundary_recall);
  CHECK(fabs(q.undersegmentation - 0.6) < 1e-12, "USE %g, expected 0.6", q.undersegmentation);
  CHECK(q.boundary_recall == 0.0, "recall %g without superpixel boundaries", q.boundary_recall);

  /* The truth border between columns 2|3, the superpixels' between 4|5:
   * ground-truth boundary pixels at columns 2 and 3 are 2 and 1 away. */
  int32_t shifted[100];
  for (int i = 0; i < 100; i++) shifted[i] = i % 10 >= 5;
  sp = (sr_superpixels){10, 10, 2, shifted};
  double want[4] = {0, 0.5, 1, 1};
  for (int tol = 0; tol <= 3; tol++) {
    sr_superpixel_quality(&sp, t2, 255, tol, &q);
    CHECK(fabs(q.boundary_recall - want[tol]) < 1e-12, "tolerance %d: recall %g, expected %g", tol,
          q.boundary_recall, want[tol]);
  }
  printf("border 2 px off: recall at tolerance 0..3 as expected (0, 0.5, 1, 1): %s\n",
         test_failures ? "see failures" : "yes");

  /* Random blocky maps against the brute-force reference. */
  sr_rng r;
  sr_rng_seed(&r, 11);
  double worst = 0;
  for (int trial = 0; trial < 20; trial++) {
    enum { w = 23, h = 17 };
    uint8_t tr[w * h];
    int32_t s[w * h];
    int n_sp = 1 + (int)(sr_rng_uniform(&r) * 12), bs = 2 + trial % 4;
    int *remap = malloc(n_sp * sizeof(int)), k = 0;
    for (int i = 0; i < n_sp; i++) remap[i] = -1;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        int v = (int)(sr_rng_uniform(&r) * 4);
        tr[y * w + x] = (uint8_t)(((x / bs + y / (bs + 1)) % 3 == 0 && v == 0) ? 9 : (x / bs * 3 + y / bs) % 3);
        int raw = (x / (bs + 1) + 2 * (y / (bs + 2)) + (v == 3)) % n_sp;
        if (remap[raw] < 0) remap[raw] = k++;
        s[y * w + x] = remap[raw];
      }
    sr_superpixels m = {w, h, k, s};
    for (int tol = 0; tol <= 2; tol++) {
      sr_superpixel_quality(&m, tr, 9, tol, &q);
      double br = brute_recall(s, tr, w, h, 9, tol);
      worst = fmax(worst, fabs(br - q.boundary_recall));
    }
    worst = fmax(worst, fabs(brute_use(s, k, tr, w, h, 9) - q.undersegmentation));
    free(remap);
  }
  printf("20 random maps (tolerance 0-2) against brute force: max |diff| %.2g\n", worst);
  CHECK(worst < 1e-12, "quality differs from brute force by %g", worst);
}

int main(void) {
  test_lab();
  test_synthetic();
  test_small_and_uniform();
  test_bad_input();
  test_graph();
  test_quality();
  if (test_failures) fprintf(stderr, "%d failure(s)\n", test_failures);
  return test_failures ? 1 : 0;
}
