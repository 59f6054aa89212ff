/* api_conform: the allocation API's results and errno against glibc 2.36, the reference.
 *
 * Every expected value below is what glibc 2.36 (Debian 2.36-9) returns for the same call. The
 * file uses only the libc names and test_util.h, so the proof is to build it against plain glibc
 * and run it -- it must pass there too:
 *     gcc -D_GNU_SOURCE -fno-builtin -Itests tests/api/api_conform.c -o conform && ./conform
 *
 *  1. memalign, aligned_alloc, posix_memalign for alignments 0, non-powers of two, powers of two
 *     up to 2^63, above SIZE_MAX / 2 + 1, with sizes 0 .. SIZE_MAX. glibc 2.36's aligned_alloc is
 *     memalign (the C17 EINVAL for a bad alignment came in 2.38); memalign rounds any alignment up
 *     to a power of two and fails with EINVAL only above SIZE_MAX / 2 + 1; an alignment that is
 *     valid but impossible (2^47 .. 2^63) is ENOMEM. posix_memalign returns EINVAL (errno
 *     untouched, *out untouched) or ENOMEM -- and then errno is ENOMEM as well, since glibc's
 *     posix_memalign fails through the same internal memalign that sets it.
 *  2. malloc, calloc, realloc, reallocarray, valloc, pvalloc with impossible sizes: NULL, ENOMEM.
 *  3. A successful call of any of them leaves errno alone.
 *  4. malloc_info(options != 0) returns EINVAL (the value, not -1) and leaves errno alone.
 *  5. Under RLIMIT_AS (glibc's tst-malloc-thread-fail): once the address space is used up,
 *     every failing call, in the main thread and in a thread whose first allocation comes only
 *     then, leaves errno == ENOMEM (posix_memalign returns ENOMEM and sets errno too). */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#include <dlfcn.h>

#define KEEP 1234 /* errno before each call: a call that must not touch errno leaves this */

enum expect { OK, NOMEM, INVAL };

/* Built against heapforge (its hf_ names are there), or against plain glibc for the proof. */
static int is_heapforge(void) {
    return dlsym(RTLD_DEFAULT, "hf_malloc") != NULL;
}

/* Opaque to the compiler, so it can neither fold the calls nor warn about the sizes. */
static volatile size_t v_size_max = SIZE_MAX;
static size_t big(size_t minus) {
    return v_size_max - minus;
}
#define P2(k) ((size_t)1 << (k))

struct aligned_case {
    size_t align, size;
    enum expect memalign; /* memalign and aligned_alloc (the same function in glibc 2.36) */
    enum expect posix;    /* posix_memalign's result */
};

/* The alignment the block must have: glibc rounds up to a power of two, at least 16. */
static size_t effective_align(size_t align) {
    size_t a = 16;
    while (a < align) a <<= 1;
    return a;
}

static void check_ok_block(void *p, size_t align, size_t size) {
    CHECK(p != NULL);
    CHECK_ALIGNED(p, effective_align(align));
    CHECK_GE(malloc_usable_size(p), size);
    memset(p, 0x5a, size);
}

