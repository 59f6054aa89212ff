/* options.c -- the option table: HEAPFORGE_<NAME> environment variables parsed once at start-up
 * through HF_OPTION_LIST (internal.h). The only file that reads the environment. A bad value
 * gets one warning line and the default. */
#include "internal/internal.h"

/* The settings page (internal.h), with the options' defaults. */
#define HF_OPTION_DEFAULT(name, def, min, desc) .name = (def),
hf_settings_page hfi_settings_page = {.s.options = {HF_OPTION_LIST(HF_OPTION_DEFAULT)}};
#undef HF_OPTION_DEFAULT

static void upper(char *dst, const char *src, size_t n) {
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++)
        dst[i] = (src[i] >= 'a' && src[i] <= 'z') ? (char)(src[i] - 32) : src[i];
    dst[i] = 0;
}

static bool same_word(const char *a, const char *b) { /* ASCII, case-insensitive */
    for (; *a && *b; a++, b++)
        if ((*a | 32) != (*b | 32)) return false;
    return *a == *b;
}

/* Switches read as words too: yes/true/on are 1, no/false/off 0; HEAPFORGE_STATS=json is 2
 * (the exit report as JSON). */
static bool parse_word(const char *name, const char *v, long long *x) {
    static const char *const on[] = {"yes", "true", "on"}, *const off[] = {"no", "false", "off"};
    for (unsigned i = 0; i < 3; i++) {
        if (same_word(v, on[i])) return *x = 1, true;
        if (same_word(v, off[i])) return *x = 0, true;
    }
    if (strcmp(name, "stats") == 0 && same_word(v, "json")) return *x = 2, true;
    return false;
}

static void parse_one(const char *name, long long *slot, long long def, long long min) {
    char var[64] = "HEAPFORGE_";
    upper(var + 10, name, sizeof var - 10);
    const char *v = hfi_getenv(var);
    if (v == NULL) return;
    long long x;
    if ((!hfi_parse_size(v, &x) && !parse_word(name, v, &x)) || x < min) {
        hfi_warn("ignoring %s=%s: expected a number >= %lld (K/M/G suffixes allowed) or "
                 "yes/no%s; using %lld",
                 var, v, min, strcmp(name, "stats") == 0 ? " or json" : "", def);
        *slot = def;
        return;
    }
    *slot = x;
}

extern char **environ;

/* A HEAPFORGE_ variable that is no option (a misspelt HEAPFORGE_STAT=1) is reported, not
 * silently ignored. */
static void warn_unknown(void) {
    static const char *const text[] = {"POLICY", "STATS_FILE", "TRACE", "ON_ERROR"};
    for (char **e = environ; *e != NULL; e++) {
        if (strncmp(*e, "HEAPFORGE_", 10) != 0) continue;
        const char *name = *e + 10, *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        bool known = false;
        char up[64];
        for (unsigned i = 0; i < sizeof text / sizeof text[0] && !known; i++)
            known = strlen(text[i]) == n && strncmp(text[i], name, n) == 0;
#define HF_OPTION_KNOWN(oname, def, min, desc)                                                     \
    upper(up, #oname, sizeof up);                                                                  \
    known = known || (strlen(up) == n && strncmp(up, name, n) == 0);
        HF_OPTION_LIST(HF_OPTION_KNOWN)
#undef HF_OPTION_KNOWN
        if (known) continue;
        char var[64];
        size_t k = 0;
        for (; k < n + 10 && k + 1 < sizeof var; k++) var[k] = (*e)[k];
        var[k] = 0;
        hfi_warn("ignoring %s: not an option (HEAPFORGE_VERBOSE=1 lists them; see heapforge(3))",
                 var);
    }
}

/* The text options (hfi_options_policy: which allocator serves the whole process, lab/arena.c
 * turns the name into a policy; NULL when unset), HEAPFORGE_ON_ERROR and the read flag live on
 * the settings page too. */

/* Idempotent; does nothing until `environ` exists (the dynamic loader may call malloc first). */
void hfi_options_init(void) {
    static bool done;
    if (done || environ == NULL) return;
    done = true;
#define HF_OPTION_PARSE(name, def, min, desc) parse_one(#name, &hfi_options.name, def, min);
    HF_OPTION_LIST(HF_OPTION_PARSE)
#undef HF_OPTION_PARSE
    hfi_options_policy = hfi_getenv("HEAPFORGE_POLICY");
    hfi_options_stats_file = hfi_getenv("HEAPFORGE_STATS_FILE");
    hfi_options_trace = hfi_getenv("HEAPFORGE_TRACE");
    if (hfi_options_trace != NULL && hfi_options_trace[0] == 0) hfi_options_trace = NULL;
    const char *on_error = hfi_getenv("HEAPFORGE_ON_ERROR");
    if (on_error != NULL) {
        if (strcmp(on_error, "warn") == 0)
            hfi_options_warn = true;
        else if (strcmp(on_error, "abort") != 0)
            hfi_warn("ignoring HEAPFORGE_ON_ERROR=%s: expected abort or warn; using abort",
                     on_error);
    }
    if (hfi_options.secure > HF_SECURE_MAX) {
        hfi_warn("ignoring HEAPFORGE_SECURE=%lld: expected a level from 0 to %d; using 0",
                 hfi_options.secure, HF_SECURE_MAX);
        hfi_options.secure = 0;
    }
    warn_unknown();
    hfi_options_read = true;
    if (hfi_options.verbose) hfi_options_print();
    hfi_instrument_init();
}

void hfi_options_print(void) {
    char var[64];
#define HF_OPTION_SHOW(name, def, min, desc)                                                       \
    upper(var, #name, sizeof var);                                                                 \
    hfi_message("option HEAPFORGE_%s = %lld (%s)", var, hfi_options.name, desc);
    HF_OPTION_LIST(HF_OPTION_SHOW)
#undef HF_OPTION_SHOW
    hfi_message("option HEAPFORGE_POLICY = %s (the allocator serving the process)",
                hfi_options_policy ? hfi_options_policy : "fast");
    hfi_message("option HEAPFORGE_ON_ERROR = %s (on a detected heap error)",
                hfi_options_warn ? "warn" : "abort");
    if (hfi_options_stats_file)
        hfi_message("option HEAPFORGE_STATS_FILE = %s (where reports go)", hfi_options_stats_file);
    if (hfi_options_trace)
        hfi_message("option HEAPFORGE_TRACE = %s (every call recorded)", hfi_options_trace);
}

/* HEAPFORGE_SECURE=3, at the end of the constructor: the settings page becomes read-only for the
 * rest of the process (and its fork children). Nothing writes it after start-up. */
void hfi_settings_seal(void) {
    if (!hfi_prim_read_only(&hfi_settings_page, sizeof hfi_settings_page))
        hfi_warn("could not make the settings read-only");
}
