/* QEMU board: the SD card is a FAT image file on the host, reached through semihosting file I/O
 * (QEMU -semihosting-config enable=on,target=native; relative names resolve against QEMU's working
 * directory). `vdisk.SemihostDisk(path)` is a block device for os.VfsFat; at start-up the image
 * `sd.img` is mounted at /sd as the real board mounts its card. */
#include "py/runtime.h"
#include "py/mperrno.h"
#include "extmod/vfs.h"
#include "shared/runtime/semihosting_rv32.h"

#include "board.h"
#include "storage.h"

#define VDISK_BLOCK 512u
#define VDISK_DEFAULT_IMAGE "sd.img"

typedef struct {
    mp_obj_base_t base;
    int handle;
    uint32_t n_blocks;
} vdisk_obj_t;

static const mp_obj_type_t vdisk_type;

static int vdisk_open_handle(const char *path)
{
    int handle = mp_semihosting_open(path, "r+b");
    if (handle < 0) {
        mp_raise_msg_varg(&mp_type_OSError, MP_ERROR_TEXT("semihosting: cannot open %s"), path);
    }
    return handle;
}

static mp_obj_t vdisk_new(int handle)
{
    int len = mp_semihosting_flen(handle);
    if (len < 0) {
        mp_raise_OSError(MP_EIO);
    }
    vdisk_obj_t *self = mp_obj_malloc(vdisk_obj_t, &vdisk_type);
    self->handle = handle;
    self->n_blocks = (uint32_t)len / VDISK_BLOCK;
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t vdisk_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args)
{
    (void)type;
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    return vdisk_new(vdisk_open_handle(mp_obj_str_get_str(args[0])));
}

/* readblocks / writeblocks: whole blocks at block_num; the buffer length says how many. */
static mp_obj_t vdisk_transfer(mp_obj_t self_in, mp_obj_t block_num, mp_obj_t buf_in, bool write)
{
    vdisk_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, write ? MP_BUFFER_READ : MP_BUFFER_WRITE);
    uint32_t block = mp_obj_get_int(block_num);
    if (buf.len % VDISK_BLOCK || block > self->n_blocks || buf.len / VDISK_BLOCK > self->n_blocks - block) {
        mp_raise_ValueError(MP_ERROR_TEXT("block range outside the disk"));
    }
    /* Semihosting read/write return the number of bytes NOT transferred: 0 is success. */
    if (mp_semihosting_seek(self->handle, block * VDISK_BLOCK) != 0 ||
        (write ? mp_semihosting_write(self->handle, buf.buf, buf.len)
               : mp_semihosting_read(self->handle, buf.buf, buf.len)) != 0) {
        mp_raise_OSError(MP_EIO);
    }
    return mp_const_none;
}

static mp_obj_t vdisk_readblocks(mp_obj_t self_in, mp_obj_t block_num, mp_obj_t buf)
{
    return vdisk_transfer(self_in, block_num, buf, false);
}
static MP_DEFINE_CONST_FUN_OBJ_3(vdisk_readblocks_obj, vdisk_readblocks);

static mp_obj_t vdisk_writeblocks(mp_obj_t self_in, mp_obj_t block_num, mp_obj_t buf)
{
    return vdisk_transfer(self_in, block_num, buf, true);
}
static MP_DEFINE_CONST_FUN_OBJ_3(vdisk_writeblocks_obj, vdisk_writeblocks);

static mp_obj_t vdisk_ioctl(mp_obj_t self_in, mp_obj_t op_in, mp_obj_t arg_in)
{
    (void)arg_in;
    vdisk_obj_t *self = MP_OBJ_TO_PTR(self_in);
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return mp_obj_new_int_from_uint(self->n_blocks);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(VDISK_BLOCK);
        case MP_BLOCKDEV_IOCTL_INIT:
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC: /* semihosting writes go straight to the host file */
            return MP_OBJ_NEW_SMALL_INT(0);
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(vdisk_ioctl_obj, vdisk_ioctl);

static const mp_rom_map_elem_t vdisk_locals_table[] = {
    {MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&vdisk_readblocks_obj)},
    {MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&vdisk_writeblocks_obj)},
    {MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&vdisk_ioctl_obj)},
};
static MP_DEFINE_CONST_DICT(vdisk_locals, vdisk_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(vdisk_type, MP_QSTR_SemihostDisk, MP_TYPE_FLAG_NONE, make_new, vdisk_make_new,
                                locals_dict, &vdisk_locals);

static const mp_rom_map_elem_t vdisk_module_globals_table[] = {
    {MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_vdisk)},
    {MP_ROM_QSTR(MP_QSTR_SemihostDisk), MP_ROM_PTR(&vdisk_type)},
};
static MP_DEFINE_CONST_DICT(vdisk_module_globals, vdisk_module_globals_table);

const mp_obj_module_t vdisk_module = {
    .base = {&mp_type_module},
    .globals = (mp_obj_dict_t *)&vdisk_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR_vdisk, vdisk_module);

/* The image's host file handle outlives soft resets (the heap does not), so it is opened once. */
void board_mount_storage(void)
{
    static int sd_handle = -1;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        if (sd_handle < 0) {
            sd_handle = vdisk_open_handle(VDISK_DEFAULT_IMAGE);
        }
        mp_obj_t bdev = vdisk_new(sd_handle);
        nlr_pop();
        storage_mount_sd(bdev);
    } else {
        mp_printf(&mp_plat_print, "no SD card: " VDISK_DEFAULT_IMAGE " not found in QEMU's working directory\n");
    }
}
