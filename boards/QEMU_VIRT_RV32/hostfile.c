/* QEMU board: `hostfile.open(name)` creates a file on the host through semihosting (relative names
 * resolve against QEMU's working directory, where the card image is). The board layer
 * (scripts/hw_qemu.py) sends what the display and the DAC are given there, so the emulator's user
 * gets them as files. Write-only: write(buf), seek(offset) (from the start), close(). */
#include "py/runtime.h"
#include "py/mperrno.h"
#include "shared/runtime/semihosting_rv32.h"

typedef struct {
    mp_obj_base_t base;
    int handle; /* -1 once closed */
} hostfile_obj_t;

static const mp_obj_type_t hostfile_type;

static hostfile_obj_t *hostfile_open_self(mp_obj_t self_in)
{
    hostfile_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->handle < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("host file is closed"));
    }
    return self;
}

static mp_obj_t hostfile_open(mp_obj_t name_in)
{
    const char *name = mp_obj_str_get_str(name_in);
    int handle = mp_semihosting_open(name, "wb");
    if (handle < 0) {
        mp_raise_msg_varg(&mp_type_OSError, MP_ERROR_TEXT("semihosting: cannot create %s"), name);
    }
    hostfile_obj_t *self = mp_obj_malloc(hostfile_obj_t, &hostfile_type);
    self->handle = handle;
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_1(hostfile_open_obj, hostfile_open);

static mp_obj_t hostfile_write(mp_obj_t self_in, mp_obj_t buf_in)
{
    hostfile_obj_t *self = hostfile_open_self(self_in);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_READ);
    /* semihosting write returns the number of bytes NOT written */
    if (buf.len && mp_semihosting_write(self->handle, buf.buf, buf.len) != 0) {
        mp_raise_OSError(MP_EIO);
    }
    return MP_OBJ_NEW_SMALL_INT(buf.len);
}
static MP_DEFINE_CONST_FUN_OBJ_2(hostfile_write_obj, hostfile_write);

static mp_obj_t hostfile_seek(mp_obj_t self_in, mp_obj_t offset_in)
{
    hostfile_obj_t *self = hostfile_open_self(self_in);
    if (mp_semihosting_seek(self->handle, mp_obj_get_int(offset_in)) != 0) {
        mp_raise_OSError(MP_EIO);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(hostfile_seek_obj, hostfile_seek);

static mp_obj_t hostfile_close(mp_obj_t self_in)
{
    hostfile_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->handle >= 0) {
        mp_semihosting_close(self->handle);
        self->handle = -1;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(hostfile_close_obj, hostfile_close);

static const mp_rom_map_elem_t hostfile_locals_table[] = {
    {MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&hostfile_write_obj)},
    {MP_ROM_QSTR(MP_QSTR_seek), MP_ROM_PTR(&hostfile_seek_obj)},
    {MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&hostfile_close_obj)},
};
static MP_DEFINE_CONST_DICT(hostfile_locals, hostfile_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(hostfile_type, MP_QSTR_HostFile, MP_TYPE_FLAG_NONE, locals_dict, &hostfile_locals);

static const mp_rom_map_elem_t hostfile_module_globals_table[] = {
    {MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_hostfile)},
    {MP_ROM_QSTR(MP_QSTR_open), MP_ROM_PTR(&hostfile_open_obj)},
};
static MP_DEFINE_CONST_DICT(hostfile_module_globals, hostfile_module_globals_table);

const mp_obj_module_t hostfile_module = {
    .base = {&mp_type_module},
    .globals = (mp_obj_dict_t *)&hostfile_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR_hostfile, hostfile_module);
