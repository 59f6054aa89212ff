/* callsite/symbol.c -- code addresses to "function+0xoff (module+0xoff)", in process, without
 * allocating (contract: stack.h).
 *
 * The module comes from glibc's _dl_find_object (lock-free, no allocation, async-signal-safe):
 * its link map gives the load bias and the file name ("" for the program: /proc/self/exe, named
 * by glibc's program_invocation_short_name).
 * The file is mapped read-only (prim/file.c) and its symbol table read in place: .symtab when
 * the file has one, else .dynsym (Debian strips .symtab; .dynsym still names every exported
 * function, and python3 exports nearly all of its own). A linear scan finds the function
 * symbol that covers the address: cold code, reports only. dladdr would do without mapping
 * files, but it reads .dynsym only (no static functions) and takes the loader lock.
 *
 * Mapped modules are kept in a fixed table of HF_SYMBOL_MODULES; past that, a module is mapped
 * for the one call and unmapped. A module unloaded by dlclose and another loaded at the same
 * addresses would keep the old entry (keyed by link map and range): the report of a long-lived
 * process that reloads plugins may name the old file's functions.
 *
 * The table's lock records its holder (pid and thread): a signal handler on the holding thread
 * prints "module+0xoff" only instead of waiting for itself, and a forked child takes over a
 * lock a thread of its parent held. */
#include "callsite/stack.h"
#include "internal/internal.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

enum { HF_SYMBOL_MODULES = 64, HF_SYMBOL_NAME = 48 };

typedef struct hf_module {
    uintptr_t start, end; /* the mapping _dl_find_object reported */
    const void *map;      /* the link map: part of the key */
    const uint8_t *file;  /* the file mapped read-only, NULL if it could not be */
    size_t file_size;
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *strs;
    size_t strs_size;
    char name[HF_SYMBOL_NAME]; /* the file's base name */
} hf_module;

static struct {
    _Atomic(uint64_t) owner; /* pid << 32 | thread id, 0 when free */
    unsigned used;
    hf_module modules[HF_SYMBOL_MODULES];
} cache;

static uint64_t self_id(void) {
    return (uint64_t)hfi_prim_process_id() << 32 | hfi_prim_thread_id();
}

/* Take the cache lock; false when this thread already holds it (a signal handler interrupted
 * it). A holder from another process (the parent of a forked child) is taken over. */
