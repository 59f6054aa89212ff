/* harden: free_global_pointer
 * level: 1
 * expect: heapforge: invalid free of 0x
 *
 * free of a static array of the program. Ignored at level 0 (foreign); from level 1 the program's
 * own data and bss segments are known to hold no heap block.
 */
#include "harden.h"

int main(void) {
    static char buf[64];
    memset(buf, 1, sizeof buf);
    free(announce(buf));
    return 0;
}
