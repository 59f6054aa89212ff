/* size_class.c -- the size classes: 16-byte steps up to 128 bytes, eight classes per doubling
 * up to 1 KiB (6.25-12.5% apart), then sixteen per doubling up to HF_MEDIUM_MAX (3-6% apart).
 * Measured on the SQLite benchmark, whose page buffers are a power of two plus a small header
 * (1032, 4104, 4376 bytes): four per doubling (jemalloc's and mimalloc's spacing) peaked at
 * 76 MiB, eight at 70 MiB, sixteen above 1 KiB at 68 MiB. hfi_class_of (internal.h) maps a
 * size to its class with a count-leading-zeros and two shifts. */
#include "internal/internal.h"

const uint32_t hfi_class_size[HF_CLASS_COUNT] = {
    16,    32,    48,    64,    80,     96,     112,    128,    144,    160,    176,    192,
    208,   224,   240,   256,   288,    320,    352,    384,    416,    448,    480,    512,
    576,   640,   704,   768,   832,    896,    960,    1024,   1088,   1152,   1216,   1280,
    1344,  1408,  1472,  1536,  1600,   1664,   1728,   1792,   1856,   1920,   1984,   2048,
    2176,  2304,  2432,  2560,  2688,   2816,   2944,   3072,   3200,   3328,   3456,   3584,
    3712,  3840,  3968,  4096,  4352,   4608,   4864,   5120,   5376,   5632,   5888,   6144,
    6400,  6656,  6912,  7168,  7424,   7680,   7936,   8192,   8704,   9216,   9728,   10240,
    10752, 11264, 11776, 12288, 12800,  13312,  13824,  14336,  14848,  15360,  15872,  16384,
    17408, 18432, 19456, 20480, 21504,  22528,  23552,  24576,  25600,  26624,  27648,  28672,
    29696, 30720, 31744, 32768, 34816,  36864,  38912,  40960,  43008,  45056,  47104,  49152,
    51200, 53248, 55296, 57344, 59392,  61440,  63488,  65536,  69632,  73728,  77824,  81920,
    86016, 90112, 94208, 98304, 102400, 106496, 110592, 114688, 118784, 122880, 126976, 131072,
};

/* The validator unit tests call: every size maps to the smallest class that holds it. */
bool hfi_class_is_valid(void) {
    if (hfi_class_size[HF_CLASS_COUNT - 1] != HF_MEDIUM_MAX) return false;
    if (hfi_class_size[HF_FOREIGN_CLASSES - 1] != HF_SMALL_MAX) return false; /* foreign.c */
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
