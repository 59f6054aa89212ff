/* harden/encode.c -- the checked decode of an encoded free-list link (encode.h has the rest,
 * inline). Out of line because it reports: a link that is not NULL or a carved block of its
 * page is heap corruption. Below the pages: it calls only the reporter. */
#include "internal/internal.h"
#include "harden/encode.h"

hf_block *hfi_link_next_checked(const hf_page *pg, const hf_block *b) {
    hf_block *next = (hf_block *)((uintptr_t)hfi_link_load(b) ^ hfi_link_key(pg));
    if (HF_LIKELY(hfi_link_is_block(pg, next, pg->capacity))) return next;
    hfi_report(HF_ERR_HEAP_CORRUPTION, b, 0);
    return NULL; /* warn mode: the rest of the list is lost, not followed */
}
