/* getpid: the process id a WASI program sees. */
/* emulation: -D_WASI_EMULATED_GETPID -lwasi-emulated-getpid */
#include "wasiprobe.h"

int main(void) {
    wp_begin("dark", "getpid");
    wp_int("pid", (long long)getpid());
    wp_end();
    return 0;
}
