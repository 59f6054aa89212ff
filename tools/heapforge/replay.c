/* replay.c -- `heapforge replay`: replays traces under each policy and measures them.
 *
 * Every (trace, policy) pair runs in a forked child, so each starts from the same process state
 * and a policy that corrupts memory or crashes takes down only its child; results come back
 * through a shared mapping. The replay is single-threaded, in the merged time-stamp order of the
 * trace: it measures placement (footprint, fragmentation) and per-call cost, not contention.
 * `fast` runs on hf_malloc and friends (footprint: the process's committed bytes relative to
 * the start); each lab policy on an arena of its own (footprint: the arena's regions). Every
 * block is filled with a pattern derived from its id and checked when it is freed or moved, so
 * a policy that overlaps blocks fails loudly. */
#include "tool.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- time ---------------------------------------------------------------------------------- */

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The time stamp counter costs ~8 ns against ~20 ns for clock_gettime, which matters when the
 * calls measured take 10-50 ns. It is calibrated once against the monotonic clock. */
static inline uint64_t ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return mono_ns();
#endif
}

static double ns_per_tick = 1.0;
static uint64_t tick_overhead; /* the cost of the two reads around an empty region */

static void calibrate(void) {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = ticks(), b = ticks();
        if (b - a < best) best = b - a;
    }
    tick_overhead = best;
#if defined(__x86_64__) || defined(__i386__)
    uint64_t n0 = mono_ns(), t0 = ticks();
    while (mono_ns() - n0 < 20000000ULL) {
    }
    uint64_t n1 = mono_ns(), t1 = ticks();
    ns_per_tick = t1 > t0 ? (double)(n1 - n0) / (double)(t1 - t0) : 1.0;
#endif
}

/* ---- histograms: 8 buckets per power of two of nanoseconds (about 9% wide) --------------- */

static unsigned bucket_of(uint64_t ns) {
    if (ns < 8) return (unsigned)ns;
    unsigned e = 63u - (unsigned)__builtin_clzll(ns); /* >= 3 */
    return 8 + (e - 3) * 8 + (unsigned)((ns >> (e - 3)) & 7);
}

double hft_hist_bucket_low(unsigned i) {
    if (i < 8) return i;
    unsigned e = (i - 8) / 8 + 3, m = (i - 8) % 8;
    return ldexp(8 + m, (int)e - 3);
}
double hft_hist_bucket_high(unsigned i) {
    return i < 8 ? i + 1 : hft_hist_bucket_low(i) + ldexp(1, (int)((i - 8) / 8));
}

static void hist_add(hft_hist *h, uint64_t ns) {
    h->count++;
    h->sum_ns += (double)ns;
    if (ns > h->max_ns) h->max_ns = ns;
    h->bucket[bucket_of(ns)]++;
}

void hft_hist_merge(hft_hist *into, const hft_hist *from) {
    into->count += from->count;
    into->sum_ns += from->sum_ns;
    if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
    for (unsigned i = 0; i < HFT_HIST_BUCKETS; i++) into->bucket[i] += from->bucket[i];
}

double hft_hist_quantile(const hft_hist *h, double q) {
    if (h->count == 0) return 0;
    uint64_t want = (uint64_t)ceil(q * (double)h->count), seen = 0;
    if (want == 0) want = 1;
    for (unsigned i = 0; i < HFT_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= want) {
            double mid = i < 8 ? i : (hft_hist_bucket_low(i) + hft_hist_bucket_high(i)) / 2;
            return mid > (double)h->max_ns ? (double)h->max_ns : mid;
        }
    }
    return (double)h->max_ns;
}

/* ---- derived figures ------------------------------------------------------------------------ */

double hft_result_ops_per_sec(const hft_result *r) {
    return r->op_seconds > 0 ? (double)r->ops / r->op_seconds : 0;
}
double hft_result_utilization(const hft_result *r) {
    return r->peak_footprint > 0 ? (double)r->peak_live / (double)r->peak_footprint : 0;
}
/* The CS:APP malloc lab's performance index: 60% utilization, 40% throughput against a
 * reference, throughput capped at the reference. Scaled to 0..100. */
