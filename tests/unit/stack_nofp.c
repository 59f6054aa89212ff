/* stack_nofp.c -- a call chain built with -O2 -fomit-frame-pointer (tests/unit/CMakeLists.txt),
 * as Debian builds python3, sqlite3, git and gcc: the unwinder must walk it from .eh_frame. */
#include "callsite/stack.h"

unsigned nofp_a(unsigned depth);
unsigned nofp_b(unsigned depth);
unsigned nofp_c(unsigned depth);

/* Each function keeps live values across its call, so the compiler uses the stack and rbp as
 * it likes; the volatile sink keeps the calls from becoming tail calls. */
static volatile unsigned nofp_sink;

__attribute__((noinline)) unsigned nofp_c(unsigned depth) {
    unsigned id = hfi_stack_capture(0);
    nofp_sink += depth;
    return id;
}

__attribute__((noinline)) unsigned nofp_b(unsigned depth) {
    unsigned x = depth * 7 + nofp_sink, y = depth ^ 0x55;
    unsigned id = nofp_c(depth + 1);
    nofp_sink += x + y;
    return id;
}

__attribute__((noinline)) unsigned nofp_a(unsigned depth) {
    unsigned x = depth * 3 + nofp_sink;
    unsigned id = nofp_b(depth + 1);
    nofp_sink += x;
    return id;
}
