/* api_double_free: freeing a block twice is detected: the child process prints
 * "heapforge: double free of 0x... (size N)" to stderr and dies of SIGABRT. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapforge.h"
#include "test_util.h"

static void *launder(void *p) {
    void *volatile v = p;
    return v;
}

static size_t read_all(int fd, char *buf, size_t cap) {
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r <= 0) break;
        len += (size_t)r;
        if (len == cap - 1) break;
    }
    buf[len] = 0;
    return len;
}

static void run_case(size_t size) {
    int err_pipe[2], msg_pipe[2];
    CHECK(pipe(err_pipe) == 0 && pipe(msg_pipe) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(err_pipe[1], 2);
        close(err_pipe[0]);
        close(msg_pipe[0]);
        void *keep = malloc(size); /* a neighbour, so the block is not alone in its page */
        void *p = malloc(size);
        CHECK(p != NULL && keep != NULL);
        char expect[64];
        int n = snprintf(expect, sizeof expect, "heapforge: double free of %p", p);
        CHECK(write(msg_pipe[1], expect, (size_t)n) == n);
        close(msg_pipe[1]);
        void *again =
            launder(p); /* taken before the first free, so the compiler has no complaint */
        free(p);
        free(again);
        _exit(0); /* not reached if the double free is caught */
    }
    close(err_pipe[1]);
    close(msg_pipe[1]);
    static char err[65536], expect[64];
    read_all(msg_pipe[0], expect, sizeof expect);
    read_all(err_pipe[0], err, sizeof err);
    close(err_pipe[0]);
    close(msg_pipe[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    fprintf(stderr, "size %zu: child stderr: %s", size, err);
    CHECK(expect[0] != 0);
    CHECK(WIFSIGNALED(status));
    CHECK_EQ(WTERMSIG(status), SIGABRT);
    const char *hit = strstr(err, expect);
    CHECK(hit != NULL);
    CHECK(strstr(hit, " (size ") != NULL);
}

int main(void) {
    run_case(40);
    run_case(1000);
    puts("api_double_free: ok");
    return 0;
}
