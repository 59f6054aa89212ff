/* prim/linux.c -- the only file that makes system calls. Every call keeps errno as it was:
 * free() must never change errno, and a failed madvise is not the caller's business. */
#include "internal/internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <link.h>
#include <pthread.h>

void *hfi_prim_mmap(void *hint, size_t size, bool reserve_only) {
    int saved = errno;
    /* Accessible memory is mapped with the kernel's overcommit accounting on (no
     * MAP_NORESERVE), so an absurd request fails here, as under glibc, instead of succeeding
     * and being killed on first touch. */
    int prot = reserve_only ? PROT_NONE : PROT_READ | PROT_WRITE;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (reserve_only ? MAP_NORESERVE : 0);
    void *p = mmap(hint, size, prot, flags, -1, 0);
    errno = saved;
    if (p == MAP_FAILED) return NULL;
    hfi_shadow_forget(p, size);
    return p;
}

bool hfi_prim_munmap(void *p, size_t size) {
    int saved = errno;
    hfi_shadow_forget(p, size);
    int rc = munmap(p, size);
    errno = saved;
    return rc == 0;
}

bool hfi_prim_purge(void *p, size_t size) {
    int saved = errno;
    int rc = madvise(p, size, MADV_DONTNEED);
    errno = saved;
    return rc == 0;
}

/* Grow or shrink a mapping. With fixed_target the pages move there (no copy); with neither a
 * target nor room after p it fails and returns NULL. */
/* Bytes of [p, p + size) (page-aligned) resident in memory; 0 when the kernel will not say. */
size_t hfi_prim_resident(void *p, size_t size) {
    enum { CHUNK = 4096 }; /* pages per mincore call: a 4 KiB vector on the stack */
    unsigned char vec[CHUNK];
    int saved = errno;
    size_t pages = size / HF_OS_PAGE_SIZE, resident = 0;
    for (size_t at = 0; at < pages; at += CHUNK) {
        size_t n = pages - at < CHUNK ? pages - at : CHUNK;
        if (mincore((uint8_t *)p + at * HF_OS_PAGE_SIZE, n * HF_OS_PAGE_SIZE, vec) != 0) break;
        for (size_t i = 0; i < n; i++) resident += vec[i] & 1;
    }
    errno = saved;
    return resident * HF_OS_PAGE_SIZE;
}

void *hfi_prim_mremap(void *p, size_t old_size, size_t new_size, void *fixed_target) {
    int saved = errno;
    void *r = fixed_target
                  ? mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, fixed_target)
                  : mremap(p, old_size, new_size, 0);
    errno = saved;
    if (r == MAP_FAILED) return NULL;
    hfi_shadow_forget(p, old_size);
    hfi_shadow_forget(r, new_size);
    return r;
}

/* Move the program break by delta bytes (0: just read it). The old break, or NULL when the
 * kernel refuses. Only the lab's sbrk-backed arenas call this. */
void *hfi_prim_sbrk(intptr_t delta) {
    int saved = errno;
    void *p = sbrk(delta);
    errno = saved;
    return p == (void *)-1 ? NULL : p;
}

void hfi_prim_write_stderr(const char *s, size_t n) {
    int saved = errno;
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        s += w;
        n -= (size_t)w;
    }
    errno = saved;
}

/* The purge clock. Its first calls enter the kernel directly (a syscall, ~0.1-0.5 us), later
 * ones go through libc's clock_gettime (the vDSO, ~20 ns). Why: libc's wrapper sits in text that
 * nothing else a small program runs touches, and the kernel maps libc's file pages a large folio
 * or a 64 KiB fault-around window at a time: measured on the bench machine, a one-malloc program
 * kept ~64 KiB more of libc resident for this one call. A program that asks the time more than
 * HF_CLOCK_RAW_CALLS times is busy enough to amortise the wrapper's pages. */
#define HF_CLOCK_RAW_CALLS 64
uint64_t hfi_prim_clock_ms(void) {
    static unsigned raw_calls; /* racy by design: a few calls more or less either way */
    struct timespec ts;
#if defined(__x86_64__) && defined(SYS_clock_gettime)
    unsigned n = __atomic_load_n(&raw_calls, __ATOMIC_RELAXED);
    if (n < HF_CLOCK_RAW_CALLS) {
        __atomic_store_n(&raw_calls, n + 1, __ATOMIC_RELAXED);
        long ret;
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"((long)SYS_clock_gettime), "D"((long)CLOCK_MONOTONIC), "S"(&ts)
                         : "rcx", "r11", "memory");
        if (ret == 0) return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    }
#endif
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void hfi_prim_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    pthread_atfork(prepare, parent, child);
}

/* glibc's own: whether the process has never made a thread (set false at the first
 * pthread_create and never set back), and the recursive lock of its list of FILEs. Weak, so
 * that a libc without them links and gets the conservative answers. */
