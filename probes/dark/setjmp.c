/* setjmp: a longjmp back into main (needs Wasm exception handling underneath). */
/* emulation: -mllvm -wasm-enable-sjlj */
#include <setjmp.h>
#include "wasiprobe.h"

static jmp_buf env;
static void jump(void) { longjmp(env, 7); }

int main(void) {
    volatile int back = setjmp(env);
    if (!back)
        jump();
    wp_begin("dark", "setjmp");
    wp_int("returned", back);
    wp_end();
    return 0;
}
