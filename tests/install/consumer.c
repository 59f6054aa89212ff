/* A program built against an installed heapforge, through CMake's find_package or pkg-config. */
#include <heapforge.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    char *p = hf_malloc(100);
    if (p == NULL || !hf_owns(p)) return 1;
    strcpy(p, "installed heapforge works");
    puts(p);
    hf_free(p);
    return 0;
}
