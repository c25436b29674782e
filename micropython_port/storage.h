#ifndef TINYGAN_PORT_STORAGE_H
#define TINYGAN_PORT_STORAGE_H

#include "py/obj.h"

/* Mounts a block device (readblocks/writeblocks/ioctl, 512-byte blocks) holding a FAT file
 * system at /sd, chdir there and adds /sd/scripts to sys.path; a failure is printed, not raised. */
void storage_mount_sd(mp_obj_t bdev);

#endif
