/* trace_format.c -- the trace format's primitives (src/trace/format.c) on their own: CRC-32
 * against its check value, varints at every length and their malformed forms, chunks filled to
 * the brim and decoded back, file headers. */
#include "test_util.h"
#include "trace/format.h"

static void test_crc(void) {
    CHECK_EQ(hfi_trace_crc32(0, "123456789", 9), 0xCBF43926u); /* the CRC-32 check value */
    CHECK_EQ(hfi_trace_crc32(0, "", 0), 0);
    /* Incremental equals one pass. */
    uint32_t c = hfi_trace_crc32(0, "1234", 4);
    CHECK_EQ(hfi_trace_crc32(c, "56789", 5), 0xCBF43926u);
}

static void test_varint(void) {
    static const uint64_t vals[] = {
        0, 1, 127, 128, 16383, 16384, 0xFFFFFFFF, 1ULL << 56, UINT64_MAX - 1, UINT64_MAX};
    uint8_t buf[16];
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        size_t n = hfi_trace_varint_put(buf, vals[i]);
        CHECK(n >= 1 && n <= 10);
        uint64_t v = 0;
        CHECK_EQ(hfi_trace_varint_get(buf, n, &v), n);
        CHECK_EQ(v, vals[i]);
        if (n > 1) CHECK_EQ(hfi_trace_varint_get(buf, n - 1, &v), 0); /* cut short */
    }
    /* Eleven continuation bytes, and a tenth byte above 1: both overflow 64 bits. */
    memset(buf, 0x80, sizeof buf);
    uint64_t v;
    CHECK_EQ(hfi_trace_varint_get(buf, sizeof buf, &v), 0);
    buf[9] = 0x02;
    CHECK_EQ(hfi_trace_varint_get(buf, 10, &v), 0);
}

