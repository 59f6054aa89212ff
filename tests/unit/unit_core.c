/* Unit tests of the allocator's internal data structures, each checked by its validator. */
#include "internal/internal.h"
#include "harden/encode.h"
#include "../test_util.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

static void test_size_classes(void) {
    CHECK(hfi_class_is_valid());
    CHECK(hfi_class_of(0) == 0 && hfi_class_of(16) == 0 && hfi_class_of(17) == 1);
    CHECK(hfi_class_size[hfi_class_of(129)] == 144 && hfi_class_size[hfi_class_of(4104)] == 4352);
    CHECK(hfi_class_size[hfi_class_of(HF_MEDIUM_MAX)] == HF_MEDIUM_MAX);
}

/* The free path's divisibility test agrees with % for every class over a whole medium page. */
static void test_block_offsets(void) {
    for (unsigned c = 0; c < HF_CLASS_COUNT; c++) {
        uint32_t bs = hfi_class_size[c];
        uint64_t magic = 1u + UINT64_MAX / bs;
        for (uint32_t off = 0; off < (1u << HF_MEDIUM_PAGE_SHIFT); off++)
            if (((uint64_t)off * magic < magic) != (off % bs == 0)) {
                fprintf(stderr, "class %u size %u offset %u\n", c, bs, off);
                CHECK(0);
            }
    }
}

static void test_libc_helpers(void) {
    long long v;
    CHECK(hfi_parse_size("64K", &v) && v == 65536);
    CHECK(hfi_parse_size("3MiB", &v) && v == 3 << 20);
    CHECK(hfi_parse_size("-1", &v) && v == -1);
    CHECK(!hfi_parse_size("12x", &v));
    CHECK(!hfi_parse_size("", &v));
    CHECK(!hfi_parse_size("99999999999999999999999", &v));
    char buf[64];
    hfi_snprintf(buf, sizeof buf, "%s=%zu %d %p %05u", "a", (size_t)42, -7, (void *)0x10, 12u);
    CHECK(strcmp(buf, "a=42 -7 0x10 00012") == 0);
    CHECK(hfi_snprintf(buf, 4, "abcdef") == 6 && strcmp(buf, "abc") == 0);
}

/* A page built by hand on a static buffer: carve, pop, push, collect; the validator agrees. */
/* A zeroed, segment-aligned region laid out as a segment, so that a page's segment (found by
 * masking its address) is real memory: the page functions account carved units there. */
