/* callsite/stack.c -- stack capture and the table of unique stacks (contract: stack.h).
 *
 * Unwinder: libgcc's _Unwind_Backtrace, linked statically (libgcc_eh, -static-libgcc) so the
 * library gains no runtime dependency and no first call can dlopen libgcc_s. It reads the
 * DWARF call frame information (.eh_frame) that Debian builds into every binary, so it walks
 * python3, sqlite3, git and gcc, built without frame pointers; a frame-pointer walk gives
 * garbage there (docs/architecture.md, "Stack capture", has the measurements and the
 * candidates). Each frame's FDE is found through glibc's _dl_find_object (glibc 2.35+): no
 * loader lock, no allocation, async-signal-safe. The first call initialises a register-size
 * table under pthread_once; hfi_stack_init makes it, outside malloc, before any capture runs.
 *
 * The table: HF_STACK_CAPACITY entries (frames, depth, hash), handed out by an atomic bump
 * index, and HF_STACK_SLOTS hash slots holding entry ids, published with a CAS. A lookup
 * probes linearly from the hash; an empty slot ends it, and the new stack is written into a
 * fresh entry before the CAS makes it visible, so a reader that sees an id sees its frames.
 * Two threads inserting the same new stack race for the slot; the loser keeps its entry as a
 * per-thread spare for its next new stack, so no entry is lost for good. Entries are never
 * removed: an id stays valid for the life of the process. When the entries run out, new
 * stacks get id 0 (counted in `dropped`); known stacks keep their ids. */
#include "callsite/stack.h"
#include "internal/internal.h"

#include <unwind.h>

typedef struct hf_stack_entry {
    uint32_t hash;
    uint32_t depth;
    uintptr_t pcs[HF_STACK_DEPTH];
} hf_stack_entry;

enum { HF_STACK_COLD, HF_STACK_WARMING, HF_STACK_READY, HF_STACK_BROKEN };

static struct {
    _Atomic(hf_stack_entry *) entries; /* HF_STACK_CAPACITY; entry 0 unused (id 0: none) */
    _Atomic(uint32_t) next;            /* next entry to hand out */
    _Atomic(uint32_t) count, dropped;
    _Atomic(int) state;
} table = {.next = 1};

/* The thread is inside hfi_stack_capture: a signal handler or an allocation made by the
 * unwinder that tries to capture gets 0. volatile: a signal handler reads it. */
static HF_TLS volatile bool capturing;
/* An entry this thread filled but lost the race to publish; reused for its next new stack. */
static HF_TLS uint32_t spare;

static size_t table_bytes(void) {
    return hf_align_up(sizeof(hf_stack_entry) * HF_STACK_CAPACITY +
                           sizeof(uint32_t) * HF_STACK_SLOTS,
                       HF_OS_PAGE_SIZE);
}

/* The table, mapped on first use (one mmap; pages are touched as stacks arrive). Two threads
 * may map at once; the loser unmaps its copy. NULL if the OS refuses. */
static hf_stack_entry *table_entries(void) {
    hf_stack_entry *e = atomic_load_explicit(&table.entries, memory_order_acquire);
    if (HF_LIKELY(e != NULL)) return e;
    hf_stack_entry *mine = hfi_prim_mmap(NULL, table_bytes(), false);
    if (mine == NULL) return NULL;
    if (atomic_compare_exchange_strong_explicit(&table.entries, &e, mine, memory_order_acq_rel,
                                                memory_order_acquire))
        return mine;
    hfi_prim_munmap(mine, table_bytes());
    return e;
}

/* The hash slots follow the entries in the same mapping. */
static inline _Atomic(uint32_t) *slots_of(hf_stack_entry *e) {
    return (_Atomic(uint32_t) *)(e + HF_STACK_CAPACITY);
}

