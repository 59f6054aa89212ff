/* lab/arena.c -- lab arenas: a lock, a list of regions from the OS, and one placement policy
 * (lab.h). The arena serialises every policy call, grows by whole regions when the policy has
 * no room, keeps live and footprint figures, and owns the glue to the rest of heapforge:
 * each region starts with an hf_header of kind HF_SEG_LAB published in the page map, so free()
 * of any lab pointer, whatever arena made it, finds its way back here (hfi_lab_free).
 *
 * Layout: every region is aligned to a segment and starts with an hf_lab_region header; the
 * first region also holds the hf_arena struct and the policy's state, so an arena needs no
 * memory but its own regions. The rest of a region goes to the policy.
 *
 * sbrk backing: regions come from moving the program break. A region starts on a segment
 * boundary (the break is padded up to one first) and grows in place while nothing else moves
 * the break.
 *
 * Direct regions: a mapping holding a header and one block, no policy, unmapped as soon as it is
 * freed and resized with mremap (no copy). They take requests of mmap_threshold bytes or more
 * with sbrk backing, of LAB_DIRECT_MIN or more with mmap backing, and every request the policy
 * could not hold in any region (buddy above its largest order), so no policy refuses a block the
 * machine can map. */
#include "internal/internal.h"
#include "lab/lab.h"

#include <string.h>

#define LAB_DEFAULT_REGION         ((size_t)1 << 20)
#define LAB_DEFAULT_MMAP_THRESHOLD ((size_t)128 << 10)
#define LAB_FEED_STEP              ((size_t)64 << 10) /* least piece fed to an extending policy */
/* mmap backing: blocks this big get a direct region (the fast allocator's huge threshold), so a
 * huge block goes back to the OS when freed and grows by mremap instead of a copy. */
#define LAB_DIRECT_MIN ((size_t)32 << 20)

enum { REGION_MMAP, REGION_SBRK, REGION_DIRECT };

typedef struct hf_lab_region {
    hf_header h; /* kind HF_SEG_LAB, owner HF_OWNER_NONE */
    struct hf_arena *arena;
    struct hf_lab_region *next;
    /* The policy has been given [base, fed); [fed, region end) is untouched since the OS
     * zeroed it: the high-water mark calloc trusts. Policies that can extend a region get
     * it piece by piece (mmap regions) or as the break grows (sbrk); others get it whole. */
    uint8_t *base, *fed;
    uint8_t type; /* REGION_* */
} hf_lab_region;

/* What one allocation call added: memory of region r at or above `from` was untouched before
 * the call, so a block there holds zeros but for the policy's node (HF_LAB_FRESH_HEAD). */
typedef struct fresh_mark {
    hf_lab_region *r;
    uint8_t *from;
} fresh_mark;

/* A region carved from the program break. */
typedef struct hf_lab_sbrk_region {
    hf_lab_region r;
    uint8_t *origin; /* the break before the padding up to the segment boundary */
} hf_lab_sbrk_region;

/* A mapping holding exactly one block (sbrk backing, at or above the mmap threshold). */
typedef struct hf_lab_direct {
    hf_lab_region r;
    struct hf_lab_direct *prev; /* the arena's direct list is doubly linked: O(1) free */
    uint8_t *payload;
    size_t usable;
} hf_lab_direct;

struct hf_arena {
    hf_lock lock;
    struct hf_arena *reg_next, *reg_prev; /* the registry of live arenas (fork) */
    const hf_lab_policy *policy;
    hf_policy id;
    hf_lab_config cfg;
    hf_lab_region *regions; /* the first region (holding this struct) is last */
    hf_backing backing;
    size_t mmap_threshold; /* sbrk backing only */
    hf_lab_direct *direct; /* live direct regions */
    size_t direct_count;
    size_t footprint, peak_footprint;
    size_t live, peak_live;
    size_t calloc_cleared;              /* bytes calloc had to clear (the rest was fresh) */
    _Alignas(16) unsigned char state[]; /* the policy's state */
};

void *hfi_lab_arena_state(hf_arena *a) {
    return a->state;
}

/* ---- regions -------------------------------------------------------------------------- */
static size_t region_header_size(void) {
    return hf_align_up(sizeof(hf_lab_region), 64);
}
static size_t sbrk_header_size(void) {
    return hf_align_up(sizeof(hf_lab_sbrk_region), 64);
}
static size_t direct_header_size(void) {
    return hf_align_up(sizeof(hf_lab_direct), 64);
}

static hf_lab_region *region_map(size_t size) {
    void *base;
    size_t msize;
    size = hf_align_up(size, HF_OS_PAGE_SIZE);
    hf_lab_region *r = hfi_os_map_aligned(size, HF_SEGMENT_SIZE, &base, &msize);
    if (r == NULL) return NULL;
    r->h.kind = HF_SEG_LAB;
    atomic_store_explicit(&r->h.owner, HF_OWNER_NONE, memory_order_relaxed);
    r->next = NULL;
    r->type = REGION_MMAP;
    hfi_header_publish(&r->h, base, msize, true);
    return r;
}

