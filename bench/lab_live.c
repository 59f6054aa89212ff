/* lab_live -- the fit policies' search cost on a big heap: LIVE blocks of random sizes (70%
 * 16-256 B, 25% 256 B-4 KiB, 5% 4-16 KiB) are allocated through hf_arena_malloc and half of them,
 * at random, freed again (holes of every size, a quarter of LIVE free blocks after coalescing);
 * then OPS timed steps each pick a random slot, free its block if it has one, and allocate a new
 * one of a fresh random size there. Prints, per policy, the build
 * time, ns per step, the free blocks at the end, the peak footprint, and a checksum of the
 * placement (the XOR of every block's offset from its arena's first block): equal seeds give
 * equal placements. A change that keeps a policy's choices and its tower layout keeps the
 * checksum; one that changes how many tower words a node needs moves the tower chunks, and with
 * them the placements, without any change of policy.
 *
 *   bench-lab-live [LIVE [OPS [policy,policy,...]]]   defaults 1000000 200000, the four fits
 * Calls the hf_arena_* API directly (links libheapforge). Instruction counts of the steps alone:
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=churn \
 *       bench-lab-live 200000 20000 first-fit */
#include "lab_common.h"

#include <heapforge.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t pick_size(uint64_t *rng) {
    unsigned r = (unsigned)(xs(rng) % 100);
    return r < 70 ? 16 + xs(rng) % 240 : r < 95 ? 256 + xs(rng) % 3840 : 4096 + xs(rng) % 12288;
}

/* The timed steps, out of line so that `valgrind --tool=callgrind --toggle-collect=churn` counts
 * their instructions alone. */
__attribute__((noinline)) static bool churn(hf_arena *a, void **slot, size_t live, long ops,
                                            uint64_t *rng, uintptr_t base, uintptr_t *sum) {
    for (long op = 0; op < ops; op++) {
        size_t k = (size_t)(xs(rng) % live);
        if (slot[k]) hf_arena_free(a, slot[k]);
        slot[k] = hf_arena_malloc(a, pick_size(rng));
        if (slot[k] == NULL) return false;
        *sum ^= (uintptr_t)slot[k] - base;
    }
    return true;
}

static int run(hf_policy pol, size_t live, long ops) {
    void **slot = malloc(sizeof(void *) * live);
    if (slot == NULL) return 1;
    hf_arena_config cfg = {.seed = 42};
    hf_arena *a = hf_arena_create(pol, &cfg);
    if (a == NULL) return 1;
    uint64_t rng = 0x6c697665;
    uintptr_t base = 0, sum = 0;
    double t0 = now_s();
    for (size_t i = 0; i < live; i++) {
        slot[i] = hf_arena_malloc(a, pick_size(&rng));
        if (slot[i] == NULL) return 1;
        if (i == 0) base = (uintptr_t)slot[0];
    }
    for (size_t i = 0; i < live; i++) /* holes: half of the blocks, at random */
        if (xs(&rng) & 1) {
            hf_arena_free(a, slot[i]);
            slot[i] = NULL;
        }
    double t1 = now_s();
    if (!churn(a, slot, live, ops, &rng, base, &sum)) return 1;
    double t2 = now_s();
    const char *why = hf_arena_check(a);
    if (why) {
        fprintf(stderr, "bench-lab-live: %s: %s\n", hf_policy_name(pol), why);
        return 1;
    }
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    printf("%-10s %10.2f %12.1f %12zu %14.1f   %016llx\n", hf_policy_name(pol), t1 - t0,
           (t2 - t1) * 1e9 / (double)(ops ? ops : 1), st.free_blocks,
           (double)st.peak_footprint / 1048576.0, (unsigned long long)sum);
    hf_arena_destroy(a);
    free(slot);
    return 0;
}

int main(int argc, char **argv) {
    size_t live = argc >= 2 ? (size_t)atol(argv[1]) : 1000000;
    long ops = argc >= 3 ? atol(argv[2]) : 200000;
    const char *list = argc >= 4 ? argv[3] : "first-fit,next-fit,best-fit,worst-fit";
    if (live == 0) return 2;
    printf("%-10s %10s %12s %12s %14s   %s\n", "policy", "build s", "ns per step", "free blocks",
           "footprint MiB", "placement");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        hf_policy p;
        if (hf_policy_from_name(tok, &p) != 0 || p == HF_POLICY_FAST) {
            fprintf(stderr, "bench-lab-live: unknown lab policy %s\n", tok);
            return 2;
        }
        if (run(p, live, ops) != 0) return 1;
    }
    return 0;
}
