/* override/override.c -- the libc allocation names, each a tail call to its hf_ twin, plus the
 * glibc introspection extras (mallinfo2, malloc_stats, malloc_info, mallopt, malloc_trim).
 * These are the only symbols besides hf_* that libheapforge exports. In the shared library
 * malloc and free are aliases of hf_malloc and hf_free instead (alloc.c, free.c; HF_LIBC_ALIASES
 * in CMakeLists.txt): one jump less per call. */
#include "internal/internal.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define HF_EXPORT __attribute__((visibility("default")))

#ifndef HF_LIBC_ALIASES /* the shared library: aliases in alloc.c and free.c */
HF_EXPORT void *malloc(size_t n) {
    return hf_malloc(n);
}
HF_EXPORT void free(void *p) {
    hf_free(p);
}
#endif
HF_EXPORT void *calloc(size_t count, size_t size) {
    return hf_calloc(count, size);
}
HF_EXPORT void *realloc(void *p, size_t n) {
    return hf_realloc(p, n);
}
HF_EXPORT void *reallocarray(void *p, size_t count, size_t size) {
    return hf_reallocarray(p, count, size);
}
HF_EXPORT void *aligned_alloc(size_t align, size_t n) {
    return hf_aligned_alloc(align, n);
}
HF_EXPORT int posix_memalign(void **out, size_t align, size_t n) {
    return hf_posix_memalign(out, align, n);
}
HF_EXPORT void *memalign(size_t align, size_t n) {
    return hf_memalign(align, n);
}
HF_EXPORT void *valloc(size_t n) {
    return hf_valloc(n);
}
HF_EXPORT void *pvalloc(size_t n) {
    return hf_pvalloc(n);
}
HF_EXPORT size_t malloc_usable_size(void *p) {
    return hf_usable_size(p);
}
HF_EXPORT void cfree(void *p);
HF_EXPORT void cfree(void *p) {
    hf_free(p);
}

/* C23 (not yet in this glibc's headers). */
HF_EXPORT void free_sized(void *p, size_t size);
HF_EXPORT void free_aligned_sized(void *p, size_t align, size_t size);
HF_EXPORT void free_sized(void *p, size_t size) {
    hf_free_sized(p, size);
}
HF_EXPORT void free_aligned_sized(void *p, size_t align, size_t size) {
    hf_free_aligned_sized(p, align, size);
}

HF_EXPORT int malloc_trim(size_t pad) {
    return hf_trim(pad);
}

HF_EXPORT int mallopt(int param, int value) {
    (void)param;
    (void)value;
    return 1; /* accepted; heapforge's own options come from HEAPFORGE_* */
}

HF_EXPORT struct mallinfo2 mallinfo2(void) {
    hf_process_info i;
    hf_process_info_get(&i);
    struct mallinfo2 m;
    memset(&m, 0, sizeof m);
    m.arena = i.committed_bytes;
    m.hblks = i.spans;
    m.keepcost = i.cached_bytes;
    /* In use: exact when instrumented (HEAPFORGE_STATS=1), else committed minus cached. */
    hf_stats s;
    hf_stats_get(&s);
    m.uordblks = i.committed_bytes > i.cached_bytes ? i.committed_bytes - i.cached_bytes : 0;
    if (s.instrumented) m.uordblks = s.live_bytes;
    m.usmblks = s.peak_committed;
    m.fordblks = i.cached_bytes;
    return m;
}

static int clamp_int(size_t v) {
    return v > 0x7fffffff ? 0x7fffffff : (int)v;
}

HF_EXPORT struct mallinfo mallinfo(void) {
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo m;
    memset(&m, 0, sizeof m);
    m.arena = clamp_int(m2.arena);
    m.hblks = clamp_int(m2.hblks);
    m.keepcost = clamp_int(m2.keepcost);
    m.uordblks = clamp_int(m2.uordblks);
    m.fordblks = clamp_int(m2.fordblks);
    return m;
}

HF_EXPORT void malloc_stats(void) {
    hf_stats_print(stderr);
}

/* The figures glibc prints for a heap and again for the whole process. */
static void info_figures(FILE *out, const hf_process_info *i, bool with_mmap) {
    fprintf(out, "<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
    fprintf(out, "<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n", i->cached_bytes);
    if (with_mmap) fprintf(out, "<total type=\"mmap\" count=\"%zu\" size=\"0\"/>\n", i->spans);
    fprintf(out, "<system type=\"current\" size=\"%zu\"/>\n", i->committed_bytes);
    fprintf(out, "<system type=\"max\" size=\"%zu\"/>\n", i->reserved_bytes);
    fprintf(out, "<aspace type=\"total\" size=\"%zu\"/>\n", i->reserved_bytes);
    fprintf(out, "<aspace type=\"mprotect\" size=\"%zu\"/>\n", i->reserved_bytes);
}

/* glibc's XML shape, with heapforge's figures (one heap: per-thread heaps are not listed). The
 * <sizes> list gives, per size class, the blocks live now (glibc lists its free chunks there;
 * heapforge's free blocks sit in pages of the same classes) when the process is instrumented. */
HF_EXPORT int malloc_info(int options, FILE *out) {
    if (options != 0 || out == NULL) return EINVAL; /* glibc: the error as the result, errno kept */
    hf_process_info i;
    hf_process_info_get(&i);
    hf_stats s;
    hf_stats_get(&s);
    fprintf(out, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n");
    for (unsigned k = 0; s.instrumented && k + 1 < HF_STATS_CLASSES; k++) {
        if (s.class_live[k] == 0) continue;
        unsigned from = k == 0 ? 1 : s.class_size[k - 1] + 1;
        fprintf(out, "<size from=\"%u\" to=\"%u\" total=\"%llu\" count=\"%llu\"/>\n", from,
                s.class_size[k], (unsigned long long)s.class_live[k] * s.class_size[k],
                (unsigned long long)s.class_live[k]);
    }
    fprintf(out, "</sizes>\n");
    info_figures(out, &i, false);
    fprintf(out, "</heap>\n");
    info_figures(out, &i, true);
    fprintf(out, "</malloc>\n");
    return 0;
}
