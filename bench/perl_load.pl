#!/usr/bin/perl
# perl_load.pl -- a hash and string workload for perl, run by bench/run.py under each allocator.
#
# Builds a text of pseudo-random words (from syllables, by a fixed linear congruential
# generator, so every run does the same work), counts words in a hash, builds a hash of arrays
# of word positions, rewrites the text with regular expressions, sorts, joins and splits, deletes
# and rebuilds half the keys. Prints counts and a checksum of the results; output is the same
# under every allocator (keys are always sorted before they are printed or folded).
#
# usage: perl perl_load.pl [scale]
use strict;
use warnings;

my $scale = @ARGV ? $ARGV[0] : 1;
die "usage: perl_load.pl [scale]\n" unless $scale =~ /^[0-9.]+$/ && $scale > 0;
my $lines = int(20000 * $scale) || 1;

my $state = 12345;
sub rnd {    # a value in [0, n)
    $state = ($state * 1103515245 + 12345) % 2147483648;
    return int($state / 65536) % $_[0];
}

my @syl = qw(ka lo mi ne ru sa ti vo ze qua ber dan fel gor hin jup kel mor nus pil);
sub word {
    my $n = 1 + rnd(4);
    my $w = '';
    $w .= $syl[rnd(scalar @syl)] for 1 .. $n;
    return $w;
}

my $sum = 0;
sub fold { $sum = ($sum * 31 + unpack('%32C*', $_[0])) % 4294967296 }

# 1. text and word counts
my @text;
for my $i (1 .. $lines) {
    my $k = 3 + rnd(10);
    push @text, join(' ', map { word() } 1 .. $k);
}
my (%count, %where);
for my $i (0 .. $#text) {
    for my $w (split / /, $text[$i]) {
        $count{$w}++;
        push @{ $where{$w} }, $i if @{ $where{$w} || [] } < 16;
    }
}
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 19];
fold(join(',', map { "$_=$count{$_}" } @top));
my $distinct = scalar keys %count;

# 2. rewrite the text with regular expressions and sprintf
my $changed = 0;
for my $line (@text) {
    $changed += ($line =~ s/\b(\w)(\w*)o\b/\U$1\E$2O/g);
    $line =~ s/(ka|lo)(?=mi)/<$1>/g;
    $line = sprintf('%05d:%s', length $line, $line);
}
fold($text[$_]) for grep { $_ % 97 == 0 } 0 .. $#text;

# 3. join everything, split it again, rebuild a hash keyed by line prefixes
my $all = join("\n", @text);
my @back = split /\n/, $all;
my %prefix;
$prefix{ substr($_, 6, 5) } .= substr($_, 0, 5) . ';' for @back;
fold(join('|', map { $_ . length($prefix{$_}) } sort keys %prefix));

# 4. delete half the words, then add new ones made by joining pairs of survivors
my @keys = sort keys %count;
delete @count{ @keys[ grep { $_ % 2 } 0 .. $#keys ] };
delete @where{ @keys[ grep { $_ % 2 } 0 .. $#keys ] };
my @left = sort keys %count;
for my $i (0 .. $#left - 1) {
    my $k = $left[$i] . '-' . $left[ $#left - $i ];
    $count{$k} = $count{ $left[$i] } + 1;
    $where{$k} = [ reverse @{ $where{ $left[$i] } } ];
}
my $pos = 0;
$pos += $_->[0] for values %where;
fold(join(',', map { "$_:$count{$_}" } (sort keys %count)[0 .. 49]));

printf "perl lines=%d distinct=%d changed=%d keys=%d positions=%d checksum=%08x\n",
    $lines, $distinct, $changed, scalar(keys %count), $pos, $sum;
