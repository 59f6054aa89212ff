/* heapforge-stats.h -- heapforge's statistics: one versioned struct, filled by hf_stats_get.
 *
 * Every figure is declared once, in HF_STATS_FIELDS, which generates the struct, the merge
 * across threads, the text printer and the JSON printer. Figures marked "instrumented" are
 * counted only while the allocator runs instrumented (HEAPFORGE_STATS=1, HEAPFORGE_LEAKS=1 or
 * HEAPFORGE_TRACE=file at start-up: every call then takes the counting path; `instrumented` is
 * 1); the others are always kept. Counters are per thread and merged on read, so the figures
 * are a consistent sum but not an atomic snapshot while other threads run. */
#ifndef HEAPFORGE_STATS_H
#define HEAPFORGE_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HF_STATS_API __attribute__((visibility("default")))
#else
#define HF_STATS_API
#endif

#define HF_STATS_VERSION 1
/* Per-class figures: the 144 size classes of the fast allocator, then one bucket for blocks
 * above 128 KiB (large and huge blocks, whatever their size). */
#define HF_STATS_CLASSES 145

/* X(name, unit, description). unit: "bytes", "count" or "calls". */
#define HF_STATS_FIELDS(X)                                                                         \
    X(instrumented, "count", "1 when per-call counting is on (the figures marked * below)")        \
    X(live_requested, "bytes", "* bytes the program asked for, in blocks not yet freed")           \
    X(peak_live_requested, "bytes", "* high-water mark of live_requested")                         \
    X(live_bytes, "bytes", "* bytes of live blocks including size-class rounding")                 \
    X(peak_live_bytes, "bytes", "* high-water mark of live_bytes")                                 \
    X(live_blocks, "count", "* blocks allocated and not yet freed")                                \
    X(peak_live_blocks, "count", "* high-water mark of live_blocks")                               \
    X(mallocs, "count", "* malloc calls (and calloc, aligned, realloc that allocated)")            \
    X(callocs, "count", "* calloc calls")                                                          \
    X(aligned_allocs, "count", "* aligned_alloc, posix_memalign, memalign, valloc, pvalloc")       \
    X(reallocs, "count", "* realloc calls on a live block")                                        \
    X(frees, "count", "* free calls on a live block")                                              \
    X(requested_total, "bytes", "* bytes requested over the whole run")                            \
    X(allocated_total, "bytes", "* bytes handed out over the whole run, rounding included")        \
    X(reserved, "bytes", "address space mapped by the allocator")                                  \
    X(committed, "bytes", "mapped and not purged: the allocator's footprint")                      \
    X(peak_committed, "bytes", "high-water mark of committed")                                     \
    X(cached, "bytes", "empty segments and freed large blocks kept mapped for reuse")              \
    X(purged_total, "bytes", "bytes given back with madvise over the whole run")                   \
    X(rss, "bytes", "resident set of the whole process now")                                       \
    X(peak_rss, "bytes", "high-water mark of the process's resident set")                          \
    X(segments, "count", "live 4 MiB segments of small and medium pages")                          \
    X(abandoned_segments, "count", "segments of exited threads not yet reclaimed")                 \
    X(spans, "count", "live large and huge blocks (a mapping each)")                               \
    X(threads, "count", "threads with a heap")                                                     \
    X(mmap_calls, "calls", "mmap and mremap calls")                                                \
    X(munmap_calls, "calls", "munmap calls")                                                       \
    X(madvise_calls, "calls", "madvise (purge) calls")

typedef struct hf_stats {
    uint32_t version; /* HF_STATS_VERSION */
    uint32_t size;    /* sizeof(hf_stats) as compiled into the library */
#define HF_STATS_DECLARE(name, unit, desc) uint64_t name;
    HF_STATS_FIELDS(HF_STATS_DECLARE)
#undef HF_STATS_DECLARE
    /* Utilization U = peak live / peak footprint (peak_live_bytes / peak_committed), and
     * fragmentation 1/U - 1: the extra memory per byte of live data. 0 when not instrumented. */
    double utilization;
    double fragmentation;
    /* Per class (index HF_STATS_CLASSES - 1: every block above 128 KiB). */
    uint32_t class_size[HF_STATS_CLASSES];    /* block size of the class (0: the large bucket) */
    uint64_t class_mallocs[HF_STATS_CLASSES]; /* * blocks handed out over the run */
    uint64_t class_live[HF_STATS_CLASSES];    /* * blocks live now */
} hf_stats;

/* Fill *out (out->size is ignored; the whole struct is written). Returns 0. */
HF_STATS_API int hf_stats_get(hf_stats *out);
/* The statistics as one JSON object into buf (NUL-terminated when size > 0). Returns the length
 * the whole text needs, like snprintf: call again with a bigger buffer when it is >= size. */
HF_STATS_API size_t hf_stats_json(char *buf, size_t size);
/* Print the statistics for people (the same text as HEAPFORGE_STATS=1 at exit). */
HF_STATS_API void hf_stats_print(FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* HEAPFORGE_STATS_H */
