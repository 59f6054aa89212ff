/* heapforge.h -- public API of the heapforge allocator.
 *
 * The library exports the standard C / glibc allocation names (malloc, free, ...) when it is
 * linked or preloaded, and the same functions under the hf_ prefix, which always reach
 * heapforge even when another allocator owns the libc names.
 */
#ifndef HEAPFORGE_H
#define HEAPFORGE_H

#include <stddef.h>
#include <stdio.h>

#include "heapforge-stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HF_API         __attribute__((visibility("default")))
#define HF_MALLOC_ATTR __attribute__((malloc, warn_unused_result))
#else
#define HF_API
#define HF_MALLOC_ATTR
#endif

#define HEAPFORGE_VERSION_MAJOR 0
#define HEAPFORGE_VERSION_MINOR 1
#define HEAPFORGE_VERSION_PATCH 0
#define HEAPFORGE_VERSION       "0.1.0"

/* The malloc family. Semantics follow glibc: every block is at least 16-byte aligned,
 * malloc(0) returns a unique pointer, realloc(p, 0) frees p and returns NULL, failures return
 * NULL with errno = ENOMEM, and free never changes errno. */
HF_API HF_MALLOC_ATTR void *hf_malloc(size_t size);
HF_API HF_MALLOC_ATTR void *hf_calloc(size_t count, size_t size);
HF_API void *hf_realloc(void *p, size_t size);
HF_API void *hf_reallocarray(void *p, size_t count, size_t size);
HF_API void hf_free(void *p);
HF_API void hf_free_sized(void *p, size_t size);
HF_API void hf_free_aligned_sized(void *p, size_t alignment, size_t size);

/* Aligned allocation (glibc 2.36: hf_aligned_alloc is hf_memalign, which rounds the alignment up
 * to a power of two). hf_posix_memalign returns 0, EINVAL (errno untouched) or ENOMEM (errno
 * ENOMEM too, as glibc). */
HF_API HF_MALLOC_ATTR void *hf_aligned_alloc(size_t alignment, size_t size);
HF_API int hf_posix_memalign(void **out, size_t alignment, size_t size);
HF_API HF_MALLOC_ATTR void *hf_memalign(size_t alignment, size_t size);
HF_API HF_MALLOC_ATTR void *hf_valloc(size_t size);
HF_API HF_MALLOC_ATTR void *hf_pvalloc(size_t size);

/* Introspection. hf_usable_size(p) bytes from p may be written; 0 for NULL or foreign pointers. */
HF_API size_t hf_usable_size(const void *p);
/* 1 if p lies in memory that heapforge manages (any block, live or free), else 0. */
HF_API int hf_owns(const void *p);

/* Return unused memory to the OS now: collect this thread's pages, purge every empty page and
 * cached segment. Returns 1 if memory was released. */
HF_API int hf_trim(size_t pad);

/* Statistics (hf_stats_get, hf_stats_json, hf_stats_print): see heapforge-stats.h. */

/* Process-wide figures, read without stopping other threads (approximate while they run). */
typedef struct hf_process_info {
    size_t version;            /* sizeof(hf_process_info) */
    size_t reserved_bytes;     /* address space mapped by the allocator */
    size_t committed_bytes;    /* mapped and not purged (an upper bound on its RSS) */
    size_t segments;           /* live small/medium segments */
    size_t spans;              /* live large/huge blocks (each its own mapping) */
    size_t cached_bytes;       /* segments and spans kept for reuse */
    size_t purges;             /* madvise(DONTNEED) calls */
    size_t mmap_calls;         /* mmap + mremap calls */
    size_t munmap_calls;       /* munmap calls */
    size_t threads;            /* heaps currently attached to threads */
    size_t abandoned_segments; /* segments of exited threads waiting to be reclaimed */
} hf_process_info;

HF_API void hf_process_info_get(hf_process_info *out);

/* ---- The allocator lab ---------------------------------------------------------------
 * The classic placement policies, each on arenas of its own. An arena is a growable set of
 * regions from the OS, guarded by a lock; all of its metadata lives inside those regions.
 * hf_free / free accept any pointer from any arena (the page map knows its owner). */
typedef enum hf_policy {
    HF_POLICY_FAST = 0, /* the production allocator (not an arena policy) */
    HF_POLICY_FIRST_FIT,
    HF_POLICY_NEXT_FIT,
    HF_POLICY_BEST_FIT,
    HF_POLICY_WORST_FIT,
    HF_POLICY_SEGREGATED,
    HF_POLICY_BUDDY,
    HF_POLICY_TLSF,
    HF_POLICY_COUNT
} hf_policy;

typedef struct hf_arena hf_arena;

/* Where an arena's regions come from. HF_BACKING_SBRK: the classic contiguous heap, grown by
 * moving the program break; requests of mmap_threshold bytes or more then get a mapping of
 * their own, unmapped as soon as they are freed. */
typedef enum hf_backing { HF_BACKING_MMAP = 0, HF_BACKING_SBRK = 1 } hf_backing;

