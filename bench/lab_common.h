/* lab_common.h -- what the lab's benchmarks (lab.c, lab_free_scaling.c, lab_live.c) share: a
 * monotonic clock in seconds, the seeded xorshift generator, and the list of lab policies. They
 * call the hf_arena_* API directly (they link libheapforge), unlike the libc workloads of
 * bench_common.h. */
#ifndef HF_BENCH_LAB_COMMON_H
#define HF_BENCH_LAB_COMMON_H

#include <heapforge.h>
#include <stdint.h>
#include <time.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64; the state must not be 0. */
static inline uint64_t xs(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const hf_policy policies[] = {HF_POLICY_FIRST_FIT, HF_POLICY_NEXT_FIT,   HF_POLICY_BEST_FIT,
                                     HF_POLICY_WORST_FIT, HF_POLICY_SEGREGATED, HF_POLICY_BUDDY,
                                     HF_POLICY_TLSF};

#endif
