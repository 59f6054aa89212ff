/* dump.c -- `heapforge dump` and `heapforge stats`: a trace as data.
 *
 * dump writes every operation as one row: CSV (a header line, then op,index,time_ns,thread,id,
 * size,align,failed) or JSON lines (one object per operation, the same fields). Block ids stand
 * for addresses (the loader turned addresses into ids): a realloc keeps its block's id.
 *
 * stats summarises a trace: operation counts, peak live bytes, and two histograms by powers of
 * two: the requested sizes, and the lifetimes of the blocks freed in the trace, in operations
 * between the allocation and the free (blocks never freed are counted apart). */
#include "tool.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char dump_usage[] =
    "usage: heapforge dump TRACE [--csv|--jsonl] [-o FILE]\n"
    "\n"
    "Writes every operation of TRACE (a binary trace or a .rep file) as a row: CSV with a\n"
    "header (the default) or JSON lines (--jsonl). Fields: op (malloc calloc realloc aligned\n"
    "free), index, time_ns, thread, id (the block; a realloc keeps its id), size, align,\n"
    "failed (1: the call returned NULL when recorded). Output to FILE or standard output.\n"
    "Exit status: 0 ok, 1 FILE could not be written, 2 usage error, 3 bad input file.\n";

static const char stats_usage[] =
    "usage: heapforge stats TRACE\n"
    "\n"
    "Summarises TRACE: operations of each kind, threads, blocks, peak live bytes, and\n"
    "histograms by powers of two of the requested sizes and of block lifetimes (operations\n"
    "from the allocation to the free; blocks still live at the end are counted apart).\n"
    "Exit status: 0 ok, 2 usage error, 3 bad input file.\n";

