/* types.h -- every internal struct and named constant of heapforge.
 *
 * Memory layout in one paragraph: all memory comes from the OS in *segments*, regions aligned to
 * HF_SEGMENT_SIZE whose first bytes are a header that says who owns the region. The page map
 * (pagemap.c) holds one byte per segment-sized unit of the address space, so `free(p)` finds the
 * header of any pointer with a shift and a load. Small and medium segments are cut into *pages*;
 * each page serves one size class and keeps three free lists (see hf_page). Large and huge
 * blocks are *spans*: a mapping of their own, whose header sits at the segment-aligned start.
 */
#ifndef HF_TYPES_H
#define HF_TYPES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- geometry -------------------------------------------------------------------------- */
#define HF_OS_PAGE_SIZE      4096UL
#define HF_SEGMENT_SHIFT     22 /* 4 MiB segments */
#define HF_SEGMENT_SIZE      ((size_t)1 << HF_SEGMENT_SHIFT)
#define HF_SEGMENT_MASK      (HF_SEGMENT_SIZE - 1)
#define HF_SMALL_PAGE_SHIFT  16 /* 64 KiB pages for blocks up to HF_SMALL_MAX */
#define HF_MEDIUM_PAGE_SHIFT 19 /* 512 KiB pages for blocks up to HF_MEDIUM_MAX */
#define HF_MAX_PAGES         (HF_SEGMENT_SIZE >> HF_SMALL_PAGE_SHIFT)
#define HF_SEGMENT_HEADER    (2 * HF_OS_PAGE_SIZE) /* header + page table; page 0 starts here */
#define HF_SPAN_HEADER       HF_OS_PAGE_SIZE       /* a span's payload starts one OS page in */
#define HF_ADDRESS_BITS      47
#define HF_PAGEMAP_COUNT     ((size_t)1 << (HF_ADDRESS_BITS - HF_SEGMENT_SHIFT))
#define HF_PAGEMAP_LEAF      ((size_t)1 << 16) /* units per leaf: 256 GiB of address space */
#define HF_PAGEMAP_ROOT      (HF_PAGEMAP_COUNT / HF_PAGEMAP_LEAF)

/* ---- size classes ---------------------------------------------------------------------- */
/* 16-byte steps up to 128, eight classes per doubling up to 1 KiB, sixteen up to 128 KiB. */
#define HF_ALIGNMENT       16
#define HF_SMALL_MAX       8192         /* largest block on a 64 KiB page */
#define HF_MEDIUM_MAX      (128 * 1024) /* largest block on a page; above: spans */
#define HF_CLASS_COUNT     144
#define HF_DIRECT_MAX      1024 /* sizes served by the direct table */
#define HF_DIRECT_COUNT    (HF_DIRECT_MAX / 16 + 1)
#define HF_EXTEND_BYTES    4096 /* a fresh page is carved this much at a time */
#define HF_FOREIGN_CLASSES 80   /* the classes up to HF_SMALL_MAX (checked in size_class.c) */
#define HF_FOREIGN_MIN     4    /* kept blocks per class: HEAPFORGE_FOREIGN_CACHE bytes, at least */
#define HF_FOREIGN_MAX     64   /* ... this many and at most this many (foreign.c) */
#define HF_FOREIGN_IDLE_MS 1000 /* kept blocks of a class not taken for this long go back */

/* ---- page map values ------------------------------------------------------------------- */
#define HF_MAP_NONE   0 /* not ours */
#define HF_MAP_HEADER 1 /* a header (segment or span) starts at this unit's base */
#define HF_MAP_TAIL   2 /* inside a span whose header is in a lower unit */

/* ---- owners and kinds ------------------------------------------------------------------ */
#define HF_OWNER_NONE ((uintptr_t)1) /* spans and cached segments: no thread owns them */
enum hf_segment_kind {
    HF_SEG_SMALL = 1,
    HF_SEG_MEDIUM = 2,
    HF_SEG_SPAN = 3,
    HF_SEG_FREE = 4,
    HF_SEG_LAB = 5 /* a region of a lab arena (src/lab) */
};
enum hf_span_state { HF_SPAN_LIVE = 1, HF_SPAN_CACHED = 2 };

