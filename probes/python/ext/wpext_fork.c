/* Negative control: an extension that needs fork(), which no WASI libc defines (WASI has no
 * processes; wasi-libc's <unistd.h> hides the prototype, so it is declared here the way a
 * portable extension's own compatibility header would). Its link must fail naming `fork`. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

extern int fork(void);

static PyObject *wpext_fork_spawn(PyObject *self, PyObject *args) {
    return Py_BuildValue("i", fork());
}

static PyMethodDef methods[] = {
    {"spawn", wpext_fork_spawn, METH_NOARGS, "fork()"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "wpext_fork", NULL, -1, methods,
};

PyMODINIT_FUNC PyInit_wpext_fork(void) {
    return PyModule_Create(&module);
}
