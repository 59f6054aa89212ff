/* lab/api.c -- the lab's public entry points that may be a program's first call into heapforge:
 * hf_arena_create, hf_arena_default and hf_malloc_<policy>. Each sets the process up
 * (hfi_process_init, init.c) and then calls the lab below it; kept apart from arena.c and
 * policy.c so that no call goes from the lab up to init.c (docs/architecture.md, layers). */
#include "internal/internal.h"

HF_API hf_arena *hf_arena_create(hf_policy policy, const hf_arena_config *config) {
    if (hfi_lab_policy_ops(policy) == NULL) {
        errno = EINVAL;
        return NULL;
    }
    hfi_process_init();
    return hfi_lab_arena_create(policy, config);
}

HF_API hf_arena *hf_arena_default(hf_policy policy) {
    if (hfi_lab_policy_ops(policy) == NULL) return NULL;
    hfi_process_init();
    return hfi_lab_arena_default(policy);
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
