/* fuzz_fast -- the fast allocator against a shadow model.
 *
 * Each input is a program: a sequence of operations (malloc, calloc, realloc, aligned_alloc,
 * posix_memalign, free, free_sized, free_aligned_sized, realloc to 0, trim, a usable-size
 * probe) on 64 slots, through the hf_* API. The model keeps for every live block its requested
 * size, alignment, usable size and an id; each block is filled with its id's pattern over its
 * whole usable size. After every operation the model checks what the API promises:
 *   - alignment (16 at least, the requested one for the aligned calls);
 *   - hf_usable_size >= requested, and all usable bytes writable (the fill writes them);
 *   - no two live blocks overlap (usable ranges compared with every live block);
 *   - contents kept: a block verifies its whole pattern when freed or reallocated, and realloc
 *     keeps the first min(old, new) requested bytes;
 *   - calloc memory reads as zeros;
 *   - hf_owns is true for a live block and its usable size does not change while it lives.
 * Every live block is freed (and verified) at the end of each input, so inputs are independent
 * as far as the model is concerned; the allocator's state carries over, as in a real program.
 *
 * A second thread, the helper, is created on first use and runs operations on request: the
 * fuzzing thread posts one and waits until it is done, so only one thread calls the allocator
 * at a time and the model stays exact. Its blocks are another heap's for the fuzzing thread
 * (and the other way round), so frees between them reach the cross-thread paths: the return of
 * a block to its owner's page (thread_free) and the foreign blocks a heap keeps for its own
 * mallocs (src/foreign.c). Operation codes (the first byte % 16):
 *   0..11  malloc, calloc, realloc, aligned_alloc, posix_memalign, free, free_sized,
 *          free_aligned_sized or realloc to 0, probe, trim -- on the fuzzing thread;
 *   12     one of those (next byte % 12) on the helper, sizes mostly <= 8 KiB (the classes
 *          whose freed foreign blocks are kept);
 *   13     one of those on the fuzzing thread, sizes mostly <= 8 KiB;
 *   14     helper control: restart it (its heap is torn down: kept blocks go back, segments
 *          are abandoned), hf_trim(0) on it, or a malloc and free of a size on either thread
 *          (a heap keeps blocks of a class only once it allocated the class itself);
 *   15     a batch: up to 32 consecutive slots allocated (one size) or freed on either thread.
 * After every operation of codes 12..15 and at the end of each input, the heap validator
 * (hfi_heap_is_valid: page queues, kept blocks marked free and counted) runs on the heap of
 * the thread that ran it. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz_util.h"
#include "heapforge.h"

#define HUGE_MIN (32 * FUZZ_MIB)

static fuzz_block slots[FUZZ_SLOTS];
static uint64_t next_id;
static unsigned huge_live; /* at most one huge block at a time keeps the RSS bounded */
static bool small_bias;    /* sizes of the operation being run: mostly small classes */

/* The library's heap validator (src/heap.c), as tests/unit/unit_core.c calls it. */
struct hf_heap;
extern __thread __attribute__((tls_model("initial-exec"))) struct hf_heap *hfi_tl_heap;
bool hfi_heap_is_valid(const struct hf_heap *heap, const char **why);

static void check_heap(const char *when) {
    const char *why = "unknown";
    FUZZ_CHECK(hfi_heap_is_valid(hfi_tl_heap, &why), "%s: heap invalid: %s", when, why);
}

/* A request size. The codes added for the helper draw mostly from the small classes (up to
 * 8 KiB, 64 KiB pages), where foreign blocks are kept; the others keep fuzz_size's mix. */
static size_t op_size(fuzz_input *in) {
    if (!small_bias) return fuzz_size(in, huge_live == 0);
    uint32_t kind = fuzz_u8(in) % 8;
    if (kind < 3) return fuzz_u16(in) % (FUZZ_KIB + 1);
    if (kind < 6) return 1 + fuzz_u16(in) % (8 * FUZZ_KIB);
    if (kind < 7) return (size_t)16 << (fuzz_u8(in) % 10); /* a class size, 16 B .. 8 KiB */
    return fuzz_size(in, huge_live == 0);
}

