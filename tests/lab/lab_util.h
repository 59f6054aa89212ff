/* lab_util.h -- shared by the lab's arena tests: the policy list, the arena validator check, and
 * the libc names (hf_* under TSan, whose runtime owns the libc allocation names). */
#ifndef HF_LAB_UTIL_H
#define HF_LAB_UTIL_H

#include "heapforge.h"
#include "test_util.h"

#if HF_TEST_LIBC_NAMES
#define LIBC_FREE    free
#define LIBC_REALLOC realloc
#else
#define LIBC_FREE    hf_free
#define LIBC_REALLOC hf_realloc
#endif

static const hf_policy lab_policies[] = {
    HF_POLICY_FIRST_FIT,  HF_POLICY_NEXT_FIT, HF_POLICY_BEST_FIT, HF_POLICY_WORST_FIT,
    HF_POLICY_SEGREGATED, HF_POLICY_BUDDY,    HF_POLICY_TLSF};
#define NPOL (sizeof lab_policies / sizeof lab_policies[0])

static inline void check_arena(hf_arena *a, const char *when) {
    const char *why = hf_arena_check(a);
    if (why != NULL) {
        fprintf(stderr, "arena check failed after %s: %s\n", when, why);
        CHECK(0);
    }
}

#endif
