#!/bin/sh
# preload_scripts: the interpreters people run every day - bash, perl and lua - on the production
# allocator and with the whole process on each lab policy (HEAPFORGE_POLICY). Each script grows
# strings past the large-block sizes (bash once stopped on first-fit with "xmalloc: cannot
# allocate 757780 bytes"), fills and empties hashes and tables, sorts and joins. Every output
# must equal the plain run's, and every run must report the policy it ran on.
. "$(dirname "$0")/common.sh"
need bash perl
LUA=$(command -v lua5.4 || command -v lua || true)
cd "$TMP" || exit 1
cat >work.sh <<'BASH'
s=""
for ((i = 0; i < 6000; i++)); do s+="item$i,"; done
big=$(printf '%*s' 757780 '' | tr ' ' 'x')
declare -A m
for ((i = 0; i < 8000; i++)); do m["k$i"]=$((i * 7)); done
for ((i = 0; i < 8000; i += 3)); do unset "m[k$i]"; done
sum=0
for k in "${!m[@]}"; do sum=$((sum + m[$k])); done
arr=()
for ((i = 0; i < 5000; i++)); do arr+=("$((i * 7919 % 5003))"); done
sorted=$(printf '%s\n' "${arr[@]}" | sort -n | head -n 3 | tr '\n' ' ')
t=${s//item/I}
echo "${#s} ${#big} ${#m[@]} $sum ${#t} $sorted"
BASH
cat >work.pl <<'PL'
use strict; use warnings;
my %h; my $s = "";
for my $i (0 .. 59_999) { $h{"k$i"} = [ $i, "v" x ($i % 50) ]; $s .= chr(65 + $i % 26); }
delete $h{"k$_"} for grep { $_ % 3 == 0 } 0 .. 59_999;
my $big = "z" x 6_000_000; $big =~ s/z{1000}/y/g;
my @w = sort { $a cmp $b } map { scalar reverse $_ } keys %h;
my $n = 0; $n += length($h{$_}[1]) for keys %h;
printf "%d %d %d %s %d\n", scalar(keys %h), length($s), length($big), $w[0], $n;
PL
cat >work.lua <<'LUA'
local t, parts = {}, {}
for i = 1, 60000 do t[i] = { i, tostring(i) .. string.rep("a", i % 40) } end
for i = 1, 60000, 3 do t[i] = nil end
local n = 0
for _, v in pairs(t) do n = n + #v[2] end
for i = 1, 20000 do parts[#parts + 1] = string.format("%05d", (i * 7919) % 20011) end
table.sort(parts)
local s = table.concat(parts, ",")
local big = string.rep("q", 757780) .. s
local h = {}
for i = 1, 30000 do h["key" .. i] = i end
for i = 1, 30000, 2 do h["key" .. i] = nil end
local c = 0
for _ in pairs(h) do c = c + 1 end
collectgarbage()
print(n, #s, #big, parts[1], parts[#parts], c)
LUA
bash work.sh >sh.plain || fail "plain bash"
perl work.pl >pl.plain || fail "plain perl"
[ -z "$LUA" ] || "$LUA" work.lua >lua.plain || fail "plain lua"
for policy in fast first-fit next-fit best-fit worst-fit segregated buddy tlsf; do
    : >"$ERR"
    HEAPFORGE_POLICY=$policy pre bash work.sh >sh.out || fail "bash under $policy"
    same sh.plain sh.out "bash under $policy"
    HEAPFORGE_POLICY=$policy pre perl work.pl >pl.out || fail "perl under $policy"
    same pl.plain pl.out "perl under $policy"
    progs="bash perl"
    if [ -n "$LUA" ]; then
        HEAPFORGE_POLICY=$policy pre "$LUA" work.lua >lua.out || fail "lua under $policy"
        same lua.plain lua.out "lua under $policy"
        progs="$progs lua"
    fi
    if [ "$policy" != fast ]; then
        n=$(grep -c "^heapforge: policy $policy: " "$ERR")
        [ "$n" -ge 3 ] || fail "only $n processes report running on $policy"
    fi
    echo "$policy: $progs ok"
done
echo ok
