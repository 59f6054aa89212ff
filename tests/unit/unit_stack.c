/* unit_stack.c -- stack capture, the table of unique stacks and the in-process symbolizer
 * (src/callsite/): known call chains symbolize to their functions, equal stacks share an id,
 * threads, a signal handler, a forked child, a chain without frame pointers. */
#include "callsite/stack.h"
#include "../test_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <sys/wait.h>

unsigned nofp_a(unsigned depth); /* stack_nofp.c, built with -fomit-frame-pointer */

#define KEEP() __asm__ volatile("" ::: "memory") /* no tail call */
/* Functions that stay themselves: not inlined, not cloned for constant arguments. */
#ifdef __clang__
#define CHAIN __attribute__((noinline))
#else
#define CHAIN __attribute__((noinline, noclone))
#endif

/* True if frame i of stack id symbolizes to a name that starts with fn. */
static int frame_is(unsigned id, unsigned i, const char *fn) {
    uintptr_t pcs[HF_STACK_DEPTH];
    unsigned n = hfi_stack_frames(id, pcs, HF_STACK_DEPTH);
    if (i >= n) return 0;
    char line[256];
    hfi_symbol_format(pcs[i], line, sizeof line);
    return strncmp(line, fn, strlen(fn)) == 0 && line[strlen(fn)] == '+';
}

static void print_stack(const char *what, unsigned id) {
    uintptr_t pcs[HF_STACK_DEPTH];
    unsigned n = hfi_stack_frames(id, pcs, HF_STACK_DEPTH);
    fprintf(stderr, "%s: stack %u, %u frames\n", what, id, n);
    for (unsigned i = 0; i < n; i++) {
        char line[256];
        hfi_symbol_format(pcs[i], line, sizeof line);
        fprintf(stderr, "  #%u %s\n", i, line);
    }
}

CHAIN static unsigned chain_c(unsigned skip) {
    unsigned id = hfi_stack_capture(skip);
    KEEP();
    return id;
}
CHAIN static unsigned chain_b(unsigned skip) {
    unsigned id = chain_c(skip);
    KEEP();
    return id;
}
CHAIN static unsigned chain_a(unsigned skip) {
    unsigned id = chain_b(skip);
    KEEP();
    return id;
}
/* Every function's body differs from the others', or identical code folding (-fipa-icf) makes
 * them one function under one name. */
static _Atomic unsigned sink; /* atomic: threads run these chains at once (TSan) */
CHAIN static unsigned other_a(void) {
    unsigned id = chain_b(0);
    sink += 1;
    KEEP();
    return id;
}

static void test_known_chain(void) {
    unsigned id = chain_a(0);
    print_stack("chain_a", id);
    CHECK_NE(id, 0);
    CHECK(frame_is(id, 0, "chain_c"));
    CHECK(frame_is(id, 1, "chain_b"));
    CHECK(frame_is(id, 2, "chain_a"));
    CHECK(frame_is(id, 3, "test_known_chain"));
    unsigned skipped = chain_a(1);
    CHECK(frame_is(skipped, 0, "chain_b") && frame_is(skipped, 1, "chain_a"));
    /* a libc frame is named from libc's .dynsym, with its module */
    uintptr_t pcs[HF_STACK_DEPTH];
    unsigned n = hfi_stack_frames(id, pcs, HF_STACK_DEPTH);
    CHECK_GE(n, 5);
    char line[256];
    hfi_symbol_format(pcs[n - 1], line, sizeof line);
    CHECK(strstr(line, "libc.so.6+0x") != NULL || strstr(line, "unit_stack+0x") != NULL);
    CHECK(hfi_symbol_format(0, line, sizeof line) > 0 && strcmp(line, "0x0") == 0);
    CHECK_EQ(hfi_stack_frames(0, pcs, HF_STACK_DEPTH), 0);
    CHECK_EQ(hfi_stack_frames(HF_STACK_CAPACITY + 5, pcs, HF_STACK_DEPTH), 0);
}

/* Loop counts the compiler cannot see, so a loop is not unrolled into several call sites. */
static volatile int two = 2, four = 4;

static void test_same_and_different(void) {
    unsigned ids[4];
    for (int i = 0; i < four; i++) ids[i] = chain_a(0); /* one call site: one stack */
    CHECK(ids[0] == ids[1] && ids[1] == ids[2] && ids[2] == ids[3]);
    unsigned before = hfi_stack_count();
    CHECK_EQ(chain_a(0) == ids[0] ? 0 : 1, 1); /* another call site: the return address differs */
    unsigned others[2];
    for (int i = 0; i < two; i++) others[i] = other_a();
    unsigned other = others[0];
    CHECK_EQ(others[1], other);
    CHECK_NE(other, ids[0]);
    CHECK(frame_is(other, 2, "other_a"));
    CHECK_EQ(hfi_stack_count(), before + 2);
}

/* Threads capture the same chains at once: every thread gets the same ids. */
enum { THREADS = 8, ROUNDS = 20000 };
static unsigned thread_ids[THREADS][2];

CHAIN static unsigned site_one(void) {
    unsigned id = chain_a(0);
    KEEP();
    return id;
}
CHAIN static unsigned site_two(void) {
    unsigned id = chain_b(0);
    sink += 2;
    KEEP();
    return id;
}

/* One call site per stack: the first round records the ids, the others compare. */
CHAIN static void capture_round(unsigned t) {
    unsigned a = site_one(), b = site_two();
    CHECK(a != 0 && b != 0 && a != b);
    if (thread_ids[t][0] == 0) thread_ids[t][0] = a, thread_ids[t][1] = b;
    CHECK(a == thread_ids[t][0] && b == thread_ids[t][1]);
    KEEP();
}

