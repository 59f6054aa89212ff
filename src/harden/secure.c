/* harden/secure.c -- what the instrumented calls do at HEAPFORGE_SECURE >= 1: the glue between
 * the hooks (instrument.c) and the checks (canary.c, encode.h, quarantine.c, guard.c).
 *
 * Why through the hooks: the secure levels turn the instrumented mode on (HF_HOOK_SECURE), so
 * every call reaches a slow path and the fast paths carry no check at all -- level 0 costs
 * nothing. The block map (blockmap.c) then knows every live block's requested size n, which
 * gives the canary its place, free_sized its exact answer and malloc_usable_size its value (n:
 * a program that writes all of malloc_usable_size must not hit the canary).
 *
 * Level 1 (here): canaries checked on free, realloc and, for live blocks, at exit; encoded free
 * lists; exact free_sized; free of a pointer into the calling thread's stack or the program's
 * data/bss is an invalid free; malloc_usable_size of a freed block is reported. Level 3 sends
 * every checked free to the quarantine, which then also answers for pointers the block map
 * does not know: a quarantined one is a double free or a use of a freed block. */
#include "internal/internal.h"
#include "harden/encode.h"

/* How far above the current frame a pointer may lie and still count as this thread's stack:
 * the usual stack limit. Above a thread's stack lie its TLS and other mappings; heapforge's own
 * are excluded first, and foreign heap memory there (another allocator's, from before we were
 * loaded) is the one mistake this can make -- accepted at the secure levels. */
#define HF_STACK_WINDOW ((uintptr_t)8 << 20)

void hfi_secure_init(void) {
    hfi_secure = (int)hfi_options.secure;
}

size_t hfi_secure_request(size_t n) {
    return n == SIZE_MAX ? n : n + 1; /* at least one canary byte */
}

void hfi_secure_alloced(void *p, size_t n) {
    hfi_canary_fill(p, n);
}

/* The ordinary free, run plain (the hooks would bring it back here). */
static void free_now(void *p) {
    hfi_plain_free(p);
}

/* Was p handed out and freed? For blocks of pages the double-free mark says so; for large
 * blocks the span's state (cached after free). *size: the block's size, for the report. */
static bool block_is_freed(const void *p, size_t *size) {
    if (hfi_secure >= HF_SECURE_QUARANTINE && hfi_quarantine_find(p, size)) return true;
    hf_header *h;
    size_t usable = hfi_plain_usable(p, &h);
    *size = 0;
    if (h == NULL) return false;
    if (h->kind == HF_SEG_SPAN) {
        const hf_span *sp = (const hf_span *)h;
        *size = sp->h.map_size - (size_t)(sp->user - (const uint8_t *)sp);
        return sp->state != HF_SPAN_LIVE && (const uint8_t *)p == sp->user;
    }
    if (h->kind != HF_SEG_SMALL && h->kind != HF_SEG_MEDIUM) return h->kind == HF_SEG_FREE;
    const hf_page *pg = hfi_page_of((hf_segment *)h, p);
    if (!pg->in_use) return true;
    if (usable == 0) return false;
    *size = pg->block_size;
    const hf_block *b = (const hf_block *)((const uint8_t *)p + usable - pg->block_size);
    hfi_shadow_open(&b->mark, sizeof b->mark); /* checker builds: the allocator's own word */
    bool freed = b->mark == ((uintptr_t)b ^ hfi_secret);
    hfi_shadow_close(&b->mark, sizeof b->mark);
    return freed;
}

static bool in_this_stack(const void *p) {
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    return (uintptr_t)p >= sp && (uintptr_t)p - sp < HF_STACK_WINDOW;
}

static bool in_program_data(const void *p) {
    static uintptr_t range[2];
    static int known; /* 0 not yet, 1 known */
    if (__atomic_load_n(&known, __ATOMIC_ACQUIRE) == 0) {
        uintptr_t lo, hi;
        hfi_prim_program_data(&lo, &hi);
        __atomic_store_n(&range[0], lo, __ATOMIC_RELAXED);
        __atomic_store_n(&range[1], hi, __ATOMIC_RELAXED);
        __atomic_store_n(&known, 1, __ATOMIC_RELEASE);
    }
    uintptr_t lo = __atomic_load_n(&range[0], __ATOMIC_RELAXED);
    uintptr_t hi = __atomic_load_n(&range[1], __ATOMIC_RELAXED);
    return (uintptr_t)p >= lo && (uintptr_t)p < hi;
}