static void region_unmap(hf_lab_region *r) {
    size_t size = r->h.map_size;
    hfi_pagemap_unregister(r, (uint8_t *)r + size);
    hfi_os_unmap(r, size);
}

/* Every sbrk-backed arena of the process moves the break under this lock, so "is the break
 * still where this arena left it" cannot be answered wrongly by another arena. Code outside
 * heapforge calling sbrk is not serialised; the checks below tolerate it. Taken after an
 * arena's lock, never before. */
static hf_lock sbrk_lock;

static uint8_t *region_end(const hf_lab_region *r) {
    return (uint8_t *)r + r->h.map_size;
}

/* Grows the sbrk region r in place by size bytes (a page multiple): only while the break is
 * still at r's end. The new units become tails of r in the page map. */
static bool sbrk_grow(hf_lab_region *r, size_t size) {
    hfi_lock(&sbrk_lock);
    uint8_t *cur = hfi_prim_sbrk(0);
    bool ok = cur != NULL && cur == region_end(r) && hfi_pagemap_cover(cur, size) &&
              hfi_prim_sbrk((intptr_t)size) == cur;
    if (ok) { /* else refused, or raced by foreign code: leave it */
        /* Relaxed atomic: region_of reads the size without the arena's lock. */
        __atomic_store_n(&r->h.map_size, r->h.map_size + size, __ATOMIC_RELAXED);
        hfi_pagemap_register(r, cur + size, true);
    }
    hfi_unlock(&sbrk_lock);
    return ok;
}

/* More memory from the break: extends `last` in place when the break is still at its end
 * (*piece then is the new, contiguous memory), otherwise starts a new region of hdr + size
 * bytes whose header sits on a segment boundary (*piece follows the header). The padding up
 * to that boundary is wasted, but the page map can only find headers at unit bases. NULL when
 * the kernel refuses. */
static hf_lab_region *sbrk_take(hf_lab_region *last, size_t size, uint8_t **piece,
                                size_t *piece_len) {
    size = hf_align_up(size, HF_OS_PAGE_SIZE);
    size_t hdr = sbrk_header_size();
    hfi_lock(&sbrk_lock);
    uint8_t *cur = hfi_prim_sbrk(0);
    if (cur == NULL) goto fail;
    if (last != NULL && cur == region_end(last)) {
        hfi_unlock(&sbrk_lock);
        if (!sbrk_grow(last, size)) return NULL;
        *piece = cur, *piece_len = size;
        return last;
    }
    size_t pad = hf_align_up((uintptr_t)cur, HF_SEGMENT_SIZE) - (uintptr_t)cur;
    size = hf_align_up(hdr + size, HF_OS_PAGE_SIZE) - hdr; /* regions end on a page */
    size_t total = pad + hdr + size;
    /* The page map covers the new range (and a race's worth beyond) before the break moves. */
    if (!hfi_pagemap_cover(cur, 2 * total)) goto fail;
    uint8_t *old = hfi_prim_sbrk((intptr_t)total);
    if (old == NULL) goto fail;
    /* Only foreign code can have moved the break since we read it; realign in what we got. */
    uint8_t *start = (uint8_t *)hf_align_up((uintptr_t)old, HF_SEGMENT_SIZE);
    /* Page-aligned end, so pieces stay 16-aligned: after such a race the break may sit a
     * little above it, and the next growth then starts a new region. */
    uint8_t *end = (uint8_t *)hf_align_down((uintptr_t)(old + total), HF_OS_PAGE_SIZE);
    if (start + hdr + size > end) goto fail; /* too little left after the padding: leaked */
    hf_lab_sbrk_region *s = (hf_lab_sbrk_region *)start;
    s->origin = old;
    s->r.h.kind = HF_SEG_LAB;
    atomic_store_explicit(&s->r.h.owner, HF_OWNER_NONE, memory_order_relaxed);
    s->r.next = NULL;
    s->r.type = REGION_SBRK;
    hfi_header_publish(&s->r.h, start, (size_t)(end - start), true);
    hfi_unlock(&sbrk_lock);
    *piece = start + hdr, *piece_len = (size_t)(end - start) - hdr;
    return &s->r;
fail:
    hfi_unlock(&sbrk_lock);
    return NULL;
}

static void note_footprint(hf_arena *a, size_t add) {
    a->footprint += add;
    if (a->footprint > a->peak_footprint) a->peak_footprint = a->footprint;
}

/* Give the policy the next piece of r, [r->fed, r->fed + len): as a new region when it is r's
 * first, else through extend (add_region when the policy declines). */
static void feed_locked(hf_arena *a, hf_lab_region *r, size_t len, fresh_mark *fm) {
    hf_assert(hfi_lock_held(&a->lock));
    if (fm != NULL && fm->r != r) fm->r = r, fm->from = r->fed;
    uint8_t *at = r->fed;
    r->fed += len;
    if (at == r->base || a->policy->extend == NULL || !a->policy->extend(a->state, at, len))
        a->policy->add_region(a->state, at, len);
}

