/* stress_double_free_race.c -- several threads free the same blocks at the same instant, round
 * after round, at HEAPFORGE_SECURE=3 with HEAPFORGE_ON_ERROR=warn (set by CTest).
 *
 * Every block must be freed exactly once and reported as a double free once per extra free:
 * after each round the reports (stderr, redirected to a file) are counted per block. At the
 * end hf_trim releases the quarantine (a block queued twice would fail its pattern check or
 * reach the ordinary double-free check), nothing more may be reported, and a burst of
 * allocations must not hand out any address twice. Uses the hf_* API (sanitize label). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heapforge.h"
#include "test_util.h"

#define NTHREADS 4  /* each frees every block of a round */
#define NBLOCKS  64 /* blocks per round */
#define NFRESH   20000

static void *blocks[NBLOCKS];
static pthread_barrier_t start, done;
static size_t rounds;

static void *worker(void *arg) {
    (void)arg;
    for (size_t r = 0; r < rounds; r++) {
        pthread_barrier_wait(&start);
        for (size_t j = 0; j < NBLOCKS; j++) hf_free(blocks[j]);
        pthread_barrier_wait(&done);
    }
    return NULL;
}

static char text[1 << 20];
static off_t seen; /* bytes of the report file already counted */

/* The reports written since the last call: each must be a double free of one of the round's
 * blocks; *count[j]: how many name block j. Returns the number of lines. */
static size_t read_reports(int fd, unsigned counts[NBLOCKS]) {
    ssize_t got = pread(fd, text, sizeof text - 1, seen);
    CHECK(got >= 0 && (size_t)got < sizeof text - 1);
    seen += got;
    text[got] = 0;
    size_t lines = 0;
    for (char *line = text, *end; *line != 0; line = end + 1) {
        end = strchr(line, '\n');
        CHECK(end != NULL);
        *end = 0;
        void *p = NULL;
        if (sscanf(line, "heapforge: double free of %p", &p) != 1) {
            fprintf(stdout, "unexpected report: %s\n", line);
            CHECK(0);
        }
        size_t j = 0;
        while (j < NBLOCKS && blocks[j] != p) j++;
        CHECK(counts != NULL && j < NBLOCKS);
        counts[j]++;
        lines++;
    }
    return lines;
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *level = getenv("HEAPFORGE_SECURE"), *on_error = getenv("HEAPFORGE_ON_ERROR");
    if (level == NULL || strcmp(level, "3") != 0 || on_error == NULL ||
        strcmp(on_error, "warn") != 0) {
        printf("needs HEAPFORGE_SECURE=3 and HEAPFORGE_ON_ERROR=warn\n");
        return 77;
    }
    rounds = test_scaled(400, test_scale(argc, argv));
    char path[] = "/tmp/hf_double_free_race.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    int saved_stderr = dup(2);
    CHECK(saved_stderr >= 0 && dup2(fd, 2) == 2);

    CHECK(pthread_barrier_init(&start, NULL, NTHREADS + 1) == 0);
    CHECK(pthread_barrier_init(&done, NULL, NTHREADS + 1) == 0);
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);
    size_t reports = 0;
    for (size_t r = 0; r < rounds; r++) {
        for (size_t j = 0; j < NBLOCKS; j++) {
            blocks[j] = hf_malloc(16 + 16 * ((r + j) % 8));
            CHECK(blocks[j] != NULL);
            memset(blocks[j], (int)j, 16);
        }
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&done);
        unsigned counts[NBLOCKS] = {0};
        reports += read_reports(fd, counts);
        for (size_t j = 0; j < NBLOCKS; j++) {
            if (counts[j] != NTHREADS - 1) {
                dprintf(saved_stderr, "round %zu: block %p reported %u times, expected %d\n", r,
                        blocks[j], counts[j], NTHREADS - 1);
                return 1;
            }
        }
    }
    for (int i = 0; i < NTHREADS; i++) CHECK(pthread_join(t[i], NULL) == 0);
    memset(blocks, 0, sizeof blocks);

    /* Released from the quarantine: a block queued twice, or freed twice, is reported here. */
    hf_trim(0);
    void **fresh = calloc(NFRESH, sizeof *fresh);
    CHECK(fresh != NULL);
    for (size_t i = 0; i < NFRESH; i++) CHECK((fresh[i] = hf_malloc(16 + 16 * (i % 8))) != NULL);
    qsort(fresh, NFRESH, sizeof *fresh, cmp_ptr);
    for (size_t i = 1; i < NFRESH; i++) CHECK(fresh[i] != fresh[i - 1]);
    for (size_t i = 0; i < NFRESH; i++) hf_free(fresh[i]);
    free(fresh);
    hf_trim(0);
    CHECK_EQ(read_reports(fd, NULL), 0);

    dup2(saved_stderr, 2);
    printf("stress_double_free_race: %zu rounds x %d blocks x %d threads: %zu reports, each "
           "block once per extra free\n",
           rounds, NBLOCKS, NTHREADS, reports);
    return 0;
}
