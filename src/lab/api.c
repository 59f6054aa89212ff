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

/* hf_malloc_<policy>: one function per lab policy, each on its policy's default arena. */
#define HF_POLICY_MALLOC(name, policy)                                                             \
    HF_API void *hf_malloc_##name(size_t n) {                                                      \
        return default_malloc(policy, n);                                                          \
    }
HF_POLICY_MALLOC(first_fit, HF_POLICY_FIRST_FIT)
HF_POLICY_MALLOC(next_fit, HF_POLICY_NEXT_FIT)
HF_POLICY_MALLOC(best_fit, HF_POLICY_BEST_FIT)
HF_POLICY_MALLOC(worst_fit, HF_POLICY_WORST_FIT)
HF_POLICY_MALLOC(segregated, HF_POLICY_SEGREGATED)
HF_POLICY_MALLOC(buddy, HF_POLICY_BUDDY)
HF_POLICY_MALLOC(tlsf, HF_POLICY_TLSF)
