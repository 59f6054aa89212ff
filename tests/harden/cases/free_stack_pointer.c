/* harden: free_stack_pointer
 * level: 1
 * expect: heapforge: invalid free of 0x
 *
 * free of a local array. Level 0 ignores pointers it does not own (memory from before the library
 * loaded must stay harmless); from level 1 a pointer into the calling thread's stack is known to
 * be no heap block.
 */
#include "harden.h"

int main(void) {
    char buf[64];
    memset(buf, 1, sizeof buf);
    free(announce(buf));
    return buf[0] == 1 ? 0 : 1;
}
