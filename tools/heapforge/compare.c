/* compare.c -- `heapforge compare`: one program under glibc's allocator, heapforge and the other
 * allocators installed (jemalloc, mimalloc, tcmalloc, at the paths bench/run.py uses), in
 * interleaved rounds so that a change in machine load hits every allocator alike; median wall
 * time and median peak RSS, as ratios to glibc.
 *
 * Children are started with posix_spawn, which does not copy this process's pages: a forked
 * child would start with the tool's resident set already counted in its peak RSS (Linux keeps
 * the peak across exec). */
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

#define LIBDIR     "/usr/lib/x86_64-linux-gnu/"
#define MAX_ROUNDS 99

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

static int run_once(allocator *a, char **cmd, int quiet_output) {
    char **env = make_env(a->lib);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
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
    "usage: heapforge compare [--rounds N] [--show-output] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND under glibc's allocator (no preload), heapforge (this tool's\n"
    "libheapforge.so) and jemalloc, mimalloc and tcmalloc when installed (Debian's\n"
    "libjemalloc2, libmimalloc2.0, libtcmalloc-minimal4), N interleaved rounds each\n"
    "(default 3), and prints the median wall time and median peak RSS (wait4 ru_maxrss) with\n"
    "their ratios to glibc (lower is better). COMMAND's output is discarded unless\n"
    "--show-output.\n"
    "Exit status: 0 ok, 1 COMMAND failed under some allocator, 2 usage error.\n";

int hft_cmd_compare(int argc, char **argv) {
    static const struct option longopts[] = {{"rounds", required_argument, NULL, 'r'},
                                             {"show-output", no_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    long rounds = 3;
    int show = 0;
    char *end;
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "+:r:h", longopts, NULL)) != -1;) {
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
    static allocator all[5];
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

    int tty = isatty(2);
    for (long r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < n; i++) {
            if (tty) fprintf(stderr, "\r\033[Kround %ld/%ld: %s", r + 1, rounds, all[i].name);
            if (run_once(&all[i], cmd, !show) != 0) return HFT_EXIT_FAIL;
        }
    }
    if (tty) fputs("\r\033[K", stderr);

    double base_t = 0;
    long base_rss = 0;
    int failed = 0;
    printf("%s: %ld round(s), median wall time and peak RSS; ratios to glibc (lower is better)\n",
           cmd[0], rounds);
    printf("%-10s %10s %7s %12s %7s  %s\n", "allocator", "time", "ratio", "peak RSS", "ratio",
           "library");
    printf("%.*s\n", 72,
           "------------------------------------------------------------------------");
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
        char rb[32];
        printf("%-10s %9.3fs %7.2f %12s %7.2f  %s%s\n", a->name, t, base_t > 0 ? t / base_t : 0,
               hft_bytes(rb, sizeof rb, (double)rss * 1024),
               base_rss > 0 ? (double)rss / (double)base_rss : 0, a->lib ? a->lib : "libc",
               a->failed ? "  (some rounds FAILED)" : "");
        if (a->failed) failed = 1;
    }
    return failed ? HFT_EXIT_FAIL : HFT_EXIT_OK;
}
