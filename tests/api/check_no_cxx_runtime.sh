#!/bin/sh
# check_no_cxx_runtime.sh LIB -- libheapforge exports operator new and delete (src/override/cxx.c)
# but must not need libstdc++: the library has no such dependency, and a C program that preloads
# it maps no C++ runtime.
set -u
lib=${1:?usage: check_no_cxx_runtime.sh path/to/libheapforge.so}
[ -f "$lib" ] || { echo "no such library: $lib"; exit 1; }
bad=0
if command -v readelf >/dev/null 2>&1; then
    needed=$(readelf -d "$lib" | grep NEEDED)
    echo "$needed"
    case "$needed" in *libstdc++*|*libgcc_s*) echo "FAIL: $lib needs a C++ runtime"; bad=1 ;; esac
fi
ldd "$lib" | grep -q 'libstdc++' && { echo "FAIL: ldd lists libstdc++ for $lib"; bad=1; }
maps=$(LD_PRELOAD=$lib cat /proc/self/maps) || { echo "FAIL: cat did not run preloaded"; exit 1; }
printf '%s\n' "$maps" | grep -q 'libheapforge' || { echo "FAIL: heapforge is not mapped"; bad=1; }
if printf '%s\n' "$maps" | grep -q 'libstdc++'; then
    echo "FAIL: a C program preloading $lib maps libstdc++"
    bad=1
fi
[ "$bad" = 0 ] && echo "no C++ runtime: ok"
exit "$bad"
