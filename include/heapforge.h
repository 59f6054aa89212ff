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

/* Aligned allocation. hf_posix_memalign returns 0, EINVAL or ENOMEM and leaves errno alone. */
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

/* Print a short human-readable summary of the allocator's state. */
HF_API void hf_stats_print(FILE *out);

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

#ifdef __cplusplus
}
#endif
#endif /* HEAPFORGE_H */
