/* compare.c -- `heapforge compare`: one program under glibc's allocator, heapforge and the other
 * allocators installed (jemalloc, mimalloc, tcmalloc, at the paths bench/run.py uses), in
 * interleaved rounds so that a change in machine load hits every allocator alike; median wall
 * time and median peak RSS, as ratios to glibc.
 *
 * Children are started with posix_spawn, which does not copy this process's pages: a forked
 * child would start with the tool's resident set already counted in its peak RSS (Linux keeps
 * the peak across exec).
 *
 * Every run gets the same input: --input FILE is opened afresh for each run, and a standard
 * input that is not a terminal (`compare -- sqlite3 :memory: < load.sql`, or a pipe) is read to
 * its end once into a temporary file that each run reads from the start. Handing the tool's own
 * stdin down gave the first run the whole input and every later run EOF. */
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define LIBDIR         "/usr/lib/x86_64-linux-gnu/"
#define MAX_ROUNDS     99
#define MAX_ALLOCATORS 12

typedef struct allocator {
    const char *name;
    const char *lib; /* NULL: glibc, no preload */
    double seconds[MAX_ROUNDS];
    long rss_kib[MAX_ROUNDS];
    int nok, failed, last_code;
} allocator;

static const char *first_existing(const char *const *paths) {
    for (; *paths; paths++)
        if (access(*paths, R_OK) == 0) return *paths;
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The environment with LD_PRELOAD replaced (lib) or removed (NULL). */
static char **make_env(const char *lib) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 2, sizeof *env);
    size_t k = 0;
    if (env == NULL) return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0) env[k++] = environ[i];
    if (lib != NULL) {
        char *v = malloc(strlen(lib) + 12);
        if (v == NULL) return NULL;
        strcpy(v, "LD_PRELOAD="), strcat(v, lib);
        env[k++] = v;
    }
    return env;
}

static int run_once(allocator *a, char **cmd, int quiet_output, const char *input) {
    char **env = make_env(a->lib);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (input != NULL) posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
    if (quiet_output) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    pid_t pid;
    double t0 = now();
    int err = env ? posix_spawnp(&pid, cmd[0], &fa, NULL, cmd, env) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0) {
        fprintf(stderr, "heapforge compare: cannot run '%s': %s\n", cmd[0], strerror(err));
        return -1;
    }
    int st = 0;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR) {
    }
    double t = now() - t0;
    if (a->lib != NULL) { /* the LD_PRELOAD entry is ours, the last one */
        size_t k = 0;
        while (env[k + 1]) k++;
        free(env[k]);
    }
    free(env);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code != 0) {
        a->failed++, a->last_code = code;
        return 0;
    }
    a->seconds[a->nok] = t;
    a->rss_kib[a->nok] = ru.ru_maxrss;
    a->nok++;
    return 0;
}

static int dcmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}
static int lcmp(const void *x, const void *y) {
    long a = *(const long *)x, b = *(const long *)y;
    return a < b ? -1 : a > b;
}

static const char compare_usage[] =
    "usage: heapforge compare [--rounds N] [--input FILE] [--with NAME=LIB]... [--json FILE]\n"
    "                         [--show-output] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND under glibc's allocator (no preload), heapforge (this tool's\n"
    "libheapforge.so) and jemalloc, mimalloc and tcmalloc when installed (Debian's\n"
    "libjemalloc2, libmimalloc2.0, libtcmalloc-minimal4), N interleaved rounds each\n"
    "(default 3), and prints the median wall time and median peak RSS (wait4 ru_maxrss), their\n"
    "spreads (min-max) and their ratios to glibc (lower is better).\n"
    "  --input FILE    every run reads FILE as its standard input (opened afresh each run);\n"
    "                  without it, a standard input that is not a terminal is read once to its\n"
    "                  end and every run reads that same input from the start\n"
    "  --with NAME=LIB also run under the allocator LIB (a shared library to LD_PRELOAD), as\n"
    "                  NAME; may be repeated\n"
    "  --json FILE     also write every run's time and peak RSS as JSON to FILE ('-': stdout)\n"
    "  --show-output   let COMMAND's output through (discarded otherwise)\n"
    "Exit status: 0 ok, 1 COMMAND failed under some allocator, 2 usage error.\n";

/* Copies standard input to a temporary file (unlinked by the caller); its path, or NULL. */
static char *spool_stdin(char *path, size_t n) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, n, "%s/heapforge-compare-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    char buf[65536];
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r < 0 || close(fd) != 0) break;
            return path;
        }
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(fd, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                close(fd);
                unlink(path);
                return NULL;
            }
            off += w;
        }
    }
    close(fd);
    unlink(path);
    return NULL;
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* The runs as JSON: per allocator, every successful round's seconds and peak RSS in KiB (in
 * run order), with the medians. */
