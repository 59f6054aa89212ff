/* run.c -- `heapforge run` and `heapforge record`: a program on heapforge through LD_PRELOAD,
 * with the library's options set in its environment.
 *
 * The library preloaded is the one this tool is linked with (found with dladdr on hf_malloc),
 * so a build tree's tool runs programs on that build tree's library. The options are plain
 * environment variables read by the library (HEAPFORGE_POLICY, _STATS, _LEAKS, _SECURE,
 * _TRACE); this command only sets them. */
#include "tool.h"

#include <dirent.h>
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
    "usage: heapforge record -o FILE [--policy P] [--root-only] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND on heapforge with HEAPFORGE_TRACE set, so the library records every\n"
    "allocation call (a binary trace: 'heapforge replay FILE' replays it). Every process of\n"
    "the tree COMMAND starts is recorded into a trace of its own: COMMAND's own goes to FILE,\n"
    "the others to FILE with their pid before the extension (m.hft -> m.4242.hft), or, when\n"
    "FILE holds %p, to FILE with %p replaced by each pid. Each trace written is listed.\n"
    "  --root-only     record COMMAND's process alone (exec keeps it: a wrapper script that\n"
    "                  execs the real program hands it on); its children run unrecorded\n"
    "Exit status: COMMAND's own; 1 when no trace was written, 127 when COMMAND cannot be run,\n"
    "2 usage error.\n";

typedef struct run_opts {
    const char *policy, *secure, *trace;
    int stats, leaks, root_only;
} run_opts;

