/* size_class.c -- the size classes: 16-byte steps up to 128 bytes, then eight classes per
 * doubling up to HF_MEDIUM_MAX, so classes are 6.25-12.5% apart and a request wastes at most
 * 12.5% to rounding. (Four per doubling, as jemalloc and mimalloc use, measured 22% more peak RSS
 * on SQLite, whose 4104- and 4376-byte pages then round up to 5120.) hfi_class_of (internal.h)
 * maps a size to its class with a count-leading-zeros. */
#include "internal/internal.h"

const uint32_t hfi_class_size[HF_CLASS_COUNT] = {
    16,    32,    48,    64,    80,    96,    112,    128,    144,    160,    176,   192,   208,
    224,   240,   256,   288,   320,   352,   384,    416,    448,    480,    512,   576,   640,
    704,   768,   832,   896,   960,   1024,  1152,   1280,   1408,   1536,   1664,  1792,  1920,
    2048,  2304,  2560,  2816,  3072,  3328,  3584,   3840,   4096,   4608,   5120,  5632,  6144,
    6656,  7168,  7680,  8192,  9216,  10240, 11264,  12288,  13312,  14336,  15360, 16384, 18432,
    20480, 22528, 24576, 26624, 28672, 30720, 32768,  36864,  40960,  45056,  49152, 53248, 57344,
    61440, 65536, 73728, 81920, 90112, 98304, 106496, 114688, 122880, 131072,
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
