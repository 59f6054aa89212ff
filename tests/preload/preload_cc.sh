#!/bin/sh
# preload_cc: the C compiler driver and everything it runs (cc1, as, collect2/ld) with heapforge
# preloaded; the object file must be byte-identical to one built without the preload, and the
# linked program (run preloaded too) must print the independently known answer.
. "$(dirname "$0")/common.sh"
need cc cmp
cat >"$TMP/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; long v; };
int main(void) {
    /* sum of the primes below 100000 (454396537), with a sieve and a list on the heap */
    const int n = 100000;
    char *sieve = calloc(n, 1);
    struct node *list = NULL;
    long sum = 0;
    if (!sieve) return 1;
    for (int i = 2; i < n; i++) {
        if (sieve[i]) continue;
        for (long j = (long)i * i; j < n; j += i) sieve[j] = 1;
        struct node *e = malloc(sizeof *e);
        if (!e) return 1;
        e->v = i; e->next = list; list = e;
    }
    while (list) { struct node *e = list; sum += e->v; list = e->next; free(e); }
    char *s = malloc(64);
    snprintf(s, 64, "%ld", sum);
    s = realloc(s, 4096);
    printf("%s\n", s);
    free(s);
    free(sieve);
    return 0;
}
C
cd "$TMP" || exit 1
cc -O2 -c prog.c -o plain.o || fail "plain compile failed"
pre cc -O2 -c prog.c -o pre.o || fail "preloaded compile failed"
cmp -s plain.o pre.o || fail "object files differ with heapforge preloaded"
pre cc -O2 -o prog prog.c || fail "preloaded compile+link failed"
out=$(pre ./prog) || fail "program failed"
[ "$out" = 454396537 ] || fail "program printed '$out', expected 454396537"
finish
