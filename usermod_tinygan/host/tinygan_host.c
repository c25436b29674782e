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

#include <zlib.h>

#include "tg_engine.h"

static PyObject *EngineError;

/* ------------------------------------------------------------------ sources */

/* The reader thread and the compute thread hand chunks over ~1,000 times per image, so each
 * side spins briefly on an atomic sequence number before sleeping on the condition variable: a
 * futex sleep/wake per chunk would cost more than a chunk's compute. The mutex is taken around
 * every broadcast, so a sleeper never misses a wake-up. */
typedef struct {
    int fd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned requested, finished; /* sequence numbers, read and written with __atomic builtins */
    int quit, rc;
    uint32_t off, len, crc;
    uint32_t delivered_crc; /* crc of the read wait() returned: the next start() may overwrite crc */
    void *dst;
} fd_reader;

/* Polling rounds (about 1 ms) before sleeping: in a VM a futex wake-up can take tens of
 * microseconds, more than a chunk's compute. Only with a second core to poll on. */
#define SPIN_ROUNDS 2000000
static int spin_rounds; /* SPIN_ROUNDS or 0, set at module init */

static unsigned load_acquire(const unsigned *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static void publish(fd_reader *r, unsigned *seq, unsigned value)
{
    __atomic_store_n(seq, value, __ATOMIC_RELEASE);
    pthread_mutex_lock(&r->mu);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Waits until *seq == value (or quit). */
static void await_seq(fd_reader *r, const unsigned *seq, unsigned value)
{
    for (int i = 0; i < spin_rounds; i++)
        if (load_acquire(seq) == value || __atomic_load_n(&r->quit, __ATOMIC_ACQUIRE))
            return;
    pthread_mutex_lock(&r->mu);
    while (load_acquire(seq) != value && !__atomic_load_n(&r->quit, __ATOMIC_ACQUIRE))
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

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
    for (unsigned next = 1;; next++) {
        await_seq(r, &r->requested, next);
        if (__atomic_load_n(&r->quit, __ATOMIC_ACQUIRE))
            break;
        r->rc = pread_all(r->fd, r->off, r->dst, r->len);
        /* the CRC is the board's I/O-core job; zlib's is the fast one on x86 (same polynomial) */
        r->crc = r->rc ? 0 : (uint32_t)crc32(0L, (const Bytef *)r->dst, r->len);
        publish(r, &r->finished, next);
    }
    return NULL;
}

static void reader_stop(fd_reader *r)
{
    __atomic_store_n(&r->quit, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&r->mu);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static int fd_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    return pread_all(((fd_reader *)ctx)->fd, off, dst, len);
}

static int fd_start(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    fd_reader *r = (fd_reader *)ctx;
    r->off = off;
    r->len = len;
    r->dst = dst;
    publish(r, &r->requested, r->requested + 1); /* the release store orders the fields before it */
    return 0;
}

static int fd_wait(void *ctx)
{
    fd_reader *r = (fd_reader *)ctx;
    await_seq(r, &r->finished, r->requested);
    r->delivered_crc = r->crc;
    return r->rc;
}

static uint32_t fd_last_crc(void *ctx) { return ((fd_reader *)ctx)->delivered_crc; }

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
        reader_stop(&self->reader);
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
            self->src.last_crc = fd_last_crc;
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

/* Who reads the chunks: "thread" (the reader thread, while this one computes) or "sync". */
static PyObject *Model_get_reader(ModelObject *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(self->has_thread ? "thread" : "sync");
}

static PyGetSetDef Model_getset[] = {
    {"latent_dim", (getter)Model_get_latent_dim, NULL, "int8 values in a latent", NULL},
    {"latent_inv_scale", (getter)Model_get_latent_inv_scale, NULL, "latent quantization: q = round(z * this)", NULL},
    {"out_shape", (getter)Model_get_out_shape, NULL, "(height, width, channels) of the image, HWC", NULL},
    {"name", (getter)Model_get_name, NULL, "model name from the header", NULL},
    {"arena_size", (getter)Model_get_arena_size, NULL, "bytes of RAM the engine uses: activations, 2 chunk buffers, parameters", NULL},
    {"file_size", (getter)Model_get_file_size, NULL, "bytes of the weight file", NULL},
    {"layers", (getter)Model_get_layers, NULL, "per-layer shapes, chunking and MACs", NULL},
    {"stats", (getter)Model_get_stats, NULL, "per-layer stats of the last successful generate()", NULL},
    {"reader", (getter)Model_get_reader, NULL, "who reads the chunks: 'thread', 'sync' (a board's: 'V3F')", NULL},
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

#if defined(__x86_64__) && defined(TG_KERNEL_S2)
int tg_kernel_x86_has_vnni(void);
extern int tg_kernel_x86_portable;
static const char *kernel_name(void)
{
    return tg_kernel_x86_has_vnni() ? "avx512-vnni int8" : "portable float32 (no AVX-512 VNNI on this CPU)";
}
#else
static int tg_kernel_x86_portable;
static const char *kernel_name(void) { return "portable float32"; }
#endif

static PyObject *use_portable_kernel(PyObject *mod, PyObject *arg)
{
    (void)mod;
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    tg_kernel_x86_portable = on;
    Py_RETURN_NONE;
}

/* crc32(data, value=0): the engine's own tg_crc32 (the reader thread uses zlib's), so the tests
 * can check it against zlib.crc32 on any buffer, offset and chaining. */
static PyObject *engine_crc32(PyObject *mod, PyObject *args)
{
    (void)mod;
    Py_buffer data;
    unsigned int value = 0;
    if (!PyArg_ParseTuple(args, "y*|I", &data, &value))
        return NULL;
    uint32_t crc = tg_crc32((uint32_t)value, data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLong(crc);
}

static PyMethodDef module_methods[] = {
    {"use_portable_kernel", use_portable_kernel, METH_O,
     "use_portable_kernel(flag): run the portable kernel even where AVX-512 VNNI is available (benchmarks)"},
    {"crc32", engine_crc32, METH_VARARGS,
     "crc32(data, value=0): the engine's tg_crc32, chainable like zlib.crc32(data, value)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef engine_module = {PyModuleDef_HEAD_INIT, "tinygan._engine",
                                           "The tinygan C engine (usermod_tinygan/engine)", -1, module_methods, NULL,
                                           NULL, NULL, NULL};

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
    spin_rounds = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? SPIN_ROUNDS : 0;
    if (PyModule_AddStringConstant(m, "KERNEL", kernel_name())) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
