/* preload_ulimit: under `ulimit -v` set before the program starts, heapforge preloaded reaches
 * as much memory as glibc's malloc does.
 *
 * This program is not linked with heapforge. For each block size and address-space limit it
 * runs itself twice, once plainly (glibc) and once with LD_PRELOAD=argv[1], each time with
 * RLIMIT_AS set before exec, as a shell's `ulimit -v` would: the limit then also covers the
 * preloaded library's own image, which api_reach (whose limit starts at the process's present
 * size) cannot see. The child allocates blocks of the size until malloc returns NULL and prints
 * the MiB it reached; heapforge must reach at least 95% of glibc's figure. Before the page map
 * became two-level it was one 32 MiB .bss array, and under a 128 MiB limit heapforge reached
 * 90-92 MiB against glibc's 100-125. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int measure(size_t size) {
    void *prev = NULL;
    size_t total = 0;
    for (;;) {
        void **p = malloc(size);
        if (p == NULL) break;
        memset(p, 0x5a, size < 4096 ? size : 4096);
        *p = prev;
        prev = p;
        total += size;
    }
    printf("%zu\n", total >> 20);
    return 0;
}

/* MiB reached by a child under an RLIMIT_AS of limit_mib, with `preload` (or none). */
static long reach(const char *self, const char *preload, size_t limit_mib, size_t size) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        struct rlimit r = {limit_mib << 20, limit_mib << 20};
        if (setrlimit(RLIMIT_AS, &r) != 0) _exit(3);
        if (preload != NULL)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        char arg[32];
        snprintf(arg, sizeof arg, "%zu", size);
        execl(self, self, "--measure", arg, (char *)NULL);
        _exit(4);
    }
    close(fd[1]);
    /* Read to the end: with the heap exhausted, stdio may have no buffer and write piecemeal. */
    char buf[64] = {0};
    size_t n = 0;
    for (ssize_t k; n < sizeof buf - 1 && (k = read(fd[0], buf + n, sizeof buf - 1 - n)) != 0;)
        if (k > 0)
            n += (size_t)k;
        else if (errno != EINTR)
            break;
    close(fd[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || n == 0) {
        fprintf(stderr, "child (%s, limit %zu MiB, size %zu) failed: status %#x\n",
                preload ? "heapforge" : "glibc", limit_mib, size, st);
        return -1;
    }
    return strtol(buf, NULL, 10);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--measure") == 0) return measure(strtoull(argv[2], NULL, 10));
    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBHEAPFORGE.so\n", argv[0]);
        return 2;
    }
    static const size_t limits[] = {128, 512};
    static const size_t sizes[] = {64, 1024, 65536, 1 << 20, 8 << 20};
    int bad = 0;
    for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            long g = reach(argv[0], NULL, limits[l], sizes[s]);
            long h = reach(argv[0], argv[1], limits[l], sizes[s]);
            if (g <= 0 || h < 0) return 1;
            bool ok = h * 100 >= g * 95;
            printf(
                "limit %4zu MiB  blocks of %8zu B: glibc %4ld MiB, heapforge %4ld MiB (%3ld%%)%s\n",
                limits[l], sizes[s], g, h, h * 100 / g, ok ? "" : "  << below 95%");
            bad += !ok;
        }
    }
    return bad ? 1 : 0;
}
