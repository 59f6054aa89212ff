/* plain.c -- the plain calls: malloc, aligned malloc, realloc, free and usable size of any
 * block, without the hooks, routed by the block's owner (a page of this or another heap, a
 * span, a lab arena, or nothing of ours).
 *
 * The layer under the hooks. The entry points (alloc.c, free.c, aligned.c) take their fast
 * paths and, on a miss, go to the hooks when they are on (instrument.c) or come here at once;
 * the hooks count, check and record, and do the work here. Nothing here calls the public API
 * or a hook, so no call comes back up and no busy flag is needed. The process is initialised
 * (the entry points saw to it). */
#include "internal/internal.h"
#include "harden/encode.h"

#include <string.h>

/* This thread's heap, created on its first call; NULL (errno ENOMEM) when out of memory. */
hf_heap *hfi_plain_heap(void) {
    hf_heap *heap = hfi_tl_heap;
    if (HF_LIKELY(heap != &hfi_heap_empty)) return heap;
    heap = hfi_heap_get();
    if (heap == NULL) hfi_set_enomem();
    return heap;
}

/* A block of n bytes (zero: cleared) from the lab policy serving the process, or this thread's
 * heap. */
void *hfi_plain_malloc(size_t n, bool zero) {
    if (hfi_lab_process_policy != 0) return hfi_lab_process_malloc(n, 0, zero);
    hf_heap *heap = hfi_plain_heap();
    if (heap == NULL) return NULL;
    hf_page *pg = hfi_direct_page(heap, n);
    if (pg != NULL) return hfi_page_pop(pg, n, zero);
    return hfi_heap_malloc_slow(heap, n, zero);
}

/* Three ways to an aligned block, cheapest first: (1) a size class whose blocks are all
 * aligned (class size a multiple of the alignment; page starts are 8 KiB aligned), (2) a larger
 * block with an aligned interior pointer, the page flagged HF_PAGE_HAS_ALIGNED so free finds the
 * block start, (3) a span placed at the alignment. The caller has refused impossible sizes and
 * alignments. */
void *hfi_plain_aligned(size_t align, size_t n, bool zero) {
    if (hfi_lab_process_policy != 0) return hfi_lab_process_malloc(n, align, zero);
    if (align <= HF_ALIGNMENT) return hfi_plain_malloc(n, zero);
    if (align <= HF_SEGMENT_HEADER) {
        size_t rn = hf_align_up(n ? n : 1, align);
        if (rn <= HF_MEDIUM_MAX && hfi_class_size[hfi_class_of(rn)] % align == 0)
            return hfi_plain_malloc(rn, zero);
    }
    if (align <= HF_MEDIUM_MAX && n + align - HF_ALIGNMENT <= HF_MEDIUM_MAX) {
        size_t over = n + align - HF_ALIGNMENT;
        uint8_t *p = hfi_plain_malloc(over, zero);
        if (p == NULL) return NULL;
        uint8_t *a = (uint8_t *)hf_align_up((uintptr_t)p, align);
        if (a != p) {
            hf_page *pg = hfi_page_of((hf_segment *)hfi_header_of(p), p);
            atomic_fetch_or_explicit(&pg->flags, HF_PAGE_HAS_ALIGNED, memory_order_relaxed);
            pg->free_limit = 0; /* frees of this page take the generic path */
        }
        return a;
    }
    hf_heap *heap = hfi_plain_heap();
    return heap != NULL ? hfi_heap_span_alloc(heap, n, align, zero) : NULL;
}

void *hfi_plain_realloc(void *p, size_t n) {
    if (p == NULL) return hfi_plain_malloc(n, false);
    if (n == 0) { /* glibc's behaviour: free and return NULL */
        hfi_plain_free(p);
        return NULL;
    }
    hf_header *h;
    size_t usable = hfi_plain_usable(p, &h);
    if (h == NULL) {
        /* Not ours: we cannot know its size, so we cannot move it. */
        hfi_set_enomem();
        return NULL;
    }
    if (h->kind == HF_SEG_SPAN) {
        if (n > HF_MEDIUM_MAX) return hfi_span_realloc((hf_span *)h, p, n);
        /* Small again: checked by the span (a freed span reports), then moved to a page. */
        if (usable == 0) return hfi_span_realloc((hf_span *)h, p, n);
        void *q = hfi_plain_malloc(n, false);
        if (q == NULL) return NULL;
        memcpy(q, p, n < usable ? n : usable); /* an over-aligned span may hold less than n */
        hfi_span_free((hf_span *)h, p);
        return q;
    }
    if (h->kind == HF_SEG_LAB) return hfi_lab_realloc(h, p, n);
    hf_page *pg = usable ? hfi_page_of((hf_segment *)h, p) : NULL;
    hf_block *b = pg ? (hf_block *)((uint8_t *)p + usable - pg->block_size) : NULL;
    if (b == NULL || b->mark == hfi_free_mark(b)) {
        hfi_report(HF_ERR_REALLOC_FREED, p, 0);
        return NULL;
    }
    /* In place when the block is big enough and not more than twice too big. */
    if (n <= usable && (n >= usable / 2 || usable <= 64)) return p;
    void *q = hfi_plain_malloc(n, false);
    if (q == NULL) return NULL;
    memcpy(q, p, n < usable ? n : usable);
    hfi_plain_free(p);
    return q;
}