static int write_json(const char *path, char **cmd, long rounds, allocator *all, unsigned n,
                      double (*times)[MAX_ROUNDS], long (*rss)[MAX_ROUNDS]) {
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "heapforge compare: cannot write '%s': %s\n", path, strerror(errno));
        return HFT_EXIT_FAIL;
    }
    fprintf(f, "{\"command\": [");
    for (char **c = cmd; *c; c++) {
        if (c != cmd) fputs(", ", f);
        json_string(f, *c);
    }
    fprintf(f, "], \"rounds\": %ld, \"allocators\": [", rounds);
    for (unsigned i = 0; i < n; i++) {
        allocator *a = &all[i];
        fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
        json_string(f, a->name);
        fputs(", \"library\": ", f);
        if (a->lib)
            json_string(f, a->lib);
        else
            fputs("null", f);
        fprintf(f, ", \"failed_runs\": %d, \"seconds\": [", a->failed);
        for (int k = 0; k < a->nok; k++) fprintf(f, "%s%.6f", k ? ", " : "", times[i][k]);
        fputs("], \"peak_rss_kib\": [", f);
        for (int k = 0; k < a->nok; k++) fprintf(f, "%s%ld", k ? ", " : "", rss[i][k]);
        fputs("]", f);
        if (a->nok > 0)
            fprintf(f, ", \"median_seconds\": %.6f, \"median_peak_rss_kib\": %ld",
                    a->seconds[a->nok / 2], a->rss_kib[a->nok / 2]);
        fputs("}", f);
    }
    fputs("\n]}\n", f);
    if (f != stdout ? fclose(f) != 0 : fflush(f) != 0) {
        fprintf(stderr, "heapforge compare: cannot write '%s'\n", path);
        return HFT_EXIT_FAIL;
    }
    return HFT_EXIT_OK;
}

