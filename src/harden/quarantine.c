/* harden/quarantine.c -- freed blocks wait before they are really freed (HEAPFORGE_SECURE=3).
 *
 * Why: a use after free is harmless while the block is not handed out again, and visible if the
 * block's contents are known. A freed block of a page enters a FIFO bounded in bytes
 * (HEAPFORGE_QUARANTINE, 4 MiB by default) and is filled with a pattern derived from the secret
 * and its address; when it leaves (pushed out by later frees) the pattern is verified -- a
 * difference is a `write after free of p (size n)` -- and the block is zeroed (zero-on-free)
 * before the ordinary free. A freed large block (a span) is not filled: its payload is purged
 * and made inaccessible (PROT_NONE), so any touch faults, and it waits in a second FIFO bounded
 * in count (its memory went back to the OS; only the address range stays reserved). That also
 * keeps a huge block's range from being unmapped and reused, so its double free is seen.
 *
 * While a block waits, the block map no longer lists it: a free, realloc or malloc_usable_size
 * of an unknown pointer looks here (secure.c) and reports a double free or a use of a freed
 * block. At exit every waiting block's pattern is verified. Every realloc at this level moves
 * the block (instrument.c), and the old copy waits here like any freed block.
 *
 * Two threads freeing the same block at once: only one removes it from the block map, but the
 * other could look here before the winner has pushed it (the canary check and the fill come in
 * between) and take it for a foreign pointer. So a free first claims its pointer here (a small
 * table of frees in flight, one entry per freeing thread), then removes it from the map; the
 * push drops the claim in the same locked step that adds the block. A free that finds the map
 * without its pointer drops its own claim and looks for another thread's claim or entry: the
 * winner's claim was made before its removal, so one of the two is always there. Costs (level 3
 * only): a fill and a verify per freed byte, one lock per free. */
#include "internal/internal.h"

#define HF_QUARANTINE_BLOCKS 65536 /* entries of the block FIFO (virtual; touched as used) */
#define HF_QUARANTINE_SPANS  64    /* freed large blocks held back */

typedef struct q_entry {
    uint8_t *p;
    size_t n;      /* requested size (for the report) */
    size_t usable; /* bytes filled, or protected */
} q_entry;

typedef struct q_ring {
    q_entry *slots;
    size_t cap, head, count; /* oldest at head */
    size_t bytes;            /* usable bytes waiting */
    bool spans;              /* protected spans, bounded in count; else blocks, in bytes */
} q_ring;

#define HF_QUARANTINE_CLAIMS 256 /* frees in flight at once (more wait) */

typedef struct q_claim {
    const void *p;
    const void *owner; /* the freeing thread (the address of its q_token) */
} q_claim;

static hf_lock q_lock;
static q_ring blocks = {.cap = HF_QUARANTINE_BLOCKS},
              spans = {.cap = HF_QUARANTINE_SPANS, .spans = true};
static q_claim claims[HF_QUARANTINE_CLAIMS];
static size_t claim_count;
static HF_TLS char q_token; /* its address names the thread */

/* Drop this thread's claim of p, if any. */
static void unclaim_locked(const void *p) {
    hf_assert(hfi_lock_held(&q_lock));
    for (size_t i = 0; i < claim_count; i++) {
        if (claims[i].p == p && claims[i].owner == &q_token) {
            claims[i] = claims[--claim_count];
            return;
        }
    }
}

/* Another thread is freeing p. */
static bool claimed_locked(const void *p) {
    hf_assert(hfi_lock_held(&q_lock));
    for (size_t i = 0; i < claim_count; i++)
        if (claims[i].p == p && claims[i].owner != &q_token) return true;
    return false;
}

/* Before a free at level 3 removes p from the block map (instrument.c). */
void hfi_quarantine_claim(const void *p) {
    for (;;) {
        hfi_lock(&q_lock);
        if (claim_count < HF_QUARANTINE_CLAIMS) {
            claims[claim_count++] = (q_claim){p, &q_token};
            hfi_unlock(&q_lock);
            return;
        }
        hfi_unlock(&q_lock);
        hfi_prim_yield();
    }
}

/* A free that does not push p (not in the map, or reported) drops its claim. */
void hfi_quarantine_unclaim(const void *p) {
    hfi_lock(&q_lock);
    unclaim_locked(p);
    hfi_unlock(&q_lock);
}

static inline uint64_t pattern(const void *p) {
    uint64_t x = ((uint64_t)(uintptr_t)p ^ (uint64_t)hfi_secret) * 0xA24BAED4963EE407ull;
    return x ^ (x >> 31);
}

static void fill(uint8_t *p, size_t usable) {
    uint64_t w = pattern(p);
    size_t i = 0;
    for (; i + 8 <= usable; i += 8) memcpy(p + i, &w, 8);
    for (; i < usable; i++) p[i] = (uint8_t)(w >> ((i & 7) * 8));
}

static bool pattern_kept(const uint8_t *p, size_t usable) {
    uint64_t w = pattern(p), v;
    size_t i = 0;
    for (; i + 8 <= usable; i += 8) {
        memcpy(&v, p + i, 8);
        if (v != w) return false;
    }
    for (; i < usable; i++)
        if (p[i] != (uint8_t)(w >> ((i & 7) * 8))) return false;
    return true;
}