#define HF_NO_CLASS 0xFF /* hf_segment.page_class of a free slot */

/* Page flags, tested together on the free fast path. */
#define HF_PAGE_IN_FULL     0x01 /* page sits in the heap's full queue */
#define HF_PAGE_HAS_ALIGNED 0x02 /* page holds interior (aligned) pointers */

/* A free block. `mark` is written on free (block address ^ process secret) so that a second
 * free of the same block is noticed with one compare; malloc clears it. */
typedef struct hf_block {
    struct hf_block *next;
    uintptr_t mark;
} hf_block;

struct hf_heap;

/* A page: one size class's blocks. Three lists make frees cheap and lock-free:
 *  free        -- blocks malloc pops from (owner thread only);
 *  local_free  -- blocks freed by the owner (pushed without atomics);
 *  thread_free -- blocks freed by other threads (atomic push; the owner takes them in a batch).
 * `used` counts blocks out of the page; remote frees are subtracted when collected.
 * Exactly 64 bytes, so the free path finds a page with a shift; the queue links live beside
 * the page table in the segment (hf_segment.links), off the hot cache line. */
typedef struct hf_page {
    hf_block *free;
    hf_block *local_free;
    _Atomic(hf_block *) thread_free;
    uint64_t div_magic; /* 1 + UINT64_MAX / block_size: for off < 2^32, off % block_size == 0
                           iff off * div_magic (mod 2^64) < div_magic (Lemire et al.) */
    uint8_t *start;
    uint32_t free_limit; /* owner's fast-free bound: capacity * block_size, or 0 while any
                            flag is set, so one compare covers range and flags */
    uint32_t block_size;
    uint32_t used;
    uint32_t capacity; /* blocks carved so far (fresh pages are carved lazily) */
    uint16_t reserved; /* blocks that fit on the page (at most 64 KiB / 16) */
    uint8_t class_idx;
    _Atomic(uint8_t) flags; /* HF_PAGE_*; atomic because other threads test HAS_ALIGNED */
    uint8_t in_use;         /* assigned to a class */
    uint8_t free_is_zero;   /* every block on `free` is zero past its first two words */
    uint8_t fresh_zero;     /* the uncarved rest of the page is zero (fresh or purged memory) */
    uint8_t alone;          /* the only page in its queue (kept by the queue functions) */
} hf_page;

typedef struct hf_page_link {
    hf_page *next, *prev; /* heap queue links */
} hf_page_link;

/* Fields every header starts with: the free path reads them before it knows the kind. */
typedef struct hf_header {
    uintptr_t cookie;         /* (uintptr_t)header ^ hfi_secret: proves the header is ours */
    _Atomic(uintptr_t) owner; /* owning heap, 0 while abandoned, HF_OWNER_NONE for spans */
    uint8_t kind;             /* enum hf_segment_kind */
    uint8_t page_shift;       /* small and medium segments */
    uint8_t page_count;
    uint8_t pages_used;
    _Atomic(int) remote_pending; /* a remote free hit a page that may be in the full queue */
    void *map_base;              /* start of the OS mapping (equal to the header, or below) */
    size_t map_size;
} hf_header;

typedef struct hf_segment {
    hf_header h;
    struct hf_segment *next, *prev; /* heap list, abandoned list or cache */
    struct hf_heap *heap;
    uint64_t free_mask;  /* page slots not assigned to a class */
    uint64_t dirty_mask; /* page slots touched since their last purge */
    uint64_t purge_mask; /* free, dirty slots waiting for their purge */
    uint64_t purge_at;   /* when purge_mask is due (ms since start) */
    uint64_t cached_at;  /* when the segment entered the cache (ms) */
    int purged;          /* cached and purged */
    hf_page pages[HF_MAX_PAGES];
    hf_page_link links[HF_MAX_PAGES];
    /* Each page slot's class, HF_NO_CLASS while the slot is free: what other threads read to
     * keep a block they free (free.c), on a line of its own that the owner writes only when a
     * page is assigned or freed, not on the descriptor line it writes on every call. */
    _Alignas(64) uint8_t page_class[HF_MAX_PAGES];
    uint8_t resident[HF_MAX_PAGES]; /* 4 KiB units of each slot carved since its last purge */
} hf_segment;

