#!/bin/sh
# preload_perl: a hash-heavy perl script (150k keys, deletes, nested structures, sorting, string
# building) with heapforge preloaded; the output must match a plain run and the known key count.
. "$(dirname "$0")/common.sh"
need perl
cat >"$TMP/work.pl" <<'PL'
use strict; use warnings;
my %h;
for my $i (0 .. 149_999) { $h{"k$i" . ("y" x ($i % 23))} = { n => $i, s => "v" . ($i * 3), l => [ $i, $i + 1 ] }; }
for my $i (grep { $_ % 4 == 0 } 0 .. 149_999) { delete $h{"k$i" . ("y" x ($i % 23))}; }
my ($sum, $len) = (0, 0);
for my $k (sort keys %h) { $sum += $h{$k}{n} + $h{$k}{l}[1]; $len += length($h{$k}{s}) + length($k); }
my %inv; $inv{ $h{$_}{s} } = $_ for keys %h;
my $str = join(",", map { $inv{"v" . ($_ * 3)} // "-" } 0 .. 999);
my $cs = unpack("%32C*", $str);
printf "keys %d sum %d len %d inv %d cs %d\n", scalar(keys %h), $sum, $len, scalar(keys %inv), $cs;
PL
perl "$TMP/work.pl" >"$TMP/plain.out" || fail "plain perl run failed"
grep -q '^keys 112500 ' "$TMP/plain.out" || fail "unexpected plain result: $(cat "$TMP/plain.out")"
pre perl "$TMP/work.pl" >"$TMP/pre.out" || fail "preloaded perl run failed"
same "$TMP/plain.out" "$TMP/pre.out" perl
finish
