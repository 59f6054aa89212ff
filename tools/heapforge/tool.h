/* tool.h -- what the heapforge command's files share: exit codes, the in-memory trace (an op
 * array with block ids instead of addresses), the replay results, and the report writers.
 * Tool-internal names carry the hft_ prefix; everything else in a file is static. */
#ifndef HFT_TOOL_H
#define HFT_TOOL_H

#include <heapforge.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in --help and heapforge(1)). */
enum {
    HFT_EXIT_OK = 0, /* success */
    HFT_EXIT_FAIL =
        1, /* a run-time failure: a replay that failed, a command that could not start */
    HFT_EXIT_USAGE = 2,  /* bad options or arguments */
    HFT_EXIT_BADFILE = 3 /* an input file that is corrupt, truncated or not a trace */
};

/* ---- traces (trace_load.c) ---------------------------------------------------------------- */

enum hft_kind { HFT_MALLOC = 0, HFT_CALLOC, HFT_REALLOC, HFT_ALIGNED, HFT_FREE, HFT_KINDS };

typedef struct hft_op {
    uint8_t op;       /* enum hft_kind */
    uint8_t variant;  /* aligned: which function (enum hfi_trace_aligned_variant) */
    uint8_t failed;   /* the allocation returned NULL in the recorded run (replay skips it) */
    uint32_t id;      /* block id, 0..nids-1; realloc keeps the id of its block */
    uint32_t thread;  /* thread id of the recording (0 for .rep files) */
    uint64_t size;    /* bytes requested (free: 0) */
    uint64_t align;   /* aligned: the alignment */
    uint64_t time_ns; /* from the start of the trace */
} hft_op;

typedef struct hft_trace {
    hft_op *ops;
    size_t nops;
    uint32_t nids;
    uint32_t pid;
    uint32_t flags;   /* HFI_TRACE_FLAG_* of the file header */
    size_t inherited; /* FORKED: frees and reallocs of the parent's blocks, skipped */
    uint64_t start_realtime_ns;
    char program[256];
    int from_rep; /* loaded from a .rep file */
} hft_trace;

#define HFT_NO_ID       UINT32_MAX
#define HFT_SIZE_LIMIT  (1ULL << 46) /* bigger requests are taken as corruption */
#define HFT_ALIGN_LIMIT (1ULL << 30)

const char *hft_kind_name(unsigned kind);
/* 0 on success; otherwise err holds one line "FILE: byte N: problem" (or "line N") and the
 * return value is HFT_EXIT_BADFILE (or HFT_EXIT_FAIL when the file cannot be read at all). */
int hft_trace_load(const char *path, hft_trace *t, char *err, size_t errlen);
/* The same on bytes already in memory (the fuzz target's entry); name stands for the path in
 * messages. Never reads outside b[0, len). */
int hft_trace_load_mem(const char *name, const uint8_t *b, size_t len, hft_trace *t, char *err,
                       size_t errlen);
int hft_trace_save_binary(const hft_trace *t, const char *path, char *err, size_t errlen);
int hft_trace_save_rep(const hft_trace *t, const char *path, char *err, size_t errlen);
void hft_trace_free(hft_trace *t);
/* Peak of the live requested bytes over the trace, and the op index right after which it is
 * first reached. */
uint64_t hft_trace_peak_live(const hft_trace *t, size_t *at_op);

/* ---- the command line (main.c) ------------------------------------------------------------- */

/* Prints "heapforge CMD: message" and the hint to use --help; returns HFT_EXIT_USAGE. */
int hft_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses "all" or a comma-separated list of policy names; 0 or HFT_EXIT_USAGE (reported). */
int hft_parse_policies(const char *cmd, const char *list, hf_policy *out, hf_arena_config *cfg,
                       const hf_arena_config *base, unsigned *n);
const char *hft_policy_colour(hf_policy p);
/* "12.3 KiB" */
const char *hft_bytes(char *buf, size_t n, double bytes);

