/* MicroPython binding of the engine: the module `tinygan`, the same API as the CPython extension
 * (usermod_tinygan/host/tinygan_host.c, docs/engine.md):
 *
 *     m = tinygan.Model("model.tgw")      # or an open binary file (seek + readinto)
 *     img = m.generate(latent)            # 100 int8 -> bytearray 64*64*3, HWC RGB
 *     m.generate(latent, out=buf, progress=lambda layer, chunk, n: False)
 *     m.verify(); m.stats; m.layers; m.arena_size; ...
 *
 * The weight file is read through MicroPython's stream protocol (seek ioctl + read), so the same
 * code reads a FAT file on the board's SD card, a host file on the unix port and a file on the
 * QEMU board's disk image. The arena is allocated once per Model: on the GC heap, or, where the
 * port defines MICROPY_TINYGAN_ARENA_SIZE, in a static buffer the board's linker script places
 * (on the CH32H417 in the V5F's zero-wait DTCM; the GC heap then holds only Python objects). The
 * engine itself never allocates. Reads are synchronous here, unless the board gives an asynchronous
 * reader (tinygan_board.h: on the CH32H417 the V3F core reads the card while the V5F computes).
 */
#include <string.h>

/* This file is built with -Wextra; some MicroPython configurations have inline helpers with
 * unused parameters in these headers (py/pystack.h), which are not ours to change. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "py/builtin.h"
#include "py/mphal.h"
#include "py/objexcept.h"
#include "py/runtime.h"
#include "py/stream.h"
#pragma GCC diagnostic pop

#include "tg_engine.h"
#ifdef MICROPY_TINYGAN_BOARD_SOURCE
#include "tinygan_board.h"
#endif

MP_DEFINE_EXCEPTION(EngineError, ValueError)

typedef struct {
    mp_obj_base_t base;
    mp_obj_t stream;         /* the file object the weights are read from */
    tg_model model;
    tg_source src;
    uint8_t *arena;
    size_t arena_size;
    tg_layer_stats stats[TG_MAX_LAYERS];
    bool have_stats;
    bool board_reader;       /* the board's asynchronous reader serves this Model */
    bool busy;               /* a progress callback may call back into this Model */
    mp_obj_t progress;       /* during generate() only */
    mp_obj_t pending_exc;    /* raised by the progress callback or Ctrl-C; re-raised afterwards */
} tinygan_model_obj_t;

static const mp_obj_type_t tinygan_model_type;

/* ------------------------------------------------------------------ arena */

#ifdef MICROPY_TINYGAN_ARENA_SIZE
/* One static arena for the board: the newest Model whose arena fits owns it (an application
 * opens one model); a Model that lost it to a newer one refuses to run instead of sharing it.
 * The section name starts with .bss so any linker script zeroes it; a board may place it. */
static uint8_t board_arena[MICROPY_TINYGAN_ARENA_SIZE] __attribute__((section(".bss.tg_arena"), aligned(16)));
static const void *board_arena_owner;
#endif

static uint8_t *arena_for(const void *owner, size_t size)
{
    #ifdef MICROPY_TINYGAN_ARENA_SIZE
    if (size <= sizeof(board_arena)) {
        board_arena_owner = owner;
        return board_arena;
    }
    #endif
    (void)owner;
    return m_new(uint8_t, size);
}

static void arena_check_owner(const tinygan_model_obj_t *self)
{
    #ifdef MICROPY_TINYGAN_ARENA_SIZE
    if (self->arena == board_arena && board_arena_owner != self) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("a newer Model holds the board's arena: use that one"));
    }
    #else
    (void)self;
    #endif
}

static MP_NORETURN void raise_engine(const tg_error *err)
{
    mp_raise_msg_varg(&mp_type_EngineError, MP_ERROR_TEXT("%s"), err->msg[0] ? err->msg : "engine error");
}

/* ------------------------------------------------------------------ source */

/* Engine callbacks run inside C frames of the engine, so nothing may longjmp through them: every
 * call into MicroPython that can raise runs under nlr_push, and a failure becomes the engine's
 * read error (which names the layer and chunk) or a cancel. */
