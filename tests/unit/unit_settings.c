/* unit_settings.c -- the settings page (internal.h: options, secret, hooks, level) is read-only
 * from the end of start-up at HEAPFORGE_SECURE=3, and stays writable at level 0.
 *
 * The library reads its environment in its constructor, so each case runs this program again
 * (fork + exec of /proc/self/exe) with HEAPFORGE_SECURE set; the child checks the level it got,
 * allocates and forks (the fork handlers must not write the page), then writes one field of the
 * page: at level 3 that write must kill it with SIGSEGV, at level 0 it must return. */
#include "internal/internal.h"
#include "../test_util.h"

#include <signal.h>
#include <sys/wait.h>

extern char **environ;

/* The child: argv = {prog, "child", level, field}. */
static int child(int level, const char *field) {
    /* A static link pulls init.o, whose constructor reads the environment, only through a
     * symbol it defines; under TSan malloc is the sanitizer's and nothing else here names one. */
    void (*volatile start)(void) = hfi_process_init;
    (void)start;
    CHECK_EQ(hfi_secure, level);
    CHECK_EQ(hfi_options.secure, level);
    CHECK(hfi_options_read);
    CHECK((uintptr_t)&hfi_settings_page % HF_OS_PAGE_SIZE == 0);
    void *p = malloc(100);
    CHECK(p != NULL);
    free(p);
    pid_t pid = fork(); /* the fork handlers run with the page sealed */
    CHECK(pid >= 0);
    if (pid == 0) {
        void *q = malloc(200);
        free(q);
        _exit(q != NULL ? 0 : 1);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fflush(stdout);
    if (strcmp(field, "options") == 0)
        *(volatile long long *)&hfi_options.verbose = 0;
    else if (strcmp(field, "secret") == 0)
        *(volatile uintptr_t *)&hfi_secret = hfi_secret;
    else if (strcmp(field, "hooks") == 0)
        *(volatile uint32_t *)&hfi_hooks = 0;
    else
        *(volatile int *)&hfi_secure = 0;
    return 0;
}

/* Runs the child at `level` writing `field`; returns its wait status. */
static int run(int level, const char *field) {
    char lv[8], secure[32];
    snprintf(lv, sizeof lv, "%d", level);
    snprintf(secure, sizeof secure, "HEAPFORGE_SECURE=%d", level);
    /* The environment without HEAPFORGE_* and the sanitizers' options; a sanitizer must let
     * SIGSEGV kill the child. */
    size_t n = 0;
    while (environ[n] != NULL) n++;
    char **env = calloc(n + 5, sizeof *env);
    CHECK(env != NULL);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "HEAPFORGE_", 10) != 0 &&
            strstr(environ[i], "SAN_OPTIONS=") == NULL)
            env[k++] = environ[i];
    env[k++] = secure;
    env[k++] = "ASAN_OPTIONS=handle_segv=0";
    env[k++] = "TSAN_OPTIONS=handle_segv=0";
    env[k++] = "UBSAN_OPTIONS=handle_segv=0";
    char *argv[] = {"unit_settings", "child", lv, (char *)field, NULL};
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execve("/proc/self/exe", argv, env);
        _exit(127);
    }
    free(env);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return st;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "child") == 0) return child(atoi(argv[2]), argv[3]);
    static const char *const fields[] = {"options", "secret", "hooks", "secure"};
    for (unsigned i = 0; i < sizeof fields / sizeof *fields; i++) {
        int st = run(3, fields[i]);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV) {
            fprintf(stderr, "level 3: writing %s: status 0x%x, expected SIGSEGV\n", fields[i], st);
            return 1;
        }
        st = run(0, fields[i]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "level 0: writing %s: status 0x%x, expected exit 0\n", fields[i], st);
            return 1;
        }
    }
    printf("unit_settings: sealed at level 3 (SIGSEGV on write), writable at level 0\n");
    return 0;
}
