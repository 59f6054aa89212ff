/* cache-scratch -- like cache-thrash, but each thread's first object was allocated by the main
 * thread next to the other threads' first objects: passive false sharing when a freed block
 * comes back to the thread that freed it. See cache_bench.h.
 *
 * usage: bench-cache-scratch [scale [threads]]
 */
#include "cache_bench.h"

int main(int argc, char **argv) {
    return cache_main(argc, argv, "cache-scratch", 1);
}
