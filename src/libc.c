/* libc.c -- the few libc services heapforge needs, written so that they never allocate:
 * getenv over `environ`, a small snprintf (%s %c %d %u %ld %lu %lld %llu %zu %zd %x %lx %p %%),
 * and a size parser that accepts K/M/G suffixes. */
#include "internal/internal.h"

#include <string.h>

extern char **environ;

const char *hfi_getenv(const char *name) {
    if (environ == NULL || name == NULL) return NULL;
    size_t len = strlen(name);
    for (char **e = environ; *e != NULL; e++) {
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') return *e + len + 1;
    }
    return NULL;
}

typedef struct out {
    char *buf;
    size_t n, pos;
} out;

static void put(out *o, char c) {
    if (o->pos + 1 < o->n) o->buf[o->pos] = c;
    o->pos++;
}

static void put_unsigned(out *o, unsigned long long v, unsigned base, int width, char pad) {
    char tmp[24];
    int i = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v != 0);
    while (width-- > i) put(o, pad);
    while (i > 0) put(o, tmp[--i]);
}

int hfi_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap) {
    out o = {buf, n, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        f++;
        char pad = ' ';
        int width = 0;
        if (*f == '0') pad = '0', f++;
        while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
        int longs = 0;
        bool size_t_arg = false;
        while (*f == 'l') longs++, f++;
        if (*f == 'z') size_t_arg = true, f++;
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s == NULL) s = "(null)";
            int len = (int)strlen(s);
            while (width-- > len) put(&o, ' ');
            while (*s) put(&o, *s++);
            break;
        }
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 'd': {
            long long v = size_t_arg   ? (long long)va_arg(ap, ptrdiff_t)
                          : longs >= 2 ? va_arg(ap, long long)
                          : longs == 1 ? va_arg(ap, long)
                                       : va_arg(ap, int);
            if (v < 0) put(&o, '-'), v = -v;
            put_unsigned(&o, (unsigned long long)v, 10, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = size_t_arg   ? va_arg(ap, size_t)
                                   : longs >= 2 ? va_arg(ap, unsigned long long)
                                   : longs == 1 ? va_arg(ap, unsigned long)
                                                : va_arg(ap, unsigned);
            put_unsigned(&o, v, *f == 'x' ? 16 : 10, width, pad);
            break;
        }
        case 'p':
            put(&o, '0'), put(&o, 'x');
            put_unsigned(&o, (uintptr_t)va_arg(ap, void *), 16, width, pad);
            break;
        case '%':
            put(&o, '%');
            break;
        case 0:
            f--;
            break;
        default:
            put(&o, '%'), put(&o, *f);
            break;
        }
    }
    if (n > 0) buf[o.pos < n ? o.pos : n - 1] = 0;
    return (int)o.pos;
}

int hfi_snprintf(char *buf, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = hfi_vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

bool hfi_parse_size(const char *s, long long *result) {
    if (s == NULL || *s == 0) return false;
    bool neg = false;
    if (*s == '-') neg = true, s++;
    if (*s < '0' || *s > '9') return false;
    unsigned long long v = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned long long d = (unsigned long long)(*s++ - '0');
        if (v > (~0ULL - d) / 10) return false;
        v = v * 10 + d;
    }
    unsigned shift = 0;
    switch (*s) {
    case 'k':
    case 'K':
        shift = 10;
        s++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        s++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        s++;
        break;
    default:
        break;
    }
    if (*s == 'i' || *s == 'I') s++;
    if (*s == 'b' || *s == 'B') s++;
    if (*s != 0) return false;
    if (shift && v > (~0ULL >> (shift + 1))) return false;
    v <<= shift;
    if (v > (unsigned long long)0x7fffffffffffffffLL) return false;
    *result = neg ? -(long long)v : (long long)v;
    return true;
}

/* A file name with %p replaced by the process id (one report per process after fork). */
void hfi_expand_path(char *dst, size_t n, const char *pattern) {
    size_t k = 0;
    for (const char *p = pattern; *p && k + 1 < n; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            k += (size_t)hfi_snprintf(dst + k, n - k, "%u", hfi_prim_process_id());
            if (k >= n) k = n - 1;
            p++;
        } else {
            dst[k++] = *p;
        }
    }
    dst[k] = 0;
}
