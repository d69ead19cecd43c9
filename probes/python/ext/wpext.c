/* wpext: a small CPython extension module, built into python.wasm statically (WASI has no
 * dlopen). Besides the Python API a real extension uses (module init, argument parsing, value
 * building), it calls the libc functions extensions commonly need, so a libc that lacks one
 * fails the link and names it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* probe(number_text, path) -> (value, formatted, monotonic_ns, entropy_ok, read_back) */
static PyObject *wpext_probe(PyObject *self, PyObject *args) {
    const char *text;
    const char *path;
    if (!PyArg_ParseTuple(args, "ss", &text, &path))
        return NULL;
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text) {
        PyErr_Format(PyExc_ValueError, "not a number: %s", text);
        return NULL;
    }
    char formatted[64];
    snprintf(formatted, sizeof formatted, "%.3f", v);
    struct timespec ts;
    long long mono = -1;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        mono = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    unsigned char buf[16];
    int entropy_ok = getentropy(buf, sizeof buf) == 0;
    char back[64] = "";
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(formatted, f);
        fclose(f);
        f = fopen(path, "r");
        if (f) {
            if (!fgets(back, sizeof back, f))
                back[0] = 0;
            fclose(f);
        }
    } else {
        snprintf(back, sizeof back, "fopen: %s", strerror(errno));
    }
    return Py_BuildValue("(dsLis)", v, formatted, mono, entropy_ok, back);
}

static PyMethodDef wpext_methods[] = {
    {"probe", wpext_probe, METH_VARARGS, "strtod, snprintf, clock_gettime, getentropy, fopen"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef wpext_module = {
    PyModuleDef_HEAD_INIT, "wpext", "wasiprobe C-extension probe", -1, wpext_methods,
};

PyMODINIT_FUNC PyInit_wpext(void) {
    return PyModule_Create(&wpext_module);
}
