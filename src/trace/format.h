/* trace/format.h -- the binary trace format (docs/trace-format.md): constants, the event
 * record, and the encode/decode primitives that both the in-library recorder and the heapforge
 * tool use.
 *
 * Everything here works on caller-provided buffers, allocates nothing and calls no libc
 * function but memcpy/memset, because the recorder calls it from inside malloc. A trace is a
 * file header followed by independent chunks; each chunk holds the events of one thread, is
 * checksummed on its own, and can be written with one write() -- so a crash loses at most the
 * chunks still in the threads' buffers, never the file's structure. */
#ifndef HF_TRACE_FORMAT_H
#define HF_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define HFI_TRACE_VERSION         1
#define HFI_TRACE_MAGIC_LEN       8
#define HFI_TRACE_FILE_FIXED      38  /* file header bytes before the program name */
#define HFI_TRACE_NAME_MAX        255 /* longest program name kept (longer ones are cut) */
#define HFI_TRACE_FILE_HEADER_MAX (HFI_TRACE_FILE_FIXED + HFI_TRACE_NAME_MAX + 4)
#define HFI_TRACE_CHUNK_MAGIC     0x4B434648u /* "HFCK" in file order */
#define HFI_TRACE_CHUNK_HEADER    32
#define HFI_TRACE_EVENT_MAX       41 /* op byte + four 10-byte varints */
/* Readers reject chunks above this: a recorder's buffer is a few pages, so a bigger length is
 * corruption, and the bound keeps a bad length from being trusted. */
#define HFI_TRACE_PAYLOAD_MAX (16u << 20)

/* The file's first 8 bytes. */
extern const unsigned char hfi_trace_file_magic[HFI_TRACE_MAGIC_LEN];

/* Operation codes: the low nibble of the op byte. */
enum hfi_trace_op {
    HFI_TRACE_MALLOC = 1,  /* ptr size */
    HFI_TRACE_CALLOC = 2,  /* ptr size (count * size) */
    HFI_TRACE_REALLOC = 3, /* ptr size old_ptr */
    HFI_TRACE_ALIGNED = 4, /* ptr size align; variant in the high nibble */
    HFI_TRACE_FREE = 5     /* ptr */
};
/* Which aligned function made an HFI_TRACE_ALIGNED event (the op byte's high nibble). */
enum hfi_trace_aligned_variant {
    HFI_TRACE_MEMALIGN = 0,
    HFI_TRACE_POSIX_MEMALIGN = 1,
    HFI_TRACE_ALIGNED_ALLOC = 2,
    HFI_TRACE_VALLOC = 3,
    HFI_TRACE_PVALLOC = 4
};

/* One event, decoded. ptr 0 is a NULL result (a failed allocation) or, for realloc, a block
 * freed by realloc(p, 0). */
typedef struct hfi_trace_event {
    uint8_t op;       /* enum hfi_trace_op */
    uint8_t variant;  /* enum hfi_trace_aligned_variant, for HFI_TRACE_ALIGNED */
    uint64_t time_ns; /* monotonic clock, absolute */
    uint64_t ptr;     /* the result, or the pointer freed */
    uint64_t size;    /* bytes requested (calloc: count * size) */
    uint64_t old_ptr; /* realloc: the block passed in (0 for realloc(NULL, n)) */
    uint64_t align;   /* aligned: the alignment requested */
} hfi_trace_event;

/* A chunk being built in buf[0, cap): the header's 32 bytes are reserved at the front and
 * filled in by hfi_trace_chunk_finish. */
typedef struct hfi_trace_chunk {
    uint8_t *buf;
    size_t cap;
    size_t len; /* header + payload bytes used */
    uint32_t count;
    uint32_t thread;
    uint64_t base_ns;  /* the chunk's base timestamp */
    uint64_t last_ns;  /* time of the previous event (deltas are from it) */
    uint64_t last_ptr; /* previous pointer field (pointers are zigzag deltas from it) */
} hfi_trace_chunk;

/* A decoder over one chunk's payload. */
typedef struct hfi_trace_cursor {
    const uint8_t *payload;
    size_t len;
    size_t pos; /* offset of the next event in the payload */
    uint64_t last_ns;
    uint64_t last_ptr;
} hfi_trace_cursor;

/* CRC-32 (IEEE 802.3, reflected, the zlib one): start with crc = 0. */
uint32_t hfi_trace_crc32(uint32_t crc, const void *data, size_t n);
/* LEB128: put writes 1..10 bytes and returns the count; get returns the bytes read, or 0 when
 * the input ends inside the varint or it is longer than 10 bytes / overflows 64 bits. */
size_t hfi_trace_varint_put(uint8_t *out, uint64_t v);
size_t hfi_trace_varint_get(const uint8_t *in, size_t avail, uint64_t *out);

/* Header flags. FORKED: the process is a fork of a recorded process, started recording at the
 * fork, and may free or realloc blocks its parent allocated before that (the reader skips such
 * frees and takes such a realloc for a malloc). */
#define HFI_TRACE_FLAG_FORKED 1u
#define HFI_TRACE_FLAGS_KNOWN HFI_TRACE_FLAG_FORKED

/* The file header into buf (at least HFI_TRACE_FILE_HEADER_MAX bytes); returns its length. */
size_t hfi_trace_write_file_header(uint8_t *buf, uint32_t pid, uint64_t start_realtime_ns,
                                   uint64_t start_mono_ns, const char *program, uint32_t flags);

/* Starts a chunk in buf[0, cap) (cap >= HFI_TRACE_CHUNK_HEADER + HFI_TRACE_EVENT_MAX). */
void hfi_trace_chunk_begin(hfi_trace_chunk *c, void *buf, size_t cap, uint32_t thread,
                           uint64_t base_ns);
/* Appends one event; 0 when it does not fit (finish and flush the chunk, begin a new one and
 * put it again), 1 when stored. An event earlier than the previous one is stored at the
 * previous one's time (deltas are unsigned). */
int hfi_trace_chunk_put_event(hfi_trace_chunk *c, const hfi_trace_event *e);
/* Fills in the header (count, payload length, CRC); returns the bytes to write, from c->buf. A
 * chunk with no event returns 0: nothing to write. */
size_t hfi_trace_chunk_finish(hfi_trace_chunk *c);

/* Little-endian field access, shared with readers. */
void hfi_trace_put_u16(uint8_t *p, uint16_t v);
void hfi_trace_put_u32(uint8_t *p, uint32_t v);
void hfi_trace_put_u64(uint8_t *p, uint64_t v);
uint16_t hfi_trace_get_u16(const uint8_t *p);
uint32_t hfi_trace_get_u32(const uint8_t *p);
uint64_t hfi_trace_get_u64(const uint8_t *p);

/* Decoding one chunk's payload (whose CRC the caller has checked) against its base time. */
void hfi_trace_cursor_init(hfi_trace_cursor *c, const void *payload, size_t len, uint64_t base_ns);
/* 1: *e holds the next event; 0: the payload is used up; -1: malformed at c->pos, *why says
 * what (a static string). */
int hfi_trace_cursor_next(hfi_trace_cursor *c, hfi_trace_event *e, const char **why);

#endif /* HF_TRACE_FORMAT_H */
