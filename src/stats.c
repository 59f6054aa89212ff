/* stats.c -- statistics: hf_stats_get (the merge), the text and JSON printers generated from
 * HF_STATS_FIELDS (heapforge-stats.h), the exit report (HEAPFORGE_STATS=1, HEAPFORGE_LEAKS=1,
 * to stderr or HEAPFORGE_STATS_FILE). The printers build their lines with the
 * non-allocating formatter, so the exit report works even when stdio is gone. */
#include "internal/internal.h"

#include <string.h>

_Static_assert(HF_STATS_CLASSES == HF_STAT_BUCKETS, "public and internal class counts differ");

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

static uint64_t nonneg(int64_t x) {
    return x > 0 ? (uint64_t)x : 0;
}

HF_API int hf_stats_get(hf_stats *out) {
    hf_stats s;
    memset(&s, 0, sizeof s);
    s.version = HF_STATS_VERSION;
    s.size = sizeof s;
    s.reserved = atomic_load(&hfi_os_stats.reserved);
    s.committed = atomic_load(&hfi_os_stats.committed);
    s.peak_committed = atomic_load(&hfi_os_stats.peak_committed);
    if (s.peak_committed < s.committed) s.peak_committed = s.committed;
    s.cached = atomic_load(&hfi_os_stats.cached);
    s.purged_total = atomic_load(&hfi_os_stats.purged);
    s.rss = hfi_prim_rss_bytes();
    s.peak_rss = hfi_prim_peak_rss_bytes();
    if (s.peak_rss < s.rss) s.peak_rss = s.rss; /* the two come from different counters */
    s.segments = atomic_load(&hfi_os_stats.segments);
    s.abandoned_segments = atomic_load(&hfi_os_stats.abandoned);
    s.spans = atomic_load(&hfi_os_stats.spans);
    s.threads = atomic_load(&hfi_os_stats.threads);
    s.mmap_calls = atomic_load(&hfi_os_stats.mmaps);
    s.munmap_calls = atomic_load(&hfi_os_stats.munmaps);
    s.madvise_calls = atomic_load(&hfi_os_stats.purges);
    for (unsigned c = 0; c < HF_CLASS_COUNT; c++) s.class_size[c] = hfi_class_size[c];
    if (hfi_hooks & HF_HOOK_STATS) {
        hf_heap_stats h;
        int64_t peaks[3];
        hfi_instrument_sum(&h, peaks);
        s.instrumented = 1;
        s.live_requested = nonneg(h.live_requested);
        s.peak_live_requested = nonneg(peaks[0]);
        s.live_bytes = nonneg(h.live_bytes);
        s.peak_live_bytes = nonneg(peaks[1]);
        s.live_blocks = nonneg(h.live_blocks);
        s.peak_live_blocks = nonneg(peaks[2]);
        s.mallocs = nonneg(h.mallocs);
        s.callocs = nonneg(h.callocs);
        s.aligned_allocs = nonneg(h.aligned_allocs);
        s.reallocs = nonneg(h.reallocs);
        s.frees = nonneg(h.frees);
        s.requested_total = nonneg(h.requested_total);
        s.allocated_total = nonneg(h.allocated_total);
        for (unsigned c = 0; c < HF_STAT_BUCKETS; c++) {
            s.class_mallocs[c] = nonneg(h.class_mallocs[c]);
            s.class_live[c] = nonneg(h.class_live[c]);
        }
        /* A lab policy serving the process has a footprint of its own, outside the segments. */
        uint64_t foot = s.peak_committed;
        if (foot != 0 && s.peak_live_bytes != 0) {
            s.utilization = (double)s.peak_live_bytes / (double)foot;
            s.fragmentation = 1.0 / s.utilization - 1.0;
        }
    }
    *out = s;
    return 0;
}

/* ---- text ----------------------------------------------------------------------------- */
/* "12.3 MiB" without floating point. */
static const char *human(char *buf, size_t n, uint64_t bytes) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    uint64_t whole = bytes, tenth = 0;
    while (whole >= 1024 && u < 4) {
        tenth = (whole % 1024) * 10 / 1024;
        whole /= 1024;
        u++;
    }
    if (u == 0)
        hfi_snprintf(buf, n, "%llu B", (unsigned long long)bytes);
    else
        hfi_snprintf(buf, n, "%llu.%llu %s", (unsigned long long)whole, (unsigned long long)tenth,
                     units[u]);
    return buf;
}

