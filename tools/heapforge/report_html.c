/* report_html.c -- replay results as one self-contained HTML page (inline CSS and SVG, no
 * script, no external resource) and as separate SVG files (--svg DIR).
 *
 * Per trace: the summary table; peak footprint against peak live as bars; live bytes and
 * footprint over the trace, one small chart per policy, all on one byte scale; latency CDFs
 * on a log axis; and the heap map of every policy at the op where live bytes peak (fast's
 * from the addresses its replay returned, replay.c). Each
 * policy keeps one colour (hft_policy_colour) in every chart. A policy whose replay failed
 * is in the table with its error and in no plot. */
#include "tool.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FONT      "font-family='system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif'"
#define INK       "#1f2933"
#define GRID      "#e4e7eb"
#define MUTED     "#616e7c"
#define LIVE_FILL "#cbd2d9"

static const char *cell_colour[] = {"#e9edf1", "#2d6a9f", "#f0a030", "#9b59b6", "#ffffff"};
static const char *cell_name[] = {"free", "used (requested bytes)",
                                  "overhead (headers, footers, rounding)",
                                  "arena metadata (region headers, policy state)", ""};

static void esc(FILE *o, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", o);
            break;
        case '>':
            fputs("&gt;", o);
            break;
        case '&':
            fputs("&amp;", o);
            break;
        case '"':
            fputs("&quot;", o);
            break;
        default:
            fputc(*s, o);
        }
    }
}

/* ---- axes ----------------------------------------------------------------------------------- */

