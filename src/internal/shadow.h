/* internal/shadow.h -- telling a memory checker which bytes of the heap a program may touch:
 * Valgrind's memcheck (HF_VALGRIND=1, the `valgrind` preset) or AddressSanitizer (HF_ASAN=1,
 * the `asan` preset). docs/hardening.md, "Valgrind and ASan".
 *
 * heapforge carves blocks out of memory it maps itself, so neither checker sees a block unless
 * told. In those builds the instrumented mode is always on (every call reaches the hooked
 * functions of instrument.c), and the hooked functions describe each block: allocated (its
 * requested bytes addressable; with memcheck also tracked for leaks), freed (no access), resized
 * in place. The block's slack past the requested size stays inaccessible, so a read past the
 * request is seen even inside the size class.
 *
 * The allocator itself still reads and writes freed blocks: the free-list link, the double-free
 * mark, the pop that reuses a block. Those accesses go through hfi_shadow_open (the bytes become
 * accessible) and hfi_shadow_close (inaccessible again): the link accessors of harden/encode.h,
 * hfi_page_pop, the generic free's mark, the carving of a fresh run.
 *
 * Cost: in every other build each helper's body is empty and the constants are 0, so the
 * compiled library is the same as without this file. */
#ifndef HF_INTERNAL_SHADOW_H
#define HF_INTERNAL_SHADOW_H

#include <stdbool.h>
#include <stddef.h>

#ifndef HF_VALGRIND
#define HF_VALGRIND 0
#endif
#ifndef HF_ASAN
#define HF_ASAN 0
#endif
#if HF_VALGRIND && HF_ASAN
#error "HF_VALGRIND and HF_ASAN exclude each other"
#endif

#if HF_VALGRIND
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#endif
#if HF_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* A checker is watching: the instrumented mode must be on from the start. */
#define HF_SHADOW (HF_VALGRIND || HF_ASAN)

/* The allocator is about to touch n bytes at p inside a free block. */
static inline void hfi_shadow_open(const void *p, size_t n) {
    (void)p, (void)n;
#if HF_VALGRIND
    (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
#elif HF_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
}

/* Done touching them: the program may not. */
static inline void hfi_shadow_close(const void *p, size_t n) {
    (void)p, (void)n;
#if HF_VALGRIND
    (void)VALGRIND_MAKE_MEM_NOACCESS(p, n);
#elif HF_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#endif
}

/* A block of n requested bytes (usable in all) was handed out at p; zeroed for calloc. */
static inline void hfi_shadow_alloc(const void *p, size_t n, size_t usable, bool zeroed) {
    (void)p, (void)n, (void)usable, (void)zeroed;
#if HF_VALGRIND
    (void)VALGRIND_MAKE_MEM_NOACCESS(p, usable);
    VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, zeroed);
#elif HF_ASAN
    ASAN_POISON_MEMORY_REGION(p, usable);
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
}

/* The block at p (usable bytes) is being freed: from now on only the allocator touches it. */
static inline void hfi_shadow_free(const void *p, size_t usable) {
    (void)p, (void)usable;
#if HF_VALGRIND
    VALGRIND_FREELIKE_BLOCK(p, 0);
#elif HF_ASAN
    ASAN_POISON_MEMORY_REGION(p, usable);
#endif
}

/* realloc kept the block at p (usable bytes) and changed its request from old_n to n. */
static inline void hfi_shadow_resize(const void *p, size_t old_n, size_t n, size_t usable) {
    (void)p, (void)old_n, (void)n, (void)usable;
#if HF_VALGRIND
    VALGRIND_RESIZEINPLACE_BLOCK(p, old_n, n, 0);
#elif HF_ASAN
    ASAN_POISON_MEMORY_REGION(p, usable);
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
}

/* An address range is mapped anew or unmapped (prim/linux.c): whatever the checker remembered
 * about it is forgotten. memcheck follows mmap and munmap itself; ASan keeps its shadow across
 * an munmap, so a segment mapped where freed blocks once were would read as poisoned. */
static inline void hfi_shadow_forget(const void *p, size_t n) {
    (void)p, (void)n;
#if HF_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
}

#endif /* HF_INTERNAL_SHADOW_H */
