/* callsite/stack.h -- call stacks for leak reports, heap profiles and fragmentation maps.
 *
 * Using it from a hook (instrument.c, once call sites are recorded):
 *
 *   at start-up, in the constructor, outside malloc:   hfi_stack_init();
 *   in the hooked allocation, before any allocator lock is taken:
 *       unsigned id = hfi_stack_capture(0);     // 0: no stack (see below); store the id
 *   in the report (cold; may run at exit or in a signal handler):
 *       uintptr_t pcs[HF_STACK_DEPTH];
 *       unsigned n = hfi_stack_frames(id, pcs, HF_STACK_DEPTH);
 *       for (i < n) { hfi_symbol_format(pcs[i], line, sizeof line); hfi_message("%s\n", line); }
 *
 * Cost: libgcc's DWARF unwinder (_Unwind_Backtrace over .eh_frame, linked statically into the
 * library, so no libgcc_s and no dlopen) walks at most HF_STACK_DEPTH frames; about 0.13 us a
 * frame plus one hash probe (docs/architecture.md, "Stack capture", has the numbers). That is
 * too much for every malloc of a busy program: capture on sampled calls or in the instrumented
 * modes only. The table is mapped on the first new stack (one mmap, never freed).
 *
 * hfi_stack_capture returns 0 when
 *   - hfi_stack_init has not run (the unwinder's first call must not happen inside malloc),
 *   - the calling thread is already capturing (a signal handler interrupting a capture, or an
 *     allocation made by the unwinder itself): never recursion, never a deadlock,
 *   - the table is full (HF_STACK_CAPACITY unique stacks) and the stack is a new one; stacks
 *     already in the table keep getting their ids; hfi_stack_dropped counts the refusals,
 *   - the unwinder found no frame.
 * Ids are stable for the life of the process (and of a forked child, which inherits the
 * table); the same stack always gets the same id, from any thread.
 *
 * Safety: no malloc, no lock (the table is lock-free: an atomic bump index and CAS-published
 * hash slots). The unwinder finds each frame's FDE with glibc's _dl_find_object, which is
 * lock-free and async-signal-safe, so capture works in a signal handler and in a forked child
 * (tests/unit/unit_stack.c). The symbolizer takes a lock of its own that knows its holder: a
 * signal handler on the thread that holds it, and a forked child of a process where another
 * thread held it, get "module+0xoff" only or take it over. */
#ifndef HF_CALLSITE_STACK_H
#define HF_CALLSITE_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

enum {
    HF_STACK_DEPTH = 16,          /* frames kept per stack: bounds the cost of a capture */
    HF_STACK_CAPACITY = 1u << 15, /* unique stacks (4.6 MiB of table, touched as used) */
    HF_STACK_SLOTS = 2 * HF_STACK_CAPACITY, /* hash slots: the index stays at most half full */
};

/* ---- callsite/stack.c ------------------------------------------------------------------ */
/* Warm the unwinder (its first call initialises state and touches the FDE tables) and allow
 * captures. Idempotent, thread-safe; call it where allocating is allowed. False: no unwinder. */
bool hfi_stack_init(void);
/* The id of the calling thread's stack, the caller of hfi_stack_capture first, after skipping
 * `skip` more frames; at most HF_STACK_DEPTH frames. 0: none (above). */
unsigned hfi_stack_capture(unsigned skip);
/* The frames of a stack (return addresses, innermost first); their number, at most max.
 * 0 for id 0 or an unknown id. */
unsigned hfi_stack_frames(unsigned id, uintptr_t *pcs, unsigned max);
unsigned hfi_stack_count(void);   /* unique stacks in the table */
unsigned hfi_stack_dropped(void); /* captures refused because the table was full */

/* ---- callsite/symbol.c ----------------------------------------------------------------- */
/* "function+0xoff (module+0xoff)" for a code address, from the ELF symbol tables (.symtab,
 * else .dynsym) of the module's file, mapped read-only; "module+0xoff" when no symbol covers
 * it, "0x..." outside every module. Never allocates. A return address is looked up at pc - 1
 * (the call instruction), so a call at a function's end names that function. Returns the
 * length written (as snprintf: truncated to n - 1). */
int hfi_symbol_format(uintptr_t pc, char *buf, size_t n);

/* ---- prim/file.c: read-only file mappings for the symbolizer --------------------------- */
/* The whole file mapped PROT_READ, its size in *size; NULL if it cannot be opened or mapped
 * (or is empty, or larger than 1 GiB). Unmap with hfi_prim_munmap. errno is kept. */
const void *hfi_prim_map_file(const char *path, size_t *size);

#pragma GCC visibility pop

#endif