/* Feed r (an mmap region) at least want bytes of what it has left, all of it when less would
 * remain than a step; false when nothing is left. */
static bool feed_more_locked(hf_arena *a, hf_lab_region *r, size_t want, fresh_mark *fm) {
    hf_assert(hfi_lock_held(&a->lock));
    size_t room = (size_t)(region_end(r) - r->fed);
    if (room < 16) return false;
    size_t len = hf_align_up(want < LAB_FEED_STEP ? LAB_FEED_STEP : want, HF_OS_PAGE_SIZE);
    if (len > room || room - len < LAB_FEED_STEP) len = hf_align_down(room, 16);
    feed_locked(a, r, len, fm);
    return true;
}

/* A new mmap region's first piece: want bytes for a policy that can extend, else everything. */
static void feed_first_locked(hf_arena *a, hf_lab_region *r, uint8_t *base, size_t want,
                              fresh_mark *fm) {
    r->base = r->fed = base;
    if (a->policy->extend == NULL) want = (size_t)(region_end(r) - base);
    feed_more_locked(a, r, want, fm);
}

/* After a policy operation: memory the policy asked for its own metadata (lab.h wants_room),
 * from the newest region's unfed rest only. Never counts as fresh for the call under way (the
 * caller has measured calloc's dirty prefix first). O(1) unless a piece is fed. */
static void feed_wanted_locked(hf_arena *a) {
    hf_assert(hfi_lock_held(&a->lock));
    if (a->policy->wants_room == NULL) return;
    size_t want = a->policy->wants_room(a->state);
    hf_lab_region *r = a->regions;
    if (want != 0 && (size_t)(region_end(r) - r->fed) >= want) feed_more_locked(a, r, want, NULL);
}

/* Links the new region r (mapped or carved from the break) into a, its policy's memory starting
 * at base; the newest region before it gives the policy whatever it had left, so nothing is
 * stranded. */
static void adopt_locked(hf_arena *a, hf_lab_region *r, uint8_t *base, size_t want,
                         fresh_mark *fm) {
    hf_lab_region *last = a->regions;
    if (last->fed < region_end(last)) feed_more_locked(a, last, SIZE_MAX, NULL);
    r->arena = a;
    r->next = a->regions;
    a->regions = r;
    note_footprint(a, r->h.map_size); /* its header counts, the padding before it does not */
    feed_first_locked(a, r, base, want, fm);
}

/* Room for n more bytes: the newest region's unfed rest first; then, with sbrk backing, more
 * break (in place when the break is still at that region's end, else a new region); then a new
 * mapping. Caller holds the lock. */
static bool arena_grow_locked(hf_arena *a, size_t n, fresh_mark *fm) {
    hf_assert(hfi_lock_held(&a->lock));
    size_t need = a->policy->region_need(a->state, n);
    if (need == 0 || need > ((size_t)1 << (HF_ADDRESS_BITS - 2))) return false;
    hf_lab_region *last = a->regions;
    if ((size_t)(region_end(last) - last->fed) >= need) return feed_more_locked(a, last, need, fm);
    if (a->backing == HF_BACKING_SBRK) {
        size_t size = need + sbrk_header_size(); /* room for a header should a region start */
        if (size < a->cfg.growth_step) size = a->cfg.growth_step;
        uint8_t *piece;
        size_t len;
        hf_lab_region *r = sbrk_take(last->type == REGION_SBRK ? last : NULL, size, &piece, &len);
        if (r == last) {
            note_footprint(a, len);
            return feed_more_locked(a, last, need, fm);
        }
        if (r != NULL) {
            adopt_locked(a, r, piece, need, fm);
            return true;
        }
        /* The break cannot grow (a mapping above it, RLIMIT_DATA): a mapped region instead,
         * as with mmap backing; the next growth tries the break again. */
    }
    size_t size = need + region_header_size();
    if (size < a->cfg.growth_step) size = a->cfg.growth_step;
    hf_lab_region *r = region_map(size);
    if (r == NULL) return false;
    adopt_locked(a, r, (uint8_t *)r + region_header_size(), need, fm);
    return true;
}

/* ---- direct regions ---------------------------------------------------------------------- */
/* Does a block of n bytes aligned to align get a direct region (see the top comment)? Reads only
 * what never changes after creation (region_need depends on the configuration alone). */
static bool goes_direct(const hf_arena *a, size_t align, size_t n) {
    size_t lim = a->backing == HF_BACKING_SBRK ? a->mmap_threshold : LAB_DIRECT_MIN;
    if (n >= lim) return true;
    size_t extra = align > HF_LAB_ALIGN ? align + 64 : 0; /* what arena_alloc asks the policy for */
    return a->policy->region_need(a->state, n + extra) == SIZE_MAX;
}

