/* lab/skiplist.c -- skip lists whose nodes are the free blocks themselves (hfi_fnode, block.h).
 * One implementation serves both indexes of the fit policies: HFI_SL_ADDR keyed by address (its
 * level 0 is the address-ordered free list) and HFI_SL_SIZE keyed by (size, address). Heights are
 * geometric with p = 1/4 from a caller-owned xorshift state, so a seed reproduces a run.
 * insert, remove, contains, find_ge (smallest size >= n, lowest address on ties) and last are
 * O(log N) expected whatever the block sizes: a node's tower is in its block or, for a block too
 * small for its drawn heights, in an out-of-line tower record (hfi_node_tower hides which; the
 * records are the fit engine's, fit.h).
 *
 * The address list is augmented for first fit: a node x of address height h keeps, for each level
 * 1 <= l < h, the span maximum M_l(x), the largest block size among the nodes from x (included) to
 * its level-l successor (excluded); M_0(x) is x's own size. The maxima follow the size tower in the
 * node's words (fit.h: hfi_sl_words). first_fit(need, from) then finds the lowest-addressed node at
 * or above `from` with size >= need in O(log N) expected: it walks up the levels past the
 * predecessors of `from`, skipping every span whose maximum is too small, and descends into the
 * first span that holds a fit. insert_spans and remove_spans recompute the maxima of the spans
 * they split or join, bottom-up, from the level below (about 4 reads per level); a size change in
 * place is hfi_skiplist_resized. Only first and next fit keep maxima (their address lists are
 * built with the _spans calls); best and worst fit's lists and every size list keep none and pay
 * nothing for them. */
#include "lab/fit.h"

/* Does node a sort before the key (size, addr)? */
static inline bool before(unsigned which, const hfi_fnode *a, size_t size, uintptr_t addr) {
    if (which == HFI_SL_ADDR) return (uintptr_t)a < addr;
    size_t as = hfi_node_size(a);
    return as < size || (as == size && (uintptr_t)a < addr);
}

/* Fills slot[l] with the link that precedes the key on every level in use, and pred[l] (when
 * pred is not NULL) with the node owning that link (NULL: the head); returns the level-0
 * predecessor node (NULL: the head). */
static hfi_fnode *search(const hfi_skiplist *sl, size_t size, uintptr_t addr,
                         hfi_fnode **slot[HFI_SL_MAX], hfi_fnode *pred[HFI_SL_MAX]) {
    hfi_fnode *x = NULL;
    hfi_fnode **links = (hfi_fnode **)(uintptr_t)sl->head;
    for (int l = (int)sl->level - 1; l >= 0; l--) {
        while (links[l] && before(sl->which, links[l], size, addr)) {
            x = links[l];
            links = hfi_node_tower(x, sl->which);
        }
        if (slot) slot[l] = &links[l];
        if (pred) pred[l] = x;
    }
    return x;
}

/* ---- span maxima of the address list ---------------------------------------------------- */

/* The words of x's maxima: [l - 1] holds M_l(x), 1 <= l < h[ADDR], stored complemented: like
 * the links around it, a maximum left behind in memory then never reads as a plausible size
 * word (a stale header that towers moved home over is visibly not a tag). */
static inline size_t *span_words(const hfi_fnode *x) {
    hfi_fnode **t = hfi_node_tower(x, HFI_SL_ADDR);
    return (size_t *)(void *)(t + x->h[HFI_SL_ADDR] + x->h[HFI_SL_SIZE]);
}
static inline size_t span_get(const hfi_fnode *x, unsigned l) {
    return ~span_words(x)[l - 1];
}
static inline void span_set(hfi_fnode *x, unsigned l, size_t m) {
    span_words(x)[l - 1] = ~m;
}
static inline size_t span_max(const hfi_fnode *x, unsigned l) {
    return l == 0 ? hfi_node_size(x) : span_get(x, l);
}
static inline hfi_fnode *next_at(const hfi_fnode *x, unsigned l) {
    return hfi_node_tower(x, HFI_SL_ADDR)[l];
}
/* M_l(x) from the level below: the maxima of the level-(l-1) nodes of x's level-l span. */
static size_t span_compute(const hfi_fnode *x, unsigned l) {
    const hfi_fnode *end = next_at(x, l);
    size_t m = 0;
    for (const hfi_fnode *y = x; y != end; y = next_at(y, l - 1)) {
        size_t v = span_max(y, l - 1);
        if (v > m) m = v;
    }
    return m;
}
static inline void span_update(hfi_fnode *x, unsigned l) {
    span_set(x, l, span_compute(x, l));
}

/* n (height h, still linked or not) changed its contribution to the spans above: on every level
 * the span that holds n is n's own (l < h) or its predecessor's. Bottom-up, so each level reads
 * corrected maxima below it. grew: n's size went up to size (a max is enough); otherwise a span
 * whose maximum was old is recomputed. */
