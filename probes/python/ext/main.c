/* The link entry: what CPython's inittab does for a built-in module — call its init function.
 * Linking a command (not a bare object) makes the linker resolve every libc symbol the
 * extension needs, from this SDK's libc. */
#include <Python.h>

extern PyObject *PyInit_wpext_entry(void);

int main(void) {
    return PyInit_wpext_entry() == NULL;
}
