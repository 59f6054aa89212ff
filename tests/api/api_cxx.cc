// api_cxx: operator new and operator delete (src/override/cxx.c) from a C++ program.
// Usage: api_cxx shared|static   every form works, its memory is heapforge's, failures throw or
//                                return nullptr as in libstdc++, the new_handler loop, aligned
//                                new, and where the names resolve (libheapforge.so, or the
//                                program itself when linked with libheapforge.a)
//        api_cxx misuse CASE     one misuse in a child: SIGABRT and the one-line report
#include <dlfcn.h>
#include <initializer_list>
#include <malloc.h>
#include <new>
#include <pthread.h>
#include <sys/resource.h>

#include "heapforge.h"
#include "test_death.h"

static void *volatile sink;
static void *keep(void *p) {
    sink = p;
    return sink;
}

static void check_ours(void *p, size_t n) {
    CHECK(p != nullptr);
    CHECK(hf_owns(p));
    CHECK_GE(hf_usable_size(p), n);
    memset(p, 0xa5, n);
}

static const size_t sizes[] = {0, 1, 16, 24, 100, 1000, 1024, 5000, 70000, 300000, 5 << 20};

// Every form, each delete paired with each new it may free.
static void test_forms() {
    for (size_t n : sizes) {
        void *p = keep(::operator new(n));
        check_ours(p, n);
        ::operator delete(p);
        p = keep(::operator new(n));
        check_ours(p, n);
        ::operator delete(p, n);
        p = keep(::operator new(n));
        check_ours(p, n);
        ::operator delete(p, std::nothrow);
        p = keep(::operator new[](n));
        check_ours(p, n);
        ::operator delete[](p);
        p = keep(::operator new[](n));
        check_ours(p, n);
        ::operator delete[](p, n);
        p = keep(::operator new[](n));
        check_ours(p, n);
        ::operator delete[](p, std::nothrow);
        p = keep(::operator new(n, std::nothrow));
        check_ours(p, n);
        ::operator delete(p, std::nothrow);
        p = keep(::operator new[](n, std::nothrow));
        check_ours(p, n);
        ::operator delete[](p, n);
        for (size_t a : {size_t(32), size_t(256)}) {
            std::align_val_t al{a};
            p = keep(::operator new(n, al));
            check_ours(p, n);
            CHECK_ALIGNED(p, a);
            ::operator delete(p, al);
            p = keep(::operator new(n, al));
            ::operator delete(p, n, al);
            p = keep(::operator new(n, al, std::nothrow));
            check_ours(p, n);
            CHECK_ALIGNED(p, a);
            ::operator delete(p, al, std::nothrow);
            p = keep(::operator new[](n, al));
            check_ours(p, n);
            CHECK_ALIGNED(p, a);
            ::operator delete[](p, al);
            p = keep(::operator new[](n, al));
            ::operator delete[](p, n, al);
            p = keep(::operator new[](n, al, std::nothrow));
            check_ours(p, n);
            ::operator delete[](p, al, std::nothrow);
        }
    }
    ::operator delete(nullptr);
    ::operator delete(nullptr, 16);
    ::operator delete[](nullptr, std::align_val_t(64));
    ::operator delete(nullptr, 16, std::align_val_t(64));
}

// new-expressions as a program writes them (sized delete and array cookies included).
struct Obj {
    long v[5];
    Obj() : v{1, 2, 3, 4, 5} {}
    ~Obj() { v[0] = 0; }
};
struct alignas(64) Wide {
    char c[100];
};
static void test_expressions() {
    for (int i = 0; i < 1000; i++) {
        Obj *o = new Obj;
        CHECK(hf_owns(o) && o->v[4] == 5);
        delete o;
        Obj *a = new Obj[i % 17 + 1];
        CHECK(hf_owns(a));
        delete[] a;
        Wide *w = new Wide;
        CHECK(hf_owns(w));
        CHECK_ALIGNED(w, 64);
        delete w;
        Wide *wa = new Wide[i % 5 + 1];
        CHECK_ALIGNED(wa, 64);
        delete[] wa;
    }
}

// Sized delete of blocks other threads allocated (the check reads another heap's segment).
static void *free_sized_all(void *arg) {
    void **v = static_cast<void **>(arg);
    for (int i = 0; i < 256; i++) ::operator delete(v[i], size_t(8 + i * 8));
    return nullptr;
}
static void test_remote_sized_delete() {
    void *v[256];
    for (int i = 0; i < 256; i++) v[i] = keep(::operator new(size_t(8 + i * 8)));
    pthread_t t;
    CHECK(pthread_create(&t, nullptr, free_sized_all, v) == 0);
    CHECK(pthread_join(t, nullptr) == 0);
}

