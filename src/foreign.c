/* foreign.c -- blocks of other heaps that this thread freed, kept for its own mallocs.
 *
 * A block freed by a thread other than its page's owner goes back to the owner (a push on the
 * page's thread_free, page.c), and only the owner hands it out again. When the owner does not
 * allocate that class any more -- it waits in pthread_join, or it is a producer whose consumer
 * frees -- the memory sits idle while the freeing thread carves fresh pages. So a heap keeps
 * HEAPFORGE_FOREIGN_CACHE bytes (16 KiB; 4 to 64 blocks) of such blocks per small class and
 * hands them out when its own page runs dry, as a thread cache would. A class whose kept blocks
 * were not taken for a second gives them back (hfi_foreign_gc), as do thread exit and trim.
 *
 * Each small class has a stand-in page in the heap (hf_heap.foreign). Its fields mean:
 *   free        the kept blocks; while there are any after the heap's own page ran dry, the
 *               direct table points at the stand-in, so the malloc fast path pops them;
 *   local_free  the anchor: the first block kept, held back until the others are gone;
 *   capacity    blocks kept so far, and used the blocks handed out (held = capacity - used);
 *   reserved    the most the heap holds; 0 until the heap allocates the class itself, so a
 *               thread that only frees (a consumer) keeps nothing.
 * Kept blocks stay counted in their own pages' `used`: for the owner they are still out, so
 * their pages cannot be freed or change class while they are kept.
 *
 * When only the anchor is left, the blocks other threads gave back to the anchor's page are
 * taken over with one exchange on its thread_free: the collection its owner would do, done by
 * a thread that allocates. Without this, blocks given back to an owner that never allocates
 * again stay idle for good (bench/larson.c: the main thread's pages, 4 MiB).
 */
#include "internal/internal.h"
#include "harden/encode.h"

#include <string.h>

void hfi_foreign_open(hf_page *fp, unsigned c) {
    /* Secure levels: links are encoded per page and checked by the owner; nothing is kept. */
    if (hfi_secure != 0 || c >= HF_FOREIGN_CLASSES || hfi_options.foreign_cache == 0) return;
    uint32_t bs = hfi_class_size[c];
    long long lim = hfi_options.foreign_cache / bs;
    memset(fp, 0, sizeof *fp);
    fp->block_size = bs;
    fp->div_magic = 1u + UINT64_MAX / bs; /* for the keep path's block-start test (free.c) */
    fp->class_idx = (uint8_t)c;
    fp->reserved = (uint16_t)(lim < HF_FOREIGN_MIN   ? HF_FOREIGN_MIN
                              : lim > HF_FOREIGN_MAX ? HF_FOREIGN_MAX
                                                     : lim);
}

/* Keep b, a freed block of pg (another heap's page), if there is room. */
bool hfi_foreign_keep(hf_heap *heap, hf_page *pg, hf_block *b) {
    unsigned c = pg->class_idx;
    if (c >= HF_FOREIGN_CLASSES) return false;
    hf_page *fp = &heap->foreign[c];
    if (fp->capacity - fp->used >= fp->reserved) return false;
    if (fp->local_free == NULL) {
        hfi_link_store(b, NULL);
        fp->local_free = b;
        heap->foreign_held = 1;
    } else {
        hfi_link_store(b, fp->free);
        fp->free = b;
    }
    fp->capacity++;
    return true;
}

/* Take over the blocks given back to the anchor's page, as many as the stand-in holds (its
 * reserve); the rest go back to the page's owner with one push. Taking the whole list made an
 * owner that still allocates carve fresh memory for what was taken: 200 threads freeing each
 * other's blocks in a ring peaked at 1.4x the RSS they had with nothing kept. */
static void take_returned(hf_page *fp) {
    hf_block *anchor = fp->local_free;
    hf_segment *s = (hf_segment *)((uintptr_t)anchor & ~HF_SEGMENT_MASK);
    hf_page *pg = hfi_page_of(s, anchor);
    if (atomic_load_explicit(&pg->thread_free, memory_order_relaxed) == NULL) return;
    hf_block *list = atomic_exchange_explicit(&pg->thread_free, NULL, memory_order_acquire);
    if (list == NULL) return; /* the owner collected them first */
    uint32_t k = 1;
    hf_block *last = list, *rest;
    while ((rest = hfi_link_load(last)) != NULL && k < fp->reserved) {
        last = rest;
        k++;
    }
    fp->free = list;
    fp->capacity += k;
    if (rest == NULL) return;
    hfi_link_store(last, NULL);
    hf_block *tail = rest, *next;
    while ((next = hfi_link_load(tail)) != NULL) tail = next;
    hf_block *old = atomic_load_explicit(&pg->thread_free, memory_order_relaxed);
    do {
        hfi_link_store(tail, old);
    } while (!atomic_compare_exchange_weak_explicit(&pg->thread_free, &old, rest,
                                                    memory_order_release, memory_order_relaxed));
    hfi_page_remote_mark(&s->h);
}

