/* options.c -- the option table: HEAPFORGE_<NAME> environment variables parsed once at start-up
 * through HF_OPTION_LIST (internal.h). The only file that reads the environment. A bad value
 * gets one warning line and the default. */
#include "internal/internal.h"

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

/* ---- HEAPFORGE_CONF ----------------------------------------------------------------------
 * One string for every option, like MALLOC_CONF: "purge_delay:0,stats:1,policy:best-fit". Keys
 * are the option names in lower case (the HEAPFORGE_ variables' suffixes); a HEAPFORGE_<NAME>
 * variable wins over the same key here. The string is copied once and cut in place, so the
 * text options can point into it. */
enum { CONF_MAX = 1024, CONF_KEYS = 32 };
static char conf_buf[CONF_MAX];
static const char *conf_key[CONF_KEYS], *conf_val[CONF_KEYS];
enum { FROM_DEFAULT, FROM_ENV, FROM_CONF }; /* where an option's value came from */
static unsigned conf_n;
static bool conf_used[CONF_KEYS];

static void conf_parse(void) {
    const char *c = hfi_getenv("HEAPFORGE_CONF");
    if (c == NULL || *c == 0) return;
    size_t n = strlen(c);
    if (n >= CONF_MAX) {
        hfi_warn("ignoring HEAPFORGE_CONF: longer than %d bytes", CONF_MAX - 1);
        return;
    }
    memcpy(conf_buf, c, n + 1);
    for (char *p = conf_buf; *p != 0 && conf_n < CONF_KEYS;) {
        char *end = strchr(p, ',');
        if (end != NULL) *end = 0;
        char *colon = strchr(p, ':');
        if (colon == NULL || colon == p) {
            if (*p != 0) hfi_warn("ignoring '%s' in HEAPFORGE_CONF: expected key:value", p);
        } else {
            *colon = 0;
            conf_key[conf_n] = p;
            conf_val[conf_n++] = colon + 1;
        }
        if (end == NULL) break;
        p = end + 1;
    }
}

/* HEAPFORGE_<NAME>, else the key name in HEAPFORGE_CONF; *from says which ("HEAPFORGE_X",
 * "HEAPFORGE_CONF" or NULL when neither). */
static const char *option_value(const char *name, const char *var, uint8_t *from) {
    const char *conf = NULL;
    for (unsigned i = 0; i < conf_n; i++) { /* the last of repeated keys wins */
        if (strcmp(conf_key[i], name) != 0) continue;
        conf_used[i] = true;
        conf = conf_val[i];
    }
    const char *v = hfi_getenv(var);
    *from = v != NULL ? FROM_ENV : conf != NULL ? FROM_CONF : FROM_DEFAULT;
    return v != NULL ? v : conf;
}

/* Where each option's value came from, for HEAPFORGE_VERBOSE (index: the option list's order;
 * the text options after). */
enum {
#define HF_OPTION_INDEX(name, def, min, desc) OPT_##name,
    HF_OPTION_LIST(HF_OPTION_INDEX)
#undef HF_OPTION_INDEX
        OPT_policy,
    OPT_stats_file,
    OPT_trace,
    OPT_on_error,
    OPT_COUNT
};
static uint8_t opt_from[OPT_COUNT];

static const char *text_option(const char *name, const char *var, unsigned idx) {
    return option_value(name, var, &opt_from[idx]);
}

static void parse_one(const char *name, long long *slot, long long def, long long min,
                      unsigned idx) {
    char var[64] = "HEAPFORGE_";
    upper(var + 10, name, sizeof var - 10);
    const char *v = option_value(name, var, &opt_from[idx]);
    if (v == NULL) return;
    if (opt_from[idx] == FROM_CONF) { /* name the key in messages */
        hfi_snprintf(var, sizeof var, "HEAPFORGE_CONF %s", name);
    }
    long long x;
    if ((!hfi_parse_size(v, &x) && !parse_word(name, v, &x)) || x < min) {
        hfi_warn("ignoring %s=%s: expected a number >= %lld (K/M/G suffixes allowed) or "
                 "yes/no%s; using %lld",
                 var, v, min, strcmp(name, "stats") == 0 ? " or json" : "", def);
        *slot = def;
        opt_from[idx] = FROM_DEFAULT;
        return;
    }
    *slot = x;
}