double hft_result_score(const hft_result *r) {
    double u = hft_result_utilization(r), t = hft_result_ops_per_sec(r) / HFT_SCORE_REF_OPS;
    return 100.0 * (0.6 * (u > 1 ? 1 : u) + 0.4 * (t > 1 ? 1 : t));
}

/* ---- the allocator under test --------------------------------------------------------------- */

typedef struct backend {
    hf_policy policy;
    hf_arena *arena; /* NULL for fast */
} backend;

/* Small regions (64 KiB first, then 64 KiB steps) so that footprint follows the policy's
 * placement rather than the growth granularity; a fixed seed makes every replay the same. */
static const hf_arena_config arena_config = {
    .initial_size = 64 << 10, .growth_step = 64 << 10, .seed = 0x5EEDULL};

static void *be_alloc(backend *b, const hft_op *o) {
    void *p = NULL;
    if (b->arena == NULL) {
        switch (o->op) {
        case HFT_CALLOC:
            return hf_calloc(1, o->size);
        case HFT_ALIGNED:
            switch (o->variant) {
            case 1:
                return hf_posix_memalign(&p, o->align, o->size) == 0 ? p : NULL;
            case 2:
                return hf_aligned_alloc(o->align, o->size);
            case 3:
                return hf_valloc(o->size);
            case 4:
                return hf_pvalloc(o->size);
            default:
                return hf_memalign(o->align, o->size);
            }
        default:
            return hf_malloc(o->size);
        }
    }
    switch (o->op) {
    case HFT_CALLOC:
        return hf_arena_calloc(b->arena, 1, o->size);
    case HFT_ALIGNED:
        return hf_arena_memalign(b->arena, o->align, o->size);
    default:
        return hf_arena_malloc(b->arena, o->size);
    }
}
static void *be_realloc(backend *b, void *p, size_t n) {
    return b->arena ? hf_arena_realloc(b->arena, p, n) : hf_realloc(p, n);
}
static void be_free(backend *b, void *p) {
    if (b->arena)
        hf_arena_free(b->arena, p);
    else
        hf_free(p);
}
static uint64_t be_footprint(backend *b, uint64_t base) {
    if (b->arena) {
        hf_arena_statistics st;
        hf_arena_stats(b->arena, &st);
        return st.footprint;
    }
    hf_process_info pi;
    hf_process_info_get(&pi);
    return pi.committed_bytes > base ? pi.committed_bytes - base : 0;
}

/* ---- the pattern ------------------------------------------------------------------------------
 */

static uint64_t pattern(uint32_t id) {
    return ((uint64_t)id + 1) * 0x9E3779B97F4A7C15ULL;
}
static void fill(void *p, size_t n, uint64_t v) {
    uint8_t *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) memcpy(b + i, &v, 8);
    if (i < n) memcpy(b + i, &v, n - i);
}
/* The offset of the first byte that differs, or SIZE_MAX. */
static size_t check(const void *p, size_t n, uint64_t v) {
    const uint8_t *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        if (memcmp(b + i, &v, 8) != 0) break;
    for (; i < n; i++)
        if (b[i] != ((const uint8_t *)&v)[i % 8]) return i;
    return SIZE_MAX;
}
static size_t check_zero(const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return i;
    return SIZE_MAX;
}

/* ---- one replay ---------------------------------------------------------------------------- */

typedef struct replay_state {
    const hft_trace *t;
    backend be;
    void **block;
    uint64_t *size;
    hft_result *r;
    const hf_arena_config *cfg; /* the lab policy's arena parameters */
} replay_state;

static int replay_fail(hft_result *r, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int replay_fail(hft_result *r, size_t i, const char *fmt, ...) {
    int n = snprintf(r->error, sizeof r->error, "op %zu: ", i);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error + n, sizeof r->error - (size_t)n, fmt, ap);
    va_end(ap);
    r->ok = 0;
    return -1;
}

