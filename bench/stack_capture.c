/* stack_capture.c -- ns per stack capture at depths 8 and 16 over a -O2 -fomit-frame-pointer
 * call chain: libgcc's _Unwind_Backtrace, libunwind's unw_backtrace, a frame-pointer walk
 * (over a chain built with frame pointers, since without them it walks garbage) and
 * hfi_stack_capture (libgcc's unwinder plus the table). Not in the CMake build (it needs
 * libunwind-dev for its row, and libunwind.so also defines _Unwind_Backtrace, so link it
 * only for that row); build by hand:
 *   gcc -O2 -fomit-frame-pointer -D_GNU_SOURCE -Isrc -Iinclude bench/stack_capture.c \
 *       -o stack_capture build/release/libheapforge.a -lpthread   (-DHAVE_LIBUNWIND ... -lunwind)
 *   gcc ... -fno-omit-frame-pointer -DFP_CHAIN  (the frame-pointer walk's own chain) */
#include "callsite/stack.h"

#ifdef HAVE_LIBUNWIND
#include <libunwind.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unwind.h>

enum { ROUNDS = 200000 };
static volatile unsigned sink;
static unsigned want;
static void *buf[32];

typedef unsigned (*capture_fn)(void);

struct walk {
    unsigned n;
};
static _Unwind_Reason_Code one(struct _Unwind_Context *c, void *a) {
    struct walk *w = a;
    buf[w->n] = (void *)_Unwind_GetIP(c);
    return ++w->n >= want ? _URC_END_OF_STACK : _URC_NO_REASON;
}
static unsigned cap_libgcc(void) {
    struct walk w = {0};
    _Unwind_Backtrace(one, &w);
    return w.n;
}
static unsigned cap_libunwind(void) {
#ifdef HAVE_LIBUNWIND
    return (unsigned)unw_backtrace(buf, (int)want);
#else
    return 0;
#endif
}
static unsigned cap_fp(void) {
    uintptr_t *fp = __builtin_frame_address(0);
    unsigned n = 0;
    while (n < want && fp != NULL) {
        buf[n++] = (void *)fp[1];
        uintptr_t *up = (uintptr_t *)fp[0];
        if (up <= fp) break;
        fp = up;
    }
    return n;
}
static unsigned cap_heapforge(void) {
    return hfi_stack_capture(0);
}

__attribute__((noinline)) static unsigned chain(unsigned d, capture_fn f) {
    unsigned r = d == 0 ? f() : chain(d - 1, f);
    sink += r + d;
    return r;
}

static double measure(capture_fn f, unsigned depth) {
    want = depth;
    chain(depth + 4, f);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < ROUNDS; i++) chain(depth + 4, f);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / ROUNDS;
}

int main(void) {
    hfi_stack_init();
    const char *names[] = {"libgcc _Unwind_Backtrace", "libunwind unw_backtrace",
                           "frame-pointer walk", "hfi_stack_capture"};
    capture_fn fns[] = {cap_libgcc, cap_libunwind, cap_fp, cap_heapforge};
    for (int k = 0; k < 4; k++)
        printf("%-26s depth 8: %7.1f ns   depth 16: %7.1f ns\n", names[k], measure(fns[k], 8),
               measure(fns[k], 16));
    return 0;
}
