/* internal.h -- cross-file prototypes, grouped by the file that owns them, and the few inline
 * helpers the fast paths share. Naming: hfi_<module>_<verb>; `_locked` means the caller holds
 * the lock named in the comment. */
#ifndef HF_INTERNAL_H
#define HF_INTERNAL_H

#include "types.h"
#include "shadow.h"
#include "heapforge.h"
#include <stdbool.h>
#include <stdarg.h>
#include <errno.h>
#include <string.h>

/* Everything declared below is internal: hidden, so the compiler addresses globals directly
 * instead of through the GOT. */
#pragma GCC visibility push(hidden)

#define HF_LIKELY(x)   __builtin_expect(!!(x), 1)
#define HF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HF_NOINLINE    __attribute__((noinline))
#define HF_COLD        __attribute__((cold, noinline))
#define HF_HIDDEN      __attribute__((visibility("hidden")))
#define HF_TLS         __thread __attribute__((tls_model("initial-exec")))

#ifndef HF_DEBUG
#define HF_DEBUG 0
#endif
/* Assertions in levels: 1 API misuse, 2 internal invariants, 3 expensive validators. */
#define hf_assert_level(lvl, cond)                                                                 \
    do {                                                                                           \
        if (HF_DEBUG >= (lvl) && !(cond)) hfi_assert_fail(#cond, __FILE__, __LINE__);              \
    } while (0)
#define hf_assert(cond) hf_assert_level(2, cond)

static inline uintptr_t hf_align_up(uintptr_t x, uintptr_t a) {
    return (x + a - 1) & ~(a - 1);
}
static inline uintptr_t hf_align_down(uintptr_t x, uintptr_t a) {
    return x & ~(a - 1);
}
static inline bool hf_is_pow2(size_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}

/* ---- prim/linux.c: the only file that makes system calls ------------------------------ */
void *hfi_prim_mmap(void *hint, size_t size, bool reserve_only);
bool hfi_prim_munmap(void *p, size_t size);
bool hfi_prim_purge(void *p, size_t size);
void *hfi_prim_mremap(void *p, size_t old_size, size_t new_size, void *fixed_target);
size_t hfi_prim_resident(void *p, size_t size); /* resident bytes (mincore) */
void *hfi_prim_sbrk(intptr_t delta);            /* old break, NULL on failure */
void hfi_prim_write_stderr(const char *s, size_t n);
uint64_t hfi_prim_clock_ms(void);
void hfi_prim_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
bool hfi_prim_single_threaded(void); /* no thread was ever created */
void hfi_prim_stdio_fork(int phase); /* 0 lock, 1 unlock (parent), 2 reset (child) */
uint64_t hfi_prim_random_seed(void);
void hfi_prim_yield(void);
size_t hfi_prim_rss_bytes(void);
size_t hfi_prim_peak_rss_bytes(void);
uint64_t hfi_prim_clock_ns(void);
uint64_t hfi_prim_realtime_ns(void);
size_t hfi_prim_read_file(const char *path, char *buf, size_t n);
uint32_t hfi_prim_thread_id(void);
uint32_t hfi_prim_process_id(void);
int hfi_prim_open_write(const char *path, bool append); /* fd, or -1 */
int hfi_prim_create_new(const char *path);              /* fd; -1 exists; -2 other error */
bool hfi_prim_process_alive(uint32_t pid);
bool hfi_prim_write(int fd, const void *buf, size_t n);
void hfi_prim_close(int fd);
__attribute__((noreturn)) void hfi_prim_abort(void);
bool hfi_prim_protect(void *p, size_t size, bool access); /* false: access none */
bool hfi_prim_read_only(void *p, size_t size);            /* PROT_READ */
void hfi_prim_program_data(uintptr_t *lo, uintptr_t *hi);

/* ---- libc.c: non-allocating replacements for the libc we must not call ------------------ */
const char *hfi_getenv(const char *name);
int hfi_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int hfi_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool hfi_parse_size(const char *s, long long *result);
void hfi_expand_path(char *out, size_t n, const char *pattern); /* %p: the process id */

/* ---- options.c ------------------------------------------------------------------------- */
/* X(name, default, minimum, description). Read from HEAPFORGE_<NAME> (upper case); sizes take
 * K/M/G suffixes. */
#define HF_OPTION_LIST(X)                                                                          \
    X(purge_delay, 10, -1, "ms an empty page waits before it is returned to the OS (-1 never)")    \
    X(huge_threshold, 128LL << 20, HF_MEDIUM_MAX,                                                  \
      "blocks this large or larger are unmapped on free")                                          \
    X(segment_cache, 8, 0,                                                                         \
      "empty 4 MiB segments a thread keeps resident for reuse (more stay mapped, purged)")         \
    X(span_cache, 256LL << 20, 0, "bytes of freed large blocks kept mapped for reuse")             \
    X(foreign_cache, 16LL << 10, 0,                                                                \
      "bytes of other threads' blocks a thread keeps per size class when it frees them (0 off)")   \
    X(verbose, 0, 0, "1: print the options in effect at start-up")                                 \
    X(stats, 0, 0,                                                                                 \
      "1: count every call and print statistics at exit, json: as JSON (see "                      \
      "HEAPFORGE_STATS_FILE)")                                                                     \
    X(leaks, 0, 0, "1: count every call and report the blocks still live at exit")                 \
    X(secure, 0, 0, "hardening level 0..3 (docs/hardening.md); 1 and up run instrumented")         \
    X(quarantine, 4LL << 20, 0, "bytes of freed blocks held back at HEAPFORGE_SECURE=3")

typedef struct hf_options {
#define HF_OPTION_FIELD(name, def, min, desc) long long name;
    HF_OPTION_LIST(HF_OPTION_FIELD)
#undef HF_OPTION_FIELD
} hf_options;
/* The settings page: every process-wide value that is fixed once start-up is complete, alone
 * on one OS page so that HEAPFORGE_SECURE=3 can make it read-only (hfi_settings_seal, called at
 * the end of the constructor): an overflow or a stray write cannot then switch the checks off,
 * forge the secret or redirect the reports. Owners write their field during start-up only
 * (options.c, init.c, instrument.c, harden/secure.c, lab/policy.c); state that changes later
 * lives elsewhere. The old names stay, as macros for the fields, so the code that reads them is
 * unchanged; reading a field costs what reading a global did (an address in the library). */
typedef struct hf_settings {
    hf_options options;
    const char *policy;     /* HEAPFORGE_POLICY: the allocator serving the process */
    const char *stats_file; /* HEAPFORGE_STATS_FILE: reports go there (%p: pid) */
    const char *trace;      /* HEAPFORGE_TRACE: record every call there (%p: pid) */
    uintptr_t secret;       /* segment.c: header cookies, free marks, encoded links, patterns */
    uint32_t hooks;         /* instrument.c: HF_HOOK_* */
    int secure;             /* harden/secure.c: the level in effect */
    int lab_process_policy; /* lab/policy.c: a lab policy serves the whole process (0: fast) */
    bool warn;              /* HEAPFORGE_ON_ERROR=warn: report and carry on */
    bool read;              /* the environment has been read */
} hf_settings;
typedef union hf_settings_page {
    hf_settings s;
    uint8_t page[HF_OS_PAGE_SIZE];
} __attribute__((aligned(HF_OS_PAGE_SIZE))) hf_settings_page;
_Static_assert(sizeof(hf_settings_page) == HF_OS_PAGE_SIZE, "the settings fill one page");
extern hf_settings_page hfi_settings_page;
#define hfi_settings           (hfi_settings_page.s)
#define hfi_options            (hfi_settings.options)
#define hfi_options_policy     (hfi_settings.policy)
#define hfi_options_stats_file (hfi_settings.stats_file)
#define hfi_options_trace      (hfi_settings.trace)
#define hfi_options_warn       (hfi_settings.warn)
#define hfi_options_read       (hfi_settings.read)
#define hfi_secret             (hfi_settings.secret)
#define hfi_hooks              (hfi_settings.hooks)
#define hfi_secure             (hfi_settings.secure)
#define hfi_lab_process_policy (hfi_settings.lab_process_policy)
bool hfi_options_init(void); /* true: the environment was read now */
void hfi_options_print(void);
void hfi_settings_seal(void); /* level 3: the settings page becomes read-only */

/* ---- report.c: the one cold reporter ---------------------------------------------------- */
HF_COLD __attribute__((noreturn)) void hfi_assert_fail(const char *cond, const char *file,
                                                       int line);
/* Every error the library reports: its kind and its stable message, the words tests, docs and
 * users' scripts match (`heapforge: double free of 0x... (size 48)`). The faults are the
 * SIGSEGV explainer's kinds (harden/fault.c). */
#define HF_ERROR_LIST(X)                                                                           \
    X(DOUBLE_FREE, "double free")                                                                  \
    X(INVALID_FREE, "invalid free")                                                                \
    X(HEAP_CORRUPTION, "heap corruption")                                                          \
    X(WRITE_AFTER_FREE, "write after free")                                                        \
    X(REALLOC_FREED, "realloc of a freed block")                                                   \
    X(USABLE_FREED, "malloc_usable_size of a freed block")                                         \
    X(FREE_SIZED_SIZE, "free_sized with a wrong size")                                             \
    X(FREE_ALIGNED_ALIGN, "free_aligned_sized with a wrong alignment")                             \
    X(DELETE_SIZE, "operator delete with a wrong size")                                            \
    X(DELETE_ALIGN, "operator delete with a wrong alignment")                                      \
    X(FAULT_OVERFLOW, "overflow past the end")                                                     \
    X(FAULT_USE_AFTER_FREE, "use after free")                                                      \
    X(FAULT_GUARD, "access to a guard page")                                                       \
    X(FAULT_SETTINGS, "access to the sealed settings")
typedef enum hf_error {
#define HF_ERROR_KIND(kind, message) HF_ERR_##kind,
    HF_ERROR_LIST(HF_ERROR_KIND)
#undef HF_ERROR_KIND
        HF_ERR_COUNT
} hf_error;
const char *hfi_error_message(hf_error kind);
/* `heapforge: <message> of <p> (size N)` (size 0: no size), then abort, or return when
 * HEAPFORGE_ON_ERROR=warn (the caller leaves the block alone). */
HF_COLD void hfi_report(hf_error kind, const void *p, size_t size);
HF_COLD void hfi_report_error(const char *what, const void *p,
                              size_t size); /* the lab's, for now */
HF_COLD void hfi_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hfi_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- os.c: mappings with accounting ----------------------------------------------------- */
typedef struct hf_os_stats {
    atomic_size_t reserved, committed, purges, mmaps, munmaps, segments, spans, cached;
    atomic_size_t abandoned, threads, peak_committed, purged;
} hf_os_stats;
extern hf_os_stats hfi_os_stats;
void *hfi_os_map_aligned(size_t size, size_t align, void **map_base, size_t *map_size);
void *hfi_os_map_lazy(size_t size, size_t align, size_t commit, void **map_base, size_t *map_size);
void hfi_os_unmap(void *base, size_t size);
void hfi_os_purge(void *p, size_t size);
void hfi_os_commit_delta(ptrdiff_t delta);
/* Who gives cached address space back when the OS refuses a mapping (os.c, reclaim). */
typedef size_t (*hf_reclaim_fn)(bool force);
enum { HF_RECLAIM_SEGMENTS, HF_RECLAIM_SPANS, HF_RECLAIMERS };
void hfi_os_on_refusal(unsigned slot, hf_reclaim_fn fn);
void *hfi_os_remap(void *p, size_t old_size, size_t new_size, size_t align, bool may_move);

/* ---- lock.c: the spin lock ------------------------------------------------------------- */
void hfi_lock(hf_lock *l);
void hfi_unlock(hf_lock *l);
static inline void hfi_lock_init(hf_lock *l) {
    atomic_store(&l->v, 0);
}
/* For the asserts of `_locked` functions: held by some thread (a spin lock has no owner). */
static inline bool hfi_lock_held(hf_lock *l) {
    return atomic_load_explicit(&l->v, memory_order_relaxed) != 0;
}

/* ---- clock.c: milliseconds since start-up ---------------------------------------------- */
uint64_t hfi_now_ms(void);

/* ---- pagemap.c: one byte per segment-sized unit of the address space, in two levels ----- */
/* Root entry r is its leaf's address minus r * HF_PAGEMAP_LEAF: unit idx's byte is at
 * root[idx / HF_PAGEMAP_LEAF] + idx, with no mask of idx on free's fast path. */
extern _Atomic(uintptr_t) hfi_pagemap_root[HF_PAGEMAP_ROOT];
/* Gives [base, base+size) leaves of its own so its units can be registered; false when the OS
 * has no memory for a leaf. os.c calls it for every mapping before returning it. */
bool hfi_pagemap_cover(const void *base, size_t size);
void hfi_pagemap_register(void *header, void *end, bool tail);
void hfi_pagemap_unregister(void *header, void *end);
/* Unit idx's byte (idx < HF_PAGEMAP_COUNT): a root load, then a byte load. */
static inline uint8_t hfi_pagemap_entry(uintptr_t idx, memory_order mo) {
    uintptr_t bias =
        atomic_load_explicit(&hfi_pagemap_root[idx / HF_PAGEMAP_LEAF], memory_order_relaxed);
    return atomic_load_explicit((_Atomic(uint8_t) *)(bias + idx), mo);
}
/* The header that owns p, or NULL if p is not in memory heapforge manages. */
static inline bool hfi_pagemap_has_header(const void *p) {
    uintptr_t r = (uintptr_t)p >> (HF_SEGMENT_SHIFT + 16);
    _Static_assert(HF_PAGEMAP_LEAF == (size_t)1 << 16, "r is the root index");
    return r < HF_PAGEMAP_ROOT && hfi_pagemap_entry((uintptr_t)p >> HF_SEGMENT_SHIFT,
                                                    memory_order_relaxed) == HF_MAP_HEADER;
}
static inline hf_header *hfi_header_of(const void *p) {
    if (HF_LIKELY(hfi_pagemap_has_header(p))) return (hf_header *)((uintptr_t)p & ~HF_SEGMENT_MASK);
    return NULL;
}
/* The header that owns p from any unit of its mapping (hfi_header_of covers the first only). */
hf_header *hfi_header_of_slow(const void *p);
void hfi_header_publish(hf_header *h, void *base, size_t size, bool tail);

/* ---- size_class.c ----------------------------------------------------------------------- */
extern const uint32_t hfi_class_size[HF_CLASS_COUNT];
static inline unsigned hfi_class_of(size_t n) {
    if (n <= 128) return n <= 16 ? 0 : (unsigned)((n + 15) >> 4) - 1;
    size_t m = n - 1;
    unsigned b = 63u - (unsigned)__builtin_clzll(m); /* 2^b <= m < 2^(b+1), b >= 7 */
    if (b < 10) return 8u + (b - 7u) * 8u + (unsigned)((m >> (b - 3)) & 7u);
    return 32u + (b - 10u) * 16u + (unsigned)((m >> (b - 4)) & 15u);
}
bool hfi_class_is_valid(void);

/* ---- page.c ----------------------------------------------------------------------------- */
extern hf_page hfi_page_empty;
void hfi_page_init(hf_page *pg, uint8_t *start, size_t area, unsigned class_idx, bool zero);
bool hfi_page_extend(hf_page *pg);
void hfi_page_update_limit(hf_page *pg);
void hfi_page_collect(hf_page *pg);
bool hfi_page_contains_free(hf_page *pg, const hf_block *b);
void *hfi_page_block_start(const hf_page *pg, const void *p);
void *hfi_page_pop_checked(hf_page *pg, size_t n, bool zero); /* secure: decoded, checked */
bool hfi_page_is_valid(const hf_page *pg, const char **why);
void hfi_queue_push_front(hf_page_queue *q, hf_page *pg);
void hfi_queue_push_back(hf_page_queue *q, hf_page *pg);
void hfi_queue_remove(hf_page_queue *q, hf_page *pg);
static inline uint8_t *hfi_page_end(const hf_page *pg) {
    return pg->start + (size_t)pg->reserved * pg->block_size;
}
static inline hf_segment *hfi_segment_of_page(const hf_page *pg) {
    return (hf_segment *)((uintptr_t)pg & ~HF_SEGMENT_MASK);
}

/* Take the first free block of pg (which has one): count it, clear its double-free mark, and
 * for calloc clear it -- only its link word when the page's free blocks are fresh memory. */
static inline void *hfi_page_pop(hf_page *pg, size_t n, bool zero) {
    hf_block *b = pg->free;
    hfi_shadow_open(b, pg->block_size); /* checker builds: the allocator's own access */
    bool was_zero = pg->free_is_zero;
    pg->free = b->next;
    pg->used++;
    b->mark = 0;
    if (zero) {
        if (was_zero)
            b->next = NULL;
        else
            memset(b, 0, n < sizeof(hf_block) ? sizeof(hf_block) : n);
    }
    return b;
}

/* The malloc fast path's page (malloc, calloc, operator new): the direct table's page for n if
 * it has a free block, else NULL (the caller takes the heap's slow path). Sizes above 1 KiB go
 * to the slow path: a fast path through the class's queue head was measured and dropped, since
 * a malloc/free loop of medium blocks runs its page's free list dry on every call (a carve step
 * of 4 KiB is one block) and took the slow path anyway (4 KiB pairs: 146 -> 169 instructions). */
static inline hf_page *hfi_direct_page(hf_heap *heap, size_t n) {
    if (HF_UNLIKELY(n > HF_DIRECT_MAX)) return NULL;
    hf_page *pg = heap->direct[(n + 15) >> 4];
    hf_assert(hfi_secure == 0 || pg->free == NULL); /* secure: links are encoded */
    return HF_LIKELY(pg->free != NULL) ? pg : NULL;
}

/* Queue links of a page (beside the page table in its segment). */
static inline hf_page_link *hfi_page_link(const hf_page *pg) {
    hf_segment *s = hfi_segment_of_page(pg);
    return &s->links[pg - s->pages];
}
static inline hf_page *hfi_page_next(const hf_page *pg) {
    return hfi_page_link(pg)->next;
}
static inline hf_page *hfi_page_prev(const hf_page *pg) {
    return hfi_page_link(pg)->prev;
}

/* A freed block's mark (its second word): the block's address keyed by the secret. */
static inline uintptr_t hfi_free_mark(const hf_block *b) {
    return (uintptr_t)b ^ hfi_secret;
}

/* Is off (< 2^32) a multiple of the page's block size? One multiply, no divide. */
static inline bool hfi_page_is_block_offset(const hf_page *pg, uintptr_t off) {
    return (uint64_t)(uint32_t)off * pg->div_magic < pg->div_magic;
}

/* The page that holds p inside a small or medium segment. */
static inline hf_page *hfi_page_of(hf_segment *s, const void *p) {
    return &s->pages[((uintptr_t)p - (uintptr_t)s) >> s->h.page_shift];
}

/* ---- page.c: a page gives a block back to its owner thread ----------------------------- */
void hfi_page_push_remote(hf_header *h, hf_page *pg, hf_block *b); /* lock-free, any thread */
void hfi_page_remote_mark(hf_header *h); /* flag h's segment and owner heap: frees came back */

/* ---- segment.c -------------------------------------------------------------------------- */
/* The memory of a page slot the segment handed out: the caller initialises the page there
 * (hfi_page_init), so the segment layer knows nothing of free lists. */
typedef struct hf_slot {
    uint8_t *start;
    size_t area;
    bool zero; /* never written since it was mapped or purged */
} hf_slot;
hf_page *hfi_segment_page_alloc(hf_heap *heap, unsigned class_idx, hf_slot *slot);
void hfi_segment_page_free(hf_heap *heap, hf_page *pg);
void hfi_segment_touch(hf_segment *s, const void *lo, const void *hi);
bool hfi_segment_extend_ok(hf_heap *heap, const hf_page *pg);
void hfi_segment_purge_due(hf_heap *heap, uint64_t now, bool force);
void hfi_segment_abandon_all(hf_heap *heap);
/* Adopt an exited thread's segment (of class c's kind): returned with its pages still to join
 * the heap's queues (heap.c), or NULL. */
hf_segment *hfi_segment_reclaim(hf_heap *heap);
hf_segment *hfi_segment_reclaim_class(hf_heap *heap, unsigned c);
bool hfi_segment_has_warm_slot(const hf_heap *heap, unsigned c);
void hfi_segment_abandoned_purge(uint64_t now);
uint64_t hfi_segment_abandoned_due(void);
size_t hfi_segment_cache_trim(bool force);
uint64_t hfi_segment_cache_due(void);
bool hfi_segment_is_valid(const hf_segment *s, const char **why);
void hfi_segment_fork_prepare(void);
void hfi_segment_fork_parent(void);
void hfi_segment_fork_child(void);

/* ---- large.c: spans -------------------------------------------------------------------- */
void *hfi_span_alloc(size_t n, size_t align, bool zero);
void hfi_span_free(hf_span *sp, void *p);
void *hfi_span_realloc(hf_span *sp, void *p, size_t n); /* n > HF_MEDIUM_MAX */
size_t hfi_span_usable(const hf_span *sp, const void *p);
size_t hfi_span_cache_trim(bool force);
uint64_t hfi_span_cache_due(void);
void hfi_span_fork_prepare(void);
void hfi_span_fork_parent(void);
void hfi_span_fork_child(void);

/* ---- foreign.c: other heaps' blocks this thread freed, kept for its mallocs -------------- */
void hfi_foreign_open(hf_page *fp, unsigned c);
bool hfi_foreign_keep(hf_heap *heap, hf_page *pg, hf_block *b);
void *hfi_foreign_take(hf_heap *heap, hf_page *fp, size_t n, bool zero);
void hfi_foreign_flush(hf_heap *heap);
void hfi_foreign_gc(hf_heap *heap, uint64_t now);
bool hfi_foreign_is_valid(const hf_heap *heap, unsigned c, const char **why);

/* ---- heap.c ----------------------------------------------------------------------------- */
extern HF_TLS hf_heap *hfi_tl_heap;
extern hf_heap hfi_heap_empty;
void hfi_heap_process_init(void (*on_exit)(void *heap)); /* on_exit: at each thread's exit */
hf_heap *hfi_heap_get(void); /* this thread's heap, created on first use (after process init) */
void hfi_heap_thread_done(hf_heap *h);
void *hfi_heap_malloc_slow(hf_heap *heap, size_t n, bool zero); /* the call is routed already */
void *hfi_heap_span_alloc(hf_heap *heap, size_t n, size_t align, bool zero); /* retries once */
bool hfi_heap_page_retire(hf_heap *heap, hf_page *pg); /* true: the page was freed */
void hfi_heap_page_unfull(hf_heap *heap, hf_page *pg);
bool hfi_heap_reclaim(hf_heap *heap); /* adopt one exited thread's segment; false: none */
void hfi_heap_collect(hf_heap *heap, bool force);
void hfi_heap_stats_add(hf_heap_stats *to, const hf_heap_stats *from);
void hfi_heap_stats_sum(hf_heap_stats *out); /* every heap's counters, exited ones' too */
bool hfi_heap_is_valid(const hf_heap *heap, const char **why);
void hfi_heap_fork_prepare(void);
void hfi_heap_fork_parent(void);
void hfi_heap_fork_child(void);
/* Point class c's direct-table entries at pg (a page of the class, or its foreign stand-in).
 * Instrumented, every entry stays on the empty page: every malloc takes the slow path, where
 * the counting happens. Inline, so foreign.c sits below the heap. */
static inline void hfi_heap_direct_to(hf_heap *heap, unsigned c, hf_page *pg) {
    uint32_t size = hfi_class_size[c];
    if (size > HF_DIRECT_MAX) return;
    if (pg == NULL || hfi_hooks != 0) pg = &hfi_page_empty;
    size_t lo = c == 0 ? 0 : hfi_class_size[c - 1] / 16 + 1;
    for (size_t d = lo; d <= size / 16; d++) heap->direct[d] = pg;
}

/* ---- lab/arena.c: the lab's glue to free, realloc and fork ------------------------------ */
void hfi_lab_free(hf_header *h, void *p);
size_t hfi_lab_usable_size(hf_header *h, const void *p);
void *hfi_lab_realloc(hf_header *h, void *p, size_t n);
void hfi_lab_policy_init(void);
void *hfi_lab_process_malloc(size_t n, size_t align, bool zero);
/* hf_arena_create and hf_arena_default below the process set-up (lab/api.c calls it, then these).
 */
hf_arena *hfi_lab_arena_create(hf_policy policy, const hf_arena_config *config);
hf_arena *hfi_lab_arena_default(hf_policy policy); /* lab/policy.c */
struct hf_lab_policy;
const struct hf_lab_policy *hfi_lab_policy_ops(hf_policy policy); /* lab/policy.c */
void hfi_lab_arenas_fork(int phase); /* every arena: 0 lock, 1 unlock, 2 reset (child) */
void hfi_lab_sbrk_fork(int phase);
void hfi_lab_fork_prepare(void);
void hfi_lab_fork_parent(void);
void hfi_lab_fork_child(void);

/* ---- plain.c: every call without the hooks, routed by the block's owner ---------------- */
hf_heap *hfi_plain_heap(void); /* this thread's heap; NULL (ENOMEM) when out of memory */
void *hfi_plain_malloc(size_t n, bool zero);
void *hfi_plain_aligned(size_t align, size_t n, bool zero); /* align, n possible */
void *hfi_plain_realloc(void *p, size_t n);
void hfi_plain_free_at(hf_header *h, void *p); /* h: p's header, NULL if the map has none */
size_t hfi_plain_usable(const void *p, hf_header **hdr);
static inline void hfi_plain_free(void *p) {
    hfi_plain_free_at(
        hfi_pagemap_has_header(p) ? (hf_header *)((uintptr_t)p & ~HF_SEGMENT_MASK) : NULL, p);
}

/* ---- stats.c --------------------------------------------------------------------------- */
typedef void (*hf_line_fn)(void *ctx, const char *line);
void hfi_stats_lines(hf_line_fn fn, void *ctx);
void hfi_leaks_lines(hf_line_fn fn, void *ctx);
void hfi_stats_exit(void); /* HEAPFORGE_STATS / HEAPFORGE_LEAKS reports */

/* ---- blockmap.c: live blocks and their requested sizes (instrumented mode) ------------- */
bool hfi_blockmap_insert(const void *p, size_t size);
bool hfi_blockmap_remove(const void *p, size_t *size);
bool hfi_blockmap_lookup(const void *p, size_t *size);
void hfi_blockmap_each(void (*fn)(void *ctx, const void *p, size_t size), void *ctx);
size_t hfi_blockmap_bytes(void);
bool hfi_blockmap_is_valid(const char **why);
void hfi_blockmap_fork_prepare(void);
void hfi_blockmap_fork_parent(void);
void hfi_blockmap_fork_child(void);

/* ---- instrument.c: the counting paths (statistics, leaks, trace) ------------------------ */
/* HF_HOOK_* bits, fixed before the first heap exists. While any is set, the direct tables stay
 * empty and pages keep free_limit at 0, so every malloc and free leaves its fast path for the
 * slow paths, which call the hooked functions below. Costs nothing when off. */
#define HF_HOOK_STATS  0x1 /* counters, peaks, the block map */
#define HF_HOOK_LEAKS  0x2 /* leak report at exit (needs the block map) */
#define HF_HOOK_TRACE  0x4 /* every call recorded (trace/record.c) */
#define HF_HOOK_SECURE 0x8 /* HEAPFORGE_SECURE >= 1: canaries, exact sizes, ... (harden/) */
enum hf_call { HF_CALL_MALLOC, HF_CALL_CALLOC, HF_CALL_ALIGNED };
void hfi_instrument_init(void); /* init.c, once the environment is read */
/* The hooked calls: count, check and record around the plain call (plain.c). */
void *hfi_hooked_alloc(size_t n, size_t align, enum hf_call call);
void hfi_hooked_free(void *p);
void *hfi_hooked_realloc(void *p, size_t n);
void hfi_instrument_thread_done(hf_heap *h); /* its pending changes reach the peaks */
void hfi_instrument_sum(hf_heap_stats *out, int64_t peaks[3]);

/* ---- trace/record.c: HEAPFORGE_TRACE, every call into a binary trace ------------------- */
bool hfi_trace_start(const char *pattern); /* false (with a warning) when the file fails */
void hfi_trace_record(unsigned op, unsigned variant, uint64_t time_ns, const void *ptr, size_t size,
                      const void *old_ptr, size_t align);
void hfi_trace_thread_done(void);
void hfi_trace_finish(void); /* at exit: every thread's buffered events */
void hfi_trace_fork_prepare(void);
void hfi_trace_fork_parent(void);
void hfi_trace_fork_child(void);

/* ---- harden/: the secure levels (HEAPFORGE_SECURE; docs/hardening.md) ------------------ */
#define HF_SECURE_MAX        3
#define HF_SECURE_SHUFFLE    2 /* from this level: guard pages, randomised free-list order */
#define HF_SECURE_QUARANTINE 3 /* from this level: quarantine and zero-on-free */
/* hfi_secure (the settings page): the level in effect, fixed with the hooks before the first
 * heap exists: 0 unless the hooks carry HF_HOOK_SECURE. Slow paths test it; the fast paths never
 * run while it is set. */
/* secure.c: what the hooked calls do while secure */
void hfi_secure_init(void);
size_t hfi_secure_request(size_t n);                 /* bytes to ask for n: room for a canary */
void hfi_secure_alloced(void *p, size_t n);          /* a block of n requested bytes came out */
void hfi_secure_free(void *p, bool known, size_t n); /* checks, then frees or quarantines */
bool hfi_secure_realloc_ok(void *p, bool known, size_t n);
size_t hfi_secure_usable_size(const void *p);
bool hfi_secure_check_size(void *p, size_t size); /* exact free_sized; false: not known */
void hfi_secure_exit(void);                       /* live canaries (and quarantine) at exit */
/* shuffle.c: fresh blocks in random order (level 2) */
hf_block *hfi_shuffle_carve(hf_page *pg, uint8_t *first, uint32_t n);
/* quarantine.c: freed blocks wait, filled or protected (level 3) */
void hfi_quarantine_push(void *p, size_t n);
bool hfi_quarantine_find(const void *p, size_t *n); /* waiting, or another thread's claim */
void hfi_quarantine_claim(const void *p);   /* a free in flight: before the block map removal */
void hfi_quarantine_unclaim(const void *p); /* the free did not push it */
void hfi_quarantine_verify_all(void);
void hfi_quarantine_flush(void); /* hf_trim: release every waiting block */
void hfi_quarantine_fork_prepare(void);
void hfi_quarantine_fork_parent(void);
void hfi_quarantine_fork_child(void);
/* canary.c: the bytes after the requested size */
void hfi_canary_fill(void *p, size_t n);
bool hfi_canary_intact(const void *p, size_t n);
/* fault.c: a SIGSEGV/SIGBUS on protected memory is explained, then chained (levels 2-3) */
void hfi_fault_init(void); /* the constructor: installs the handler from level 2 */

/* ---- alloc.c / free.c / aligned.c: the entry points ----------------------------------- */
void *hfi_malloc_routed(size_t n, bool zero); /* first call, hooks or lab policy */
/* The malloc fast path missed (malloc, calloc, operator new): the heap's slow path, or the
 * routed one when the thread has no heap yet or the hooks are on. */
static inline void *hfi_malloc_miss(hf_heap *heap, size_t n, bool zero) {
    if (HF_UNLIKELY(heap == &hfi_heap_empty || hfi_hooks != 0)) return hfi_malloc_routed(n, zero);
    return hfi_heap_malloc_slow(heap, n, zero);
}
void hfi_free_generic(hf_header *h, void *p);
void hfi_free_other(hf_header *h, void *p); /* the fast path missed a block of ours */
void *hfi_malloc_aligned(size_t align, size_t n, bool zero);
void hfi_cxx_delete_checked(void *p, size_t n); /* override/cxx.c: sized delete's slow path */

/* ---- init.c ---------------------------------------------------------------------------- */
void hfi_process_init(void);

static inline void hfi_set_enomem(void) {
    errno = ENOMEM;
}

#pragma GCC visibility pop

#endif