/* Replays ops [0, upto); with measure, times every call and records samples. */
static int run_ops(replay_state *s, size_t upto, int measure) {
    const hft_trace *t = s->t;
    hft_result *r = s->r;
    uint64_t live = 0, base = 0;
    if (s->be.arena == NULL) base = be_footprint(&s->be, 0);
    size_t stride = t->nops / (HFT_SAMPLES - 2) + 1;
    uint64_t wall0 = mono_ns(), total_ticks = 0;
    for (size_t i = 0; i < upto; i++) {
        const hft_op *o = &t->ops[i];
        if (o->failed) continue;
        uint64_t t0 = 0, t1 = 0;
        uint32_t id = o->id;
        void *p = s->block[id];
        if (o->op == HFT_FREE) {
            size_t bad = check(p, s->size[id], pattern(id));
            if (bad != SIZE_MAX)
                return replay_fail(r, i, "block %u (%llu bytes) corrupted at offset %zu", id,
                                   (unsigned long long)s->size[id], bad);
            t0 = ticks();
            be_free(&s->be, p);
            t1 = ticks();
            live -= s->size[id];
            s->block[id] = NULL, s->size[id] = 0;
        } else if (o->op == HFT_REALLOC) {
            size_t keep = o->size < s->size[id] ? o->size : s->size[id];
            size_t bad = check(p, s->size[id], pattern(id));
            if (bad != SIZE_MAX)
                return replay_fail(r, i, "block %u (%llu bytes) corrupted at offset %zu", id,
                                   (unsigned long long)s->size[id], bad);
            t0 = ticks();
            void *q = be_realloc(&s->be, p, o->size);
            t1 = ticks();
            if (q == NULL)
                return replay_fail(r, i, "realloc to %llu bytes failed",
                                   (unsigned long long)o->size);
            bad = check(q, keep, pattern(id));
            if (bad != SIZE_MAX)
                return replay_fail(r, i, "realloc lost the contents of block %u at offset %zu", id,
                                   bad);
            fill(q, o->size, pattern(id));
            live += o->size - s->size[id];
            s->block[id] = q, s->size[id] = o->size;
        } else {
            t0 = ticks();
            void *q = be_alloc(&s->be, o);
            t1 = ticks();
            if (q == NULL)
                return replay_fail(r, i, "%s of %llu bytes failed", hft_kind_name(o->op),
                                   (unsigned long long)o->size);
            if (o->op == HFT_ALIGNED && ((uintptr_t)q & (o->align - 1)) != 0)
                return replay_fail(r, i, "%p is not aligned to %llu", q,
                                   (unsigned long long)o->align);
            if (o->op == HFT_CALLOC && check_zero(q, o->size) != SIZE_MAX)
                return replay_fail(r, i, "calloc returned memory that is not zero");
            fill(q, o->size, pattern(id));
            live += o->size;
            s->block[id] = q, s->size[id] = o->size;
        }
        if (!measure) continue;
        uint64_t d = t1 - t0;
        d = d > tick_overhead ? d - tick_overhead : 0;
        total_ticks += d;
        r->ops++;
        hist_add(&r->hist[o->op], (uint64_t)((double)d * ns_per_tick + 0.5));
        if (live > r->peak_live) r->peak_live = live, r->peak_live_op = i;
        /* committed bytes grow only in allocating calls, so that is where fast's peak is. */
        if (s->be.arena == NULL && o->op != HFT_FREE) {
            uint64_t fp = be_footprint(&s->be, base);
            if (fp > r->peak_footprint) r->peak_footprint = fp;
        }
        if ((i % stride == 0 || i + 1 == upto) && r->nsamples < HFT_SAMPLES) {
            hft_sample *sm = &r->samples[r->nsamples++];
            sm->op = i + 1, sm->live = live, sm->footprint = be_footprint(&s->be, base);
        }
    }
    if (measure) {
        r->op_seconds = (double)total_ticks * ns_per_tick * 1e-9;
        r->wall_seconds = (double)(mono_ns() - wall0) * 1e-9;
        if (s->be.arena != NULL) {
            hf_arena_statistics st;
            hf_arena_stats(s->be.arena, &st);
            r->peak_footprint = st.peak_footprint;
            const char *why = hf_arena_check(s->be.arena);
            if (why != NULL) return replay_fail(r, upto, "arena check failed: %s", why);
        }
    }
    return 0;
}