/* The waiting block still holds its pattern (checker builds: read as the allocator's own). */
static bool intact(const uint8_t *p, size_t usable) {
    hfi_shadow_open(p, usable);
    bool ok = pattern_kept(p, usable);
    hfi_shadow_close(p, usable);
    return ok;
}

static bool over_locked(const q_ring *r) {
    hf_assert(hfi_lock_held(&q_lock));
    if (r->count == 0) return false;
    if (r->spans) return r->count > HF_QUARANTINE_SPANS - 1;
    return r->count >= r->cap || (long long)r->bytes > hfi_options.quarantine;
}

static q_entry pop_locked(q_ring *r) {
    hf_assert(hfi_lock_held(&q_lock));
    q_entry e = r->slots[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    r->bytes -= e.usable;
    return e;
}

/* The block leaves the quarantine: verified, zeroed (or made accessible), really freed. */
static void release(q_ring *r, q_entry *e) {
    if (r->spans) {
        hfi_prim_protect(e->p, e->usable, true); /* purged on entry: reads back as zeros */
    } else {
        if (!intact(e->p, e->usable)) {
            hfi_report_error("write after free", e->p, e->n);
            return; /* warn mode: the damaged block stays out of use */
        }
        hfi_shadow_open(e->p, e->usable);
        memset(e->p, 0, e->usable);
        hfi_shadow_close(e->p, e->usable);
    }
    hfi_plain_free(e->p);
}

void hfi_quarantine_push(void *p, size_t n) {
    hf_header *h;
    size_t usable = hfi_plain_usable(p, &h);
    q_ring *r = &blocks;
    if (h != NULL && h->kind == HF_SEG_SPAN) {
        r = &spans;
        usable = hf_align_down(usable, HF_OS_PAGE_SIZE);
        hfi_os_purge(p, usable);
        hfi_prim_protect(p, usable, false);
    } else {
        hfi_shadow_open(p, usable); /* checker builds: freed, only the allocator touches it */
        fill(p, usable);
        hfi_shadow_close(p, usable);
    }
    q_entry e = {p, n, usable}, out;
    bool evicted = false;
    hfi_lock(&q_lock);
    unclaim_locked(p); /* the claim becomes the entry in one step */
    if (r->slots == NULL) {
        r->slots =
            hfi_prim_mmap(NULL, hf_align_up(r->cap * sizeof(q_entry), HF_OS_PAGE_SIZE), false);
        if (r->slots == NULL) { /* no memory for the FIFO: free at once */
            hfi_unlock(&q_lock);
            release(r, &e);
            return;
        }
    }
    if (r->count == r->cap) out = pop_locked(r), evicted = true;
    r->slots[(r->head + r->count) % r->cap] = e;
    r->count++;
    r->bytes += usable;
    hfi_unlock(&q_lock);
    if (evicted) release(r, &out);
    for (;;) {
        hfi_lock(&q_lock);
        if (!over_locked(r)) {
            hfi_unlock(&q_lock);
            break;
        }
        out = pop_locked(r);
        hfi_unlock(&q_lock);
        release(r, &out);
    }
}

static void drain(q_ring *r) {
    for (;;) {
        hfi_lock(&q_lock);
        if (r->count == 0) {
            hfi_unlock(&q_lock);
            return;
        }
        q_entry e = pop_locked(r);
        hfi_unlock(&q_lock);
        release(r, &e);
    }
}

/* hf_trim: every waiting block leaves (verified, zeroed, freed), so its memory can go back. */
void hfi_quarantine_flush(void) {
    drain(&blocks);
    drain(&spans);
}

static bool find_locked(const q_ring *r, const void *p, size_t *n) {
    hf_assert(hfi_lock_held(&q_lock));
    for (size_t i = 0; i < r->count; i++) {
        const q_entry *e = &r->slots[(r->head + i) % r->cap];
        if (e->p == (const uint8_t *)p) {
            *n = e->n;
            return true;
        }
    }
    return false;
}

/* Is p waiting in the quarantine, or being freed by another thread? *n: its requested size (0
 * while in flight). O(entries): only pointers the block map does not know (misuse, foreign
 * memory) come here. */
bool hfi_quarantine_find(const void *p, size_t *n) {
    hfi_lock(&q_lock);
    bool found = find_locked(&blocks, p, n) || find_locked(&spans, p, n);
    if (!found && claimed_locked(p)) *n = 0, found = true;
    hfi_unlock(&q_lock);
    return found;
}

/* At exit: every waiting block must still hold its pattern. */
void hfi_quarantine_verify_all(void) {
    hfi_lock(&q_lock);
    for (size_t i = 0; i < blocks.count; i++) {
        q_entry *e = &blocks.slots[(blocks.head + i) % blocks.cap];
        if (!intact(e->p, e->usable)) hfi_report_error("write after free", e->p, e->n);
    }
    hfi_unlock(&q_lock);
}

void hfi_quarantine_fork_prepare(void) {
    hfi_lock(&q_lock);
}
void hfi_quarantine_fork_parent(void) {
    hfi_unlock(&q_lock);
}
void hfi_quarantine_fork_child(void) {
    hfi_lock_init(&q_lock);
    claim_count = 0; /* the other threads' frees in flight are gone */
}
