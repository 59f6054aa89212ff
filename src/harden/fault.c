/* harden/fault.c -- a fault handler that explains (HEAPFORGE_SECURE >= 2).
 *
 * Why: from level 2 heapforge makes memory inaccessible on purpose -- a guard page after every
 * large block (span) and at the end of every 4 MiB segment (guard.h), and at level 3 the payload
 * of every quarantined large block (quarantine.c), plus the sealed settings page -- so a linear
 * overflow or a use after free of a large block faults at once. Without help the program dies
 * of a bare SIGSEGV. This handler, installed by the constructor with sigaction when a level that
 * protects memory is on, looks at the fault address and, when it lies on memory heapforge
 * protected, prints one report line in the reporter's style:
 *
 *   heapforge: overflow past the end of 0x... (size N): write at offset K (address 0x...),
 *   thread T (no stacks: the call-site capture is not built)
 *
 * then hands the signal on. What it knows, and how:
 * - The page map (pagemap.c: its root and leaves are always mapped, never freed) says whether
 *   the address lies in a unit with a header; only then is the header read, and only after its
 *   cookie proves it ours. Nothing else is trusted: an address past the mapping (a foreign
 *   mapping sharing the unit) is not ours.
 * - Span: a fault in its guard (the mapping's last OS page) is an overflow past the end of its
 *   block; a fault inside the payload can only be the quarantine's PROT_NONE (level 3): a use
 *   after free. The size is the block's usable size (the requested size lives in the block map
 *   and the quarantine, behind locks a signal handler must not take).
 * - Segment: a fault in its last OS page (the guard) is an overflow past the end of the last
 *   block of the last page slot, when that slot is in use; otherwise an access to a guard page.
 * - Underflow before the start: no layout puts a guard before a block (a span's header page
 *   and a segment's header lie between a block and the guard below it), so it is never named.
 * - Zero-size blocks: malloc(0) returns an ordinary smallest block, there is no zero-size region.
 * - Read or write: on x86-64 the page-fault error code (REG_ERR, bit 1: write; bit 4: fetch);
 *   elsewhere "access".
 * Only kernel-sent SIGSEGV with SEGV_ACCERR (what PROT_NONE raises) and SIGBUS are examined; any
 * other fault goes on unchanged and silently.
 *
 * Chaining: the action in place when we installed ours is kept and honoured after the report
 * (or at once for a fault that is not ours): its sa_sigaction or sa_handler is called with its
 * sa_mask blocked, SA_RESETHAND resets it to the default; SIG_DFL -- and SIG_IGN, which the
 * kernel does not honour for a fault either -- restores the default action and returns, so the
 * faulting instruction runs again and the process dies of the same signal (a signal sent with
 * kill is raised again instead). A program that calls sigaction for SIGSEGV or SIGBUS after
 * start-up replaces this handler, as with ASan when it does not interpose sigaction: heapforge
 * does not interpose it, so the program's handler wins and no line is printed.
 *
 * Stack: the main thread gets a 64 KiB alternate signal stack if it has none, and the handler
 * runs on it (SA_ONSTACK), so a stack overflow in the main thread still reaches the program's
 * own handler. Other threads run it on their own stacks unless the program gives them one.
 *
 * Rules: the handler allocates nothing, takes no lock, and writes with the reporter's
 * non-allocating formatter. The signal calls (sigaction, sigaltstack, pthread_sigmask, raise)
 * are here rather than in prim/linux.c because they are this file's whole job. */
#include "internal/internal.h"

#include <pthread.h>
#include <signal.h>
#include <ucontext.h>

#define HF_FAULT_ALTSTACK ((size_t)64 << 10)

static struct sigaction prev_segv, prev_bus; /* the actions ours replaced */

typedef struct fault_site {
    const char *kind;    /* "overflow past the end", "use after free", ... */
    const uint8_t *base; /* the block (or the protected range); NULL: none */
    size_t size;         /* its usable size */
} fault_site;

/* Is a in [lo, lo + n)? */
static bool within(uintptr_t a, const void *lo, size_t n) {
    return a >= (uintptr_t)lo && a - (uintptr_t)lo < n;
}

static bool span_site(const hf_span *sp, uintptr_t a, fault_site *w) {
    const uint8_t *base = (const uint8_t *)sp;
    size_t guard = sp->guarded ? HF_OS_PAGE_SIZE : 0;
    const uint8_t *end = base + sp->h.map_size - guard; /* the payload's end, the guard's start */
    if (sp->user <= base || sp->user > end) return false;
    w->base = sp->user;
    w->size = (size_t)(end - sp->user);
    if (guard != 0 && within(a, end, guard)) {
        w->kind = hfi_error_message(HF_ERR_FAULT_OVERFLOW);
        return true;
    }
    /* Inside the payload: only the quarantine makes it inaccessible (level 3). */
    if (hfi_secure >= HF_SECURE_QUARANTINE && sp->state == HF_SPAN_LIVE &&
        within(a, sp->user, w->size)) {
        w->kind = hfi_error_message(HF_ERR_FAULT_USE_AFTER_FREE);
        return true;
    }
    return false;
}