static void test_aligned() {
    for (size_t a : {size_t(64), size_t(4096), size_t(1) << 20}) {
        for (size_t n : {size_t(1), size_t(64), size_t(5000), size_t(3) << 20}) {
            void *p = keep(::operator new(n, std::align_val_t(a)));
            check_ours(p, n);
            CHECK_ALIGNED(p, a);
            ::operator delete(p, n, std::align_val_t(a));
            p = keep(::operator new[](n, std::align_val_t(a), std::nothrow));
            check_ours(p, n);
            CHECK_ALIGNED(p, a);
            ::operator delete[](p, std::align_val_t(a));
        }
    }
}

// The throwing forms throw std::bad_alloc, the nothrow forms return nullptr (libstdc++'s answers,
// also for an alignment that is not a power of two).
static const size_t huge = SIZE_MAX / 2;
template <class F> static bool throws_bad_alloc(F f) {
    try {
        keep(f());
    } catch (const std::bad_alloc &) {
        return true;
    }
    return false;
}
static void test_failures() {
    CHECK(throws_bad_alloc([] { return ::operator new(huge); }));
    CHECK(throws_bad_alloc([] { return ::operator new[](huge); }));
    CHECK(throws_bad_alloc([] { return ::operator new(huge, std::align_val_t(64)); }));
    CHECK(throws_bad_alloc([] { return ::operator new[](huge, std::align_val_t(4096)); }));
    CHECK(throws_bad_alloc([] { return ::operator new(64, std::align_val_t(48)); }));
    CHECK(keep(::operator new(huge, std::nothrow)) == nullptr);
    CHECK(keep(::operator new[](huge, std::nothrow)) == nullptr);
    CHECK(keep(::operator new(huge, std::align_val_t(64), std::nothrow)) == nullptr);
    CHECK(keep(::operator new[](huge, std::align_val_t(64), std::nothrow)) == nullptr);
    CHECK(keep(::operator new(64, std::align_val_t(48), std::nothrow)) == nullptr);
}

// The new_handler loop: called on each failure until the allocation succeeds or it gives up.
static int handler_calls;
static void *reserve;
static void release_reserve() { // frees the reserve once, then gives up by throwing
    handler_calls++;
    if (reserve == nullptr) throw std::bad_alloc();
    ::operator delete(reserve);
    reserve = nullptr;
    malloc_trim(0); // at HEAPFORGE_SECURE=3 the freed reserve waits in the quarantine until then
}
static void count_and_throw() {
    handler_calls++;
    throw std::bad_alloc();
}
static void count_and_uninstall() {
    handler_calls++;
    std::set_new_handler(nullptr);
}

static void test_handler_gives_up() {
    std::set_new_handler(count_and_throw);
    handler_calls = 0;
    CHECK(throws_bad_alloc([] { return ::operator new(huge); }));
    CHECK_EQ(handler_calls, 1);
    // nothrow: the handler runs and its exception becomes nullptr, as in libstdc++.
    handler_calls = 0;
    CHECK(keep(::operator new(huge, std::nothrow)) == nullptr);
    CHECK(keep(::operator new(huge, std::align_val_t(128), std::nothrow)) == nullptr);
    CHECK_EQ(handler_calls, 2);
    // A handler that returns is called again; one that uninstalls itself ends the loop.
    std::set_new_handler(count_and_uninstall);
    handler_calls = 0;
    CHECK(throws_bad_alloc([] { return ::operator new[](huge); }));
    CHECK_EQ(handler_calls, 1);
    std::set_new_handler(nullptr);
}

// A 256 MiB reserve, then an address-space limit 128 MiB above the program's size: a second
// 256 MiB block does not fit, the handler frees the reserve (a huge block: unmapped at once), the
// retry succeeds.
static const size_t big = size_t(256) << 20;
static void handler_frees_reserve(void *arg) {
    bool nothrow = arg != nullptr;
    reserve = ::operator new(big);
    struct rlimit lim;
    lim.rlim_cur = lim.rlim_max = test_statm_bytes(0) + (big >> 1);
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
    std::set_new_handler(release_reserve);
    handler_calls = 0;
    void *p = nothrow ? ::operator new(big, std::nothrow) : ::operator new(big);
    CHECK(p != nullptr && hf_owns(p) && reserve == nullptr);
    CHECK_EQ(handler_calls, 1);
    memset(p, 1, 4096);
    ::operator delete(p, big);
    _exit(0);
}
static void test_handler_frees_reserve() {
    for (int nothrow = 0; nothrow < 2; nothrow++) {
        char buf[512];
        void *arg = reinterpret_cast<void *>(uintptr_t(nothrow));
        int status = test_death_run(handler_frees_reserve, arg, buf, sizeof buf);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "new_handler reserve (nothrow %d): status 0x%x: %s\n", nothrow, status,
                    buf);
            abort();
        }
    }
}

