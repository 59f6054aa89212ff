/* trace/record.c -- the recorder behind HEAPFORGE_TRACE=file: every allocation call of the
 * program, in the binary format of docs/trace-format.md (encoded by trace/format.c).
 *
 * Each thread appends events to a buffer of its own (mapped from the OS, never from the heap
 * being recorded) and writes it as one checksummed chunk when it fills, when the thread exits,
 * and at process exit. Chunks of different threads interleave in the file; the reader merges
 * them by timestamp. The timestamps are chosen so that merging is safe for reused addresses:
 * an allocation is stamped after it returns, a free before it starts, and a realloc before it
 * starts (its old block may be reused by another thread as soon as it returns).
 *
 * A buffer has a tiny lock, taken by its owner per event and by the exit flush, so the flush
 * never reads a half-written event. Writes of whole chunks to the file are serialised by the
 * file lock. After fork, the child drops what it inherited: with %p in the file name it starts
 * a file of its own, flagged FORKED (it may free blocks its parent allocated), otherwise it
 * stops recording (the parent's file is the parent's).
 *
 * Without %p, every process started under the same environment (a shell script's commands, a
 * program's children) would write the same file: the first process claims it, and a later one
 * takes it over only when the file was made by its own pid (exec keeps the pid: a wrapper that
 * execs the real program hands the trace on) or by a process that no longer runs (a stale file
 * of an earlier run). The others run unrecorded. */
#include "internal/internal.h"
#include "trace/format.h"

#define TRACE_BUF_BYTES         (64 * 1024) /* one chunk: header + events */
#define HFI_TRACE_FIXED_PID_END 17          /* bytes to read for the header's pid (+1 NUL) */

typedef struct trace_buf {
    hf_lock lock;
    struct trace_buf *next; /* every buffer, for the exit flush */
    bool in_use;            /* owned by a live thread */
    hfi_trace_chunk chunk;
    uint8_t data[TRACE_BUF_BYTES];
} trace_buf;

static hf_lock file_lock; /* fd, and the order of chunks in the file */
static hf_lock list_lock; /* bufs */
static int fd = -1;
static atomic_bool recording;
static bool pattern_has_pid;
static char pattern_copy[512];
static trace_buf *bufs;
static HF_TLS trace_buf *tl_buf;

/* The pid in an existing trace file's header, 0 when it is not a trace. */
static uint32_t file_owner(const char *path) {
    char h[HFI_TRACE_FIXED_PID_END];
    if (hfi_prim_read_file(path, h, sizeof h) < HFI_TRACE_FIXED_PID_END - 1) return 0;
    if (memcmp(h, hfi_trace_file_magic, HFI_TRACE_MAGIC_LEN) != 0) return 0;
    return hfi_trace_get_u32((const uint8_t *)h + 12);
}

static int claim(const char *path) {
    if (pattern_has_pid) return hfi_prim_open_write(path, false);
    int f = hfi_prim_create_new(path);
    if (f != -1) return f;
    uint32_t owner = file_owner(path);
    if (owner == hfi_prim_process_id() || owner == 0 || !hfi_prim_process_alive(owner))
        return hfi_prim_open_write(path, false);
    return -1; /* another live process records there */
}

static bool open_file(uint32_t flags) {
    char path[512], comm[64];
    hfi_expand_path(path, sizeof path, pattern_copy);
    fd = claim(path);
    if (fd == -1 && !pattern_has_pid) return false; /* quietly: the file is another's */
    if (fd < 0) {
        hfi_warn("cannot create the trace file %s; not recording", path);
        return false;
    }
    size_t n = hfi_prim_read_file("/proc/self/comm", comm, sizeof comm);
    while (n > 0 && (comm[n - 1] == '\n' || comm[n - 1] == 0)) comm[--n] = 0;
    uint8_t header[HFI_TRACE_FILE_HEADER_MAX];
    size_t len = hfi_trace_write_file_header(header, hfi_prim_process_id(), hfi_prim_realtime_ns(),
                                             hfi_prim_clock_ns(), comm, flags);
    if (!hfi_prim_write(fd, header, len)) {
        hfi_warn("cannot write the trace file %s; not recording", path);
        hfi_prim_close(fd);
        fd = -1;
        return false;
    }
    return true;
}

bool hfi_trace_start(const char *pattern) {
    size_t i = 0;
    for (; pattern[i] != 0 && i + 1 < sizeof pattern_copy; i++) {
        pattern_copy[i] = pattern[i];
        if (pattern[i] == '%' && pattern[i + 1] == 'p') pattern_has_pid = true;
    }
    pattern_copy[i] = 0;
    if (!open_file(0)) return false;
    atomic_store(&recording, true);
    return true;
}

