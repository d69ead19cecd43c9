/* mmap: an anonymous 64 KiB mapping, written and unmapped. */
/* emulation: -D_WASI_EMULATED_MMAN -lwasi-emulated-mman */
#include <errno.h>
#include <sys/mman.h>
#include "wasiprobe.h"

int main(void) {
    char *p = mmap(0, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int e = errno;
    int ok = p != MAP_FAILED;
    if (ok)
        p[65535] = 7;
    int u = ok ? munmap(p, 65536) : -1;
    wp_begin("dark", "mmap");
    wp_bool("mapped", ok);
    wp_int("mmap_errno", ok ? 0 : e);
    wp_int("munmap", u);
    wp_end();
    return 0;
}
