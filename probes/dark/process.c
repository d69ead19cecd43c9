/* process: fork, exec and system — a process model WASI does not have. */
#include <errno.h>
#include <stdlib.h>
#include "wasiprobe.h"

int main(void) {
    int s = system("true");
    int se = errno;
    pid_t f = fork();
    int fe = errno;
    wp_begin("dark", "process");
    wp_int("system", s);
    wp_int("system_errno", s < 0 ? se : 0);
    wp_int("fork", (long long)f);
    wp_int("fork_errno", f < 0 ? fe : 0);
    wp_end();
    return 0;
}
