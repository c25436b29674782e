/* What a board may give the MicroPython binding (modtinygan.c) besides its arena: an asynchronous
 * reader of the weight file. A board that defines MICROPY_TINYGAN_BOARD_SOURCE implements
 *
 *   tinygan_board_source(stream, model, src): called once a Model has opened and validated its
 *     header; it may fill src's start/wait/last_crc (and buffer[]) for reads of `stream` that
 *     run while the engine computes (tg_engine.h, tg_source) and return true, or leave src as it
 *     is (synchronous reads through the stream) and return false;
 *   MICROPY_TINYGAN_BOARD_READER: the string Model.reader reports when it did ("V3F" on the
 *     CH32H417: the second core reads the card).
 */
#ifndef TINYGAN_BOARD_H
#define TINYGAN_BOARD_H

#include <stdbool.h>

#include "py/obj.h"
#include "tg_engine.h"

bool tinygan_board_source(mp_obj_t stream, const tg_model *model, tg_source *src);

#endif
