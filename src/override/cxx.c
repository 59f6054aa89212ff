/* override/cxx.c -- the C++ allocation functions: operator new and operator delete in every
 * form libstdc++ exports, under their Itanium names, so that a C++ program's new and delete
 * reach heapforge without a call through libstdc++ (jemalloc, mimalloc and tcmalloc do the same).
 *
 * Written in C, so libheapforge needs no libstdc++: a C program that loads the library loads no
 * C++ runtime. The failure paths need two functions of libstdc++, std::get_new_handler and
 * std::__throw_bad_alloc; in the shared library they are weak references (only a C++ program
 * calls operator new, and it has libstdc++ loaded). In libheapforge.a they are ordinary
 * references: this file's object is linked only into a program that calls operator new. The
 * file is compiled with -fexceptions (CMakeLists.txt), so that std::bad_alloc, or a
 * new_handler's exception, unwinds through these frames.
 *
 * Semantics are libstdc++'s (GCC 12's new_op.cc, new_opa.cc, new_opnt.cc, del_op*.cc):
 *  - new(n): hf_malloc; on failure call the std::new_handler and retry, in a loop; with no
 *    handler throw std::bad_alloc. new[] is the same function (libstdc++'s new[] calls new).
 *  - new(n, align_val_t a): the same through the aligned path (aligned_alloc's); an alignment
 *    that is not a power of two throws at once.
 *  - nothrow forms return NULL where the throwing form would throw. libstdc++ gets there by
 *    calling the throwing form inside try/catch(...), so even a new_handler that throws makes
 *    the nothrow form return nullptr. C cannot catch. With no handler installed (the usual case)
 *    the answer is NULL at once, as in libstdc++. With a handler installed, the retry is handed
 *    to libstdc++'s own nothrow form (dlsym(RTLD_NEXT), looked up on the first such failure),
 *    whose try/catch wraps our throwing form: the handler runs, a retry it made possible
 *    succeeds, and an exception it throws ends in nullptr, as in libstdc++. Where that form is
 *    missing (libstdc++ linked statically), NULL without calling the handler: an exception
 *    must never leave a noexcept function.
 *  - delete(p), delete(p, nothrow): hf_free. In the shared library the four plain names are the
 *    same function as hf_free (linker aliases: CMakeLists.txt, --defsym), no extra jump.
 *  - sized delete(p, n): free_sized's check, with its own report ("operator delete with a wrong
 *    size"): below the secure levels a size larger than the block is wrong; at the secure levels
 *    (the requested size is known) any other size is. The function is in free.c, on free's
 *    own fast path with n compared to the block size in the same test; every other case comes
 *    back here (hfi_cxx_delete_checked) for the exact check, then hf_free.
 *  - aligned delete(p, a): a pointer not aligned to a is reported ("operator delete with a wrong
 *    alignment"), then freed; the sized and aligned form checks both.
 * Errors go through the one reporter (abort, or report and go on with HEAPFORGE_ON_ERROR=warn,
 * after which the block is freed, as free_sized does). */
#include "internal/internal.h"

#include <dlfcn.h>

#define HF_EXPORT __attribute__((visibility("default")))

/* The shared library: weak references, resolved when libstdc++ is loaded (see above). */
#ifdef HF_LIBC_ALIASES
#define HF_CXX_RUNTIME  __attribute__((weak))
#define cxx_runtime(fn) ((fn) != NULL)
#else
#define HF_CXX_RUNTIME
#define cxx_runtime(fn) true
#endif

typedef void (*hf_new_handler)(void);
extern hf_new_handler cxx_get_new_handler(void) __asm__("_ZSt15get_new_handlerv") HF_CXX_RUNTIME;
extern __attribute__((noreturn)) void
cxx_throw_bad_alloc(void) __asm__("_ZSt17__throw_bad_allocv") HF_CXX_RUNTIME;

/* The report texts (tests/api/api_cxx.cc matches them). */

/* ---- failure paths ------------------------------------------------------------------------ */

static hf_new_handler new_handler(void) {
    return cxx_runtime(cxx_get_new_handler) ? cxx_get_new_handler() : NULL;
}

static HF_COLD __attribute__((noreturn)) void throw_bad_alloc(size_t n) {
    if (cxx_runtime(cxx_throw_bad_alloc)) cxx_throw_bad_alloc();
    /* Called from a program without libstdc++: nothing to throw. */
    hfi_message("operator new of %zu bytes failed, and without libstdc++ std::bad_alloc cannot "
                "be thrown",
                n);
    hfi_prim_abort();
}

static void *alloc_again(size_t n, size_t align) {
    return align == 0 ? hf_malloc(n) : hfi_malloc_aligned(align, n, false);
}

