/* threads: pthread_create (stubs appeared in SDK 26; ENOTSUP from SDK 30). */
#include <pthread.h>
#include "wasiprobe.h"

static void *body(void *p) { return p; }

int main(void) {
    pthread_t t;
    int r = pthread_create(&t, 0, body, 0);
    int j = r == 0 ? pthread_join(t, 0) : -1;
    wp_begin("dark", "threads");
    wp_int("pthread_create", r);
    wp_int("pthread_join", j);
    wp_end();
    return 0;
}
