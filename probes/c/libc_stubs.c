/* libc_stubs: calls every function the static stub census found in this SDK's libc (a body
 * that ignores its arguments and can only fail; see harness/src/stubs.rs) with zero arguments,
 * and reports what came back beside what the census predicted. `wp_stubs.h` is generated per
 * SDK by the harness and found through an extra include directory. */
#include <errno.h>
#include "wasiprobe.h"

static void wp_stub_line(const char *name, const char *kind, long long want_errno,
                         long long want_ret, long long ret, int err) {
    wp_begin("libc_stubs", "libc_stubs");
    wp_str("what", "call");
    wp_str("name", name);
    wp_str("kind", kind);
    wp_int("static_errno", want_errno);
    wp_int("static_returns", want_ret);
    wp_int("returned", ret);
    wp_int("errno", err);
    wp_end();
}

#include "wp_stubs.h"

int main(void) {
    wp_call_stubs();
    wp_begin("libc_stubs", "libc_stubs");
    wp_str("what", "done");
    wp_int("calls", WP_STUBS);
    wp_int("unreadable_members", WP_STUBS_UNREADABLE);
    wp_end();
    return 0;
}