// Every name resolves to the allocator: libheapforge.so, or this program (libheapforge.a).
static const char *const names[] = {"_Znwm",
                                    "_Znam",
                                    "_ZnwmRKSt9nothrow_t",
                                    "_ZnamRKSt9nothrow_t",
                                    "_ZnwmSt11align_val_t",
                                    "_ZnamSt11align_val_t",
                                    "_ZnwmSt11align_val_tRKSt9nothrow_t",
                                    "_ZnamSt11align_val_tRKSt9nothrow_t",
                                    "_ZdlPv",
                                    "_ZdaPv",
                                    "_ZdlPvm",
                                    "_ZdaPvm",
                                    "_ZdlPvRKSt9nothrow_t",
                                    "_ZdaPvRKSt9nothrow_t",
                                    "_ZdlPvSt11align_val_t",
                                    "_ZdaPvSt11align_val_t",
                                    "_ZdlPvmSt11align_val_t",
                                    "_ZdaPvmSt11align_val_t",
                                    "_ZdlPvSt11align_val_tRKSt9nothrow_t",
                                    "_ZdaPvSt11align_val_tRKSt9nothrow_t"};

static const char *object_of(const void *addr) {
    Dl_info info;
    CHECK(dladdr(addr, &info) != 0 && info.dli_fname != nullptr);
    return info.dli_fname;
}
static void test_resolution(bool shared) {
    const char *self = object_of(reinterpret_cast<const void *>(&test_resolution));
    const char *lib = object_of(reinterpret_cast<const void *>(&hf_malloc));
    CHECK(shared ? strstr(lib, "libheapforge.so") != nullptr : strcmp(lib, self) == 0);
    for (const char *name : names) {
        void *f = dlsym(RTLD_DEFAULT, name);
        if (f == nullptr || strcmp(object_of(f), lib) != 0) {
            fprintf(stderr, "%s resolves to %s, not %s\n", name, f ? object_of(f) : "nothing", lib);
            abort();
        }
    }
    void *(*plain)(size_t) = &::operator new;
    void (*sized)(void *, size_t) noexcept = &::operator delete;
    CHECK(strcmp(object_of(reinterpret_cast<const void *>(plain)), lib) == 0);
    CHECK(strcmp(object_of(reinterpret_cast<const void *>(sized)), lib) == 0);
    CHECK(reinterpret_cast<void *>(plain) == dlsym(RTLD_DEFAULT, "_Znwm"));
    if (shared) // the plain deletes are hf_free itself there (linker aliases)
        CHECK(dlsym(RTLD_DEFAULT, "_ZdlPv") == reinterpret_cast<void *>(&hf_free));
}

// ---- misuse: each case runs in a child that must abort with the one-line report ----
static const size_t wrong = 4096;
static void sized_too_big(void *) {
    ::operator delete(keep(::operator new(100)), wrong);
}
static void array_sized_too_big(void *) {
    ::operator delete[](keep(::operator new[](40)), wrong);
}
static void large_sized_too_big(void *) {
    ::operator delete(keep(::operator new(1 << 20)), size_t(2) << 20);
}
static void aligned_sized_too_big(void *) {
    ::operator delete(keep(::operator new(100, std::align_val_t(64))), wrong, std::align_val_t(64));
}
static void aligned_wrong_alignment(void *) {
    char *p = static_cast<char *>(::operator new(256, std::align_val_t(64)));
    ::operator delete(keep(p + 16), std::align_val_t(64));
}
static void double_delete(void *) {
    void *keepalive = keep(::operator new(48));
    void *volatile p = ::operator new(48); // volatile: each read is a new pointer to the compiler
    ::operator delete(p, 48);
    ::operator delete(p, 48);
    (void)keepalive;
}

struct misuse {
    const char *name, *what;
    void (*run)(void *);
};
static const misuse cases[] = {
    {"sized_delete_too_big", "operator delete with a wrong size", sized_too_big},
    {"array_sized_delete_too_big", "operator delete with a wrong size", array_sized_too_big},
    {"large_sized_delete_too_big", "operator delete with a wrong size", large_sized_too_big},
    {"aligned_sized_delete_too_big", "operator delete with a wrong size", aligned_sized_too_big},
    {"aligned_delete_wrong_alignment", "operator delete with a wrong alignment",
     aligned_wrong_alignment},
    {"sized_double_delete", "double free", double_delete},
};

int main(int argc, char **argv) {
    CHECK(argc >= 2);
    if (strcmp(argv[1], "misuse") == 0) {
        CHECK(argc == 3);
        for (const misuse &m : cases)
            if (strcmp(argv[2], m.name) == 0) {
                test_expect_death(m.run, nullptr, m.what, m.name);
                printf("%s: caught\n", m.name);
                return 0;
            }
        fprintf(stderr, "no such case: %s\n", argv[2]);
        return 1;
    }
    CHECK(strcmp(argv[1], "shared") == 0 || strcmp(argv[1], "static") == 0);
    test_resolution(strcmp(argv[1], "shared") == 0);
    test_forms();
    test_expressions();
    test_remote_sized_delete();
    test_aligned();
    test_failures();
    test_handler_gives_up();
    test_handler_frees_reserve();
    printf("api_cxx %s: ok\n", argv[1]);
    return 0;
}
