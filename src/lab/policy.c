/* lab/policy.c -- the lab's policies by name and number, the process-wide arena of each policy
 * (hf_arena_default, the hf_malloc_<policy> entry points), HEAPFORGE_POLICY (a lab policy serving
 * every malloc of the process), and the fork handlers that hold every arena's lock. */
#include "internal/internal.h"
#include "lab/lab.h"

#include <string.h>

static const hf_lab_policy *const policies[HF_POLICY_COUNT] = {
    [HF_POLICY_FIRST_FIT] = &hfi_policy_first_fit,
    [HF_POLICY_NEXT_FIT] = &hfi_policy_next_fit,
    [HF_POLICY_BEST_FIT] = &hfi_policy_best_fit,
    [HF_POLICY_WORST_FIT] = &hfi_policy_worst_fit,
    [HF_POLICY_SEGREGATED] = &hfi_policy_segregated,
    [HF_POLICY_BUDDY] = &hfi_policy_buddy,
    [HF_POLICY_TLSF] = &hfi_policy_tlsf,
};

static const char *const policy_names[HF_POLICY_COUNT] = {
    "fast", "first-fit", "next-fit", "best-fit", "worst-fit", "segregated", "buddy", "tlsf",
};

HF_API const char *hf_policy_name(hf_policy policy) {
    return (unsigned)policy < HF_POLICY_COUNT ? policy_names[policy] : NULL;
}

HF_API int hf_policy_from_name(const char *name, hf_policy *out) {
    for (unsigned i = 0; name != NULL && i < HF_POLICY_COUNT; i++) {
        if (strcmp(name, policy_names[i]) == 0) {
            if (out) *out = (hf_policy)i;
            return 0;
        }
    }
    return -1;
}

/* The vtable of a lab policy, or NULL for HF_POLICY_FAST and out-of-range values. */
const hf_lab_policy *hfi_lab_policy_ops(hf_policy policy) {
    return (unsigned)policy < HF_POLICY_COUNT ? policies[policy] : NULL;
}

/* ---- the process-wide arena of each policy ---------------------------------------------- */

/* HEAPFORGE_POLICY: a lab policy serves every malloc of the process. The thread heaps then
 * stay empty, so every call takes the malloc slow path, which comes here. */
void hfi_lab_policy_init(void) {
    static bool done;
    if (done || !hfi_options_read) return; /* once, after the environment was read */
    done = true;
    const char *name = hfi_options_policy;
    hf_policy p;
    if (name == NULL || *name == 0) return;
    if (hf_policy_from_name(name, &p) != 0) {
        hfi_warn("unknown HEAPFORGE_POLICY=%s (valid: fast, first-fit, next-fit, best-fit, "
                 "worst-fit, segregated, buddy, tlsf); using fast",
                 name);
        return;
    }
    hfi_lab_process_policy = (int)p;
}

void *hfi_lab_process_malloc(size_t n, size_t align, bool zero) {
    hf_arena *a = hf_arena_default((hf_policy)hfi_lab_process_policy);
    if (a == NULL) {
        hfi_set_enomem();
        return NULL;
    }
    if (align > HF_LAB_ALIGN) return hf_arena_memalign(a, align, n); /* callers pass zero=0 */
    return zero ? hf_arena_calloc(a, 1, n) : hf_arena_malloc(a, n);
}

static hf_arena *_Atomic defaults[HF_POLICY_COUNT];
static hf_lock defaults_lock;

HF_API hf_arena *hf_arena_default(hf_policy policy) {
    if (hfi_lab_policy_ops(policy) == NULL) return NULL;
    hf_arena *a = atomic_load_explicit(&defaults[policy], memory_order_acquire);
    if (a != NULL) return a;
    hfi_lock(&defaults_lock);
    a = atomic_load_explicit(&defaults[policy], memory_order_relaxed);
    if (a == NULL) {
        a = hf_arena_create(policy, NULL);
        atomic_store_explicit(&defaults[policy], a, memory_order_release);
    }
    hfi_unlock(&defaults_lock);
    return a;
}

static void *default_malloc(hf_policy policy, size_t n) {
    hf_arena *a = hf_arena_default(policy);
    if (a == NULL) {
        hfi_set_enomem();
        return NULL;
    }
    return hf_arena_malloc(a, n);
}

HF_API void *hf_malloc_first_fit(size_t n) {
    return default_malloc(HF_POLICY_FIRST_FIT, n);
}
HF_API void *hf_malloc_next_fit(size_t n) {
    return default_malloc(HF_POLICY_NEXT_FIT, n);
}
HF_API void *hf_malloc_best_fit(size_t n) {
    return default_malloc(HF_POLICY_BEST_FIT, n);
}
HF_API void *hf_malloc_worst_fit(size_t n) {
    return default_malloc(HF_POLICY_WORST_FIT, n);
}
HF_API void *hf_malloc_segregated(size_t n) {
    return default_malloc(HF_POLICY_SEGREGATED, n);
}
HF_API void *hf_malloc_buddy(size_t n) {
    return default_malloc(HF_POLICY_BUDDY, n);
}
HF_API void *hf_malloc_tlsf(size_t n) {
    return default_malloc(HF_POLICY_TLSF, n);
}

/* fork: every arena's lock (the process-wide ones and the program's own, arena.c's registry)
 * is taken around fork() like the allocator's own, then the break's. */
void hfi_lab_fork_prepare(void) {
    hfi_lock(&defaults_lock); /* hf_arena_default creates under it: taken before the registry */
    hfi_lab_arenas_fork(0);
    hfi_lab_sbrk_fork(0); /* after the arenas' locks, as in growth */
}

void hfi_lab_fork_parent(void) {
    hfi_lab_sbrk_fork(1);
    hfi_lab_arenas_fork(1);
    hfi_unlock(&defaults_lock);
}

void hfi_lab_fork_child(void) {
    hfi_lab_arenas_fork(2);
    hfi_lock_init(&defaults_lock);
    hfi_lab_sbrk_fork(2);
}
