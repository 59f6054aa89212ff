/* init.c -- process start-up, fork and exit.
 *
 * The first malloc may come from the dynamic loader, before any constructor has run: process
 * set-up therefore happens lazily on the first slow path and allocates nothing (the secret, the
 * options, the thread-exit key). The constructor re-reads the options once `environ` exists and
 * registers the fork handlers; the destructor prints statistics when asked to. */
#include "internal/internal.h"

#include <pthread.h>

static atomic_int init_state; /* 0 not started, 1 running, 2 done */

/* Only a HEAPFORGE_POLICY run needs the lab: the test here keeps its code pages untouched. */
static void lab_policy_init(void) {
    if (hfi_options_policy != NULL && hfi_options_policy[0] != 0) hfi_lab_policy_init();
}

/* A thread exits (the heap key's destructor): its trace buffer and its held-back counts go
 * first, then the heap itself (heap.c). */
static void thread_exit(void *arg) {
    hf_heap *h = arg;
    if (h == NULL || h == &hfi_heap_empty) return;
    if (hfi_hooks & HF_HOOK_TRACE) hfi_trace_thread_done();
    if (hfi_hooks != 0) hfi_instrument_thread_done(h);
    hfi_heap_thread_done(h);
}

void hfi_process_init(void) {
    if (HF_LIKELY(atomic_load_explicit(&init_state, memory_order_acquire) == 2)) return;
    int expected = 0;
    if (atomic_compare_exchange_strong(&init_state, &expected, 1)) {
        hfi_secret = (uintptr_t)hfi_prim_random_seed() | 1;
        (void)hfi_now_ms(); /* fix the clock origin (one of the clock's direct syscalls) */
        if (hfi_options_init()) hfi_instrument_init();
        lab_policy_init();
        hfi_heap_process_init(thread_exit);
        atomic_store_explicit(&init_state, 2, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&init_state, memory_order_acquire) != 2) hfi_prim_yield();
}

/* fork: hold every global lock across the fork so the child gets them in a known state, in
 * glibc's order and never twice.
 * - Order: stdio's FILE-list lock first. glibc's fork takes it after the atfork prepare
 *   handlers (recursively, so our hold does not block it), and a thread inside getline holds
 *   its FILE's lock while it reallocs: taking ours first closes the cycle of glibc bug 19431
 *   (we hold the span lock and wait for the list; fflush(NULL) holds the list and waits for the
 *   FILE; getline holds the FILE and waits for the span lock).
 * - A process that never made a thread takes nothing, as glibc's fork does: no other thread
 *   can be inside the allocator, and fork is async-signal-safe there, so a fork from a signal
 *   handler that interrupted malloc or a fork must not wait for the locks the interrupted code
 *   holds. A fork nested in a fork on the same thread (a signal handler again) takes nothing
 *   either: the outer one already holds everything.
 * The child resets every lock whatever the parent took: it has one thread (a fork nested in
 * a prepare handler leaves a child that finishes the outer fork, whose handler then releases
 * locks that are already free: harmless). */
static HF_TLS unsigned tl_fork_depth; /* forks of this thread between prepare and parent/child */
static HF_TLS bool tl_fork_locked;    /* the outermost of them took the locks */

static void fork_prepare(void) {
    if (tl_fork_depth++ != 0 || hfi_prim_single_threaded()) return;
    tl_fork_locked = true;
    hfi_prim_stdio_fork(0);
    hfi_lab_fork_prepare();
    hfi_trace_fork_prepare();
    hfi_quarantine_fork_prepare();
    hfi_blockmap_fork_prepare();
    hfi_heap_fork_prepare();
    hfi_segment_fork_prepare();
    hfi_span_fork_prepare();
}
static void fork_parent(void) {
    bool locked = --tl_fork_depth == 0 && tl_fork_locked;
    if (!locked) return;
    tl_fork_locked = false;
    hfi_span_fork_parent();
    hfi_segment_fork_parent();
    hfi_heap_fork_parent();
    hfi_blockmap_fork_parent();
    hfi_trace_fork_parent();
    hfi_quarantine_fork_parent();
    hfi_lab_fork_parent();
    hfi_prim_stdio_fork(1);
}
static void fork_child(void) {
    if (--tl_fork_depth == 0) tl_fork_locked = false; /* else an outer fork goes on here */
    hfi_span_fork_child();
    hfi_segment_fork_child();
    hfi_heap_fork_child();
    hfi_blockmap_fork_child();
    hfi_trace_fork_child();
    hfi_quarantine_fork_child();
    hfi_lab_fork_child();
    hfi_prim_stdio_fork(2);
}

__attribute__((constructor(101))) static void hf_constructor(void) {
    hfi_process_init();
    if (hfi_options_init()) hfi_instrument_init(); /* again, now that environ exists */
    lab_policy_init();
    /* Registered at once, not when a second thread first takes a lock: deferring it saved
     * ~30 resident libc pages but let a fork slip between a thread's start and the
     * registration under an interposed pthread_atfork (lab_fork hung under TSan). */
    hfi_prim_atfork(fork_prepare, fork_parent, fork_child);
    if (hfi_lab_process_policy == 0) (void)hfi_heap_get();       /* the main thread's static heap */
    if (hfi_secure >= HF_SECURE_SHUFFLE) hfi_fault_init();       /* protected memory: explain */
    if (hfi_secure >= HF_SECURE_QUARANTINE) hfi_settings_seal(); /* start-up is complete */
}

/* The exit hooks live in files no plain run touches (text far from the hot code): test their
 * switches here, so a plain run does not fault their code pages in just to return. */
__attribute__((destructor(101))) static void hf_destructor(void) {
    if (hfi_secure != 0) hfi_secure_exit();
    if (hfi_options.stats || hfi_options.leaks) hfi_stats_exit();
    if (hfi_hooks & HF_HOOK_TRACE) hfi_trace_finish();
}