/* A double as "0.873" (three decimals) without floating-point formatting. */
static const char *fixed3(char *buf, size_t n, double x) {
    if (x < 0) x = 0;
    unsigned long long m = (unsigned long long)(x * 1000.0 + 0.5);
    hfi_snprintf(buf, n, "%llu.%03llu", m / 1000, m % 1000);
    return buf;
}

void hfi_stats_lines(hf_line_fn fn, void *ctx) {
    hf_stats s;
    hf_stats_get(&s);
    char line[256], a[32], b[32], c[32], d[32], e[32], f[32];
    if (s.instrumented) {
        hfi_snprintf(line, sizeof line,
                     "heapforge: live %s requested (peak %s), %s with rounding (peak %s), "
                     "%llu blocks (peak %llu)",
                     human(a, sizeof a, s.live_requested),
                     human(b, sizeof b, s.peak_live_requested), human(c, sizeof c, s.live_bytes),
                     human(d, sizeof d, s.peak_live_bytes), (unsigned long long)s.live_blocks,
                     (unsigned long long)s.peak_live_blocks);
        fn(ctx, line);
        hfi_snprintf(line, sizeof line,
                     "heapforge: calls: malloc %llu (calloc %llu, aligned %llu), realloc %llu, "
                     "free %llu; %s requested in all",
                     (unsigned long long)s.mallocs, (unsigned long long)s.callocs,
                     (unsigned long long)s.aligned_allocs, (unsigned long long)s.reallocs,
                     (unsigned long long)s.frees, human(a, sizeof a, s.requested_total));
        fn(ctx, line);
        hfi_snprintf(line, sizeof line,
                     "heapforge: utilization %s (peak live / peak committed), fragmentation %s",
                     fixed3(a, sizeof a, s.utilization), fixed3(b, sizeof b, s.fragmentation));
        fn(ctx, line);
    }
    hfi_snprintf(line, sizeof line,
                 "heapforge: reserved %s, committed %s (peak %s), cached %s, rss %s (peak %s)",
                 human(a, sizeof a, s.reserved), human(b, sizeof b, s.committed),
                 human(c, sizeof c, s.peak_committed), human(d, sizeof d, s.cached),
                 human(e, sizeof e, s.rss), human(f, sizeof f, s.peak_rss));
    fn(ctx, line);
    hfi_snprintf(line, sizeof line,
                 "heapforge: segments %llu (abandoned %llu), large blocks %llu, threads %llu",
                 (unsigned long long)s.segments, (unsigned long long)s.abandoned_segments,
                 (unsigned long long)s.spans, (unsigned long long)s.threads);
    fn(ctx, line);
    hfi_snprintf(line, sizeof line,
                 "heapforge: os calls: mmap/mremap %llu, munmap %llu, madvise %llu (%s purged)",
                 (unsigned long long)s.mmap_calls, (unsigned long long)s.munmap_calls,
                 (unsigned long long)s.madvise_calls, human(a, sizeof a, s.purged_total));
    fn(ctx, line);
    if (s.instrumented) {
        /* The busiest classes by blocks handed out; hf_stats_json lists them all. */
        enum { SHOWN = 12 };
        bool shown[HF_STATS_CLASSES] = {false};
        unsigned used = 0;
        for (unsigned k = 0; k < HF_STATS_CLASSES; k++) used += s.class_mallocs[k] != 0;
        fn(ctx, "heapforge: class      size      live    mallocs   (the busiest classes)");
        for (unsigned n = 0; n < SHOWN && n < used; n++) {
            unsigned best = HF_STATS_CLASSES;
            for (unsigned k = 0; k < HF_STATS_CLASSES; k++)
                if (!shown[k] && s.class_mallocs[k] != 0 &&
                    (best == HF_STATS_CLASSES || s.class_mallocs[k] > s.class_mallocs[best]))
                    best = k;
            shown[best] = true;
            if (best == HF_STATS_CLASSES - 1)
                hfi_snprintf(a, sizeof a, "> 128 KiB");
            else
                human(a, sizeof a, s.class_size[best]);
            hfi_snprintf(line, sizeof line, "heapforge: %5u %9s %9llu %10llu", best, a,
                         (unsigned long long)s.class_live[best],
                         (unsigned long long)s.class_mallocs[best]);
            fn(ctx, line);
        }
        if (used > SHOWN) {
            hfi_snprintf(line, sizeof line,
                         "heapforge: ... and %u more classes (all of them: HEAPFORGE_STATS=json)",
                         used - SHOWN);
            fn(ctx, line);
        }
    }
    if (hfi_lab_process_policy != 0) {
        hf_policy p = (hf_policy)hfi_lab_process_policy;
        hf_arena_statistics as;
        hf_arena_stats(hfi_lab_arena_default(p), &as);
        hfi_snprintf(line, sizeof line,
                     "heapforge: policy %s: live %s (peak %s), footprint %s (peak %s), "
                     "%zu free blocks, largest free %s",
                     hf_policy_name(p), human(a, sizeof a, as.live_bytes),
                     human(b, sizeof b, as.peak_live_bytes), human(c, sizeof c, as.footprint),
                     human(d, sizeof d, as.peak_footprint), as.free_blocks,
                     human(e, sizeof e, as.largest_free));
        fn(ctx, line);
    }
}

