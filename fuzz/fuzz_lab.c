/* fuzz_lab -- every lab policy, on an arena of its own, against the same shadow model as
 * fuzz_fast.
 *
 * The first bytes of an input choose the policy (first-fit ... tlsf) and the arena's config
 * (backing mmap or sbrk, initial size, growth step, minimum split, buddy order, seed, mmap
 * threshold); the rest is a sequence of operations on 64 slots: hf_arena_malloc, _calloc,
 * _realloc, _memalign, hf_arena_free and hf_free (the page-map path every pointer takes). After
 * every operation:
 *   - hf_arena_check must return NULL (a description of a broken invariant is a crash);
 *   - the walk must report exactly the live blocks as used;
 *   - the model's checks: alignment, usable size >= requested (hf_arena_usable_size and
 *     hf_usable_size agree), no overlap, contents kept across realloc and until free, calloc
 *     zeroed.
 * The arena is destroyed at the end of each input, half the time with blocks still live. */
#include <string.h>

#include "fuzz_util.h"
#include "heapforge.h"

static fuzz_block slots[FUZZ_SLOTS];
static uint64_t next_id;
static hf_arena *arena;
static hf_policy policy;
static size_t max_block; /* buddy: requests above this may fail; others: never */

static void check_arena(const char *after) {
    const char *bad = hf_arena_check(arena);
    FUZZ_CHECK(bad == NULL, "%s arena check after %s: %s", hf_policy_name(policy), after, bad);
}

/* The walk must list every live block as used, and nothing else. */
typedef struct walk_state {
    size_t used, unknown;
    void *first_unknown;
} walk_state;

static void visit(const hf_block_info *blk, void *arg) {
    walk_state *w = arg;
    if (!blk->used) return;
    w->used++;
    for (int j = 0; j < FUZZ_SLOTS; j++)
        if (slots[j].p == blk->addr) return;
    if (w->unknown++ == 0) w->first_unknown = blk->addr;
}

static void check_walk(const char *after) {
    walk_state w = {0, 0, NULL};
    size_t live = 0;
    for (int j = 0; j < FUZZ_SLOTS; j++) live += slots[j].p != NULL;
    hf_arena_walk(arena, visit, &w);
    FUZZ_CHECK(w.used == live && w.unknown == 0,
               "%s walk after %s: %zu used blocks for %zu live, %zu unknown (first %p)",
               hf_policy_name(policy), after, w.used, live, w.unknown, w.first_unknown);
}

static void adopt(int i, void *p, size_t req, size_t align, int zeroed) {
    if (p == NULL) {
        FUZZ_CHECK(req + align > max_block, "%s: allocation of %zu (align %zu) failed",
                   hf_policy_name(policy), req, align);
        return;
    }
    size_t usable = hf_arena_usable_size(arena, p);
    FUZZ_CHECK(usable == hf_usable_size(p), "arena usable %zu, hf_usable_size %zu of %p", usable,
               hf_usable_size(p), p);
    fuzz_block_adopt(slots, i, p, req, align, usable, zeroed, next_id++);
}

static void release(int i, int generic) {
    fuzz_block *b = &slots[i];
    if (b->p == NULL) return;
    fuzz_block_verify(b, b->usable, "before free");
    if (generic)
        hf_free(b->p);
    else
        hf_arena_free(arena, b->p);
    memset(b, 0, sizeof *b);
}

