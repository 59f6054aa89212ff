/* run.c -- `heapforge run` and `heapforge record`: a program on heapforge through LD_PRELOAD,
 * with the library's options set in its environment.
 *
 * The library preloaded is the one this tool is linked with (found with dladdr on hf_malloc),
 * so a build tree's tool runs programs on that build tree's library. The options are plain
 * environment variables read by the library (HEAPFORGE_POLICY, _STATS, _LEAKS, _SECURE,
 * _TRACE); this command only sets them. */
#include "tool.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *hft_library_path(void) {
    static char path[PATH_MAX];
    Dl_info info;
    if (dladdr((void *)hf_malloc, &info) == 0 || info.dli_fname == NULL) return NULL;
    if (realpath(info.dli_fname, path) == NULL) return NULL;
    size_t n = strlen(path);
    /* Linked statically, hf_malloc is in the executable itself: nothing to preload. */
    if (n < 3 || strstr(path, ".so") == NULL) return NULL;
    return path;
}

/* LD_PRELOAD with our library first, keeping whatever was preloaded already. */
static int set_preload(const char *cmd) {
    const char *lib = hft_library_path();
    if (lib == NULL) {
        fprintf(stderr,
                "heapforge %s: cannot find the libheapforge.so this tool is linked "
                "with\n",
                cmd);
        return -1;
    }
    const char *old = getenv("LD_PRELOAD");
    char *v = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
    if (v == NULL) return -1;
    strcpy(v, lib);
    if (old != NULL && *old != 0) strcat(strcat(v, ":"), old);
    setenv("LD_PRELOAD", v, 1);
    free(v);
    return 0;
}

static const char run_usage[] =
    "usage: heapforge run [--policy P] [--stats] [--leaks] [--secure N] [--trace FILE]\n"
    "                     -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND with LD_PRELOAD set to this heapforge's libheapforge.so and the library's\n"
    "options in its environment:\n"
    "  --policy P      HEAPFORGE_POLICY=P: fast (default), first-fit, next-fit, best-fit,\n"
    "                  worst-fit, segregated, buddy, tlsf\n"
    "  --stats         HEAPFORGE_STATS=1: statistics on stderr at exit\n"
    "  --leaks         HEAPFORGE_LEAKS=1: blocks still live at exit, grouped by size\n"
    "  --secure N      HEAPFORGE_SECURE=N: hardening level 0..3\n"
    "  --trace FILE    HEAPFORGE_TRACE=FILE: record every allocation into FILE\n"
    "Exit status: COMMAND's own; 127 when it cannot be run, 2 usage error.\n";

static const char record_usage[] =
    "usage: heapforge record -o FILE [--policy P] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND on heapforge with HEAPFORGE_TRACE=FILE, so the library records every\n"
    "allocation call into FILE (a binary trace: 'heapforge replay FILE' replays it).\n"
    "Exit status: COMMAND's own; 1 when no trace was written, 127 when COMMAND cannot be run,\n"
    "2 usage error.\n";

typedef struct run_opts {
    const char *policy, *secure, *trace;
    int stats, leaks;
} run_opts;

static int parse(const char *cmd, int argc, char **argv, run_opts *o) {
    static const struct option longopts[] = {
        {"policy", required_argument, NULL, 'p'}, {"stats", no_argument, NULL, 's'},
        {"leaks", no_argument, NULL, 'l'},        {"secure", required_argument, NULL, 'S'},
        {"trace", required_argument, NULL, 't'},  {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int record = strcmp(cmd, "record") == 0;
    opterr = 0;
    optind = 1;
    /* '+': stop at the first non-option, so COMMAND's own options stay its own. */
    for (int c; (c = getopt_long(argc, argv, "+:o:h", longopts, NULL)) != -1;) {
        switch (c) {
        case 'p': {
            hf_policy p;
            if (hf_policy_from_name(optarg, &p) != 0)
                return hft_usage_error(cmd,
                                       "unknown policy '%s' (known: fast, first-fit, next-fit, "
                                       "best-fit, worst-fit, segregated, buddy, tlsf)",
                                       optarg);
            o->policy = optarg;
            break;
        }
        case 's':
            if (record) goto unknown;
            o->stats = 1;
            break;
        case 'l':
            if (record) goto unknown;
            o->leaks = 1;
            break;
        case 'S':
            if (record) goto unknown;
            if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '3')
                return hft_usage_error(cmd, "bad secure level '%s' (0 to 3)", optarg);
            o->secure = optarg;
            break;
        case 't':
            if (record) goto unknown;
            o->trace = optarg;
            break;
        case 'o':
            if (!record) goto unknown;
            o->trace = optarg;
            break;
        case 'h':
            fputs(record ? record_usage : run_usage, stdout);
            return -1;
        case ':':
            return hft_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
        unknown:
            return hft_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (record && o->trace == NULL) return hft_usage_error(cmd, "no output file given (-o FILE)");
    if (optind >= argc) return hft_usage_error(cmd, "no command given (after --)");
    return 0;
}

static int set_env(const char *cmd, const run_opts *o) {
    if (set_preload(cmd) != 0) return -1;
    if (o->policy) setenv("HEAPFORGE_POLICY", o->policy, 1);
    if (o->stats) setenv("HEAPFORGE_STATS", "1", 1);
    if (o->leaks) setenv("HEAPFORGE_LEAKS", "1", 1);
    if (o->secure) setenv("HEAPFORGE_SECURE", o->secure, 1);
    if (o->trace) setenv("HEAPFORGE_TRACE", o->trace, 1);
    return 0;
}

int hft_cmd_run(int argc, char **argv) {
    run_opts o = {0};
    int rc = parse("run", argc, argv, &o);
    if (rc != 0) return rc < 0 ? HFT_EXIT_OK : rc;
    if (set_env("run", &o) != 0) return HFT_EXIT_FAIL;
    execvp(argv[optind], argv + optind);
    fprintf(stderr, "heapforge run: cannot run '%s': %s\n", argv[optind], strerror(errno));
    return 127;
}

int hft_cmd_record(int argc, char **argv) {
    run_opts o = {0};
    int rc = parse("record", argc, argv, &o);
    if (rc != 0) return rc < 0 ? HFT_EXIT_OK : rc;
    char **cmd = argv + optind;
    /* A trace left over from an earlier run must not pass for this one's. */
    if (unlink(o.trace) != 0 && errno != ENOENT) {
        fprintf(stderr, "heapforge record: cannot replace %s: %s\n", o.trace, strerror(errno));
        return HFT_EXIT_FAIL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "heapforge record: fork: %s\n", strerror(errno));
        return HFT_EXIT_FAIL;
    }
    if (pid == 0) {
        if (set_env("record", &o) != 0) _exit(HFT_EXIT_FAIL);
        execvp(cmd[0], cmd);
        fprintf(stderr, "heapforge record: cannot run '%s': %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code == 127) return code;
    struct stat sb;
    if (stat(o.trace, &sb) != 0) {
        fprintf(stderr,
                "heapforge record: %s was not written (does this libheapforge record "
                "HEAPFORGE_TRACE?)\n",
                o.trace);
        return code ? code : HFT_EXIT_FAIL;
    }
    hft_trace t;
    char err[512];
    if (hft_trace_load(o.trace, &t, err, sizeof err) != 0) {
        fprintf(stderr, "heapforge record: the trace does not load: %s\n", err);
        return code ? code : HFT_EXIT_BADFILE;
    }
    fprintf(stderr, "heapforge record: %zu operations on %u blocks in %s\n", t.nops, t.nids,
            o.trace);
    hft_trace_free(&t);
    return code;
}
