/* stress_fork_stdio: fork() racing with stdio, the lock-order case of glibc bug 19431.
 *
 * getline() holds its FILE's lock while it reallocs the line buffer; fflush(NULL) holds the
 * list of all FILEs (_IO_list_lock) and waits for each FILE's lock; fork() takes _IO_list_lock
 * after the pthread_atfork prepare handlers. An allocator that takes its locks in a prepare
 * handler therefore closes a cycle: the forking thread holds the allocator's lock and waits for
 * the list, the fflush thread holds the list and waits for the FILE, the getline thread holds
 * the FILE and waits for the allocator. Here reader threads getline long lines (400 KB, so each
 * line grows through the large-block path) from their own FILEs, a thread calls fflush(NULL)
 * in a loop, and the main thread forks; each child reads a line through stdio and mallocs a
 * large block before _exit(0). A watchdog turns a hang into a failure with a message.
 *
 * Usage: stress_fork_stdio [SCALE]. Run in every mode and policy by ctest (ENVIRONMENT). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

enum { NREADERS = 3, LINE = 400 * 1000, LINES = 6, WATCHDOG_S = 60 };

static char path[64];
static atomic_int stop;
static atomic_long lines_read, flushes;

static void watchdog(int sig) {
    (void)sig;
    static const char msg[] = "stress_fork_stdio: no progress in time: deadlock\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(3);
}

static void write_file(void) {
    strcpy(path, "/tmp/hf_fork_stdio_XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    CHECK(f != NULL);
    for (int l = 0; l < LINES; l++) {
        for (int i = 0; i < LINE; i++) CHECK(fputc('a' + (l + i) % 26, f) != EOF);
        CHECK(fputc('\n', f) != EOF);
    }
    CHECK(fclose(f) == 0);
}

static void *reader(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        for (;;) {
            char *line = NULL; /* a fresh buffer each line: every line grows from nothing */
            size_t cap = 0;
            ssize_t n = getline(&line, &cap, f);
            free(line);
            if (n < 0) break;
            CHECK_EQ(n, LINE + 1);
            atomic_fetch_add(&lines_read, 1);
            if (atomic_load(&stop)) break;
        }
        CHECK(fclose(f) == 0);
    }
    return NULL;
}

static void *flusher(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        fflush(NULL);
        atomic_fetch_add(&flushes, 1);
    }
    return NULL;
}

static int child(void) {
    alarm(WATCHDOG_S);
    FILE *f = fopen(path, "r"); /* stdio and the large-block path both work in the child */
    if (f == NULL) return 4;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    free(line);
    fclose(f);
    if (n != LINE + 1) return 5;
    void *p = malloc(3 << 20);
    if (p == NULL) return 6;
    memset(p, 1, 3 << 20);
    free(p);
    fflush(NULL);
    return 0;
}

int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int forks = (int)(120 * scale);
    if (forks < 20) forks = 20;
    signal(SIGALRM, watchdog);
    alarm(WATCHDOG_S);
    write_file();

    pthread_t t[NREADERS + 1];
    for (int i = 0; i < NREADERS; i++) CHECK(pthread_create(&t[i], NULL, reader, NULL) == 0);
    CHECK(pthread_create(&t[NREADERS], NULL, flusher, NULL) == 0);
    while (atomic_load(&lines_read) < 2) usleep(1000); /* the readers are under way */

    for (int k = 0; k < forks; k++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) _exit(child());
        int st = 0;
        CHECK(waitpid(pid, &st, 0) == pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "child %d: %s %d\n", k, WIFEXITED(st) ? "exit" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            abort();
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i <= NREADERS; i++) CHECK(pthread_join(t[i], NULL) == 0);
    unlink(path);
    printf("stress_fork_stdio: %d forks, %ld lines read, %ld fflush(NULL) calls\n", forks,
           atomic_load(&lines_read), atomic_load(&flushes));
    return 0;
}
