/* args_env: reports argv and environ byte-exactly (as hex) and exits with $WASIPROBE_EXIT. */
#include <stdlib.h>
#include "wasiprobe.h"

extern char **environ;

int main(int argc, char **argv) {
    wp_begin("args_env", "args_env");
    wp_str("what", "argc");
    wp_int("value", argc);
    wp_end();
    for (int i = 0; i < argc; i++) {
        wp_begin("args_env", "args_env");
        wp_str("what", "arg");
        wp_int("index", i);
        wp_hex("hex", argv[i], strlen(argv[i]));
        wp_end();
    }
    for (char **e = environ; e && *e; e++) {
        wp_begin("args_env", "args_env");
        wp_str("what", "env");
        wp_hex("hex", *e, strlen(*e));
        wp_end();
    }
    const char *code = getenv("WASIPROBE_EXIT");
    return code ? atoi(code) : 0;
}
