/* stress_fork_signal: fork() from a signal handler, single-threaded (the shape of glibc's
 * tst-mallocfork2).
 *
 * A sender process sends SIGUSR1 to this one without pause; the handler stops the sender, forks
 * a child that _exit(0)s at once and waits for it, and each round of the main loop lets the
 * sender go on. Meanwhile the main program allocates, frees and forks in
 * a loop, so a signal lands inside fork() (between the atfork prepare handler and the parent
 * handler) and inside malloc and free. fork() in a single-threaded process is
 * async-signal-safe, so neither case may hang: an allocator that takes its locks in the prepare
 * handler spins forever in the nested fork on a lock the interrupted fork holds. A watchdog
 * turns a hang into a failure with a message.
 *
 * Usage: stress_fork_signal [SCALE]: runs 2 x SCALE seconds (at least 0.5), whatever the rate of
 * signals the machine manages. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

enum { SLOTS = 64, WATCHDOG_S = 60 };

static volatile sig_atomic_t handled, handler_failures, round_done;
static volatile pid_t sender_pid;

static void watchdog(int sig) {
    (void)sig;
    static const char msg[] = "stress_fork_signal: no progress in time: deadlock\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(3);
}

static void on_usr1(int sig) {
    (void)sig;
    if (round_done) return; /* one fork per round: the main program must make progress */
    int saved = errno;
    if (sender_pid > 0) kill(sender_pid, SIGSTOP); /* until the next round sends SIGCONT */
    round_done = 1;
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) {
        handler_failures = handler_failures + 1;
    } else {
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) handler_failures = handler_failures + 1;
    }
    handled = handled + 1;
    errno = saved;
}

/* The sender: SIGUSR1 to the parent as fast as it goes, until the parent is gone. */
static void sender(pid_t target) {
    for (;;) {
        if (kill(target, SIGUSR1) != 0) _exit(0);
        if (getppid() != target) _exit(0);
    }
}

int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    double seconds = 2 * scale < 0.5 ? 0.5 : 2 * scale;
    signal(SIGALRM, watchdog);
    alarm(WATCHDOG_S);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);

    pid_t self = getpid();
    pid_t snd = fork();
    CHECK(snd >= 0);
    if (snd == 0) sender(self);
    sender_pid = snd;

    void *slot[SLOTS] = {0};
    uint64_t rng = 42;
    long forks = 0, r = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;; r++) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9 > seconds)
            break;
        round_done = 0;
        kill(snd, SIGCONT);
        for (int i = 0; i < SLOTS; i++) { /* small, medium and large blocks */
            size_t n = (test_rand(&rng) % 16 == 0) ? test_rand_range(&rng, 70000, 1 << 20)
                                                   : test_rand_range(&rng, 1, 4096);
            free(slot[i]);
            slot[i] = malloc(n);
            CHECK(slot[i] != NULL);
            memset(slot[i], (int)i, n < 64 ? n : 64);
        }
        if (r % 4 == 0) {
            pid_t pid = fork();
            if (pid == 0) _exit(0);
            if (pid > 0) {
                int st = 0;
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
                }
                CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
                forks++;
            } else {
                CHECK(errno == EAGAIN || errno == EINTR);
            }
        }
    }
    for (int i = 0; i < SLOTS; i++) free(slot[i]);
    signal(SIGUSR1, SIG_IGN);
    kill(snd, SIGKILL);
    kill(snd, SIGCONT);
    waitpid(snd, NULL, 0);
    CHECK_EQ(handler_failures, 0);
    printf("stress_fork_signal: %ld rounds, %ld forks, %d forks from the handler\n", r, forks,
           (int)handled);
    CHECK(handled > 0);
    return 0;
}