static void do_realloc(fuzz_input *in, int i) {
    fuzz_block *b = &slots[i];
    size_t n = fuzz_size(in, 0);
    if (b->p == NULL) {
        adopt(i, hf_arena_realloc(arena, NULL, n), n, 16, 0);
        return;
    }
    fuzz_block_verify(b, b->usable, "before realloc");
    fuzz_block old = *b;
    void *q = hf_arena_realloc(arena, b->p, n);
    if (n == 0) {
        FUZZ_CHECK(q == NULL, "realloc(%p, 0) returned %p", (void *)old.p, q);
        memset(b, 0, sizeof *b);
        return;
    }
    if (q == NULL) { /* failed: the old block must be intact and still live */
        FUZZ_CHECK(n + 16 > max_block, "%s: realloc of %p to %zu failed", hf_policy_name(policy),
                   (void *)old.p, n);
        fuzz_block_verify(b, b->usable, "after a failed realloc");
        return;
    }
    size_t keep = old.req < n ? old.req : n;
    size_t bad = fuzz_verify(q, old.usable, keep, old.id);
    FUZZ_CHECK(bad == (size_t)-1, "%s: realloc %p -> %p (%zu -> %zu) lost byte %zu",
               hf_policy_name(policy), (void *)old.p, q, old.req, n, bad);
    memset(b, 0, sizeof *b);
    adopt(i, q, n, 16, 0);
}

static void configure(fuzz_input *in, hf_arena_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    policy = (hf_policy)(HF_POLICY_FIRST_FIT + fuzz_u8(in) % (HF_POLICY_COUNT - 1));
    uint32_t knobs = fuzz_u32(in);
    cfg->backing = knobs % 4 == 0 ? HF_BACKING_SBRK : HF_BACKING_MMAP;
    cfg->initial_size = (knobs >> 2) % 4 * 256 * FUZZ_KIB;
    cfg->growth_step = (knobs >> 4) % 4 * 256 * FUZZ_KIB;
    cfg->min_split = (knobs >> 6) % 8 * 16;
    cfg->buddy_max_order = (knobs >> 9) % 2 ? 0 : 20 + (knobs >> 10) % 4;
    cfg->mmap_threshold = (knobs >> 12) % 2 ? 0 : ((size_t)4 << 10) << (knobs >> 13) % 8;
    cfg->seed = knobs >> 16;
    unsigned order = cfg->buddy_max_order ? cfg->buddy_max_order : 22;
    max_block = policy == HF_POLICY_BUDDY ? (size_t)1 << order : (size_t)-1 / 2;
    if (policy == HF_POLICY_BUDDY && cfg->backing == HF_BACKING_SBRK)
        max_block = (size_t)-1 / 2; /* blocks from mmap_threshold up are mapped on their own */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in = {data, size, 0};
    hf_arena_config cfg;
    configure(&in, &cfg);
    arena = hf_arena_create(policy, &cfg);
    FUZZ_CHECK(arena != NULL, "hf_arena_create(%s) failed", hf_policy_name(policy));
    check_arena("create");
    while (fuzz_more(&in)) {
        uint32_t op = fuzz_u8(&in) % 8;
        int i = (int)(fuzz_u8(&in) % FUZZ_SLOTS);
        const char *what = "?";
        switch (op) {
        case 0:
        case 1: {
            release(i, 0);
            size_t n = fuzz_size(&in, 0);
            adopt(i, hf_arena_malloc(arena, n), n, 16, 0);
            what = "malloc";
            break;
        }
        case 2: {
            release(i, 0);
            size_t count = 1 + fuzz_u8(&in) % 8, n = fuzz_size(&in, 0) / count;
            adopt(i, hf_arena_calloc(arena, count, n), count * n, 16, 1);
            what = "calloc";
            break;
        }
        case 3:
            do_realloc(&in, i);
            what = "realloc";
            break;
        case 4: {
            release(i, 0);
            size_t align = fuzz_align(&in, 12), n = fuzz_size(&in, 0);
            adopt(i, hf_arena_memalign(arena, align, n), n, align, 0);
            what = "memalign";
            break;
        }
        case 5:
        case 6:
            release(i, 0);
            what = "hf_arena_free";
            break;
        default:
            release(i, 1);
            what = "hf_free";
            break;
        }
        check_arena(what);
        check_walk(what);
    }
    int keep_live = size > 0 && (data[size - 1] & 1);
    for (int i = 0; i < FUZZ_SLOTS; i++) {
        if (keep_live)
            memset(&slots[i], 0, sizeof slots[i]);
        else
            release(i, 0);
    }
    if (!keep_live) check_arena("freeing every block");
    hf_arena_destroy(arena);
    arena = NULL;
    return 0;
}
