/* requires: pthread_key_create pthread_setspecific pthread_getspecific pthread_key_delete */
/* tsd: thread-specific data in a single-threaded program, then exit. wasi-libc #617: with the
 * pthread stubs of SDK 26/27, CPython hung at interpreter exit and in
 * test_pythread_tss_key_state; the loop is in pthread_key_delete, which walked a thread list
 * that a single-threaded build never closes into a ring (fixed by #618). Each step is announced
 * on stderr before it is taken, so a hang names the call it is stuck in. */
#include <pthread.h>
#include "wasiprobe.h"

static int destructor_calls;
static void destructor(void *p) {
    (void)p;
    destructor_calls++;
}

static void step(const char *name) {
    fprintf(stderr, "wasiprobe-step: %s\n", name);
    fflush(stderr);
}

static void done(const char *what, int r) {
    wp_begin("tsd", "libc_tsd");
    wp_str("what", what);
    wp_int("ret", r);
    wp_end();
}

int main(void) {
    pthread_key_t k;
    step("pthread_key_create");
    done("pthread_key_create", pthread_key_create(&k, destructor));
    step("pthread_setspecific");
    done("pthread_setspecific", pthread_setspecific(k, (void *)0x1234));
    step("pthread_getspecific");
    done("pthread_getspecific_matches", pthread_getspecific(k) == (void *)0x1234);
    step("pthread_key_delete");
    done("pthread_key_delete", pthread_key_delete(k));
    pthread_key_t k2;
    step("pthread_key_create (after delete)");
    done("pthread_key_create_again", pthread_key_create(&k2, destructor));
    step("pthread_setspecific (before exit)");
    pthread_setspecific(k2, (void *)0x5678);
    step("exit");
    wp_begin("tsd", "libc_tsd");
    wp_str("what", "exit");
    wp_int("destructor_calls", destructor_calls);
    wp_end();
    return 0;
}
