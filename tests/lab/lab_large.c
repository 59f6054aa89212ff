/* lab_large: the lab never refuses what the machine can give, for every policy, on an arena of
 * its own and through its entry point (the policy's process-wide arena, freed with free()):
 *   - blocks of 1 MiB to 2 GiB (sizes of 1 GiB and more are skipped, with a note, when the
 *     kernel refuses the mapping), written at both ends and every MiB, checked, freed;
 *   - realloc doubling from 16 bytes to 256 MiB, the contents checked after every step;
 *   - calloc of big arrays (fresh, and over dirty memory freed just before) reading zero;
 *   - heaps of more than 256 regions: 1 GiB (buddy; 320 MiB for the others) of 60 KiB blocks
 *     with the default 1 MiB growth step, and 32 MiB of 152-byte blocks with the replay's 64 KiB
 *     step (a python3 trace's failing size); no two blocks overlap, hf_arena_check passes before
 *     and after everything is freed;
 *   - a child process run with HEAPFORGE_POLICY=<policy> whose plain malloc serves 4 MiB,
 *     64 MiB and 1 GiB blocks, and malloc(SIZE_MAX) failing with ENOMEM.
 * Pages are touched sparsely, so the test stays fast and its resident memory small. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab_util.h"

#define MIB        ((size_t)1 << 20)
#define STRIDE     ((size_t)64 << 10) /* sparse touch: one word per 64 KiB (realloc, calloc) */
#define BIG_STRIDE MIB                /* and per MiB (big blocks) */

typedef void *(*entry_fn)(size_t);
static const entry_fn entries[] = {hf_malloc_first_fit, hf_malloc_next_fit,   hf_malloc_best_fit,
                                   hf_malloc_worst_fit, hf_malloc_segregated, hf_malloc_buddy,
                                   hf_malloc_tlsf};
_Static_assert(sizeof entries / sizeof entries[0] == NPOL, "one entry point per policy");

/* An allocator under test: an arena of the test's own, or a policy's entry point. */
typedef struct target {
    hf_arena *arena; /* its blocks go back through hf_arena_free/realloc */
    entry_fn entry;  /* else: entry point, libc free/realloc */
    hf_policy pol;
} target;

static void *t_malloc(const target *t, size_t n) {
    return t->arena ? hf_arena_malloc(t->arena, n) : t->entry(n);
}
static void t_free(const target *t, void *p) {
    if (t->arena)
        hf_arena_free(t->arena, p);
    else
        LIBC_FREE(p);
}
static void *t_realloc(const target *t, void *p, size_t n) {
    return t->arena ? hf_arena_realloc(t->arena, p, n) : LIBC_REALLOC(p, n);
}
/* calloc: the entry points have no calloc of their own; their arena is hf_arena_default. */
static void *t_calloc(const target *t, size_t count, size_t size) {
    hf_arena *a = t->arena ? t->arena : hf_arena_default(t->pol);
    CHECK(a != NULL);
    return hf_arena_calloc(a, count, size);
}
static hf_arena *t_arena(const target *t) {
    return t->arena ? t->arena : hf_arena_default(t->pol);
}

static uint64_t word_at(uint64_t seed, size_t off) {
    return test_pattern_word(seed, off / 8);
}
/* Writes a pattern word at offset `from`, every `stride` bytes after it and at the last word of
 * [p, p + n). */
__attribute__((noinline)) /* GCC misjudges the object size in child_main once inlined */
static void
touch_every(void *p, size_t n, size_t from, uint64_t seed, size_t stride) {
    uint8_t *b = p;
    for (size_t off = from; off + 8 <= n; off += stride) {
        uint64_t v = word_at(seed, off);
        memcpy(b + off, &v, 8);
    }
    uint64_t v = word_at(seed, n - 8);
    memcpy(b + n - 8, &v, 8);
}
static void touch(void *p, size_t n, size_t from, uint64_t seed) {
    touch_every(p, n, from, seed, STRIDE);
}
/* The words touch_every(p, n, 0, seed, stride) wrote are there (the last one only when `last`). */
static void check_every(const void *p, size_t n, uint64_t seed, int last, size_t stride) {
    const uint8_t *b = p;
    for (size_t off = 0; off + 8 <= n; off += stride) {
        uint64_t v;
        memcpy(&v, b + off, 8);
        CHECK_EQ(v, word_at(seed, off));
    }
    if (last) {
        uint64_t v;
        memcpy(&v, b + n - 8, 8);
        CHECK_EQ(v, word_at(seed, n - 8));
    }
}
static void check_touched(const void *p, size_t n, uint64_t seed, int last) {
    check_every(p, n, seed, last, STRIDE);
}
static void check_zero_sparse(const void *p, size_t n) {
    const uint8_t *b = p;
    size_t head = n < 2 * STRIDE ? n : 2 * STRIDE; /* the first 128 KiB and the last 4 KiB whole */
    for (size_t i = 0; i < head; i++) CHECK_EQ(b[i], 0);
    for (size_t i = n > 4096 ? n - 4096 : 0; i < n; i++) CHECK_EQ(b[i], 0);
    for (size_t off = 0; off < n; off += STRIDE) CHECK_EQ(b[off + STRIDE / 2 - 1], 0);
}