static int parse(const char *cmd, int argc, char **argv, run_opts *o) {
    static const struct option longopts[] = {{"policy", required_argument, NULL, 'p'},
                                             {"stats", no_argument, NULL, 's'},
                                             {"leaks", no_argument, NULL, 'l'},
                                             {"secure", required_argument, NULL, 'S'},
                                             {"trace", required_argument, NULL, 't'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"root-only", no_argument, NULL, 'R'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int record = strcmp(cmd, "record") == 0;
    opterr = 0;
    optind = 1;
    /* '+': stop at the first non-option, so COMMAND's own options stay its own. */
    for (int c; (c = getopt_long(argc, argv, "+:o:h", longopts, NULL)) != -1;) {
        switch (c) {
        case 'p': {
            char err[256];
            if (hf_policy_parse(optarg, NULL, NULL, err, sizeof err) != 0)
                return hft_usage_error(cmd, "%s", err);
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
        case 'R':
            if (!record) goto unknown;
            o->root_only = 1;
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

/* The name of process pid's trace: FILE with %p replaced by pid, or for a FILE without %p,
 * FILE itself for the root process and FILE with ".pid" before its extension for the others. */
static void final_name(char *out, size_t n, const char *file, long pid, int root) {
    const char *pp = strstr(file, "%p");
    if (pp != NULL) {
        snprintf(out, n, "%.*s%ld%s", (int)(pp - file), file, pid, pp + 2);
        return;
    }
    if (root) {
        snprintf(out, n, "%s", file);
        return;
    }
    const char *slash = strrchr(file, '/'), *dot = strrchr(file, '.');
    if (dot == NULL || (slash != NULL && dot < slash) || dot == (slash ? slash + 1 : file))
        snprintf(out, n, "%s.%ld", file, pid);
    else
        snprintf(out, n, "%.*s.%ld%s", (int)(dot - file), file, pid, dot);
}

typedef struct recorded {
    long pid;
    char path[PATH_MAX + 256];
} recorded;

static int by_pid(const void *a, const void *b) {
    long x = ((const recorded *)a)->pid, y = ((const recorded *)b)->pid;
    return x < y ? -1 : x > y;
}

/* The traces the tree wrote under the private pattern dir/prefix<pid>: renamed to their final
 * names, the root's first. Returns how many, or -1 (reported). */
static long collect_traces(const char *dir, const char *prefix, const char *file, long root,
                           recorded **out) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "heapforge record: cannot read %s: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t cap = 16, n = 0, plen = strlen(prefix);
    recorded *r = malloc(cap * sizeof *r);
    for (struct dirent *e; r != NULL && (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, prefix, plen) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (end == e->d_name + plen || *end != 0) continue;
        if (n == cap) {
            recorded *g = realloc(r, 2 * cap * sizeof *r);
            if (g == NULL) break;
            r = g, cap *= 2;
        }
        r[n].pid = pid;
        snprintf(r[n].path, sizeof r[n].path, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (r == NULL) return -1;
    qsort(r, n, sizeof *r, by_pid);
    for (size_t i = 0; i < n; i++) { /* the root first */
        if (r[i].pid != root || i == 0) continue;
        recorded t = r[i];
        memmove(r + 1, r, i * sizeof *r);
        r[0] = t;
    }
    for (size_t i = 0; i < n; i++) {
        char dst[PATH_MAX + 64];
        final_name(dst, sizeof dst, file, r[i].pid, r[i].pid == root);
        if (rename(r[i].path, dst) != 0) {
            fprintf(stderr, "heapforge record: cannot rename %s to %s: %s\n", r[i].path, dst,
                    strerror(errno));
            unlink(r[i].path);
            continue;
        }
        snprintf(r[i].path, sizeof r[i].path, "%s", dst);
    }
    *out = r;
    return (long)n;
}

int hft_cmd_record(int argc, char **argv) {
    run_opts o = {0};
    int rc = parse("record", argc, argv, &o);
    if (rc != 0) return rc < 0 ? HFT_EXIT_OK : rc;
    char **cmd = argv + optind;
    const char *file = o.trace;
    /* The whole tree records under a private pattern beside FILE (same file system, so the
     * traces are renamed, not copied): no file of an earlier run can pass for this run's. */
    char dir[PATH_MAX], prefix[128], pattern[PATH_MAX + 160];
    const char *slash = strrchr(file, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == file ? 1 : (int)(slash - file), file);
    snprintf(prefix, sizeof prefix, ".heapforge-record.%ld.", (long)getpid());
    snprintf(pattern, sizeof pattern, "%s/%s%%p", dir, prefix);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "heapforge record: cannot write %s: folder '%s' does not exist\n", file,
                dir);
        return HFT_EXIT_FAIL;
    }
    if (o.root_only && strstr(file, "%p") == NULL) {
        /* A trace left over from an earlier run must not pass for this one's. */
        if (unlink(file) != 0 && errno != ENOENT) {
            fprintf(stderr, "heapforge record: cannot replace %s: %s\n", file, strerror(errno));
            return HFT_EXIT_FAIL;
        }
    } else if (!o.root_only) {
        o.trace = pattern;
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

    recorded one, *traces = &one;
    long n = 1;
    if (o.root_only) {
        final_name(one.path, sizeof one.path, file, (long)pid, 1);
        one.pid = pid;
        if (stat(one.path, &sb) != 0) n = 0;
    } else {
        n = collect_traces(dir, prefix, file, (long)pid, &traces);
        if (n < 0) return code ? code : HFT_EXIT_FAIL;
    }
    if (n == 0 || traces[0].pid != (long)pid) {
        fprintf(stderr,
                "heapforge record: %s was not written (does this libheapforge record "
                "HEAPFORGE_TRACE?)\n",
                file);
        if (traces != &one) free(traces);
        return code ? code : HFT_EXIT_FAIL;
    }
    int bad_root = 0;
    size_t ops = 0;
    for (long i = 0; i < n; i++) {
        hft_trace t;
        char err[512];
        if (hft_trace_load(traces[i].path, &t, err, sizeof err) != 0) {
            fprintf(stderr, "heapforge record: the trace of pid %ld does not load: %s\n",
                    traces[i].pid, err);
            if (i == 0) bad_root = 1;
            continue;
        }
        ops += t.nops;
        if (i < 20 || n <= 21 || i == n - 1)
            fprintf(stderr, "heapforge record: %s (pid %ld%s): %zu operations on %u blocks in %s\n",
                    t.program[0] ? t.program : "?", traces[i].pid, i == 0 ? ", the command" : "",
                    t.nops, t.nids, traces[i].path);
        else if (i == 20)
            fprintf(stderr, "heapforge record: ... %ld more\n", n - 21);
        hft_trace_free(&t);
    }
    if (n > 1)
        fprintf(stderr, "heapforge record: %ld processes recorded, %zu operations in all\n", n,
                ops);
    if (traces != &one) free(traces);
    if (bad_root) return code ? code : HFT_EXIT_BADFILE;
    return code;
}