static void spans_fix(const hfi_skiplist *sl, hfi_fnode *n, hfi_fnode *const pred[HFI_SL_MAX],
                      size_t old, size_t size) {
    unsigned h = n->h[HFI_SL_ADDR];
    for (unsigned l = 1; l < sl->level; l++) {
        hfi_fnode *x = l < h ? n : pred[l];
        if (x == NULL) continue; /* the head keeps no maxima */
        size_t m = span_get(x, l);
        if (size >= m)
            span_set(x, l, size);
        else if (old >= m)
            span_update(x, l);
    }
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

static hfi_fnode *insert(hfi_skiplist *sl, hfi_fnode *n, bool spans) {
    hfi_fnode **slot[HFI_SL_MAX], *pred[HFI_SL_MAX];
    hfi_fnode *p0 = search(sl, key_size(sl, n), (uintptr_t)n, slot, pred);
    unsigned h = n->h[sl->which];
    for (unsigned l = sl->level; l < h; l++) slot[l] = &sl->head[l], pred[l] = NULL;
    if (h > sl->level) sl->level = h;
    hfi_fnode **tower = hfi_node_tower(n, sl->which);
    for (unsigned l = 0; l < h; l++) {
        tower[l] = *slot[l];
        *slot[l] = n;
    }
    sl->count++;
    if (spans) {
        /* Levels below h: n's span is new and its predecessor's shrank; above: n joins one. */
        size_t size = hfi_node_size(n);
        for (unsigned l = 1; l < sl->level; l++) {
            if (l < h) {
                span_update(n, l);
                if (pred[l]) span_update(pred[l], l);
            } else if (pred[l] && span_get(pred[l], l) < size) {
                span_set(pred[l], l, size);
            }
        }
    }
    return p0;
}

static bool remove_node(hfi_skiplist *sl, hfi_fnode *n, bool spans) {
    hfi_fnode **slot[HFI_SL_MAX], *pred[HFI_SL_MAX];
    if (sl->level == 0) return false;
    search(sl, key_size(sl, n), (uintptr_t)n, slot, pred);
    if (*slot[0] != n) return false;
    hfi_fnode **tower = hfi_node_tower(n, sl->which);
    unsigned h = n->h[sl->which];
    for (unsigned l = 0; l < h && l < sl->level; l++)
        if (*slot[l] == n) *slot[l] = tower[l];
    while (sl->level > 0 && sl->head[sl->level - 1] == NULL) sl->level--;
    sl->count--;
    if (spans) {
        /* Levels below h: the predecessor's span absorbed n's; above: it lost n. */
        size_t size = hfi_node_size(n);
        for (unsigned l = 1; l < sl->level; l++) {
            hfi_fnode *x = pred[l];
            if (x && (l < h || size >= span_get(x, l))) span_update(x, l);
        }
    }
    return true;
}

hfi_fnode *hfi_skiplist_insert(hfi_skiplist *sl, hfi_fnode *n) {
    return insert(sl, n, false);
}
bool hfi_skiplist_remove(hfi_skiplist *sl, hfi_fnode *n) {
    return remove_node(sl, n, false);
}
hfi_fnode *hfi_skiplist_insert_spans(hfi_skiplist *sl, hfi_fnode *n) {
    return insert(sl, n, sl->which == HFI_SL_ADDR);
}
bool hfi_skiplist_remove_spans(hfi_skiplist *sl, hfi_fnode *n) {
    return remove_node(sl, n, sl->which == HFI_SL_ADDR);
}

void hfi_skiplist_resized(hfi_skiplist *sl, hfi_fnode *n, size_t old) {
    hfi_fnode *pred[HFI_SL_MAX];
    if (sl->which != HFI_SL_ADDR || sl->level <= 1) return;
    search(sl, 0, (uintptr_t)n, NULL, pred);
    spans_fix(sl, n, pred, old, hfi_node_size(n));
}

/* The first node of x's level-l span with size >= need (the span must hold one). */
static hfi_fnode *descend(hfi_fnode *x, unsigned l, size_t need) {
    while (l > 0) {
        hfi_fnode *end = next_at(x, l);
        l--;
        for (hfi_fnode *y = x; y != end; y = next_at(y, l))
            if (span_max(y, l) >= need) {
                x = y;
                break;
            }
    }
    return x;
}

hfi_fnode *hfi_skiplist_first_fit(const hfi_skiplist *sl, size_t need, uintptr_t from) {
    hfi_fnode *pred[HFI_SL_MAX];
    if (sl->level == 0) return NULL;
    if (from == 0)
        for (unsigned l = 0; l < sl->level; l++) pred[l] = NULL;
    else
        search(sl, 0, from, NULL, pred);
    /* The nodes at or above `from`, in address order: on level l, the level-l spans from the
     * first level-l node at or above `from` to the first level-(l+1) node at or above it. */
    for (unsigned l = 0; l < sl->level; l++) {
        hfi_fnode *y = pred[l] ? next_at(pred[l], l) : sl->head[l];
        hfi_fnode *end = NULL;
        if (l + 1 < sl->level) end = pred[l + 1] ? next_at(pred[l + 1], l + 1) : sl->head[l + 1];
        for (; y != end; y = next_at(y, l))
            if (span_max(y, l) >= need) return descend(y, l, need);
    }
    return NULL;
}

bool hfi_skiplist_contains(const hfi_skiplist *sl, const hfi_fnode *n) {
    hfi_fnode **slot[HFI_SL_MAX];
    if (sl->level == 0) return false;
    search(sl, key_size(sl, n), (uintptr_t)n, slot, NULL);
    return *slot[0] == n;
}

hfi_fnode *hfi_skiplist_find_ge(const hfi_skiplist *sl, size_t n) {
    hfi_fnode **slot[HFI_SL_MAX];
    if (sl->level == 0) return NULL;
    search(sl, n, 0, slot, NULL);
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

const char *hfi_skiplist_check_spans(const hfi_skiplist *sl) {
    if (sl->which != HFI_SL_ADDR) return "skip list: span maxima on a size list";
    /* Every span maximum against the sizes of its span's level-0 nodes (O(N levels)); the
     * caller has validated the links. */
    for (hfi_fnode *n = sl->head[0]; n; n = next_at(n, 0)) {
        for (unsigned l = 1; l < n->h[HFI_SL_ADDR]; l++) {
            size_t m = 0;
            for (const hfi_fnode *y = n; y != next_at(n, l); y = next_at(y, 0))
                if (hfi_node_size(y) > m) m = hfi_node_size(y);
            if (span_get(n, l) != m) return "skip list: span maximum wrong";
        }
    }
    return NULL;
}
