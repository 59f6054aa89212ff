/* main.c -- the heapforge command: subcommand dispatch, the top-level help, and the helpers
 * every subcommand shares (usage errors, policy lists, colours, byte formatting). */
#include "tool.h"

#include <stdarg.h>
#include <string.h>

static const char main_usage[] =
    "usage: heapforge COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Commands:\n"
    "  replay TRACE...        replay traces under every policy: table, --json, --csv, --html\n"
    "  gen KIND -o FILE       write a synthetic trace (steady, bursty, random)\n"
    "  convert IN -o OUT      convert between binary traces and malloc-lab .rep files\n"
    "  run [OPTS] -- CMD...   run a program on heapforge (LD_PRELOAD), with options\n"
    "  record -o FILE -- CMD  run a program and record its allocations into a trace\n"
    "  compare -- CMD...      time a program under glibc, heapforge and the other allocators\n"
    "  dump TRACE             every operation as CSV or JSON lines\n"
    "  stats TRACE            operation counts and size and lifetime histograms\n"
    "\n"
    "'heapforge COMMAND --help' describes each command. See heapforge(1).\n"
    "Exit status: 0 ok, 1 run-time failure, 2 usage error, 3 bad input file;\n"
    "run and record exit with the program's own status.\n";

int hft_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "heapforge%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'heapforge%s%s --help')\n", cmd ? " " : "", cmd ? cmd : "");
    return HFT_EXIT_USAGE;
}

/* "all" or a comma-separated list of policies, each maybe with parameters: a token with '='
 * and no ':' belongs to the policy before it ("fast,best-fit:min-split=64,region=1M,tlsf"). cfg
 * (may be NULL) gets each policy's parameters over base's values. */
int hft_parse_policies(const char *cmd, const char *list, hf_policy *out, hf_arena_config *cfg,
                       const hf_arena_config *base, unsigned *n) {
    *n = 0;
    if (strcmp(list, "all") == 0) {
        for (int p = 0; p < HF_POLICY_COUNT; p++) {
            if (cfg) cfg[*n] = *base;
            out[(*n)++] = (hf_policy)p;
        }
        return 0;
    }
    char buf[512], spec[512], err[256];
    if (strlen(list) >= sizeof buf) return hft_usage_error(cmd, "policy list too long");
    strcpy(buf, list);
    for (char *tok = buf, *next; tok != NULL; tok = next) {
        /* one policy: its name token and the key=value tokens after it */
        next = strchr(tok, ',');
        while (next != NULL) {
            char *after = next + 1, *end = strchr(after, ',');
            size_t len = end ? (size_t)(end - after) : strlen(after);
            /* key=value, not name:key=value (a policy of its own) nor a bare name */
            const char *eq = memchr(after, '=', len), *colon = memchr(after, ':', len);
            if (eq == NULL || (colon != NULL && colon < eq)) break;
            next = end;
        }
        if (next) *next++ = 0;
        snprintf(spec, sizeof spec, "%s", tok);
        hf_policy p;
        hf_arena_config c;
        if (*spec == 0) return hft_usage_error(cmd, "empty policy in '%s'", list);
        if (hf_policy_parse(spec, &p, &c, err, sizeof err) != 0)
            return hft_usage_error(cmd, "%s", err);
        if (*n >= HF_POLICY_COUNT) return hft_usage_error(cmd, "too many policies");
        for (unsigned i = 0; i < *n; i++)
            if (out[i] == p)
                return hft_usage_error(cmd, "policy '%s' given twice", hf_policy_name(p));
        if (cfg) {
            hf_arena_config m = *base;
            if (c.initial_size) m.initial_size = c.initial_size;
            if (c.growth_step) m.growth_step = c.growth_step;
            if (c.min_split) m.min_split = c.min_split;
            if (c.buddy_max_order) m.buddy_max_order = c.buddy_max_order;
            if (c.seed) m.seed = c.seed;
            if (c.backing) m.backing = c.backing;
            if (c.mmap_threshold) m.mmap_threshold = c.mmap_threshold;
            cfg[*n] = m;
        }
        out[(*n)++] = p;
    }
    if (*n == 0) return hft_usage_error(cmd, "empty policy list");
    return 0;
}

/* One colour per policy, the same in every plot; chosen to stay apart for common colour
 * blindness (blue/orange first, no red-green pair next to each other). */
const char *hft_policy_colour(hf_policy p) {
    static const char *colours[HF_POLICY_COUNT] = {
        "#1f6fd1", /* fast */
        "#e8710a", /* first-fit */
        "#8e44ad", /* next-fit */
        "#12a37f", /* best-fit */
        "#d6336c", /* worst-fit */
        "#5c7cfa", /* segregated */
        "#b08900", /* buddy */
        "#2f3b4c", /* tlsf */
    };
    return (unsigned)p < HF_POLICY_COUNT ? colours[p] : "#888888";
}

const char *hft_bytes(char *buf, size_t n, double bytes) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, u++;
    if (u == 0)
        snprintf(buf, n, "%.0f B", bytes);
    else
        snprintf(buf, n,
                 bytes < 10    ? "%.2f %s"
                 : bytes < 100 ? "%.1f %s"
                               : "%.0f %s",
                 bytes, units[u]);
    return buf;
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"replay", hft_cmd_replay},   {"gen", hft_cmd_gen},
                {"convert", hft_cmd_convert}, {"run", hft_cmd_run},
                {"record", hft_cmd_record},   {"compare", hft_cmd_compare},
                {"dump", hft_cmd_dump},       {"stats", hft_cmd_stats}};
    if (argc < 2) {
        fputs(main_usage, stderr);
        return HFT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(main_usage, stdout);
        return HFT_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("heapforge %s\n", HEAPFORGE_VERSION);
        return HFT_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
    return hft_usage_error(NULL, "unknown command '%s'", argv[1]);
}