/* Parses the common arguments: one trace, and for dump a format and an output. */
static int parse(const char *cmd, int argc, char **argv, const char **trace, int *jsonl,
                 const char **out) {
    static const struct option longopts[] = {{"csv", no_argument, NULL, 'c'},
                                             {"jsonl", no_argument, NULL, 'j'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool dump = strcmp(cmd, "dump") == 0;
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1;) {
        switch (c) {
        case 'c':
        case 'j':
        case 'o':
            if (!dump) return hft_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
            if (c == 'o')
                *out = optarg;
            else
                *jsonl = c == 'j';
            break;
        case 'h':
            fputs(dump ? dump_usage : stats_usage, stdout);
            return -1;
        case ':':
            return hft_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
            return hft_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return hft_usage_error(cmd, "no trace file given");
    if (optind + 1 < argc)
        return hft_usage_error(cmd, "one trace at a time ('%s')", argv[optind + 1]);
    *trace = argv[optind];
    return 0;
}

static int load(const char *cmd, const char *path, hft_trace *t) {
    char err[512];
    int rc = hft_trace_load(path, t, err, sizeof err);
    if (rc != 0) fprintf(stderr, "heapforge %s: %s\n", cmd, err);
    return rc;
}

int hft_cmd_dump(int argc, char **argv) {
    const char *path = NULL, *out = NULL;
    int jsonl = 0;
    int rc = parse("dump", argc, argv, &path, &jsonl, &out);
    if (rc != 0) return rc < 0 ? HFT_EXIT_OK : rc;
    hft_trace t;
    if ((rc = load("dump", path, &t)) != 0) return rc;
    FILE *f = out ? fopen(out, "w") : stdout;
    if (f == NULL) {
        fprintf(stderr, "heapforge dump: cannot write '%s'\n", out);
        hft_trace_free(&t);
        return HFT_EXIT_FAIL;
    }
    if (!jsonl) fputs("op,index,time_ns,thread,id,size,align,failed\n", f);
    for (size_t i = 0; i < t.nops; i++) {
        const hft_op *o = &t.ops[i];
        const char *k = hft_kind_name(o->op);
        long long id = o->id == HFT_NO_ID ? -1 : (long long)o->id;
        if (jsonl)
            fprintf(f,
                    "{\"op\": \"%s\", \"index\": %zu, \"time_ns\": %llu, \"thread\": %u, \"id\": "
                    "%lld, \"size\": %llu, \"align\": %llu, \"failed\": %u}\n",
                    k, i, (unsigned long long)o->time_ns, o->thread, id,
                    (unsigned long long)o->size, (unsigned long long)o->align, o->failed);
        else
            fprintf(f, "%s,%zu,%llu,%u,%lld,%llu,%llu,%u\n", k, i, (unsigned long long)o->time_ns,
                    o->thread, id, (unsigned long long)o->size, (unsigned long long)o->align,
                    o->failed);
    }
    int bad = f != stdout ? fclose(f) != 0 : fflush(f) != 0;
    hft_trace_free(&t);
    if (bad) {
        fprintf(stderr, "heapforge dump: cannot write '%s'\n", out ? out : "standard output");
        return HFT_EXIT_FAIL;
    }
    return HFT_EXIT_OK;
}

enum { BUCKETS = 48 };

static unsigned bucket(uint64_t v) { /* 0: 0; k: [2^(k-1), 2^k) */
    unsigned k = v == 0 ? 0 : 64u - (unsigned)__builtin_clzll(v);
    return k < BUCKETS ? k : BUCKETS - 1;
}

static void histogram(const char *title, const char *unit, const uint64_t *h, uint64_t total) {
    printf("%s\n", title);
    if (total == 0) {
        printf("  (none)\n");
        return;
    }
    uint64_t most = 0;
    for (unsigned k = 0; k < BUCKETS; k++)
        if (h[k] > most) most = h[k];
    for (unsigned k = 0; k < BUCKETS; k++) {
        if (h[k] == 0) continue;
        char lo[32], hi[32];
        if (k == 0)
            snprintf(lo, sizeof lo, "0"), snprintf(hi, sizeof hi, "0");
        else
            snprintf(lo, sizeof lo, "%llu", 1ULL << (k - 1)),
                snprintf(hi, sizeof hi, "%llu", (1ULL << k) - 1);
        int bar = (int)(40 * h[k] / most);
        printf("  %12s - %-12s %-5s %10llu %5.1f%%  %.*s\n", lo, hi, unit, (unsigned long long)h[k],
               100.0 * (double)h[k] / (double)total, bar,
               "########################################");
    }
}

int hft_cmd_stats(int argc, char **argv) {
    const char *path = NULL, *out = NULL;
    int jsonl = 0;
    int rc = parse("stats", argc, argv, &path, &jsonl, &out);
    if (rc != 0) return rc < 0 ? HFT_EXIT_OK : rc;
    hft_trace t;
    if ((rc = load("stats", path, &t)) != 0) return rc;
    uint64_t kinds[HFT_KINDS] = {0}, failed = 0, sizes[BUCKETS] = {0}, life[BUCKETS] = {0};
    uint64_t nsizes = 0, nfreed = 0, threads = 0, last_thread = UINT64_MAX;
    size_t *born = calloc(t.nids ? t.nids : 1, sizeof *born);
    uint32_t *seen = NULL;
    size_t nseen = 0, cap = 0;
    if (born == NULL) {
        hft_trace_free(&t);
        fprintf(stderr, "heapforge stats: out of memory\n");
        return HFT_EXIT_FAIL;
    }
    for (size_t i = 0; i < t.nops; i++) {
        const hft_op *o = &t.ops[i];
        kinds[o->op < HFT_KINDS ? o->op : HFT_FREE]++;
        if (o->failed) {
            failed++;
            continue;
        }
        if (o->thread != last_thread) { /* distinct threads: a small set, looked up linearly */
            bool known = false;
            for (size_t k = 0; k < nseen && !known; k++) known = seen[k] == o->thread;
            if (!known) {
                if (nseen == cap) {
                    cap = cap ? 2 * cap : 16;
                    uint32_t *g = realloc(seen, cap * sizeof *seen);
                    if (g == NULL) break;
                    seen = g;
                }
                seen[nseen++] = o->thread;
                threads++;
            }
            last_thread = o->thread;
        }
        if (o->op == HFT_FREE) {
            if (o->id < t.nids) {
                life[bucket(i - born[o->id])]++;
                nfreed++;
            }
        } else {
            sizes[bucket(o->size)]++;
            nsizes++;
            if (o->id < t.nids && o->op != HFT_REALLOC) born[o->id] = i;
        }
    }
    size_t peak_at = 0;
    uint64_t peak = hft_trace_peak_live(&t, &peak_at);
    printf("%s: %zu operations (%llu malloc, %llu calloc, %llu realloc, %llu aligned, %llu free; "
           "%llu failed), %llu thread(s), %u blocks, %llu never freed; peak live %llu bytes at "
           "operation %zu; recorded from %s\n",
           path, t.nops, (unsigned long long)kinds[HFT_MALLOC],
           (unsigned long long)kinds[HFT_CALLOC], (unsigned long long)kinds[HFT_REALLOC],
           (unsigned long long)kinds[HFT_ALIGNED], (unsigned long long)kinds[HFT_FREE],
           (unsigned long long)failed, (unsigned long long)threads, t.nids,
           (unsigned long long)(t.nids - nfreed), (unsigned long long)peak, peak_at,
           t.program[0] ? t.program : "?");
    histogram("requested sizes (malloc, calloc, aligned, realloc):", "B", sizes, nsizes);
    histogram("lifetimes of the blocks freed (operations from allocation to free):", "ops", life,
              nfreed);
    free(seen);
    free(born);
    hft_trace_free(&t);
    return HFT_EXIT_OK;
}
