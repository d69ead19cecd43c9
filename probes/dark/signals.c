/* signals: signal() with a handler, then raise() (proc_raise underneath). */
/* emulation: -D_WASI_EMULATED_SIGNAL -lwasi-emulated-signal */
#include <errno.h>
#include <signal.h>
#include "wasiprobe.h"

static volatile int got;
static void on(int s) { got = s; }

int main(void) {
    void (*old)(int) = signal(SIGUSR1, on);
    int r = raise(SIGUSR1);
    int e = errno;
    wp_begin("dark", "signals");
    wp_bool("signal_ok", old != SIG_ERR);
    wp_int("raise", r);
    wp_int("raise_errno", r ? e : 0);
    wp_int("handled", got);
    wp_end();
    return 0;
}
