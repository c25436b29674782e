/* CPython binding of the engine: tinygan._engine.Model, the same API as the MicroPython module.
 *
 * A path source reads with pread() on a background thread: while the engine computes chunk i,
 * the thread reads chunk i+1 (the engine's start/wait source interface), as the V3F core does on
 * the board. A Python file object is read synchronously through its seek/readinto methods.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tg_engine.h"

static PyObject *EngineError;

/* ------------------------------------------------------------------ sources */

typedef struct {
    int fd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int has_request, done, quit, rc;
    uint32_t off, len;
    void *dst;
} fd_reader;

static int pread_all(int fd, uint32_t off, void *dst, uint32_t len)
{
    uint8_t *p = (uint8_t *)dst;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* error or a file shorter than the header said: a truncated read */
        p += n;
        off += (uint32_t)n;
        len -= (uint32_t)n;
    }
    return 0;
}

static void *reader_main(void *arg)
{
    fd_reader *r = (fd_reader *)arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->quit && !(r->has_request && !r->done))
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->quit)
            break;
        uint32_t off = r->off, len = r->len;
        void *dst = r->dst;
        pthread_mutex_unlock(&r->mu);
        int rc = pread_all(r->fd, off, dst, len);
        pthread_mutex_lock(&r->mu);
        r->rc = rc;
        r->done = 1;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static int fd_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    return pread_all(((fd_reader *)ctx)->fd, off, dst, len);
}

