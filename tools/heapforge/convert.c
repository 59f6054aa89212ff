/* convert.c -- `heapforge convert`: a trace from one format into the other (binary trace or
 * malloc-lab .rep), which also validates it: what loads here replays. */
#include "tool.h"

#include <getopt.h>
#include <string.h>

static const char convert_usage[] =
    "usage: heapforge convert IN -o OUT [--rep|--binary]\n"
    "\n"
    "Reads a binary trace or a .rep file (recognised by its contents) and writes it as a\n"
    "binary trace (--binary, the default unless OUT ends in .rep) or a .rep file (--rep).\n"
    "Addresses become block ids; a .rep file cannot hold failed allocations, alignments or\n"
    "time stamps, so converting to .rep drops them.\n"
    "Exit status: 0 ok, 1 OUT could not be written, 2 usage error, 3 bad input file.\n";

int hft_cmd_convert(int argc, char **argv) {
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"rep", no_argument, NULL, 'r'},
                                             {"binary", no_argument, NULL, 'b'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int fmt = -1; /* 0 binary, 1 rep */
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1;) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'r':
            fmt = 1;
            break;
        case 'b':
            fmt = 0;
            break;
        case 'h':
            fputs(convert_usage, stdout);
            return HFT_EXIT_OK;
        case ':':
            return hft_usage_error("convert", "option '%s' needs a value", argv[optind - 1]);
        default:
            return hft_usage_error("convert", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return hft_usage_error("convert", "no input file given");
    if (optind + 1 < argc)
        return hft_usage_error("convert", "unexpected argument '%s'", argv[optind + 1]);
    if (out == NULL) return hft_usage_error("convert", "no output file given (-o OUT)");
    if (fmt < 0) {
        size_t n = strlen(out);
        fmt = n >= 4 && strcmp(out + n - 4, ".rep") == 0;
    }
    hft_trace t;
    char err[512];
    int rc = hft_trace_load(argv[optind], &t, err, sizeof err);
    if (rc == 0) {
        rc = fmt ? hft_trace_save_rep(&t, out, err, sizeof err)
                 : hft_trace_save_binary(&t, out, err, sizeof err);
        hft_trace_free(&t);
    }
    if (rc != 0) fprintf(stderr, "heapforge convert: %s\n", err);
    return rc;
}
