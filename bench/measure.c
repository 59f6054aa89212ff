/* measure -- run a command and report its wall time and peak RSS.
 *
 * usage: bench-measure RESULT_FILE COMMAND [ARGS...]
 *
 * Forks, execs COMMAND (stdin, stdout, stderr and the environment are passed through; if
 * BENCH_LD_PRELOAD is set, the command gets it as LD_PRELOAD, so that this program itself is not
 * run on the allocator under test), waits
 * for it with wait4 and writes "<seconds> <ru_maxrss KiB> <wait status>" to RESULT_FILE; exits
 * with the command's exit code (128 + signal if it was killed).
 *
 * Why not measure from bench/run.py directly: Linux keeps a process's peak RSS across exec, and
 * a child forked (or vforked) by the Python runner starts with the runner's own ~16 MiB already
 * counted, which would hide the RSS of every small workload. A child of this small program
 * starts from about 1 MiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s RESULT_FILE COMMAND [ARGS...]\n", argv[0]);
        return 125;
    }
    double start = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 125;
    }
    if (pid == 0) {
        const char *preload = getenv("BENCH_LD_PRELOAD");
        if (preload != NULL) {
            setenv("LD_PRELOAD", preload, 1);
            unsetenv("BENCH_LD_PRELOAD");
        }
        execv(argv[2], argv + 2);
        fprintf(stderr, "bench-measure: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("wait4");
            return 125;
        }
    }
    double seconds = now() - start;
    FILE *f = fopen(argv[1], "w");
    if (f == NULL) {
        perror(argv[1]);
        return 125;
    }
    fprintf(f, "%.6f %ld %d\n", seconds, ru.ru_maxrss, status);
    fclose(f);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 125;
}
