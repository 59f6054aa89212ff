/* instrument.c -- the hooked paths: per-call statistics, the live-block map behind leak
 * reports, and the calls into the trace recorder (trace/record.c), the secure levels
 * (harden/secure.c) and the memory checkers (internal/shadow.h).
 *
 * Off by default, and then free: the fast paths do not test for it. When HEAPFORGE_STATS,
 * HEAPFORGE_LEAKS, HEAPFORGE_TRACE or HEAPFORGE_SECURE is set at start-up (or the build is a
 * valgrind or asan one), hfi_hooks is set before the first heap exists; heaps then keep their
 * direct tables empty and pages keep free_limit at 0, so every malloc and free reaches a slow path
 * (heap.c, free.c, aligned.c, alloc.c), which calls the hooked function here. A hooked function
 * performs the call through the plain path (plain.c: no hooks, so nothing comes back here) and
 * counts it. Measured cost: BENCHMARK.md.
 *
 * Counters live in the thread's heap (hf_heap_stats) and are merged on read. The peaks need a
 * process-wide view: each heap adds its changes to three process-wide gauges once they exceed
 * HF_STATS_FLUSH bytes (or blocks) -- at once while the process has one thread -- and the
 * gauges keep their high-water marks, so a peak is exact for one thread and within
 * HF_STATS_FLUSH bytes per thread otherwise. */
#include "internal/internal.h"
#include "trace/format.h"

#define HF_STATS_FLUSH (16 * 1024) /* bytes (or blocks / 16) a heap may hold back */

/* Process-wide gauges and their peaks: [0] requested bytes, [1] bytes, [2] blocks. */
static _Atomic(int64_t) gauge[3], gauge_peak[3];

/* Decide, once, before any heap exists. Called by init.c once the environment is read; a heap
 * created earlier (environment not yet readable) keeps instrumentation off, with a warning, because
 * blocks it handed out were never counted. */
void hfi_instrument_init(void) {
    uint32_t want = 0;
    if (hfi_options.stats || hfi_options.leaks) want |= HF_HOOK_STATS;
    if (hfi_options.leaks) want |= HF_HOOK_LEAKS;
    if (hfi_options_trace != NULL) want |= HF_HOOK_TRACE;
    /* The secure levels need each block's requested size (canaries, exact sized frees): the
     * block map, which comes with the counters. */
    if (hfi_options.secure > 0) want |= HF_HOOK_SECURE | HF_HOOK_STATS;
    /* A memory checker build (internal/shadow.h) describes every block from the hooked calls,
     * and a moving realloc copies only the requested bytes, which the block map knows. */
    if (HF_SHADOW) want |= HF_HOOK_STATS;
    if (want == 0) return;
    if (atomic_load(&hfi_os_stats.threads) != 0) {
        hfi_warn("statistics, leak checks, traces and HEAPFORGE_SECURE need the environment "
                 "before the first allocation; they are off");
        return;
    }
    if ((want & HF_HOOK_TRACE) && !hfi_trace_start(hfi_options_trace)) want &= ~HF_HOOK_TRACE;
    hfi_hooks = want;
    if (want & HF_HOOK_SECURE) hfi_secure_init();
}

/* Only the owner writes its heap's counters; relaxed stores let readers load them race-free. */
static inline void bump(int64_t *x, int64_t v) {
    __atomic_store_n(x, *x + v, __ATOMIC_RELAXED);
}

