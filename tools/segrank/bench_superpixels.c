/* bench_superpixels.c: placeholder until written. */
#include "cli.h"
int bench_superpixels(const char *camvid_dir, const char *split, int n_superpixels, int threads, int max_images) { (void)camvid_dir, (void)split, (void)n_superpixels, (void)threads, (void)max_images; return 1; }
