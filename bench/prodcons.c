/* prodcons -- a producer thread allocates and fills blocks, a consumer thread checks and frees
 * them: every free is a cross-thread free.
 *
 * Models pipelines and message passing (a network thread handing requests to a worker). The
 * blocks travel through a single-producer/single-consumer lock-free ring.
 */
#include "bench_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

enum { RING = 1024 }; /* a power of two */

static unsigned char *slots[RING];
static _Atomic size_t head; /* next slot the producer writes (only the producer stores) */
static _Atomic size_t tail; /* next slot the consumer reads (only the consumer stores) */
static long total;

static void backoff(unsigned *spins) {
    if (++*spins < 64) {
        __asm__ volatile("pause" ::: "memory");
    } else {
        *spins = 0;
        sched_yield();
    }
}

/* Block layout: 8-byte sequence number, 8-byte size, then fill bytes equal to the low byte of
 * (seq * 31); the consumer checks the header, the middle and the last byte. */
static void *producer(void *arg) {
    (void)arg;
    uint64_t rng = xs_seed(0x70726f64ull, 0);
    for (long i = 0; i < total; i++) {
        size_t n = xs_range(&rng, 16, 1024);
        unsigned char *p = bench_malloc(n);
        uint64_t seq = (uint64_t)i, sz = (uint64_t)n;
        memcpy(p, &seq, 8);
        memcpy(p + 8, &sz, 8);
        memset(p + 16, (int)((seq * 31) & 0xFF), n - 16);
        size_t h = atomic_load_explicit(&head, memory_order_relaxed);
        unsigned spins = 0;
        while (h - atomic_load_explicit(&tail, memory_order_acquire) >= RING) backoff(&spins);
        slots[h & (RING - 1)] = p;
        atomic_store_explicit(&head, h + 1, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    total = bench_count(3.0e6, scale);

    pthread_t th;
    if (pthread_create(&th, NULL, producer, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    uint64_t sum = 0;
    for (long i = 0; i < total; i++) {
        size_t t = atomic_load_explicit(&tail, memory_order_relaxed);
        unsigned spins = 0;
        while (atomic_load_explicit(&head, memory_order_acquire) == t) backoff(&spins);
        unsigned char *p = slots[t & (RING - 1)];
        atomic_store_explicit(&tail, t + 1, memory_order_release);
        uint64_t seq, sz;
        memcpy(&seq, p, 8);
        memcpy(&sz, p + 8, 8);
        unsigned char fill = (unsigned char)((seq * 31) & 0xFF);
        BENCH_CHECK(seq == (uint64_t)i && sz >= 16 && sz <= 1024 &&
                        (sz == 16 || (p[16 + (sz - 16) / 2] == fill && p[sz - 1] == fill)),
                    "prodcons: message %ld damaged", i);
        sum = mix(sum, seq ^ (sz << 20) ^ (sz > 16 ? p[sz - 1] : 0));
        free(p);
    }
    pthread_join(th, NULL);
    printf("prodcons messages=%ld checksum=%016llx\n", total, (unsigned long long)sum);
    return 0;
}
