/* harden.h -- the few helpers every misuse program shares.
 *
 * A case is a tiny program that commits one heap misuse through the standard libc API only, so
 * the same binary runs on glibc and, through LD_PRELOAD, on heapforge. Its header comment says
 * from which HEAPFORGE_SECURE level heapforge must catch it and how (tests/harden/run.py).
 *
 * Before the fatal call a case announces the pointer it passes ("pointer 0x..." on stdout), so
 * the runner can check that the report names exactly that pointer. The programs are built with
 * -fno-builtin and pass every pointer through a volatile, so the compiler can neither fold a
 * malloc/free pair away nor see (and warn about) the misuse.
 *
 * Exit status when the program survives its misuse: 0 (the misuse went unnoticed and had its
 * effect), HARDEN_MITIGATED (unnoticed but without effect, e.g. freed memory read as zeros),
 * HARDEN_UNAVAILABLE (the libc lacks a function the case needs), HARDEN_SETUP (an allocation
 * failed before the misuse). */
#ifndef HF_HARDEN_H
#define HF_HARDEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HARDEN_SETUP       2
#define HARDEN_UNAVAILABLE 3
#define HARDEN_MITIGATED   4

static void *volatile harden_sink;

/* The compiler cannot know what comes back: no folding, no -Wfree-nonheap-object. */
static inline void *launder(void *p) {
    harden_sink = p;
    return harden_sink;
}

static inline void *announce(void *p) {
    char line[64];
    int n = snprintf(line, sizeof line, "pointer %p\n", p);
    if (write(1, line, (size_t)n) != n) _exit(HARDEN_SETUP);
    return launder(p);
}

/* Before a fault the handler must explain: the block, its size, the offset of the access from
 * the block, that address and the calling thread, so the runner can check the report line. */
static inline void *announce_fault(void *p, size_t size, size_t offset) {
    char line[256];
    int n =
        snprintf(line, sizeof line, "pointer %p\nsize %zu\noffset %zu\naddress %p\nthread %ld\n", p,
                 size, offset, (void *)((char *)p + offset), (long)syscall(SYS_gettid));
    if (write(1, line, (size_t)n) != n) _exit(HARDEN_SETUP);
    return launder(p);
}

/* A line on stdout from a signal handler (write is async-signal-safe). */
static inline void say_stdout(const char *s) {
    if (write(1, s, strlen(s)) < 0) _exit(HARDEN_SETUP);
}

static inline void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (p == NULL) _exit(HARDEN_SETUP);
    return launder(p);
}

/* C23's sized frees are not in this glibc: weak references, NULL unless the allocator in the
 * process (heapforge, preloaded) defines them. */
void free_sized(void *p, size_t size) __attribute__((weak));
void free_aligned_sized(void *p, size_t alignment, size_t size) __attribute__((weak));
size_t malloc_usable_size(void *p);

#endif /* HF_HARDEN_H */