static int fd_start(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    fd_reader *r = (fd_reader *)ctx;
    pthread_mutex_lock(&r->mu);
    r->off = off;
    r->len = len;
    r->dst = dst;
    r->done = 0;
    r->has_request = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static int fd_wait(void *ctx)
{
    fd_reader *r = (fd_reader *)ctx;
    pthread_mutex_lock(&r->mu);
    while (r->has_request && !r->done)
        pthread_cond_wait(&r->cv, &r->mu);
    r->has_request = 0;
    int rc = r->rc;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* A Python binary file object: seek() + readinto(), with the GIL taken for each call. */
static int pyfile_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    PyGILState_STATE g = PyGILState_Ensure();
    int rc = -1;
    PyObject *r = PyObject_CallMethod((PyObject *)ctx, "seek", "k", (unsigned long)off);
    if (r) {
        Py_DECREF(r);
        PyObject *mv = PyMemoryView_FromMemory((char *)dst, len, PyBUF_WRITE);
        if (mv) {
            r = PyObject_CallMethod((PyObject *)ctx, "readinto", "O", mv);
            Py_DECREF(mv);
            if (r) {
                rc = PyLong_AsSsize_t(r) == (Py_ssize_t)len ? 0 : -1;
                Py_DECREF(r);
            }
        }
    }
    if (PyErr_Occurred())
        PyErr_Clear(); /* reported by the engine as a read failure naming layer and chunk */
    PyGILState_Release(g);
    return rc;
}

/* ------------------------------------------------------------------ Model */

typedef struct {
    PyObject_HEAD
    tg_model model;
    tg_source src;
    fd_reader reader;
    int has_thread;
    PyObject *file;          /* the Python file object, or NULL for a path */
    uint8_t *arena;
    size_t arena_size;
    tg_layer_stats stats[TG_MAX_LAYERS];
    int have_stats;
    PyObject *progress;      /* during generate() only */
    int progress_failed;
    pthread_mutex_t busy;    /* one generate() at a time per model */
} ModelObject;

static PyObject *raise_engine(const tg_error *err)
{
    PyErr_SetString(EngineError, err->msg[0] ? err->msg : "engine error");
    return NULL;
}

static uint32_t clock_us(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

static int progress_cb(void *ctx, int layer, int chunk, int n_chunks)
{
    ModelObject *self = (ModelObject *)ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    int stop = 0;
    PyObject *r = PyObject_CallFunction(self->progress, "iii", layer, chunk, n_chunks);
    if (!r) {
        self->progress_failed = 1; /* keep the exception; stop the engine */
        stop = 1;
    } else {
        stop = PyObject_IsTrue(r) == 1;
        Py_DECREF(r);
    }
    PyGILState_Release(g);
    return stop;
}

static void Model_dealloc(ModelObject *self)
{
    if (self->has_thread) {
        pthread_mutex_lock(&self->reader.mu);
        self->reader.quit = 1;
        pthread_cond_broadcast(&self->reader.cv);
        pthread_mutex_unlock(&self->reader.mu);
        pthread_join(self->reader.thread, NULL);
        pthread_cond_destroy(&self->reader.cv);
        pthread_mutex_destroy(&self->reader.mu);
    }
    if (!self->file && self->reader.fd >= 0)
        close(self->reader.fd);
    Py_XDECREF(self->file);
    PyMem_Free(self->arena);
    pthread_mutex_destroy(&self->busy);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Model_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    ModelObject *self = (ModelObject *)type->tp_alloc(type, 0);
    if (self) {
        self->reader.fd = -1;
        pthread_mutex_init(&self->busy, NULL);
    }
    (void)args;
    (void)kw;
    return (PyObject *)self;
}

static int Model_init(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"source", NULL};
    PyObject *source;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O", kwlist, &source))
        return -1;
    if (self->arena) {
        PyErr_SetString(PyExc_RuntimeError, "Model is already initialised");
        return -1;
    }
    if (PyUnicode_Check(source) || PyBytes_Check(source) || PyObject_HasAttrString(source, "__fspath__")) {
        PyObject *path = NULL;
        if (!PyUnicode_FSConverter(source, &path))
            return -1;
        int fd = open(PyBytes_AS_STRING(path), O_RDONLY);
        if (fd < 0) {
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, source);
            Py_DECREF(path);
            return -1;
        }
        Py_DECREF(path);
        struct stat stbuf;
        if (fstat(fd, &stbuf) || stbuf.st_size > 0xFFFFFFFFll) {
            close(fd);
            PyErr_SetString(EngineError, "weight file: cannot stat or larger than 4 GiB");
            return -1;
        }
        self->reader.fd = fd;
        pthread_mutex_init(&self->reader.mu, NULL);
        pthread_cond_init(&self->reader.cv, NULL);
        if (pthread_create(&self->reader.thread, NULL, reader_main, &self->reader) == 0) {
            self->has_thread = 1;
            self->src.start = fd_start;
            self->src.wait = fd_wait;
        }
        self->src.ctx = &self->reader;
        self->src.size = (uint32_t)stbuf.st_size;
        self->src.read = fd_read;
    } else if (PyObject_HasAttrString(source, "readinto") && PyObject_HasAttrString(source, "seek")) {
        PyObject *end = PyObject_CallMethod(source, "seek", "ii", 0, 2);
        if (!end)
            return -1;
        unsigned long size = PyLong_AsUnsignedLong(end);
        Py_DECREF(end);
        if (PyErr_Occurred())
            return -1;
        Py_INCREF(source);
        self->file = source;
        self->src.ctx = source;
        self->src.size = (uint32_t)size;
        self->src.read = pyfile_read;
    } else {
        PyErr_SetString(PyExc_TypeError, "Model() takes a path or a binary file object (seek + readinto)");
        return -1;
    }
    tg_error err = {TG_OK, -1, -1, ""};
    tg_status st;
    Py_BEGIN_ALLOW_THREADS
    st = tg_open(&self->model, &self->src, &err);
    Py_END_ALLOW_THREADS
    if (st) {
        raise_engine(&err);
        return -1;
    }
    self->arena_size = tg_arena_size(&self->model);
    self->arena = PyMem_Malloc(self->arena_size);
    if (!self->arena) {
        PyErr_NoMemory();
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS
    st = tg_check(&self->model, &self->src, self->arena, self->arena_size, 0, &err);
    Py_END_ALLOW_THREADS
    if (st) {
        raise_engine(&err);
        return -1;
    }
    return 0;
}

static PyObject *Model_generate(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"latent", "out", "progress", NULL};
    Py_buffer lat, outbuf = {0};
    PyObject *out = Py_None, *progress = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|OO", kwlist, &lat, &out, &progress))
        return NULL;
    const tg_model *m = &self->model;
    size_t img_bytes = (size_t)m->out_h * m->out_w * m->out_c;
    PyObject *result = NULL;
    if ((size_t)lat.len != m->latent_dim) {
        PyErr_Format(PyExc_ValueError, "latent has %zd bytes, the model takes %d int8 values", lat.len, m->latent_dim);
        goto done;
    }
    if (progress != Py_None && !PyCallable_Check(progress)) {
        PyErr_SetString(PyExc_TypeError, "progress must be callable");
        goto done;
    }
    if (out == Py_None) {
        result = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)img_bytes);
        if (!result)
            goto done;
    } else {
        if (PyObject_GetBuffer(out, &outbuf, PyBUF_WRITABLE) < 0)
            goto done;
        if ((size_t)outbuf.len != img_bytes) {
            PyErr_Format(PyExc_ValueError, "out has %zd bytes, the image is %zu", outbuf.len, img_bytes);
            goto done;
        }
        Py_INCREF(out);
        result = out;
    }
    uint8_t *img = out == Py_None ? (uint8_t *)PyByteArray_AS_STRING(result) : (uint8_t *)outbuf.buf;
    tg_hooks hooks = {NULL, self, clock_us, NULL};
    if (progress != Py_None)
        hooks.progress = progress_cb;
    self->progress = progress;
    self->progress_failed = 0;
    tg_error err = {TG_OK, -1, -1, ""};
    tg_status st;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&self->busy);
    st = tg_generate(m, &self->src, (const int8_t *)lat.buf, img, self->arena, self->arena_size, &hooks,
                     self->stats, &err);
    pthread_mutex_unlock(&self->busy);
    Py_END_ALLOW_THREADS
    self->progress = NULL;
    self->have_stats = st == TG_OK;
    if (self->progress_failed || st) {
        if (!self->progress_failed)
            raise_engine(&err);
        Py_CLEAR(result);
    }
