/* bench_proposals.c: placeholder until written. */
#include "cli.h"
int bench_proposals(const char *unary_model, const char *image, int num_solutions, int threads, int runs) { (void)unary_model, (void)image, (void)num_solutions, (void)threads, (void)runs; return 1; }