static hf_segment *fake_segment(void) {
    uint8_t *m =
        mmap(NULL, 2 * HF_SEGMENT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    return (hf_segment *)(((uintptr_t)m + HF_SEGMENT_MASK) & ~(uintptr_t)HF_SEGMENT_MASK);
}

static void test_page_lists(void) {
    hf_segment *seg = fake_segment();
    uint8_t *area = (uint8_t *)seg + 65536; /* the second 64 KiB slot */
    enum { AREA = 65536 };
    hf_page *pgp = &seg->pages[1];
#define pg (*pgp)
    hfi_page_init(&pg, area, AREA, hfi_class_of(48), true);
    const char *why = NULL;
    CHECK(pg.reserved == AREA / 48);
    CHECK(hfi_page_extend(&pg));
    CHECK(pg.capacity == HF_EXTEND_BYTES / 48);
    CHECK(hfi_page_is_valid(&pg, &why));
    hf_block *taken[10];
    for (int i = 0; i < 10; i++) {
        taken[i] = pg.free;
        pg.free = hfi_link_raw(&pg, taken[i]);
        pg.used++;
        CHECK((uint8_t *)taken[i] == area + (size_t)i * 48);
    }
    CHECK(hfi_page_is_valid(&pg, &why));
    for (int i = 0; i < 10; i += 2) { /* owner frees */
        hfi_link_set(&pg, taken[i], pg.local_free);
        pg.local_free = taken[i];
        pg.used--;
    }
    /* another thread's frees */
    atomic_store(&pg.thread_free, taken[1]);
    hfi_link_set(&pg, taken[1], taken[3]);
    hfi_link_set(&pg, taken[3], NULL);
    CHECK(hfi_page_is_valid(&pg, &why));
    while (pg.free) pg.free = hfi_link_raw(&pg, pg.free), pg.used++; /* drain the carved blocks */
    hfi_page_collect(&pg);
    CHECK(pg.used == pg.capacity - 7);
    CHECK(hfi_page_contains_free(&pg, taken[0]) && hfi_page_contains_free(&pg, taken[3]));
    CHECK(!hfi_page_contains_free(&pg, taken[5]));
    CHECK(hfi_page_is_valid(&pg, &why));
    /* corruption is seen: a cycle, and a pointer outside the page */
    hfi_link_set(&pg, taken[0], pg.free);
    pg.free = taken[0];
    CHECK(!hfi_page_is_valid(&pg, &why));
    hfi_link_set(&pg, taken[0], (hf_block *)((uintptr_t)area + AREA + 64));
    CHECK(!hfi_page_is_valid(&pg, &why));
    CHECK(seg->dirty_mask == 2); /* the carved unit, and only it, counts as touched */
#undef pg
}

/* Random malloc/free/realloc through the real heap, validating heap, pages and segments. */
static void test_heap_random(void) {
    enum { SLOTS = 2000 };
    static void *live[SLOTS];
    static size_t len[SLOTS];
    uint64_t seed = 12345;
    const char *why = "unknown";
    for (int op = 0; op < 200000; op++) {
        unsigned k = (unsigned)(test_rand(&seed) % SLOTS);
        if (live[k]) {
            CHECK_PATTERN(live[k], len[k], k);
            if (test_rand(&seed) % 4 == 0) {
                size_t n = test_rand(&seed) % 4000;
                void *q = hf_realloc(live[k], n);
                CHECK(q != NULL || n == 0);
                size_t keep = len[k] < n ? len[k] : n;
                if (q) CHECK_PATTERN(q, keep, k);
                live[k] = q;
                len[k] = n;
                if (q) test_fill(q, n, k);
                if (!q) live[k] = NULL;
            } else {
                hf_free(live[k]);
                live[k] = NULL;
            }
        } else {
            unsigned r = (unsigned)(test_rand(&seed) % 100);
            size_t n = r < 80   ? test_rand(&seed) % 256
                       : r < 98 ? test_rand(&seed) % 20000
                                : test_rand(&seed) % 300000;
            live[k] = hf_malloc(n);
            CHECK(live[k] != NULL);
            CHECK(((uintptr_t)live[k] & 15) == 0);
            CHECK(hf_usable_size(live[k]) >= n);
            len[k] = n;
            test_fill(live[k], n, k);
        }
        if (op % 5000 == 0) {
            if (!hfi_heap_is_valid(hfi_tl_heap, &why)) {
                fprintf(stderr, "heap invalid after op %d: %s\n", op, why);
                CHECK(0);
            }
        }
    }
    for (unsigned k = 0; k < SLOTS; k++) hf_free(live[k]);
    CHECK(hfi_heap_is_valid(hfi_tl_heap, &why));
}

static void test_pagemap(void) {
    int on_stack = 0;
    CHECK(hfi_header_of(&on_stack) == NULL);
    CHECK(!hf_owns(&on_stack));
    void *small = hf_malloc(100), *medium = hf_malloc(20000), *large = hf_malloc(1 << 20);
    CHECK(hfi_header_of(small)->kind == HF_SEG_SMALL);
    CHECK(hfi_header_of(medium)->kind == HF_SEG_MEDIUM);
    CHECK(hfi_header_of(large)->kind == HF_SEG_SPAN);
    /* an 8 MiB-aligned block: its payload lies in a unit after its header */
    void *big = NULL;
    CHECK(hf_posix_memalign(&big, 8u << 20, 100) == 0);
    CHECK(((uintptr_t)big & ((8u << 20) - 1)) == 0);
    CHECK(hfi_header_of(big) == NULL && hfi_header_of_slow(big)->kind == HF_SEG_SPAN);
    CHECK(hf_owns(big) && hf_usable_size(big) >= 100);
    hf_free(big);
    hf_free(small);
    hf_free(medium);
    hf_free(large);
}

/* Foreign blocks (foreign.c): a worker frees blocks of the main heap while it allocates their
 * classes itself, as a thread does while its blocks' owner waits in pthread_join. It keeps some,
 * and the heap validator checks the kept blocks on real data before the worker exits. */
enum { FX_BLOCKS = 400 };
static void *fx_p[FX_BLOCKS];
static size_t fx_n[FX_BLOCKS];

static bool heap_valid(const char *when) {
    const char *why = "unknown";
    if (hfi_heap_is_valid(hfi_tl_heap, &why)) return true;
    fprintf(stderr, "heap invalid %s: %s\n", when, why);
    return false;
}

static void *foreign_worker(void *arg) {
    (void)arg;
    for (unsigned i = 0; i < FX_BLOCKS; i++) {
        CHECK_PATTERN(fx_p[i], fx_n[i], i);
        hf_free(fx_p[i]);
        fx_p[i] = hf_malloc(fx_n[i]);
        CHECK(fx_p[i] != NULL);
        test_fill(fx_p[i], fx_n[i], FX_BLOCKS + i);
        if (i % 50 == 0) CHECK(heap_valid("during the exchange"));
    }
    CHECK(heap_valid("after the exchange"));
    hf_heap *heap = hfi_tl_heap;
    unsigned classes = 0, held = 0, some = HF_FOREIGN_CLASSES;
    for (unsigned c = 0; c < HF_FOREIGN_CLASSES; c++) {
        hf_page *fp = &heap->foreign[c];
        if (fp->reserved !=
            0) { /* opened by a malloc of the class: HEAPFORGE_FOREIGN_CACHE bytes, clamped */
            uint32_t lim = (uint32_t)(hfi_options.foreign_cache / hfi_class_size[c]);
            lim = lim < HF_FOREIGN_MIN   ? HF_FOREIGN_MIN
                  : lim > HF_FOREIGN_MAX ? HF_FOREIGN_MAX
                                         : lim;
            CHECK_EQ(fp->reserved, lim);
            CHECK_EQ(fp->block_size, hfi_class_size[c]);
        }
        uint32_t h = fp->capacity - fp->used;
        if (h > 0) {
            CHECK(fp->local_free != NULL); /* the anchor */
            classes++, held += h, some = c;
        }
    }
    printf("unit_core: the worker keeps %u blocks of %u classes\n", held, classes);
    CHECK(classes > 0);
    /* The validator notices a miscount either way. */
    const char *why = NULL;
    hf_page *fp = &heap->foreign[some];
    fp->capacity++;
    CHECK(!hfi_foreign_is_valid(heap, some, &why) && why != NULL);
    CHECK(strcmp(why, "fewer kept blocks than counted") == 0);
    CHECK(!hfi_heap_is_valid(heap, NULL));
    fp->capacity -= 2;
    CHECK(!hfi_foreign_is_valid(heap, some, &why));
    CHECK(strcmp(why, "more kept blocks than counted") == 0);
    fp->capacity++;
    CHECK(hfi_foreign_is_valid(heap, some, &why));
    CHECK(heap_valid("after the miscount checks"));
    return NULL; /* the kept blocks go back to the main heap at exit */
}

static void test_foreign(void) {
    CHECK(hfi_class_is_valid());
    CHECK(hfi_class_size[HF_FOREIGN_CLASSES - 1] == HF_SMALL_MAX);
    CHECK(hfi_class_size[HF_FOREIGN_CLASSES] > HF_SMALL_MAX);
    uint64_t seed = 777;
    for (unsigned i = 0; i < FX_BLOCKS; i++) {
        fx_n[i] = 16 + test_rand(&seed) % 985;
        fx_p[i] = hf_malloc(fx_n[i]);
        CHECK(fx_p[i] != NULL);
        test_fill(fx_p[i], fx_n[i], i);
    }
    pthread_t t;
    CHECK(pthread_create(&t, NULL, foreign_worker, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(heap_valid("of the owner after the worker's exit"));
    for (unsigned i = 0; i < FX_BLOCKS; i++) {
        CHECK_PATTERN(fx_p[i], fx_n[i], FX_BLOCKS + i);
        hf_free(fx_p[i]);
    }
    hf_trim(0);
    CHECK(heap_valid("of the owner at the end"));
}

int main(void) {
    test_size_classes();
    test_block_offsets();
    test_libc_helpers();
    test_page_lists();
    test_pagemap();
    test_heap_random();
    test_foreign();
    printf("unit_core: all passed\n");
    return 0;
}