extern char __libc_single_threaded __attribute__((weak));
extern void _IO_list_lock(void) __attribute__((weak));
extern void _IO_list_unlock(void) __attribute__((weak));
extern void _IO_list_resetlock(void) __attribute__((weak));

bool hfi_prim_single_threaded(void) {
    return &__libc_single_threaded != NULL &&
           __atomic_load_n(&__libc_single_threaded, __ATOMIC_RELAXED) != 0;
}

/* fork's stdio lock, taken before the allocator's so the order is glibc's own (glibc bug
 * 19431): the FILE-list lock, then the locks a thread inside getline may wait for. */
void hfi_prim_stdio_fork(int phase) {
    if (phase == 0) {
        if (_IO_list_lock) _IO_list_lock();
    } else if (phase == 1) {
        if (_IO_list_unlock) _IO_list_unlock();
    } else {
        if (_IO_list_resetlock) _IO_list_resetlock();
    }
}

uint64_t hfi_prim_random_seed(void) {
    int saved = errno;
    uint64_t x = 0;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^
            (uint64_t)(uintptr_t)&x;
    }
    errno = saved;
    return x;
}

void hfi_prim_yield(void) {
    sched_yield();
}

size_t hfi_prim_rss_bytes(void) {
    int saved = errno;
    size_t rss = 0;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[128];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            buf[n] = 0;
            const char *q = buf;
            while (*q && *q != ' ') q++; /* skip total size */
            while (*q == ' ') q++;
            while (*q >= '0' && *q <= '9') rss = rss * 10 + (size_t)(*q++ - '0');
            rss *= (size_t)sysconf(_SC_PAGESIZE);
        }
    }
    errno = saved;
    return rss;
}

/* Peak resident set of the process so far (getrusage's high-water mark). */
size_t hfi_prim_peak_rss_bytes(void) {
    int saved = errno;
    struct rusage ru;
    size_t peak = getrusage(RUSAGE_SELF, &ru) == 0 ? (size_t)ru.ru_maxrss * 1024u : 0;
    errno = saved;
    return peak;
}

uint64_t hfi_prim_clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t hfi_prim_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Up to n - 1 bytes of a small file (/proc/self/comm), NUL-terminated; the length read. */
size_t hfi_prim_read_file(const char *path, char *buf, size_t n) {
    int saved = errno;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && n > 0) {
        ssize_t r = read(fd, buf, n - 1);
        if (r > 0) len = (size_t)r;
        close(fd);
    }
    if (n > 0) buf[len] = 0;
    errno = saved;
    return len;
}

uint32_t hfi_prim_thread_id(void) {
    return (uint32_t)syscall(SYS_gettid);
}

uint32_t hfi_prim_process_id(void) {
    return (uint32_t)getpid();
}

/* Files for the reports and the trace: created (or truncated) for writing, close-on-exec. */
int hfi_prim_open_write(const char *path, bool append) {
    int saved = errno;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    errno = saved;
    return fd;
}

/* Create path only if it does not exist: the fd, -1 when it exists, -2 on another error. */
int hfi_prim_create_new(const char *path) {
    int saved = errno;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int r = fd >= 0 ? fd : errno == EEXIST ? -1 : -2;
    errno = saved;
    return r;
}

bool hfi_prim_process_alive(uint32_t pid) {
    int saved = errno;
    bool alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
    errno = saved;
    return alive;
}

bool hfi_prim_write(int fd, const void *buf, size_t n) {
    int saved = errno;
    const char *s = buf;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        s += w;
        n -= (size_t)w;
    }
    errno = saved;
    return n == 0;
}

void hfi_prim_close(int fd) {
    int saved = errno;
    close(fd);
    errno = saved;
}

void hfi_prim_abort(void) {
    abort();
}

/* Change a page-aligned range's access: none (a guard, a quarantined range) or read/write. */
bool hfi_prim_protect(void *p, size_t size, bool access) {
    int saved = errno;
    int rc = mprotect(p, size, access ? PROT_READ | PROT_WRITE : PROT_NONE);
    errno = saved;
    return rc == 0;
}

bool hfi_prim_read_only(void *p, size_t size) {
    int saved = errno;
    int rc = mprotect(p, size, PROT_READ);
    errno = saved;
    return rc == 0;
}

static int program_data_cb(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    uintptr_t *range = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (range[0] == 0 || lo < range[0]) range[0] = lo;
        if (hi > range[1]) range[1] = hi;
    }
    return 1; /* the first object is the program itself */
}

/* The program's writable segments (data and bss) as one range [*lo, *hi); 0, 0 if unknown.
 * dl_iterate_phdr takes the loader's (recursive) lock and does not allocate. */
void hfi_prim_program_data(uintptr_t *lo, uintptr_t *hi) {
    uintptr_t range[2] = {0, 0};
    dl_iterate_phdr(program_data_cb, range);
    *lo = range[0], *hi = range[1];
}