static void test_chunk(void) {
    static uint8_t buf[4096];
    hfi_trace_chunk c;
    uint64_t state = 99;
    hfi_trace_event in[512];
    hfi_trace_chunk_begin(&c, buf, sizeof buf, 7, 1000);
    CHECK_EQ(hfi_trace_chunk_finish(&c), 0); /* nothing to write yet */
    uint64_t t = 1000;
    size_t n = 0;
    for (;; n++) {
        CHECK(n < 512);
        hfi_trace_event *e = &in[n];
        memset(e, 0, sizeof *e);
        e->op = (uint8_t)(1 + test_rand(&state) % 5);
        t += test_rand(&state) % 100000;
        e->time_ns = t;
        e->ptr = n % 17 == 0 ? 0 : 0x7f0000000000ULL + (test_rand(&state) % (1 << 20)) * 16;
        if (e->op != HFI_TRACE_FREE) e->size = test_rand(&state) >> (test_rand(&state) % 64);
        if (e->op == HFI_TRACE_REALLOC) e->old_ptr = e->ptr ^ 0x1230;
        if (e->op == HFI_TRACE_ALIGNED) {
            e->align = 1ULL << (test_rand(&state) % 20);
            e->variant = (uint8_t)(test_rand(&state) % 5);
        }
        if (!hfi_trace_chunk_put_event(&c, e)) break;
    }
    CHECK(n > 50);
    size_t len = hfi_trace_chunk_finish(&c);
    CHECK(len <= sizeof buf && len > sizeof buf - HFI_TRACE_EVENT_MAX);
    CHECK_EQ(hfi_trace_get_u32(buf), HFI_TRACE_CHUNK_MAGIC);
    CHECK_EQ(hfi_trace_get_u32(buf + 4), 7);
    CHECK_EQ(hfi_trace_get_u32(buf + 8), n);
    CHECK_EQ(hfi_trace_get_u32(buf + 12), len - HFI_TRACE_CHUNK_HEADER);
    CHECK_EQ(hfi_trace_get_u64(buf + 16), 1000);
    CHECK_EQ(hfi_trace_get_u32(buf + 24),
             hfi_trace_crc32(0, buf + HFI_TRACE_CHUNK_HEADER, len - HFI_TRACE_CHUNK_HEADER));

    hfi_trace_cursor cur;
    hfi_trace_cursor_init(&cur, buf + HFI_TRACE_CHUNK_HEADER, len - HFI_TRACE_CHUNK_HEADER, 1000);
    hfi_trace_event e;
    const char *why = NULL;
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(hfi_trace_cursor_next(&cur, &e, &why), 1);
        CHECK_EQ(e.op, in[i].op);
        CHECK_EQ(e.time_ns, in[i].time_ns);
        CHECK_EQ(e.ptr, in[i].ptr);
        CHECK_EQ(e.size, in[i].size);
        CHECK_EQ(e.old_ptr, in[i].old_ptr);
        CHECK_EQ(e.align, in[i].align);
        CHECK_EQ(e.variant, in[i].variant);
    }
    CHECK_EQ(hfi_trace_cursor_next(&cur, &e, &why), 0);

    /* Every truncation of the payload is reported, never read past. */
    for (size_t cut = 1; cut < 64; cut++) {
        hfi_trace_cursor_init(&cur, buf + HFI_TRACE_CHUNK_HEADER, cut, 1000);
        int r;
        while ((r = hfi_trace_cursor_next(&cur, &e, &why)) == 1) {
        }
        CHECK(r == 0 || (r == -1 && why != NULL));
    }
    /* An unknown op code. */
    uint8_t bad[4] = {0x0F, 0, 0, 0};
    hfi_trace_cursor_init(&cur, bad, sizeof bad, 0);
    CHECK_EQ(hfi_trace_cursor_next(&cur, &e, &why), -1);

    /* Time going backwards is clamped, not wrapped. */
    hfi_trace_chunk_begin(&c, buf, sizeof buf, 1, 5000);
    hfi_trace_event back = {.op = HFI_TRACE_FREE, .time_ns = 10, .ptr = 0x1000};
    CHECK_EQ(hfi_trace_chunk_put_event(&c, &back), 1);
    len = hfi_trace_chunk_finish(&c);
    hfi_trace_cursor_init(&cur, buf + HFI_TRACE_CHUNK_HEADER, len - HFI_TRACE_CHUNK_HEADER, 5000);
    CHECK_EQ(hfi_trace_cursor_next(&cur, &e, &why), 1);
    CHECK_EQ(e.time_ns, 5000);
}

static void test_header(void) {
    uint8_t buf[HFI_TRACE_FILE_HEADER_MAX];
    char longname[400];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    size_t n = hfi_trace_write_file_header(buf, 1234, 5, 6, longname, 0);
    CHECK_EQ(n, HFI_TRACE_FILE_HEADER_MAX); /* the name is cut to HFI_TRACE_NAME_MAX */
    n = hfi_trace_write_file_header(buf, 1234, 5, 6, "prog", 0);
    CHECK_EQ(n, HFI_TRACE_FILE_FIXED + 4 + 4);
    CHECK(memcmp(buf, hfi_trace_file_magic, HFI_TRACE_MAGIC_LEN) == 0);
    CHECK_EQ(hfi_trace_get_u16(buf + 8), HFI_TRACE_VERSION);
    CHECK_EQ(hfi_trace_get_u16(buf + 10), n);
    CHECK_EQ(hfi_trace_get_u32(buf + 12), 1234);
    CHECK_EQ(hfi_trace_get_u64(buf + 16), 5);
    CHECK_EQ(hfi_trace_get_u64(buf + 24), 6);
    CHECK_EQ(hfi_trace_get_u16(buf + 36), 4);
    CHECK(memcmp(buf + HFI_TRACE_FILE_FIXED, "prog", 4) == 0);
    CHECK_EQ(hfi_trace_get_u32(buf + n - 4), hfi_trace_crc32(0, buf, n - 4));
    CHECK_EQ(hfi_trace_write_file_header(buf, 1, 2, 3, NULL, 0), HFI_TRACE_FILE_FIXED + 4);
}

int main(void) {
    test_crc();
    test_varint();
    test_chunk();
    test_header();
    printf("trace_format: ok\n");
    return 0;
}
