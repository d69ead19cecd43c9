/* stdio: writes known bytes to stdout and stderr — all 256 byte values, then one single 1 MiB
 * write() — so the harness can compare every byte. The pattern must match checks/stdio.rs. */
#include <stdlib.h>
#include "wasiprobe.h"

static void lcg_fill(unsigned char *buf, size_t n, uint32_t seed) {
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 24);
    }
}

int main(void) {
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;

    wp_begin("stdio", "stdio");
    wp_str("what", "payload");
    wp_str("pattern", "all-bytes");
    wp_end_payload(sizeof all);
    wp_write_all(1, all, sizeof all);

    size_t big = 1u << 20;
    unsigned char *buf = malloc(big);
    if (!buf)
        return 3;
    lcg_fill(buf, big, 1);
    wp_begin("stdio", "stdio");
    wp_str("what", "payload");
    wp_str("pattern", "lcg-1");
    wp_end_payload(big);
    /* One write() call: the question is whether a 1 MiB fd_write arrives whole. */
    ssize_t w = write(1, buf, big);
    if (w >= 0 && (size_t)w < big)
        wp_write_all(1, buf + w, big - (size_t)w);

    fputs("stderr-begin\n", stderr);
    fflush(stderr);
    wp_write_all(2, all, sizeof all);
    lcg_fill(buf, 64u << 10, 2);
    wp_write_all(2, buf, 64u << 10);
    fputs("stderr-end\n", stderr);
    fflush(stderr);

    wp_begin("stdio", "stdio");
    wp_str("what", "done");
    wp_int("first_write_returned", (long long)w);
    wp_end();
    free(buf);
    return 0;
}
