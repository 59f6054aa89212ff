/* api_reach: under an address-space limit (RLIMIT_AS), malloc reaches nearly all of it.
 *
 * A child sets the limit to its present size plus ROOM bytes, then for each size of a sequence
 * allocates blocks until malloc returns NULL (errno ENOMEM; every success leaves errno alone),
 * checks that the blocks reached at least 90% of ROOM, and frees them all. The sequence mixes
 * kinds -- spans (1 MiB, 10 MiB), small and medium pages (64 B, 4 KiB, 100 KiB) -- so each round
 * starts with the previous round's memory freed but perhaps still cached: a cache of free spans
 * or empty segments, or a page a size class keeps, must not refuse the next round (before the
 * caches were dropped on a refusal, 64-byte blocks after a round of 1 MiB ones reached 2% of
 * ROOM). At each NULL the address space left must be less than one more mapping would take (a
 * block, or a 4 MiB segment): a mapping that fits is not refused for want of alignment slack
 * (before, a 4 MiB-aligned mapping asked the OS for 4 MiB more than it kept). The last round
 * repeats the first: freeing everything gives every reservation back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#define ROOM ((size_t)160 << 20)
#define KEEP 1234

struct node {
    struct node *next;
};

static size_t limit;

/* The address space in use, read without stdio (which might need memory that is not there). */
static size_t mapped_bytes(void) {
    char buf[64];
    int fd = open("/proc/self/statm", O_RDONLY);
    CHECK(fd >= 0);
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    CHECK(r > 0);
    buf[r] = 0;
    return (size_t)strtoull(buf, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE);
}

/* Bytes reached with blocks of n bytes before NULL; the blocks are freed again. */
static size_t fill(size_t n) {
    struct node *head = NULL;
    size_t count = 0;
    for (;;) {
        errno = KEEP;
        struct node *b = malloc(n);
        if (b == NULL) {
            CHECK_EQ(errno, ENOMEM);
            size_t left = limit - mapped_bytes(), need = n > (4u << 20) ? n : (4u << 20);
            if (left >= need + (64 << 10))
                fprintf(stderr, "api_reach: %zu-byte block refused with %zu KiB left\n", n,
                        left >> 10);
            CHECK_LE(left, need + (64 << 10));
            break;
        }
        CHECK_EQ(errno, KEEP);
        CHECK_ALIGNED(b, 16);
        b->next = head;
        head = b;
        count++;
        CHECK_LE(count * n, limit); /* the limit holds: no block is counted twice */
    }
    while (head) {
        struct node *next = head->next;
        free(head);
        head = next;
    }
    return count * n;
}

static int child(void) {
    setvbuf(stderr, NULL, _IONBF, 0);
    size_t base = test_statm_bytes(0);
    limit = base + ROOM;
    struct rlimit rl = {limit, limit};
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
    const size_t sizes[] = {(size_t)1 << 20, 64, (size_t)10 << 20, 4096, 100 << 10,
                            (size_t)1 << 20};
    size_t reached[sizeof sizes / sizeof sizes[0]];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        reached[i] = fill(sizes[i]);
        fprintf(stderr, "api_reach: %8zu-byte blocks: %3zu of %zu MiB (%.1f%%)\n", sizes[i],
                reached[i] >> 20, ROOM >> 20, 100.0 * (double)reached[i] / (double)ROOM);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) CHECK_GE(reached[i] * 10, ROOM * 9);
    /* the same size again reaches as far (one block's slack): nothing stayed reserved */
    CHECK_GE(reached[5] + sizes[5], reached[0]);
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
        fprintf(stderr, "api_reach: child killed by signal %d\n", WTERMSIG(status));
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    puts("api_reach: ok");
    return 0;
}
