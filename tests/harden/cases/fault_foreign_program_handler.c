/* harden: fault_foreign_program_handler
 * level: 2
 * expect: ok
 * stdout: own handler: SIGSEGV at the fault address
 *
 * A negative control: a write to a PROT_NONE page the program mapped itself is not heapforge's
 * business. The program's handler, installed before heapforge's (.preinit_array), gets the fault
 * through the chain, and heapforge says nothing; the handler ends the program with status 0.
 */
#include <signal.h>
#include <sys/mman.h>

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
    char *m = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return HARDEN_SETUP;
    free(xmalloc(100)); /* heapforge is in use */
    fault_at = m + 16;
    ((volatile char *)fault_at)[0] = 'x';
    return 1;
}
