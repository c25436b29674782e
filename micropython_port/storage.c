/* Board-independent part of mounting the SD card (board.h). */
#include "py/runtime.h"
#include "extmod/vfs.h"
#include "extmod/vfs_fat.h"

#include "storage.h"

/* sys.path becomes ['', '/sd/scripts', '.frozen', '/sd/lib']: the current directory (/sd), then
 * the card's scripts/ (so an edited copy there overrides the application frozen into the firmware),
 * the frozen modules, and /sd/lib, the folder `mpremote mip install` installs packages into. */
static void sys_path_add_card(void)
{
    mp_obj_t insert[4];
    mp_load_method(mp_sys_path, MP_QSTR_insert, insert);
    insert[2] = MP_OBJ_NEW_SMALL_INT(1);
    insert[3] = mp_obj_new_str_from_cstr("/sd/scripts");
    mp_call_method_n_kw(2, 0, insert);
    mp_obj_list_append(mp_sys_path, mp_obj_new_str_from_cstr("/sd/lib"));
}

void storage_mount_sd(mp_obj_t bdev)
{
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t vfs = MP_OBJ_TYPE_GET_SLOT(&mp_fat_vfs_type, make_new)(&mp_fat_vfs_type, 1, 0, &bdev);
        mp_obj_t mount_point = mp_obj_new_str_from_cstr("/sd");
        mp_obj_t args[2] = {vfs, mount_point};
        mp_vfs_mount(2, args, (mp_map_t *)&mp_const_empty_map);
        mp_vfs_chdir(mount_point);
        sys_path_add_card();
        nlr_pop();
    } else {
        mp_printf(&mp_plat_print, "SD card not mounted: ");
        mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
    }
}