static void direct_link_locked(hf_arena *a, hf_lab_direct *d) {
    hf_assert(hfi_lock_held(&a->lock));
    d->prev = NULL;
    d->r.next = a->direct != NULL ? &a->direct->r : NULL;
    if (a->direct != NULL) a->direct->prev = d;
    a->direct = d;
    a->direct_count++;
    a->live += d->usable;
    if (a->live > a->peak_live) a->peak_live = a->live;
    note_footprint(a, d->r.h.map_size);
}

/* A mapping of its own for one block of n bytes aligned to align; linked into the arena. */
static void *direct_alloc(hf_arena *a, size_t align, size_t n) {
    size_t hdr = direct_header_size();
    size_t size = hdr + (align > HF_LAB_ALIGN ? align : 0) + n;
    void *base;
    size_t msize;
    size = hf_align_up(size, HF_OS_PAGE_SIZE);
    hf_lab_direct *d = hfi_os_map_aligned(size, HF_SEGMENT_SIZE, &base, &msize);
    if (d == NULL) return NULL;
    d->r.h.kind = HF_SEG_LAB;
    atomic_store_explicit(&d->r.h.owner, HF_OWNER_NONE, memory_order_relaxed);
    d->r.arena = a;
    d->r.type = REGION_DIRECT;
    d->payload = (uint8_t *)hf_align_up((uintptr_t)d + hdr, align);
    d->usable = (size_t)((uint8_t *)d + msize - d->payload);
    d->r.h.map_size = msize;
    hfi_lock(&a->lock);
    direct_link_locked(a, d);
    /* Published under the lock so a walk or check never sees half of it. */
    hfi_header_publish(&d->r.h, base, msize, true);
    hfi_unlock(&a->lock);
    return d->payload;
}

/* Unlink a direct region (caller holds the arena lock); the caller unmaps it after unlocking. */
static void direct_unlink_locked(hf_arena *a, hf_lab_direct *d) {
    hf_assert(hfi_lock_held(&a->lock));
    hf_lab_direct *next = (hf_lab_direct *)d->r.next;
    if (d->prev != NULL)
        d->prev->r.next = d->r.next;
    else
        a->direct = next;
    if (next != NULL) next->prev = d->prev;
    a->direct_count--;
    a->live -= d->usable;
    a->footprint -= d->r.h.map_size;
}

/* The direct block d holding at least n bytes, resized with mremap (the pages move, the bytes
 * are not copied; the payload keeps its offset in the mapping), or NULL when the kernel refuses,
 * d unchanged. A shrink by less than half keeps the mapping. */
static void *direct_resize(hf_arena *a, hf_lab_direct *d, size_t n) {
    size_t off = (size_t)(d->payload - (uint8_t *)d), old = d->r.h.map_size;
    if (n > SIZE_MAX - off - HF_OS_PAGE_SIZE) return NULL;
    size_t size = hf_align_up(off + n, HF_OS_PAGE_SIZE);
    if (size <= old && size > old / 2) return d->payload;
    hfi_lock(&a->lock);
    direct_unlink_locked(a, d);
    hfi_pagemap_unregister(d, (uint8_t *)d + old);
    hf_lab_direct *nd = hfi_os_remap(d, old, size, HF_SEGMENT_SIZE, true);
    bool ok = nd != NULL;
    if (!ok) nd = d, size = old; /* the old mapping stays as it was */
    nd->payload = (uint8_t *)nd + off;
    nd->usable = size - off;
    nd->r.h.map_size = size;
    direct_link_locked(a, nd);
    hfi_header_publish(&nd->r.h, nd, size, true);
    hfi_unlock(&a->lock);
    return ok ? nd->payload : NULL;
}

/* ---- the registry: every live arena, so fork() can hold all their locks ------------------ */
/* Lock order: registry_lock, then arena locks in list order, then sbrk_lock. Create and destroy
 * take registry_lock alone; nothing takes it while holding an arena's lock. */
static hf_lock registry_lock;
static hf_arena *registry;

static void registry_add(hf_arena *a) {
    hfi_lock(&registry_lock);
    a->reg_prev = NULL;
    a->reg_next = registry;
    if (registry != NULL) registry->reg_prev = a;
    registry = a;
    hfi_unlock(&registry_lock);
}

static void registry_remove(hf_arena *a) {
    hfi_lock(&registry_lock);
    if (a->reg_prev != NULL)
        a->reg_prev->reg_next = a->reg_next;
    else
        registry = a->reg_next;
    if (a->reg_next != NULL) a->reg_next->reg_prev = a->reg_prev;
    hfi_unlock(&registry_lock);
}

/* ---- arenas ---------------------------------------------------------------------------- */
/* hf_arena_create without the process set-up (lab/api.c runs it first): the lab's own default
 * arenas are made from malloc's slow path, where it has run already. */