/* The stand-in holds nothing any more: its counts restart, and the direct table goes back to
 * the heap's own page of the class. */
static void emptied(hf_heap *heap, hf_page *fp) {
    fp->free = fp->local_free = NULL;
    fp->capacity = fp->used = fp->free_limit = 0;
    hfi_heap_direct_to(heap, fp->class_idx, heap->queues[fp->class_idx].first);
}

/* The malloc slow path of a heap whose own page of the class ran dry while it holds kept
 * blocks (fp->local_free is set). */
void *hfi_foreign_take(hf_heap *heap, hf_page *fp, size_t n, bool zero) {
    unsigned c = fp->class_idx;
    if (fp->free == NULL) take_returned(fp);
    if (fp->free != NULL) {
        hfi_heap_direct_to(heap, c, fp); /* the next mallocs of the class pop on the fast path */
        return hfi_page_pop(fp, n, zero);
    }
    hf_block *b = fp->local_free; /* the anchor goes last */
    emptied(heap, fp);
    hfi_shadow_open(b, fp->block_size);
    b->mark = 0;
    if (zero) memset(b, 0, n < sizeof(hf_block) ? sizeof(hf_block) : n);
    return b;
}

static void give_back(hf_block *b) {
    hf_header *h = (hf_header *)((uintptr_t)b & ~HF_SEGMENT_MASK);
    hfi_page_push_remote(h, hfi_page_of((hf_segment *)h, b), b);
}

static void flush_class(hf_heap *heap, unsigned c) {
    hf_page *fp = &heap->foreign[c];
    for (hf_block *b = fp->free, *next; b != NULL; b = next) {
        next = hfi_link_load(b);
        give_back(b);
    }
    give_back(fp->local_free);
    emptied(heap, fp);
}

/* Every kept block goes back to its owner (thread exit, trim). */
void hfi_foreign_flush(hf_heap *heap) {
    for (unsigned c = 0; c < HF_FOREIGN_CLASSES; c++)
        if (heap->foreign[c].local_free != NULL) flush_class(heap, c);
    heap->foreign_held = 0;
    heap->foreign_gc = 0;
}

/* Kept blocks pin their pages (they count in `used`). A class whose kept blocks were not
 * taken for HF_FOREIGN_IDLE_MS gives them back, so a thread that stopped allocating a class
 * does not hold other threads' pages for good. `free_limit`, unused on a stand-in, keeps the
 * `used` count seen at the last look. Runs from the heap's slow path (maybe_purge). */
void hfi_foreign_gc(hf_heap *heap, uint64_t now) {
    if (heap->foreign_gc == 0) {
        heap->foreign_gc = now + HF_FOREIGN_IDLE_MS;
        return;
    }
    if (now < heap->foreign_gc) return;
    bool held = false;
    for (unsigned c = 0; c < HF_FOREIGN_CLASSES; c++) {
        hf_page *fp = &heap->foreign[c];
        if (fp->local_free == NULL) continue;
        if (fp->used == fp->free_limit) {
            flush_class(heap, c);
        } else {
            fp->free_limit = fp->used;
            held = true;
        }
    }
    heap->foreign_held = held;
    heap->foreign_gc = held ? now + HF_FOREIGN_IDLE_MS : 0;
}

/* Validator: the count adds up, and every kept block is a freed block of a page of the class. */
bool hfi_foreign_is_valid(const hf_heap *heap, unsigned c, const char **why) {
    const hf_page *fp = &heap->foreign[c];
    const char *w = NULL;
    uint32_t held = 0;
    if (fp->free != NULL && fp->local_free == NULL) w = "kept blocks without an anchor";
    for (hf_block *b = fp->local_free; b != NULL && w == NULL;
         b = b == fp->local_free ? fp->free : hfi_link_load(b)) {
        hf_header *h = hfi_header_of_slow(b);
        if (h == NULL || (h->kind != HF_SEG_SMALL && h->kind != HF_SEG_MEDIUM)) {
            w = "kept block outside every page";
            break;
        }
        const hf_page *pg = hfi_page_of((hf_segment *)h, b);
        hfi_shadow_open(&b->mark, sizeof b->mark);
        bool marked = b->mark == ((uintptr_t)b ^ hfi_secret);
        hfi_shadow_close(&b->mark, sizeof b->mark);
        if (!pg->in_use || pg->class_idx != c)
            w = "kept block of another class";
        else if (!marked)
            w = "kept block not marked free";
        else if (++held > fp->capacity - fp->used)
            w = "more kept blocks than counted";
    }
    if (w == NULL && held != fp->capacity - fp->used) w = "fewer kept blocks than counted";
    if (w && why) *why = w;
    return w == NULL;
}
