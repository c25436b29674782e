/* Internal helpers of the engine: error messages without stdio, arena alignment. */
#ifndef TG_UTIL_H
#define TG_UTIL_H

#include "tg_engine.h"

/* tg_fail(err, code, layer, chunk, piece, ..., TG_END): the pieces are strings, or integers
 * wrapped in TG_I (signed) / TG_U (unsigned). No snprintf: the bare-metal build has no stdio. */
extern const char tg_tag_int[], tg_tag_uint[];
#define TG_I(x) tg_tag_int, (long)(x)
#define TG_U(x) tg_tag_uint, (unsigned long)(x)
#define TG_END ((const char *)0)
tg_status tg_fail(tg_error *err, tg_status code, int layer, int chunk, ...);

static inline uint32_t tg_align4(uint32_t n) { return (n + 3u) & ~3u; }
static inline uint32_t tg_pad_sector(uint32_t n) { return (n + TG_SECTOR - 1u) / TG_SECTOR * TG_SECTOR; }

uint32_t tg_param_size(const tg_layer *l);

/* Content checks of chunk c of layer i once its CRC matched (tg_chunk.c): zero padding, zero
 * padding channels, the int32 rule. params: the layer's parameter block in native int32. */
tg_status tg_check_chunk(const tg_model *m, int i, int c, const uint8_t *chunk, const int32_t *params, tg_error *err);

#endif