hf_arena *hfi_lab_arena_create(hf_policy policy, const hf_arena_config *config) {
    if (hfi_lab_policy_ops(policy) == NULL) {
        errno = EINVAL;
        return NULL;
    }
    const hf_lab_policy *pol = hfi_lab_policy_ops(policy);
    hf_lab_config cfg = {LAB_DEFAULT_REGION, LAB_DEFAULT_REGION, 0, 22, 0x9E3779B97F4A7C15ull, 0};
    /* Each arena keys its tags with a secret of its own, so a tag forged or copied from one
     * arena never checks out in another (and the seed, which tests share, plays no part). */
    cfg.secret = hfi_prim_random_seed() ^ (uint64_t)hfi_secret;
    hf_backing backing = HF_BACKING_MMAP;
    size_t threshold = LAB_DEFAULT_MMAP_THRESHOLD;
    if (config != NULL) {
        if (config->initial_size) cfg.initial_size = config->initial_size;
        if (config->growth_step) cfg.growth_step = config->growth_step;
        cfg.min_split = config->min_split;
        if (config->buddy_max_order) cfg.buddy_max_order = config->buddy_max_order;
        if (config->seed) cfg.seed = config->seed;
        backing = config->backing;
        if (config->mmap_threshold) threshold = config->mmap_threshold;
    }
    if (cfg.buddy_max_order < 8 || cfg.buddy_max_order > 40 ||
        cfg.initial_size > ((size_t)1 << 40) || cfg.growth_step > ((size_t)1 << 40) ||
        (backing != HF_BACKING_MMAP && backing != HF_BACKING_SBRK)) {
        errno = EINVAL;
        return NULL;
    }
    size_t meta = hf_align_up(sizeof(hf_arena) + pol->state_size, 64);
    hf_lab_region *r = NULL;
    size_t hdr = 0;
    if (backing == HF_BACKING_SBRK) {
        hdr = sbrk_header_size();
        uint8_t *piece;
        size_t len;
        r = sbrk_take(NULL, meta + cfg.initial_size, &piece, &len);
    }
    if (r == NULL) { /* mmap backing, or a break that cannot grow: a mapping */
        hdr = region_header_size();
        r = region_map(hdr + meta + cfg.initial_size);
    }
    if (r == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    hf_arena *a = (hf_arena *)((uint8_t *)r + hdr);
    memset(a, 0, sizeof *a);
    hfi_lock_init(&a->lock);
    a->policy = pol;
    a->id = policy;
    a->cfg = cfg;
    a->backing = backing;
    a->mmap_threshold = threshold;
    pol->init(a->state, &a->cfg);
    r->arena = a;
    a->regions = r;
    a->footprint = a->peak_footprint = r->h.map_size;
    uint8_t *start = (uint8_t *)a + meta;
    hfi_lock(&a->lock); /* nobody else sees a yet; held so the _locked functions' asserts hold */
    feed_first_locked(a, r, start, LAB_FEED_STEP, NULL);
    hfi_unlock(&a->lock);
    registry_add(a);
    return a;
}

/* sbrk regions, newest first: clear their page-map entries, and lower the break past each one
 * while the break is still at its end. When other code moved the break above a region, that
 * region (and every older one) stays in the process's data segment, unused: shrinking the
 * break would take the other code's memory with it. */
static void sbrk_release(hf_lab_region *r) {
    hfi_lock(&sbrk_lock);
    bool give_back = true;
    while (r != NULL) {
        hf_lab_region *next = r->next; /* read before the memory goes */
        if (r->type == REGION_MMAP) {  /* a fallback mapping (the break could not grow) */
            region_unmap(r);
            r = next;
            continue;
        }
        uint8_t *origin = ((hf_lab_sbrk_region *)r)->origin, *end = region_end(r);
        hfi_pagemap_unregister(r, end);
        if (give_back && hfi_prim_sbrk(0) == end)
            give_back = hfi_prim_sbrk(-(intptr_t)(end - origin)) != NULL;
        else
            give_back = false;
        r = next;
    }
    hfi_unlock(&sbrk_lock);
}

HF_API void hf_arena_destroy(hf_arena *a) {
    if (a == NULL) return;
    registry_remove(a);
    if (a->policy->destroy != NULL) a->policy->destroy(a->state);
    hf_lab_direct *d = a->direct;
    while (d != NULL) {
        hf_lab_direct *next = (hf_lab_direct *)d->r.next;
        region_unmap(&d->r);
        d = next;
    }
    hf_lab_region *r = a->regions; /* the first region, holding `a`, is last in the list */
    if (a->backing == HF_BACKING_SBRK) {
        sbrk_release(r);
        return;
    }
    while (r != NULL) {
        hf_lab_region *next = r->next;
        region_unmap(r);
        r = next;
    }
}

static void note_live(hf_arena *a, void *p) {
    if (p == NULL) return;
    a->live += a->policy->usable_size(a->state, p);
    if (a->live > a->peak_live) a->peak_live = a->live;
}

/* How many of the n bytes at p, just allocated, calloc must clear from the start: all of them,
 * unless the block lies in memory this call fed to the policy (fm), which was zero but for the
 * policy's node at the block's start (lab.h: HF_LAB_FRESH_HEAD). Caller holds the lock. */
static size_t dirty_prefix(const fresh_mark *fm, const uint8_t *p, size_t n) {
    const hf_lab_region *r = fm->r;
    if (r == NULL || p < r->base || p + n > r->fed || p + n < p) return n;
    uintptr_t lim = (uintptr_t)p + HF_LAB_FRESH_HEAD;
    if (lim < (uintptr_t)fm->from) lim = (uintptr_t)fm->from;
    return lim - (uintptr_t)p < n ? (size_t)(lim - (uintptr_t)p) : n;
}

/* *dirty (calloc only): how much of the block calloc must clear from its start; when less than
 * n, the last HF_LAB_FRESH_TAIL bytes need clearing too. Direct blocks are fresh mappings. */
static void *arena_alloc(hf_arena *a, size_t align, size_t n, size_t *dirty) {
    if (n > ((size_t)1 << (HF_ADDRESS_BITS - 2))) {
        hfi_set_enomem();
        return NULL;
    }
    if (goes_direct(a, align, n)) {
        void *d = direct_alloc(a, align, n);
        if (d == NULL) hfi_set_enomem();
        if (dirty) *dirty = 0;
        return d;
    }
    fresh_mark fm = {NULL, NULL};
    hfi_lock(&a->lock);
    void *p = align > HF_LAB_ALIGN ? a->policy->memalign(a->state, align, n)
                                   : a->policy->malloc(a->state, n);
    if (p == NULL && arena_grow_locked(a, n + (align > HF_LAB_ALIGN ? align + 64 : 0), &fm)) {
        p = align > HF_LAB_ALIGN ? a->policy->memalign(a->state, align, n)
                                 : a->policy->malloc(a->state, n);
    }
    note_live(a, p);
    if (p != NULL && dirty) {
        *dirty = dirty_prefix(&fm, p, n);
        a->calloc_cleared += *dirty < n ? *dirty + HF_LAB_FRESH_TAIL : n;
    }
    feed_wanted_locked(a);
    hfi_unlock(&a->lock);
    if (p == NULL) hfi_set_enomem();
    return p;
}

HF_API void *hf_arena_malloc(hf_arena *a, size_t n) {
    return arena_alloc(a, HF_LAB_ALIGN, n, NULL);
}

HF_API void *hf_arena_memalign(hf_arena *a, size_t align, size_t n) {
    if (!hf_is_pow2(align) || align > ((size_t)1 << 30)) {
        errno = EINVAL;
        return NULL;
    }
    return arena_alloc(a, align, n, NULL);
}

/* Clears only what may be dirty: memory the policy had before this call (freed blocks, or its
 * own tags and lists) is cleared whole; memory fed during the call, never written since the OS
 * zeroed it, only where the policy put its node (lab.h). A big calloc that grows the arena
 * therefore touches a few hundred bytes, not every page. */
HF_API void *hf_arena_calloc(hf_arena *a, size_t count, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        hfi_set_enomem();
        return NULL;
    }
    size_t dirty = n;
    uint8_t *p = arena_alloc(a, HF_LAB_ALIGN, n, &dirty);
    if (p == NULL) return NULL;
    memset(p, 0, dirty);
    if (dirty < n) {
        size_t tail = n - dirty < HF_LAB_FRESH_TAIL ? n - dirty : HF_LAB_FRESH_TAIL;
        memset(p + n - tail, 0, tail);
    }
    return p;
}

