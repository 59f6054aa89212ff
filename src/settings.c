/* settings.c -- the settings page: the process-wide values fixed at start-up, read by every
 * layer (internal.h, hf_settings). Data only, at the bottom of the library: its owners write
 * their fields during start-up (options.c parses the environment into it), and no function
 * here calls anything, so reading a setting never ties a file to the code that set it. */
#include "internal/internal.h"

/* The settings page (internal.h), with the options' defaults. */
#define HF_OPTION_DEFAULT(name, def, min, desc) .name = (def),
hf_settings_page hfi_settings_page = {.s.options = {HF_OPTION_LIST(HF_OPTION_DEFAULT)}};
#undef HF_OPTION_DEFAULT
