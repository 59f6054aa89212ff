/* prim/file.c -- read-only file mappings: the in-process symbolizer (callsite/symbol.c) reads
 * ELF symbol tables from the modules' files without allocating. System calls only, as the rest
 * of prim/. */
#include "internal/internal.h"
#include "callsite/stack.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { HF_MAP_FILE_MAX = 1 << 30 }; /* a symbol table past 1 GiB of file is not worth mapping */

const void *hfi_prim_map_file(const char *path, size_t *size) {
    int saved = errno;
    void *p = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            st.st_size <= HF_MAP_FILE_MAX) {
            p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED)
                p = NULL;
            else
                *size = (size_t)st.st_size;
        }
        close(fd);
    }
    errno = saved;
    return p;
}
