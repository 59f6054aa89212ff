/* clock.c -- the library's millisecond clock: time since start-up, for the delays of the
 * purges and the caches. One call to the OS clock (prim), no lock. */
#include "internal/internal.h"

static uint64_t clock_origin;

uint64_t hfi_now_ms(void) {
    uint64_t t = hfi_prim_clock_ms();
    if (clock_origin == 0) clock_origin = t - 1;
    return t - clock_origin;
}