static void adopt(int i, void *p, size_t req, size_t align, int zeroed) {
    FUZZ_CHECK(p != NULL, "allocation of %zu bytes (align %zu) failed", req, align);
    FUZZ_CHECK(hf_owns(p), "hf_owns(%p) is 0 for a live block", p);
    fuzz_block_adopt(slots, i, p, req, align, hf_usable_size(p), zeroed, next_id++);
    if (req >= HUGE_MIN) huge_live++;
}

static void forget(fuzz_block *b) {
    if (b->req >= HUGE_MIN) huge_live--;
    memset(b, 0, sizeof *b);
}

static void check_live(const fuzz_block *b, const char *when) {
    size_t now = hf_usable_size(b->p);
    FUZZ_CHECK(now == b->usable, "%s: usable size of %p changed from %zu to %zu", when,
               (void *)b->p, b->usable, now);
    fuzz_block_verify(b, b->usable, when);
}

enum { FREE_PLAIN, FREE_SIZED, FREE_ALIGNED_SIZED, FREE_REALLOC0 };

static void release(int i, int how) {
    fuzz_block *b = &slots[i];
    if (b->p == NULL) return;
    check_live(b, "before free");
    switch (how) {
    case FREE_SIZED:
        hf_free_sized(b->p, b->req);
        break;
    case FREE_ALIGNED_SIZED:
        hf_free_aligned_sized(b->p, b->align, b->req);
        break;
    case FREE_REALLOC0:
        FUZZ_CHECK(hf_realloc(b->p, 0) == NULL, "realloc(%p, 0) returned a block", (void *)b->p);
        break;
    default:
        hf_free(b->p);
        break;
    }
    forget(b);
}

static void do_realloc(fuzz_input *in, int i) {
    fuzz_block *b = &slots[i];
    size_t n = op_size(in);
    if (b->p == NULL) {
        adopt(i, hf_realloc(NULL, n), n, 16, 0);
        return;
    }
    check_live(b, "before realloc");
    fuzz_block old = *b;
    void *q = hf_realloc(b->p, n);
    if (n == 0) { /* glibc semantics: freed, NULL returned */
        FUZZ_CHECK(q == NULL, "realloc(%p, 0) returned %p", (void *)old.p, q);
        forget(b);
        return;
    }
    FUZZ_CHECK(q != NULL, "realloc of %p from %zu to %zu failed", (void *)old.p, old.req, n);
    size_t keep = old.req < n ? old.req : n;
    size_t bad = fuzz_verify(q, old.usable, keep, old.id);
    FUZZ_CHECK(bad == (size_t)-1, "realloc %p -> %p (%zu -> %zu) lost byte %zu", (void *)old.p, q,
               old.req, n, bad);
    forget(b);
    adopt(i, q, n, 16, 0);
}

/* A block used and freed at once by the running thread (malloc then free of n bytes): checked
 * like a live one, not kept in the model. Opens n's class for the thread's heap. */
static void warm(size_t n) {
    unsigned char *p = hf_malloc(n);
    FUZZ_CHECK(p != NULL, "allocation of %zu bytes failed", n);
    FUZZ_CHECK(hf_owns(p) && (uintptr_t)p % 16 == 0, "scratch block %p", (void *)p);
    size_t usable = hf_usable_size(p);
    FUZZ_CHECK(usable >= n && usable >= 1, "usable size %zu < requested %zu of %p", usable, n,
               (void *)p);
    for (int j = 0; j < FUZZ_SLOTS; j++)
        if (slots[j].p)
            FUZZ_CHECK(!fuzz_overlap(p, usable, slots[j].p, slots[j].usable),
                       "scratch block %p+%zu overlaps live block %p+%zu", (void *)p, usable,
                       (void *)slots[j].p, slots[j].usable);
    memset(p, 0xA5, usable);
    hf_free(p);
}

