/* unit_stack_nomalloc.c -- stack capture and symbolization never call malloc. The program
 * defines the allocation functions itself (counting, then forwarding to glibc's), so every
 * allocation in the process -- by libc, the loader, the unwinder -- is counted; the library's
 * malloc is not linked in (the test links only the callsite objects' part of libheapforge.a). */
#include "callsite/stack.h"
#include "../test_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_long calls;

void *malloc(size_t n) {
    atomic_fetch_add(&calls, 1);
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m) {
    atomic_fetch_add(&calls, 1);
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n) {
    atomic_fetch_add(&calls, 1);
    return __libc_realloc(p, n);
}
void *memalign(size_t a, size_t n) {
    atomic_fetch_add(&calls, 1);
    return __libc_memalign(a, n);
}
int posix_memalign(void **r, size_t a, size_t n) {
    atomic_fetch_add(&calls, 1);
    *r = __libc_memalign(a, n);
    return *r ? 0 : 12;
}
void *aligned_alloc(size_t a, size_t n) {
    atomic_fetch_add(&calls, 1);
    return __libc_memalign(a, n);
}
void free(void *p) {
    if (p) atomic_fetch_add(&calls, 1);
    __libc_free(p);
}

#define KEEP() __asm__ volatile("" ::: "memory")
__attribute__((noinline)) static unsigned level2(void) {
    unsigned id = hfi_stack_capture(0);
    KEEP();
    return id;
}
__attribute__((noinline)) static unsigned level1(int i) {
    unsigned id = i % 2 ? level2() : hfi_stack_capture(0);
    KEEP();
    return id;
}

static char lines[HF_STACK_DEPTH][256];

/* Capture and symbolize every frame; the number of allocations made meanwhile. */
static long capture_and_format(void) {
    long before = atomic_load(&calls);
    for (int i = 0; i < 100; i++) {
        unsigned id = level1(i);
        CHECK(id != 0);
        uintptr_t pcs[HF_STACK_DEPTH];
        unsigned n = hfi_stack_frames(id, pcs, HF_STACK_DEPTH);
        for (unsigned k = 0; k < n; k++) hfi_symbol_format(pcs[k], lines[k], sizeof lines[k]);
    }
    return atomic_load(&calls) - before;
}

static void *thread_main(void *arg) {
    *(long *)arg = capture_and_format();
    return NULL;
}

static volatile long in_handler = -1;
static void on_signal(int sig) {
    (void)sig;
    in_handler = capture_and_format();
}

int main(void) {
    long before = atomic_load(&calls);
    CHECK(hfi_stack_init());
    long init = atomic_load(&calls) - before;
    long first = capture_and_format(); /* maps the modules' files: the first symbolization */
    long again = capture_and_format();
    long in_thread = -1;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, thread_main, &in_thread) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(capture_and_format() == 0 ? 0 : 1);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    printf("allocations: init %ld, first %ld, again %ld, thread %ld, handler %ld\n", init, first,
           again, in_thread, in_handler);
    printf("a frame: %s\n", lines[0]);
    CHECK(strncmp(lines[0], "level", 5) == 0 || strncmp(lines[0], "capture", 7) == 0);
    CHECK_EQ(init, 0);
    CHECK_EQ(first, 0);
    CHECK_EQ(again, 0);
    CHECK_EQ(in_thread, 0);
    CHECK_EQ(in_handler, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("unit_stack_nomalloc: all passed\n");
    return 0;
}