/* The throwing forms after a failed first try: the new_handler loop. align 0: plain new. */
static HF_NOINLINE void *new_retry(size_t n, size_t align) {
    if (align != 0 && !hf_is_pow2(align)) throw_bad_alloc(n);
    for (;;) {
        hf_new_handler h = new_handler();
        if (h == NULL) throw_bad_alloc(n);
        h();
        void *p = alloc_again(n, align);
        if (p != NULL) return p;
    }
}

typedef void *(*hf_nothrow_new)(size_t n, const void *nt);
typedef void *(*hf_nothrow_new_aligned)(size_t n, size_t align, const void *nt);

void *cxx_new_nothrow(size_t n, const void *nt) __asm__("_ZnwmRKSt9nothrow_t");
void *cxx_new_aligned_nothrow(size_t n, size_t align,
                              const void *nt) __asm__("_ZnwmSt11align_val_tRKSt9nothrow_t");

/* libstdc++'s own nothrow form (plain or aligned), or NULL. Looked up once, on the first failed
 * nothrow new with a handler installed; dlsym may allocate, which is fine here (no lock held). */
static void *next_nothrow(bool aligned) {
    static void *cache[2];
    static int looked[2];
    void *f = __atomic_load_n(&cache[aligned], __ATOMIC_ACQUIRE);
    if (f != NULL || __atomic_load_n(&looked[aligned], __ATOMIC_ACQUIRE)) return f;
    f = dlsym(RTLD_NEXT, aligned ? "_ZnwmSt11align_val_tRKSt9nothrow_t" : "_ZnwmRKSt9nothrow_t");
    void *self = aligned ? (void *)cxx_new_aligned_nothrow : (void *)cxx_new_nothrow;
    if (f == self) f = NULL;
    __atomic_store_n(&cache[aligned], f, __ATOMIC_RELEASE);
    __atomic_store_n(&looked[aligned], 1, __ATOMIC_RELEASE);
    return f;
}

/* The nothrow forms after a failed first try (see the top of the file). */
static HF_NOINLINE void *new_nothrow_retry(size_t n, size_t align, const void *nt) {
    if (align != 0 && !hf_is_pow2(align)) return NULL;
    if (new_handler() == NULL) return NULL;
    void *f = next_nothrow(align != 0);
    if (f == NULL) return NULL;
    if (align == 0) return ((hf_nothrow_new)f)(n, nt);
    return ((hf_nothrow_new_aligned)f)(n, align, nt);
}

/* ---- operator new ------------------------------------------------------------------------- */

/* The heap's slow path, then (nt NULL) the throwing or (nt set) the nothrow retry. A function
 * of its own, so the fast paths keep no register across a call and end in a tail call. */
static HF_NOINLINE void *new_slow(hf_heap *heap, size_t n, const void *nt) {
    void *p = hfi_malloc_miss(heap, n, false);
    if (HF_LIKELY(p != NULL)) return p;
    return nt == NULL ? new_retry(n, 0) : new_nothrow_retry(n, 0, nt);
}

/* operator new costs what malloc costs: the same loads and pop, the NULL test on the slow path. */
HF_EXPORT void *cxx_new(size_t n) __asm__("_Znwm");
HF_EXPORT void *cxx_new(size_t n) {
    hf_heap *heap = hfi_tl_heap;
    hf_page *pg = hfi_direct_page(heap, n);
    if (HF_LIKELY(pg != NULL)) return hfi_page_pop(pg, n, false);
    return new_slow(heap, n, NULL);
}

HF_EXPORT void *cxx_new_nothrow(size_t n, const void *nt) {
    hf_heap *heap = hfi_tl_heap;
    hf_page *pg = hfi_direct_page(heap, n);
    if (HF_LIKELY(pg != NULL)) return hfi_page_pop(pg, n, false);
    return new_slow(heap, n, nt);
}

HF_EXPORT void *cxx_new_aligned(size_t n, size_t align) __asm__("_ZnwmSt11align_val_t");
HF_EXPORT void *cxx_new_aligned(size_t n, size_t align) {
    void *p = hf_is_pow2(align) ? hfi_malloc_aligned(align, n, false) : NULL;
    if (HF_LIKELY(p != NULL)) return p;
    return new_retry(n, align);
}

HF_EXPORT void *cxx_new_aligned_nothrow(size_t n, size_t align, const void *nt) {
    void *p = hf_is_pow2(align) ? hfi_malloc_aligned(align, n, false) : NULL;
    if (HF_LIKELY(p != NULL)) return p;
    return new_nothrow_retry(n, align, nt);
}