/* ---- big blocks ------------------------------------------------------------------------- */
static void test_big_blocks(const target *t) {
    for (size_t n = MIB; n <= ((size_t)2 << 30); n *= 2) {
        errno = 0;
        uint8_t *p = t_malloc(t, n);
        if (p == NULL && n >= ((size_t)1 << 30)) { /* the machine may not map this much */
            CHECK_EQ(errno, ENOMEM);
            fprintf(stderr, "lab_large: %s: %zu MiB not mappable here, skipped\n",
                    hf_policy_name(t->pol), n / MIB);
            continue;
        }
        if (p == NULL)
            fprintf(stderr, "lab_large: %s: malloc(%zu MiB) failed\n", hf_policy_name(t->pol),
                    n / MIB);
        CHECK(p != NULL);
        CHECK_ALIGNED(p, 16);
        CHECK_GE(hf_arena_usable_size(t_arena(t), p), n);
        /* a small block next to it must not overlap it */
        uint8_t *s = t_malloc(t, 100);
        CHECK(s != NULL);
        CHECK(s + 100 <= p || s >= p + n);
        memset(s, 0x77, 100);
        touch_every(p, n, 0, n, BIG_STRIDE);
        check_every(p, n, n, 1, BIG_STRIDE);
        for (int i = 0; i < 100; i++) CHECK_EQ(s[i], 0x77);
        t_free(t, p);
        t_free(t, s);
    }
    check_arena(t_arena(t), "big blocks");
}

/* ---- realloc doubling --------------------------------------------------------------------- */
static void test_realloc_doubling(const target *t) {
    size_t n = 16;
    uint8_t *p = t_malloc(t, n);
    CHECK(p != NULL);
    test_fill(p, n, 42);
    while (n < 256 * MIB) {
        size_t m = n * 2;
        uint8_t *q = t_realloc(t, p, m);
        if (q == NULL)
            fprintf(stderr, "lab_large: %s: realloc to %zu failed\n", hf_policy_name(t->pol), m);
        CHECK(q != NULL);
        CHECK_GE(hf_arena_usable_size(t_arena(t), q), m);
        /* the old contents: whole up to 64 KiB, then the sparse words written at each step */
        if (n <= STRIDE)
            CHECK_PATTERN(q, n, 42);
        else
            check_touched(q, n, 42, 0);
        if (m <= STRIDE)
            test_fill(q, m, 42);
        else
            touch(q, m, n, 42); /* the new half; the old half keeps its words */
        p = q, n = m;
    }
    check_touched(p, n, 42, 0);
    p = t_realloc(t, p, 1000); /* and back down: the first bytes survive */
    CHECK(p != NULL);
    uint64_t v;
    memcpy(&v, p, 8);
    CHECK_EQ(v, word_at(42, 0));
    t_free(t, p);
    check_arena(t_arena(t), "realloc doubling");
}

/* ---- calloc ------------------------------------------------------------------------------- */
static void test_calloc(const target *t) {
    static const size_t sizes[] = {MIB, 8 * MIB, 64 * MIB, 256 * MIB};
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        uint8_t *p = t_calloc(t, n / 8, 8); /* an array of n / 8 words */
        CHECK(p != NULL);
        check_zero_sparse(p, n);
        memset(p, 0xAB, 2 * STRIDE); /* dirty it, then free and ask again */
        touch(p, n, 0, 7);
        t_free(t, p);
        p = t_calloc(t, n / 8, 8);
        CHECK(p != NULL);
        check_zero_sparse(p, n);
        t_free(t, p);
    }
    errno = 0;
    CHECK(t_calloc(t, SIZE_MAX / 2, 4) == NULL); /* overflow */
    CHECK_EQ(errno, ENOMEM);
    check_arena(t_arena(t), "calloc");
}

/* ---- many regions ------------------------------------------------------------------------- */
typedef struct span {
    uintptr_t lo, hi;
} span;
static int span_cmp(const void *a, const void *b) {
    uintptr_t x = ((const span *)a)->lo, y = ((const span *)b)->lo;
    return x < y ? -1 : x > y;
}

/* Fills an arena (config cfg) with blocks of n bytes until `total` bytes are out; checks that
 * the arena took more than 256 growth steps' worth, that no two blocks overlap, and that the
 * arena checks out before and after everything is freed. */
