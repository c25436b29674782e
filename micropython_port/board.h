/* What a board of the tinygan port provides besides its HAL. */
#ifndef TINYGAN_PORT_BOARD_H
#define TINYGAN_PORT_BOARD_H

/* Called after every (soft) reset with the runtime up: mounts the SD card at /sd, makes it the
 * current directory and puts /sd/scripts on sys.path (the application's modules). Reports a
 * missing or unreadable card on the console and returns; the REPL still starts. */
void board_mount_storage(void);

#endif
