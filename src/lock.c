/* lock.c -- the spin lock every global structure uses (hf_lock, types.h): a test-and-test-
 * and-set word that yields to the OS after 64 spins. Locks are held for short, bounded
 * sections; a `_locked` function expects the caller to hold the lock its comment names. */
#include "internal/internal.h"

void hfi_lock(hf_lock *l) {
    for (unsigned spins = 0;; spins++) {
        int expected = 0;
        if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&l->v, &expected, 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
        if (spins > 64) hfi_prim_yield();
#if defined(__x86_64__) || defined(__i386__)
        else
            __builtin_ia32_pause();
#endif
    }
}

void hfi_unlock(hf_lock *l) {
    atomic_store_explicit(&l->v, 0, memory_order_release);
}
