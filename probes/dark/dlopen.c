/* dlopen: loading a shared object (WASI has no dynamic linking in Preview 1). */
#include <dlfcn.h>
#include "wasiprobe.h"

int main(void) {
    void *h = dlopen("libm.so", RTLD_NOW);
    const char *e = h ? "" : dlerror();
    wp_begin("dark", "dlopen");
    wp_bool("loaded", h != 0);
    wp_str("dlerror", e ? e : "");
    wp_end();
    return 0;
}