/* A pointer the block map does not know: not ours (foreign, ignored as at level 0, unless it is
 * certainly no heap block), or ours and already freed (reported by the ordinary free). true
 * when it was reported here. */
static bool unknown_pointer(void *p, hf_error what) {
    if (hfi_header_of_slow(p) != NULL) return false;
    if (in_this_stack(p) || in_program_data(p)) {
        hfi_report(what, p, 0);
        return true;
    }
    return false;
}

/* Level 3: an unknown pointer that waits in the quarantine was freed already. */
static bool quarantined(void *p, hf_error what) {
    size_t n;
    if (hfi_secure < HF_SECURE_QUARANTINE || !hfi_quarantine_find(p, &n)) return false;
    hfi_report(what, p, n);
    return true;
}

/* At level 3 the caller may hold a claim of p (hfi_quarantine_claim): the push turns it into the
 * quarantine's entry; every other way out drops it first. */
void hfi_secure_free(void *p, bool known, size_t n) {
    if (p == NULL) return;
    bool claims = hfi_secure >= HF_SECURE_QUARANTINE;
    if (known) {
        if (!hfi_canary_intact(p, n)) {
            if (claims) hfi_quarantine_unclaim(p);
            hfi_report(HF_ERR_HEAP_CORRUPTION, p, n);
            return; /* warn mode: the damaged block is left alone */
        }
        if (claims) {
            hfi_quarantine_push(p, n);
            return;
        }
    } else {
        if (claims) hfi_quarantine_unclaim(p);
        if (quarantined(p, HF_ERR_DOUBLE_FREE) || unknown_pointer(p, HF_ERR_INVALID_FREE)) return;
    }
    free_now(p);
}

/* Before realloc moves or resizes p: false when it was reported (and must be left alone). */
bool hfi_secure_realloc_ok(void *p, bool known, size_t n) {
    if (known) {
        if (hfi_canary_intact(p, n)) return true;
        hfi_report(HF_ERR_HEAP_CORRUPTION, p, n);
        return false;
    }
    return !quarantined(p, HF_ERR_REALLOC_FREED) && !unknown_pointer(p, HF_ERR_INVALID_FREE);
}

size_t hfi_secure_usable_size(const void *p) {
    size_t n;
    if (p == NULL) return 0;
    if (hfi_blockmap_lookup(p, &n)) {
        hf_header *h;
        size_t usable = hfi_plain_usable(p, &h);
        /* From level 2 a large block has no canary: a guard page follows its usable end. */
        if (h != NULL && h->kind == HF_SEG_SPAN && hfi_secure >= HF_SECURE_SHUFFLE) return usable;
        return n;
    }
    size_t size;
    if (block_is_freed(p, &size)) {
        hfi_report(HF_ERR_USABLE_FREED, p, size);
        return 0;
    }
    return hfi_plain_usable(p, NULL);
}

bool hfi_secure_check_size(void *p, size_t size) {
    size_t n;
    if (!hfi_blockmap_lookup(p, &n)) return false;
    if (size != n) hfi_report(HF_ERR_FREE_SIZED_SIZE, p, size);
    return true;
}

static void check_live(void *ctx, const void *p, size_t n) {
    (void)ctx;
    if (!hfi_canary_intact(p, n)) hfi_report(HF_ERR_HEAP_CORRUPTION, p, n);
}

/* At exit: a live block's canary damaged by an overflow nobody freed is still reported. */
void hfi_secure_exit(void) {
    if (hfi_secure == 0) return;
    hfi_blockmap_each(check_live, NULL);
    if (hfi_secure >= HF_SECURE_QUARANTINE) hfi_quarantine_verify_all();
}
