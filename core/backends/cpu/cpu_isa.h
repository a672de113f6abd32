/* cpu_isa.h: the one place that decides which instruction-set variant of
 * the hand-tuned loops runs: the CPU backend's GEMM micro-kernels
 * (gemm.c) and Winograd transforms, SLIC's k-means and the unary
 * classifier's filter bank and textons. Three levels:
 *   avx512  AVX-512F+BW+VL with FMA (the GEMM kernels and the Winograd
 *           transforms have a variant of their own),
 *   avx2    AVX2 with FMA,
 *   generic baseline x86-64 (or any architecture): portable C.
 * The pick is the best the CPU has, or the one SEGRANK_CPU_ISA names
 * (avx512 | avx2 | generic); naming one the CPU or build lacks is an error.
 * The pick is ours, in plain code, rather than GCC's target_clones, whose
 * ifunc resolvers run before ThreadSanitizer is initialised and crash TSan
 * builds.
 *
 * Loops built in two variants only (SR_TARGET_AVX2: SLIC, the unary
 * features, the overlay) are computed without FMA, bit-identically to
 * their generic variant, and run their AVX2 one at any level >= avx2. The
 * Winograd transforms only add, subtract and halve: the same bits at every
 * level. The GEMM kernels use FMA, so the CPU backend's convolutions
 * differ between levels within float32 rounding.
 *
 * SEGRANK_CPU_ISA_CAP=avx2|generic makes the levels above it count as
 * missing, as on a CPU without them (tests of the refusal; measurements).
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

typedef enum { SR_CPU_ISA_GENERIC, SR_CPU_ISA_AVX2, SR_CPU_ISA_AVX512 } sr_cpu_isa;
#define SR_CPU_ISA_COUNT 3

/* SR_TARGET_AVX2 compiles a function for AVX2 without FMA (bit-identical
 * to generic); SR_TARGET_AVX2_FMA and SR_TARGET_AVX512 for the GEMM
 * kernels' levels. x86-64 with GCC only; elsewhere only the generic
 * variant exists and SR_HAVE_AVX2_VARIANTS is 0. A body shared by several
 * variants is SR_ALWAYS_INLINE, so that it is compiled into each with that
 * variant's instruction set. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SR_HAVE_AVX2_VARIANTS 1
#define SR_TARGET_AVX2 __attribute__((target("avx2")))
#define SR_TARGET_AVX2_FMA __attribute__((target("avx2,fma")))
#define SR_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,prefer-vector-width=512")))
#else
#define SR_HAVE_AVX2_VARIANTS 0
#define SR_TARGET_AVX2
#define SR_TARGET_AVX2_FMA
#define SR_TARGET_AVX512
#endif
#define SR_HAVE_AVX512_VARIANTS SR_HAVE_AVX2_VARIANTS
#define SR_ALWAYS_INLINE inline __attribute__((always_inline))

static inline const char *sr__cpu_isa_name(sr_cpu_isa isa) {
  return isa == SR_CPU_ISA_AVX512 ? "avx512" : isa == SR_CPU_ISA_AVX2 ? "avx2" : "generic";
}

/* Whether this CPU (and its OS: libgcc checks XGETBV) runs level @isa,
 * and SEGRANK_CPU_ISA_CAP allows it. */
static inline int sr__cpu_isa_supported(sr_cpu_isa isa) {
  if (isa == SR_CPU_ISA_GENERIC) return 1;
  const char *cap = getenv("SEGRANK_CPU_ISA_CAP");
  if (cap && (!strcmp(cap, "generic") || (!strcmp(cap, "avx2") && isa > SR_CPU_ISA_AVX2))) return 0;
#if SR_HAVE_AVX2_VARIANTS
  __builtin_cpu_init();
  int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == SR_CPU_ISA_AVX2) return avx2;
  if (isa == SR_CPU_ISA_AVX512)
    return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
#endif
  return 0;
}

/* The best level this CPU runs. */
static inline sr_cpu_isa sr__cpu_isa_detect(void) {
  if (sr__cpu_isa_supported(SR_CPU_ISA_AVX512)) return SR_CPU_ISA_AVX512;
  if (sr__cpu_isa_supported(SR_CPU_ISA_AVX2)) return SR_CPU_ISA_AVX2;
  return SR_CPU_ISA_GENERIC;
}

/* The level to run: SEGRANK_CPU_ISA's when set (non-empty), else the best
 * the CPU has. SR_ERR_UNSUPPORTED (with @err; *isa = generic) when the
 * variable names an unknown level or one this CPU or build lacks. */
static inline sr_status sr__cpu_isa_pick(sr_cpu_isa *isa, sr_error *err) {
  const char *want = getenv("SEGRANK_CPU_ISA");
  *isa = sr__cpu_isa_detect();
  if (!want || !*want) return SR_OK;
  static const char *const what[SR_CPU_ISA_COUNT] = {"", "AVX2 with FMA", "AVX-512 (F, BW and VL) with FMA"};
  for (int i = 0; i < SR_CPU_ISA_COUNT; i++) {
    if (strcmp(want, sr__cpu_isa_name((sr_cpu_isa)i))) continue;
    if (sr__cpu_isa_supported((sr_cpu_isa)i)) {
      *isa = (sr_cpu_isa)i;
      return SR_OK;
    }
    *isa = SR_CPU_ISA_GENERIC;
    if (!SR_HAVE_AVX2_VARIANTS)
      return sr_error_set(err, SR_ERR_UNSUPPORTED, "SEGRANK_CPU_ISA=%s: not built for this architecture", want);
    return sr_error_set(err, SR_ERR_UNSUPPORTED, "SEGRANK_CPU_ISA=%s: this CPU has no %s (it runs %s)", want, what[i],
                        sr__cpu_isa_name(sr__cpu_isa_detect()));
  }
  *isa = SR_CPU_ISA_GENERIC;
  return sr_error_set(err, SR_ERR_UNSUPPORTED, "SEGRANK_CPU_ISA=%s: unknown (avx512, avx2 or generic)", want);
}

/* The name the two-variant loops' callers use (they test isa >= avx2). */
static inline sr_status sr__cpu_isa_select(sr_cpu_isa *isa, sr_error *err) { return sr__cpu_isa_pick(isa, err); }

/* sr__cpu_isa_pick picked on first use (per file that calls it), for
 * code with no error path; generic when the override is bad. Threads that
 * race on the first use compute the same value. */
static inline sr_cpu_isa sr__cpu_isa(void) {
  static atomic_int picked = -1;
  int v = atomic_load_explicit(&picked, memory_order_relaxed);
  if (v < 0) {
    sr_cpu_isa isa;
    if (sr__cpu_isa_pick(&isa, NULL) != SR_OK) isa = SR_CPU_ISA_GENERIC;
    atomic_store_explicit(&picked, (int)isa, memory_order_relaxed);
    v = (int)isa;
  }
  return (sr_cpu_isa)v;
}

#endif