/* The unit of a latency column (report_text.c), chosen from its largest value. */
typedef struct hft_ns_unit {
    const char *name; /* "ns", "us" ("µs" for html) or "ms" */
    double div;
    int decimals;
} hft_ns_unit;
hft_ns_unit hft_ns_unit_for(double max_ns, bool html);

/* The path of the libheapforge.so this process runs on (run.c), or NULL. */
const char *hft_library_path(void);

int hft_cmd_replay(int argc, char **argv);
int hft_cmd_gen(int argc, char **argv);
int hft_cmd_run(int argc, char **argv);
int hft_cmd_record(int argc, char **argv);
int hft_cmd_compare(int argc, char **argv);
int hft_cmd_convert(int argc, char **argv);
int hft_cmd_dump(int argc, char **argv);
int hft_cmd_stats(int argc, char **argv);

/* ---- replay results (replay.c) --------------------------------------------------------------- */

#define HFT_HIST_BUCKETS 512 /* 8 per power of two of nanoseconds */
#define HFT_SAMPLES      512
#define HFT_MAP_COLS     96
#define HFT_MAP_ROWS     24
#define HFT_MAP_CELLS    (HFT_MAP_COLS * HFT_MAP_ROWS)

typedef struct hft_hist {
    uint64_t count;
    uint64_t max_ns;
    double sum_ns;
    uint64_t bucket[HFT_HIST_BUCKETS];
} hft_hist;

/* Heap map cell classes. */
enum { HFT_CELL_FREE = 0, HFT_CELL_USED, HFT_CELL_OVERHEAD, HFT_CELL_META, HFT_CELL_NONE };

typedef struct hft_sample {
    uint64_t op;   /* ops replayed so far */
    uint64_t live; /* requested bytes live */
    uint64_t footprint;
} hft_sample;

typedef struct hft_result {
    hf_policy policy;
    int ok;
    char error[256];
    uint64_t ops;      /* operations replayed (failed ones of the recording are skipped) */
    double op_seconds; /* time inside the allocator's calls */
    double wall_seconds;
    uint64_t peak_live;
    uint64_t peak_live_op;
    uint64_t peak_footprint;
    hft_hist hist[HFT_KINDS];
    unsigned nsamples;
    hft_sample samples[HFT_SAMPLES];
    int has_map;
    uint64_t map_bytes; /* bytes the map covers (the arena's footprint at the peak) */
    uint64_t map_used, map_overhead, map_free, map_meta; /* bytes of each class */
    uint64_t map_blocks, map_free_blocks;
    uint8_t map[HFT_MAP_CELLS];
} hft_result;

/* Derived figures. */
double hft_result_ops_per_sec(const hft_result *r);
double hft_result_utilization(const hft_result *r);
double hft_result_score(const hft_result *r);
/* The latency below which fraction q of the kind's operations fell (ns); for kind HFT_KINDS,
 * over every allocating kind together. */
double hft_hist_quantile(const hft_hist *h, double q);
double hft_hist_bucket_low(unsigned i);
double hft_hist_bucket_high(unsigned i);
void hft_hist_merge(hft_hist *into, const hft_hist *from);
#define HFT_SCORE_REF_OPS 20e6 /* the throughput that earns the full 40 points */

typedef struct hft_replay_set {
    const char *file;
    const hft_trace *trace;
    unsigned npolicies;
    hft_result *results; /* npolicies of them */
} hft_replay_set;

/* ---- reports (report_text.c, report_html.c) ------------------------------------------------ */

void hft_report_table(FILE *out, const hft_replay_set *sets, unsigned nsets);
void hft_report_json(FILE *out, const hft_replay_set *sets, unsigned nsets);
void hft_report_csv(FILE *out, const hft_replay_set *sets, unsigned nsets);
int hft_report_html(const char *path, const hft_replay_set *sets, unsigned nsets);
int hft_report_svg_dir(const char *dir, const hft_replay_set *sets, unsigned nsets);

#endif /* HFT_TOOL_H */
