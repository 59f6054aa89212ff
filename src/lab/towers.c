/* lab/towers.c -- out-of-line tower records (fit.h) for free blocks too small to hold the
 * skip-list towers they drew, so the fit policies' skip lists stay O(log N) whatever the block
 * sizes (bench-lab scaling 32: 498/594/683/849 ns per pair for 10^3..10^6 free blocks).
 *
 * Tower records: per class a doubly-linked list of free records (any chunk) and two chunk lists,
 * busy (some record lent) and empty. get, put, add and drop are O(1) (drop O(records per chunk),
 * at most 63). Cost: a record per small free block that drew a tall tower (about 44% of 64-byte
 * blocks, fewer for larger ones; 32 bytes typically) plus chunk slack, all inside free space the
 * policy carved for it; a chunk is a permanent used block only while it lends records.
 */
#include "lab/fit.h"

/* ---- tower records ------------------------------------------------------------------- */

static size_t rec_bytes(unsigned cls) {
    return (size_t)32 << cls;
}
static hfi_tchunk *rec_chunk(hfi_fnode *const *rec) {
    return (hfi_tchunk *)(void *)rec[0];
}
static hfi_fnode **rec_first(const hfi_tchunk *c) {
    return (hfi_fnode **)(uintptr_t)((const uint8_t *)c + sizeof(hfi_tchunk));
}

static void chunk_push(hfi_tchunk **head, hfi_tchunk *c) {
    c->prev = NULL;
    c->next = *head;
    if (*head) (*head)->prev = c;
    *head = c;
}
static void chunk_unlink(hfi_tchunk **head, hfi_tchunk *c) {
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next) c->next->prev = c->prev;
}

/* Free records: rec[1] next, rec[2] prev. */
static void rec_push(hfi_fit_state *st, unsigned cls, hfi_fnode **rec) {
    hfi_fnode **head = st->tw_free[cls];
    rec[1] = (hfi_fnode *)(void *)head;
    rec[2] = NULL;
    if (head) head[2] = (hfi_fnode *)(void *)rec;
    st->tw_free[cls] = rec;
}
static void rec_unlink(hfi_fit_state *st, unsigned cls, hfi_fnode **rec) {
    hfi_fnode **next = (hfi_fnode **)(void *)rec[1], **prev = (hfi_fnode **)(void *)rec[2];
    if (prev)
        prev[1] = (hfi_fnode *)(void *)next;
    else
        st->tw_free[cls] = next;
    if (next) next[2] = (hfi_fnode *)(void *)prev;
}

unsigned hfi_tower_room(hfi_fnode *const *rec) {
    return (unsigned)(rec_bytes(rec_chunk(rec)->cls) / sizeof(void *)) - 1;
}

hfi_fnode **hfi_tower_get(hfi_fit_state *st, unsigned words) {
    unsigned cls = 0;
    while (cls + 1 < HFI_TOWER_CLASSES && rec_bytes(cls) / sizeof(void *) - 1 < words) cls++;
    hfi_fnode **rec = st->tw_free[cls];
    if (!rec) {
        st->tw_want |= 1u << cls;
        return NULL;
    }
    rec_unlink(st, cls, rec);
    hfi_tchunk *c = rec_chunk(rec);
    if (c->used++ == 0) {
        chunk_unlink(&st->tw_empty[cls], c);
        chunk_push(&st->tw_busy[cls], c);
    }
    return rec;
}

void hfi_tower_put(hfi_fit_state *st, hfi_fnode **rec) {
    hfi_tchunk *c = rec_chunk(rec);
    rec_push(st, c->cls, rec);
    if (--c->used == 0) {
        chunk_unlink(&st->tw_busy[c->cls], c);
        chunk_push(&st->tw_empty[c->cls], c);
    }
}

void hfi_tower_add_chunk(hfi_fit_state *st, uint8_t *blk, unsigned cls) {
    hfi_tchunk *c = (hfi_tchunk *)(void *)(blk + HFI_BLOCK_TAG);
    c->cls = cls;
    c->used = 0;
    c->pad = 0;
    c->nrec = (uint32_t)((HFI_TCHUNK_PAYLOAD - sizeof(hfi_tchunk)) / rec_bytes(cls));
    uint8_t *r = (uint8_t *)rec_first(c);
    for (uint32_t i = 0; i < c->nrec; i++, r += rec_bytes(cls)) {
        hfi_fnode **rec = (hfi_fnode **)(void *)r;
        rec[0] = (hfi_fnode *)(void *)c;
        rec_push(st, cls, rec);
    }
    chunk_push(&st->tw_empty[cls], c);
    st->tw_chunks++;
}

