/* harden/canary.c -- canaries: the bytes between a block's requested size and its end.
 *
 * Why: a block's size class rounds the request up, so a small overflow lands in bytes nobody
 * looks at. From HEAPFORGE_SECURE=1 the hooked malloc asks for at least n + 1 bytes (so every
 * block has a canary byte), the block map keeps n, and bytes [n, min(usable, n + 64)) are
 * filled with a pattern derived from the process secret and the block's address. free and
 * realloc verify it (secure.c reports `heap corruption of p (size n)`), and so does the exit
 * check for blocks still live. Every pattern byte has its top bit set: the usual off-by-one
 * writes (a NUL terminator, an ASCII character) always differ from it.
 *
 * Large blocks (spans) keep a canary at level 1 only: from level 2 a guard page follows them
 * and malloc_usable_size reports their whole usable size, up to the guard. */
#include "internal/internal.h"

#define HF_CANARY_MAX 64 /* bytes checked after the requested size */

/* The canary's end offset for a block of n requested bytes (n when it has none). */
static size_t canary_end(const void *p, size_t n) {
    hf_header *h;
    size_t usable = hfi_plain_usable(p, &h);
    if (h == NULL || usable <= n) return n;
    if (h->kind == HF_SEG_SPAN && hfi_secure >= HF_SECURE_SHUFFLE) return n; /* guarded */
    return usable - n < HF_CANARY_MAX ? usable : n + HF_CANARY_MAX;
}

static inline uint64_t pattern(const void *p) {
    uint64_t x = ((uint64_t)(uintptr_t)p ^ (uint64_t)hfi_secret) * 0xD6E8FEB86659FD93ull;
    return (x ^ (x >> 32)) | 0x8080808080808080ull; /* top bit of every byte set */
}

void hfi_canary_fill(void *p, size_t n) {
    size_t end = canary_end(p, n);
    uint64_t w = pattern(p);
    uint8_t *b = p;
    hfi_shadow_open(b + n, end - n); /* checker builds: the program may not touch the canary */
    for (size_t i = n; i < end; i++) b[i] = (uint8_t)(w >> ((i & 7) * 8));
    hfi_shadow_close(b + n, end - n);
}

bool hfi_canary_intact(const void *p, size_t n) {
    size_t end = canary_end(p, n);
    uint64_t w = pattern(p);
    const uint8_t *b = p;
    bool ok = true;
    hfi_shadow_open(b + n, end - n);
    for (size_t i = n; i < end && ok; i++) ok = b[i] == (uint8_t)(w >> ((i & 7) * 8));
    hfi_shadow_close(b + n, end - n);
    return ok;
}
