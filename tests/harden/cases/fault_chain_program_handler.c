/* harden: fault_chain_program_handler
 * level: 2
 * expect: SIGSEGV heapforge: overflow past the end of {pointer}
 *     (size {size}): write at offset {offset}
 * stdout: own handler: SIGSEGV at the fault address
 *
 * The program's own SIGSEGV handler, installed before heapforge's (a .preinit_array function
 * runs before any library's constructor), still runs after the report, with the kernel's siginfo:
 * heapforge chains to the action it replaced. The handler then restores the default action and
 * returns, so the write runs again and the process dies of the SIGSEGV.
 */
#include <signal.h>

#include "harden.h"

static char *volatile fault_at;

static void own_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (sig == SIGSEGV && (char *)si->si_addr == fault_at)
        say_stdout("own handler: SIGSEGV at the fault address\n");
    else
        say_stdout("own handler: something else\n");
    signal(SIGSEGV, SIG_DFL);
}

static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
}
__attribute__((section(".preinit_array"), used)) static void (*preinit)(void) = install;

int main(void) {
    char *p = xmalloc((size_t)1 << 20);
    size_t n = malloc_usable_size(p);
    fault_at = p + n;
    announce_fault(p, n, n);
    ((volatile char *)p)[n] = 'x';
    free(p);
    return 0;
}
