/* lab/skiplist.c -- skip lists whose nodes are the free blocks themselves (hfi_fnode, block.h).
 * One implementation serves both indexes of the fit policies: HFI_SL_ADDR keyed by address (its
 * level 0 is the address-ordered free list) and HFI_SL_SIZE keyed by (size, address). Heights are
 * geometric with p = 1/4 from a caller-owned xorshift state, so a seed reproduces a run.
 * insert, remove, contains, find_ge (smallest size >= n, lowest address on ties) and last are
 * O(log N) expected whatever the block sizes: a node's tower is in its block or, for a block too
 * small for its drawn heights, in an out-of-line tower record (hfi_node_tower hides which; the
 * records are the fit engine's, fit.h). */
#include "lab/block.h"

/* Does node a sort before the key (size, addr)? */
static inline bool before(unsigned which, const hfi_fnode *a, size_t size, uintptr_t addr) {
    if (which == HFI_SL_ADDR) return (uintptr_t)a < addr;
    size_t as = hfi_node_size(a);
    return as < size || (as == size && (uintptr_t)a < addr);
}

/* Fills slot[l] with the link that precedes the key on every level in use; returns the level-0
 * predecessor node (NULL: the head). */
static hfi_fnode *search(const hfi_skiplist *sl, size_t size, uintptr_t addr,
                         hfi_fnode **slot[HFI_SL_MAX]) {
    hfi_fnode *x = NULL;
    hfi_fnode **links = (hfi_fnode **)(uintptr_t)sl->head;
    for (int l = (int)sl->level - 1; l >= 0; l--) {
        while (links[l] && before(sl->which, links[l], size, addr)) {
            x = links[l];
            links = hfi_node_tower(x, sl->which);
        }
        if (slot) slot[l] = &links[l];
    }
    return x;
}

static size_t key_size(const hfi_skiplist *sl, const hfi_fnode *n) {
    return sl->which == HFI_SL_SIZE ? hfi_node_size(n) : 0;
}

void hfi_skiplist_init(hfi_skiplist *sl, unsigned which) {
    for (unsigned l = 0; l < HFI_SL_MAX; l++) sl->head[l] = NULL;
    sl->level = 0;
    sl->which = which;
    sl->count = 0;
}

unsigned hfi_skiplist_height(uint64_t *rng) {
    uint64_t x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    unsigned h = 1;
    uint64_t r = x * 0x2545F4914F6CDD1DULL;
    while (h < HFI_SL_MAX && (r & 3) == 0) {
        h++;
        r >>= 2;
    }
    return h;
}

hfi_fnode *hfi_skiplist_insert(hfi_skiplist *sl, hfi_fnode *n) {
    hfi_fnode **slot[HFI_SL_MAX];
    hfi_fnode *pred = search(sl, key_size(sl, n), (uintptr_t)n, slot);
    unsigned h = n->h[sl->which];
    for (unsigned l = sl->level; l < h; l++) slot[l] = &sl->head[l];
    if (h > sl->level) sl->level = h;
    hfi_fnode **tower = hfi_node_tower(n, sl->which);
    for (unsigned l = 0; l < h; l++) {
        tower[l] = *slot[l];
        *slot[l] = n;
    }
    sl->count++;
    return pred;
}

bool hfi_skiplist_remove(hfi_skiplist *sl, hfi_fnode *n) {
    hfi_fnode **slot[HFI_SL_MAX];
    if (sl->level == 0) return false;
    search(sl, key_size(sl, n), (uintptr_t)n, slot);
    if (*slot[0] != n) return false;
    hfi_fnode **tower = hfi_node_tower(n, sl->which);
    unsigned h = n->h[sl->which];
    for (unsigned l = 0; l < h && l < sl->level; l++)
        if (*slot[l] == n) *slot[l] = tower[l];
    while (sl->level > 0 && sl->head[sl->level - 1] == NULL) sl->level--;
    sl->count--;
    return true;
}

bool hfi_skiplist_contains(const hfi_skiplist *sl, const hfi_fnode *n) {
    hfi_fnode **slot[HFI_SL_MAX];
    if (sl->level == 0) return false;
    search(sl, key_size(sl, n), (uintptr_t)n, slot);
    return *slot[0] == n;
}

hfi_fnode *hfi_skiplist_find_ge(const hfi_skiplist *sl, size_t n) {
    hfi_fnode **slot[HFI_SL_MAX];
    if (sl->level == 0) return NULL;
    search(sl, n, 0, slot);
    return *slot[0];
}

hfi_fnode *hfi_skiplist_last(const hfi_skiplist *sl) {
    hfi_fnode *x = NULL;
    hfi_fnode **links = (hfi_fnode **)(uintptr_t)sl->head;
    for (int l = (int)sl->level - 1; l >= 0; l--) {
        while (links[l]) {
            x = links[l];
            links = hfi_node_tower(x, sl->which);
        }
    }
    return x;
}

const char *hfi_skiplist_check(const hfi_skiplist *sl, hfi_node_vet plausible, const void *ctx) {
    hfi_fnode *cursor[HFI_SL_MAX];
    if (sl->level > HFI_SL_MAX) return "skip list: level out of range";
    for (unsigned l = 0; l < HFI_SL_MAX; l++) {
        cursor[l] = sl->head[l];
        if (l >= sl->level && sl->head[l] != NULL) return "skip list: link above the top level";
    }
    if (sl->level > 0 && sl->head[sl->level - 1] == NULL) return "skip list: empty top level";
    size_t seen = 0;
    const hfi_fnode *prev = NULL;
    for (hfi_fnode *n = sl->head[0]; n; n = hfi_node_tower(n, sl->which)[0]) {
        if (++seen > sl->count) return "skip list: more nodes than counted (or a cycle)";
        if (!plausible(ctx, n)) return "skip list: link to something that is not a free block";
        unsigned h = n->h[sl->which];
        if (h < 1 || h > sl->level) return "skip list: node height out of range";
        if (prev && !before(sl->which, prev, key_size(sl, n), (uintptr_t)n))
            return "skip list: keys out of order";
        if (cursor[0] != n) return "skip list: level 0 link mismatch";
        hfi_fnode **tower = hfi_node_tower(n, sl->which);
        for (unsigned l = 0; l < h; l++) {
            if (cursor[l] != n) return "skip list: upper level skips a node of its height";
            cursor[l] = tower[l];
        }
        prev = n;
    }
    if (seen != sl->count) return "skip list: fewer nodes than counted";
    for (unsigned l = 0; l < sl->level; l++)
        if (cursor[l] != NULL) return "skip list: upper level links a node not on level 0";
    return NULL;
}