static void test_many_regions(hf_policy pol, const hf_arena_config *cfg, size_t n, size_t total) {
    hf_arena *a = hf_arena_create(pol, cfg);
    CHECK(a != NULL);
    size_t count = total / n;
    void **blocks = malloc(count * sizeof *blocks);
    span *sp = malloc(count * sizeof *sp);
    CHECK(blocks != NULL && sp != NULL);
    for (size_t i = 0; i < count; i++) {
        blocks[i] = hf_arena_malloc(a, n);
        if (blocks[i] == NULL)
            fprintf(stderr, "lab_large: %s: block %zu of %zu (%zu bytes) failed\n",
                    hf_policy_name(pol), i, count, n);
        CHECK(blocks[i] != NULL);
        memcpy(blocks[i], &i, sizeof i);
        size_t u = hf_arena_usable_size(a, blocks[i]);
        CHECK_GE(u, n);
        sp[i] = (span){(uintptr_t)blocks[i], (uintptr_t)blocks[i] + u};
    }
    check_arena(a, "filling many regions");
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    size_t step = cfg->growth_step ? cfg->growth_step : MIB;
    CHECK_GE(st.footprint / step, 257);
    CHECK_EQ(st.used_blocks, count);
    qsort(sp, count, sizeof *sp, span_cmp);
    for (size_t i = 1; i < count; i++) CHECK_LE(sp[i - 1].hi, sp[i].lo);
    for (size_t i = 0; i < count; i++) {
        size_t v;
        memcpy(&v, blocks[i], sizeof v);
        CHECK_EQ(v, i);
    }
    for (size_t i = 0; i < count; i += 2) hf_arena_free(a, blocks[i]); /* every other one */
    check_arena(a, "freeing half");
    for (size_t i = 1; i < count; i += 2) hf_arena_free(a, blocks[i]);
    check_arena(a, "freeing all");
    hf_arena_stats(a, &st);
    CHECK_EQ(st.used_blocks, 0);
    CHECK_EQ(st.live_bytes, 0);
    free(blocks);
    free(sp);
    hf_arena_destroy(a);
}

/* ---- HEAPFORGE_POLICY: a program's plain malloc -------------------------------------------- */
#if HF_TEST_LIBC_NAMES
static int child_main(void) {
    static const size_t sizes[] = {4 * MIB, 64 * MIB, (size_t)1 << 30};
    for (unsigned i = 0; i < 3; i++) {
        uint8_t *p = malloc(sizes[i]);
        CHECK(p != NULL);
        touch(p, sizes[i], 0, i);
        uint8_t *q = realloc(p, sizes[i] + MIB);
        CHECK(q != NULL);
        check_touched(q, sizes[i], i, 1);
        free(q);
    }
    errno = 0;
    volatile size_t huge = SIZE_MAX; /* hidden from the compiler's object-size check */
    CHECK(malloc(huge) == NULL);
    CHECK_EQ(errno, ENOMEM);
    return 0;
}

static void test_process_policy(hf_policy pol) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        setenv("HEAPFORGE_POLICY", hf_policy_name(pol), 1);
        execl("/proc/self/exe", "lab_large", "child", (char *)NULL);
        _exit(127);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "lab_large: HEAPFORGE_POLICY=%s child: status 0x%x\n", hf_policy_name(pol),
                status);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#endif

int main(int argc, char **argv) {
#if HF_TEST_LIBC_NAMES
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child_main();
#else
    (void)argc, (void)argv;
#endif
    for (unsigned i = 0; i < NPOL; i++) {
        hf_arena_config cfg = {.seed = 11};
        target own = {hf_arena_create(lab_policies[i], &cfg), NULL, lab_policies[i]};
        CHECK(own.arena != NULL);
        target entry = {NULL, entries[i], lab_policies[i]};
        const target *ts[2] = {&own, &entry};
        for (unsigned k = 0; k < 2; k++) {
            test_big_blocks(ts[k]);
            test_realloc_doubling(ts[k]);
            test_calloc(ts[k]);
        }
        hf_arena_destroy(own.arena);

        /* 1 GiB under buddy (the heap it used to refuse), 320 MiB under the others */
        hf_arena_config dflt = {.seed = 5};
        size_t total = lab_policies[i] == HF_POLICY_BUDDY ? (size_t)1 << 30 : 320 * MIB;
        test_many_regions(lab_policies[i], &dflt, 60 << 10, total);
        hf_arena_config replay = {.initial_size = 64 << 10, .growth_step = 64 << 10, .seed = 5};
        test_many_regions(lab_policies[i], &replay, 152, 32 * MIB);
#if HF_TEST_LIBC_NAMES
        test_process_policy(lab_policies[i]);
#endif
        printf("lab_large: %s passed\n", hf_policy_name(lab_policies[i]));
    }
    return 0;
}