/* The arena and region a pointer belongs to, or NULL when it is not in a lab region. */
static hf_lab_region *region_of(const void *p) {
    hf_header *h = hfi_header_of_slow(p);
    if (h == NULL || h->kind != HF_SEG_LAB) return NULL;
    size_t size = __atomic_load_n(&h->map_size, __ATOMIC_RELAXED); /* may grow meanwhile */
    if ((const uint8_t *)p >= (const uint8_t *)h + size) return NULL;
    return (hf_lab_region *)h;
}

static void arena_free_locked(hf_arena *a, void *p) {
    hf_assert(hfi_lock_held(&a->lock));
    size_t usable = a->policy->usable_size(a->state, p);
    a->policy->free(a->state, p); /* reports and aborts on a bad pointer */
    a->live -= usable;
    feed_wanted_locked(a);
}

/* Free p, a pointer inside region r of its arena. */
static void region_free(hf_lab_region *r, void *p) {
    hf_arena *a = r->arena;
    if (r->type == REGION_DIRECT) {
        hf_lab_direct *d = (hf_lab_direct *)r;
        if ((uint8_t *)p != d->payload) {
            hfi_report_error("invalid free", p, 0); /* inside the block, not its start */
            return;
        }
        hfi_lock(&a->lock);
        direct_unlink_locked(a, d);
        hfi_unlock(&a->lock);
        region_unmap(r); /* clears the page map first: a second free finds nothing */
        return;
    }
    hfi_lock(&a->lock);
    arena_free_locked(a, p);
    hfi_unlock(&a->lock);
}