/* Write a finished chunk and start the next one. Caller holds b->lock. */
static void flush_locked(trace_buf *b, uint64_t now) {
    hf_assert(hfi_lock_held(&b->lock));
    size_t len = hfi_trace_chunk_finish(&b->chunk);
    if (len != 0) {
        hfi_lock(&file_lock);
        if (fd >= 0 && !hfi_prim_write(fd, b->chunk.buf, len)) {
            hfi_warn("the trace file cannot be written (disk full?); recording stops");
            atomic_store(&recording, false);
        }
        hfi_unlock(&file_lock);
    }
    hfi_trace_chunk_begin(&b->chunk, b->data, sizeof b->data, b->chunk.thread, now);
}

/* This thread's buffer: a recycled one, or a new mapping. NULL when the OS has no memory. */
static trace_buf *thread_buf(uint64_t now) {
    trace_buf *b = tl_buf;
    if (b != NULL) return b;
    hfi_lock(&list_lock);
    for (b = bufs; b != NULL && b->in_use; b = b->next) {
    }
    if (b == NULL) {
        b = hfi_prim_mmap(NULL, sizeof *b, false);
        if (b != NULL) {
            b->next = bufs;
            bufs = b;
        }
    }
    if (b != NULL) b->in_use = true;
    hfi_unlock(&list_lock);
    if (b == NULL) return NULL;
    hfi_lock(&b->lock);
    hfi_trace_chunk_begin(&b->chunk, b->data, sizeof b->data, hfi_prim_thread_id(), now);
    hfi_unlock(&b->lock);
    tl_buf = b;
    return b;
}

void hfi_trace_record(unsigned op, unsigned variant, uint64_t time_ns, const void *ptr, size_t size,
                      const void *old_ptr, size_t align) {
    if (!atomic_load_explicit(&recording, memory_order_relaxed)) return;
    uint64_t now = time_ns != 0 ? time_ns : hfi_prim_clock_ns();
    trace_buf *b = thread_buf(now);
    if (b == NULL) return;
    hfi_trace_event e = {.op = (uint8_t)op,
                         .variant = (uint8_t)variant,
                         .time_ns = now,
                         .ptr = (uint64_t)(uintptr_t)ptr,
                         .size = size,
                         .old_ptr = (uint64_t)(uintptr_t)old_ptr,
                         .align = align};
    hfi_lock(&b->lock);
    if (!hfi_trace_chunk_put_event(&b->chunk, &e)) {
        flush_locked(b, now);
        hfi_trace_chunk_put_event(&b->chunk, &e);
    }
    hfi_unlock(&b->lock);
}

/* Thread exit: its events go out now and its buffer waits for another thread. */
void hfi_trace_thread_done(void) {
    trace_buf *b = tl_buf;
    if (b == NULL) return;
    tl_buf = NULL;
    hfi_lock(&b->lock);
    flush_locked(b, hfi_prim_clock_ns());
    hfi_unlock(&b->lock);
    hfi_lock(&list_lock);
    b->in_use = false;
    hfi_unlock(&list_lock);
}

/* Process exit: every buffer, live threads' too. Calls after this still record into their
 * buffers, but nothing writes them any more. */
void hfi_trace_finish(void) {
    if (!atomic_load(&recording)) return;
    uint64_t now = hfi_prim_clock_ns();
    hfi_lock(&list_lock);
    for (trace_buf *b = bufs; b != NULL; b = b->next) {
        hfi_lock(&b->lock);
        if (b->in_use) flush_locked(b, now);
        hfi_unlock(&b->lock);
    }
    hfi_unlock(&list_lock);
    atomic_store(&recording, false);
    hfi_lock(&file_lock);
    if (fd >= 0) hfi_prim_close(fd);
    fd = -1;
    hfi_unlock(&file_lock);
}

void hfi_trace_fork_prepare(void) {
    hfi_lock(&list_lock);
    hfi_lock(&file_lock);
}
void hfi_trace_fork_parent(void) {
    hfi_unlock(&file_lock);
    hfi_unlock(&list_lock);
}
/* The child inherited the parent's unwritten events: drop them, and the other threads'
 * buffers (those threads do not exist here). */
void hfi_trace_fork_child(void) {
    hfi_lock_init(&file_lock);
    hfi_lock_init(&list_lock);
    for (trace_buf *b = bufs; b != NULL; b = b->next) {
        hfi_lock_init(&b->lock);
        b->in_use = false;
    }
    tl_buf = NULL;
    if (fd >= 0) hfi_prim_close(fd);
    fd = -1;
    if (!atomic_load(&recording)) return;
    if (!pattern_has_pid || !open_file(HFI_TRACE_FLAG_FORKED)) atomic_store(&recording, false);
}
