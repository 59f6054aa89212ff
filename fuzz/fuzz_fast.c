/* fuzz_fast -- the fast allocator against a shadow model.
 *
 * Each input is a program: a sequence of operations (malloc, calloc, realloc, aligned_alloc,
 * posix_memalign, free, free_sized, free_aligned_sized, realloc to 0, trim, a usable-size
 * probe) on 64 slots, through the hf_* API. The model keeps for every live block its requested
 * size, alignment, usable size and an id; each block is filled with its id's pattern over its
 * whole usable size. After every operation the model checks what the API promises:
 *   - alignment (16 at least, the requested one for the aligned calls);
 *   - hf_usable_size >= requested, and all usable bytes writable (the fill writes them);
 *   - no two live blocks overlap (usable ranges compared with every live block);
 *   - contents kept: a block verifies its whole pattern when freed or reallocated, and realloc
 *     keeps the first min(old, new) requested bytes;
 *   - calloc memory reads as zeros;
 *   - hf_owns is true for a live block and its usable size does not change while it lives.
 * Every live block is freed (and verified) at the end of each input, so inputs are independent
 * as far as the model is concerned; the allocator's state carries over, as in a real program. */
#include <string.h>

#include "fuzz_util.h"
#include "heapforge.h"

#define HUGE_MIN (32 * FUZZ_MIB)

static fuzz_block slots[FUZZ_SLOTS];
static uint64_t next_id;
static unsigned huge_live; /* at most one huge block at a time keeps the RSS bounded */

static void adopt(int i, void *p, size_t req, size_t align, int zeroed) {
    FUZZ_CHECK(p != NULL, "allocation of %zu bytes (align %zu) failed", req, align);
    FUZZ_CHECK(hf_owns(p), "hf_owns(%p) is 0 for a live block", p);
    fuzz_block_adopt(slots, i, p, req, align, hf_usable_size(p), zeroed, next_id++);
    if (req >= HUGE_MIN) huge_live++;
}

static void forget(fuzz_block *b) {
    if (b->req >= HUGE_MIN) huge_live--;
    memset(b, 0, sizeof *b);
}

static void check_live(const fuzz_block *b, const char *when) {
    size_t now = hf_usable_size(b->p);
    FUZZ_CHECK(now == b->usable, "%s: usable size of %p changed from %zu to %zu", when,
               (void *)b->p, b->usable, now);
    fuzz_block_verify(b, b->usable, when);
}

enum { FREE_PLAIN, FREE_SIZED, FREE_ALIGNED_SIZED, FREE_REALLOC0 };

static void release(int i, int how) {
    fuzz_block *b = &slots[i];
    if (b->p == NULL) return;
    check_live(b, "before free");
    switch (how) {
    case FREE_SIZED:
        hf_free_sized(b->p, b->req);
        break;
    case FREE_ALIGNED_SIZED:
        hf_free_aligned_sized(b->p, b->align, b->req);
        break;
    case FREE_REALLOC0:
        FUZZ_CHECK(hf_realloc(b->p, 0) == NULL, "realloc(%p, 0) returned a block", (void *)b->p);
        break;
    default:
        hf_free(b->p);
        break;
    }
    forget(b);
}

static void do_realloc(fuzz_input *in, int i) {
    fuzz_block *b = &slots[i];
    size_t n = fuzz_size(in, huge_live == 0);
    if (b->p == NULL) {
        adopt(i, hf_realloc(NULL, n), n, 16, 0);
        return;
    }
    check_live(b, "before realloc");
    fuzz_block old = *b;
    void *q = hf_realloc(b->p, n);
    if (n == 0) { /* glibc semantics: freed, NULL returned */
        FUZZ_CHECK(q == NULL, "realloc(%p, 0) returned %p", (void *)old.p, q);
        forget(b);
        return;
    }
    FUZZ_CHECK(q != NULL, "realloc of %p from %zu to %zu failed", (void *)old.p, old.req, n);
    size_t keep = old.req < n ? old.req : n;
    size_t bad = fuzz_verify(q, old.usable, keep, old.id);
    FUZZ_CHECK(bad == (size_t)-1, "realloc %p -> %p (%zu -> %zu) lost byte %zu", (void *)old.p, q,
               old.req, n, bad);
    forget(b);
    adopt(i, q, n, 16, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in = {data, size, 0};
    while (fuzz_more(&in)) {
        uint32_t op = fuzz_u8(&in) % 12;
        int i = (int)(fuzz_u8(&in) % FUZZ_SLOTS);
        switch (op) {
        case 0:
        case 1: {
            release(i, FREE_PLAIN);
            size_t n = fuzz_size(&in, huge_live == 0);
            adopt(i, hf_malloc(n), n, 16, 0);
            break;
        }
        case 2: {
            release(i, FREE_PLAIN);
            size_t count = 1 + fuzz_u8(&in) % 8, n = fuzz_size(&in, huge_live == 0) / count;
            adopt(i, hf_calloc(count, n), count * n, 16, 1);
            break;
        }
        case 3:
            do_realloc(&in, i);
            break;
        case 4: {
            release(i, FREE_PLAIN);
            size_t align = fuzz_align(&in, 16);
            size_t n = fuzz_size(&in, huge_live == 0);
            adopt(i, hf_aligned_alloc(align, n), n, align, 0);
            break;
        }
        case 5: {
            release(i, FREE_PLAIN);
            size_t align = fuzz_align(&in, 16);
            size_t n = fuzz_size(&in, huge_live == 0);
            void *p = NULL;
            int rc = hf_posix_memalign(&p, align, n);
            FUZZ_CHECK(rc == 0, "posix_memalign(%zu, %zu) returned %d", align, n, rc);
            adopt(i, p, n, align, 0);
            break;
        }
        case 6:
        case 7:
            release(i, FREE_PLAIN);
            break;
        case 8:
            release(i, FREE_SIZED);
            break;
        case 9:
            release(i, fuzz_u8(&in) & 1 ? FREE_ALIGNED_SIZED : FREE_REALLOC0);
            break;
        case 10:
            if (slots[i].p) check_live(&slots[i], "probe");
            break;
        default:
            if (fuzz_u8(&in) < 8) hf_trim(0);
            break;
        }
    }
    for (int i = 0; i < FUZZ_SLOTS; i++) release(i, FREE_PLAIN);
    return 0;
}