static int stream_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    mp_obj_t stream = (mp_obj_t)ctx;
    int rc = -1;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        int errcode = 0;
        if (mp_stream_seek(stream, (mp_off_t)off, MP_SEEK_SET, &errcode) == (mp_off_t)off) {
            mp_uint_t got = mp_stream_rw(stream, dst, len, &errcode, MP_STREAM_RW_READ);
            rc = got == len && errcode == 0 ? 0 : -1; /* short: a file shorter than the header said */
        }
        nlr_pop();
    }
    return rc;
}

static uint32_t clock_us(void *ctx)
{
    (void)ctx;
    return (uint32_t)mp_hal_ticks_us();
}

/* Called after every chunk: runs pending events (so Ctrl-C and scheduled callbacks work during a
 * cat that takes seconds to minutes on the board), then the user's progress callable. */
static int progress_cb(void *ctx, int layer, int chunk, int n_chunks)
{
    tinygan_model_obj_t *self = (tinygan_model_obj_t *)ctx;
    int stop = 0;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_event_handle_nowait(); /* the port's event hook (console poll for Ctrl-C), then pending */
        if (self->progress != mp_const_none) {
            mp_obj_t r = mp_call_function_n_kw(self->progress, 3, 0,
                                               (const mp_obj_t[]){MP_OBJ_NEW_SMALL_INT(layer), MP_OBJ_NEW_SMALL_INT(chunk),
                                                                  MP_OBJ_NEW_SMALL_INT(n_chunks)});
            stop = mp_obj_is_true(r);
        }
        nlr_pop();
    } else {
        self->pending_exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        stop = 1;
    }
    return stop;
}

/* ------------------------------------------------------------------ Model */

static mp_obj_t tinygan_model_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args)
{
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    mp_obj_t stream = args[0];
    if (mp_obj_is_str(stream)) {
        mp_obj_t open_args[2] = {stream, MP_OBJ_NEW_QSTR(MP_QSTR_rb)};
        stream = mp_builtin_open(2, open_args, (mp_map_t *)&mp_const_empty_map);
    }
    mp_get_stream_raise(stream, MP_STREAM_OP_READ | MP_STREAM_OP_IOCTL);
    int errcode = 0;
    mp_off_t size = mp_stream_seek(stream, 0, MP_SEEK_END, &errcode);
    if (size == (mp_off_t)-1) {
        mp_raise_OSError(errcode);
    }
    if ((uint64_t)size > 0xFFFFFFFFu) {
        mp_raise_msg(&mp_type_EngineError, MP_ERROR_TEXT("weight file larger than 4 GiB"));
    }

    tinygan_model_obj_t *self = mp_obj_malloc(tinygan_model_obj_t, type);
    self->stream = stream;
    memset(&self->src, 0, sizeof(self->src)); /* optional fields (start/wait, ...) stay off */
    self->src.ctx = MP_OBJ_TO_PTR(stream);
    self->src.size = (uint32_t)size;
    self->src.read = stream_read;
    self->progress = mp_const_none;
    self->pending_exc = MP_OBJ_NULL;

    tg_error err;
    memset(&err, 0, sizeof(err));
    if (tg_open(&self->model, &self->src, &err) != TG_OK) {
        raise_engine(&err);
    }
    #ifdef MICROPY_TINYGAN_BOARD_SOURCE
    self->board_reader = tinygan_board_source(stream, &self->model, &self->src);
    #endif
    self->arena_size = tg_arena_size(&self->model);
    self->arena = arena_for(self, self->arena_size);
    if (tg_check(&self->model, &self->src, self->arena, self->arena_size, 0, &err) != TG_OK) {
        raise_engine(&err);
    }
    return MP_OBJ_FROM_PTR(self);
}

static void model_enter(tinygan_model_obj_t *self)
{
    if (self->busy) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("Model is busy (called from its own progress callback)"));
    }
    arena_check_owner(self);
    self->busy = true;
}

