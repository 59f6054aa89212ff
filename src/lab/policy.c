/* lab/policy.c -- the lab's policies by name and number, the process-wide arena of each policy
 * (hfi_lab_arena_default; lab/api.c has the public entry points), HEAPFORGE_POLICY (a lab policy
 * serving every malloc of the process), and the fork handlers that hold every arena's lock. */
#include "internal/internal.h"
#include "lab/lab.h"

#include <string.h>

static const hf_lab_policy *const policies[HF_POLICY_COUNT] = {
    [HF_POLICY_FIRST_FIT] = &hfi_policy_first_fit,
    [HF_POLICY_NEXT_FIT] = &hfi_policy_next_fit,
    [HF_POLICY_BEST_FIT] = &hfi_policy_best_fit,
    [HF_POLICY_WORST_FIT] = &hfi_policy_worst_fit,
    [HF_POLICY_SEGREGATED] = &hfi_policy_segregated,
    [HF_POLICY_BUDDY] = &hfi_policy_buddy,
    [HF_POLICY_TLSF] = &hfi_policy_tlsf,
};

static const char *const policy_names[HF_POLICY_COUNT] = {
    "fast", "first-fit", "next-fit", "best-fit", "worst-fit", "segregated", "buddy", "tlsf",
};

HF_API const char *hf_policy_name(hf_policy policy) {
    return (unsigned)policy < HF_POLICY_COUNT ? policy_names[policy] : NULL;
}

HF_API int hf_policy_from_name(const char *name, hf_policy *out) {
    for (unsigned i = 0; name != NULL && i < HF_POLICY_COUNT; i++) {
        if (strcmp(name, policy_names[i]) == 0) {
            if (out) *out = (hf_policy)i;
            return 0;
        }
    }
    return -1;
}

/* ---- policy parameters ("best-fit:min-split=64,region=1M") ------------------------------ */

enum { P_ALL = 1, P_SPLIT = 2, P_BUDDY = 4 }; /* which policies take a key */

static unsigned takes(hf_policy p) {
    if (p == HF_POLICY_FAST) return 0;
    return P_ALL | (p == HF_POLICY_BUDDY ? P_BUDDY : P_SPLIT);
}

static const struct param {
    const char *key;
    unsigned who;
} params[] = {{"region", P_ALL},     {"growth", P_ALL},         {"seed", P_ALL},
              {"backing", P_ALL},    {"mmap-threshold", P_ALL}, {"min-split", P_SPLIT},
              {"max-order", P_BUDDY}};

/* The keys policy p takes, for messages ("region, growth, ..."). */
static void keys_of(hf_policy p, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < sizeof params / sizeof params[0]; i++) {
        if (!(params[i].who & takes(p))) continue;
        int w = hfi_snprintf(buf + len, n - len, "%s%s", len ? ", " : "", params[i].key);
        if (w < 0 || (size_t)w >= n - len) break;
        len += (size_t)w;
    }
    if (len == 0) hfi_snprintf(buf, n, "none");
}

HF_API int hf_policy_parse(const char *spec, hf_policy *policy, hf_arena_config *config, char *err,
                           size_t errlen) {
    char buf[256], keys[160];
    if (errlen) err[0] = 0;
    if (spec == NULL || strlen(spec) >= sizeof buf) {
        hfi_snprintf(err, errlen, "policy '%s': empty or too long", spec ? spec : "");
        return -1;
    }
    strcpy(buf, spec);
    char *colon = strchr(buf, ':');
    if (colon) *colon = 0;
    hf_policy p;
    if (hf_policy_from_name(buf, &p) != 0) {
        hfi_snprintf(err, errlen,
                     "unknown policy '%s' (known: fast, first-fit, next-fit, best-fit, "
                     "worst-fit, segregated, buddy, tlsf)",
                     buf);
        return -1;
    }
    hf_arena_config cfg;
    memset(&cfg, 0, sizeof cfg);
    for (char *kv = colon ? colon + 1 : NULL, *next; kv != NULL; kv = next) {
        next = strchr(kv, ',');
        if (next) *next++ = 0;
        char *eq = strchr(kv, '=');
        keys_of(p, keys, sizeof keys);
        if (eq == NULL || eq == kv || eq[1] == 0) {
            hfi_snprintf(err, errlen, "%s: '%s' is not key=value (keys: %s)", buf, kv, keys);
            return -1;
        }
        *eq = 0;
        const char *val = eq + 1;
        unsigned i = 0, n = sizeof params / sizeof params[0];
        while (i < n && strcmp(params[i].key, kv) != 0) i++;
        if (i == n || !(params[i].who & takes(p))) {
            hfi_snprintf(err, errlen, "%s takes no parameter '%s' (keys: %s)", buf, kv, keys);
            return -1;
        }
        long long x = 0;
        bool ok;
        if (strcmp(kv, "backing") == 0) {
            ok = strcmp(val, "mmap") == 0 || strcmp(val, "sbrk") == 0;
            if (ok) cfg.backing = val[0] == 's' ? HF_BACKING_SBRK : HF_BACKING_MMAP;
            if (!ok) {
                hfi_snprintf(err, errlen, "%s: backing=%s: expected mmap or sbrk", buf, val);
                return -1;
            }
            continue;
        }
        ok = hfi_parse_size(val, &x) && x >= 0;
        if (strcmp(kv, "max-order") == 0) ok = ok && x >= 8 && x <= 40;
        if (strcmp(kv, "region") == 0 || strcmp(kv, "growth") == 0)
            ok = ok && x >= (4 << 10) && x <= (1LL << 40);
        if (!ok) {
            hfi_snprintf(err, errlen, "%s: %s=%s: expected %s", buf, kv, val,
                         strcmp(kv, "max-order") == 0 ? "an order from 8 to 40"
                         : strcmp(kv, "region") == 0 || strcmp(kv, "growth") == 0
                             ? "a size from 4K to 1024G"
                             : "a number (K/M/G suffixes allowed)");
            return -1;
        }
        if (strcmp(kv, "region") == 0) cfg.initial_size = (size_t)x;
        if (strcmp(kv, "growth") == 0) cfg.growth_step = (size_t)x;
        if (strcmp(kv, "seed") == 0) cfg.seed = (unsigned long long)x;
        if (strcmp(kv, "mmap-threshold") == 0) cfg.mmap_threshold = (size_t)x;
        if (strcmp(kv, "min-split") == 0) cfg.min_split = (size_t)x;
        if (strcmp(kv, "max-order") == 0) cfg.buddy_max_order = (unsigned)x;
    }
    if (policy) *policy = p;
    if (config) *config = cfg;
    return 0;
}