/* Free p, whose segment header is h (NULL when the page map has no header at p's segment:
 * then p may still be a span's or a lab region's interior unit). Every case free's fast path
 * does not take. */
void hfi_plain_free_at(hf_header *h, void *p) {
    if (h == NULL) {
        h = hfi_header_of_slow(p);
        if (h == NULL) return; /* not ours: memory from before we were loaded, or bogus */
        if (h->kind != HF_SEG_SPAN && h->kind != HF_SEG_LAB) {
            hfi_report(HF_ERR_INVALID_FREE, p, 0);
            return;
        }
    }
    if (h->kind == HF_SEG_SPAN) {
        hfi_span_free((hf_span *)h, p);
        return;
    }
    if (h->kind == HF_SEG_LAB) { /* a block of a lab arena */
        hfi_lab_free(h, p);
        return;
    }
    if (h->kind != HF_SEG_SMALL && h->kind != HF_SEG_MEDIUM) {
        hfi_report(HF_ERR_DOUBLE_FREE, p, 0); /* the whole segment is free */
        return;
    }
    hf_segment *s = (hf_segment *)h;
    hf_page *pg = hfi_page_of(s, p);
    if (!pg->in_use) {
        hfi_report(HF_ERR_DOUBLE_FREE, p, 0); /* the whole page is free */
        return;
    }
    uint32_t bs = pg->block_size;
    hf_heap *heap = hfi_tl_heap;
    bool local = atomic_load_explicit(&h->owner, memory_order_relaxed) == (uintptr_t)heap;
    /* capacity is the owner's to change; another thread checks against reserved. */
    uint32_t limit = local ? __atomic_load_n(&pg->capacity, __ATOMIC_RELAXED) : pg->reserved;
    uintptr_t off = (uintptr_t)p - (uintptr_t)pg->start;
    hf_block *b = p;
    if (!(off < (uint64_t)limit * bs && hfi_page_is_block_offset(pg, off))) {
        b = NULL;
        if (atomic_load_explicit(&pg->flags, memory_order_relaxed) & HF_PAGE_HAS_ALIGNED) {
            b = hfi_page_block_start(pg, p);
            if (b != NULL && !local && (uint8_t *)b >= hfi_page_end(pg)) b = NULL;
        }
        if (b == NULL) {
            hfi_report(HF_ERR_INVALID_FREE, p, bs);
            return;
        }
    }
    hfi_shadow_open(b, sizeof *b); /* checker builds: the mark is the allocator's own word */
    bool again = b->mark == hfi_free_mark(b);
    if (!again) b->mark = hfi_free_mark(b);
    hfi_shadow_close(b, sizeof *b);
    if (again) {
        hfi_report(HF_ERR_DOUBLE_FREE, p, bs);
        return;
    }
    if (local) {
        hfi_link_set(pg, b, pg->local_free);
        pg->local_free = b;
        if (--pg->used == 0)
            hfi_heap_page_retire(heap, pg);
        else if (atomic_load_explicit(&pg->flags, memory_order_relaxed) & HF_PAGE_IN_FULL)
            hfi_heap_page_unfull(heap, pg);
        return;
    }
    /* Another heap's block: kept for this thread's own mallocs while there is room. */
    if (!hfi_foreign_keep(heap, pg, b)) hfi_page_push_remote(h, pg, b);
}

size_t hfi_plain_usable(const void *p, hf_header **hdr) {
    if (p == NULL) return 0;
    hf_header *h = hfi_header_of_slow(p);
    if (hdr) *hdr = h;
    if (h == NULL) return 0;
    if (h->kind == HF_SEG_SPAN) return hfi_span_usable((const hf_span *)h, p);
    if (h->kind == HF_SEG_LAB) return hfi_lab_usable_size(h, p);
    if (h->kind != HF_SEG_SMALL && h->kind != HF_SEG_MEDIUM) return 0;
    hf_page *pg = hfi_page_of((hf_segment *)h, p);
    if (!pg->in_use) return 0;
    /* No capacity check here: another thread may be extending the page. */
    if ((const uint8_t *)p < pg->start || (const uint8_t *)p >= hfi_page_end(pg)) return 0;
    size_t off = (size_t)((const uint8_t *)p - pg->start);
    return pg->block_size - off % pg->block_size;
}