/* ---- the heap map -----------------------------------------------------------------------------
 */

typedef struct live_block {
    uintptr_t addr;
    uint64_t size;
} live_block;

typedef struct painter {
    hft_result *r;
    const live_block *live;
    size_t nlive;
    uint64_t per_cell, filled, acc[4];
    unsigned cell;
} painter;

static int live_cmp(const void *a, const void *b) {
    const live_block *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Closes the current cell: the class with most bytes in it wins, used memory wins ties. */
static void paint_flush(painter *pt) {
    unsigned best = HFT_CELL_USED;
    for (unsigned c = 0; c < 4; c++)
        if (pt->acc[c] > pt->acc[best]) best = c;
    pt->r->map[pt->cell++] = (uint8_t)best;
    memset(pt->acc, 0, sizeof pt->acc);
    pt->filled = 0;
}

static void paint(painter *pt, unsigned cls, uint64_t bytes) {
    while (bytes > 0 && pt->cell < HFT_MAP_CELLS) {
        uint64_t take = pt->per_cell - pt->filled;
        if (take > bytes) take = bytes;
        pt->acc[cls] += take, pt->filled += take, bytes -= take;
        if (pt->filled == pt->per_cell) paint_flush(pt);
    }
}

static void visit_sum(const hf_block_info *b, void *arg) {
    *(uint64_t *)arg += b->size;
}

static void visit_paint(const hf_block_info *b, void *arg) {
    painter *pt = arg;
    if (!b->used) {
        pt->r->map_free += b->size, pt->r->map_free_blocks++;
        paint(pt, HFT_CELL_FREE, b->size);
        return;
    }
    live_block key = {(uintptr_t)b->addr, 0};
    const live_block *lb = bsearch(&key, pt->live, pt->nlive, sizeof key, live_cmp);
    uint64_t used = lb && lb->size <= b->size ? lb->size : b->size;
    pt->r->map_used += used, pt->r->map_overhead += b->size - used, pt->r->map_blocks++;
    paint(pt, HFT_CELL_USED, used);
    paint(pt, HFT_CELL_OVERHEAD, b->size - used);
}

/* The blocks live after the replay so far, by address (for the heap maps); NULL when out of
 * memory. */
static live_block *live_blocks(const replay_state *s, size_t *count) {
    size_t n = 0;
    for (uint32_t id = 0; id < s->t->nids; id++) n += s->block[id] != NULL;
    live_block *lb = malloc((n ? n : 1) * sizeof *lb);
    if (lb == NULL) return NULL;
    n = 0;
    for (uint32_t id = 0; id < s->t->nids; id++)
        if (s->block[id] != NULL) lb[n++] = (live_block){(uintptr_t)s->block[id], s->size[id]};
    qsort(lb, n, sizeof *lb, live_cmp);
    *count = n;
    return lb;
}

/* Replays again up to the op where live bytes peak, then walks the arena into the map. */
static int heap_map(replay_state *s) {
    hft_result *r = s->r;
    size_t upto = (size_t)r->peak_live_op + 1;
    memset(s->block, 0, s->t->nids * sizeof *s->block);
    memset(s->size, 0, s->t->nids * sizeof *s->size);
    s->be.arena = hf_arena_create(s->be.policy, s->cfg);
    if (s->be.arena == NULL) return replay_fail(r, 0, "cannot create the arena");
    if (run_ops(s, upto, 0) != 0) return -1;
    size_t n;
    live_block *lb = live_blocks(s, &n);
    if (lb == NULL) return replay_fail(r, upto, "out of memory for the heap map");
    uint64_t walked = 0;
    hf_arena_walk(s->be.arena, visit_sum, &walked);
    hf_arena_statistics st;
    hf_arena_stats(s->be.arena, &st);
    uint64_t total = st.footprint > walked ? st.footprint : walked;
    painter pt = {r, lb, n, (total + HFT_MAP_CELLS - 1) / HFT_MAP_CELLS, 0, {0}, 0};
    if (pt.per_cell == 0) pt.per_cell = 1;
    memset(r->map, HFT_CELL_NONE, sizeof r->map);
    /* Region headers, the arena's own state and alignment padding: footprint not in blocks. */
    r->map_meta = total - walked;
    paint(&pt, HFT_CELL_META, r->map_meta);
    hf_arena_walk(s->be.arena, visit_paint, &pt);
    if (pt.filled > 0 && pt.cell < HFT_MAP_CELLS) paint_flush(&pt); /* the last, partial cell */
    r->map_bytes = total;
    r->has_map = 1;
    free(lb);
    hf_arena_destroy(s->be.arena);
    s->be.arena = NULL;
    return 0;
}

/* fast has no walk of its blocks: its map is built from the addresses its replay returned.
 * Each 4 MiB-aligned window holding a live block (fast's segments are 4 MiB, a large block
 * runs on past its window) counts from its start to the 4 KiB page of its last live byte;
 * the windows are laid end to end in address order. In them: the requested bytes of the live
 * blocks, their rounding up to hf_usable_size (overhead), and the rest (free: free slots,
 * segment headers, pages not yet carved) in the cells between. */
#define FAST_WINDOW (4ULL << 20)
#define FAST_PAGE   4096ULL

static int fast_map(replay_state *s) {
    hft_result *r = s->r;
    size_t upto = (size_t)r->peak_live_op + 1;
    memset(s->block, 0, s->t->nids * sizeof *s->block);
    memset(s->size, 0, s->t->nids * sizeof *s->size);
    if (run_ops(s, upto, 0) != 0) return -1;
    size_t n;
    live_block *lb = live_blocks(s, &n);
    if (lb == NULL) return replay_fail(r, upto, "out of memory for the heap map");
    /* Pass 1 sizes the windows, pass 2 paints them. */
    uint64_t total = 0;
    painter pt = {r, lb, n, 1, 0, {0}, 0};
    memset(r->map, HFT_CELL_NONE, sizeof r->map);
    for (int pass = 0; pass < 2; pass++) {
        size_t i = 0;
        while (i < n) {
            uintptr_t start = lb[i].addr & ~(uintptr_t)(FAST_WINDOW - 1), end = start, at = start;
            /* The window, extended by any block that runs past it. */
            size_t j = i;
            for (; j < n && lb[j].addr < (end > start + FAST_WINDOW ? end : start + FAST_WINDOW);
                 j++) {
                uintptr_t e = lb[j].addr + (uintptr_t)hf_usable_size((void *)lb[j].addr);
                if (e > end) end = e;
            }
            end = (end + FAST_PAGE - 1) & ~(uintptr_t)(FAST_PAGE - 1);
            if (pass == 0) {
                total += end - start;
            } else {
                for (size_t k = i; k < j; k++) {
                    uint64_t usable = hf_usable_size((void *)lb[k].addr);
                    if (usable < lb[k].size) usable = lb[k].size;
                    if (lb[k].addr > at) {
                        paint(&pt, HFT_CELL_FREE, lb[k].addr - at);
                        r->map_free += lb[k].addr - at, r->map_free_blocks++;
                    }
                    paint(&pt, HFT_CELL_USED, lb[k].size);
                    paint(&pt, HFT_CELL_OVERHEAD, usable - lb[k].size);
                    r->map_used += lb[k].size, r->map_overhead += usable - lb[k].size;
                    r->map_blocks++;
                    at = lb[k].addr + usable;
                }
                if (end > at) {
                    paint(&pt, HFT_CELL_FREE, end - at);
                    r->map_free += end - at, r->map_free_blocks++;
                }
            }
            i = j;
        }
        if (pass == 0) pt.per_cell = total ? (total + HFT_MAP_CELLS - 1) / HFT_MAP_CELLS : 1;
    }
    if (pt.filled > 0 && pt.cell < HFT_MAP_CELLS) paint_flush(&pt);
    r->map_bytes = total;
    r->map_meta = 0;
    r->has_map = 1;
    free(lb);
    return 0;
}

typedef struct child_job {
    const hft_trace *t;
    hf_policy policy;
    int want_map;
    int map_only; /* fast: replay up to the peak in a fresh process and build the map */
    hft_result *r;
    const hf_arena_config *cfg;
} child_job;

/* The child's whole job: fills *r. */
static void *replay_child(void *arg) {
    child_job *j = arg;
    const hft_trace *t = j->t;
    hft_result *r = j->r;
    replay_state s = {t, {j->policy, NULL}, NULL, NULL, r, j->cfg};
    if (!j->map_only) {
        r->policy = j->policy;
        r->ok = 1;
    }
    s.block = calloc(t->nids ? t->nids : 1, sizeof *s.block);
    s.size = calloc(t->nids ? t->nids : 1, sizeof *s.size);
    if (s.block == NULL || s.size == NULL) {
        replay_fail(r, 0, "out of memory for %u block slots", t->nids);
        return NULL;
    }
    if (j->policy != HF_POLICY_FAST) {
        s.be.arena = hf_arena_create(j->policy, j->cfg);
        if (s.be.arena == NULL) {
            replay_fail(r, 0, "cannot create a %s arena", hf_policy_name(j->policy));
            return NULL;
        }
    }
    if (j->map_only) {
        fast_map(&s);
        return NULL;
    }
    if (run_ops(&s, t->nops, 1) != 0) return NULL;
    if (j->policy == HF_POLICY_FAST) return NULL;
    hf_arena_destroy(s.be.arena);
    s.be.arena = NULL;
    if (j->want_map) heap_map(&s);
    return NULL;
}

/* Runs one replay (or, with map_only, fast's heap map) in a child and waits for it. */
static void replay_fork(const hft_trace *t, hf_policy policy, const hf_arena_config *cfg,
                        int want_map, int map_only, hft_result *r) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->error, sizeof r->error, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        child_job job = {t, policy, want_map, map_only, r, cfg};
        if (policy == HF_POLICY_FAST) {
            /* fast replays on a thread of its own, so on a heap of its own: the parent's heap
             * has free blocks (the trace file's buffer...) that would be reused without a
             * commit and hide part of the footprint. Caches are emptied first for the same
             * reason. */
            pthread_t th;
            hf_trim(0);
            if (pthread_create(&th, NULL, replay_child, &job) != 0) {
                replay_fail(r, 0, "cannot start the replay thread");
                _exit(0);
            }
            pthread_join(th, NULL);
        } else {
            replay_child(&job);
        }
        _exit(0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (map_only && (WIFSIGNALED(st) || !WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
        r->has_map = 0; /* the measured replay stands; the report says the map is missing */
        return;
    }
    if (WIFSIGNALED(st)) {
        r->ok = 0;
        snprintf(r->error, sizeof r->error, "the replay died of signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        r->ok = 0;
        snprintf(r->error, sizeof r->error, "the replay exited with status %d", WEXITSTATUS(st));
    }
}

static void replay_one(const hft_trace *t, hf_policy policy, const hf_arena_config *cfg,
                       int want_map, hft_result *r) {
    memset(r, 0, sizeof *r);
    r->policy = policy;
    replay_fork(t, policy, cfg, want_map, 0, r);
    /* fast's map needs a replay of its own up to the peak, from the same fresh start. */
    if (r->ok && want_map && policy == HF_POLICY_FAST) replay_fork(t, policy, cfg, 1, 1, r);
}

/* ---- the command ----------------------------------------------------------------------------- */

/* Can a report be written at path (a file, or with dir a folder that may not exist yet)? Its
 * folder must exist and be writable, and an existing path must be of the right kind. Reports
 * the problem in one line. */
static bool writable_path(const char *path, bool dir) {
    struct stat st;
    if (stat(path, &st) == 0) {
        if (dir ? !S_ISDIR(st.st_mode) : S_ISDIR(st.st_mode)) {
            fprintf(stderr, "heapforge replay: cannot write '%s': %s\n", path,
                    dir ? "it exists and is not a folder" : "it is a folder");
            return false;
        }
        if (access(path, W_OK) != 0) {
            fprintf(stderr, "heapforge replay: cannot write '%s': %s\n", path, strerror(errno));
            return false;
        }
        return true;
    }
    char parent[4096];
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--; /* "out/" names the folder out */
    const char *slash = NULL;
    for (size_t k = 0; k < n; k++)
        if (path[k] == '/') slash = path + k;
    if (slash == NULL) {
        strcpy(parent, ".");
    } else {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        if (len >= sizeof parent) len = sizeof parent - 1;
        memcpy(parent, path, len);
        parent[len] = 0;
    }
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "heapforge replay: cannot write '%s': folder '%s' does not exist\n", path,
                parent);
        return false;
    }
    if (access(parent, W_OK) != 0) {
        fprintf(stderr, "heapforge replay: cannot write '%s': folder '%s': %s\n", path, parent,
                strerror(errno));
        return false;
    }
    return true;
}

static const char replay_usage[] =
    "usage: heapforge replay TRACE... [--policy all|LIST] [--json|--csv] [--html OUT.html]\n"
    "                        [--svg DIR] [--quiet]\n"
    "\n"
    "Replays each trace (binary trace or malloc-lab .rep file) under each policy, single-\n"
    "threaded in time-stamp order, every policy in a fresh child process, and prints one table:\n"
    "ops/s (time inside the allocator's calls), latency p50/p99/p99.9 of allocations and frees,\n"
    "peak live bytes (from the trace, the same for every policy), peak footprint, utilization\n"
    "U = peak live / peak footprint, fragmentation 1/U - 1 and the malloc-lab score\n"
    "(100 * (0.6 * U + 0.4 * min(1, ops/s / 20M))).\n"
    "\n"
    "  --policy all|LIST  comma-separated: fast, first-fit, next-fit, best-fit, worst-fit,\n"
    "                     segregated, buddy, tlsf (default: all); a lab policy may take\n"
    "                     parameters, NAME:key=value,key=value (e.g. best-fit:min-split=64,\n"
    "                     region=1M); sizes take K, M, G:\n"
    "                       region=64K       the first region's bytes (every lab policy)\n"
    "                       growth=64K       the least an arena grows by (every lab policy)\n"
    "                       seed=24301       the skip lists' heights (every lab policy)\n"
    "                       backing=mmap     or sbrk: the classic contiguous heap\n"
    "                       mmap-threshold=128K  sbrk: requests this big are mapped apart\n"
    "                       min-split=0      fits, segregated, tlsf: the least free tail a\n"
    "                                        split leaves\n"
    "                       max-order=22     buddy: the largest block is 2^order bytes (8..40)\n"
    "  --json, --csv      machine-readable output instead of the table (per-kind latencies)\n"
    "  --html OUT.html    also write a self-contained HTML report with plots and heap maps\n"
    "  --svg DIR          also write the plots as SVG files into DIR\n"
    "  --quiet            no progress on stderr\n"
    "\n"
    "Every block is filled with a pattern and checked when freed or moved; a policy that loses\n"
    "data, fails an allocation the recording did not, or crashes makes the replay fail.\n"
    "Exit status: 0 ok, 1 a replay failed or a report could not be written, 2 usage error,\n"
    "3 bad trace file.\n";

int hft_cmd_replay(int argc, char **argv) {
    static const struct option longopts[] = {
        {"policy", required_argument, NULL, 'p'}, {"json", no_argument, NULL, 'j'},
        {"csv", no_argument, NULL, 'c'},          {"html", required_argument, NULL, 'H'},
        {"svg", required_argument, NULL, 'S'},    {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    hf_policy pol[HF_POLICY_COUNT];
    hf_arena_config cfgs[HF_POLICY_COUNT];
    unsigned npol = 0;
    int json = 0, csv = 0, quiet = 0;
    const char *html = NULL, *svg = NULL, *policies = "all";
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, ":p:hq", longopts, NULL)) != -1;) {
        switch (c) {
        case 'p':
            policies = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'c':
            csv = 1;
            break;
        case 'H':
            html = optarg;
            break;
        case 'S':
            svg = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(replay_usage, stdout);
            return HFT_EXIT_OK;
        case ':':
            return hft_usage_error("replay", "option '%s' needs a value", argv[optind - 1]);
        default:
            return hft_usage_error("replay", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (json && csv) return hft_usage_error("replay", "--json and --csv exclude each other");
    if (optind >= argc) return hft_usage_error("replay", "no trace file given");
    int rc = hft_parse_policies("replay", policies, pol, cfgs, &arena_config, &npol);
    if (rc != 0) return rc;
    /* Where the reports go is checked before the replays, which can take minutes. */
    if (html != NULL && !writable_path(html, false)) return HFT_EXIT_FAIL;
    if (svg != NULL && !writable_path(svg, true)) return HFT_EXIT_FAIL;

    unsigned nsets = (unsigned)(argc - optind);
    hft_trace *traces = calloc(nsets, sizeof *traces);
    hft_replay_set *sets = calloc(nsets, sizeof *sets);
    size_t bytes = (size_t)nsets * npol * sizeof(hft_result);
    hft_result *res = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (traces == NULL || sets == NULL || res == MAP_FAILED) {
        fprintf(stderr, "heapforge replay: out of memory\n");
        return HFT_EXIT_FAIL;
    }
    for (unsigned i = 0; i < nsets; i++) {
        char err[512];
        rc = hft_trace_load(argv[optind + (int)i], &traces[i], err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "heapforge replay: %s\n", err);
            return rc;
        }
        sets[i] = (hft_replay_set){argv[optind + (int)i], &traces[i], npol, res + i * npol};
    }
    calibrate();
    int tty = !quiet && isatty(2);
    int failed = 0;
    for (unsigned i = 0; i < nsets; i++) {
        for (unsigned k = 0; k < npol; k++) {
            if (tty)
                fprintf(stderr, "\r\033[Kreplaying %s (%zu ops) under %s [%u/%u]", sets[i].file,
                        traces[i].nops, hf_policy_name(pol[k]), i * npol + k + 1, nsets * npol);
            hft_result *r = &sets[i].results[k];
            replay_one(&traces[i], pol[k], &cfgs[k], html != NULL || svg != NULL, r);
            if (!r->ok) {
                if (tty) fputs("\r\033[K", stderr);
                fprintf(stderr, "heapforge replay: %s: policy %s: %s\n", sets[i].file,
                        hf_policy_name(pol[k]), r->error);
                failed = 1;
            }
        }
    }
    if (tty) fputs("\r\033[K", stderr);
    if (json)
        hft_report_json(stdout, sets, nsets);
    else if (csv)
        hft_report_csv(stdout, sets, nsets);
    else
        hft_report_table(stdout, sets, nsets);
    fflush(stdout);
    if (html != NULL && hft_report_html(html, sets, nsets) != 0) failed = 1;
    if (svg != NULL && hft_report_svg_dir(svg, sets, nsets) != 0) failed = 1;
    for (unsigned i = 0; i < nsets; i++) hft_trace_free(&traces[i]);
    free(traces);
    free(sets);
    munmap(res, bytes);
    return failed ? HFT_EXIT_FAIL : HFT_EXIT_OK;
}