typedef struct hf_arena_config {
    size_t initial_size;      /* bytes of the first region (0: 1 MiB) */
    size_t growth_step;       /* minimum bytes added when the arena grows (0: 1 MiB) */
    size_t min_split;         /* fits: a split leaves a free tail only this big or bigger */
    unsigned buddy_max_order; /* buddy: largest block is 2^order bytes (0: 22) */
    unsigned long long seed;  /* pseudo-random choices (skip-list heights): same seed, same run */
    hf_backing backing;       /* HF_BACKING_MMAP (default) or HF_BACKING_SBRK */
    size_t mmap_threshold;    /* sbrk: requests this big or bigger are mapped (0: 128 KiB) */
} hf_arena_config;

typedef struct hf_arena_statistics {
    size_t version;    /* sizeof(hf_arena_statistics) */
    size_t live_bytes; /* usable bytes of live blocks */
    size_t peak_live_bytes;
    size_t footprint; /* bytes of the arena's regions */
    size_t peak_footprint;
    size_t free_bytes; /* bytes in free blocks */
    size_t free_blocks;
    size_t largest_free;
    size_t used_blocks;
    double external_fragmentation; /* 1 - largest_free / free_bytes (0 when nothing is free) */
    unsigned bins;                 /* how many of per_bin are meaningful */
    size_t per_bin[64];          /* free blocks per order (buddy) or per class (segregated, TLSF) */
    size_t calloc_cleared_bytes; /* bytes calloc had to clear (memory fresh from the OS is not) */
} hf_arena_statistics;

typedef struct hf_block_info {
    void *addr;  /* payload of a used block, start of a free one */
    size_t size; /* bytes the block occupies, overhead included */
    int used;
} hf_block_info;
typedef void (*hf_arena_visitor)(const hf_block_info *block, void *arg);

/* Policy names: "fast", "first-fit", "next-fit", "best-fit", "worst-fit", "segregated",
 * "buddy", "tlsf". hf_policy_from_name returns -1 for an unknown name. */
HF_API const char *hf_policy_name(hf_policy policy);
HF_API int hf_policy_from_name(const char *name, hf_policy *out);

/* A policy with parameters, the syntax HEAPFORGE_POLICY and the heapforge command take:
 * "NAME" or "NAME:key=value,key=value...", e.g. "best-fit:min-split=64,region=1M",
 * "buddy:max-order=24", "first-fit:backing=sbrk,mmap-threshold=128K". Keys (sizes take K, M,
 * G): region (the first region's bytes), growth (the least an arena grows by), seed, backing
 * (mmap or sbrk), mmap-threshold (sbrk: requests this big get a mapping of their own) for every
 * lab policy; min-split for the fits, segregated and tlsf; max-order (8..40) for buddy. "fast"
 * takes none. 0 and *policy and *config set (config zeroed first: the defaults); -1 with one
 * line in err (naming what is accepted) for an unknown policy, key or bad value. */
HF_API int hf_policy_parse(const char *spec, hf_policy *policy, hf_arena_config *config, char *err,
                           size_t errlen);

/* NULL with errno = EINVAL for a bad policy or config, ENOMEM when the OS refuses. */
HF_API hf_arena *hf_arena_create(hf_policy policy, const hf_arena_config *config);
HF_API void hf_arena_destroy(hf_arena *arena); /* frees every block at once */
HF_API HF_MALLOC_ATTR void *hf_arena_malloc(hf_arena *arena, size_t size);
HF_API HF_MALLOC_ATTR void *hf_arena_calloc(hf_arena *arena, size_t count, size_t size);
HF_API void *hf_arena_realloc(hf_arena *arena, void *p, size_t size);
HF_API HF_MALLOC_ATTR void *hf_arena_memalign(hf_arena *arena, size_t alignment, size_t size);
HF_API void hf_arena_free(hf_arena *arena, void *p);
HF_API size_t hf_arena_usable_size(hf_arena *arena, const void *p);
/* Every block, used and free, region by region in address order. */
HF_API void hf_arena_walk(hf_arena *arena, hf_arena_visitor visitor, void *arg);
/* Full invariant validation: NULL when valid, else a description of the first violation. */
HF_API const char *hf_arena_check(hf_arena *arena);
HF_API void hf_arena_stats(hf_arena *arena, hf_arena_statistics *out);

/* One entry point per policy, each on a process-wide arena of that policy; hf_free frees them. */
HF_API HF_MALLOC_ATTR void *hf_malloc_first_fit(size_t size);
HF_API HF_MALLOC_ATTR void *hf_malloc_next_fit(size_t size);
HF_API HF_MALLOC_ATTR void *hf_malloc_best_fit(size_t size);
HF_API HF_MALLOC_ATTR void *hf_malloc_worst_fit(size_t size);
HF_API HF_MALLOC_ATTR void *hf_malloc_segregated(size_t size);
HF_API HF_MALLOC_ATTR void *hf_malloc_buddy(size_t size);
HF_API HF_MALLOC_ATTR void *hf_malloc_tlsf(size_t size);
/* The process-wide arena behind hf_malloc_<policy> (created on first use; NULL for fast). */
HF_API hf_arena *hf_arena_default(hf_policy policy);

#ifdef __cplusplus
}
#endif
#endif /* HEAPFORGE_H */