static uint32_t stack_hash(const uintptr_t *pcs, unsigned depth) {
    uint64_t h = 0x9e3779b97f4a7c15u ^ depth;
    for (unsigned i = 0; i < depth; i++) {
        h ^= pcs[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    return (uint32_t)h;
}

static bool same_stack(const hf_stack_entry *e, uint32_t hash, const uintptr_t *pcs,
                       unsigned depth) {
    if (e->hash != hash || e->depth != depth) return false;
    for (unsigned i = 0; i < depth; i++)
        if (e->pcs[i] != pcs[i]) return false;
    return true;
}

/* A fresh entry for this thread, or 0 when the table is full. */
static uint32_t reserve_entry(void) {
    uint32_t id = spare;
    if (id != 0) {
        spare = 0;
        return id;
    }
    if (atomic_load_explicit(&table.next, memory_order_relaxed) >= HF_STACK_CAPACITY) return 0;
    id = atomic_fetch_add_explicit(&table.next, 1, memory_order_relaxed);
    return id < HF_STACK_CAPACITY ? id : 0;
}

/* The id of the stack, inserted if new; 0 if it is new and the table is full. */
static unsigned intern(const uintptr_t *pcs, unsigned depth) {
    hf_stack_entry *entries = table_entries();
    if (entries == NULL) return 0;
    _Atomic(uint32_t) *slots = slots_of(entries);
    uint32_t hash = stack_hash(pcs, depth);
    for (uint32_t i = hash, probes = 0; probes < HF_STACK_SLOTS; i++, probes++) {
        _Atomic(uint32_t) *slot = &slots[i & (HF_STACK_SLOTS - 1)];
        uint32_t id = atomic_load_explicit(slot, memory_order_acquire);
        if (id == 0) {
            uint32_t mine = reserve_entry();
            if (mine == 0) break;
            hf_stack_entry *e = &entries[mine];
            e->hash = hash, e->depth = depth;
            for (unsigned k = 0; k < depth; k++) e->pcs[k] = pcs[k];
            if (atomic_compare_exchange_strong_explicit(slot, &id, mine, memory_order_release,
                                                        memory_order_acquire)) {
                atomic_fetch_add_explicit(&table.count, 1, memory_order_relaxed);
                return mine;
            }
            spare = mine; /* another thread took the slot: compare with its stack */
        }
        if (same_stack(&entries[id], hash, pcs, depth)) return id;
    }
    atomic_fetch_add_explicit(&table.dropped, 1, memory_order_relaxed);
    return 0;
}

typedef struct hf_walk {
    unsigned skip, depth;
    uintptr_t pcs[HF_STACK_DEPTH];
} hf_walk;

static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *ctx, void *arg) {
    hf_walk *w = arg;
    int before_insn = 0;
    uintptr_t ip = _Unwind_GetIPInfo(ctx, &before_insn);
    if (ip == 0) return _URC_END_OF_STACK;
    if (w->skip > 0) {
        w->skip--;
        return _URC_NO_REASON;
    }
    /* A frame interrupted by a signal holds the faulting instruction itself, the others a
     * return address: stored +1 so that every frame is looked up at pc - 1. */
    w->pcs[w->depth++] = ip + (before_insn ? 1 : 0);
    return w->depth == HF_STACK_DEPTH ? _URC_END_OF_STACK : _URC_NO_REASON;
}

static _Unwind_Reason_Code warm_frame(struct _Unwind_Context *ctx, void *arg) {
    (void)ctx;
    ++*(unsigned *)arg;
    return _URC_NO_REASON;
}

bool hfi_stack_init(void) {
    int state = HF_STACK_COLD;
    if (atomic_compare_exchange_strong_explicit(&table.state, &state, HF_STACK_WARMING,
                                                memory_order_acq_rel, memory_order_acquire)) {
        unsigned frames = 0;
        _Unwind_Backtrace(warm_frame, &frames);
        state = frames > 0 ? HF_STACK_READY : HF_STACK_BROKEN;
        atomic_store_explicit(&table.state, state, memory_order_release);
    }
    while (state == HF_STACK_WARMING) { /* another thread is warming up */
        hfi_prim_yield();
        state = atomic_load_explicit(&table.state, memory_order_acquire);
    }
    return state == HF_STACK_READY;
}

HF_NOINLINE unsigned hfi_stack_capture(unsigned skip) {
    if (atomic_load_explicit(&table.state, memory_order_acquire) != HF_STACK_READY) return 0;
    if (capturing) return 0;
    capturing = true;
    atomic_signal_fence(memory_order_seq_cst);
    hf_walk w;
    w.skip = skip + 1; /* the first frame is this function's own */
    w.depth = 0;
    _Unwind_Backtrace(walk_frame, &w);
    unsigned id = w.depth > 0 ? intern(w.pcs, w.depth) : 0;
    atomic_signal_fence(memory_order_seq_cst);
    capturing = false;
    return id;
}

unsigned hfi_stack_frames(unsigned id, uintptr_t *pcs, unsigned max) {
    hf_stack_entry *entries = atomic_load_explicit(&table.entries, memory_order_acquire);
    if (id == 0 || id >= HF_STACK_CAPACITY || entries == NULL ||
        id >= atomic_load_explicit(&table.next, memory_order_relaxed))
        return 0;
    const hf_stack_entry *e = &entries[id];
    unsigned n = e->depth < max ? e->depth : max;
    for (unsigned i = 0; i < n; i++) pcs[i] = e->pcs[i];
    return n;
}

unsigned hfi_stack_count(void) {
    return atomic_load_explicit(&table.count, memory_order_relaxed);
}

unsigned hfi_stack_dropped(void) {
    return atomic_load_explicit(&table.dropped, memory_order_relaxed);
}
