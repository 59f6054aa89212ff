/* cache-thrash -- threads allocate, write and free their own small objects: active false
 * sharing when the allocator puts different threads' objects on one cache line. See
 * cache_bench.h.
 *
 * usage: bench-cache-thrash [scale [threads]]
 */
#include "cache_bench.h"

int main(int argc, char **argv) {
    return cache_main(argc, argv, "cache-thrash", 0);
}
