/* stats.c -- process figures and their printers (HEAPFORGE_STATS=1 at exit, hf_stats_print,
 * malloc_stats). The printers build their lines with the non-allocating formatter, so the exit
 * report works even when stdio is gone. */
#include "internal/internal.h"

#include <string.h>

HF_API void hf_process_info_get(hf_process_info *out) {
    hf_process_info i;
    memset(&i, 0, sizeof i);
    i.version = sizeof i;
    i.reserved_bytes = atomic_load(&hfi_os_stats.reserved);
    i.committed_bytes = atomic_load(&hfi_os_stats.committed);
    i.segments = atomic_load(&hfi_os_stats.segments);
    i.spans = atomic_load(&hfi_os_stats.spans);
    i.cached_bytes = atomic_load(&hfi_os_stats.cached);
    i.purges = atomic_load(&hfi_os_stats.purges);
    i.mmap_calls = atomic_load(&hfi_os_stats.mmaps);
    i.munmap_calls = atomic_load(&hfi_os_stats.munmaps);
    i.threads = atomic_load(&hfi_os_stats.threads);
    i.abandoned_segments = atomic_load(&hfi_os_stats.abandoned);
    *out = i;
}

/* "12.3 MiB" without floating point. */
static const char *human(char *buf, size_t n, size_t bytes) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    size_t whole = bytes, tenth = 0;
    while (whole >= 1024 && u < 4) {
        tenth = (whole % 1024) * 10 / 1024;
        whole /= 1024;
        u++;
    }
    if (u == 0)
        hfi_snprintf(buf, n, "%zu B", bytes);
    else
        hfi_snprintf(buf, n, "%zu.%zu %s", whole, tenth, units[u]);
    return buf;
}

void hfi_stats_lines(hf_line_fn fn, void *ctx) {
    hf_process_info i;
    hf_process_info_get(&i);
    char line[256], a[32], b[32], c[32], d[32], e[32];
    hfi_snprintf(line, sizeof line, "heapforge: reserved %s, committed %s, cached %s, rss %s",
                 human(a, sizeof a, i.reserved_bytes), human(b, sizeof b, i.committed_bytes),
                 human(c, sizeof c, i.cached_bytes), human(d, sizeof d, hfi_prim_rss_bytes()));
    fn(ctx, line);
    hfi_snprintf(line, sizeof line,
                 "heapforge: segments %zu (abandoned %zu), large blocks %zu, threads %zu",
                 i.segments, i.abandoned_segments, i.spans, i.threads);
    fn(ctx, line);
    hfi_snprintf(line, sizeof line, "heapforge: os calls: mmap/mremap %zu, munmap %zu, purge %zu",
                 i.mmap_calls, i.munmap_calls, i.purges);
    fn(ctx, line);
    if (hfi_lab_process_policy != 0) {
        hf_policy p = (hf_policy)hfi_lab_process_policy;
        hf_arena_statistics s;
        hf_arena_stats(hf_arena_default(p), &s);
        hfi_snprintf(line, sizeof line,
                     "heapforge: policy %s: live %s (peak %s), footprint %s (peak %s), "
                     "%zu free blocks, largest free %s",
                     hf_policy_name(p), human(a, sizeof a, s.live_bytes),
                     human(b, sizeof b, s.peak_live_bytes), human(c, sizeof c, s.footprint),
                     human(d, sizeof d, s.peak_footprint), s.free_blocks,
                     human(e, sizeof e, s.largest_free));
        fn(ctx, line);
    }
}

static void line_to_stderr(void *ctx, const char *line) {
    (void)ctx;
    hfi_prim_write_stderr(line, strlen(line));
    hfi_prim_write_stderr("\n", 1);
}

void hfi_stats_print_stderr(void) {
    hfi_stats_lines(line_to_stderr, NULL);
}

static void line_to_file(void *ctx, const char *line) {
    fprintf((FILE *)ctx, "%s\n", line);
}

HF_API void hf_stats_print(FILE *out) {
    if (out == NULL) out = stderr;
    hfi_stats_lines(line_to_file, out);
    fflush(out);
}

HF_API int hf_trim(size_t pad) {
    (void)pad;
    size_t before = atomic_load(&hfi_os_stats.purges) + atomic_load(&hfi_os_stats.munmaps);
    /* Under a lab policy threads have no heap, and trim must not give them one. */
    hf_heap *heap =
        hfi_lab_process_policy != 0 && hfi_tl_heap == &hfi_heap_empty ? NULL : hfi_heap_get();
    if (heap != NULL) {
        /* Segments of exited threads come here first, so their free pages can go too. */
        while (hfi_segment_reclaim(heap)) {
        }
        hfi_heap_collect(heap, true);
    }
    hfi_segment_cache_trim(true);
    hfi_span_cache_trim(true);
    return atomic_load(&hfi_os_stats.purges) + atomic_load(&hfi_os_stats.munmaps) != before;
}