static void gauge_add(int k, int64_t v) {
    int64_t now = atomic_fetch_add_explicit(&gauge[k], v, memory_order_relaxed) + v;
    int64_t peak = atomic_load_explicit(&gauge_peak[k], memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&gauge_peak[k], &peak, now, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
}

static void flush_pending(hf_heap_stats *st) {
    gauge_add(0, st->pend_requested);
    gauge_add(1, st->pend_bytes);
    gauge_add(2, st->pend_blocks);
    st->pend_requested = st->pend_bytes = st->pend_blocks = 0;
}

static unsigned bucket_of(size_t usable) {
    return usable <= HF_MEDIUM_MAX ? hfi_class_of(usable) : HF_STAT_BUCKETS - 1;
}

/* One block came (sign 1) or went (sign -1). */
static void count_block(hf_heap *heap, size_t requested, size_t usable, int sign) {
    hf_heap_stats *st = &heap->stats;
    int64_t r = sign * (int64_t)requested, u = sign * (int64_t)usable;
    bump(&st->live_requested, r);
    bump(&st->live_bytes, u);
    bump(&st->live_blocks, sign);
    bump(&st->class_live[bucket_of(usable)], sign);
    if (sign > 0) {
        bump(&st->mallocs, 1);
        bump(&st->requested_total, r);
        bump(&st->allocated_total, u);
        bump(&st->class_mallocs[bucket_of(usable)], 1);
    } else {
        bump(&st->frees, 1);
    }
    st->pend_requested += r;
    st->pend_bytes += u;
    st->pend_blocks += sign;
    /* A lone thread flushes every change: its peaks are exact. */
    if (st->pend_bytes > HF_STATS_FLUSH || st->pend_bytes < -HF_STATS_FLUSH ||
        st->pend_blocks > HF_STATS_FLUSH / 16 || st->pend_blocks < -HF_STATS_FLUSH / 16 ||
        atomic_load_explicit(&hfi_os_stats.threads, memory_order_relaxed) <= 1)
        flush_pending(st);
}

/* The heap that holds this thread's counters (a lab policy may serve the process: the thread
 * still gets a heap for them). NULL only when out of memory. */
static hf_heap *counting_heap(void) {
    hf_heap *h = hfi_tl_heap;
    return h != &hfi_heap_empty ? h : hfi_heap_get();
}

static void note_alloc(void *p, size_t n, enum hf_call call) {
    if (!(hfi_hooks & HF_HOOK_STATS)) return;
    hf_heap *heap = counting_heap();
    if (heap == NULL) return;
    if (!hfi_blockmap_insert(p, n)) return; /* table out of memory: the block goes uncounted */
    if (call == HF_CALL_CALLOC) bump(&heap->stats.callocs, 1);
    if (call == HF_CALL_ALIGNED) bump(&heap->stats.aligned_allocs, 1);
    count_block(heap, n, hfi_plain_usable(p, NULL), 1);
}

/* Forget p before it is freed (after the free, another thread may get the address again).
 * false when p was not counted: foreign, double free, or early; else its requested size. */
static bool note_free(void *p, size_t *n) {
    if (!(hfi_hooks & HF_HOOK_STATS) || !hfi_blockmap_remove(p, n)) return false;
    hf_heap *heap = counting_heap();
    if (heap != NULL) count_block(heap, *n, hfi_plain_usable(p, NULL), -1);
    return true;
}

/* Memory checker builds (internal/shadow.h): the usable size of a block the checker is told
 * about, else 0. Only the default allocator's blocks (pages and spans): a lab arena's blocks
 * hold the policy's own headers and links, which the checker would take for the program's
 * accesses, so they stay unseen; foreign pointers are left to the ordinary free. */
static size_t shadow_usable(const void *p) {
    hf_header *h;
    size_t usable = p != NULL ? hfi_plain_usable(p, &h) : 0;
    return usable != 0 && h->kind != HF_SEG_LAB ? usable : 0;
}
static inline void shadow_alloc(const void *p, size_t n, bool zeroed) {
    size_t usable = HF_SHADOW ? shadow_usable(p) : 0;
    if (usable != 0) hfi_shadow_alloc(p, n, usable, zeroed);
}
static inline void shadow_free(const void *p) {
    size_t usable = HF_SHADOW ? shadow_usable(p) : 0;
    if (usable != 0) hfi_shadow_free(p, usable);
}

void *hfi_hooked_alloc(size_t n, size_t align, enum hf_call call) {
    size_t ask = hfi_secure != 0 ? hfi_secure_request(n) : n; /* room for a canary */
    void *p = call == HF_CALL_ALIGNED ? hfi_plain_aligned(align, ask, false)
                                      : hfi_plain_malloc(ask, call == HF_CALL_CALLOC);
    if (p != NULL) note_alloc(p, n, call);
    if (p != NULL && hfi_secure != 0) hfi_secure_alloced(p, n);
    shadow_alloc(p, n, call == HF_CALL_CALLOC);
    if (hfi_hooks & HF_HOOK_TRACE) {
        static const uint8_t ops[] = {HFI_TRACE_MALLOC, HFI_TRACE_CALLOC, HFI_TRACE_ALIGNED};
        hfi_trace_record(ops[call], HFI_TRACE_MEMALIGN, 0, p, n, NULL, align);
    }
    return p;
}

void hfi_hooked_free(void *p) {
    if (hfi_hooks & HF_HOOK_TRACE) hfi_trace_record(HFI_TRACE_FREE, 0, 0, p, 0, NULL, 0);
    size_t n = 0;
    /* Level 3: claimed before the map forgets it, so a racing free of p sees it (quarantine.c). */
    if (hfi_secure >= HF_SECURE_QUARANTINE && p != NULL) hfi_quarantine_claim(p);
    bool known = note_free(p, &n);
    /* Only a block really being freed is shown freed to the checker: a racing double free must
     * not poison the block while its first free is still checking it. */
    if (known) shadow_free(p);
    if (hfi_secure != 0) {
        hfi_secure_free(p, known, n); /* checks, then frees or quarantines */
        return;
    }
    hfi_plain_free(p);
}

/* realloc moved or resized a block into q (in place: the same address; NULL when realloc(p, 0)
 * freed it): the old block's figures go, the new one's come, and the call counts as one
 * realloc. */
static void note_realloc(size_t old_n, size_t old_usable, bool counted, void *q, size_t n) {
    if (!(hfi_hooks & HF_HOOK_STATS)) return;
    hf_heap *heap = counting_heap();
    if (heap == NULL) return;
    if (counted) {
        count_block(heap, old_n, old_usable, -1);
        bump(&heap->stats.frees, -1); /* a realloc, not a free */
        bump(&heap->stats.reallocs, 1);
    }
    if (q != NULL && hfi_blockmap_insert(q, n)) {
        count_block(heap, n, hfi_plain_usable(q, NULL), 1);
        if (counted) bump(&heap->stats.mallocs, -1); /* nor a malloc */
    }
}

/* Recording: the event must be stamped while both blocks are out of other threads' reach --
 * after the new block is taken and before the old one is freed -- or the trace could show an
 * address handed out twice. So a moving realloc is done here as malloc, copy, record, free
 * (the allocator's own in-place growth is given up while recording; at a secure level every
 * realloc moves, so the old block takes the secure free: checks and quarantine). Level 3 takes
 * this path whether recording or not, for that quarantine of the old copy. Memory
 * checker builds take this path too: a realloc is a resize in place or a malloc, a copy of the
 * requested bytes and a free, each described to the checker (internal/shadow.h). */
static void *traced_realloc(void *p, size_t n) {
    size_t usable = hfi_plain_usable(p, NULL);
    if (usable == 0 || n > PTRDIFF_MAX) { /* not a live block: the allocator reports or fails */
        return hfi_plain_realloc(p, n);
    }
    size_t old_n = 0;
    bool counted = (hfi_hooks & HF_HOOK_STATS) && hfi_blockmap_remove(p, &old_n);
    if (hfi_secure != 0 && !hfi_secure_realloc_ok(p, counted, old_n)) return NULL;
    size_t keep = counted ? old_n : usable; /* the bytes that hold the program's data */
    void *q = p;
    if (n == 0 || hfi_secure != 0 || n > usable || (n < usable / 2 && usable > 64)) {
        q = n == 0 ? NULL : hfi_plain_malloc(hfi_secure != 0 ? hfi_secure_request(n) : n, false);
        if (q == NULL && n != 0) {
            if (counted) hfi_blockmap_insert(p, old_n);
            return NULL;
        }
        if (q != NULL) {
            shadow_alloc(q, n, false);
            memcpy(q, p, n < keep ? n : keep);
        }
    } else if (HF_SHADOW && shadow_usable(p) != 0) {
        hfi_shadow_resize(p, keep, n, usable);
    }
    hfi_trace_record(HFI_TRACE_REALLOC, 0, 0, q, n, p, 0);
    note_realloc(old_n, usable, counted, q, n);
    if (q != NULL && hfi_secure != 0) hfi_secure_alloced(q, n);
    if (q != p) {
        shadow_free(p);
        if (hfi_secure != 0) {
            hfi_secure_free(p, counted, old_n);
        } else {
            hfi_plain_free(p);
        }
    }
    return q;
}

/* The old block is forgotten before the call, as in free: once realloc has moved it, another
 * thread may get its address. A failed realloc puts it back. */
void *hfi_hooked_realloc(void *p, size_t n) {
    if (p == NULL) return hfi_hooked_alloc(n, 0, HF_CALL_MALLOC);
    /* Level 3 moves every block as malloc, copy, free, so the old copy takes the secure free
     * and waits in the quarantine (a write through the old pointer is then seen). */
    if ((hfi_hooks & HF_HOOK_TRACE) || hfi_secure >= HF_SECURE_QUARANTINE ||
        (HF_SHADOW && shadow_usable(p) != 0))
        return traced_realloc(p, n);
    if (n == 0 && hfi_secure != 0) { /* free and return NULL, through the secure free */
        hfi_hooked_free(p);
        return NULL;
    }
    size_t old_n = 0;
    bool counted = (hfi_hooks & HF_HOOK_STATS) && hfi_blockmap_remove(p, &old_n);
    if (hfi_secure != 0 && !hfi_secure_realloc_ok(p, counted, old_n)) return NULL;
    size_t old_usable = counted ? hfi_plain_usable(p, NULL) : 0;
    void *q = hfi_plain_realloc(p, hfi_secure != 0 ? hfi_secure_request(n) : n);
    if (q == NULL && n != 0) {
        if (counted) hfi_blockmap_insert(p, old_n);
        return NULL;
    }
    note_realloc(old_n, old_usable, counted, q, n);
    if (q != NULL && hfi_secure != 0) hfi_secure_alloced(q, n);
    return q;
}

/* A thread exits (init.c, before hfi_heap_thread_done merges its counters): the changes it
 * held back reach the process-wide gauges. */
void hfi_instrument_thread_done(hf_heap *h) {
    flush_pending(&h->stats);
}

/* Every counter summed, and the peaks: [0] requested, [1] bytes, [2] blocks. A peak is at
 * least the current exact sum. */
void hfi_instrument_sum(hf_heap_stats *out, int64_t peaks[3]) {
    memset(out, 0, sizeof *out);
    hfi_heap_stats_sum(out);
    int64_t now[3] = {out->live_requested, out->live_bytes, out->live_blocks};
    for (int k = 0; k < 3; k++) {
        int64_t p = atomic_load_explicit(&gauge_peak[k], memory_order_relaxed);
        peaks[k] = p > now[k] ? p : now[k];
    }
}