/* A step of 1, 2 or 5 times a power of ten giving about `want` intervals up to max. */
static double nice_step(double max, int want) {
    double raw = max / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/* Byte axes step in the largest binary unit that keeps labels at 1 or more. */
static double byte_unit(double max, const char **name) {
    static const char *names[] = {"B", "KiB", "MiB", "GiB"};
    double u = 1;
    int i = 0;
    while (i < 3 && max / (u * 1024) >= 1) u *= 1024, i++;
    *name = names[i];
    return u;
}

static void count_label(char *buf, size_t n, double v) {
    if (v >= 1e6)
        snprintf(buf, n, "%gM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, n, "%gk", v / 1e3);
    else
        snprintf(buf, n, "%g", v);
}

static void ns_label(char *buf, size_t n, double ns) {
    if (ns >= 1e6)
        snprintf(buf, n, "%g ms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(buf, n, "%g µs", ns / 1e3);
    else
        snprintf(buf, n, "%g ns", ns);
}

typedef struct frame {
    double x, y, w, h; /* plot area inside the SVG */
} frame;

static void svg_open(FILE *o, int w, int h, const char *label) {
    fprintf(o,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d' "
            "role='img' aria-label='",
            w, h, w, h);
    esc(o, label);
    fprintf(o, "' " FONT " font-size='11' fill='" INK "'>\n");
}

static void svg_title(FILE *o, double x, double y, const char *title, const char *colour) {
    if (colour)
        fprintf(o, "<rect x='%.1f' y='%.1f' width='10' height='10' rx='2' fill='%s'/>\n", x, y - 9,
                colour);
    fprintf(o, "<text x='%.1f' y='%.1f' font-size='13' font-weight='600'>", x + (colour ? 15 : 0),
            y);
    esc(o, title);
    fputs("</text>\n", o);
}

/* Horizontal grid lines and labels of a byte axis from 0 to max; returns the axis maximum. */
static double byte_axis(FILE *o, const frame *f, double max) {
    const char *uname;
    if (max <= 0) max = 1;
    double unit = byte_unit(max, &uname), step = nice_step(max / unit, 4) * unit;
    double top = ceil(max / step) * step;
    for (double v = 0; v <= top + step / 2; v += step) {
        double y = f->y + f->h - v / top * f->h;
        fprintf(o, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='" GRID "'/>\n", f->x,
                f->x + f->w, y, y);
        fprintf(o, "<text x='%.1f' y='%.1f' text-anchor='end' fill='" MUTED "'>%g %s</text>\n",
                f->x - 5, y + 4, v / unit, uname);
    }
    return top;
}

/* ---- live bytes and footprint over the trace ------------------------------------------------ */

/* The largest byte value any working policy's timeline reaches: every timeline of a trace is
 * drawn on one y scale up to it, so that the panels compare by eye. */
static double timeline_max(const hft_replay_set *set) {
    double max = 1;
    for (unsigned k = 0; k < set->npolicies; k++) {
        const hft_result *r = &set->results[k];
        if (!r->ok) continue;
        if ((double)r->peak_footprint > max) max = (double)r->peak_footprint;
        for (unsigned i = 0; i < r->nsamples; i++) {
            if ((double)r->samples[i].footprint > max) max = (double)r->samples[i].footprint;
            if ((double)r->samples[i].live > max) max = (double)r->samples[i].live;
        }
    }
    return max;
}

static void svg_timeline(FILE *o, const hft_result *r, uint64_t nops, double max) {
    const int W = 300, H = 210;
    frame f = {62, 34, W - 74, H - 70};
    char title[96], fb[32];
    snprintf(title, sizeof title, "%s: peak footprint %s", hf_policy_name(r->policy),
             hft_bytes(fb, sizeof fb, (double)r->peak_footprint));
    svg_open(o, W, H, title);
    svg_title(o, 8, 18, title, hft_policy_colour(r->policy));
    if (!r->ok || r->nsamples == 0) {
        fprintf(o,
                "<text x='%d' y='%d' text-anchor='middle' fill='" MUTED "'>replay failed</text>"
                "</svg>\n",
                W / 2, H / 2);
        return;
    }
    double top = byte_axis(o, &f, max), xmax = nops ? (double)nops : 1;
    fprintf(o,
            "<text transform='translate(11 %.1f) rotate(-90)' text-anchor='middle' "
            "font-size='10' fill='" MUTED "'>bytes (one scale for all policies)</text>\n",
            f.y + f.h / 2);
    double step = nice_step(xmax, 4);
    for (double v = 0; v <= xmax; v += step) {
        char b[32];
        count_label(b, sizeof b, v);
        double x = f.x + v / xmax * f.w;
        fprintf(o, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='" MUTED "'/>\n", x, x,
                f.y + f.h, f.y + f.h + 4);
        fprintf(o, "<text x='%.1f' y='%.1f' text-anchor='middle' fill='" MUTED "'>%s</text>\n", x,
                f.y + f.h + 16, b);
    }
    fprintf(o, "<text x='%.1f' y='%d' text-anchor='middle' fill='" MUTED "'>operations</text>\n",
            f.x + f.w / 2, H - 6);
#define PX(s) (f.x + (double)(s).op / xmax * f.w)
#define PY(v) (f.y + f.h - (double)(v) / top * f.h)
    /* Live bytes: a filled area, the same in every policy's chart. */
    fprintf(o, "<path fill='" LIVE_FILL "' d='M%.1f %.1f", f.x, f.y + f.h);
    for (unsigned i = 0; i < r->nsamples; i++)
        fprintf(o, " L%.1f %.1f", PX(r->samples[i]), PY(r->samples[i].live));
    fprintf(o, " L%.1f %.1f Z'/>\n", PX(r->samples[r->nsamples - 1]), f.y + f.h);
    /* Footprint: the policy's colour. */
    fprintf(o, "<path fill='none' stroke='%s' stroke-width='2' stroke-linejoin='round' d='",
            hft_policy_colour(r->policy));
    for (unsigned i = 0; i < r->nsamples; i++)
        fprintf(o, "%c%.1f %.1f", i ? 'L' : 'M', PX(r->samples[i]), PY(r->samples[i].footprint));
    fputs("'/>\n", o);
#undef PX
#undef PY
    fprintf(o, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='" INK "'/>\n", f.x, f.x + f.w,
            f.y + f.h, f.y + f.h);
    fputs("</svg>\n", o);
}

/* ---- peak footprint against peak live ------------------------------------------------------ */

static unsigned ok_count(const hft_replay_set *set) {
    unsigned n = 0;
    for (unsigned k = 0; k < set->npolicies; k++) n += set->results[k].ok != 0;
    return n;
}

static void svg_peaks(FILE *o, const hft_replay_set *set) {
    const int W = 640, row = 24, nok = (int)ok_count(set), H = 64 + row * nok;
    frame f = {100, 40, W - 190, row * (double)nok};
    svg_open(o, W, H, "peak footprint of each policy against the peak of live bytes");
    svg_title(o, 8, 18, "Peak footprint (bar) against peak live bytes (dashed line)", NULL);
    double max = 1, live = 0;
    for (unsigned k = 0; k < set->npolicies; k++) {
        const hft_result *r = &set->results[k];
        if (!r->ok) continue;
        if ((double)r->peak_footprint > max) max = (double)r->peak_footprint;
        live = (double)r->peak_live;
    }
    const char *uname;
    double unit = byte_unit(max, &uname), step = nice_step(max / unit, 5) * unit;
    double top = ceil(max / step) * step;
    for (double v = 0; v <= top + step / 2; v += step) {
        double x = f.x + v / top * f.w;
        fprintf(o, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='" GRID "'/>\n", x, x, f.y,
                f.y + f.h);
        fprintf(o, "<text x='%.1f' y='%.1f' text-anchor='middle' fill='" MUTED "'>%g %s</text>\n",
                x, f.y + f.h + 14, v / unit, uname);
    }
    for (unsigned k = 0, n = 0; k < set->npolicies; k++) {
        const hft_result *r = &set->results[k];
        if (!r->ok) continue;
        double y = f.y + n++ * row + 4, w = (double)r->peak_footprint / top * f.w;
        char b[32];
        fprintf(o, "<text x='%.1f' y='%.1f' text-anchor='end'>%s</text>\n", f.x - 8, y + 12,
                hf_policy_name(r->policy));
        fprintf(o, "<rect x='%.1f' y='%.1f' width='%.1f' height='%d' rx='2' fill='%s'/>\n", f.x, y,
                w, row - 8, hft_policy_colour(r->policy));
        double u = hft_result_utilization(r);
        fprintf(o, "<text x='%.1f' y='%.1f' fill='" MUTED "'>%s  (U %.2f)</text>\n", f.x + w + 6,
                y + 12, hft_bytes(b, sizeof b, (double)r->peak_footprint), u);
    }
    double x = f.x + live / top * f.w;
    fprintf(o,
            "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='" INK "' stroke-width='1.5' "
            "stroke-dasharray='5 3'/>\n",
            x, x, f.y - 4, f.y + f.h);
    fputs("</svg>\n", o);
}

/* ---- latency CDFs --------------------------------------------------------------------------- */

static void svg_latency(FILE *o, const hft_replay_set *set, int frees) {
    const int W = 640, H = 300;
    frame f = {50, 34, W - 170, H - 78};
    const char *title = frees ? "Free latency (CDF)" : "Allocation latency (CDF)";
    svg_open(o, W, H, title);
    svg_title(o, 8, 18, title, NULL);
    /* The x axis spans whole decades around the data. */
    double lo = 1e12, hi = 1;
    hft_hist h[HF_POLICY_COUNT];
    for (unsigned k = 0; k < set->npolicies; k++) {
        const hft_result *r = &set->results[k];
        memset(&h[k], 0, sizeof h[k]);
        for (unsigned kind = 0; kind < HFT_KINDS; kind++)
            if ((kind == HFT_FREE) == (frees != 0)) hft_hist_merge(&h[k], &r->hist[kind]);
        if (!r->ok || h[k].count == 0) continue;
        double q = hft_hist_quantile(&h[k], 0.001), m = (double)h[k].max_ns;
        if (q < lo) lo = q;
        if (m > hi) hi = m;
    }
    if (lo > hi) lo = 1, hi = 1000;
    double d0 = floor(log10(lo > 1 ? lo : 1)), d1 = ceil(log10(hi > 10 ? hi : 10));
    if (d1 <= d0) d1 = d0 + 1;
#define LX(v) (f.x + (log10((v) < 1 ? 1 : (v)) - d0) / (d1 - d0) * f.w)
    for (double d = d0; d <= d1; d++) {
        double x = LX(pow(10, d));
        char b[32];
        ns_label(b, sizeof b, pow(10, d));
        fprintf(o, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='" GRID "'/>\n", x, x, f.y,
                f.y + f.h);
        fprintf(o, "<text x='%.1f' y='%.1f' text-anchor='middle' fill='" MUTED "'>%s</text>\n", x,
                f.y + f.h + 15, b);
    }
    for (int p = 0; p <= 100; p += 25) {
        double y = f.y + f.h - p / 100.0 * f.h;
        fprintf(o, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='" GRID "'/>\n", f.x,
                f.x + f.w, y, y);
        fprintf(o, "<text x='%.1f' y='%.1f' text-anchor='end' fill='" MUTED "'>%d%%</text>\n",
                f.x - 5, y + 4, p);
    }
    fprintf(o,
            "<text x='%.1f' y='%d' text-anchor='middle' fill='" MUTED "'>time per call "
            "(log scale)</text>\n",
            f.x + f.w / 2, H - 8);
    for (unsigned k = 0, n = 0; k < set->npolicies; k++) {
        const hft_result *r = &set->results[k];
        if (!r->ok) continue;
        double ly = f.y + 6 + n++ * 18;
        fprintf(o,
                "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s' stroke-width='3'/>"
                "<text x='%.1f' y='%.1f'>%s</text>\n",
                f.x + f.w + 14, f.x + f.w + 34, ly, ly, hft_policy_colour(r->policy),
                f.x + f.w + 40, ly + 4, hf_policy_name(r->policy));
        if (h[k].count == 0) continue;
        fprintf(o, "<path fill='none' stroke='%s' stroke-width='1.8' d='M%.1f %.1f",
                hft_policy_colour(r->policy), f.x, f.y + f.h);
        uint64_t seen = 0;
        for (unsigned i = 0; i < HFT_HIST_BUCKETS; i++) {
            if (h[k].bucket[i] == 0) continue;
            double x0 = LX(hft_hist_bucket_low(i)), x1 = LX(hft_hist_bucket_high(i));
            double y0 = f.y + f.h - (double)seen / (double)h[k].count * f.h;
            seen += h[k].bucket[i];
            double y1 = f.y + f.h - (double)seen / (double)h[k].count * f.h;
            fprintf(o, " L%.1f %.1f L%.1f %.1f", x0, y0, x1, y1);
        }
        fprintf(o, " L%.1f %.1f'/>\n", f.x + f.w, f.y);
    }
#undef LX
    fprintf(o,
            "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='" INK
            "'/>\n</svg>\n",
            f.x, f.y, f.w, f.h);
}

/* ---- heap maps ------------------------------------------------------------------------------ */

static void svg_heapmap(FILE *o, const hft_result *r, uint64_t nops) {
    const int cell = 6, W = HFT_MAP_COLS * cell + 16, H = HFT_MAP_ROWS * cell + 62;
    char title[160], a[32], b[32], c[32];
    snprintf(title, sizeof title, "%s at op %llu of %llu: %s in %s, %s per cell",
             hf_policy_name(r->policy), (unsigned long long)r->peak_live_op + 1,
             (unsigned long long)nops, hft_bytes(a, sizeof a, (double)r->map_bytes),
             r->policy == HF_POLICY_FAST ? "segments" : "regions",
             hft_bytes(b, sizeof b, (double)((r->map_bytes + HFT_MAP_CELLS - 1) / HFT_MAP_CELLS)));
    svg_open(o, W, H, title);
    svg_title(o, 8, 18, title, hft_policy_colour(r->policy));
    /* Runs of equal cells are one rectangle each, and the cell grid is one pattern laid over
     * them: a tenth of the bytes of a rectangle per cell. */
    static unsigned map_id;
    map_id++;
    for (unsigned row = 0; row < HFT_MAP_ROWS; row++) {
        for (unsigned col = 0; col < HFT_MAP_COLS;) {
            unsigned v = r->map[row * HFT_MAP_COLS + col], end = col + 1;
            while (end < HFT_MAP_COLS && r->map[row * HFT_MAP_COLS + end] == v) end++;
            if (v < HFT_CELL_NONE)
                fprintf(o, "<rect x='%u' y='%u' width='%u' height='%d' fill='%s'/>", 8 + col * cell,
                        28 + row * cell, (end - col) * cell, cell, cell_colour[v]);
            col = end;
        }
        fputc('\n', o);
    }
    fprintf(o,
            "<defs><pattern id='hfgrid%u' width='%d' height='%d' patternUnits='userSpaceOnUse' "
            "x='8' y='28'><path d='M%d 0V%dH0' fill='none' stroke='#fff' stroke-width='2'/>"
            "</pattern></defs><rect x='8' y='28' width='%d' height='%d' fill='url(#hfgrid%u)'/>\n",
            map_id, cell, cell, cell, cell, HFT_MAP_COLS * cell, HFT_MAP_ROWS * cell, map_id);
    fprintf(o,
            "<text x='8' y='%d' fill='" MUTED "'>used %s in %llu blocks · overhead %s · free %s "
            "in %llu holes · metadata %s</text>\n",
            H - 12, hft_bytes(a, sizeof a, (double)r->map_used), (unsigned long long)r->map_blocks,
            hft_bytes(b, sizeof b, (double)r->map_overhead),
            hft_bytes(c, sizeof c, (double)r->map_free), (unsigned long long)r->map_free_blocks,
            hft_bytes(title, 32, (double)r->map_meta));
    fputs("</svg>\n", o);
}

/* ---- the page -------------------------------------------------------------------------------- */

static const char css[] =
    "body{margin:0;background:#f5f7fa;color:" INK ";font:14px/1.45 system-ui,-apple-system,"
    "'Segoe UI',Helvetica,Arial,sans-serif}\n"
    "main{max-width:1360px;margin:0 auto;padding:24px 28px 48px}\n"
    "h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 4px}"
    "h3{font-size:15px;margin:22px 0 8px;color:#3e4c59}\n"
    ".sub{color:" MUTED ";margin:0 0 14px}\n"
    ".card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:14px 16px;"
    "margin:10px 0;box-shadow:0 1px 2px rgba(0,0,0,.04)}\n"
    ".grid{display:flex;flex-wrap:wrap;gap:10px}.grid>svg{background:#fff;border:1px solid "
    "#e4e7eb;border-radius:8px;max-width:100%;height:auto}\n"
    /* The table scrolls inside its own card when the window is narrower than it. */
    ".scroll{overflow-x:auto}\n"
    /* Heap maps shrink to two a row in a narrow window. */
    ".grid.maps>svg{flex:0 1 calc(50% - 5px);max-width:592px}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:5px 6px;text-align:right;border-bottom:1px solid #eef1f4;white-space:nowrap}\n"
    "th{font-size:12px;line-height:1.25;color:" MUTED ";font-weight:600;border-bottom:2px solid "
    "#d9dee4;vertical-align:bottom}\n"
    "th .u{font-weight:400}\n"
    "td:first-child,th:first-child{text-align:left}\n"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:7px;"
    "vertical-align:-1px}\n"
    ".bar{display:inline-block;height:8px;border-radius:4px;background:#2d6a9f;"
    "vertical-align:middle;margin-left:6px}\n"
    ".best{font-weight:700}.fail{color:#c0392b}p.fail{margin:8px 0}\n"
    ".legend span{margin-right:18px;white-space:nowrap}\n"
    ".note{color:" MUTED ";font-size:12.5px}\n";

static void latencies(const hft_result *r, double q[6]) {
    static const double qs[3] = {0.5, 0.99, 0.999};
    hft_hist al;
    memset(&al, 0, sizeof al);
    for (unsigned kind = 0; kind < HFT_FREE; kind++) hft_hist_merge(&al, &r->hist[kind]);
    for (int i = 0; i < 3; i++) {
        q[i] = hft_hist_quantile(&al, qs[i]);
        q[3 + i] = hft_hist_quantile(&r->hist[HFT_FREE], qs[i]);
    }
}

static void html_table(FILE *o, const hft_replay_set *set) {
    static const char *qname[6] = {"alloc<br>p50", "alloc<br>p99", "alloc<br>p99.9",
                                   "free<br>p50",  "free<br>p99",  "free<br>p99.9"};
    double best_score = -1, colmax[6] = {0};
    uint64_t best_fp = UINT64_MAX;
    for (unsigned k = 0; k < set->npolicies; k++) {
        const hft_result *r = &set->results[k];
        if (!r->ok) continue;
        if (hft_result_score(r) > best_score) best_score = hft_result_score(r);
        if (r->peak_footprint > 0 && r->peak_footprint < best_fp) best_fp = r->peak_footprint;
        double q[6];
        latencies(r, q);
        for (int i = 0; i < 6; i++)
            if (q[i] > colmax[i]) colmax[i] = q[i];
    }
    hft_ns_unit unit[6];
    fputs("<div class='card scroll'><table>\n<tr><th>policy</th><th>ops/s</th>", o);
    for (int i = 0; i < 6; i++) {
        unit[i] = hft_ns_unit_for(colmax[i], true);
        fprintf(o, "<th>%s <span class='u'>%s</span></th>", qname[i], unit[i].name);
    }
    fputs("<th>peak<br>live</th><th>peak<br>footprint</th><th>utili-<br>zation</th>"
          "<th>frag-<br>mentation</th><th>score</th></tr>\n",
          o);
    for (unsigned k = 0; k < set->npolicies; k++) {
        const hft_result *r = &set->results[k];
        fprintf(o, "<tr><td><span class='sw' style='background:%s'></span>%s</td>",
                hft_policy_colour(r->policy), hf_policy_name(r->policy));
        if (!r->ok) {
            fputs("<td colspan='12' class='fail' style='text-align:left;white-space:normal'>"
                  "failed: ",
                  o);
            esc(o, r->error);
            fputs("</td></tr>\n", o);
            continue;
        }
        char a[32], b[32];
        double u = hft_result_utilization(r), ops = hft_result_ops_per_sec(r), q[6];
        latencies(r, q);
        fprintf(o, "<td>%.2fM</td>", ops / 1e6);
        for (int i = 0; i < 6; i++)
            fprintf(o, "<td>%.*f</td>", unit[i].decimals, q[i] / unit[i].div);
        fprintf(o,
                "<td>%s</td><td%s>%s</td><td>%.3f<span class='bar' style='width:%.0fpx'></span>"
                "</td><td>%.2f</td><td%s>%.1f</td></tr>\n",
                hft_bytes(a, sizeof a, (double)r->peak_live),
                r->peak_footprint == best_fp ? " class='best'" : "",
                hft_bytes(b, sizeof b, (double)r->peak_footprint), u, 40 * (u > 1 ? 1 : u),
                u > 0 ? 1 / u - 1 : 0.0, hft_result_score(r) == best_score ? " class='best'" : "",
                hft_result_score(r));
    }
    fputs("</table></div>\n", o);
}

/* One line naming the policies left out of the plots, and why. */
static void html_failed(FILE *o, const hft_replay_set *set) {
    if (ok_count(set) == set->npolicies) return;
    fputs("<p class='fail'>Left out of every plot, their replay failed: ", o);
    for (unsigned k = 0, n = 0; k < set->npolicies; k++) {
        const hft_result *r = &set->results[k];
        if (r->ok) continue;
        fprintf(o, "%s<b>%s</b> (", n++ ? "; " : "", hf_policy_name(r->policy));
        esc(o, r->error);
        fputs(")", o);
    }
    fputs(".</p>\n", o);
}

static void html_set(FILE *o, const hft_replay_set *set) {
    size_t peak_op;
    char a[32];
    uint64_t peak = hft_trace_peak_live(set->trace, &peak_op);
    fputs("<h2>", o);
    esc(o, set->file);
    fprintf(o, "</h2>\n<p class='sub'>%zu operations on %u blocks · peak live %s at op %zu",
            set->trace->nops, set->trace->nids, hft_bytes(a, sizeof a, (double)peak), peak_op + 1);
    if (set->trace->program[0]) {
        fputs(" · recorded from <code>", o);
        esc(o, set->trace->program);
        fputs("</code>", o);
    }
    fputs("</p>\n", o);
    html_table(o, set);
    html_failed(o, set);
    if (ok_count(set) == 0) return;
    fputs("<div class='grid'>", o);
    svg_peaks(o, set);
    fputs("</div>\n<h3>Live bytes and footprint over the trace</h3>\n<p class='legend note'>"
          "<span><span class='sw' style='background:" LIVE_FILL "'></span>live bytes "
          "(requested, from the trace)</span> <span>line: the policy's footprint (fast: committed "
          "bytes; lab: the arena's regions)</span> <span>every panel has the same byte "
          "scale</span></p>\n<div class='grid'>\n",
          o);
    double tmax = timeline_max(set);
    for (unsigned k = 0; k < set->npolicies; k++)
        if (set->results[k].ok) svg_timeline(o, &set->results[k], set->trace->nops, tmax);
    fputs("</div>\n<h3>Latency per call</h3>\n<div class='grid'>\n", o);
    svg_latency(o, set, 0);
    svg_latency(o, set, 1);
    fputs("</div>\n", o);
    int maps = 0;
    for (unsigned k = 0; k < set->npolicies; k++)
        maps += set->results[k].ok && set->results[k].has_map;
    if (maps == 0) return;
    fputs("<h3>Heap maps at the peak of live bytes</h3>\n<p class='legend note'>", o);
    for (unsigned c = 0; c < HFT_CELL_NONE; c++)
        fprintf(o,
                "<span><span class='sw' style='background:%s;outline:1px solid #cbd2d9'>"
                "</span>%s</span> ",
                cell_colour[c], cell_name[c]);
    fputs("<br>Each cell is a slice of the arena's memory, regions laid end to end in address "
          "order, coloured by what most of its bytes hold. <i>fast</i> has no walk of its blocks: "
          "its map is drawn from the addresses its replay returned, each 4 MiB segment holding "
          "a live block counted from its start to the 4 KiB page of its last live byte; "
          "overhead is the rounding up to hf_usable_size, and free is everything else (free "
          "slots, segment headers, pages not yet carved).</p>\n<div class='grid maps'>\n",
          o);
    for (unsigned k = 0; k < set->npolicies; k++)
        if (set->results[k].ok && set->results[k].has_map)
            svg_heapmap(o, &set->results[k], set->trace->nops);
    fputs("</div>\n", o);
    for (unsigned k = 0; k < set->npolicies; k++)
        if (set->results[k].ok && !set->results[k].has_map)
            fprintf(o, "<p class='note'>%s: no heap map (its replay records none).</p>\n",
                    hf_policy_name(set->results[k].policy));
}

int hft_report_html(const char *path, const hft_replay_set *sets, unsigned nsets) {
    FILE *o = fopen(path, "w");
    if (o == NULL) {
        fprintf(stderr, "heapforge replay: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    fprintf(o,
            "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
            "<title>heapforge replay report</title>\n<style>\n%s</style>\n</head>\n<body>\n"
            "<main>\n<h1>heapforge replay report</h1>\n<p class='sub'>heapforge %s · %s · "
            "%u trace(s) · every policy replays each trace alone, single-threaded, in "
            "time-stamp order</p>\n",
            css, HEAPFORGE_VERSION, when, nsets);
    for (unsigned s = 0; s < nsets; s++) html_set(o, &sets[s]);
    fprintf(o,
            "<h3>How to read this</h3>\n<div class='card note'><p><b>ops/s</b>: calls per "
            "second of time spent inside the allocator's calls (the replay's own work, "
            "filling and checking every block, is not counted). <b>Latency</b>: each call "
            "timed with the CPU's time-stamp counter, in log-scale buckets 9%% wide. "
            "<b>Peak live</b>: the largest sum of requested sizes alive at once, from the "
            "trace, hence the same for every policy. <b>Footprint</b>: for <i>fast</i>, the "
            "process's committed bytes (segment headers and the 4 KiB pages its pages have "
            "carved since their last purge, large blocks whole: an upper bound on its RSS); "
            "for the lab policies, the bytes of the arena's regions (64 KiB steps). "
            "<b>Utilization</b> U = peak live / peak footprint; <b>fragmentation</b> = "
            "1/U − 1. <b>Score</b> = 100 × (0.6 × U + 0.4 × min(1, ops/s ÷ %.0fM)), the "
            "malloc-lab index.</p></div>\n</main>\n</body>\n</html>\n",
            HFT_SCORE_REF_OPS / 1e6);
    int bad = ferror(o);
    if (fclose(o) != 0 || bad) {
        fprintf(stderr, "heapforge replay: write error on %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- --svg DIR ------------------------------------------------------------------------------- */

static FILE *svg_file(const char *dir, const char *trace, const char *what, const char *policy) {
    char path[4096];
    const char *base = strrchr(trace, '/');
    base = base ? base + 1 : trace;
    snprintf(path, sizeof path, "%s/%s.%s%s%s.svg", dir, base, what, policy ? "." : "",
             policy ? policy : "");
    FILE *f = fopen(path, "w");
    if (f == NULL)
        fprintf(stderr, "heapforge replay: cannot create %s: %s\n", path, strerror(errno));
    return f;
}

int hft_report_svg_dir(const char *dir, const hft_replay_set *sets, unsigned nsets) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "heapforge replay: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (unsigned s = 0; s < nsets; s++) {
        const hft_replay_set *set = &sets[s];
        FILE *f;
        if (ok_count(set) == 0) continue;
        if ((f = svg_file(dir, set->file, "peaks", NULL)) == NULL) return -1;
        svg_peaks(f, set), fclose(f);
        if ((f = svg_file(dir, set->file, "latency-alloc", NULL)) == NULL) return -1;
        svg_latency(f, set, 0), fclose(f);
        if ((f = svg_file(dir, set->file, "latency-free", NULL)) == NULL) return -1;
        svg_latency(f, set, 1), fclose(f);
        double tmax = timeline_max(set);
        for (unsigned k = 0; k < set->npolicies; k++) {
            const hft_result *r = &set->results[k];
            const char *name = hf_policy_name(r->policy);
            if (!r->ok) continue; /* failed policies are in no plot */
            if ((f = svg_file(dir, set->file, "timeline", name)) == NULL) return -1;
            svg_timeline(f, r, set->trace->nops, tmax), fclose(f);
            if (!r->has_map) continue;
            if ((f = svg_file(dir, set->file, "heapmap", name)) == NULL) return -1;
            svg_heapmap(f, r, set->trace->nops), fclose(f);
        }
    }
    return 0;
}
