/* machine.SDCard (ch32h417_sdcard.c): the SD card's MicroPython block device. */
#ifndef CH32H417_SDCARD_H
#define CH32H417_SDCARD_H

#include <stdbool.h>

#include "py/obj.h"

/* True for the board's SD card object (a file system mounted on it reads this card). */
bool ch32h417_sdcard_is(mp_obj_t obj);

#endif
