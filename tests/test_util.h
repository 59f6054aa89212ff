/* test_util.h -- assertions and small helpers shared by the heapforge API and stress tests. */
#ifndef HF_TEST_UTIL_H
#define HF_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Failed checks print file:line and the expression, then abort (so CTest sees a failure). */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_OP(a, op, b)                                                                         \
    do {                                                                                           \
        unsigned long long hf_a_ = (unsigned long long)(a), hf_b_ = (unsigned long long)(b);       \
        if (!(hf_a_ op hf_b_)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s %s %s (%llu vs %llu, 0x%llx vs 0x%llx)\n",    \
                    __FILE__, __LINE__, #a, #op, #b, hf_a_, hf_b_, hf_a_, hf_b_);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)
#define CHECK_EQ(a, b)      CHECK_OP(a, ==, b)
#define CHECK_NE(a, b)      CHECK_OP(a, !=, b)
#define CHECK_LE(a, b)      CHECK_OP(a, <=, b)
#define CHECK_GE(a, b)      CHECK_OP(a, >=, b)
#define CHECK_ALIGNED(p, a) CHECK_EQ((uintptr_t)(p) % (uintptr_t)(a), 0)

/* Field `field` of /proc/self/statm in bytes: 0 is the total mapped size, 1 the resident set. */
static inline size_t test_statm_bytes(unsigned field) {
    unsigned long v[2] = {0, 0};
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%lu %lu", &v[0], &v[1]) == 2);
    fclose(f);
    return (size_t)v[field & 1] * (size_t)sysconf(_SC_PAGESIZE);
}
static inline size_t test_rss_bytes(void) {
    return test_statm_bytes(1);
}

/* xorshift64* generator; the state must not be 0. */
static inline uint64_t test_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static inline size_t test_rand_range(uint64_t *state, size_t lo, size_t hi) { /* [lo, hi] */
    return lo + (size_t)(test_rand(state) % (uint64_t)(hi - lo + 1));
}

/* The pattern of a block tagged with seed: 64-bit word w (bytes 8w..8w+7) is test_pattern_word.
 * (__builtin_memcpy: the tests are built with -fno-builtin, and these must stay single moves.) */
static inline uint64_t test_pattern_word(uint64_t seed, size_t w) {
    uint64_t x = (seed ^ 0x9E3779B97F4A7C15ULL) + (uint64_t)w * 0xBF58476D1CE4E5B9ULL;
    return x ^ (x >> 31);
}
static inline void test_fill(void *p, size_t n, uint64_t seed) {
    uint8_t *b = (uint8_t *)p;
    size_t w = 0;
    for (; (w + 1) * 8 <= n; w++) {
        uint64_t v = test_pattern_word(seed, w);
        __builtin_memcpy(b + w * 8, &v, 8);
    }
    if (w * 8 < n) {
        uint64_t v = test_pattern_word(seed, w);
        __builtin_memcpy(b + w * 8, &v, n - w * 8);
    }
}
/* Returns the offset of the first wrong 8-byte word (or tail), or (size_t)-1 if all n bytes match.
 */
static inline size_t test_verify(const void *p, size_t n, uint64_t seed) {
    const uint8_t *b = (const uint8_t *)p;
    size_t w = 0;
    for (; (w + 1) * 8 <= n; w++) {
        uint64_t v = test_pattern_word(seed, w), got;
        __builtin_memcpy(&got, b + w * 8, 8);
        if (got != v) return w * 8;
    }
    if (w * 8 < n) {
        uint64_t v = test_pattern_word(seed, w);
        if (__builtin_memcmp(b + w * 8, &v, n - w * 8) != 0) return w * 8;
    }
    return (size_t)-1;
}
#define CHECK_PATTERN(p, n, seed) CHECK_EQ(test_verify((p), (n), (seed)), (size_t)-1)

/* Iteration scale: argv[1] if given, else $HF_TEST_SCALE, else 1.0. */
static inline double test_scale(int argc, char **argv) {
    const char *s = argc > 1 ? argv[1] : getenv("HF_TEST_SCALE");
    double v = s ? strtod(s, NULL) : 1.0;
    return v > 0 ? v : 1.0;
}
static inline size_t test_scaled(size_t n, double scale) {
    size_t r = (size_t)((double)n * scale);
    return r ? r : 1;
}

#endif /* HF_TEST_UTIL_H */