/* new[] is new: the same functions under the array names. */
#define HF_CXX_ALIAS(target) HF_EXPORT __attribute__((alias(target)))
HF_CXX_ALIAS("_Znwm") void *cxx_new_array(size_t n) __asm__("_Znam");
HF_CXX_ALIAS("_ZnwmRKSt9nothrow_t")
void *cxx_new_array_nothrow(size_t n, const void *nt) __asm__("_ZnamRKSt9nothrow_t");
HF_CXX_ALIAS("_ZnwmSt11align_val_t")
void *cxx_new_array_aligned(size_t n, size_t align) __asm__("_ZnamSt11align_val_t");
HF_CXX_ALIAS("_ZnwmSt11align_val_tRKSt9nothrow_t")
void *cxx_new_array_aligned_nothrow(size_t n, size_t align,
                                    const void *nt) __asm__("_ZnamSt11align_val_tRKSt9nothrow_t");

/* ---- operator delete ---------------------------------------------------------------------- */

/* Plain and nothrow delete. The shared library gets them from the linker as aliases of hf_free. */
#ifndef HF_LIBC_ALIASES
HF_EXPORT void cxx_delete(void *p) __asm__("_ZdlPv");
HF_EXPORT void cxx_delete(void *p) {
    hf_free(p);
}
HF_CXX_ALIAS("_ZdlPv") void cxx_delete_array(void *p) __asm__("_ZdaPv");
HF_EXPORT void cxx_delete_nothrow(void *p, const void *nt) __asm__("_ZdlPvRKSt9nothrow_t");
HF_EXPORT void cxx_delete_nothrow(void *p, const void *nt) {
    (void)nt;
    hf_free(p);
}
HF_CXX_ALIAS("_ZdlPvRKSt9nothrow_t")
void cxx_delete_array_nothrow(void *p, const void *nt) __asm__("_ZdaPvRKSt9nothrow_t");
#endif

/* free_sized's check (free.c), with this file's report; then the free. */
static HF_NOINLINE void delete_checked(void *p, size_t n) {
    if (p != NULL) {
        size_t want;
        if (hfi_secure != 0 && hfi_blockmap_lookup(p, &want)) {
            if (n != want) hfi_report(HF_ERR_DELETE_SIZE, p, n);
        } else {
            size_t usable = hfi_plain_usable(p, NULL);
            if (usable != 0 && n > usable) hfi_report(HF_ERR_DELETE_SIZE, p, n);
        }
    }
    hf_free(p);
}

/* The shared library's sized delete (_ZdlPvm, _ZdaPvm) is in free.c, on free's fast path; its
 * other cases come here. The static library's is here: always the exact check. */
#ifdef HF_LIBC_ALIASES
HF_NOINLINE void hfi_cxx_delete_checked(void *p, size_t n) {
    delete_checked(p, n);
}
#else
HF_EXPORT void cxx_delete_sized(void *p, size_t n) __asm__("_ZdlPvm");
HF_EXPORT void cxx_delete_sized(void *p, size_t n) {
    delete_checked(p, n);
}
HF_CXX_ALIAS("_ZdlPvm") void cxx_delete_array_sized(void *p, size_t n) __asm__("_ZdaPvm");
#endif

static inline void check_alignment(void *p, size_t align) {
    if (HF_UNLIKELY(!hf_is_pow2(align) || ((uintptr_t)p & (align - 1)) != 0))
        hfi_report(HF_ERR_DELETE_ALIGN, p, 0);
}

HF_EXPORT void cxx_delete_aligned(void *p, size_t align) __asm__("_ZdlPvSt11align_val_t");
HF_EXPORT void cxx_delete_aligned(void *p, size_t align) {
    check_alignment(p, align);
    hf_free(p);
}
HF_CXX_ALIAS("_ZdlPvSt11align_val_t")
void cxx_delete_array_aligned(void *p, size_t align) __asm__("_ZdaPvSt11align_val_t");

HF_EXPORT void
cxx_delete_aligned_nothrow(void *p, size_t align,
                           const void *nt) __asm__("_ZdlPvSt11align_val_tRKSt9nothrow_t");
HF_EXPORT void cxx_delete_aligned_nothrow(void *p, size_t align, const void *nt) {
    (void)nt;
    check_alignment(p, align);
    hf_free(p);
}
HF_CXX_ALIAS("_ZdlPvSt11align_val_tRKSt9nothrow_t")
void cxx_delete_array_aligned_nothrow(void *p, size_t align, const void *nt) __asm__(
    "_ZdaPvSt11align_val_tRKSt9nothrow_t");

/* Aligned blocks may be interior pointers of larger blocks: always the exact size check. */
HF_EXPORT void cxx_delete_sized_aligned(void *p, size_t n,
                                        size_t align) __asm__("_ZdlPvmSt11align_val_t");
HF_EXPORT void cxx_delete_sized_aligned(void *p, size_t n, size_t align) {
    check_alignment(p, align);
    delete_checked(p, n);
}
HF_CXX_ALIAS("_ZdlPvmSt11align_val_t")
void cxx_delete_array_sized_aligned(void *p, size_t n,
                                    size_t align) __asm__("_ZdaPvmSt11align_val_t");
