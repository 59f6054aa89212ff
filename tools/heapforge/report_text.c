/* report_text.c -- replay results as text: the table for people, JSON and CSV for programs.
 * The three show the same figures; JSON and CSV add every operation kind's latencies. */
#include "tool.h"

#include <string.h>

static void alloc_hist(const hft_result *r, hft_hist *h) {
    memset(h, 0, sizeof *h);
    for (unsigned k = 0; k < HFT_KINDS; k++)
        if (k != HFT_FREE) hft_hist_merge(h, &r->hist[k]);
}

/* A latency column's unit, chosen from its largest value so that every value of the column
 * is written in the same unit: ns below 10 us, us below 10 ms, ms above (html: "µs"). */
hft_ns_unit hft_ns_unit_for(double max_ns, bool html) {
    if (max_ns < 1e4) return (hft_ns_unit){"ns", 1, 0};
    if (max_ns < 1e7) return (hft_ns_unit){html ? "µs" : "us", 1e3, 1};
    return (hft_ns_unit){"ms", 1e6, 1};
}

static const char *rate_text(char *buf, size_t n, double v) {
    if (v >= 1e6)
        snprintf(buf, n, "%.1fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, n, "%.1fk", v / 1e3);
    else
        snprintf(buf, n, "%.0f", v);
    return buf;
}

#define LAT_COLS 6 /* alloc p50, p99, p99.9, free p50, p99, p99.9 */
static const double lat_q[3] = {0.5, 0.99, 0.999};
static const char *lat_name[3] = {"p50", "p99", "p99.9"};

static void latencies(const hft_result *r, double q[LAT_COLS]) {
    hft_hist al;
    alloc_hist(r, &al);
    for (int i = 0; i < 3; i++) {
        q[i] = hft_hist_quantile(&al, lat_q[i]);
        q[3 + i] = hft_hist_quantile(&r->hist[HFT_FREE], lat_q[i]);
    }
}

void hft_report_table(FILE *out, const hft_replay_set *set0, unsigned nsets) {
    for (unsigned s = 0; s < nsets; s++) {
        const hft_replay_set *set = &set0[s];
        char a[32], h[32], i[32];
        size_t peak_op;
        uint64_t peak = hft_trace_peak_live(set->trace, &peak_op);
        fprintf(out, "%s%s: %zu ops, %u blocks, peak live %s at op %zu%s%s\n", s ? "\n" : "",
                set->file, set->trace->nops, set->trace->nids, hft_bytes(a, sizeof a, (double)peak),
                peak_op + 1, set->trace->program[0] ? ", recorded from " : "", set->trace->program);
        /* One unit per latency column, from the column's largest value. */
        double colmax[LAT_COLS] = {0};
        for (unsigned k = 0; k < set->npolicies; k++) {
            double q[LAT_COLS];
            if (!set->results[k].ok) continue;
            latencies(&set->results[k], q);
            for (int c = 0; c < LAT_COLS; c++)
                if (q[c] > colmax[c]) colmax[c] = q[c];
        }
        hft_ns_unit unit[LAT_COLS];
        char head[LAT_COLS][16];
        for (int c = 0; c < LAT_COLS; c++) {
            unit[c] = hft_ns_unit_for(colmax[c], false);
            snprintf(head[c], sizeof head[c], "%s %s", lat_name[c % 3], unit[c].name);
        }
        fprintf(out, "%-11s %7s | %26s | %26s | %10s %10s\n", "", "", "alloc latency",
                "free latency", "peak", "peak");
        fprintf(out, "%-11s %7s | %8s %8s %8s | %8s %8s %8s | %10s %10s %6s %6s %6s\n", "policy",
                "ops/s", head[0], head[1], head[2], head[3], head[4], head[5], "live", "footprint",
                "util", "frag", "score");
        fprintf(out, "%.*s\n", 127,
                "----------------------------------------------------------"
                "----------------------------------------------------------"
                "-----------");
        for (unsigned k = 0; k < set->npolicies; k++) {
            const hft_result *r = &set->results[k];
            const char *name = hf_policy_name(r->policy);
            if (!r->ok) {
                fprintf(out, "%-11s FAILED: %s\n", name, r->error);
                continue;
            }
            double q[LAT_COLS], u = hft_result_utilization(r);
            latencies(r, q);
            fprintf(out, "%-11s %7s |", name, rate_text(a, sizeof a, hft_result_ops_per_sec(r)));
            for (int c = 0; c < LAT_COLS; c++)
                fprintf(out, " %8.*f%s", unit[c].decimals, q[c] / unit[c].div,
                        c == 2 || c == 5 ? " |" : "");
            fprintf(out, " %10s %10s %6.3f %6.2f %6.1f\n",
                    hft_bytes(h, sizeof h, (double)r->peak_live),
                    hft_bytes(i, sizeof i, (double)r->peak_footprint), u, u > 0 ? 1 / u - 1 : 0.0,
                    hft_result_score(r));
        }
    }
    fprintf(out, "\nops/s: calls per second of time inside the allocator; latency: time per call, "
                 "each column in the unit its header names;\nutil = peak live / peak footprint; "
                 "frag = 1/util - 1; score = 100 * (0.6 * util + 0.4 * min(1, ops/s / 20M))\n(the "
                 "malloc-lab index); single-threaded replay in time order.\n");
}

static void json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void json_hist(FILE *out, const char *name, const hft_hist *h, int comma) {
    fprintf(out,
            "        \"%s\": {\"count\": %llu, \"mean\": %.1f, \"p50\": %.1f, \"p99\": %.1f, "
            "\"p99_9\": %.1f, \"max\": %llu}%s\n",
            name, (unsigned long long)h->count, h->count ? h->sum_ns / (double)h->count : 0.0,
            hft_hist_quantile(h, 0.5), hft_hist_quantile(h, 0.99), hft_hist_quantile(h, 0.999),
            (unsigned long long)h->max_ns, comma ? "," : "");
}

void hft_report_json(FILE *out, const hft_replay_set *sets, unsigned nsets) {
    fprintf(out,
            "{\n  \"heapforge\": \"%s\",\n  \"score_reference_ops_per_sec\": %.0f,\n"
            "  \"traces\": [\n",
            HEAPFORGE_VERSION, HFT_SCORE_REF_OPS);
    for (unsigned s = 0; s < nsets; s++) {
        const hft_replay_set *set = &sets[s];
        size_t peak_op;
        uint64_t peak = hft_trace_peak_live(set->trace, &peak_op);
        fprintf(out, "  {\n    \"file\": ");
        json_str(out, set->file);
        fprintf(out, ",\n    \"program\": ");
        json_str(out, set->trace->program);
        fprintf(out,
                ",\n    \"ops\": %zu,\n    \"blocks\": %u,\n    \"peak_live_bytes\": %llu,\n"
                "    \"peak_live_op\": %zu,\n    \"policies\": [\n",
                set->trace->nops, set->trace->nids, (unsigned long long)peak, peak_op + 1);
        for (unsigned k = 0; k < set->npolicies; k++) {
            const hft_result *r = &set->results[k];
            double u = hft_result_utilization(r);
            fprintf(out, "      {\"policy\": \"%s\", \"ok\": %s", hf_policy_name(r->policy),
                    r->ok ? "true" : "false");
            if (!r->ok) {
                fprintf(out, ", \"error\": ");
                json_str(out, r->error);
                fprintf(out, "}%s\n", k + 1 < set->npolicies ? "," : "");
                continue;
            }
            fprintf(out,
                    ",\n       \"ops\": %llu, \"ops_per_sec\": %.0f, \"seconds_in_allocator\": "
                    "%.6f, \"wall_seconds\": %.6f,\n       \"peak_live_bytes\": %llu, "
                    "\"peak_footprint_bytes\": %llu, \"utilization\": %.4f, "
                    "\"fragmentation\": %.4f, \"score\": %.2f,\n       \"latency_ns\": {\n",
                    (unsigned long long)r->ops, hft_result_ops_per_sec(r), r->op_seconds,
                    r->wall_seconds, (unsigned long long)r->peak_live,
                    (unsigned long long)r->peak_footprint, u, u > 0 ? 1 / u - 1 : 0.0,
                    hft_result_score(r));
            for (unsigned h = 0; h < HFT_KINDS; h++)
                json_hist(out, hft_kind_name(h), &r->hist[h], h + 1 < HFT_KINDS);
            fprintf(out, "       }}%s\n", k + 1 < set->npolicies ? "," : "");
        }
        fprintf(out, "    ]\n  }%s\n", s + 1 < nsets ? "," : "");
    }
    fprintf(out, "  ]\n}\n");
}

void hft_report_csv(FILE *out, const hft_replay_set *sets, unsigned nsets) {
    fprintf(out, "trace,policy,ok,ops,ops_per_sec,peak_live_bytes,peak_footprint_bytes,"
                 "utilization,fragmentation,score");
    for (unsigned h = 0; h < HFT_KINDS; h++)
        fprintf(out, ",%s_p50_ns,%s_p99_ns,%s_p99_9_ns,%s_max_ns", hft_kind_name(h),
                hft_kind_name(h), hft_kind_name(h), hft_kind_name(h));
    fputc('\n', out);
    for (unsigned s = 0; s < nsets; s++) {
        for (unsigned k = 0; k < sets[s].npolicies; k++) {
            const hft_result *r = &sets[s].results[k];
            double u = hft_result_utilization(r);
            /* File names with a comma or quote are quoted, the CSV way. */
            if (strpbrk(sets[s].file, ",\"\n")) {
                fputc('"', out);
                for (const char *p = sets[s].file; *p; p++) {
                    if (*p == '"') fputc('"', out);
                    fputc(*p, out);
                }
                fputc('"', out);
            } else {
                fputs(sets[s].file, out);
            }
            fprintf(out, ",%s,%d,%llu,%.0f,%llu,%llu,%.4f,%.4f,%.2f", hf_policy_name(r->policy),
                    r->ok, (unsigned long long)r->ops, hft_result_ops_per_sec(r),
                    (unsigned long long)r->peak_live, (unsigned long long)r->peak_footprint, u,
                    u > 0 ? 1 / u - 1 : 0.0, hft_result_score(r));
            for (unsigned h = 0; h < HFT_KINDS; h++)
                fprintf(out, ",%.1f,%.1f,%.1f,%llu", hft_hist_quantile(&r->hist[h], 0.5),
                        hft_hist_quantile(&r->hist[h], 0.99), hft_hist_quantile(&r->hist[h], 0.999),
                        (unsigned long long)r->hist[h].max_ns);
            fputc('\n', out);
        }
    }
}