static bool segment_site(const hf_segment *s, uintptr_t a, fault_site *w) {
    const uint8_t *guard = (const uint8_t *)s + HF_SEGMENT_SIZE - HF_OS_PAGE_SIZE;
    if (!within(a, guard, HF_OS_PAGE_SIZE)) return false;
    w->kind = hfi_error_message(HF_ERR_FAULT_GUARD);
    w->base = guard;
    w->size = 0;
    if (s->h.kind != HF_SEG_SMALL && s->h.kind != HF_SEG_MEDIUM) return true;
    unsigned last = s->h.page_count;
    if (last == 0 || last > HF_MAX_PAGES) return true;
    const hf_page *pg = &s->pages[last - 1];
    if (!pg->in_use || pg->reserved == 0 || pg->block_size == 0) return true;
    const uint8_t *lo = (const uint8_t *)s, *start = pg->start;
    if (start < lo || start >= guard) return true;
    w->kind = hfi_error_message(HF_ERR_FAULT_OVERFLOW);
    w->base = start + (size_t)(pg->reserved - 1) * pg->block_size;
    w->size = pg->block_size;
    return true;
}

/* What heapforge protected at a, if anything. Reads only what the page map proves is ours. */
static bool classify(uintptr_t a, fault_site *w) {
    if (hfi_secure >= HF_SECURE_QUARANTINE &&
        within(a, &hfi_settings_page, sizeof hfi_settings_page)) {
        w->kind = hfi_error_message(HF_ERR_FAULT_SETTINGS);
        w->base = (const uint8_t *)&hfi_settings_page;
        w->size = sizeof hfi_settings_page;
        return true;
    }
    const hf_header *h = hfi_header_of_slow((const void *)a);
    if (h == NULL || h->cookie != ((uintptr_t)h ^ hfi_secret)) return false;
    if (!within(a, h, h->map_size)) return false;
    if (h->kind == HF_SEG_SPAN) return span_site((const hf_span *)h, a, w);
    if (h->kind == HF_SEG_SMALL || h->kind == HF_SEG_MEDIUM || h->kind == HF_SEG_FREE)
        return segment_site((const hf_segment *)h, a, w);
    return false; /* lab regions protect nothing */
}

static const char *access_of(const void *ucontext) {
#if defined(__x86_64__) && defined(REG_ERR)
    const ucontext_t *uc = ucontext;
    unsigned long long err = (unsigned long long)uc->uc_mcontext.gregs[REG_ERR];
    if (err & 0x10) return "execute";
    return (err & 0x2) ? "write" : "read";
#else
    (void)ucontext;
    return "access";
#endif
}

static void explain(const fault_site *w, uintptr_t a, const void *ucontext) {
    const char *how = access_of(ucontext);
    unsigned tid = hfi_prim_thread_id();
    const char *nostacks = "(no stacks: the call-site capture is not built)";
    if (w->base != NULL && w->size != 0)
        hfi_message("%s of %p (size %zu): %s at offset %zu (address %p), thread %u %s", w->kind,
                    (const void *)w->base, w->size, how, (size_t)(a - (uintptr_t)w->base),
                    (void *)a, tid, nostacks);
    else
        hfi_message("%s at %p: %s, thread %u %s", w->kind, (void *)a, how, tid, nostacks);
}

/* Hand the signal to the action we replaced, as the kernel would have. */
static void chain(int sig, siginfo_t *si, void *ucontext, struct sigaction *prev) {
    struct sigaction p = *prev;
    if (p.sa_flags & SA_RESETHAND) {
        prev->sa_handler = SIG_DFL;
        prev->sa_flags = 0;
    }
    bool handler = (p.sa_flags & SA_SIGINFO) ? p.sa_sigaction != NULL
                                             : p.sa_handler != SIG_DFL && p.sa_handler != SIG_IGN;
    if (!handler) {
        bool sent = si == NULL || si->si_code <= 0; /* kill, tgkill, sigqueue */
        if (sent && !(p.sa_flags & SA_SIGINFO) && p.sa_handler == SIG_IGN) return;
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, NULL);
        if (sent) raise(sig); /* pending (blocked here) until the handler returns */
        return;               /* a fault: the instruction runs again, under the default */
    }
    sigset_t mask = p.sa_mask;
    if (!(p.sa_flags & SA_NODEFER)) sigaddset(&mask, sig);
    pthread_sigmask(SIG_BLOCK, &mask, NULL); /* the kernel restores ours when we return */
    if (p.sa_flags & SA_SIGINFO)
        p.sa_sigaction(sig, si, ucontext);
    else
        p.sa_handler(sig);
}

static void on_fault(int sig, siginfo_t *si, void *ucontext) {
    bool kernel = si != NULL && si->si_code > 0;
    bool examine = kernel && (sig == SIGBUS || si->si_code == SEGV_ACCERR);
    fault_site w = {NULL, NULL, 0};
    if (examine) {
        uintptr_t a = (uintptr_t)si->si_addr;
        if (classify(a, &w)) explain(&w, a, ucontext);
    }
    chain(sig, si, ucontext, sig == SIGBUS ? &prev_bus : &prev_segv);
}

/* The calling (main) thread gets an alternate signal stack unless it has one. */
static void altstack(void) {
    stack_t old;
    if (sigaltstack(NULL, &old) != 0 || !(old.ss_flags & SS_DISABLE)) return;
    void *p = hfi_prim_mmap(NULL, HF_FAULT_ALTSTACK, false);
    if (p == NULL) return;
    stack_t ss = {.ss_sp = p, .ss_size = HF_FAULT_ALTSTACK, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) hfi_prim_munmap(p, HF_FAULT_ALTSTACK);
}

/* From the constructor: install the handler when a level that protects memory is on. */
void hfi_fault_init(void) {
    if (hfi_secure < HF_SECURE_SHUFFLE) return;
    altstack();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &prev_segv) != 0) hfi_warn("could not install the fault handler");
    if (sigaction(SIGBUS, &sa, &prev_bus) != 0) hfi_warn("could not install the fault handler");
}
