/* bench_common.h -- shared helpers of the heapforge workload programs.
 *
 * Every workload uses only the plain libc allocation API, so that LD_PRELOAD decides which
 * allocator serves it. Randomness comes from a seeded xorshift generator, so a run does the same
 * work under every allocator; the printed checksum depends only on block contents, never on
 * addresses, and must be identical whatever allocator ran the program.
 */
#ifndef HF_BENCH_COMMON_H
#define HF_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* xorshift64: tiny and good enough to pick sizes and slots. The state must not be 0. */
static inline uint64_t xs_next(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* A value in [lo, hi]. */
static inline size_t xs_range(uint64_t *state, size_t lo, size_t hi) {
    return lo + (size_t)(xs_next(state) % (uint64_t)(hi - lo + 1));
}

/* Derive a non-zero seed from a base and an index (splitmix64 finaliser). */
static inline uint64_t xs_seed(uint64_t base, uint64_t index) {
    uint64_t z = base + 0x9E3779B97F4A7C15ull * (index + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z ? z : 0x2545F4914F6CDD1Dull;
}

/* The monotonic clock in seconds (threaded workloads report their own throughput). */
static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Make the compiler believe p escapes, so a malloc/free pair cannot be elided. */
static inline void bench_escape(void *p) {
    __asm__ volatile("" : : "g"(p) : "memory");
}

/* The optional first argument: a positive scale factor for the amount of work (default 1). */
static inline double bench_scale(int argc, char **argv) {
    if (argc < 2) return 1.0;
    char *end = NULL;
    double s = strtod(argv[1], &end);
    if (end == argv[1] || *end != '\0' || !(s > 0.0) || s > 1000.0) {
        fprintf(stderr, "usage: %s [scale]   (scale: a positive number, default 1)\n", argv[0]);
        exit(2);
    }
    return s;
}

/* The optional second argument of the threaded workloads: a thread count in [1, 256]. */
static inline int bench_threads(int argc, char **argv, int dflt) {
    if (argc < 3) return dflt;
    char *end = NULL;
    long t = strtol(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0' || t < 1 || t > 256) {
        fprintf(stderr, "usage: %s [scale [threads]]   (threads: 1-256, default %d)\n", argv[0],
                dflt);
        exit(2);
    }
    return (int)t;
}

/* An iteration count scaled by s, at least 1. */
static inline long bench_count(double base, double s) {
    double v = base * s;
    return v < 1.0 ? 1 : (long)v;
}

static inline void *bench_malloc(size_t n) {
    void *p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, "malloc(%zu) failed\n", n);
        exit(3);
    }
    return p;
}

/* Fold a value into a running checksum (order-sensitive). */
static inline uint64_t mix(uint64_t sum, uint64_t v) {
    sum ^= v + 0x9E3779B97F4A7C15ull + (sum << 6) + (sum >> 2);
    return sum;
}

/* Stop with a message when a block's contents were damaged. */
#define BENCH_CHECK(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "corruption: " __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                                   \
            exit(4);                                                                               \
        }                                                                                          \
    } while (0)

#endif /* HF_BENCH_COMMON_H */