/* free() of a lab pointer (from hfi_free_generic), whatever arena made it. */
void hfi_lab_free(hf_header *h, void *p) {
    if ((uint8_t *)p >= (uint8_t *)h + h->map_size) return; /* past the region: not ours */
    region_free((hf_lab_region *)h, p);
}

size_t hfi_lab_usable_size(hf_header *h, const void *p) {
    hf_lab_region *r = (hf_lab_region *)h;
    if ((const uint8_t *)p >= (const uint8_t *)h + h->map_size) return 0;
    if (r->type == REGION_DIRECT) {
        const hf_lab_direct *d = (const hf_lab_direct *)r;
        return (const uint8_t *)p == d->payload ? d->usable : 0;
    }
    hf_arena *a = r->arena;
    hfi_lock(&a->lock);
    size_t n = a->policy->usable_size(a->state, p);
    hfi_unlock(&a->lock);
    return n;
}

void *hfi_lab_realloc(hf_header *h, void *p, size_t n) {
    hf_arena *a = ((hf_lab_region *)h)->arena;
    return hf_arena_realloc(a, p, n);
}

HF_API void hf_arena_free(hf_arena *a, void *p) {
    if (p == NULL) return;
    hf_lab_region *r = region_of(p);
    if (r == NULL || r->arena != a) {
        hfi_report_error("invalid free", p, 0); /* not a block of this arena */
        return;
    }
    region_free(r, p);
}

HF_API size_t hf_arena_usable_size(hf_arena *a, const void *p) {
    hf_lab_region *r = p ? region_of(p) : NULL;
    if (r == NULL || r->arena != a) return 0;
    return hfi_lab_usable_size(&r->h, p);
}

/* realloc's second chance before a move: the live block p (old usable bytes) of region r has
 * only free space up to the end of what its policy holds there, so more memory right there lets
 * it grow in place: the region's unfed rest, or, with sbrk backing, more break while the break is
 * still at the region's end (a region grown so keeps its blocks where they are). */
static bool grow_at_end_locked(hf_arena *a, hf_lab_region *r, void *p, size_t old, size_t n) {
    hf_assert(hfi_lock_held(&a->lock));
    if (n <= old || a->policy->at_end == NULL || !a->policy->at_end(a->state, p)) return false;
    size_t want = n - old + 64; /* the tags a merge may need */
    size_t room = (size_t)(region_end(r) - r->fed);
    if (room < want && r->type == REGION_SBRK) {
        size_t more = hf_align_up(want - room, HF_OS_PAGE_SIZE);
        if (more < a->cfg.growth_step) more = hf_align_up(a->cfg.growth_step, HF_OS_PAGE_SIZE);
        if (!sbrk_grow(r, more)) return false;
        note_footprint(a, more);
        room += more;
    }
    if (room < want || !feed_more_locked(a, r, want, NULL)) return false;
    return a->policy->resize(a->state, p, n);
}

/* A move: a new block, the contents, and the old block freed. */
static void *realloc_move(hf_arena *a, void *p, size_t old, size_t n) {
    void *q = hf_arena_malloc(a, n);
    if (q == NULL) return NULL;
    memcpy(q, p, old < n ? old : n);
    hf_arena_free(a, p);
    return q;
}

HF_API void *hf_arena_realloc(hf_arena *a, void *p, size_t n) {
    if (p == NULL) return hf_arena_malloc(a, n);
    if (n == 0) {
        hf_arena_free(a, p);
        return NULL;
    }
    hf_lab_region *r = region_of(p);
    if (r == NULL || r->arena != a) {
        hfi_report_error("invalid free", p, 0);
        return NULL;
    }
    if (r->type == REGION_DIRECT) {
        size_t old = hfi_lab_usable_size(&r->h, p);
        if (old == 0) {
            hfi_report_error("invalid free", p, 0);
            return NULL;
        }
        /* Still a direct block: the mapping is resized (no copy); else the block moves into the
         * policy's regions. */
        if (goes_direct(a, HF_LAB_ALIGN, n)) {
            void *q = direct_resize(a, (hf_lab_direct *)r, n);
            if (q != NULL || n <= old) return q ? q : p;
            hfi_set_enomem();
            return NULL;
        }
        return realloc_move(a, p, old, n);
    }
    hfi_lock(&a->lock);
    size_t old = a->policy->usable_size(a->state, p);
    if (old == 0) { /* not a live block: the policy names the error, as free() would */
        const char *why = a->policy->diagnose(a->state, p);
        hfi_unlock(&a->lock);
        hfi_report_error(why ? why : "invalid free", p, 0);
        return NULL;
    }
    /* A block growing to the direct threshold moves to a mapping of its own. */
    bool to_direct = goes_direct(a, HF_LAB_ALIGN, n);
    if (!to_direct && (a->policy->resize(a->state, p, n) || grow_at_end_locked(a, r, p, old, n))) {
        a->live = a->live - old + a->policy->usable_size(a->state, p);
        if (a->live > a->peak_live) a->peak_live = a->live;
        feed_wanted_locked(a);
        hfi_unlock(&a->lock);
        return p;
    }
    hfi_unlock(&a->lock);
    return realloc_move(a, p, old, n);
}

