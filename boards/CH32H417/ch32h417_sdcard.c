/* machine.SDCard: the SD card (ch32h417_sdmmc.c) as a MicroPython block device for os.VfsFat
 * (readblocks, writeblocks, ioctl), and board_mount_storage(), which mounts it at /sd after every
 * (soft) reset the way the QEMU board mounts its image (micropython_port/storage.c). */
#include "py/runtime.h"
#include "py/mperrno.h"
#include "extmod/vfs.h"

#include "board.h"
#include "ch32h417_sdmmc.h"
#include "ch32h417_sdcard.h"
#include "storage.h"

typedef struct {
    mp_obj_base_t base;
} sdcard_obj_t;

const mp_obj_type_t ch32h417_sdcard_type;
static const sdcard_obj_t sdcard_obj = {{&ch32h417_sdcard_type}};

/* ENODEV without a card, EBUSY while the V3F kept the controller; every transfer that failed
 * after its retries is EIO. */
static MP_NORETURN void raise_sd_error(sd_status_t st)
{
    if (st == SD_RANGE) {
        mp_raise_ValueError(MP_ERROR_TEXT("block range outside the card"));
    }
    mp_raise_OSError(st == SD_NO_CARD || st == SD_UNUSABLE ? MP_ENODEV : st == SD_LOCKED ? MP_EBUSY : MP_EIO);
}

bool ch32h417_sdcard_is(mp_obj_t obj)
{
    return obj == MP_OBJ_FROM_PTR(&sdcard_obj);
}

/* machine.SDCard(): the card, initialised if it is not already. */
static mp_obj_t sdcard_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args)
{
    (void)type;
    (void)args;
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    if (!sd_card.ready) {
        sd_status_t st = sd_init();
        if (st != SD_OK) {
            raise_sd_error(st);
        }
    }
    return MP_OBJ_FROM_PTR(&sdcard_obj);
}

/* readblocks / writeblocks(block_num, buf): whole blocks; the buffer's length says how many. */
static mp_obj_t sdcard_transfer(mp_obj_t block_num, mp_obj_t buf_in, bool write)
{
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, write ? MP_BUFFER_READ : MP_BUFFER_WRITE);
    if (buf.len % SD_BLOCK_SIZE) {
        mp_raise_ValueError(MP_ERROR_TEXT("buffer length not a multiple of 512"));
    }
    mp_int_t block = mp_obj_get_int(block_num);
    if (block < 0) {
        raise_sd_error(SD_RANGE);
    }
    uint32_t count = buf.len / SD_BLOCK_SIZE;
    sd_status_t st = write ? sd_write((uint32_t)block, count, buf.buf) : sd_read((uint32_t)block, count, buf.buf);
    if (st != SD_OK) {
        raise_sd_error(st);
    }
    return mp_const_none;
}

static mp_obj_t sdcard_readblocks(mp_obj_t self, mp_obj_t block_num, mp_obj_t buf)
{
    (void)self;
    return sdcard_transfer(block_num, buf, false);
}
static MP_DEFINE_CONST_FUN_OBJ_3(sdcard_readblocks_obj, sdcard_readblocks);

static mp_obj_t sdcard_writeblocks(mp_obj_t self, mp_obj_t block_num, mp_obj_t buf)
{
    (void)self;
    return sdcard_transfer(block_num, buf, true);
}
static MP_DEFINE_CONST_FUN_OBJ_3(sdcard_writeblocks_obj, sdcard_writeblocks);

static mp_obj_t sdcard_ioctl(mp_obj_t self, mp_obj_t op_in, mp_obj_t arg_in)
{
    (void)self;
    (void)arg_in;
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:
            return MP_OBJ_NEW_SMALL_INT(sd_card.ready || sd_init() == SD_OK ? 0 : MP_EIO);
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:    /* writes return only once the card has programmed them */
            return MP_OBJ_NEW_SMALL_INT(0);
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return mp_obj_new_int_from_uint(sd_card.blocks);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(SD_BLOCK_SIZE);
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(sdcard_ioctl_obj, sdcard_ioctl);

/* info() -> (blocks, SD clock in Hz, high speed, block addressed, transfers retried). */
static mp_obj_t sdcard_info(mp_obj_t self)
{
    (void)self;
    mp_obj_t items[5] = {
        mp_obj_new_int_from_uint(sd_card.blocks), mp_obj_new_int_from_uint(sd_card.sd_clock_hz),
        mp_obj_new_bool(sd_card.high_speed), mp_obj_new_bool(sd_card.block_addressed),
        mp_obj_new_int_from_uint(sd_card.retries),
    };
    return mp_obj_new_tuple(5, items);
}
static MP_DEFINE_CONST_FUN_OBJ_1(sdcard_info_obj, sdcard_info);

static const mp_rom_map_elem_t sdcard_locals_table[] = {
    {MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&sdcard_readblocks_obj)},
    {MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&sdcard_writeblocks_obj)},
    {MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&sdcard_ioctl_obj)},
    {MP_ROM_QSTR(MP_QSTR_info), MP_ROM_PTR(&sdcard_info_obj)},
};
static MP_DEFINE_CONST_DICT(sdcard_locals, sdcard_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(ch32h417_sdcard_type, MP_QSTR_SDCard, MP_TYPE_FLAG_NONE, make_new, sdcard_make_new,
                         locals_dict, &sdcard_locals);

/* Every (soft) reset starts the card from CMD0: a card swapped while the board ran is found. */
void board_mount_storage(void)
{
    sd_status_t st = sd_init();
    if (st != SD_OK) {
        mp_printf(&mp_plat_print, "SD card: %s; /sd not mounted\n", sd_status_text(st));
        return;
    }
    storage_mount_sd(MP_OBJ_FROM_PTR(&sdcard_obj));
}
