/* demo -- every lab policy through its own entry point: allocate a few blocks of mixed sizes,
 * write a recognisable pattern, print a preview of the payload with the policy's name and its
 * arena statistics, then free everything with the one hf_free. */
#include <heapforge.h>
#include <stdio.h>
#include <string.h>

typedef void *(*entry_fn)(size_t);

static const struct {
    hf_policy policy;
    entry_fn entry;
} lab[] = {
    {HF_POLICY_FIRST_FIT, hf_malloc_first_fit},
    {HF_POLICY_NEXT_FIT, hf_malloc_next_fit},
    {HF_POLICY_BEST_FIT, hf_malloc_best_fit},
    {HF_POLICY_WORST_FIT, hf_malloc_worst_fit},
    {HF_POLICY_SEGREGATED, hf_malloc_segregated},
    {HF_POLICY_BUDDY, hf_malloc_buddy},
    {HF_POLICY_TLSF, hf_malloc_tlsf},
};

enum { BLOCKS = 12 };

static void kib(char *buf, size_t n, size_t bytes) {
    snprintf(buf, n, "%.1f KiB", (double)bytes / 1024.0);
}

int main(void) {
    static const size_t sizes[BLOCKS] = {24, 100, 700,  3000, 64,   9000,
                                         40, 250, 1500, 12,   5000, 333};
    printf("%-11s %-30s %10s %11s %10s %6s %11s %6s\n", "policy", "payload preview", "live",
           "footprint", "free", "holes", "largest", "frag");
    for (size_t i = 0; i < sizeof lab / sizeof lab[0]; i++) {
        const char *name = hf_policy_name(lab[i].policy);
        char *blk[BLOCKS];
        for (int b = 0; b < BLOCKS; b++) {
            blk[b] = lab[i].entry(sizes[b]);
            if (blk[b] == NULL) {
                fprintf(stderr, "demo: %s could not allocate %zu bytes\n", name, sizes[b]);
                return 1;
            }
            /* The pattern: the policy's name, then the block's number, repeated. */
            for (size_t k = 0; k < sizes[b]; k++)
                blk[b][k] = k < strlen(name) ? name[k] : (char)('a' + (b + (int)k) % 26);
        }
        /* Free every other block: holes the policy must manage. */
        for (int b = 0; b < BLOCKS; b += 2) hf_free(blk[b]);
        hf_arena_statistics st;
        hf_arena_stats(hf_arena_default(lab[i].policy), &st);
        char preview[31], live[16], foot[16], freeb[16], largest[16];
        snprintf(preview, sizeof preview, "%.29s", blk[3]);
        kib(live, sizeof live, st.live_bytes);
        kib(foot, sizeof foot, st.footprint);
        kib(freeb, sizeof freeb, st.free_bytes);
        kib(largest, sizeof largest, st.largest_free);
        printf("%-11s %-30s %10s %11s %10s %6zu %11s %6.3f\n", name, preview, live, foot, freeb,
               st.free_blocks, largest, st.external_fragmentation);
        const char *why = hf_arena_check(hf_arena_default(lab[i].policy));
        if (why != NULL) {
            fprintf(stderr, "demo: %s arena check failed: %s\n", name, why);
            return 1;
        }
        for (int b = 1; b < BLOCKS; b += 2) hf_free(blk[b]);
    }
    printf("(live: bytes in use after freeing every other block; frag: 1 - largest/free)\n");
    return 0;
}
