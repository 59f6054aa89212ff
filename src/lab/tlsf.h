/* lab/tlsf.h -- the TLSF policy's size mapping, exposed for the lab tests.
 *
 * Block sizes (header included, multiples of 16) map to a first level fl and a second level sl:
 * below HFI_TLSF_SMALL, fl = 0 and sl = size / 16 (exact 16-byte lists); from HFI_TLSF_SMALL up,
 * fl = floor(log2(size)) - 7 and sl = the size's position among HFI_TLSF_SL_COUNT equal
 * subdivisions of [2^floor(log2 size), 2^(floor(log2 size) + 1)). Sizes must be below
 * 2^(HFI_TLSF_FL_COUNT + 7). */
#ifndef HF_LAB_TLSF_H
#define HF_LAB_TLSF_H

#include <stddef.h>

#define HFI_TLSF_SL_LOG2  4
#define HFI_TLSF_SL_COUNT (1u << HFI_TLSF_SL_LOG2)
#define HFI_TLSF_SMALL    256u
#define HFI_TLSF_FL_COUNT 33u

void hfi_tlsf_mapping(size_t size, unsigned *fl, unsigned *sl);

#endif
