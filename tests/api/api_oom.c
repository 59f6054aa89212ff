/* api_oom: out of memory is reported, not fatal. A child limited to 512 MiB of address space
 * (RLIMIT_AS) allocates 1 MiB blocks and then 64-byte blocks until malloc returns NULL with
 * errno ENOMEM; calloc / realloc / posix_memalign fail cleanly too; after freeing everything,
 * allocation works again. The parent checks the child exited with status 0. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapforge.h"
#include "test_util.h"

struct node {
    struct node *next;
    size_t tag;
};

/* Allocate blocks of n bytes until NULL; returns the list, count in *count. */
static struct node *exhaust(size_t n, size_t max_count, size_t *count) {
    struct node *head = NULL;
    size_t c = 0;
    for (;;) {
        errno = 0;
        struct node *b = malloc(n);
        if (!b) {
            CHECK_EQ(errno, ENOMEM);
            break;
        }
        CHECK_ALIGNED(b, 16);
        b->next = head;
        b->tag = c;
        if (n >= 4096) memset((char *)b + sizeof *b, 0x5c, 4096 - sizeof *b);
        head = b;
        c++;
        CHECK_LE(c, max_count); /* the 512 MiB limit must stop us long before this */
    }
    *count = c;
    return head;
}

static void release(struct node *head, size_t count) {
    size_t c = count;
    while (head) {
        struct node *next = head->next;
        CHECK_EQ(head->tag, c - 1);
        c--;
        errno = 1234;
        free(head);
        CHECK_EQ(errno, 1234);
        head = next;
    }
    CHECK_EQ(c, 0);
}

static int child(void) {
    /* stdio buffers must exist before the limit bites */
    setvbuf(stdout, NULL, _IONBF, 0);
    size_t vsz = test_statm_bytes(0);
    struct rlimit rl = {512u << 20, 512u << 20};
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
    fprintf(stderr, "api_oom: address space before the limit: %zu MiB\n", vsz >> 20);

    for (int round = 0; round < 2; round++) {
        size_t nbig = 0, nsmall = 0;
        struct node *big = exhaust(1 << 20, 1024, &nbig);
        struct node *small = exhaust(64, (size_t)64 << 20, &nsmall);
        fprintf(stderr, "api_oom: round %d: %zu x 1 MiB, then %zu x 64 B before NULL\n", round,
                nbig, nsmall);
        CHECK_GE(nbig, 128); /* at least a quarter of the limit was usable in big blocks */

        /* everything else fails cleanly while memory is exhausted */
        errno = 0;
        CHECK(calloc(1, 1 << 20) == NULL);
        CHECK_EQ(errno, ENOMEM);
        errno = 0;
        CHECK(malloc(64 << 20) == NULL);
        CHECK_EQ(errno, ENOMEM);
        void *p = NULL;
        errno = 1234;
        CHECK_EQ(posix_memalign(&p, 4096, 8 << 20), ENOMEM);
        CHECK_EQ(errno, ENOMEM); /* as glibc: the result and errno */
        errno = 0;
        void *r = realloc(big, 300 << 20);
        CHECK(r == NULL);
        CHECK_EQ(errno, ENOMEM);
        CHECK_EQ(big->tag, nbig - 1); /* the block survives the failed realloc */

        release(small, nsmall);
        release(big, nbig);

        /* memory is usable again */
        size_t n1 = 0;
        struct node *again = NULL;
        for (; n1 < 100; n1++) {
            struct node *b = malloc(1 << 20);
            CHECK(b != NULL);
            memset(b, 0x11, 1 << 20);
            b->next = again;
            b->tag = n1;
            again = b;
        }
        release(again, n1);
        again = NULL;
        for (n1 = 0; n1 < 100000; n1++) {
            struct node *b = malloc(64);
            CHECK(b != NULL);
            b->next = again;
            b->tag = n1;
            again = b;
        }
        release(again, n1);
        void *q = malloc(200 << 20);
        CHECK(q != NULL);
        memset(q, 1, 200 << 20);
        free(q);
    }
    return 0;
}

int main(void) {
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(child());
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status))
        fprintf(stderr, "api_oom: child killed by signal %d\n", WTERMSIG(status));
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    puts("api_oom: ok");
    return 0;
}
