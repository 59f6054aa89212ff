/* test_death.h -- runs one misuse in a child and checks how it dies: by SIGABRT, with exactly one
 * stderr line `heapforge: <what> of 0x<hex>` (optionally followed by ` (size N)`), the reporter's
 * stable format. Shared by the tests of error detection (the lab's, stress_foreign). */
#ifndef HF_TEST_DEATH_H
#define HF_TEST_DEATH_H

#include "test_util.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

/* Is line exactly "heapforge: <what> of 0x<hex>[ (size <dec>)]\n"? */
static inline bool test_death_line_ok(const char *line, const char *what) {
    char head[128];
    snprintf(head, sizeof head, "heapforge: %s of 0x", what);
    size_t n = strlen(head);
    if (strncmp(line, head, n) != 0) return false;
    const char *s = line + n;
    if (!strchr("0123456789abcdef", *s) || *s == 0) return false;
    while (*s && strchr("0123456789abcdef", *s)) s++;
    if (strncmp(s, " (size ", 7) == 0) {
        s += 7;
        if (*s < '0' || *s > '9') return false;
        while (*s >= '0' && *s <= '9') s++;
        if (*s++ != ')') return false;
    }
    return strcmp(s, "\n") == 0;
}

/* Runs fn(arg) in a child with its stderr captured into buf (NUL-terminated); returns the
 * child's wait status. If fn returns, the child exits 0. */
static inline int test_death_run(void (*fn)(void *), void *arg, char *buf, size_t size) {
    int fd[2];
    CHECK(pipe(fd) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        fn(arg);
        _exit(0);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t k;
    while (len < size - 1 && (k = read(fd[0], buf + len, size - 1 - len)) > 0) len += (size_t)k;
    buf[len] = 0;
    close(fd[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return status;
}

static inline bool test_died_of_abort(int status) {
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

/* fn(arg) in a child must die as described above. */
static inline void test_expect_death(void (*fn)(void *), void *arg, const char *what,
                                     const char *label) {
    char buf[512];
    int status = test_death_run(fn, arg, buf, sizeof buf);
    if (!test_died_of_abort(status) || !test_death_line_ok(buf, what)) {
        fprintf(stderr,
                "%s: expected SIGABRT and \"heapforge: %s of 0x...\", got status 0x%x and "
                "\"%s\"\n",
                label, what, status, buf);
        abort();
    }
}

/* fn(arg) in a child must die of SIGABRT with stderr starting with prefix. */
static inline void test_expect_abort_prefix(void (*fn)(void *), void *arg, const char *prefix,
                                            const char *label) {
    char buf[512];
    int status = test_death_run(fn, arg, buf, sizeof buf);
    if (!test_died_of_abort(status) || strncmp(buf, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "%s: expected SIGABRT and \"%s...\", got status 0x%x and \"%s\"\n", label,
                prefix, status, buf);
        abort();
    }
}

#endif
