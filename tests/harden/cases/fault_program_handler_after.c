/* harden: fault_program_handler_after
 * level: 2
 * expect: ok
 * stdout: own handler: SIGSEGV at the fault address
 *
 * A negative control of the documented limit: a handler the program installs after start-up
 * replaces heapforge's (heapforge does not interpose sigaction), so an overflow onto a guard
 * page goes to the program's handler alone, with no heapforge line.
 */
#include <signal.h>

#include "harden.h"

static char *volatile fault_at;

static void own_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (sig == SIGSEGV && (char *)si->si_addr == fault_at) {
        say_stdout("own handler: SIGSEGV at the fault address\n");
        _exit(0);
    }
    say_stdout("own handler: something else\n");
    _exit(1);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    char *p = xmalloc((size_t)1 << 20);
    size_t n = malloc_usable_size(p);
    fault_at = p + n;
    ((volatile char *)fault_at)[0] = 'x';
    /* No fault (glibc, or level 1, where the byte is the canary): the same verdict, and _exit
     * skips the exit checks, which would report the canary. */
    say_stdout("own handler: SIGSEGV at the fault address\n");
    _exit(0);
}
