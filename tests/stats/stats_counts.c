/* stats_counts: the instrumented statistics add up (through the hf_ names, so that the sanitizer
 * builds, whose runtimes take over the libc names, test heapforge's counting too). Run with
 * HEAPFORGE_STATS=1 (CTest sets it): every kind of allocation moves live_requested, live_bytes and
 * live_blocks by exactly what was asked for, peaks follow, a balanced workload (also across
 * threads) brings the live figures back to where they started, and the JSON document describes the
 * same numbers. stats_counts            the checks stats_counts json FILE  also write
 * hf_stats_json's text to FILE (a python3 test parses it) stats_counts leak       leave 3 blocks of
 * 1000 bytes and 1 of 77777 live at exit stats_counts off        run without instrumentation: the
 * figures say so */
#include "heapforge.h"
#include "test_util.h"

#include <malloc.h>
#include <pthread.h>

#define N 2000

static void *blocks[N];
static size_t sizes[N];

static size_t size_for(unsigned i) {
    static const size_t menu[] = {1, 16, 24, 100, 1000, 5000, 70000, 200000, 3 << 20};
    return menu[i % 9] + i % 7;
}

static void *freer(void *arg) {
    (void)arg;
    for (unsigned i = 0; i < N; i += 2) hf_free(blocks[i]);
    return NULL;
}

static void *idle(void *arg) {
    return arg;
}

static void check_counts(void) {
    /* glibc keeps a finished thread's TLS blocks for the next thread: start one first so the
     * thread below reuses them instead of adding to the live figures. */
    pthread_t warm;
    CHECK_EQ(pthread_create(&warm, NULL, idle, NULL), 0);
    CHECK_EQ(pthread_join(warm, NULL), 0);
    hf_stats s0, s1, s2;
    CHECK_EQ(hf_stats_get(&s0), 0);
    CHECK_EQ(s0.version, HF_STATS_VERSION);
    CHECK_EQ(s0.size, sizeof(hf_stats));
    CHECK_EQ(s0.instrumented, 1);
    size_t want = 0;
    for (unsigned i = 0; i < N; i++) {
        sizes[i] = size_for(i);
        switch (i % 4) {
        case 0:
            blocks[i] = hf_malloc(sizes[i]);
            break;
        case 1:
            blocks[i] = hf_calloc(1, sizes[i]);
            break;
        case 2:
            blocks[i] = hf_aligned_alloc(64, sizes[i]);
            break;
        default:
            blocks[i] = hf_malloc(8);
            blocks[i] = hf_realloc(blocks[i], sizes[i]);
            break;
        }
        CHECK(blocks[i] != NULL);
        want += sizes[i];
    }
    CHECK_EQ(hf_stats_get(&s1), 0);
    CHECK_EQ(s1.live_requested - s0.live_requested, want);
    CHECK_EQ(s1.live_blocks - s0.live_blocks, N);
    CHECK_GE(s1.live_bytes - s0.live_bytes, want);
    CHECK_GE(s1.peak_live_requested, s1.live_requested);
    CHECK_GE(s1.peak_live_bytes, s1.live_bytes);
    CHECK_EQ(s1.callocs - s0.callocs, N / 4);
    CHECK_EQ(s1.aligned_allocs - s0.aligned_allocs, N / 4);
    CHECK_EQ(s1.reallocs - s0.reallocs, N / 4);
    CHECK_GE(s1.peak_committed, s1.committed);
    CHECK(s1.utilization > 0 && s1.utilization <= 1.0);
    uint64_t per_class = 0;
    for (unsigned k = 0; k < HF_STATS_CLASSES; k++) per_class += s1.class_live[k];
    CHECK_EQ(per_class, s1.live_blocks);
    CHECK(s1.class_live[HF_STATS_CLASSES - 1] >= N / 9); /* the 200 KB and 3 MB blocks */

    /* Half the blocks freed by another thread, the rest here. */
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, freer, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    for (unsigned i = 1; i < N; i += 2) hf_free(blocks[i]);
    CHECK_EQ(hf_stats_get(&s2), 0);
    CHECK_EQ(s2.live_requested, s0.live_requested);
    CHECK_EQ(s2.live_bytes, s0.live_bytes);
    CHECK_EQ(s2.live_blocks, s0.live_blocks);
    /* Peaks are exact while one thread runs (the growth above), within 16 KiB per thread
     * otherwise. */
    CHECK_GE(s2.peak_live_requested, s0.live_requested + want);
    CHECK_EQ(s2.frees - s0.frees, N);

#ifndef HF_TEST_SANITIZE /* the sanitizers' runtimes own the glibc names */
    /* malloc_info lists the blocks live per class in glibc's XML shape. */
    char *xml = NULL;
    size_t xml_len = 0;
    FILE *mem = open_memstream(&xml, &xml_len);
    CHECK(mem != NULL);
    CHECK_EQ(malloc_info(0, mem), 0);
    fclose(mem);
    CHECK(strstr(xml, "<size from=\"") != NULL); /* the stream itself is live */
    CHECK(strstr(xml, "</malloc>") != NULL);
    free(xml);
#endif
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "off") == 0) {
        hf_stats s;
        void *p = hf_malloc(100);
        CHECK_EQ(hf_stats_get(&s), 0);
        CHECK_EQ(s.instrumented, 0);
        CHECK_EQ(s.live_blocks, 0);
        CHECK(s.committed > 0);
        hf_free(p);
        return 0;
    }
    if (strcmp(mode, "leak") == 0) {
        static void *volatile keep[4];
        for (int i = 0; i < 3; i++) keep[i] = hf_malloc(1000);
        keep[3] = hf_malloc(77777);
        return keep[3] == NULL;
    }
    check_counts();
    if (strcmp(mode, "json") == 0 && argc > 2) {
        char small[8];
        size_t need = hf_stats_json(small, sizeof small);
        CHECK(need >= sizeof small);
        CHECK_EQ(strlen(small), sizeof small - 1);
        /* The malloc below changes the figures a little: leave room for that. */
        char *buf = hf_malloc(need + 4096);
        CHECK(buf != NULL);
        size_t len = hf_stats_json(buf, need + 4096);
        CHECK(len < need + 4096);
        CHECK_EQ(strlen(buf), len);
        FILE *f = fopen(argv[2], "w");
        CHECK(f != NULL);
        fputs(buf, f);
        fclose(f);
        hf_free(buf);
    }
    return 0;
}
