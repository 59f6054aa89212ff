/* xmalloc -- producer threads allocate at full speed, consumer threads free.
 *
 * The shape of the classic xmalloc test: of T threads (default 4), T/2 (at least one) only
 * allocate and the rest only free. A producer mallocs small blocks (16-256 B, skewed small),
 * writes them, and groups them in batches of 64, which it pushes onto one shared queue guarded
 * by a mutex (one lock per batch, so the queue is lightly contended); a consumer pops a batch,
 * checks and frees its blocks, and frees the batch node itself (also malloc'ed by a producer).
 * The queue is bounded (a producer yields while it holds many batches), so the live set stays
 * small and every free is a free of another thread's block.
 *
 * Each producer makes a fixed number of blocks from its own random state, and consumers fold
 * a hash of every block into a sum with addition, so the result does not depend on which
 * consumer freed what. Throughput (blocks per second) goes to stderr: stdout must be the same
 * under every allocator.
 *
 * usage: bench-xmalloc [scale [threads]]
 */
#include "bench_common.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

enum { DEFAULT_THREADS = 4, BATCH = 64, MAX_QUEUED = 256 };

struct batch {
    struct batch *next;
    unsigned n;
    unsigned char *blk[BATCH];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER;
static struct batch *head, *tail_; /* FIFO of full batches */
static long queued;                /* batches in the queue */
static int producers_left;
static long per_producer;

static uint64_t block_hash(uint64_t tag, size_t n) {
    return xs_seed(tag, n);
}

static void push(struct batch *b) {
    pthread_mutex_lock(&lock);
    b->next = NULL;
    if (tail_ != NULL)
        tail_->next = b;
    else
        head = b;
    tail_ = b;
    queued++;
    pthread_cond_signal(&nonempty);
    pthread_mutex_unlock(&lock);
}

static long queue_length(void) {
    pthread_mutex_lock(&lock);
    long n = queued;
    pthread_mutex_unlock(&lock);
    return n;
}

static void *producer(void *arg) {
    uint64_t index = (uint64_t)(uintptr_t)arg;
    uint64_t rng = xs_seed(0x786d616c6c6f63ull, index);
    struct batch *b = NULL;
    for (long i = 0; i < per_producer; i++) {
        if (b == NULL) {
            b = bench_malloc(sizeof *b);
            b->n = 0;
        }
        size_t n = xs_next(&rng) % 4 == 0 ? xs_range(&rng, 64, 256) : xs_range(&rng, 16, 64);
        unsigned char *p = bench_malloc(n);
        uint64_t tag = (index << 48) | ((uint64_t)i << 8) | (n & 0xFF);
        memcpy(p, &tag, 8);
        memset(p + 8, (int)(tag >> 8), n - 8);
        b->blk[b->n++] = p;
        if (b->n == BATCH || i + 1 == per_producer) {
            if ((i / BATCH) % 16 == 0) {
                while (queue_length() > MAX_QUEUED) sched_yield();
            }
            push(b);
            b = NULL;
        }
    }
    pthread_mutex_lock(&lock);
    producers_left--;
    pthread_cond_broadcast(&nonempty);
    pthread_mutex_unlock(&lock);
    return NULL;
}

struct consumer {
    uint64_t sum;
    long blocks;
};

static void *consumer(void *arg) {
    struct consumer *c = arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (head == NULL && producers_left > 0) pthread_cond_wait(&nonempty, &lock);
        struct batch *b = head;
        if (b != NULL) {
            head = b->next;
            if (head == NULL) tail_ = NULL;
            queued--;
        }
        pthread_mutex_unlock(&lock);
        if (b == NULL) break; /* no producer left and the queue is empty */
        for (unsigned k = 0; k < b->n; k++) {
            unsigned char *p = b->blk[k];
            uint64_t tag;
            memcpy(&tag, p, 8);
            size_t lo = (size_t)(tag & 0xFF);
            /* sizes are 16-256: the low byte and the fill bytes tell where the block ends */
            size_t n = lo < 16 ? lo + 256 : lo;
            unsigned char f = (unsigned char)(tag >> 8);
            BENCH_CHECK(p[8] == f && p[n - 1] == f && p[8 + (n - 8) / 2] == f,
                        "xmalloc: block %llx damaged", (unsigned long long)tag);
            c->sum += block_hash(tag, n);
            c->blocks++;
            free(p);
        }
        free(b);
    }
    return NULL;
}

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    int threads = bench_threads(argc, argv, DEFAULT_THREADS);
    int np = threads / 2 > 0 ? threads / 2 : 1;
    int nc = threads - np > 0 ? threads - np : 1;
    long total = bench_count(3.0e6, scale);
    per_producer = (total + np - 1) / np;
    producers_left = np;

    pthread_t *th = bench_malloc((size_t)(np + nc) * sizeof *th);
    struct consumer *cs = calloc((size_t)nc, sizeof *cs);
    if (cs == NULL) return 3;
    double t0 = bench_now();
    for (int i = 0; i < nc; i++) {
        if (pthread_create(&th[np + i], NULL, consumer, &cs[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < np; i++) {
        if (pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < np + nc; i++) pthread_join(th[i], NULL);
    double dt = bench_now() - t0;
    uint64_t sum = 0;
    long blocks = 0;
    for (int i = 0; i < nc; i++) {
        sum += cs[i].sum;
        blocks += cs[i].blocks;
    }
    BENCH_CHECK(blocks == per_producer * np, "xmalloc: %ld of %ld blocks freed", blocks,
                per_producer * np);
    fprintf(stderr, "xmalloc: %.2f M blocks/s (%d producers, %d consumers)\n",
            (double)blocks / dt * 1e-6, np, nc);
    printf("xmalloc producers=%d consumers=%d blocks=%ld checksum=%016llx\n", np, nc, blocks,
           (unsigned long long)sum);
    free(cs);
    free(th);
    return 0;
}
