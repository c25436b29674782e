/* Content checks of a weight chunk whose CRC has just matched, before any of it is used (the
 * checks of docs/weight-format.md, step 6, with the same messages as tinygan/tgw.py):
 *   - the zero padding after chunk_bytes;
 *   - per channel of the chunk, in channel order: the int32 rule for real channels (every partial
 *     sum the kernels can form, and acc << shift, stays inside int32 for every input the engine
 *     accepts), and all-zero weights for the padding channels of the last channel group.
 * The exact rule sums the channel's weights; a bound that holds for any int8 weights is tried
 * first, so ordinary files cost a few operations per channel, not a pass over the weights. */
#include <limits.h>

#include "tg_util.h"

#define FAIL(code, layer, chunk, ...) return tg_fail(err, code, layer, chunk, __VA_ARGS__)

/* 0: the rule holds for terms in [lo, hi] (the bias b added at any point); 1: an accumulator can
 * leave int32; 2: acc << s can. */
static int breaks_rule(int64_t b, int32_t s, int64_t lo, int64_t hi)
{
    if ((b > 0 ? b : 0) + hi > INT32_MAX || (b < 0 ? b : 0) + lo < INT32_MIN)
        return 1;
    if (s > 0 && (b + hi > (int64_t)(INT32_MAX >> s) || b + lo < -((int64_t)1 << (31 - s))))
        return 2;
    return 0;
}

/* Taps that land inside the input at the output pixel with the most of them (a stride-2 tap index
 * 1 needs a second input row or column). Returns their count. */
static int valid_taps(const tg_layer *l, uint8_t ok[4])
{
    int n = 0;
    for (int t = 0; t < l->taps; t++) {
        ok[t] = l->kind == TG_KIND_K4S1P0 || ((!(t >> 1) || l->in_h >= 2) && (!(t & 1) || l->in_w >= 2));
        n += ok[t];
    }
    return n;
}

/* The exact range [lo, hi] of channel lane j's terms sum(w * x), x in [xlo, xhi], over the chunk's
 * phases of channel group g. */
static void terms_range(const tg_layer *l, const int8_t *w, int g, int j, const uint8_t ok[4], int32_t xlo,
                        int32_t xhi, int64_t *lo, int64_t *hi)
{
    const uint32_t slab = (uint32_t)l->cin * l->taps * TG_GROUP;
    *lo = *hi = 0;
    for (int ph = 0; ph < l->chunk_phases; ph++) {
        const int8_t *p = w + ((uint32_t)g * l->chunk_phases + (uint32_t)ph) * slab + j;
        int32_t pos = 0, neg = 0; /* at most 128 * 65535 * 4: fits */
        for (uint32_t ci = 0; ci < l->cin; ci++)
            for (int t = 0; t < l->taps; t++, p += TG_GROUP)
                if (ok[t]) {
                    if (*p > 0)
                        pos += *p;
                    else
                        neg -= *p;
                }
        int64_t h = (int64_t)xhi * pos - (int64_t)xlo * neg, lw = (int64_t)xlo * pos - (int64_t)xhi * neg;
        if (h > *hi)
            *hi = h;
        if (lw < *lo)
            *lo = lw;
    }
}

static int lane_is_zero(const tg_layer *l, const int8_t *w, int g, int j)
{
    const uint32_t slab = (uint32_t)l->cin * l->taps * TG_GROUP;
    const int8_t *p = w + (uint32_t)g * l->chunk_phases * slab + j;
    for (uint32_t k = 0; k < (uint32_t)l->chunk_phases * l->cin * l->taps; k++, p += TG_GROUP)
        if (*p)
            return 0;
    return 1;
}

tg_status tg_check_chunk(const tg_model *m, int i, int c, const uint8_t *chunk, const int32_t *params, tg_error *err)
{
    const tg_layer *l = &m->layers[i];
    for (uint32_t k = l->chunk_bytes; k < l->chunk_stride; k++)
        if (chunk[k])
            FAIL(TG_ERR_FORMAT, i, c, "layer ", TG_I(i), " chunk ", TG_I(c), ": padding not zero", TG_END);
    const int8_t *w = (const int8_t *)chunk;
    const int32_t xlo = i ? 0 : -128, xhi = i ? 255 : 127; /* input minus zero point: any int8 latent, 0..255 */
    uint8_t ok[4];
    const int64_t worst = (int64_t)128 * l->cin * valid_taps(l, ok) * (i ? 255 : 128); /* any int8 weights */
    const int32_t *bias = params, *shift = l->act == TG_ACT_REQUANT ? params + 2u * l->cout : NULL;
    const int first = (c / (l->phases / l->chunk_phases)) * l->chunk_groups * TG_GROUP;
    for (int g = 0; g < l->chunk_groups; g++)
        for (int j = 0; j < TG_GROUP; j++) {
            int co = first + g * TG_GROUP + j;
            if (co >= l->cout) {
                if (!lane_is_zero(l, w, g, j))
                    FAIL(TG_ERR_PARAM, i, c, "layer ", TG_I(i), " chunk ", TG_I(c), ": weights of padding channel ",
                         TG_I(co), " not zero", TG_END);
                continue;
            }
            int32_t b = bias[co], s = shift ? shift[co] : 0;
            if (!breaks_rule(b, s, -worst, worst))
                continue;
            int64_t lo, hi;
            terms_range(l, w, g, j, ok, xlo, xhi, &lo, &hi);
            int why = breaks_rule(b, s, lo, hi);
            if (why == 1)
                FAIL(TG_ERR_PARAM, i, c, "layer ", TG_I(i), " channel ", TG_I(co), ": accumulator can overflow int32 (bias ",
                     TG_I(b), ", weights x inputs ", TG_I(xlo), "..", TG_I(xhi), ")", TG_END);
            if (why == 2)
                FAIL(TG_ERR_PARAM, i, c, "layer ", TG_I(i), " channel ", TG_I(co), ": shift ", TG_I(s),
                     " makes acc << shift overflow int32", TG_END);
        }
    return TG_OK;
}
