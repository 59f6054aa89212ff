#!/bin/sh
# check_options: HEAPFORGE_* options are read, echoed with HEAPFORGE_VERBOSE=1, and a bad value
# gets one warning line and the default while the program still runs.
# Usage: check_options.sh LIBHEAPFORGE
set -u
lib=$1
fail() { echo "check_options: $*" >&2; exit 1; }
out=$(HEAPFORGE_VERBOSE=1 HEAPFORGE_PURGE_DELAY=250 LD_PRELOAD="$lib" sh -c 'echo ran' 2>&1) ||
  fail "program failed with good options"
echo "$out" | grep -q "^heapforge: option HEAPFORGE_PURGE_DELAY = 250 " ||
  fail "HEAPFORGE_PURGE_DELAY=250 not in effect: $out"
echo "$out" | grep -q "^ran$" || fail "program output missing"
out=$(HEAPFORGE_VERBOSE=1 HEAPFORGE_PURGE_DELAY=soon HEAPFORGE_HUGE_THRESHOLD=64K \
      LD_PRELOAD="$lib" sh -c 'echo ran' 2>&1) || fail "program failed with a bad option"
echo "$out" | grep -q "^heapforge: ignoring HEAPFORGE_PURGE_DELAY=soon: " ||
  fail "no warning for a bad value: $out"
echo "$out" | grep -q "^heapforge: option HEAPFORGE_PURGE_DELAY = 10 " || fail "default not used: $out"
echo "$out" | grep -q "^heapforge: ignoring HEAPFORGE_HUGE_THRESHOLD=64K: " ||
  fail "a threshold below its minimum was accepted: $out"
[ "$(echo "$out" | grep -c 'ignoring HEAPFORGE_PURGE_DELAY')" -eq 1 ] || fail "warned more than once: $out"
echo "$out" | grep -q "^ran$" || fail "program output missing"
out=$(HEAPFORGE_VERBOSE=1 HEAPFORGE_SECURE=7 LD_PRELOAD="$lib" sh -c 'echo ran' 2>&1) ||
  fail "program failed with a bad HEAPFORGE_SECURE"
echo "$out" | grep -q "^heapforge: ignoring HEAPFORGE_SECURE=7: " || fail "no warning for SECURE=7: $out"
echo "$out" | grep -q "^heapforge: option HEAPFORGE_SECURE = 0 " || fail "SECURE default not used: $out"
echo "$out" | grep -q "^ran$" || fail "program output missing"
out=$(HEAPFORGE_VERBOSE=1 HEAPFORGE_SECURE=3 LD_PRELOAD="$lib" sh -c 'echo ran' 2>&1) ||
  fail "program failed at HEAPFORGE_SECURE=3: $out"
echo "$out" | grep -q "^heapforge: option HEAPFORGE_SECURE = 3 " || fail "SECURE=3 not in effect: $out"
# A misspelt variable is reported by name, not silently ignored; words for switches.
out=$(HEAPFORGE_STAT=1 LD_PRELOAD="$lib" sh -c 'echo ran' 2>&1) || fail "program failed with HEAPFORGE_STAT"
echo "$out" | grep -q "^heapforge: ignoring HEAPFORGE_STAT: not an option" ||
  fail "no warning for the misspelt HEAPFORGE_STAT: $out"
echo "$out" | grep -q "^ran$" || fail "program output missing"
out=$(HEAPFORGE_VERBOSE=yes HEAPFORGE_LEAKS=off LD_PRELOAD="$lib" sh -c 'echo ran' 2>&1) ||
  fail "program failed with yes/off"
echo "$out" | grep -q "^heapforge: option HEAPFORGE_LEAKS = 0 " || fail "HEAPFORGE_LEAKS=off not read: $out"
echo "$out" | grep -q "ignoring" && fail "yes/off warned: $out"
# HEAPFORGE_CONF: one string for every option; a HEAPFORGE_<NAME> variable wins; unknown keys
# and bad values named; HEAPFORGE_VERBOSE says where each value came from.
out=$(HEAPFORGE_CONF=purge_delay:250,verbose:1,segment_cache:lots,nosuch:1 HEAPFORGE_FOREIGN_CACHE=0 \
      LD_PRELOAD="$lib" sh -c 'echo ran' 2>&1) || fail "program failed with HEAPFORGE_CONF"
echo "$out" | grep -q "^heapforge: option HEAPFORGE_PURGE_DELAY = 250 .*\[HEAPFORGE_CONF\]$" ||
  fail "purge_delay from HEAPFORGE_CONF not in effect: $out"
echo "$out" | grep -q "^heapforge: option HEAPFORGE_FOREIGN_CACHE = 0 .*\[HEAPFORGE_FOREIGN_CACHE\]$" ||
  fail "provenance of HEAPFORGE_FOREIGN_CACHE missing: $out"
echo "$out" | grep -q "^heapforge: option HEAPFORGE_HUGE_THRESHOLD = .*\[default\]$" || fail "no [default]: $out"
echo "$out" | grep -q "^heapforge: ignoring 'nosuch' in HEAPFORGE_CONF: no such option" ||
  fail "unknown key not reported: $out"
echo "$out" | grep -q "^heapforge: ignoring HEAPFORGE_CONF segment_cache=lots: " || fail "bad value not reported: $out"
echo "$out" | grep -q "^ran$" || fail "program output missing"
out=$(HEAPFORGE_CONF=purge_delay:0,verbose:1 HEAPFORGE_PURGE_DELAY=7 LD_PRELOAD="$lib" sh -c 'echo ran' 2>&1) ||
  fail "program failed"
echo "$out" | grep -q "^heapforge: option HEAPFORGE_PURGE_DELAY = 7 " || fail "the variable did not win over HEAPFORGE_CONF: $out"
# A policy parameter that does not exist is named, with the ones that do; fast is used.
out=$(HEAPFORGE_POLICY=best-fit:regoin=1M LD_PRELOAD="$lib" sh -c 'echo ran' 2>&1) || fail "program failed"
echo "$out" | grep -q "^heapforge: ignoring HEAPFORGE_POLICY=best-fit:regoin=1M: best-fit takes no parameter 'regoin' (keys: region, " ||
  fail "bad policy parameter not reported: $out"
# HEAPFORGE_POLICY with parameters: the process arena's first region is 16 MiB.
if command -v python3 >/dev/null; then
  out=$(HEAPFORGE_POLICY=best-fit:region=16M HEAPFORGE_STATS=1 LD_PRELOAD="$lib" python3 -c 'print("ran")' 2>&1) ||
    fail "python3 failed on best-fit:region=16M"
  echo "$out" | grep -q "^heapforge: policy best-fit: .* footprint 16.0 MiB" ||
    fail "HEAPFORGE_POLICY=best-fit:region=16M not in effect: $out"
fi
echo "check_options: ok"
