#!/bin/sh
# report_browser.sh -- the replay report as a browser shows it: rendered by headless Chromium
# at 1000 and 1600 px wide, nothing may run past the window's right edge (checked twice: every
# element's box, from the laid-out page, and the right-most column of pixels of a screenshot).
#   report_browser.sh HEAPFORGE_BINARY TESTS_DIR [SHOTS_DIR]
# With SHOTS_DIR, the screenshots are kept there as report-1000.png and report-1600.png.
# Exit 77 (skipped) when chromium is not installed.
set -u
hf=$1 here=$2 shots=${3:-}
command -v chromium >/dev/null 2>&1 || { echo "chromium is not installed: skipped"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/hfbrowser.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$hf" gen bursty -n 4000 --seed 3 -o "$work/bursty.hft" >/dev/null || exit 1
printf 'a 0 100\na 1 17592186044416\nf 1\nf 0\n' >"$work/huge.rep" # every policy fails it
"$hf" replay --quiet --html "$work/report.html" "$work/bursty.hft" "$work/huge.rep" >/dev/null 2>&1
[ -s "$work/report.html" ] || { echo "FAIL: no report"; exit 1; }
# The probe: the report with a script at its end that lists the boxes past the right edge.
sed 's|</body>|<script>(function(){var w=document.documentElement.clientWidth,bad=[];document.querySelectorAll("body *").forEach(function(e){var r=e.getBoundingClientRect();if(r.width>0\&\&r.right>w+0.5)bad.push(e.tagName+":"+Math.round(r.right))});var p=document.createElement("pre");p.textContent="PRO"+"BE width="+w+" page="+document.documentElement.scrollWidth+" over="+bad.length+" "+bad.slice(0,6).join(" ");document.body.appendChild(p)})()</script></body>|' \
  "$work/report.html" >"$work/probe.html"

chrome() { # chrome WIDTH HEIGHT ARGS...: one headless run with its own profile, at most 30 s
  w=$1 h=$2
  shift 2
  mkdir -p "$work/profile.$w"
  timeout 30 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$work/profile.$w" --window-size="$w,$h" "$@" 2>/dev/null
}

for w in 1000 1600; do
  chrome $w 2000 --dump-dom "file://$work/probe.html" >"$work/dom.$w"
  probe=$(grep -o 'PROBE [^<]*' "$work/dom.$w")
  [ -n "$probe" ] || { fail "$w px: the page did not render"; continue; }
  echo "$w px: $probe"
  echo "$probe" | grep -q "PROBE width=$w page=$w over=0 " || fail "$w px: something runs past the right edge: $probe"
  chrome $w 1500 --screenshot="$work/report-$w.png" "file://$work/report.html" >/dev/null
  [ -s "$work/report-$w.png" ] || { fail "$w px: no screenshot"; continue; }
  python3 "$here/png_tool.py" edge "$work/report-$w.png" f5f7fa || fail "$w px: the screenshot's right edge is not background"
  [ -n "$shots" ] && cp "$work/report-$w.png" "$shots/report-$w.png"
done
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok (browser)"