done:
    PyBuffer_Release(&lat);
    if (outbuf.obj)
        PyBuffer_Release(&outbuf);
    return result;
}

static PyObject *Model_verify(ModelObject *self, PyObject *unused)
{
    (void)unused;
    tg_error err = {TG_OK, -1, -1, ""};
    tg_status st;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&self->busy);
    st = tg_check(&self->model, &self->src, self->arena, self->arena_size, 1, &err);
    pthread_mutex_unlock(&self->busy);
    Py_END_ALLOW_THREADS
    if (st)
        return raise_engine(&err);
    Py_RETURN_NONE;
}

/* Appends item (a new reference, or NULL after a failed build) to list; on failure drops the list. */
static PyObject *append_or_drop(PyObject *list, PyObject *item)
{
    if (!item || PyList_Append(list, item)) {
        Py_XDECREF(item);
        Py_DECREF(list);
        return NULL;
    }
    Py_DECREF(item);
    return list;
}

static PyObject *Model_get_stats(ModelObject *self, void *closure)
{
    (void)closure;
    PyObject *list = PyList_New(0);
    for (int i = 0; list && self->have_stats && i < self->model.n_layers; i++) {
        const tg_layer_stats *s = &self->stats[i];
        list = append_or_drop(list, Py_BuildValue("{s:k,s:k,s:k,s:k,s:K}", "bytes_read", (unsigned long)s->bytes_read,
                                                  "wait_us", (unsigned long)s->wait_us, "check_us",
                                                  (unsigned long)s->check_us, "compute_us",
                                                  (unsigned long)s->compute_us, "macs", (unsigned long long)s->macs));
    }
    return list;
}