static mp_obj_t tinygan_model_generate(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args)
{
    enum { ARG_latent, ARG_out, ARG_progress };
    static const mp_arg_t allowed[] = {
        {MP_QSTR_latent, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL}},
        {MP_QSTR_out, MP_ARG_OBJ, {.u_obj = mp_const_none}},
        {MP_QSTR_progress, MP_ARG_OBJ, {.u_obj = mp_const_none}},
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed), allowed, args);
    tinygan_model_obj_t *self = MP_OBJ_TO_PTR(pos_args[0]);
    const tg_model *m = &self->model;
    size_t img_bytes = (size_t)m->out_h * m->out_w * m->out_c;

    mp_buffer_info_t lat;
    mp_get_buffer_raise(args[ARG_latent].u_obj, &lat, MP_BUFFER_READ);
    if (lat.len != m->latent_dim) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("latent has %d bytes, the model takes %d int8 values"),
                          (int)lat.len, (int)m->latent_dim);
    }
    mp_obj_t progress = args[ARG_progress].u_obj;
    if (progress != mp_const_none && !mp_obj_is_callable(progress)) {
        mp_raise_TypeError(MP_ERROR_TEXT("progress must be callable"));
    }
    mp_obj_t result = args[ARG_out].u_obj;
    mp_buffer_info_t img;
    if (result == mp_const_none) {
        result = mp_call_function_1(MP_OBJ_FROM_PTR(&mp_type_bytearray), mp_obj_new_int_from_uint(img_bytes));
        mp_get_buffer_raise(result, &img, MP_BUFFER_WRITE);
    } else {
        mp_get_buffer_raise(result, &img, MP_BUFFER_WRITE);
        if (img.len != img_bytes) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("out has %d bytes, the image is %d"), (int)img.len,
                              (int)img_bytes);
        }
    }

    tg_hooks hooks;
    memset(&hooks, 0, sizeof(hooks)); /* fields added to tg_hooks later stay off */
    hooks.progress = progress_cb;
    hooks.progress_ctx = self;
    hooks.now_us = clock_us;
    tg_error err;
    memset(&err, 0, sizeof(err));
    model_enter(self);
    self->progress = progress;
    self->pending_exc = MP_OBJ_NULL;
    tg_status st = tg_generate(m, &self->src, (const int8_t *)lat.buf, (uint8_t *)img.buf, self->arena, self->arena_size,
                               &hooks, self->stats, &err);
    self->progress = mp_const_none;
    self->busy = false;
    self->have_stats = st == TG_OK;
    if (self->pending_exc != MP_OBJ_NULL) {
        mp_obj_t exc = self->pending_exc;
        self->pending_exc = MP_OBJ_NULL;
        nlr_raise(exc);
    }
    if (st != TG_OK) {
        raise_engine(&err);
    }
    return result;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(tinygan_model_generate_obj, 1, tinygan_model_generate);