static volatile int rounds = ROUNDS;
static void *capture_thread(void *arg) {
    for (int r = 0; r < rounds; r++) capture_round((unsigned)(uintptr_t)arg);
    return NULL;
}

static void test_threads(void) {
    pthread_t th[THREADS];
    unsigned before = hfi_stack_count();
    for (unsigned t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, capture_thread, (void *)(uintptr_t)t) == 0);
    for (unsigned t = 0; t < THREADS; t++) CHECK(pthread_join(th[t], NULL) == 0);
    for (unsigned t = 1; t < THREADS; t++) {
        CHECK_EQ(thread_ids[t][0], thread_ids[0][0]);
        CHECK_EQ(thread_ids[t][1], thread_ids[0][1]);
    }
    CHECK_EQ(hfi_stack_count(), before + 2);
    CHECK_EQ(hfi_stack_dropped(), 0);
}

/* A capture inside a signal handler sees the handler, the signal frame and the interrupted
 * code; a handler that interrupts a capture on its thread gets 0 (never a deadlock). */
static volatile unsigned handler_id;
static volatile sig_atomic_t handler_runs, handler_zeros;
static char handler_line[256];

CHAIN static void on_signal(int sig) {
    (void)sig;
    unsigned id = chain_c(0);
    if (id == 0)
        handler_zeros++;
    else
        handler_id = id;
    if (handler_runs++ == 0) {
        uintptr_t pc[1];
        if (hfi_stack_frames(id, pc, 1) == 1) hfi_symbol_format(pc[0], handler_line, 256);
    }
    KEEP();
}

CHAIN static void raise_here(void) {
    raise(SIGUSR1);
    KEEP();
}

static void test_signal_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    raise_here();
    print_stack("signal handler", handler_id);
    CHECK(handler_id != 0);
    CHECK(frame_is(handler_id, 0, "chain_c"));
    CHECK(frame_is(handler_id, 1, "on_signal"));
    CHECK(strncmp(handler_line, "chain_c+", 8) == 0);
    int seen = 0; /* the interrupted function, past the signal frame */
    for (unsigned i = 2; i < HF_STACK_DEPTH; i++) seen |= frame_is(handler_id, i, "raise_here");
    CHECK(seen);
    /* A profiling timer interrupts captures and symbolizations: handlers capture too. */
    CHECK(sigaction(SIGPROF, &sa, NULL) == 0);
    struct itimerval it = {{0, 200}, {0, 200}};
    CHECK(setitimer(ITIMER_PROF, &it, NULL) == 0);
    unsigned runs0 = (unsigned)handler_runs;
    char line[256];
    for (int i = 0; i < 100000 || (unsigned)handler_runs < runs0 + 20; i++) {
        unsigned id = site_one();
        CHECK(id != 0);
        if (i % 64 == 0) hfi_symbol_format((uintptr_t)&site_one + 1, line, sizeof line);
    }
    memset(&it, 0, sizeof it);
    CHECK(setitimer(ITIMER_PROF, &it, NULL) == 0);
    signal(SIGPROF, SIG_IGN);
    fprintf(stderr, "profiling signals: %d, %d of them inside a capture (id 0)\n",
            (int)handler_runs - (int)runs0, (int)handler_zeros);
}

/* A forked child captures and symbolizes while another thread of the parent was busy. */
static atomic_bool stop_spinner;
static void *spinner(void *arg) {
    (void)arg;
    char line[128];
    while (!atomic_load(&stop_spinner)) {
        site_two();
        hfi_symbol_format((uintptr_t)&site_two + 1, line, sizeof line);
    }
    return NULL;
}

static void test_fork(void) {
    pthread_t th;
    CHECK(pthread_create(&th, NULL, spinner, NULL) == 0);
    for (int round = 0; round < 20; round++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            unsigned id = other_a(), fresh = chain_a(0);
            _exit(id != 0 && fresh != 0 && frame_is(id, 2, "other_a") &&
                          frame_is(fresh, 0, "chain_c")
                      ? 0
                      : 1);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&stop_spinner, true);
    CHECK(pthread_join(th, NULL) == 0);
}

CHAIN static void test_no_frame_pointers(void) {
    unsigned id = nofp_a(0);
    print_stack("-fomit-frame-pointer chain", id);
    CHECK(frame_is(id, 0, "nofp_c") && frame_is(id, 1, "nofp_b") && frame_is(id, 2, "nofp_a"));
    CHECK(frame_is(id, 3, "test_no_frame_pointers"));
    KEEP();
}

/* The depth limit: a deep recursion keeps HF_STACK_DEPTH frames. */
CHAIN static unsigned deep(unsigned n) {
    unsigned id = n == 0 ? hfi_stack_capture(0) : deep(n - 1);
    KEEP();
    return id;
}

static void test_depth_limit(void) {
    uintptr_t pcs[HF_STACK_DEPTH + 4];
    unsigned id = deep(40);
    CHECK_EQ(hfi_stack_frames(id, pcs, HF_STACK_DEPTH + 4), HF_STACK_DEPTH);
    for (unsigned i = 0; i < HF_STACK_DEPTH; i++) CHECK(frame_is(id, i, "deep"));
    CHECK_EQ(hfi_stack_frames(id, pcs, 3), 3);
}

int main(void) {
    CHECK_EQ(hfi_stack_capture(0), 0); /* refused before the warm-up */
    CHECK(hfi_stack_init());
    CHECK(hfi_stack_init());
    test_known_chain();
    test_same_and_different();
    test_no_frame_pointers();
    test_depth_limit();
    test_threads();
    test_signal_handler();
    test_fork();
    printf("unit_stack: all passed (%u stacks)\n", hfi_stack_count());
    return 0;
}
