/* lab_fork: user-created arenas across fork() and threads, for every lab policy. A thread hammers
 * an arena of the program's own while the main thread forks; each child, under an alarm that
 * turns a held lock into a failure, allocates from that same arena and checks it. Then several
 * threads share one sbrk-backed arena with content checks on every block. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab_util.h"

static int passed;
static atomic_int stop;

typedef struct hammer_arg {
    hf_arena *a;
    uint64_t seed;
    size_t ops;
} hammer_arg;

/* Random mallocs, reallocs and frees on one arena; every block's pattern checked before it goes. */
static void *hammer(void *arg) {
    hammer_arg *h = arg;
    enum { K = 64 };
    unsigned char *p[K] = {0};
    size_t n[K] = {0};
    uint64_t seed[K] = {0}, rng = h->seed;
    for (size_t op = 0; (h->ops == 0 && !atomic_load(&stop)) || op < h->ops; op++) {
        unsigned i = (unsigned)test_rand_range(&rng, 0, K - 1);
        if (p[i] != NULL) {
            CHECK_PATTERN(p[i], n[i], seed[i]);
            if (test_rand_range(&rng, 0, 3) == 0) {
                size_t m = test_rand_range(&rng, 1, 5000);
                unsigned char *q = hf_arena_realloc(h->a, p[i], m);
                CHECK(q != NULL);
                CHECK_PATTERN(q, n[i] < m ? n[i] : m, seed[i]);
                p[i] = q, n[i] = m, seed[i] = rng;
                test_fill(q, m, rng);
            } else {
                hf_arena_free(h->a, p[i]);
                p[i] = NULL;
            }
            continue;
        }
        n[i] = test_rand_range(&rng, 1, test_rand_range(&rng, 0, 15) ? 600 : 20000);
        p[i] = hf_arena_malloc(h->a, n[i]);
        CHECK(p[i] != NULL);
        seed[i] = rng;
        test_fill(p[i], n[i], rng);
    }
    for (unsigned i = 0; i < K; i++)
        if (p[i] != NULL) {
            CHECK_PATTERN(p[i], n[i], seed[i]);
            hf_arena_free(h->a, p[i]);
        }
    return NULL;
}

static void test_fork(hf_policy pol) {
    hf_arena_config cfg = {.seed = 1, .growth_step = 64 << 10};
    hf_arena *a = hf_arena_create(pol, &cfg);
    CHECK(a != NULL);
    atomic_store(&stop, 0);
    hammer_arg h = {a, 17 + (uint64_t)pol, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, hammer, &h) == 0);
    for (int k = 0; k < 20; k++) {
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(10); /* a lock the fork left held would hang here */
            hammer_arg c = {a, 1000 + (uint64_t)k, 2000};
            hammer(&c);
            CHECK(hf_arena_check(a) == NULL);
            _exit(0);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "%s: child %d ended with status 0x%x\n", hf_policy_name(pol), k,
                    status);
            CHECK(0);
        }
        usleep(200);
    }
    atomic_store(&stop, 1);
    CHECK(pthread_join(t, NULL) == 0);
    check_arena(a, "fork");
    hf_arena_destroy(a);
    passed++;
}

static void test_threads_sbrk(hf_policy pol) {
    hf_arena_config cfg = {
        .seed = 2, .growth_step = 64 << 10, .backing = HF_BACKING_SBRK, .mmap_threshold = 16 << 10};
    hf_arena *a = hf_arena_create(pol, &cfg);
    CHECK(a != NULL);
    enum { T = 4 };
    pthread_t t[T];
    hammer_arg h[T];
    for (int i = 0; i < T; i++) {
        h[i] = (hammer_arg){a, 31 + (uint64_t)i * 7 + (uint64_t)pol, 20000};
        CHECK(pthread_create(&t[i], NULL, hammer, &h[i]) == 0);
    }
    for (int i = 0; i < T; i++) CHECK(pthread_join(t[i], NULL) == 0);
    check_arena(a, "threads");
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    CHECK_EQ(st.used_blocks, 0);
    CHECK_EQ(st.live_bytes, 0);
    hf_arena_destroy(a);
    passed++;
}

int main(void) {
    for (unsigned i = 0; i < NPOL; i++) {
        test_fork(lab_policies[i]);
        test_threads_sbrk(lab_policies[i]);
    }
    printf("lab_fork: %d passed, 0 failed\n", passed);
    return 0;
}