/* The vtable of a lab policy, or NULL for HF_POLICY_FAST and out-of-range values. */
const hf_lab_policy *hfi_lab_policy_ops(hf_policy policy) {
    return (unsigned)policy < HF_POLICY_COUNT ? policies[policy] : NULL;
}

/* ---- the process-wide arena of each policy ---------------------------------------------- */

/* The parameters HEAPFORGE_POLICY gave the process policy's arena ("best-fit:region=16M"). */
static hf_arena_config process_config;

/* HEAPFORGE_POLICY: a lab policy serves every malloc of the process. The thread heaps then
 * stay empty, so every call takes the malloc slow path, which comes here. */
void hfi_lab_policy_init(void) {
    static bool done;
    if (done || !hfi_options_read) return; /* once, after the environment was read */
    done = true;
    const char *name = hfi_options_policy;
    hf_policy p;
    char err[256];
    if (name == NULL || *name == 0) return;
    if (hf_policy_parse(name, &p, &process_config, err, sizeof err) != 0) {
        hfi_warn("ignoring HEAPFORGE_POLICY=%s: %s; using fast", name, err);
        return;
    }
    hfi_lab_process_policy = (int)p;
}

void *hfi_lab_process_malloc(size_t n, size_t align, bool zero) {
    hf_arena *a = hfi_lab_arena_default((hf_policy)hfi_lab_process_policy);
    if (a == NULL) {
        hfi_set_enomem();
        return NULL;
    }
    if (align > HF_LAB_ALIGN) return hf_arena_memalign(a, align, n); /* callers pass zero=0 */
    return zero ? hf_arena_calloc(a, 1, n) : hf_arena_malloc(a, n);
}

static hf_arena *_Atomic defaults[HF_POLICY_COUNT];
static hf_lock defaults_lock;

hf_arena *hfi_lab_arena_default(hf_policy policy) {
    if (hfi_lab_policy_ops(policy) == NULL) return NULL;
    hf_arena *a = atomic_load_explicit(&defaults[policy], memory_order_acquire);
    if (a != NULL) return a;
    hfi_lock(&defaults_lock);
    a = atomic_load_explicit(&defaults[policy], memory_order_relaxed);
    if (a == NULL) {
        a = hfi_lab_arena_create(policy,
                                 (int)policy == hfi_lab_process_policy ? &process_config : NULL);
        atomic_store_explicit(&defaults[policy], a, memory_order_release);
    }
    hfi_unlock(&defaults_lock);
    return a;
}

/* fork: every arena's lock (the process-wide ones and the program's own, arena.c's registry)
 * is taken around fork() like the allocator's own, then the break's. */
void hfi_lab_fork_prepare(void) {
    hfi_lock(
        &defaults_lock); /* hfi_lab_arena_default creates under it: taken before the registry */
    hfi_lab_arenas_fork(0);
    hfi_lab_sbrk_fork(0); /* after the arenas' locks, as in growth */
}

void hfi_lab_fork_parent(void) {
    hfi_lab_sbrk_fork(1);
    hfi_lab_arenas_fork(1);
    hfi_unlock(&defaults_lock);
}

void hfi_lab_fork_child(void) {
    hfi_lab_arenas_fork(2);
    hfi_lock_init(&defaults_lock);
    hfi_lab_sbrk_fork(2);
}
