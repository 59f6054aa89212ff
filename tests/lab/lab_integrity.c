/* lab_integrity: block integrity of every lab policy, one child per misuse. Each child must die
 * of SIGABRT after printing exactly `heapforge: <error> of 0x...`: a double free (plain, after the
 * block merged with its left or its right neighbour, through libc's free, of an aligned block,
 * and after random frees that move tower records and merge blocks), a free or realloc of a
 * pointer into a live block's middle, a realloc of a freed block, a free after an overflow wrote
 * over the block's header, and a free next to a free neighbour whose footer (or, for the buddy
 * system, whose header) was overwritten. Per-arena secrets: a header copied from one arena does
 * not check out in another. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "test_death.h"
#include "lab_util.h"

static int passed;

typedef struct misuse {
    hf_policy pol;
    uint64_t seed;
} misuse;

static hf_arena *arena_for(const misuse *m) {
    hf_arena_config cfg = {.seed = 7};
    hf_arena *a = hf_arena_create(m->pol, &cfg);
    CHECK(a != NULL);
    return a;
}

static void m_double_free(void *arg) {
    hf_arena *a = arena_for(arg);
    void *keep = hf_arena_malloc(a, 10), *p = hf_arena_malloc(a, 100);
    void *keep2 = hf_arena_malloc(a, 10);
    (void)keep, (void)keep2;
    hf_arena_free(a, p);
    check_arena(a, "free");
    hf_arena_free(a, p);
}

static void m_double_free_left(void *arg) { /* b merges into the free block before it */
    hf_arena *a = arena_for(arg);
    void *x = hf_arena_malloc(a, 100), *y = hf_arena_malloc(a, 100);
    void *z = hf_arena_malloc(a, 100);
    (void)z;
    hf_arena_free(a, x);
    hf_arena_free(a, y);
    hf_arena_free(a, y);
}

static void m_double_free_right(void *arg) { /* z's tag ends up inside the merged y */
    hf_arena *a = arena_for(arg);
    void *x = hf_arena_malloc(a, 100), *y = hf_arena_malloc(a, 100);
    void *z = hf_arena_malloc(a, 100), *w = hf_arena_malloc(a, 100);
    (void)x, (void)w;
    hf_arena_free(a, z);
    hf_arena_free(a, y);
    hf_arena_free(a, z);
}

static void m_double_free_libc(void *arg) {
    hf_arena *a = arena_for(arg);
    void *p = hf_arena_malloc(a, 200);
    LIBC_FREE(p);
    LIBC_FREE(p);
}

/* Every alignment and offset: among them the buddy block whose alias header sits where the
 * free block's list links go. */
static void m_double_free_aligned(void *arg) {
    hf_arena *a = arena_for(arg);
    void *p[64];
    int n = 0;
    for (size_t al = 32; al <= 512; al *= 2)
        for (int pad = 0; pad < 4; pad++) {
            CHECK(hf_arena_malloc(a, 16 + 48 * (size_t)pad) != NULL);
            p[n] = hf_arena_memalign(a, al, 40);
            CHECK(p[n] != NULL);
            CHECK_ALIGNED(p[n], al);
            n++;
        }
    for (int i = 0; i < n; i++) hf_arena_free(a, p[i]);
    check_arena(a, "aligned frees");
    hf_arena_free(a, p[((misuse *)arg)->seed % (uint64_t)n]);
}

/* Random blocks freed in random order (tower records lent and brought home, merges both ways),
 * then one of them freed again: preferably one whose size word became a list link after its
 * free (towers moved home over it), which the shared counter records so main() can see the case was
 * hit. */
static volatile unsigned *g_overwritten; /* shared with the parent */

static void m_double_free_random(void *arg) {
    const misuse *m = arg;
    hf_arena *a = arena_for(m);
    enum { N = 600 };
    static unsigned char *p[N], hdr[N][16];
    uint64_t rng = m->seed * 0x9E3779B97F4A7C15ULL + 1;
    for (int i = 0; i < N; i++) {
        size_t n = test_rand_range(&rng, 1, 300);
        p[i] = test_rand_range(&rng, 0, 4) == 0
                   ? hf_arena_memalign(a, (size_t)32 << test_rand_range(&rng, 0, 3), n)
                   : hf_arena_malloc(a, n);
        CHECK(p[i] != NULL);
    }
    size_t nfree = N / 2 + (size_t)(m->seed % 3) * (N / 4); /* half, three quarters, all */
    if (nfree > N) nfree = N;
    for (size_t i = 0; i < nfree; i++) { /* a random prefix of a random permutation */
        size_t j = test_rand_range(&rng, i, N - 1);
        unsigned char *t = p[i];
        p[i] = p[j];
        p[j] = t;
        hf_arena_free(a, p[i]);
        memcpy(hdr[i], p[i] - 16, 16);
    }
    check_arena(a, "random frees");
    size_t victim = test_rand_range(&rng, 0, nfree - 1);
    for (size_t i = 0; i < nfree; i++) {
        uint64_t sf; /* a size word turned into a list link (a pointer, or NULL) */
        memcpy(&sf, p[i] - 16, 8);
        if (memcmp(hdr[i], p[i] - 16, 16) != 0 && (sf == 0 || sf >> 32 != 0)) {
            victim = i;
            (*g_overwritten)++;
            break;
        }
    }
    hf_arena_free(a, p[victim]);
}

static void m_interior(void *arg) {
    hf_arena *a = arena_for(arg);
    unsigned char *p = hf_arena_malloc(a, 100);
    hf_arena_free(a, p + 32);
}