int hft_cmd_compare(int argc, char **argv) {
    static const struct option longopts[] = {{"rounds", required_argument, NULL, 'r'},
                                             {"show-output", no_argument, NULL, 's'},
                                             {"input", required_argument, NULL, 'i'},
                                             {"with", required_argument, NULL, 'w'},
                                             {"json", required_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static allocator all[MAX_ALLOCATORS];
    static allocator extra[MAX_ALLOCATORS];
    unsigned nextra = 0;
    long rounds = 3;
    int show = 0;
    const char *input = NULL, *json = NULL;
    char *end;
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "+:r:i:w:j:h", longopts, NULL)) != -1;) {
        switch (c) {
        case 'r':
            rounds = strtol(optarg, &end, 10);
            if (*end != 0 || rounds < 1 || rounds > MAX_ROUNDS)
                return hft_usage_error("compare", "bad round count '%s' (1 to %d)", optarg,
                                       MAX_ROUNDS);
            break;
        case 's':
            show = 1;
            break;
        case 'i':
            if (access(optarg, R_OK) != 0)
                return hft_usage_error("compare", "cannot read input file '%s': %s", optarg,
                                       strerror(errno));
            input = optarg;
            break;
        case 'j':
            json = optarg;
            break;
        case 'w': {
            char *eq = strchr(optarg, '=');
            if (eq == NULL || eq == optarg || eq[1] == 0)
                return hft_usage_error("compare", "--with takes NAME=LIB, not '%s'", optarg);
            if (nextra + 5 >= MAX_ALLOCATORS)
                return hft_usage_error("compare", "too many --with allocators (at most %d)",
                                       MAX_ALLOCATORS - 5);
            *eq = 0;
            if (access(eq + 1, R_OK) != 0)
                return hft_usage_error("compare", "--with %s: cannot read '%s': %s", optarg, eq + 1,
                                       strerror(errno));
            extra[nextra++] = (allocator){.name = optarg, .lib = eq + 1};
            break;
        }
        case 'h':
            fputs(compare_usage, stdout);
            return HFT_EXIT_OK;
        case ':':
            return hft_usage_error("compare", "option '%s' needs a value", argv[optind - 1]);
        default:
            return hft_usage_error("compare", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return hft_usage_error("compare", "no command given (after --)");
    char **cmd = argv + optind;

    static const char *const jemalloc[] = {LIBDIR "libjemalloc.so.2", LIBDIR "libjemalloc.so",
                                           NULL};
    static const char *const mimalloc[] = {LIBDIR "libmimalloc.so.2", LIBDIR "libmimalloc.so.2.0",
                                           LIBDIR "libmimalloc.so", NULL};
    static const char *const tcmalloc[] = {LIBDIR "libtcmalloc_minimal.so.4",
                                           LIBDIR "libtcmalloc_minimal.so",
                                           LIBDIR "libtcmalloc.so.4", NULL};
    unsigned n = 0;
    all[n++] = (allocator){.name = "glibc"};
    all[n++] = (allocator){.name = "heapforge", .lib = hft_library_path()};
    if (all[1].lib == NULL) {
        fprintf(stderr, "heapforge compare: cannot find the libheapforge.so this tool is linked "
                        "with\n");
        return HFT_EXIT_FAIL;
    }
    const char *peer;
    if ((peer = first_existing(jemalloc))) all[n++] = (allocator){.name = "jemalloc", .lib = peer};
    if ((peer = first_existing(mimalloc))) all[n++] = (allocator){.name = "mimalloc", .lib = peer};
    if ((peer = first_existing(tcmalloc))) all[n++] = (allocator){.name = "tcmalloc", .lib = peer};
    for (unsigned i = 0; i < nextra; i++) all[n++] = extra[i];

    /* The same input for every run: a file opened afresh, or stdin spooled once. */
    char spool[4096];
    const char *spooled = NULL;
    if (input == NULL && !isatty(0)) {
        spooled = spool_stdin(spool, sizeof spool);
        if (spooled == NULL) {
            fprintf(stderr,
                    "heapforge compare: cannot copy standard input to a temporary file: "
                    "%s\n",
                    strerror(errno));
            return HFT_EXIT_FAIL;
        }
        input = spooled;
    }

    /* Times and RSS in run order for the JSON (the summary sorts its own copies). */
    static double times[MAX_ALLOCATORS][MAX_ROUNDS];
    static long rss_runs[MAX_ALLOCATORS][MAX_ROUNDS];
    int tty = isatty(2), rc = 0;
    for (long r = 0; r < rounds && rc == 0; r++) {
        for (unsigned i = 0; i < n && rc == 0; i++) {
            if (tty) fprintf(stderr, "\r\033[Kround %ld/%ld: %s", r + 1, rounds, all[i].name);
            int before = all[i].nok;
            rc = run_once(&all[i], cmd, !show, input);
            if (all[i].nok > before) {
                times[i][before] = all[i].seconds[before];
                rss_runs[i][before] = all[i].rss_kib[before];
            }
        }
    }
    if (spooled) unlink(spooled);
    if (tty) fputs("\r\033[K", stderr);
    if (rc != 0) return HFT_EXIT_FAIL;

    double base_t = 0;
    long base_rss = 0;
    int failed = 0;
    printf("%s: %ld round(s), median wall time and peak RSS, min-max beside; ratios to glibc "
           "(lower is better)\n",
           cmd[0], rounds);
    printf("%-10s %9s %17s %6s %10s %21s %6s  %s\n", "allocator", "time", "min-max", "ratio",
           "peak RSS", "min-max", "ratio", "library");
    printf("%.*s\n", 100,
           "------------------------------------------------------------------------------------"
           "----------------");
    for (unsigned i = 0; i < n; i++) {
        allocator *a = &all[i];
        if (a->nok == 0) {
            printf("%-10s FAILED (exit %d in %d round(s))\n", a->name, a->last_code, a->failed);
            failed = 1;
            continue;
        }
        qsort(a->seconds, (size_t)a->nok, sizeof a->seconds[0], dcmp);
        qsort(a->rss_kib, (size_t)a->nok, sizeof a->rss_kib[0], lcmp);
        double t = a->seconds[a->nok / 2];
        long rss = a->rss_kib[a->nok / 2];
        if (i == 0) base_t = t, base_rss = rss;
        char rb[32], lo[32], hi[32], span[48], tspan[48];
        snprintf(tspan, sizeof tspan, "%.3f-%.3fs", a->seconds[0], a->seconds[a->nok - 1]);
        snprintf(span, sizeof span, "%s-%s", hft_bytes(lo, sizeof lo, (double)a->rss_kib[0] * 1024),
                 hft_bytes(hi, sizeof hi, (double)a->rss_kib[a->nok - 1] * 1024));
        printf("%-10s %8.3fs %17s %6.2f %10s %21s %6.2f  %s%s\n", a->name, t, tspan,
               base_t > 0 ? t / base_t : 0, hft_bytes(rb, sizeof rb, (double)rss * 1024), span,
               base_rss > 0 ? (double)rss / (double)base_rss : 0, a->lib ? a->lib : "libc",
               a->failed ? "  (some rounds FAILED)" : "");
        if (a->failed) failed = 1;
    }
    if (json != NULL && write_json(json, cmd, rounds, all, n, times, rss_runs) != HFT_EXIT_OK)
        return HFT_EXIT_FAIL;
    return failed ? HFT_EXIT_FAIL : HFT_EXIT_OK;
}