/* Operation op (0..11) on slot i, on the calling thread. */
static void run_op(fuzz_input *in, uint32_t op, int i) {
    switch (op) {
    case 0:
    case 1: {
        release(i, FREE_PLAIN);
        size_t n = op_size(in);
        adopt(i, hf_malloc(n), n, 16, 0);
        break;
    }
    case 2: {
        release(i, FREE_PLAIN);
        size_t count = 1 + fuzz_u8(in) % 8, n = op_size(in) / count;
        adopt(i, hf_calloc(count, n), count * n, 16, 1);
        break;
    }
    case 3:
        do_realloc(in, i);
        break;
    case 4: {
        release(i, FREE_PLAIN);
        size_t align = fuzz_align(in, 16);
        size_t n = op_size(in);
        adopt(i, hf_aligned_alloc(align, n), n, align, 0);
        break;
    }
    case 5: {
        release(i, FREE_PLAIN);
        size_t align = fuzz_align(in, 16);
        size_t n = op_size(in);
        void *p = NULL;
        int rc = hf_posix_memalign(&p, align, n);
        FUZZ_CHECK(rc == 0, "posix_memalign(%zu, %zu) returned %d", align, n, rc);
        adopt(i, p, n, align, 0);
        break;
    }
    case 6:
    case 7:
        release(i, FREE_PLAIN);
        break;
    case 8:
        release(i, FREE_SIZED);
        break;
    case 9:
        release(i, fuzz_u8(in) & 1 ? FREE_ALIGNED_SIZED : FREE_REALLOC0);
        break;
    case 10:
        if (slots[i].p) check_live(&slots[i], "probe");
        break;
    default:
        if (fuzz_u8(in) < 8) hf_trim(0);
        break;
    }
}

/* Up to 32 consecutive slots from i: allocated with one size up to 128 KiB (malloc or calloc), or
 * freed (each after a malloc and free of its size by the freeing thread, when warm is set). */
enum { BATCH_MALLOC, BATCH_CALLOC, BATCH_FREE, BATCH_WARM_FREE };

static void run_batch(fuzz_input *in, int what, int count, int i) {
    size_t n = what <= BATCH_CALLOC ? op_size(in) : 0;
    if (n > 128 * FUZZ_KIB) n %= 128 * FUZZ_KIB + 1; /* 32 large blocks would take 128 MiB */
    for (int k = 0; k < count; k++) {
        int j = (i + k) % FUZZ_SLOTS;
        if (what == BATCH_MALLOC || what == BATCH_CALLOC) release(j, FREE_PLAIN);
        if (what == BATCH_MALLOC) adopt(j, hf_malloc(n), n, 16, 0);
        if (what == BATCH_CALLOC) adopt(j, hf_calloc(1, n), n, 16, 1);
        if (what == BATCH_WARM_FREE && slots[j].p) warm(slots[j].req);
        if (what >= BATCH_FREE) release(j, FREE_PLAIN);
    }
}

/* ---- The helper thread -------------------------------------------------------------------- */
/* One request at a time, run to completion while the poster waits: a mutex and a condition
 * variable order everything the helper does between the poster's calls. */
typedef struct request {
    enum { REQ_OP, REQ_BATCH, REQ_WARM, REQ_TRIM, REQ_CHECK, REQ_EXIT } kind;
    fuzz_input *in;
    uint32_t op;
    int slot, count;
    size_t n;
} request;

static pthread_mutex_t helper_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t helper_cv = PTHREAD_COND_INITIALIZER;
static pthread_t helper;
static bool helper_up;
static enum { IDLE, POSTED, DONE } helper_state;
static request helper_req;