extern char **environ;

/* A HEAPFORGE_ variable that is no option (a misspelt HEAPFORGE_STAT=1) is reported, not
 * silently ignored. */
static void warn_unknown(void) {
    static const char *const text[] = {"POLICY", "STATS_FILE", "TRACE", "ON_ERROR", "CONF"};
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

/* Idempotent; does nothing until `environ` exists (the dynamic loader may call malloc first).
 * True on the call that read it (init.c then decides the hooks, once). */
bool hfi_options_init(void) {
    static bool done;
    if (done || environ == NULL) return false;
    done = true;
    conf_parse();
#define HF_OPTION_PARSE(name, def, min, desc)                                                      \
    parse_one(#name, &hfi_options.name, def, min, OPT_##name);
    HF_OPTION_LIST(HF_OPTION_PARSE)
#undef HF_OPTION_PARSE
    hfi_options_policy = text_option("policy", "HEAPFORGE_POLICY", OPT_policy);
    hfi_options_stats_file = text_option("stats_file", "HEAPFORGE_STATS_FILE", OPT_stats_file);
    hfi_options_trace = text_option("trace", "HEAPFORGE_TRACE", OPT_trace);
    if (hfi_options_trace != NULL && hfi_options_trace[0] == 0) hfi_options_trace = NULL;
    const char *on_error = text_option("on_error", "HEAPFORGE_ON_ERROR", OPT_on_error);
    for (unsigned i = 0; i < conf_n; i++)
        if (!conf_used[i])
            hfi_warn("ignoring '%s' in HEAPFORGE_CONF: no such option (HEAPFORGE_VERBOSE=1 lists "
                     "them)",
                     conf_key[i]);
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
    return true;
}

/* "HEAPFORGE_X", "HEAPFORGE_CONF" or "default": where option idx (variable var) came from. */
static const char *from(unsigned idx, const char *var) {
    return opt_from[idx] == FROM_ENV    ? var
           : opt_from[idx] == FROM_CONF ? "HEAPFORGE_CONF"
                                        : "default";
}

void hfi_options_print(void) {
    char var[64];
#define HF_OPTION_SHOW(name, def, min, desc)                                                       \
    hfi_snprintf(var, sizeof var, "HEAPFORGE_");                                                   \
    upper(var + 10, #name, sizeof var - 10);                                                       \
    hfi_message("option %s = %lld (%s) [%s]", var, hfi_options.name, desc, from(OPT_##name, var));
    HF_OPTION_LIST(HF_OPTION_SHOW)
#undef HF_OPTION_SHOW
    hfi_message("option HEAPFORGE_POLICY = %s (the allocator serving the process) [%s]",
                hfi_options_policy ? hfi_options_policy : "fast",
                from(OPT_policy, "HEAPFORGE_POLICY"));
    hfi_message("option HEAPFORGE_ON_ERROR = %s (on a detected heap error) [%s]",
                hfi_options_warn ? "warn" : "abort", from(OPT_on_error, "HEAPFORGE_ON_ERROR"));
    if (hfi_options_stats_file)
        hfi_message("option HEAPFORGE_STATS_FILE = %s (where reports go) [%s]",
                    hfi_options_stats_file, from(OPT_stats_file, "HEAPFORGE_STATS_FILE"));
    if (hfi_options_trace)
        hfi_message("option HEAPFORGE_TRACE = %s (every call recorded) [%s]", hfi_options_trace,
                    from(OPT_trace, "HEAPFORGE_TRACE"));
}

/* HEAPFORGE_SECURE=3, at the end of the constructor: the settings page becomes read-only for the
 * rest of the process (and its fork children). Nothing writes it after start-up. */
void hfi_settings_seal(void) {
    if (!hfi_prim_read_only(&hfi_settings_page, sizeof hfi_settings_page))
        hfi_warn("could not make the settings read-only");
}
