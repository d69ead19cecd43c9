/* entropy_source: where each randomness API of the libc gets its bytes — how many
 * `random_get` calls (and bytes) 1000 calls of arc4random_buf(16), arc4random() and
 * getentropy(16) make. Before wasi-libc #620 (SDK 28) arc4random ran ChaCha20 inside the
 * guest, seeded once: a host random_get that returns a repeating or constant stream is then
 * hidden behind good-looking output; since, every call goes to the host. The calls are counted
 * inside the guest: libc calls the import through the undefined symbol
 * `__imported_wasi_snapshot_preview1_random_get`, which this probe defines and forwards. */
#include <stdlib.h>
#include <unistd.h>
#include "wasiprobe.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("random_get")))
int32_t wp_real_random_get(uint8_t *buf, size_t len);

static long long calls, bytes;

int32_t __imported_wasi_snapshot_preview1_random_get(uint8_t *buf, size_t len) {
    calls++;
    bytes += (long long)len;
    return wp_real_random_get(buf, len);
}

static void report(const char *api, int n) {
    wp_begin("entropy_source", "entropy_source");
    wp_str("what", "api");
    wp_str("api", api);
    wp_int("calls", n);
    wp_int("random_get_calls", calls);
    wp_int("random_get_bytes", bytes);
    wp_end();
    calls = bytes = 0;
}

int main(void) {
    unsigned char b[16];
    uint32_t x = 0;
    report("startup", 0);
    for (int i = 0; i < 1000; i++)
        arc4random_buf(b, sizeof b);
    report("arc4random_buf(16)", 1000);
    for (int i = 0; i < 1000; i++)
        x ^= arc4random();
    report("arc4random()", 1000);
    int failed = 0;
    for (int i = 0; i < 1000; i++)
        failed += getentropy(b, sizeof b) != 0;
    report("getentropy(16)", 1000);
    wp_begin("entropy_source", "entropy_source");
    wp_str("what", "done");
    wp_int("getentropy_failures", failed);
    wp_int("xor", x);
    wp_end();
    return 0;
}
