/* harden: fault_null_read
 * level: 0
 * expect: SIGSEGV quiet
 *
 * A negative control: a read of address 0 is not on heapforge's memory, so the process dies of
 * the plain SIGSEGV at every level, the fault handler (levels 2-3) passing it on silently.
 */
#include "harden.h"

int main(void) {
    char c = ((volatile char *)launder(NULL))[0];
    return c;
}