static void line_to_file(void *ctx, const char *line) {
    fprintf((FILE *)ctx, "%s\n", line);
}

HF_API void hf_stats_print(FILE *out) {
    if (out == NULL) out = stderr;
    hfi_stats_lines(line_to_file, out);
    fflush(out);
}

/* ---- JSON ----------------------------------------------------------------------------- */
typedef struct json_buf {
    char *buf;
    size_t size, len; /* len counts every byte, even those that did not fit */
} json_buf;

static void jput(json_buf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jput(json_buf *j, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = hfi_vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof tmp) n = (int)sizeof tmp - 1;
    for (int i = 0; i < n; i++, j->len++)
        if (j->len + 1 < j->size) j->buf[j->len] = tmp[i];
}

HF_API size_t hf_stats_json(char *buf, size_t size) {
    hf_stats s;
    hf_stats_get(&s);
    json_buf j = {buf, size, 0};
    char u[32], f[32];
    jput(&j, "{\"version\": %u", s.version);
#define HF_STATS_JSON(name, unit, desc)                                                            \
    jput(&j, ", \"%s\": %llu", #name, (unsigned long long)s.name);
    HF_STATS_FIELDS(HF_STATS_JSON)
#undef HF_STATS_JSON
    jput(&j, ", \"utilization\": %s, \"fragmentation\": %s", fixed3(u, sizeof u, s.utilization),
         fixed3(f, sizeof f, s.fragmentation));
    jput(&j, ", \"classes\": [");
    bool first = true;
    for (unsigned k = 0; k < HF_STATS_CLASSES; k++) {
        if (s.class_mallocs[k] == 0) continue;
        jput(&j, "%s{\"class\": %u, \"size\": %u, \"live\": %llu, \"mallocs\": %llu}",
             first ? "" : ", ", k, s.class_size[k], (unsigned long long)s.class_live[k],
             (unsigned long long)s.class_mallocs[k]);
        first = false;
    }
    jput(&j, "]}");
    if (size != 0) buf[j.len < size ? j.len : size - 1] = 0;
    return j.len;
}

/* ---- leaks ---------------------------------------------------------------------------- */
/* Live blocks grouped by requested size, in a fixed table (no allocation at exit). */
#define HF_LEAK_GROUPS 1024
typedef struct leak_group {
    uint64_t size, count;
    const void *example;
} leak_group;
typedef struct leak_table {
    leak_group g[HF_LEAK_GROUPS];
    uint64_t blocks, bytes, other_blocks, other_bytes;
} leak_table;

static void leak_add(void *ctx, const void *p, size_t size) {
    leak_table *t = ctx;
    t->blocks++;
    t->bytes += size;
    size_t i = (size_t)(size * 0x9E3779B97F4A7C15ull >> 54) % HF_LEAK_GROUPS;
    for (size_t k = 0; k < HF_LEAK_GROUPS; k++, i = (i + 1) % HF_LEAK_GROUPS) {
        leak_group *g = &t->g[i];
        if (g->count == 0 || g->size == size) {
            if (g->count == 0) g->size = size, g->example = p;
            g->count++;
            return;
        }
    }
    t->other_blocks++;
    t->other_bytes += size;
}

void hfi_leaks_lines(hf_line_fn fn, void *ctx) {
    static leak_table t; /* at exit, one thread: a static table keeps the stack small */
    memset(&t, 0, sizeof t);
    hfi_blockmap_each(leak_add, &t);
    char line[256], a[32], b[32];
    hfi_snprintf(line, sizeof line, "heapforge: leaks: %llu blocks, %s still live at exit",
                 (unsigned long long)t.blocks, human(a, sizeof a, t.bytes));
    fn(ctx, line);
    /* The 20 groups with the most bytes, largest first (selection: the table is small). */
    for (int shown = 0; shown < 20; shown++) {
        leak_group *best = NULL;
        for (size_t i = 0; i < HF_LEAK_GROUPS; i++) {
            leak_group *g = &t.g[i];
            if (g->count != 0 && (best == NULL || g->count * g->size > best->count * best->size))
                best = g;
        }
        if (best == NULL) break;
        hfi_snprintf(line, sizeof line, "heapforge: leaks: %8llu x %llu bytes = %s (e.g. %p)",
                     (unsigned long long)best->count, (unsigned long long)best->size,
                     human(b, sizeof b, best->count * best->size), best->example);
        fn(ctx, line);
        best->count = 0;
    }
    if (t.other_blocks != 0) {
        hfi_snprintf(line, sizeof line, "heapforge: leaks: %llu more blocks (%s) in other sizes",
                     (unsigned long long)t.other_blocks, human(a, sizeof a, t.other_bytes));
        fn(ctx, line);
    }
}

/* ---- the exit report ------------------------------------------------------------------ */
static void line_to_fd(void *ctx, const char *line) {
    int fd = *(int *)ctx;
    hfi_prim_write(fd, line, strlen(line));
    hfi_prim_write(fd, "\n", 1);
}

void hfi_stats_exit(void) {
    if (!hfi_options.stats && !hfi_options.leaks) return;
    int fd = 2;
    if (hfi_options_stats_file != NULL) {
        char path[512];
        hfi_expand_path(path, sizeof path, hfi_options_stats_file);
        fd = hfi_prim_open_write(path, false);
        if (fd < 0) {
            hfi_warn("cannot write the report to %s; writing it here", path);
            fd = 2;
        }
    }
    /* Which process this is: a shell script or a program's children print a report each. */
    char comm[64], line[160];
    size_t n = hfi_prim_read_file("/proc/self/comm", comm, sizeof comm);
    while (n > 0 && (comm[n - 1] == '\n' || comm[n - 1] == 0)) comm[--n] = 0;
    comm[n] = 0;
    hfi_snprintf(line, sizeof line, "heapforge: exit report of %s (pid %u)", n ? comm : "?",
                 (unsigned)hfi_prim_process_id());
    line_to_fd(&fd, line);
    if (hfi_options.stats == 2) {   /* HEAPFORGE_STATS=json: one JSON object, one line */
        static char json[64 << 10]; /* .bss: touched only here */
        size_t len = hf_stats_json(json, sizeof json);
        if (len >= sizeof json) len = sizeof json - 1; /* cannot happen: ~150 classes */
        hfi_prim_write(fd, json, len);
        hfi_prim_write(fd, "\n", 1);
    } else if (hfi_options.stats) {
        hfi_stats_lines(line_to_fd, &fd);
    }
    if (hfi_options.leaks && (hfi_hooks & HF_HOOK_LEAKS)) hfi_leaks_lines(line_to_fd, &fd);
    if (fd != 2) hfi_prim_close(fd);
}
