/* stress_fork: worker threads allocate and free in loops while the main thread forks repeatedly.
 * Each child (which may have been forked while another thread was inside the allocator) frees
 * blocks inherited from the parent, mallocs/writes/frees many blocks, does the same from a new
 * thread it creates, and _exit(0)s; an alarm turns a deadlock into a failure. The parent checks
 * every child's exit status. Uses the libc names (linked to heapforge). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapforge.h"
#include "test_util.h"

enum { NWORKERS = 3, INHERITED = 64 };

static atomic_int stop;
static atomic_size_t worker_ops;
static void *inherited[INHERITED];

static void *worker(void *arg) {
    uint64_t rng = (uint64_t)(intptr_t)arg * 0x1234567ULL + 1;
    void *slots[128] = {0};
    size_t lens[128] = {0};
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        size_t i = test_rand(&rng) % 128;
        if (slots[i]) {
            CHECK_PATTERN(slots[i], lens[i], (uint64_t)i + lens[i]);
            free(slots[i]);
        }
        lens[i] = (test_rand(&rng) % 64 == 0) ? test_rand_range(&rng, 100000, 1 << 20)
                                              : test_rand_range(&rng, 1, 3000);
        slots[i] = malloc(lens[i]);
        CHECK(slots[i] != NULL);
        test_fill(slots[i], lens[i], (uint64_t)i + lens[i]);
        atomic_fetch_add_explicit(&worker_ops, 1, memory_order_relaxed);
    }
    for (size_t i = 0; i < 128; i++) free(slots[i]);
    return NULL;
}

/* Work done in the child, from its main thread and from a new thread. */
static void *child_work(void *arg) {
    uint64_t rng = (uint64_t)(intptr_t)arg + 7;
    enum { N = 500 };
    void **ptrs = malloc(N * sizeof(void *));
    size_t *lens = calloc(N, sizeof(size_t));
    CHECK(ptrs != NULL && lens != NULL);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            lens[i] = (i % 97 == 0) ? test_rand_range(&rng, 70000, 600000)
                                    : test_rand_range(&rng, 1, 2048);
            ptrs[i] = malloc(lens[i]);
            CHECK(ptrs[i] != NULL);
            test_fill(ptrs[i], lens[i], (uint64_t)i);
        }
        for (int i = 0; i < N; i++) {
            CHECK_PATTERN(ptrs[i], lens[i], (uint64_t)i);
            free(ptrs[i]);
        }
    }
    free(lens);
    free(ptrs);
    return NULL;
}

static int child_main(int k) {
    alarm(20); /* a deadlocked allocator lock dies of SIGALRM instead of hanging the test */
    for (int i = 0; i < INHERITED; i++) {
        CHECK_PATTERN(inherited[i], 256, (uint64_t)i + 1000);
        free(inherited[i]);
    }
    child_work((void *)(intptr_t)k);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, child_work, (void *)(intptr_t)(k + 1000)) == 0);
    child_work((void *)(intptr_t)(k + 2000)); /* concurrently with the new thread */
    CHECK(pthread_join(t, NULL) == 0);
    return 0;
}

int main(int argc, char **argv) {
    size_t nforks = test_scaled(60, test_scale(argc, argv));
    for (int i = 0; i < INHERITED; i++) {
        inherited[i] = malloc(256);
        CHECK(inherited[i] != NULL);
        test_fill(inherited[i], 256, (uint64_t)i + 1000);
    }
    pthread_t th[NWORKERS];
    for (int i = 0; i < NWORKERS; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)(i + 1)) == 0);
    size_t failures = 0;
    for (size_t k = 0; k < nforks; k++) {
        /* a little allocation in the forking thread too */
        void *p = malloc(1000 + k);
        CHECK(p != NULL);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) _exit(child_main((int)k));
        free(p);
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "fork %zu: child %s %d\n", k,
                    WIFSIGNALED(status) ? "killed by signal" : "exited with",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            failures++;
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NWORKERS; i++) CHECK(pthread_join(th[i], NULL) == 0);
    for (int i = 0; i < INHERITED; i++) {
        CHECK_PATTERN(inherited[i], 256,
                      (uint64_t)i + 1000); /* the children's frees did not touch ours */
        free(inherited[i]);
    }
    CHECK_EQ(failures, 0);
    CHECK_GE(atomic_load(&worker_ops), 1);
    printf("stress_fork: ok: %zu forks, %zu worker operations\n", nforks, atomic_load(&worker_ops));
    return 0;
}
