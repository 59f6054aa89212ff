/* api_misuse: one heap misuse per case, run in a child process. The child must die of SIGABRT
 * after printing exactly one line "heapforge: <error> of <pointer>..." to stderr.
 * Usage: api_misuse CASE   (CTest runs every case; `api_misuse list` names them). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapforge.h"
#include "test_util.h"

static void *volatile sink;
static void *launder(void *p) {
    sink = p;
    return sink;
}

/* Before its fatal call, a case announces the pointer the report must name. */
static int announce_fd = -1;
static void *announce(void *p) {
    dprintf(announce_fd, "%p", p);
    close(announce_fd);
    return launder(p);
}

/* Each case performs its misuse and returns the pointer it named and the expected error. */
typedef struct misuse {
    const char *name, *error;
    void *(*run)(void);
} misuse;

static void *double_free(size_t n) {
    void *keep = malloc(n), *p = malloc(n);
    CHECK(keep && p);
    free(p);
    free(announce(p));
    return p;
}
static void *df_small(void) {
    return double_free(48);
}
static void *df_medium(void) {
    return double_free(20000);
}
static void *df_large(void) {
    return double_free(1 << 20);
}

static void *interior(size_t n, size_t off) {
    void *keep = malloc(n);
    char *p = malloc(n);
    CHECK(keep && p);
    free(announce(p + off));
    return p + off;
}
static void *inner_small(void) {
    return interior(64, 16);
}
static void *unaligned_small(void) {
    return interior(64, 1);
}
static void *inner_medium(void) {
    return interior(30000, 4096);
}
static void *inner_large(void) {
    return interior(1 << 20, 8192);
}

static void *remote_free(void *p) {
    free(p);
    return NULL;
}
static void *df_remote(void) { /* freed by another thread, then again by the owner */
    void *keep = malloc(64), *p = malloc(64);
    CHECK(keep && p);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, remote_free, p) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    free(announce(p));
    return p;
}

static void *realloc_freed(void) {
    void *keep = malloc(100), *p = malloc(100);
    CHECK(keep && p);
    free(p);
    sink = realloc(announce(p), 50);
    return p;
}

void free_sized(void *p, size_t size); /* C23; not in this glibc's headers */

static void *free_sized_too_big(void) {
    void *keep = malloc(100), *p = malloc(100);
    CHECK(keep && p);
    free_sized(announce(p), 4096);
    return p;
}

static const misuse cases[] = {
    {"double_free_small", "double free", df_small},
    {"double_free_medium", "double free", df_medium},
    {"double_free_large", "double free", df_large},
    {"double_free_after_remote_free", "double free", df_remote},
    {"interior_free_small", "invalid free", inner_small},
    {"unaligned_free_small", "invalid free", unaligned_small},
    {"interior_free_medium", "invalid free", inner_medium},
    {"interior_free_large", "invalid free", inner_large},
    {"realloc_of_freed_block", "realloc of a freed block", realloc_freed},
    {"free_sized_wrong_size", "free_sized with a wrong size", free_sized_too_big},
};

int main(int argc, char **argv) {
    size_t ncases = sizeof cases / sizeof cases[0];
    CHECK(argc == 2);
    if (strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < ncases; i++) puts(cases[i].name);
        return 0;
    }
    const misuse *m = NULL;
    for (size_t i = 0; i < ncases; i++)
        if (strcmp(argv[1], cases[i].name) == 0) m = &cases[i];
    CHECK(m != NULL);
    int errp[2], ptrp[2];
    CHECK(pipe(errp) == 0 && pipe(ptrp) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(errp[1], 2);
        close(errp[0]);
        close(ptrp[0]);
        announce_fd = ptrp[1];
        m->run();
        _exit(0); /* reached only if the misuse went unnoticed */
    }
    close(errp[1]);
    close(ptrp[1]);
    char err[4096] = {0}, ptr[64] = {0};
    size_t len = 0;
    ssize_t r;
    while (len < sizeof err - 1 && (r = read(errp[0], err + len, sizeof err - 1 - len)) > 0)
        len += (size_t)r;
    CHECK(read(ptrp[0], ptr, sizeof ptr - 1) >= 0);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
        fprintf(stderr, "%s: not caught (status 0x%x, pointer %s); stderr: %s\n", m->name, status,
                ptr, err);
        return 1;
    }
    char want[128];
    snprintf(want, sizeof want, "heapforge: %s of %s", m->error, ptr);
    if (strncmp(err, want, strlen(want)) != 0 || strchr(err, '\n') != err + len - 1) {
        fprintf(stderr, "%s: expected one line starting '%s', got: %s\n", m->name, want, err);
        return 1;
    }
    printf("%s: caught: %s", m->name, err);
    return 0;
}