static mp_obj_t tinygan_model_verify(mp_obj_t self_in)
{
    tinygan_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    tg_error err;
    memset(&err, 0, sizeof(err));
    model_enter(self);
    tg_status st = tg_check(&self->model, &self->src, self->arena, self->arena_size, 1, &err);
    self->busy = false;
    if (st != TG_OK) {
        raise_engine(&err);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(tinygan_model_verify_obj, tinygan_model_verify);

/* A dict from parallel arrays of keys and values (the shape of one entry of stats / layers). */
static mp_obj_t new_dict(size_t n, const qstr *keys, const mp_obj_t *values)
{
    mp_obj_t d = mp_obj_new_dict(n);
    for (size_t i = 0; i < n; i++) {
        mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(keys[i]), values[i]);
    }
    return d;
}

static mp_obj_t model_stats(const tinygan_model_obj_t *self)
{
    static const qstr keys[] = {MP_QSTR_bytes_read, MP_QSTR_wait_us, MP_QSTR_check_us, MP_QSTR_compute_us, MP_QSTR_macs};
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (int i = 0; self->have_stats && i < self->model.n_layers; i++) {
        const tg_layer_stats *s = &self->stats[i];
        mp_obj_t values[] = {mp_obj_new_int_from_uint(s->bytes_read), mp_obj_new_int_from_uint(s->wait_us),
                             mp_obj_new_int_from_uint(s->check_us), mp_obj_new_int_from_uint(s->compute_us),
                             mp_obj_new_int_from_ull(s->macs)};
        mp_obj_list_append(list, new_dict(MP_ARRAY_SIZE(keys), keys, values));
    }
    return list;
}

static mp_obj_t model_layers(const tinygan_model_obj_t *self)
{
    static const qstr keys[] = {MP_QSTR_cin, MP_QSTR_cout, MP_QSTR_in_h, MP_QSTR_out_h,
                                MP_QSTR_n_chunks, MP_QSTR_chunk_bytes, MP_QSTR_macs};
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (int i = 0; i < self->model.n_layers; i++) {
        const tg_layer *l = &self->model.layers[i];
        mp_obj_t values[] = {MP_OBJ_NEW_SMALL_INT(l->cin), MP_OBJ_NEW_SMALL_INT(l->cout), MP_OBJ_NEW_SMALL_INT(l->in_h),
                             MP_OBJ_NEW_SMALL_INT(l->out_h), MP_OBJ_NEW_SMALL_INT(l->n_chunks),
                             mp_obj_new_int_from_uint(l->chunk_bytes), mp_obj_new_int_from_ull(tg_layer_macs(l))};
        mp_obj_list_append(list, new_dict(MP_ARRAY_SIZE(keys), keys, values));
    }
    return list;
}

/* Read-only attributes, computed on access like the CPython binding's getters. */
static void tinygan_model_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest)
{
    if (dest[0] != MP_OBJ_NULL) {
        return; /* store / delete: not supported (fails with AttributeError) */
    }
    tinygan_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    const tg_model *m = &self->model;
    switch (attr) {
        case MP_QSTR_latent_dim:
            dest[0] = MP_OBJ_NEW_SMALL_INT(m->latent_dim);
            break;
        case MP_QSTR_latent_inv_scale:
            dest[0] = MP_OBJ_NEW_SMALL_INT(m->latent_inv_scale);
            break;
        case MP_QSTR_out_shape:
            dest[0] = mp_obj_new_tuple(3, (const mp_obj_t[]){MP_OBJ_NEW_SMALL_INT(m->out_h), MP_OBJ_NEW_SMALL_INT(m->out_w),
                                                             MP_OBJ_NEW_SMALL_INT(m->out_c)});
            break;
        case MP_QSTR_name:
            dest[0] = mp_obj_new_str(m->name, strlen(m->name));
            break;
        case MP_QSTR_arena_size:
            dest[0] = mp_obj_new_int_from_uint(self->arena_size);
            break;
        case MP_QSTR_file_size:
            dest[0] = mp_obj_new_int_from_uint(m->file_size);
            break;
        case MP_QSTR_layers:
            dest[0] = model_layers(self);
            break;
        case MP_QSTR_stats:
            dest[0] = model_stats(self);
            break;
        case MP_QSTR_reader: /* who reads the chunks: "sync" (this core, between chunks) or the board's */
            #ifdef MICROPY_TINYGAN_BOARD_READER
            if (self->board_reader) {
                dest[0] = mp_obj_new_str(MICROPY_TINYGAN_BOARD_READER, strlen(MICROPY_TINYGAN_BOARD_READER));
                break;
            }
            #endif
            dest[0] = MP_OBJ_NEW_QSTR(MP_QSTR_sync);
            break;
        default:
            dest[1] = MP_OBJ_SENTINEL; /* go on to the methods in locals_dict */
            break;
    }
}

static const mp_rom_map_elem_t tinygan_model_locals_table[] = {
    {MP_ROM_QSTR(MP_QSTR_generate), MP_ROM_PTR(&tinygan_model_generate_obj)},
    {MP_ROM_QSTR(MP_QSTR_verify), MP_ROM_PTR(&tinygan_model_verify_obj)},
};
static MP_DEFINE_CONST_DICT(tinygan_model_locals, tinygan_model_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(tinygan_model_type, MP_QSTR_Model, MP_TYPE_FLAG_NONE, make_new, tinygan_model_make_new,
                                attr, tinygan_model_attr, locals_dict, &tinygan_model_locals);

static const mp_rom_map_elem_t tinygan_module_globals_table[] = {
    {MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_tinygan)},
    {MP_ROM_QSTR(MP_QSTR_Model), MP_ROM_PTR(&tinygan_model_type)},
    {MP_ROM_QSTR(MP_QSTR_EngineError), MP_ROM_PTR(&mp_type_EngineError)},
};
static MP_DEFINE_CONST_DICT(tinygan_module_globals, tinygan_module_globals_table);

const mp_obj_module_t tinygan_user_cmodule = {
    .base = {&mp_type_module},
    .globals = (mp_obj_dict_t *)&tinygan_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_tinygan, tinygan_user_cmodule);
