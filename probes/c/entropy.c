/* entropy: the randomness a guest gets, path by path — raw random_get, getentropy (256-byte
 * chunks), arc4random_buf, /dev/urandom where it exists — written as files in /scratch for the
 * harness to judge, plus the edge cases: getentropy(257), random_get(0), one 1 MiB random_get,
 * and sentinel-prefilled buffers that prove every byte was written.
 *
 * `entropy prefix` only prints the first 32 bytes of each path (the cross-run comparison).
 * WASIPROBE_ENTROPY_BYTES sets the random_get stream size (default 100 sequences of 10^6 bits). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <wasi/api.h>
#include "wasiprobe.h"

#define P "entropy"
#define MIB (1u << 20)

typedef int (*fill_fn)(unsigned char *, size_t);

static int fill_random_get(unsigned char *b, size_t n) { return __wasi_random_get(b, n); }

static int fill_getentropy(unsigned char *b, size_t n) {
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        if (getentropy(b + i, k))
            return errno;
    }
    return 0;
}

static int fill_arc4random(unsigned char *b, size_t n) {
    arc4random_buf(b, n);
    return 0;
}

static const char *names[3] = {"random_get", "getentropy", "arc4random"};
static fill_fn fills[3] = {fill_random_get, fill_getentropy, fill_arc4random};

static void prefix(void) {
    for (int s = 0; s < 3; s++) {
        unsigned char b[32] = {0};
        int e = fills[s](b, sizeof b);
        wp_begin(P, "entropy_cross_run");
        wp_str("what", "prefix");
        wp_str("source", names[s]);
        wp_int("errno", e);
        wp_hex("hex", b, sizeof b);
        wp_end();
    }
}

/* Streams `total` bytes from a source into /scratch/NAME.bin in 64 KiB draws. */
static void stream(int s, size_t total, const char *file) {
    static unsigned char buf[1 << 16];
    char path[128];
    snprintf(path, sizeof path, "/scratch/%s", file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = fd < 0 ? errno : 0;
    size_t done = 0;
    while (!err && done < total) {
        size_t k = total - done < sizeof buf ? total - done : sizeof buf;
        err = fills[s](buf, k);
        if (!err && wp_write_all(fd, buf, k))
            err = errno;
        done += k;
    }
    if (fd >= 0)
        close(fd);
    wp_begin(P, "entropy_sp800_22");
    wp_str("what", "stream");
    wp_str("source", names[s]);
    wp_str("file", file);
    wp_int("bytes", (long long)done);
    wp_int("errno", err);
    wp_end();
}

static void save(const char *file, const unsigned char *b, size_t n) {
    char path[128];
    snprintf(path, sizeof path, "/scratch/%s", file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        wp_write_all(fd, b, n);
        close(fd);
    }
}

/* A buffer prefilled with a sentinel, filled by a source, saved for the harness. */
static void sentinel(int s, unsigned char fillbyte) {
    static unsigned char b[1 << 16];
    char file[64];
    memset(b, fillbyte, sizeof b);
    int e = fills[s](b, sizeof b);
    snprintf(file, sizeof file, "fill_%s_%02x.bin", names[s], fillbyte);
    save(file, b, sizeof b);
    wp_begin(P, "entropy_fill");
    wp_str("what", "sentinel");
    wp_str("source", names[s]);
    wp_int("sentinel", fillbyte);
    wp_str("file", file);
    wp_int("bytes", (long long)sizeof b);
    wp_int("errno", e);
    wp_end();
}

static void edges(void) {
    unsigned char b[300];
    int r = getentropy(b, 257);
    int e = r ? errno : 0;
    wp_begin(P, "entropy_edges");
    wp_str("what", "getentropy_257");
    wp_int("ret", r);
    wp_int("errno", e);
    wp_int("EIO", EIO);
    wp_end();
    r = getentropy(b, 256);
    wp_begin(P, "entropy_edges");
    wp_str("what", "getentropy_256");
    wp_int("ret", r);
    wp_int("errno", r ? errno : 0);
    wp_end();
    wp_begin(P, "entropy_edges");
    wp_str("what", "random_get_0");
    wp_int("errno", __wasi_random_get(b, 0));
    wp_end();
    unsigned char *big = malloc(MIB);
    int eb = big ? __wasi_random_get(big, MIB) : -1;
    if (big && !eb)
        save("random_get_1mib.bin", big, MIB);
    wp_begin(P, "entropy_edges");
    wp_str("what", "random_get_1mib");
    wp_int("errno", eb);
    wp_str("file", "random_get_1mib.bin");
    wp_end();
    free(big);
    int fd = open("/dev/urandom", O_RDONLY);
    wp_begin(P, "entropy_edges");
    wp_str("what", "dev_urandom");
    wp_bool("exists", fd >= 0);
    wp_int("errno", fd < 0 ? errno : 0);
    wp_end();
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "prefix") == 0) {
        prefix();
        return 0;
    }
    const char *env = getenv("WASIPROBE_ENTROPY_BYTES");
    size_t total = env ? (size_t)strtoull(env, NULL, 10) : 12500000u;
    prefix();
    stream(0, total, "random_get.bin");
    stream(1, MIB, "getentropy.bin");
    stream(2, MIB, "arc4random.bin");
    for (int s = 0; s < 3; s++) {
        sentinel(s, 0x00);
        sentinel(s, 0xff);
    }
    edges();
    wp_begin(P, "entropy_edges");
    wp_str("what", "done");
    wp_end();
    return 0;
}
