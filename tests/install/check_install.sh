#!/bin/sh
# install: `cmake --install` into a temporary prefix, then build a consumer against it with
# find_package(heapforge) (shared and static targets) and with pkg-config, and run each.
# Usage: check_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null || fail "cmake --install failed"
for f in include/heapforge.h lib/libheapforge.a lib/pkgconfig/heapforge.pc \
         lib/cmake/heapforge/heapforgeConfig.cmake; do
  [ -e "$tmp/prefix/$f" ] || fail "missing $f"
done
ls "$tmp/prefix"/lib/libheapforge.so* >/dev/null 2>&1 || fail "missing libheapforge.so"
# The installed command runs from its prefix with no help from the environment, and its `run`
# preloads the installed library.
[ -x "$tmp/prefix/bin/heapforge" ] || fail "missing bin/heapforge"
v=$(env -u LD_LIBRARY_PATH "$tmp/prefix/bin/heapforge" --version) || fail "installed heapforge --version failed"
case "$v" in heapforge*) ;; *) fail "installed heapforge --version printed '$v'" ;; esac
out=$(env -u LD_LIBRARY_PATH "$tmp/prefix/bin/heapforge" run --stats -- cmake -E echo hi 2>"$tmp/run.err") ||
  fail "installed heapforge run failed: $(cat "$tmp/run.err")"
[ "$out" = hi ] || fail "installed heapforge run printed '$out'"
grep -q '^heapforge: ' "$tmp/run.err" || fail "installed heapforge run: no statistics on stderr"
mkdir "$tmp/consumer"
cp "$src/consumer.c" "$tmp/consumer/"
cp "$src/CMakeLists.txt.in" "$tmp/consumer/CMakeLists.txt"
cmake -S "$tmp/consumer" -B "$tmp/cbuild" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null ||
  fail "find_package(heapforge) failed"
cmake --build "$tmp/cbuild" >/dev/null || fail "consumer build failed"
out=$(LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/cbuild/consumer") || fail "consumer failed"
[ "$out" = "installed heapforge works" ] || fail "consumer printed '$out'"
out=$("$tmp/cbuild/consumer_static") || fail "static consumer failed"
[ "$out" = "installed heapforge works" ] || fail "static consumer printed '$out'"
if command -v pkg-config >/dev/null; then
  flags=$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs heapforge) ||
    fail "pkg-config does not know heapforge"
  # shellcheck disable=SC2086
  cc "$src/consumer.c" -o "$tmp/pc_consumer" $flags || fail "pkg-config build failed"
  out=$(LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/pc_consumer") || fail "pkg-config consumer failed"
  [ "$out" = "installed heapforge works" ] || fail "pkg-config consumer printed '$out'"
fi
echo "install test: ok"
