/* fuzz_trace -- the trace parser (tools/heapforge/trace_load.c) on arbitrary bytes.
 *
 * Every input must either load or be refused with one error line; the parser must not crash,
 * read outside the input, leak or hang. Each input is parsed twice:
 *   1. as it is (binary trace, .rep text, or neither);
 *   2. if it starts with the binary magic, on a copy whose file-header and chunk CRCs are
 *      recomputed wherever the framing holds, so that mutated event payloads get past the
 *      checksums and reach the event decoder and the address-to-id mapping.
 * A trace that loads is checked for what the tool relies on: every block id below nids (or
 * HFT_NO_ID for a failed allocation), sizes within the limit, a NUL-terminated program name,
 * and a refusal leaves an empty trace and a non-empty message. */
#include <string.h>

#include "fuzz_util.h"
#include "tool.h"
#include "trace/format.h"

static void check_trace(const hft_trace *t) {
    FUZZ_CHECK(memchr(t->program, 0, sizeof t->program) != NULL, "program name not terminated");
    for (size_t i = 0; i < t->nops; i++) {
        const hft_op *o = &t->ops[i];
        FUZZ_CHECK(o->op < HFT_KINDS, "op %zu: kind %u", i, o->op);
        if (o->failed && o->op != HFT_REALLOC)
            FUZZ_CHECK(o->id == HFT_NO_ID, "op %zu: failed allocation with id %u", i, o->id);
        else
            FUZZ_CHECK(o->id < t->nids, "op %zu: id %u of %u", i, o->id, t->nids);
        FUZZ_CHECK(o->size <= HFT_SIZE_LIMIT, "op %zu: size %llu", i, (unsigned long long)o->size);
        FUZZ_CHECK(o->op != HFT_FREE || o->size == 0, "op %zu: free with a size", i);
    }
    (void)hft_trace_peak_live(t, NULL); /* indexes by id: out-of-range ids would show here */
}

static void parse(const uint8_t *data, size_t size) {
    hft_trace t;
    char err[512];
    err[0] = 0;
    int rc = hft_trace_load_mem("fuzz", data, size, &t, err, sizeof err);
    if (rc == 0) {
        check_trace(&t);
        hft_trace_free(&t);
    } else {
        FUZZ_CHECK(rc == HFT_EXIT_BADFILE, "load returned %d", rc);
        FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL, "bad message '%s'", err);
        FUZZ_CHECK(t.ops == NULL && t.nops == 0, "a refused trace keeps %zu ops", t.nops);
    }
}

/* Recomputes the CRCs a binary trace carries, following the framing as far as it holds. */
static void fix_crcs(uint8_t *b, size_t len) {
    if (len < HFI_TRACE_FILE_FIXED + 4) return;
    size_t hsize = hfi_trace_get_u16(b + 10);
    if (hsize < HFI_TRACE_FILE_FIXED + 4 || hsize > len) return;
    hfi_trace_put_u32(b + hsize - 4, hfi_trace_crc32(0, b, hsize - 4));
    for (size_t off = hsize; len - off >= HFI_TRACE_CHUNK_HEADER;) {
        uint32_t plen = hfi_trace_get_u32(b + off + 12);
        if (plen > len - off - HFI_TRACE_CHUNK_HEADER) return;
        hfi_trace_put_u32(b + off + 24, hfi_trace_crc32(0, b + off + HFI_TRACE_CHUNK_HEADER, plen));
        off += HFI_TRACE_CHUNK_HEADER + plen;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse(data, size);
    if (size >= HFI_TRACE_MAGIC_LEN &&
        memcmp(data, hfi_trace_file_magic, HFI_TRACE_MAGIC_LEN) == 0) {
        uint8_t *copy = malloc(size);
        if (copy == NULL) return 0;
        memcpy(copy, data, size);
        fix_crcs(copy, size);
        parse(copy, size);
        free(copy);
    }
    return 0;
}