/* A large or huge block: its own mapping. */
typedef struct hf_span {
    hf_header h;
    struct hf_span *next, *prev; /* cache links */
    uint8_t state;               /* enum hf_span_state */
    uint8_t is_huge; /* at or above the huge threshold: unmapped on free, never cached */
    uint8_t guarded; /* HEAPFORGE_SECURE >= 2: the mapping's last OS page is a guard */
    uint8_t *user;   /* the pointer handed out */
    size_t dirty;    /* payload bytes that may be resident */
    size_t asked;    /* the last size requested (malloc or realloc): a bigger one is growth */
    uint64_t cached_at;
} hf_span;

typedef struct hf_page_queue {
    hf_page *first, *last;
} hf_page_queue;

typedef struct hf_segment_list {
    hf_segment *first, *last;
} hf_segment_list;

/* The instrumented mode's per-heap counters (instrument.c). Only the owning thread writes them,
 * with relaxed atomic stores, so readers merge them without a lock on the owner's path. Live
 * figures go negative in a heap that frees other threads' blocks; the sums are right. */
// clang-format off
#define HF_HEAP_COUNTERS(X) \
    X(mallocs) \
    X(callocs) \
    X(aligned_allocs) \
    X(reallocs) \
    X(frees) \
    X(requested_total) \
    X(allocated_total) \
    X(live_requested) \
    X(live_bytes) \
    X(live_blocks)
// clang-format on
#define HF_STAT_BUCKETS (HF_CLASS_COUNT + 1) /* the size classes, then every larger block */
typedef struct hf_heap_stats {
#define HF_HEAP_COUNTER_FIELD(name) int64_t name;
    HF_HEAP_COUNTERS(HF_HEAP_COUNTER_FIELD)
#undef HF_HEAP_COUNTER_FIELD
    int64_t class_mallocs[HF_STAT_BUCKETS];
    int64_t class_live[HF_STAT_BUCKETS];
    /* Changes not yet added to the process-wide gauges that keep the peaks. */
    int64_t pend_requested, pend_bytes, pend_blocks;
} hf_heap_stats;

/* A thread's heap. The direct table maps (size+15)/16 to the page malloc should pop from, so the
 * fast path is a table load and a list pop. */
typedef struct hf_heap {
    hf_page *direct[HF_DIRECT_COUNT];
    /* Fields every heap writes first, then the per-class arrays, the instrumented mode's last:
     * a small program's heap touches as few pages as it can. */
    hf_segment_list segs[2]; /* owned small [0] and medium [1] segments; full ones last */
    uint64_t next_purge;     /* earliest purge due among them (0: none) */
    unsigned empty_segs;     /* segments among them with no page in use, kept for reuse */
    struct hf_heap *next_heap, *prev_heap; /* process list of live heaps */
    int is_main;
    int foreign_held;    /* some class may hold kept blocks (foreign.c) */
    uint64_t foreign_gc; /* when classes whose kept blocks were not taken give them back */
    uint64_t rng;        /* HEAPFORGE_SECURE >= 2: xorshift state of the free-list shuffle */
    hf_page_queue full;
    hf_page_queue queues[HF_CLASS_COUNT];
    /* Blocks of other heaps' pages that this thread freed, kept for its own mallocs
     * (foreign.c), one stand-in page per small class. */
    hf_page foreign[HF_FOREIGN_CLASSES];
    hf_heap_stats stats; /* instrumented mode only */
    /* Some segment of this heap got remote_pending set (free.c: written by other threads on the
     * flag's 0 -> 1 change only, on a line the owner reads only in its slow path). */
    _Alignas(64) _Atomic(int) remote_pending;
} hf_heap;

/* A tiny spin lock: no allocation, fork-safe (reset in the child), understood by TSan. */
typedef struct hf_lock {
    atomic_int v;
} hf_lock;

#endif