/* Runs r on the calling thread (the fuzzing thread or the helper). */
static void run_request(const request *r) {
    switch (r->kind) {
    case REQ_OP:
        run_op(r->in, r->op, r->slot);
        break;
    case REQ_BATCH:
        run_batch(r->in, (int)r->op, r->count, r->slot);
        break;
    case REQ_WARM:
        warm(r->n);
        break;
    case REQ_TRIM:
        hf_trim(0);
        break;
    case REQ_CHECK:
    case REQ_EXIT:
        break;
    }
    check_heap("after an operation");
}

static void *helper_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&helper_mu);
        while (helper_state != POSTED) pthread_cond_wait(&helper_cv, &helper_mu);
        request r = helper_req;
        pthread_mutex_unlock(&helper_mu);
        if (r.kind == REQ_EXIT) return NULL; /* the heap is torn down at thread exit */
        run_request(&r);
        pthread_mutex_lock(&helper_mu);
        helper_state = DONE;
        pthread_cond_signal(&helper_cv);
        pthread_mutex_unlock(&helper_mu);
    }
}

static void post(const request *r) {
    pthread_mutex_lock(&helper_mu);
    helper_req = *r;
    helper_state = POSTED;
    pthread_cond_signal(&helper_cv);
    pthread_mutex_unlock(&helper_mu);
}

/* Runs r on the helper, started first if there is none, and waits for it to finish. */
static void on_helper(const request *r) {
    if (!helper_up) {
        int rc = pthread_create(&helper, NULL, helper_main, NULL);
        FUZZ_CHECK(rc == 0, "pthread_create returned %d", rc);
        helper_up = true;
    }
    post(r);
    pthread_mutex_lock(&helper_mu);
    while (helper_state != DONE) pthread_cond_wait(&helper_cv, &helper_mu);
    helper_state = IDLE;
    pthread_mutex_unlock(&helper_mu);
}

/* The helper exits (its kept blocks go back to their owners, its segments are abandoned for
 * other heaps to reclaim); the next request starts a new one. */
static void helper_restart(void) {
    if (!helper_up) return;
    request r = {.kind = REQ_EXIT};
    post(&r);
    int rc = pthread_join(helper, NULL);
    FUZZ_CHECK(rc == 0, "pthread_join returned %d", rc);
    helper_state = IDLE;
    helper_up = false;
}

static void run(const request *r, bool remote) {
    if (remote)
        on_helper(r);
    else
        run_request(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in = {data, size, 0};
    while (fuzz_more(&in)) {
        uint32_t op = fuzz_u8(&in) % 16;
        int i = (int)(fuzz_u8(&in) % FUZZ_SLOTS);
        if (op < 12) {
            run_op(&in, op, i);
            continue;
        }
        small_bias = true;
        request r = {.kind = REQ_OP, .in = &in, .slot = i};
        switch (op) {
        case 12:
        case 13:
            r.op = fuzz_u8(&in) % 12;
            run(&r, op == 12);
            break;
        case 14: {
            uint32_t sub = fuzz_u8(&in) % 4;
            if (sub == 0) {
                helper_restart();
            } else if (sub == 1) {
                r.kind = REQ_TRIM;
                run(&r, true);
            } else {
                r.kind = REQ_WARM;
                r.n = op_size(&in);
                run(&r, sub == 2);
            }
            break;
        }
        default: {
            uint32_t f = fuzz_u8(&in);
            r.kind = REQ_BATCH;
            r.op = (f >> 1) & 3;
            r.count = 1 + (int)(f >> 3);
            run(&r, f & 1);
            break;
        }
        }
        small_bias = false;
    }
    for (int i = 0; i < FUZZ_SLOTS; i++) release(i, FREE_PLAIN);
    check_heap("at the end");
    if (helper_up) {
        request r = {.kind = REQ_CHECK};
        on_helper(&r);
    }
    return 0;
}