static PyObject *Model_get_out_shape(ModelObject *self, void *closure)
{
    (void)closure;
    return Py_BuildValue("(iii)", self->model.out_h, self->model.out_w, self->model.out_c);
}

static PyObject *Model_get_name(ModelObject *self, void *closure)
{
    (void)closure;
    return PyUnicode_DecodeUTF8(self->model.name, (Py_ssize_t)strlen(self->model.name), "replace");
}

static PyObject *Model_get_layers(ModelObject *self, void *closure)
{
    (void)closure;
    PyObject *list = PyList_New(0);
    for (int i = 0; list && i < self->model.n_layers; i++) {
        const tg_layer *l = &self->model.layers[i];
        list = append_or_drop(list, Py_BuildValue("{s:i,s:i,s:i,s:i,s:i,s:i,s:K}", "cin", l->cin, "cout", l->cout,
                                                  "in_h", l->in_h, "out_h", l->out_h, "n_chunks", l->n_chunks,
                                                  "chunk_bytes", (int)l->chunk_bytes, "macs",
                                                  (unsigned long long)tg_layer_macs(l)));
    }
    return list;
}

#define INT_GETTER(name, expr)                                      \
    static PyObject *Model_get_##name(ModelObject *self, void *c)   \
    {                                                               \
        (void)c;                                                    \
        return PyLong_FromSize_t((size_t)(expr));                   \
    }
INT_GETTER(latent_dim, self->model.latent_dim)
INT_GETTER(latent_inv_scale, self->model.latent_inv_scale)
INT_GETTER(arena_size, self->arena_size)
INT_GETTER(file_size, self->model.file_size)

static PyGetSetDef Model_getset[] = {
    {"latent_dim", (getter)Model_get_latent_dim, NULL, "int8 values in a latent", NULL},
    {"latent_inv_scale", (getter)Model_get_latent_inv_scale, NULL, "latent quantization: q = round(z * this)", NULL},
    {"out_shape", (getter)Model_get_out_shape, NULL, "(height, width, channels) of the image, HWC", NULL},
    {"name", (getter)Model_get_name, NULL, "model name from the header", NULL},
    {"arena_size", (getter)Model_get_arena_size, NULL, "bytes of RAM the engine uses: activations, 2 chunk buffers, parameters", NULL},
    {"file_size", (getter)Model_get_file_size, NULL, "bytes of the weight file", NULL},
    {"layers", (getter)Model_get_layers, NULL, "per-layer shapes, chunking and MACs", NULL},
    {"stats", (getter)Model_get_stats, NULL, "per-layer stats of the last successful generate()", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef Model_methods[] = {
    {"generate", (PyCFunction)(void (*)(void))Model_generate, METH_VARARGS | METH_KEYWORDS,
     "generate(latent, out=None, progress=None) -> image bytes (HWC RGB).\n"
     "progress(layer, chunk, n_chunks) is called after each chunk; a true result cancels."},
    {"verify", (PyCFunction)Model_verify, METH_NOARGS, "read every chunk and check its CRC"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tinygan.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Model(path_or_file): a .tgw weight file opened and validated for the C engine",
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
    .tp_init = (initproc)Model_init,
    .tp_new = Model_new,
};

static struct PyModuleDef engine_module = {PyModuleDef_HEAD_INIT, "tinygan._engine",
                                           "The tinygan C engine (usermod_tinygan/engine)", -1, NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__engine(void)
{
    if (PyType_Ready(&ModelType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&engine_module);
    if (!m)
        return NULL;
    EngineError = PyErr_NewException("tinygan.EngineError", PyExc_ValueError, NULL);
    Py_INCREF(&ModelType);
    if (!EngineError || PyModule_AddObject(m, "Model", (PyObject *)&ModelType) ||
        PyModule_AddObject(m, "EngineError", EngineError)) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(EngineError);
    return m;
}
