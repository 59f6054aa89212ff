/* report.c -- the one cold reporter. Every detected heap error prints one stable line,
 * `heapforge: <error> of 0x... (size N)`, and aborts -- or, with HEAPFORGE_ON_ERROR=warn,
 * returns, and the caller leaves the bad block alone. It never allocates. */
#include "internal/internal.h"

static void emit(const char *fmt, va_list ap) {
    char buf[512];
    int n = hfi_snprintf(buf, sizeof buf, "heapforge: ");
    n += hfi_vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    hfi_prim_write_stderr(buf, (size_t)n);
}

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void hfi_message(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void hfi_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

static const char *const messages[HF_ERR_COUNT] = {
#define HF_ERROR_MESSAGE(kind, message) message,
    HF_ERROR_LIST(HF_ERROR_MESSAGE)
#undef HF_ERROR_MESSAGE
};

const char *hfi_error_message(hf_error kind) {
    return (unsigned)kind < HF_ERR_COUNT ? messages[kind] : "heap error";
}

void hfi_report(hf_error kind, const void *p, size_t size) {
    hfi_report_error(hfi_error_message(kind), p, size);
}

void hfi_report_error(const char *what, const void *p, size_t size) {
    if (size != 0)
        say("%s of %p (size %zu)", what, p, size);
    else
        say("%s of %p", what, p);
    if (!hfi_options_warn) hfi_prim_abort();
}

void hfi_assert_fail(const char *cond, const char *file, int line) {
    say("assertion failed: %s at %s:%d", cond, file, line);
    hfi_prim_abort();
}