typedef struct walk_ctx {
    hf_arena_visitor visitor;
    void *arg;
} walk_ctx;

static void walk_adapter(const hf_lab_block_info *b, void *arg) {
    walk_ctx *w = arg;
    hf_block_info info = {b->addr, b->size, b->used};
    w->visitor(&info, w->arg);
}

HF_API void hf_arena_walk(hf_arena *a, hf_arena_visitor visitor, void *arg) {
    walk_ctx w = {visitor, arg};
    hfi_lock(&a->lock);
    a->policy->walk(a->state, walk_adapter, &w);
    for (hf_lab_direct *d = a->direct; d != NULL; d = (hf_lab_direct *)d->r.next) {
        hf_block_info info = {d->payload, d->r.h.map_size, 1}; /* the mapping is the block */
        visitor(&info, arg);
    }
    hfi_unlock(&a->lock);
}

HF_API const char *hf_arena_check(hf_arena *a) {
    hfi_lock(&a->lock);
    const char *why = a->policy->check(a->state);
    size_t count = 0, live = 0;
    for (hf_lab_direct *d = a->direct; why == NULL && d != NULL; d = (hf_lab_direct *)d->r.next) {
        if (d->r.h.cookie != ((uintptr_t)d ^ hfi_secret) || d->r.type != REGION_DIRECT ||
            d->r.arena != a || d->payload < (uint8_t *)d + direct_header_size() ||
            d->payload + d->usable != region_end(&d->r))
            why = "direct region header corrupted";
        else if ((d->prev != NULL && d->prev->r.next != &d->r) ||
                 (d->prev == NULL && a->direct != d))
            why = "direct region list broken";
        count++, live += d->usable;
    }
    if (why == NULL && count != a->direct_count) why = "direct region count wrong";
    if (why == NULL && live > a->live) why = "live bytes below the direct blocks' total";
    for (hf_lab_region *r = a->regions; why == NULL && r != NULL; r = r->next)
        if (r->h.cookie != ((uintptr_t)r ^ hfi_secret) || r->arena != a ||
            (r->type != REGION_MMAP && (r->type != REGION_SBRK || a->backing != HF_BACKING_SBRK)))
            why = "region header corrupted";
        else if (r->base < (uint8_t *)r || r->fed < r->base || r->fed > region_end(r))
            why = "region high-water mark out of range";
    hfi_unlock(&a->lock);
    return why;
}

HF_API void hf_arena_stats(hf_arena *a, hf_arena_statistics *out) {
    hf_lab_policy_stats ps;
    memset(&ps, 0, sizeof ps);
    hfi_lock(&a->lock);
    a->policy->stats(a->state, &ps);
    hf_arena_statistics s;
    memset(&s, 0, sizeof s);
    s.version = sizeof s;
    s.live_bytes = a->live;
    s.peak_live_bytes = a->peak_live;
    s.footprint = a->footprint;
    s.peak_footprint = a->peak_footprint;
    size_t direct_count = a->direct_count;
    s.calloc_cleared_bytes = a->calloc_cleared;
    hfi_unlock(&a->lock);
    s.free_bytes = ps.free_bytes;
    s.free_blocks = ps.free_blocks;
    s.largest_free = ps.largest_free;
    s.used_blocks = ps.used_blocks + direct_count;
    s.external_fragmentation =
        ps.free_bytes ? 1.0 - (double)ps.largest_free / (double)ps.free_bytes : 0.0;
    s.bins = ps.bins > 64 ? 64 : ps.bins;
    memcpy(s.per_bin, ps.per_bin, sizeof s.per_bin);
    *out = s;
}

/* fork (from policy.c's handlers): phase 0 takes the registry's lock and every arena's lock, so
 * no arena is mid-operation when the child is made; 1 releases them in the parent (in reverse);
 * 2 resets them in the child, where the threads that held nothing are gone anyway. */
void hfi_lab_arenas_fork(int phase) {
    if (phase == 0) {
        hfi_lock(&registry_lock);
        for (hf_arena *a = registry; a != NULL; a = a->reg_next) hfi_lock(&a->lock);
        return;
    }
    hf_arena *last = registry;
    while (last != NULL && last->reg_next != NULL) last = last->reg_next;
    for (hf_arena *a = last; a != NULL; a = a->reg_prev) {
        if (phase == 1)
            hfi_unlock(&a->lock);
        else
            hfi_lock_init(&a->lock);
    }
    if (phase == 1)
        hfi_unlock(&registry_lock);
    else
        hfi_lock_init(&registry_lock);
}

void hfi_lab_sbrk_fork(int phase) {
    if (phase == 0)
        hfi_lock(&sbrk_lock);
    else if (phase == 1)
        hfi_unlock(&sbrk_lock);
    else
        hfi_lock_init(&sbrk_lock);
}
