/* size_class.c -- the size classes: 16-byte steps up to 128 bytes, then four classes per
 * doubling up to HF_MEDIUM_MAX. Worst-case internal waste is 25% (just above 128), typical
 * 12.5%. hfi_class_of (internal.h) maps a size to its class with a count-leading-zeros. */
#include "internal/internal.h"

const uint32_t hfi_class_size[HF_CLASS_COUNT] = {
    16,    32,    48,    64,    80,    96,    112,   128,   160,   192,   224,    256,
    320,   384,   448,   512,   640,   768,   896,   1024,  1280,  1536,  1792,   2048,
    2560,  3072,  3584,  4096,  5120,  6144,  7168,  8192,  10240, 12288, 14336,  16384,
    20480, 24576, 28672, 32768, 40960, 49152, 57344, 65536, 81920, 98304, 114688, 131072,
};

/* The validator unit tests call: every size maps to the smallest class that holds it. */
bool hfi_class_is_valid(void) {
    if (hfi_class_size[HF_CLASS_COUNT - 1] != HF_MEDIUM_MAX) return false;
    for (unsigned c = 0; c < HF_CLASS_COUNT; c++) {
        size_t sz = hfi_class_size[c];
        if (sz % HF_ALIGNMENT != 0) return false;
        if (hfi_class_of(sz) != c) return false;
        if (c > 0 && hfi_class_of(hfi_class_size[c - 1] + 1) != c) return false;
    }
    for (size_t n = 0; n <= HF_MEDIUM_MAX; n++) {
        unsigned c = hfi_class_of(n);
        if (c >= HF_CLASS_COUNT || hfi_class_size[c] < n) return false;
        if (c > 0 && hfi_class_size[c - 1] >= n) return false;
    }
    return true;
}