static bool cache_lock(uint64_t me) {
    for (;;) {
        uint64_t held = 0;
        if (atomic_compare_exchange_weak_explicit(&cache.owner, &held, me, memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
        if (held == me) return false;
        if (held != 0 && (held >> 32) != (me >> 32) &&
            atomic_compare_exchange_strong_explicit(&cache.owner, &held, me, memory_order_acquire,
                                                    memory_order_relaxed))
            return true;
        hfi_prim_yield();
    }
}

static void cache_unlock(void) {
    atomic_store_explicit(&cache.owner, 0, memory_order_release);
}

static void base_name(char *out, const char *path) {
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/') b = p + 1;
    hfi_snprintf(out, HF_SYMBOL_NAME, "%s", b);
}

/* Map a module's file and find its symbol table; the module keeps file == NULL on failure. */
static void module_load(hf_module *m, const char *path) {
    size_t size = 0;
    const uint8_t *f = hfi_prim_map_file(path, &size);
    if (f == NULL) return;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
    if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff > size || (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum) {
        hfi_prim_munmap((void *)f, size);
        return;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
    const Elf64_Shdr *best = NULL;
    for (unsigned i = 0; i < eh->e_shnum; i++)
        if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && best == NULL))
            best = &sh[i];
    if (best != NULL && best->sh_link < eh->e_shnum && best->sh_offset <= size &&
        best->sh_size <= size - best->sh_offset && sh[best->sh_link].sh_offset <= size &&
        sh[best->sh_link].sh_size <= size - sh[best->sh_link].sh_offset) {
        m->syms = (const Elf64_Sym *)(f + best->sh_offset);
        m->nsyms = best->sh_size / sizeof(Elf64_Sym);
        m->strs = (const char *)(f + sh[best->sh_link].sh_offset);
        m->strs_size = sh[best->sh_link].sh_size;
    }
    m->file = f, m->file_size = size;
}

static void module_unload(hf_module *m) {
    if (m->file != NULL) hfi_prim_munmap((void *)m->file, m->file_size);
    m->file = NULL;
}

/* The function symbol that covers addr (a link-time address), or NULL; *value its start. */
static const char *module_symbol(const hf_module *m, uintptr_t addr, uintptr_t *value) {
    const Elf64_Sym *hit = NULL;
    for (size_t i = 0; i < m->nsyms; i++) {
        const Elf64_Sym *s = &m->syms[i];
        unsigned type = ELF64_ST_TYPE(s->st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF ||
            s->st_value > addr || s->st_name >= m->strs_size)
            continue;
        if (addr < s->st_value + s->st_size) {
            hit = s;
            if (ELF64_ST_BIND(s->st_info) != STB_LOCAL) break; /* prefer a global alias */
        }
    }
    if (hit == NULL) return NULL;
    const char *name = m->strs + hit->st_name;
    /* the name must end inside the string table */
    if (memchr(name, 0, m->strs_size - hit->st_name) == NULL) return NULL;
    *value = hit->st_value;
    return name;
}

static void module_init(hf_module *m, const struct dl_find_object *fo) {
    const struct link_map *lm = fo->dlfo_link_map;
    const char *path = lm->l_name != NULL && lm->l_name[0] ? lm->l_name : NULL;
    memset(m, 0, sizeof *m);
    m->start = (uintptr_t)fo->dlfo_map_start, m->end = (uintptr_t)fo->dlfo_map_end;
    m->map = lm;
    if (path != NULL) {
        base_name(m->name, path);
    } else {
        /* glibc's copy of argv[0]'s base name: a global, set before main */
        const char *prog = program_invocation_short_name;
        hfi_snprintf(m->name, sizeof m->name, "%s", prog != NULL && prog[0] ? prog : "main");
        path = "/proc/self/exe";
    }
    /* The vdso has a name but no file; "linux-vdso.so.1" fails to open and stays unnamed. */
    module_load(m, path);
}

static int format_in(const hf_module *m, uintptr_t bias, uintptr_t pc, char *buf, size_t n) {
    uintptr_t off = pc - bias, value = 0;
    const char *fn = m->file != NULL ? module_symbol(m, off - 1, &value) : NULL;
    if (fn != NULL)
        return hfi_snprintf(buf, n, "%s+0x%zx (%s+0x%zx)", fn, (size_t)(off - value), m->name,
                            (size_t)off);
    return hfi_snprintf(buf, n, "%s+0x%zx", m->name, (size_t)off);
}

int hfi_symbol_format(uintptr_t pc, char *buf, size_t n) {
    struct dl_find_object fo;
    /* pc - 1: a return address just past a call at the end of a module belongs to it */
    if (pc == 0 || _dl_find_object((void *)(pc - 1), &fo) != 0 || fo.dlfo_link_map == NULL)
        return hfi_snprintf(buf, n, "0x%zx", (size_t)pc);
    uintptr_t bias = fo.dlfo_link_map->l_addr;
    uint64_t me = self_id();
    if (!cache_lock(me)) {
        hf_module bare;
        memset(&bare, 0, sizeof bare);
        const char *path = fo.dlfo_link_map->l_name;
        base_name(bare.name, path != NULL && path[0] ? path : program_invocation_short_name);
        return format_in(&bare, bias, pc, buf, n);
    }
    hf_module *m = NULL;
    for (unsigned i = 0; i < cache.used && m == NULL; i++)
        if (cache.modules[i].map == fo.dlfo_link_map &&
            cache.modules[i].start == (uintptr_t)fo.dlfo_map_start &&
            cache.modules[i].end == (uintptr_t)fo.dlfo_map_end)
            m = &cache.modules[i];
    int len;
    if (m == NULL && cache.used < HF_SYMBOL_MODULES) {
        m = &cache.modules[cache.used++];
        module_init(m, &fo);
    }
    if (m != NULL) {
        len = format_in(m, bias, pc, buf, n);
    } else { /* the table is full: map the file for this call only */
        hf_module once;
        module_init(&once, &fo);
        len = format_in(&once, bias, pc, buf, n);
        module_unload(&once);
    }
    cache_unlock();
    return len;
}