static void test_aligned(void) {
    const size_t PDMAX = (size_t)PTRDIFF_MAX;
    const struct aligned_case cases[] = {
        /* alignment 0: memalign treats it as no alignment; posix_memalign refuses it */
        {0, 0, OK, INVAL},
        {0, 100, OK, INVAL},
        {0, big(0), NOMEM, INVAL},
        /* below sizeof(void *) or not a power of two: memalign rounds up, posix refuses */
        {1, 100, OK, INVAL},
        {4, 1, OK, INVAL},
        {3, 100, OK, INVAL},
        {12, 100, OK, INVAL},
        {24, 1, OK, INVAL},
        {48, 100, OK, INVAL},
        {4097, 100, OK, INVAL},
        {P2(20) + 16, 100, OK, INVAL},
        {3, big(0), NOMEM, INVAL},
        /* valid powers of two */
        {8, 0, OK, OK},
        {16, 100, OK, OK},
        {64, 0, OK, OK},
        {4096, 1, OK, OK},
        {P2(21), 100, OK, OK},
        {P2(22), 100, OK, OK},
        {P2(23), 1, OK, OK},
        /* impossible sizes */
        {8, big(0), NOMEM, NOMEM},
        {64, PDMAX, NOMEM, NOMEM},
        {4096, PDMAX + 1, NOMEM, NOMEM},
        {P2(22), big(4096), NOMEM, NOMEM},
        {64, P2(47), NOMEM, NOMEM},
        /* valid but impossibly large alignments: ENOMEM, not EINVAL */
        {P2(47), 0, NOMEM, NOMEM},
        {P2(47), 100, NOMEM, NOMEM},
        {P2(48), 1, NOMEM, NOMEM},
        {P2(62), 100, NOMEM, NOMEM},
        {P2(63), 0, NOMEM, NOMEM},
        {P2(63), big(0), NOMEM, NOMEM},
        /* not a power of two, at most SIZE_MAX / 2 + 1: memalign rounds up to 2^63, ENOMEM */
        {P2(62) + 1, 100, NOMEM, INVAL},
        {(size_t)3 << 61, 1, NOMEM, INVAL},
        /* above SIZE_MAX / 2 + 1: EINVAL from every one of them */
        {P2(63) + 1, 100, INVAL, INVAL},
        {big(0), 0, INVAL, INVAL},
        {big(0), 1, INVAL, INVAL},
        {big(0), big(0), INVAL, INVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct aligned_case *c = &cases[i];
        for (int fn = 0; fn < 2; fn++) {
            errno = KEEP;
            void *p = fn == 0 ? memalign(c->align, c->size) : aligned_alloc(c->align, c->size);
            int e = errno;
            if (c->memalign == OK) {
                check_ok_block(p, c->align, c->size);
                CHECK_EQ(e, KEEP);
                free(p);
            } else {
                if (p != NULL || e != (c->memalign == NOMEM ? ENOMEM : EINVAL))
                    fprintf(stderr, "case %zu (%s %#zx, %#zx): %p errno %d\n", i,
                            fn ? "aligned_alloc" : "memalign", c->align, c->size, p, e);
                CHECK(p == NULL);
                CHECK_EQ(e, c->memalign == NOMEM ? ENOMEM : EINVAL);
            }
        }
        void *out = (void *)cases;
        errno = KEEP;
        int r = posix_memalign(&out, c->align, c->size);
        int e = errno;
        if (c->posix == OK) {
            CHECK_EQ(r, 0);
            check_ok_block(out, c->align, c->size);
            CHECK_EQ(e, KEEP);
            free(out);
            continue;
        }
        if (r != (c->posix == NOMEM ? ENOMEM : EINVAL) || e != (c->posix == NOMEM ? ENOMEM : KEEP))
            fprintf(stderr, "case %zu (posix_memalign %#zx, %#zx): %d errno %d\n", i, c->align,
                    c->size, r, e);
        CHECK(out == (void *)cases); /* *out is left alone on failure */
        if (c->posix == INVAL) {
            CHECK_EQ(r, EINVAL);
            CHECK_EQ(e, KEEP);
        } else {
            CHECK_EQ(r, ENOMEM);
            CHECK_EQ(e, ENOMEM);
        }
    }
}

/* errno must be ENOMEM and the result NULL. */
#define CHECK_NOMEM(call)                                                                          \
    do {                                                                                           \
        errno = KEEP;                                                                              \
        void *r_ = (call);                                                                         \
        int e_ = errno;                                                                            \
        if (r_ != NULL || e_ != ENOMEM) fprintf(stderr, "%s: %p errno %d\n", #call, r_, e_);       \
        CHECK(r_ == NULL);                                                                         \
        CHECK_EQ(e_, ENOMEM);                                                                      \
    } while (0)

static void test_impossible_sizes(void) {
    const size_t sizes[] = {(size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1, big(8192), big(4095),
                            big(0)};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        CHECK_NOMEM(malloc(n));
        CHECK_NOMEM(calloc(1, n));
        CHECK_NOMEM(valloc(n));
        CHECK_NOMEM(pvalloc(n));
        CHECK_NOMEM(realloc(NULL, n));
        void *b = malloc(10);
        CHECK(b != NULL);
        memset(b, 7, 10);
        CHECK_NOMEM(realloc(b, n));
        CHECK_EQ(((unsigned char *)b)[9], 7); /* a failed realloc leaves the block alone */
        free(b);
    }
    CHECK_NOMEM(calloc(big(0) / 2, 3)); /* the product overflows */
    void *volatile b = malloc(10);
    CHECK(b != NULL);
    CHECK_NOMEM(reallocarray(b, big(0) / 2, 3));
    free(b);
    /* a zero count makes the product 0: a block, errno untouched */
    errno = KEEP;
    void *z = calloc(0, big(0));
    CHECK(z != NULL);
    CHECK_EQ(errno, KEEP);
    free(z);
    /* realloc(p, 0) frees and returns NULL, errno untouched */
    b = malloc(10);
    CHECK(b != NULL);
    errno = KEEP;
    CHECK(realloc(b, 0) == NULL);
    CHECK_EQ(errno, KEEP);
}

/* Successful calls of every kind and size class, each with errno left as it was. */
static void test_success_keeps_errno(void) {
    const size_t sizes[] = {
        0, 1, 100, 1024, 5000, 100000, 300000, (size_t)5 << 20, (size_t)40 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        void *p[8];
        int k = 0;
        errno = KEEP;
        p[k++] = malloc(n);
        p[k++] = calloc(1, n);
        p[k++] = memalign(4096, n);
        p[k++] = aligned_alloc(64, n);
        p[k++] = valloc(n);
        p[k++] = pvalloc(n);
        CHECK_EQ(posix_memalign(&p[k++], (size_t)1 << 22, n), 0);
        p[k] = malloc(16);
        CHECK(p[k] != NULL);
        p[k] = realloc(p[k], n + 1);
        k++;
        CHECK_EQ(errno, KEEP);
        for (int j = 0; j < k; j++) {
            CHECK(p[j] != NULL);
            memset(p[j], j, n);
            free(p[j]);
        }
        CHECK_EQ(errno, KEEP);
    }
}

static void test_malloc_info(void) {
    FILE *f = fopen("/dev/null", "w");
    CHECK(f != NULL);
    errno = KEEP;
    CHECK_EQ(malloc_info(1, f), EINVAL); /* glibc: return EINVAL; errno untouched */
    CHECK_EQ(errno, KEEP);
    CHECK_EQ(malloc_info(-1, f), EINVAL);
    CHECK_EQ(errno, KEEP);
    CHECK_EQ(malloc_info(0, f), 0);
    CHECK_EQ(errno, KEEP);
    fclose(f);
}

/* ---- 5: failing calls under RLIMIT_AS ------------------------------------------------------ */
/* Every allocation call with n bytes; each must fail with ENOMEM, or succeed with errno kept
 * (a small request may still fit in a partly used page). Returns how many failed. */
static int all_calls(size_t n) {
    int failed = 0;
    for (int fn = 0; fn < 9; fn++) {
        void *p = NULL;
        errno = KEEP;
        switch (fn) {
        case 0:
            p = malloc(n);
            break;
        case 1:
            p = calloc(1, n);
            break;
        case 2:
            p = memalign(64, n);
            break;
        case 3:
            p = aligned_alloc(4096, n);
            break;
        case 4:
            p = valloc(n);
            break;
        case 5:
            p = pvalloc(n);
            break;
        case 6:
            p = realloc(NULL, n);
            break;
        case 7: {
            int r = posix_memalign(&p, 256, n);
            CHECK(r == 0 || r == ENOMEM);
            CHECK(r == 0 || p == NULL);
            break;
        }
        case 8: {
            void *b = malloc(8);
            if (b == NULL) { /* even the smallest block failed: that too must say ENOMEM */
                CHECK_EQ(errno, ENOMEM);
                break;
            }
            errno = KEEP;
            p = realloc(b, n);
            if (p == NULL) {
                CHECK_EQ(errno, ENOMEM);
                free(b);
                failed++;
                continue;
            }
            break;
        }
        }
        if (p == NULL) {
            if (errno != ENOMEM) fprintf(stderr, "call %d of %zu bytes: errno %d\n", fn, n, errno);
            CHECK_EQ(errno, ENOMEM);
            failed++;
        } else {
            /* glibc may leave ENOMEM behind a success under pressure (a failed sbrk before the
             * mmap that served the call); heapforge leaves errno alone. */
            if (errno != KEEP)
                fprintf(stderr, "call %d of %zu bytes: success, errno %d\n", fn, n, errno);
            CHECK(errno == KEEP || (errno == ENOMEM && !is_heapforge()));
            free(p);
        }
    }
    return failed;
}

struct node {
    struct node *next;
};

static struct node *exhaust(size_t n) {
    struct node *head = NULL;
    for (;;) {
        errno = KEEP;
        struct node *b = malloc(n);
        if (b == NULL) {
            CHECK_EQ(errno, ENOMEM);
            return head;
        }
        b->next = head;
        head = b;
    }
}

static void release(struct node *b) {
    while (b) {
        struct node *next = b->next;
        free(b);
        b = next;
    }
}

static pthread_barrier_t barrier;
static int thread_failed;

static void *late_thread(void *arg) {
    (void)arg;
    pthread_barrier_wait(&barrier); /* the main thread exhausts the address space meanwhile */
    thread_failed = all_calls((size_t)1 << 20) + all_calls(200);
    pthread_barrier_wait(&barrier);
    return NULL;
}

static int limited_child(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
    CHECK_EQ(pthread_barrier_init(&barrier, NULL, 2), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, late_thread, NULL), 0);
    size_t limit = test_statm_bytes(0) + ((size_t)256 << 20);
    struct rlimit rl = {limit, limit};
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
    struct node *bigs = exhaust((size_t)1 << 20);
    struct node *smalls = exhaust(64);
    /* Blocks of 1 MiB cannot fit any more: every call fails, with ENOMEM. */
    CHECK_EQ(all_calls((size_t)1 << 20), 9);
    all_calls(200);
    void *p = (void *)&p;
    errno = KEEP;
    CHECK_EQ(posix_memalign(&p, 4096, (size_t)8 << 20), ENOMEM);
    CHECK_EQ(errno, ENOMEM);
    CHECK(p == (void *)&p);
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    CHECK_GE(thread_failed, 9); /* the thread's 1 MiB calls all failed */
    CHECK_EQ(pthread_join(t, NULL), 0);
    release(smalls);
    release(bigs);
    /* everything is usable again, and a successful call leaves errno alone */
    CHECK_EQ(all_calls((size_t)1 << 20), 0);
    return 0;
}

static void test_rlimit_as(void) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(limited_child());
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status)) fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
}

int main(void) {
    test_aligned();
    test_impossible_sizes();
    test_success_keeps_errno();
    test_malloc_info();
    test_rlimit_as();
    puts("api_conform: ok");
    return 0;
}
