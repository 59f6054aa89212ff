/* lab/region.c -- the lab policies' shared region index (lab.h): which region holds address p.
 *
 * Every policy whose regions begin with a record of their own (fits' prologue descriptor, the
 * segregated fit's and TLSF's region records) links those records into a treap keyed by the
 * record's address, with priorities from a hash of that address. Records are never removed (a
 * region lives as long as its arena), and regions do not overlap, so "the region of p" is the
 * record with the greatest address at or below p, checked against the region's end: expected
 * O(log regions) per lookup, whatever order the OS hands regions out in (mmap goes downwards,
 * sbrk upwards). Insertion also returns the record's predecessor, so a policy keeps its
 * address-ordered list (for walks) in O(log regions) as well. The nodes live in the records, so
 * the index needs no memory and works for regions anywhere, published in the page map or not.
 *
 * hfi_lab_rset bundles the tree, the list and a count for the policies whose record is a plain
 * hfi_lab_rrec at the region's start (segfit.c, tlsf.c). */
#include "lab/lab.h"

/* The priority of node n: a fixed mix of its address (splitmix64's finaliser), so a tree is the
 * same on every run that gets the same addresses. */
static uint64_t prio(const hfi_lab_rnode *n) {
    uint64_t x = (uint64_t)(uintptr_t)n;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

hfi_lab_rnode *hfi_lab_rtree_floor(const hfi_lab_rnode *t, const void *p) {
    const hfi_lab_rnode *best = NULL;
    while (t != NULL) {
        if ((uintptr_t)t <= (uintptr_t)p) {
            best = t;
            t = t->kid[1];
        } else {
            t = t->kid[0];
        }
    }
    return (hfi_lab_rnode *)(uintptr_t)best;
}

/* Inserts n below t; returns the subtree's new root. Depth is expected O(log n), so recursion
 * is bounded in practice (a few dozen frames for millions of regions). */
static hfi_lab_rnode *insert(hfi_lab_rnode *t, hfi_lab_rnode *n) {
    if (t == NULL) return n;
    int d = (uintptr_t)n > (uintptr_t)t;
    t->kid[d] = insert(t->kid[d], n);
    hfi_lab_rnode *c = t->kid[d];
    if (prio(c) > prio(t)) { /* rotate c above t */
        t->kid[d] = c->kid[!d];
        c->kid[!d] = t;
        return c;
    }
    return t;
}

hfi_lab_rnode *hfi_lab_rtree_insert(hfi_lab_rnode **root, hfi_lab_rnode *n) {
    hfi_lab_rnode *pred = hfi_lab_rtree_floor(*root, n);
    n->kid[0] = n->kid[1] = NULL;
    *root = insert(*root, n);
    return pred;
}

/* Order and heap property of the subtree t, whose keys must lie in (lo, hi); counts its nodes
 * into *count, giving up past limit (a cycle). */
static const char *check_sub(const hfi_lab_rnode *t, uintptr_t lo, uintptr_t hi, size_t *count,
                             size_t limit, unsigned depth) {
    if (t == NULL) return NULL;
    if (++*count > limit || depth > 4096) return "region index: more nodes than regions";
    if ((uintptr_t)t <= lo || (uintptr_t)t >= hi || ((uintptr_t)t & 15))
        return "region index: node out of order";
    for (int d = 0; d < 2; d++)
        if (t->kid[d] != NULL && prio(t->kid[d]) > prio(t))
            return "region index: priorities out of heap order";
    const char *why = check_sub(t->kid[0], lo, (uintptr_t)t, count, limit, depth + 1);
    return why ? why : check_sub(t->kid[1], (uintptr_t)t, hi, count, limit, depth + 1);
}

const char *hfi_lab_rtree_check(const hfi_lab_rnode *root, size_t n) {
    size_t count = 0;
    const char *why = check_sub(root, 0, UINTPTR_MAX, &count, n, 0);
    if (why == NULL && count != n) return "region index: fewer nodes than regions";
    return why;
}

/* ---- hfi_lab_rset: records at region starts ---------------------------------------------- */
void hfi_lab_rset_add(hfi_lab_rset *s, hfi_lab_rrec *r) {
    hfi_lab_rrec *pred = (hfi_lab_rrec *)hfi_lab_rtree_insert(&s->root, &r->node);
    hfi_lab_rrec **pp = pred ? &pred->next : &s->head;
    r->next = *pp;
    *pp = r;
    s->count++;
}

hfi_lab_rrec *hfi_lab_rset_find(const hfi_lab_rset *s, const void *p) {
    hfi_lab_rrec *r = (hfi_lab_rrec *)hfi_lab_rtree_floor(s->root, p);
    return r != NULL && (uintptr_t)p - (uintptr_t)r < r->size ? r : NULL;
}

hfi_lab_rrec *hfi_lab_rset_ending_at(const hfi_lab_rset *s, const void *end) {
    hfi_lab_rrec *r = hfi_lab_rset_find(s, (const uint8_t *)end - 1);
    return r != NULL && (uintptr_t)r + r->size == (uintptr_t)end ? r : NULL;
}

const char *hfi_lab_rset_check(const hfi_lab_rset *s, size_t magic) {
    size_t n = 0;
    const hfi_lab_rrec *prev = NULL;
    for (const hfi_lab_rrec *r = s->head; r != NULL; prev = r, r = r->next) {
        if (++n > s->count) return "region list longer than its count (or a cycle)";
        if (((uintptr_t)r & 15) || r->magic != (magic ^ (uintptr_t)r))
            return "region record overwritten";
        if (prev != NULL && (uintptr_t)prev + prev->size > (uintptr_t)r)
            return "regions out of order or overlapping";
    }
    if (n != s->count) return "region list shorter than its count";
    return hfi_lab_rtree_check(s->root, s->count);
}
