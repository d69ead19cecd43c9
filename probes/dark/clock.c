/* clock: process CPU time through clock() (and times()). */
/* emulation: -D_WASI_EMULATED_PROCESS_CLOCKS -lwasi-emulated-process-clocks */
#include <time.h>
#include "wasiprobe.h"

int main(void) {
    volatile unsigned long x = 0;
    clock_t a = clock();
    for (unsigned long i = 0; i < 20000000ul; i++)
        x += i;
    clock_t b = clock();
    wp_begin("dark", "clock");
    wp_int("start", (long long)a);
    wp_int("end", (long long)b);
    wp_int("clocks_per_sec", (long long)CLOCKS_PER_SEC);
    wp_end();
    return 0;
}
