/* wasiprobe.h: helpers for the probe output protocol (see ../PROTOCOL.md).
 *
 * A probe prints one JSON object per observation, one per line, on stdout. Each line is built
 * in a buffer and written with a single fwrite + fflush, so observations never interleave with
 * raw payloads written straight to fd 1. Header-only: each probe is one translation unit. */
#ifndef WASIPROBE_H
#define WASIPROBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char wp_line[1 << 16];
static size_t wp_len;
static int wp_overflow;

static __attribute__((unused)) void wp_put(const char *s, size_t n) {
    if (wp_len + n >= sizeof wp_line - 64) { /* keep room for the closing fields */
        wp_overflow = 1;
        return;
    }
    memcpy(wp_line + wp_len, s, n);
    wp_len += n;
}

static __attribute__((unused)) void wp_puts(const char *s) { wp_put(s, strlen(s)); }

/* A JSON string: quotes, backslashes and control bytes escaped; other bytes passed through
 * (probes only print UTF-8 they control as strings; anything else goes out as hex). */
static __attribute__((unused)) void wp_quoted(const char *s) {
    wp_put("\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            wp_put(esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            wp_puts(esc);
        } else {
            wp_put((const char *)&c, 1);
        }
    }
    wp_put("\"", 1);
}

static __attribute__((unused)) void wp_key(const char *k) {
    wp_put(",", 1);
    wp_quoted(k);
    wp_put(":", 1);
}

static __attribute__((unused)) void wp_begin(const char *probe, const char *check) {
    wp_len = 0;
    wp_overflow = 0;
    wp_puts("{\"probe\":");
    wp_quoted(probe);
    wp_puts(",\"check\":");
    wp_quoted(check);
}

static __attribute__((unused)) void wp_str(const char *k, const char *v) {
    wp_key(k);
    wp_quoted(v);
}

static __attribute__((unused)) void wp_int(const char *k, long long v) {
    char b[32];
    wp_key(k);
    snprintf(b, sizeof b, "%lld", v);
    wp_puts(b);
}

static __attribute__((unused)) void wp_bool(const char *k, int v) {
    wp_key(k);
    wp_puts(v ? "true" : "false");
}

static __attribute__((unused)) void wp_hex(const char *k, const void *buf, size_t n) {
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)buf;
    wp_key(k);
    wp_put("\"", 1);
    for (size_t i = 0; i < n; i++) {
        char h[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
        wp_put(h, 2);
    }
    wp_put("\"", 1);
}

/* Writes all of buf to fd, retrying short writes; returns 0 or -1. */
static __attribute__((unused)) int wp_write_all(int fd, const void *buf, size_t n) {
    const char *p = (const char *)buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static __attribute__((unused)) void wp_flush_line(void) {
    if (wp_overflow)
        wp_puts(",\"wp_truncated\":true");
    wp_put("}\n", 2);
    fflush(stdout);
    wp_write_all(1, wp_line, wp_len);
}

/* Ends the observation. */
static __attribute__((unused)) void wp_end(void) { wp_flush_line(); }

/* Ends the observation announcing that exactly n raw bytes follow on stdout; the caller writes
 * them next (wp_write_all(1, ...)). */
static __attribute__((unused)) void wp_end_payload(size_t n) {
    wp_int("payload_bytes", (long long)n);
    wp_flush_line();
}

#endif
