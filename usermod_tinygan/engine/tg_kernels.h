/* Kernels of the engine and the dispatch that picks them.
 *
 * A kernel computes one weight chunk of a layer: channel groups [g0, g0+ng) x phases [p0, p0+np),
 * all input channels and taps (docs/weight-format.md, Packing), and stores every finished output
 * pixel through tg_store4(). Any kernel with this signature is interchangeable as long as it is
 * bit-identical: accumulation is exact int32, so loop order and blocking are free.
 *
 * To try a faster kernel: add it in its own file and point TG_KERNEL_S2 / TG_KERNEL_FIRST at it
 * (here, or with -D on the compiler line). tg_kernel_s2_plain stays as the reference for tests.
 */
#ifndef TG_KERNELS_H
#define TG_KERNELS_H

#include <limits.h>
#include <stdint.h>

#include "tg_engine.h"

/* Output mode of a kernel call that adds its accumulators to int32 sums (the fused last layer:
 * a partial sum over some input channels); not a file value. */
#define TG_IO_SUMS 3

/* Activations between layers are stored channel-major (CHW) as q - zero_point (0..255), each
 * channel plane with a one-pixel border of zeros: a tap outside the input reads 0, which
 * contributes nothing, so kernels need no bounds checks. Plane (c) pixel (y, x) is at
 * in[c * plane + (y + 1) * pitch + (x + 1)] with pitch = w + 2 and plane = (h + 2) * pitch. */
typedef struct {
    const uint8_t *in;           /* input activations, padded CHW: the planes of input channels
                                    ci0 .. ci0 + cin - 1 (layers after the first) */
    const int8_t *latent;        /* first layer: the int8 latent (its zero point is 0) */
    uint16_t in_h, in_w, cin, cout, out_h, out_w;
    uint16_t ci0, w_cin;         /* the first input channel the kernel reduces over, and the
                                    layer's input channel count (the stride of the weight slabs) */
    uint16_t out_c0;             /* REQUANT: `out` holds the planes of channels out_c0 .. */
    uint8_t act;                 /* TG_ACT_REQUANT, TG_ACT_THRESHOLD or TG_IO_SUMS */
    int8_t out_zp;
    const int32_t *bias;         /* [cout]; NULL: accumulators start at 0 (a partial sum) */
    const int32_t *mult, *shift; /* [cout], REQUANT */
    const int32_t *thresholds;   /* [cout][255], THRESHOLD */
    uint8_t *out;                /* REQUANT: padded CHW as above; THRESHOLD: the image, HWC RGB */
    int32_t *sums;               /* TG_IO_SUMS: [out_h][out_w][cout] int32, the accumulators are added */
} tg_layer_io;

static inline uint32_t tg_pitch(uint32_t w) { return w + 2u; }
static inline uint32_t tg_plane(uint32_t h, uint32_t w) { return (h + 2u) * (w + 2u); }

/* The weights of input channel ci0 in the (group, phase) slab of a chunk: [cin][taps][4]. */
static inline const int8_t *tg_slab(const tg_layer_io *io, const int8_t *w, int gi, int pi, int np, int taps)
{
    uint32_t slab_bytes = (uint32_t)io->w_cin * (uint32_t)taps * TG_GROUP;
    return w + ((uint32_t)gi * (uint32_t)np + (uint32_t)pi) * slab_bytes + (uint32_t)io->ci0 * (uint32_t)taps * TG_GROUP;
}

/* Accumulators of the channel group starting at co0, started at the bias (0 for a partial sum). */
static inline void tg_init_bias(const tg_layer_io *io, int co0, int32_t acc[4])
{
    for (int j = 0; j < TG_GROUP; j++)
        acc[j] = io->bias && co0 + j < io->cout ? io->bias[co0 + j] : 0;
}

typedef void (*tg_kernel_fn)(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np);

void tg_kernel_s2_plain(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np);
void tg_kernel_s2_fast(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np);
void tg_kernel_first(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np);

#ifndef TG_KERNEL_S2
#define TG_KERNEL_S2 tg_kernel_s2_fast
#endif
#ifndef TG_KERNEL_FIRST
#define TG_KERNEL_FIRST tg_kernel_first
#endif
/* the selected kernels (a -D choice may name one defined outside this directory, e.g. the host's) */
void TG_KERNEL_S2(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np);
void TG_KERNEL_FIRST(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np);

/* gemmlowp SaturatingRoundingDoublingHighMul */
static inline int32_t tg_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates, as gemmlowp's */
}

/* gemmlowp RoundingDivideByPOT: x / 2^e rounded half away from zero, 0 <= e <= 31 */
static inline int32_t tg_rdbpot(int32_t x, int e)
{
    int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier; the left shift wraps modulo 2^32 (done on uint32: no UB). */
static inline int32_t tg_mbqm(int32_t acc, int32_t mult, int32_t shift)
{
    int left = shift > 0 ? (int)shift : 0;
    int right = shift > 0 ? 0 : (int)-shift;
    int32_t x = (int32_t)((uint32_t)acc << left);
    return tg_rdbpot(tg_srdhm(x, mult), right);
}

/* pixel = number of thresholds <= acc (thresholds non-decreasing): binary search, 8 steps */
static inline uint8_t tg_threshold(const int32_t *th, int32_t acc)
{
    int lo = 0, hi = TG_N_THRESH;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (acc >= th[mid])
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint8_t)lo;
}

/* Store the 4 accumulators (bias included) of the channel group starting at co0 for pixel (oy, ox). */
static inline void tg_store4(const tg_layer_io *io, int oy, int ox, int co0, const int32_t acc[4])
{
    for (int j = 0; j < TG_GROUP; j++) {
        int co = co0 + j;
        if (co >= io->cout)
            break; /* the padding channels of the last group */
        if (io->act == TG_ACT_REQUANT) {
            int32_t q = tg_mbqm(acc[j], io->mult[co], io->shift[co]) + io->out_zp;
            q = q < -128 ? -128 : (q > 127 ? 127 : q);
            io->out[(uint32_t)(co - io->out_c0) * tg_plane(io->out_h, io->out_w) +
                    (uint32_t)(oy + 1) * tg_pitch(io->out_w) + (uint32_t)(ox + 1)] =
                (uint8_t)(q - io->out_zp); /* out_zp is -128: 0..255 */
        } else if (io->act == TG_IO_SUMS) {
            io->sums[((uint32_t)oy * io->out_w + (uint32_t)ox) * io->cout + (uint32_t)co] += acc[j];
        } else {
            io->out[((uint32_t)oy * io->out_w + (uint32_t)ox) * io->cout + (uint32_t)co] =
                tg_threshold(io->thresholds + (uint32_t)co * TG_N_THRESH, acc[j]);
        }
    }
}

#endif