static void m_interior_realloc(void *arg) {
    hf_arena *a = arena_for(arg);
    unsigned char *p = hf_arena_malloc(a, 100);
    (void)hf_arena_realloc(a, p + 48, 300);
}

static void m_realloc_freed(void *arg) {
    hf_arena *a = arena_for(arg);
    void *keep = hf_arena_malloc(a, 10), *p = hf_arena_malloc(a, 100);
    (void)keep;
    hf_arena_free(a, p);
    (void)hf_arena_realloc(a, p, 300);
}

/* An overflow from the block before wrote over p's header. usable_size does not trust it. */
static unsigned char *smashed_header(hf_arena *a) {
    unsigned char *x = hf_arena_malloc(a, 100), *p = hf_arena_malloc(a, 100);
    CHECK(x != NULL && p != NULL);
    memset(p - 16, 0x41, 16);
    CHECK(hf_arena_check(a) != NULL);
    CHECK_EQ(hf_arena_usable_size(a, p), 0);
    return p;
}
static void m_header(void *arg) {
    hf_arena *a = arena_for(arg);
    hf_arena_free(a, smashed_header(a));
}
static void m_header_realloc(void *arg) {
    hf_arena *a = arena_for(arg);
    (void)hf_arena_realloc(a, smashed_header(a), 1000);
}

typedef struct find_block {
    unsigned char *addr;
    int found;
} find_block;
static void find_free(const hf_block_info *b, void *arg) {
    find_block *f = arg;
    if (!b->used && b->addr == f->addr && b->size == 128) f->found = 1;
}

/* x is free and y's free merges with it: x's footer (the word before y's header: the footer's
 * check, segregated fit's size word, TLSF's pointer back to x) was overwritten. For the buddy
 * system, whose blocks have no footer, the free buddy's header is overwritten instead. */
static void m_neighbour(void *arg) {
    const misuse *m = arg;
    hf_arena *a = arena_for(m);
    unsigned char *x = hf_arena_malloc(a, 100);
    if (m->pol == HF_POLICY_BUDDY) { /* x's buddy: the free 128-byte block just above or below */
        find_block f = {0, 0};
        for (int tries = 0; !f.found && tries < 64; tries++) {
            if (tries) x = hf_arena_malloc(a, 100); /* a carved tail block has no free buddy */
            for (int side = 0; side < 2 && !f.found; side++) {
                f.addr = x - 16 + (side ? -128 : 128);
                hf_arena_walk(a, find_free, &f);
            }
        }
        CHECK(f.found);
        memset(f.addr, 0x40, 16);
        hf_arena_free(a, x);
        return;
    }
    unsigned char *y = hf_arena_malloc(a, 100), *z = hf_arena_malloc(a, 100);
    CHECK(x && y && z);
    hf_arena_free(a, x);
    memset(y - 24, 0x40, 8);
    hf_arena_free(a, y);
}

/* A tag is keyed by its arena: the same block layout in another arena does not take a header
 * copied from this one. */
static void test_secrets(hf_policy pol) {
    misuse m = {pol, 0};
    hf_arena *a = arena_for(&m), *b = arena_for(&m);
    unsigned char *p = hf_arena_malloc(a, 100), *q = hf_arena_malloc(b, 100);
    CHECK(p && q);
    CHECK((uintptr_t)p % ((uintptr_t)4 << 20) == (uintptr_t)q % ((uintptr_t)4 << 20));
    CHECK(memcmp(p - 16, q - 16, 16) != 0); /* same size, same offset: different checks */
    hf_arena_destroy(a);
    hf_arena_destroy(b);
}

typedef struct misuse_case {
    const char *name;
    void (*fn)(void *);
    const char *what;
} misuse_case;

static const misuse_case cases[] = {
    {"double free", m_double_free, "double free"},
    {"double free after a left merge", m_double_free_left, "double free"},
    {"double free after a right merge", m_double_free_right, "double free"},
    {"double free through free()", m_double_free_libc, "double free"},
    {"double free of an aligned block", m_double_free_aligned, "double free"},
    {"double free after random frees", m_double_free_random, "double free"},
    {"free of an interior pointer", m_interior, "invalid free"},
    {"realloc of an interior pointer", m_interior_realloc, "invalid free"},
    {"realloc of a freed block", m_realloc_freed, "double free"},
    {"free after a header overwrite", m_header, "heap corruption"},
    {"realloc after a header overwrite", m_header_realloc, "heap corruption"},
    {"free next to an overwritten neighbour", m_neighbour, "heap corruption"},
};

int main(void) {
    g_overwritten = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(g_overwritten != MAP_FAILED);
    for (unsigned i = 0; i < NPOL; i++) {
        hf_policy pol = lab_policies[i];
        for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            /* The random case: six seeds, and for the fits more (up to 32) until one of them hit
             * a header the towers overwrote (whether a seed does depends on the layout). */
            bool random = cases[c].fn == m_double_free_random;
            unsigned runs = random ? 6 : 1;
            for (unsigned s = 0; s < runs || (random && i < 4 && *g_overwritten == 0 && s < 32);
                 s++) {
                misuse m = {pol, 1 + s};
                char label[128];
                snprintf(label, sizeof label, "%s, %s, seed %u", hf_policy_name(pol), cases[c].name,
                         s + 1);
                test_expect_death(cases[c].fn, &m, cases[c].what, label);
            }
            passed++;
        }
        /* The fits' towers go home over stale headers; the other policies' links never reach
         * one (buddy's can reach an alias header, which the aligned case covers). */
        if (i < 4) CHECK(*g_overwritten > 0);
        *g_overwritten = 0;
        test_secrets(pol);
        passed++;
    }
    printf("lab_integrity: %d passed, 0 failed\n", passed);
    return 0;
}
