/* gen.c -- `heapforge gen`: synthetic workloads written as binary traces.
 *
 *   steady  churn around a working set: once it is reached, each step frees a random live block
 *           or allocates one, so the live size hovers near the target (the classic steady state
 *           of a server's request objects)
 *   bursty  phases that allocate many blocks and then free most of them, leaving survivors that
 *           pin memory between the holes (what defeats a policy that does not coalesce well)
 *   random  random sizes with a heavy tail (Pareto, alpha 1.2, up to 1 MiB), random frees and
 *           reallocs: a stress of every size range at once
 *
 * Every workload is a pure function of (kind, ops, seed): the same command writes the same
 * bytes. All blocks are freed at the end, within the op count. */
#include "tool.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct gen {
    hft_trace t;
    size_t cap, n;
    uint64_t rng, now;
    uint32_t *live; /* ids of live blocks */
    size_t nlive;
    uint64_t *size; /* size of each id */
} gen;

static uint64_t rnd(gen *g) {
    uint64_t x = g->rng;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    g->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static uint64_t rnd_range(gen *g, uint64_t lo, uint64_t hi) { /* [lo, hi] */
    return lo + rnd(g) % (hi - lo + 1);
}
static double rnd_unit(gen *g) { /* (0, 1] */
    return ((double)(rnd(g) >> 11) + 1.0) / 9007199254740992.0;
}

static int emit(gen *g, hft_op op) {
    if (g->t.nops == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 4096;
        hft_op *o = realloc(g->t.ops, nc * sizeof *o);
        if (o == NULL) return -1;
        g->t.ops = o, g->cap = nc;
    }
    g->now += rnd_range(g, 40, 400); /* a plausible gap between calls, in ns */
    op.time_ns = g->now;
    op.thread = 1;
    g->t.ops[g->t.nops++] = op;
    return 0;
}

static int gen_alloc(gen *g, uint64_t size) {
    hft_op op = {0};
    uint64_t r = rnd(g) % 100;
    op.op = r < 6 ? HFT_CALLOC : r < 7 ? HFT_ALIGNED : HFT_MALLOC;
    if (op.op == HFT_ALIGNED) op.align = 64ULL << rnd_range(g, 0, 6), op.variant = 1;
    op.size = size;
    op.id = g->t.nids++;
    uint64_t *ns = realloc(g->size, g->t.nids * sizeof *ns);
    uint32_t *nl = realloc(g->live, g->t.nids * sizeof *nl);
    if (ns == NULL || nl == NULL) return -1;
    g->size = ns, g->live = nl;
    g->size[op.id] = size;
    g->live[g->nlive++] = op.id;
    return emit(g, op);
}

static int gen_free(gen *g, size_t which) {
    hft_op op = {0};
    op.op = HFT_FREE;
    op.id = g->live[which];
    g->live[which] = g->live[--g->nlive];
    return emit(g, op);
}

static int gen_realloc(gen *g, size_t which, uint64_t size) {
    hft_op op = {0};
    op.op = HFT_REALLOC;
    op.id = g->live[which];
    op.size = size;
    g->size[op.id] = size;
    return emit(g, op);
}

static uint64_t size_small_mix(gen *g) {
    uint64_t r = rnd(g) % 100;
    if (r < 70) return rnd_range(g, 1, 8) * 16 - rnd_range(g, 0, 15);
    if (r < 95) return rnd_range(g, 129, 1024);
    return rnd_range(g, 1025, 16384);
}

static uint64_t size_heavy_tail(gen *g) {
    double s = 16.0 * pow(rnd_unit(g), -1.0 / 1.2);
    return s > 1048576.0 ? 1048576 : (uint64_t)s;
}

/* Leaves room for the final frees: a workload stops when ops + live blocks reach the budget. */
static int room(const gen *g) {
    return g->t.nops + g->nlive + 2 < g->n;
}

static int gen_steady(gen *g) {
    size_t target = g->n / 20 < 4000 ? g->n / 20 + 1 : 4000;
    while (room(g)) {
        if (g->nlive < target || rnd(g) % 2 == 0) {
            if (gen_alloc(g, size_small_mix(g))) return -1;
        } else if (rnd(g) % 16 == 0) {
            size_t w = rnd(g) % g->nlive;
            if (gen_realloc(g, w, g->size[g->live[w]] * 3 / 2 + 16)) return -1;
        } else if (gen_free(g, rnd(g) % g->nlive)) {
            return -1;
        }
    }
    return 0;
}

static int gen_bursty(gen *g) {
    while (room(g)) {
        size_t burst = rnd_range(g, 200, 2000), before = g->nlive;
        uint64_t lo = 16ULL << rnd_range(g, 0, 4);
        for (size_t i = 0; i < burst && room(g); i++)
            if (gen_alloc(g, rnd_range(g, lo, lo * 8))) return -1;
        /* Free most of the burst (85-98%), in random order; the rest survive. */
        size_t made = g->nlive - before, keep = made * rnd_range(g, 2, 15) / 100;
        while (g->nlive > before + keep && room(g))
            if (gen_free(g, before + rnd(g) % (g->nlive - before))) return -1;
        /* Now and then, the survivors' owner goes away too. */
        if (rnd(g) % 6 == 0)
            while (g->nlive > 0 && rnd(g) % 4 != 0 && room(g))
                if (gen_free(g, rnd(g) % g->nlive)) return -1;
    }
    return 0;
}

static int gen_random(gen *g) {
    size_t target = g->n / 10 < 2000 ? g->n / 10 + 1 : 2000;
    while (room(g)) {
        uint64_t r = rnd(g) % 100;
        int grow = g->nlive < target / 2 || (g->nlive < target * 2 && r < 50);
        if (grow) {
            if (gen_alloc(g, size_heavy_tail(g))) return -1;
        } else if (r < 60) {
            size_t w = rnd(g) % g->nlive;
            if (gen_realloc(g, w, size_heavy_tail(g))) return -1;
        } else if (gen_free(g, rnd(g) % g->nlive)) {
            return -1;
        }
    }
    return 0;
}

static const char gen_usage[] =
    "usage: heapforge gen steady|bursty|random [-n OPS] [--seed S] -o FILE [--rep]\n"
    "\n"
    "Writes a synthetic workload as a binary trace (or a malloc-lab .rep file with --rep):\n"
    "  steady   churn around a working set of mostly small blocks\n"
    "  bursty   phases that allocate many blocks, then free most of them\n"
    "  random   random sizes with a heavy tail (up to 1 MiB), random frees and reallocs\n"
    "\n"
    "  -n OPS      operations in the trace, all blocks freed by the end (default 20000)\n"
    "  --seed S    the generator's seed (default 1): the same seed writes the same trace\n"
    "  -o FILE     where to write it\n"
    "  --rep       write the .rep text format instead\n"
    "Exit status: 0 ok, 1 the file could not be written, 2 usage error.\n";

int hft_cmd_gen(int argc, char **argv) {
    static const struct option longopts[] = {{"seed", required_argument, NULL, 's'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"rep", no_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    unsigned long long n = 20000, seed = 1;
    const char *out = NULL;
    int rep = 0;
    char *end;
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, ":n:o:h", longopts, NULL)) != -1;) {
        switch (c) {
        case 'n':
            n = strtoull(optarg, &end, 10);
            if (*optarg == '-' || *end != 0 || n < 16 || n > 100000000ULL)
                return hft_usage_error("gen", "bad op count '%s' (16 to 100000000)", optarg);
            break;
        case 's':
            seed = strtoull(optarg, &end, 0);
            if (*optarg == '-' || *end != 0 || *optarg == 0)
                return hft_usage_error("gen", "bad seed '%s'", optarg);
            break;
        case 'o':
            out = optarg;
            break;
        case 'r':
            rep = 1;
            break;
        case 'h':
            fputs(gen_usage, stdout);
            return HFT_EXIT_OK;
        case ':':
            return hft_usage_error("gen", "option '%s' needs a value", argv[optind - 1]);
        default:
            return hft_usage_error("gen", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return hft_usage_error("gen", "no workload given (steady, bursty or random)");
    if (optind + 1 < argc)
        return hft_usage_error("gen", "unexpected argument '%s'", argv[optind + 1]);
    if (out == NULL) return hft_usage_error("gen", "no output file given (-o FILE)");
    const char *kind = argv[optind];
    int (*fn)(gen *) = strcmp(kind, "steady") == 0   ? gen_steady
                       : strcmp(kind, "bursty") == 0 ? gen_bursty
                       : strcmp(kind, "random") == 0 ? gen_random
                                                     : NULL;
    if (fn == NULL)
        return hft_usage_error("gen", "unknown workload '%s' (steady, bursty or random)", kind);
    gen g;
    memset(&g, 0, sizeof g);
    g.n = (size_t)n;
    g.rng = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (g.rng == 0) g.rng = 1;
    snprintf(g.t.program, sizeof g.t.program, "heapforge gen %s -n %llu --seed %llu", kind, n,
             seed);
    int rc = fn(&g);
    while (rc == 0 && g.nlive > 0) rc = gen_free(&g, g.nlive - 1);
    if (rc != 0) {
        fprintf(stderr, "heapforge gen: out of memory\n");
        return HFT_EXIT_FAIL;
    }
    char err[512];
    rc = rep ? hft_trace_save_rep(&g.t, out, err, sizeof err)
             : hft_trace_save_binary(&g.t, out, err, sizeof err);
    if (rc != 0) fprintf(stderr, "heapforge gen: %s\n", err);
    free(g.live);
    free(g.size);
    hft_trace_free(&g.t);
    return rc;
}
