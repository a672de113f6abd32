/* cpu_isa.h: the one place that decides which instruction-set variant of
 * the hand-tuned loops runs: the CPU backend's Winograd transforms, SLIC's
 * k-means and the unary classifier's filter bank and textons. Each such
 * loop is compiled twice, once with SR_TARGET_AVX2 and once for the
 * baseline x86-64, and its caller picks one with the ISA chosen here: the
 * best the CPU has, or the one SEGRANK_CPU_ISA names (avx2 | generic). The
 * pick is ours, in plain code, rather than GCC's target_clones, whose ifunc
 * resolvers run before ThreadSanitizer is initialised and crash TSan
 * builds. Without the AVX2 variant is computed exactly as the generic one
 * (no FMA): the results are bit-identical. A later issue adds AVX-512.
 *
 * Header-only (static inline): the CPU backend picks at its creation and
 * fails there on a bad SEGRANK_CPU_ISA; SLIC picks per call (it has an
 * error path too); the unary features, which have none, once per process
 * (sr__cpu_isa, on first use), falling back to generic on a bad override. */
#ifndef SR_CPU_ISA_H
#define SR_CPU_ISA_H

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../../status.h"

typedef enum { SR_CPU_ISA_GENERIC, SR_CPU_ISA_AVX2 } sr_cpu_isa;

/* SR_TARGET_AVX2 compiles a function for AVX2 (x86-64 with GCC; elsewhere
 * only the generic variant exists and SR_HAVE_AVX2_VARIANTS is 0). A body
 * shared by both variants is SR_ALWAYS_INLINE, so that it is compiled into
 * each with that variant's instruction set. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SR_HAVE_AVX2_VARIANTS 1
#define SR_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define SR_HAVE_AVX2_VARIANTS 0
#define SR_TARGET_AVX2
#endif
#define SR_ALWAYS_INLINE inline __attribute__((always_inline))

static inline const char *sr__cpu_isa_name(sr_cpu_isa isa) { return isa == SR_CPU_ISA_AVX2 ? "avx2" : "generic"; }

/* The best variant this CPU runs. */
static inline sr_cpu_isa sr__cpu_isa_detect(void) {
#if SR_HAVE_AVX2_VARIANTS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return SR_CPU_ISA_AVX2;
#endif
  return SR_CPU_ISA_GENERIC;
}

/* The variant to run: SEGRANK_CPU_ISA's when set (non-empty), else the
 * best the CPU has. SR_ERR_UNSUPPORTED (with @err) when the variable names
 * an unknown ISA or one this CPU or build lacks. */
static inline sr_status sr__cpu_isa_select(sr_cpu_isa *isa, sr_error *err) {
  const char *want = getenv("SEGRANK_CPU_ISA");
  sr_cpu_isa best = sr__cpu_isa_detect();
  *isa = best;
  if (!want || !*want) return SR_OK;
  if (!strcmp(want, "generic")) {
    *isa = SR_CPU_ISA_GENERIC;
    return SR_OK;
  }
  if (!strcmp(want, "avx2")) {
    if (best == SR_CPU_ISA_AVX2) return SR_OK;
    *isa = SR_CPU_ISA_GENERIC;
    return sr_error_set(err, SR_ERR_UNSUPPORTED, "SEGRANK_CPU_ISA=avx2: %s",
                        SR_HAVE_AVX2_VARIANTS ? "this CPU has no AVX2" : "not built for this architecture");
  }
  *isa = SR_CPU_ISA_GENERIC;
  return sr_error_set(err, SR_ERR_UNSUPPORTED, "SEGRANK_CPU_ISA=%s: unknown (avx2 or generic)", want);
}

/* sr__cpu_isa_select picked on first use (per file that calls it), for
 * code with no error path; generic when the override is bad. Threads that
 * race on the first use compute the same value. */
static inline sr_cpu_isa sr__cpu_isa(void) {
  static atomic_int picked = -1;
  int v = atomic_load_explicit(&picked, memory_order_relaxed);
  if (v < 0) {
    sr_cpu_isa isa;
    if (sr__cpu_isa_select(&isa, NULL) != SR_OK) isa = SR_CPU_ISA_GENERIC;
    atomic_store_explicit(&picked, (int)isa, memory_order_relaxed);
    v = (int)isa;
  }
  return (sr_cpu_isa)v;
}

#endif
