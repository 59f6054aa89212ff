#!/bin/sh
# check_exports.sh LIB -- every dynamic symbol that LIB defines must be an hf_* function, one of
# the libc allocator names heapforge overrides, or linker boilerplate. Anything else would leak
# an internal name into every program that loads the library.
set -u
lib=${1:?usage: check_exports.sh path/to/libheapforge.so}
command -v nm >/dev/null 2>&1 || { echo "nm not found"; exit 77; }
[ -f "$lib" ] || { echo "no such library: $lib"; exit 1; }

syms=$(nm -D --defined-only "$lib") || { echo "nm failed on $lib"; exit 1; }
count=0
bad=0
hf=0
malloc_seen=0
# lines look like "000000000001a2b0 T malloc" (a version suffix "@@V" is possible)
while read -r addr type name; do
    [ -n "${name:-}" ] || { name=$type; type=$addr; } # symbols without an address
    name=${name%%@*}
    count=$((count + 1))
    case "$name" in
        hf_*) hf=$((hf + 1)); continue ;;
        malloc) malloc_seen=1; continue ;;
        free|calloc|realloc|reallocarray|aligned_alloc|posix_memalign|memalign|valloc|pvalloc) continue ;;
        malloc_usable_size|malloc_trim|mallinfo2|malloc_stats|malloc_info|mallopt) continue ;;
        free_sized|free_aligned_sized|cfree|mallinfo) continue ;;
        # operator new and delete, every form libstdc++ exports (src/override/cxx.c)
        _Znwm|_Znam|_ZnwmRKSt9nothrow_t|_ZnamRKSt9nothrow_t) continue ;;
        _ZnwmSt11align_val_t|_ZnamSt11align_val_t) continue ;;
        _ZnwmSt11align_val_tRKSt9nothrow_t|_ZnamSt11align_val_tRKSt9nothrow_t) continue ;;
        _ZdlPv|_ZdaPv|_ZdlPvm|_ZdaPvm|_ZdlPvRKSt9nothrow_t|_ZdaPvRKSt9nothrow_t) continue ;;
        _ZdlPvSt11align_val_t|_ZdaPvSt11align_val_t|_ZdlPvmSt11align_val_t|_ZdaPvmSt11align_val_t) continue ;;
        _ZdlPvSt11align_val_tRKSt9nothrow_t|_ZdaPvSt11align_val_tRKSt9nothrow_t) continue ;;
        _init|_fini|_edata|_end|__bss_start|__libc_*) continue ;;
    esac
    # version-node definitions (absolute symbols such as HEAPFORGE_0.1)
    if [ "$type" = A ] && printf '%s\n' "$name" | grep -Eq '^[A-Za-z_]+_[0-9][0-9.]*$'; then
        continue
    fi
    echo "unexpected exported symbol: $type $name"
    bad=$((bad + 1))
done <<EOS
$syms
EOS

echo "$count exported symbols, $hf hf_* symbols"
[ "$malloc_seen" = 1 ] || { echo "malloc is not exported"; bad=$((bad + 1)); }
for f in hf_malloc hf_free hf_calloc hf_realloc hf_usable_size hf_owns hf_trim hf_process_info_get \
         free calloc realloc posix_memalign aligned_alloc malloc_usable_size; do
    printf '%s\n' "$syms" | awk '{print $NF}' | sed 's/@.*//' | grep -qx "$f" || {
        echo "missing export: $f"; bad=$((bad + 1)); }
done
[ "$bad" = 0 ] || { echo "FAIL: $bad problem(s)"; exit 1; }
echo "exports ok"
