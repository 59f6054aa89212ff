/* lab_realloc: realloc grows a lab block in place before it moves it -- into a free neighbour
 * (every policy but buddy, whose blocks grow only by free buddies), into the unfed rest of its
 * region (mmap backing), and with sbrk backing into the heap's end by moving the break. The
 * contents survive every growth; hf_arena_check runs after each. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "lab_util.h"

static int passed;

static hf_arena *arena(hf_policy pol, hf_backing backing) {
    hf_arena_config cfg = {.seed = 5,
                           .initial_size = backing == HF_BACKING_SBRK ? 64 << 10 : 1 << 20,
                           .growth_step = 64 << 10,
                           .backing = backing,
                           .mmap_threshold = 64 << 20};
    hf_arena *a = hf_arena_create(pol, &cfg);
    CHECK(a != NULL);
    return a;
}

static void test_neighbour(hf_policy pol) {
    hf_arena *a = arena(pol, HF_BACKING_MMAP);
    unsigned char *x = hf_arena_malloc(a, 1000), *y = hf_arena_malloc(a, 1000);
    unsigned char *z = hf_arena_malloc(a, 100);
    CHECK(x && y && z);
    test_fill(x, 1000, 1);
    hf_arena_free(a, y);
    CHECK(hf_arena_realloc(a, x, 1900) == x);
    CHECK_GE(hf_arena_usable_size(a, x), 1900);
    CHECK_PATTERN(x, 1000, 1);
    check_arena(a, "growth into a neighbour");
    hf_arena_destroy(a);
    passed++;
}

/* p is the last block: realloc grows it step by step without moving. With sbrk backing the
 * break moves up with it, far past the first region's size. */
static void test_heap_end(hf_policy pol, hf_backing backing) {
    hf_arena *a = arena(pol, backing);
    size_t n = 1000, limit = backing == HF_BACKING_SBRK ? (size_t)8 << 20 : (size_t)800 << 10;
    unsigned char *p = hf_arena_malloc(a, n);
    CHECK(p != NULL);
    test_fill(p, n, 7);
    uintptr_t brk0 = (uintptr_t)sbrk(0);
    unsigned moved = 0, steps = 0;
    while (n < limit) {
        size_t m = n + n / 2;
        unsigned char *q = hf_arena_realloc(a, p, m);
        CHECK(q != NULL);
        CHECK_PATTERN(q, n, 7);
        moved += q != p;
        steps++;
        p = q;
        test_fill(p, m, 7);
        n = m;
        check_arena(a, "growth at the end");
    }
    CHECK_EQ(moved, 0);
    if (backing == HF_BACKING_SBRK) CHECK_GE((uintptr_t)sbrk(0) - brk0, limit - (64 << 10));
    /* Another block after it: now it must move. */
    CHECK(hf_arena_malloc(a, 100) != NULL);
    unsigned char *q = hf_arena_realloc(a, p, n * 2);
    CHECK(q != NULL && q != p);
    CHECK_PATTERN(q, n, 7);
    check_arena(a, "move");
    hf_arena_destroy(a);
    printf("  %s, %s: %u growths in place up to %zu bytes\n", hf_policy_name(pol),
           backing == HF_BACKING_SBRK ? "sbrk" : "mmap", steps, n);
    passed++;
}

int main(void) {
    for (unsigned i = 0; i < NPOL; i++) {
        if (lab_policies[i] == HF_POLICY_BUDDY) continue; /* no neighbours, no extension */
        test_neighbour(lab_policies[i]);
        test_heap_end(lab_policies[i], HF_BACKING_MMAP);
        test_heap_end(lab_policies[i], HF_BACKING_SBRK);
    }
    printf("lab_realloc: %d passed, 0 failed\n", passed);
    return 0;
}