uint8_t *hfi_tower_drop_chunk(hfi_fit_state *st, hfi_tchunk *c) {
    uint8_t *r = (uint8_t *)rec_first(c);
    for (uint32_t i = 0; i < c->nrec; i++, r += rec_bytes(c->cls))
        rec_unlink(st, c->cls, (hfi_fnode **)(void *)r);
    chunk_unlink(&st->tw_empty[c->cls], c);
    st->tw_chunks--;
    return (uint8_t *)c - HFI_BLOCK_TAG;
}

/* Is c a chunk: inside a region, 16-aligned, its block tagged as metadata and of chunk size? */
static bool chunk_ok(const hfi_fit_state *st, const hfi_tchunk *c) {
    const uint8_t *b = (const uint8_t *)c - HFI_BLOCK_TAG;
    const hfi_region *r = hfi_block_region_of(st->regions, b);
    if (!r || (uintptr_t)c % HF_LAB_ALIGN != 0 || b < hfi_block_first(r)) return false;
    if ((size_t)(hfi_block_epilogue(r) - b) < HFI_TCHUNK_BLOCK || !hfi_block_hdr_ok(st->key, b))
        return false;
    if (!hfi_block_meta(b) || hfi_block_size(b) != HFI_TCHUNK_BLOCK) return false;
    return c->cls < HFI_TOWER_CLASSES &&
           c->nrec == (HFI_TCHUNK_PAYLOAD - sizeof(hfi_tchunk)) / rec_bytes(c->cls);
}

/* Is rec a record slot of a valid chunk that names it? */
static bool rec_ok(const hfi_fit_state *st, hfi_fnode *const *rec) {
    const hfi_region *r = hfi_block_region_of(st->regions, rec);
    if (!r || (uintptr_t)rec % HF_LAB_ALIGN != 0) return false;
    const hfi_tchunk *c = rec_chunk(rec);
    if (!chunk_ok(st, c)) return false;
    uintptr_t off = (uintptr_t)rec - (uintptr_t)rec_first(c);
    return (uintptr_t)rec >= (uintptr_t)rec_first(c) && off % rec_bytes(c->cls) == 0 &&
           off / rec_bytes(c->cls) < c->nrec;
}

bool hfi_tower_vet(const hfi_fit_state *st, const hfi_fnode *n) {
    hfi_fnode **rec = hfi_node_ext(n);
    return rec_ok(st, rec) && hfi_sl_words(st->spans, n->h[0], n->h[1]) <= hfi_tower_room(rec);
}

const char *hfi_tower_check(const hfi_fit_state *st, size_t chunks) {
    if (chunks != st->tw_chunks) return "tower chunk count disagrees with the blocks";
    size_t listed = 0, lent[HFI_TOWER_CLASSES] = {0};
    for (unsigned k = 0; k < HFI_TOWER_CLASSES; k++) {
        size_t cap = 0, used = 0;
        for (int e = 0; e < 2; e++) {
            for (const hfi_tchunk *c = e ? st->tw_empty[k] : st->tw_busy[k]; c; c = c->next) {
                if (++listed > chunks) return "tower chunk lists longer than the chunks";
                if (!chunk_ok(st, c) || c->cls != k) return "tower chunk damaged";
                if ((c->used == 0) != (e == 1) || c->used > c->nrec)
                    return "tower chunk on the wrong list";
                cap += c->nrec;
                used += c->used;
            }
        }
        size_t nfree = 0;
        hfi_fnode *const *prev = NULL;
        for (hfi_fnode *const *rec = st->tw_free[k]; rec; rec = (hfi_fnode **)(void *)rec[1]) {
            if (++nfree > cap) return "free tower records exceed the chunks (or a cycle)";
            if (!rec_ok(st, rec) || rec_chunk(rec)->cls != k) return "free tower record damaged";
            if ((hfi_fnode *const *)(void *)rec[2] != prev) return "tower record links broken";
            prev = rec;
        }
        if (nfree + used != cap) return "tower records lost or lent twice";
        lent[k] = used;
    }
    if (listed != chunks) return "a tower chunk is on no list";
    for (const hfi_fnode *n = hfi_freelist_first(st); n; n = hfi_freelist_next(n)) {
        hfi_fnode **rec = hfi_node_ext(n);
        if (!rec) continue;
        unsigned k = rec_chunk(rec)->cls;
        if (lent[k]-- == 0) return "more nodes hold tower records than are lent";
    }
    for (unsigned k = 0; k < HFI_TOWER_CLASSES; k++)
        if (lent[k] != 0) return "a lent tower record belongs to no free block";
    return NULL;
}
