/* The int8 transposed-convolution kernels (gather form, see tg_kernels.h).
 *
 * k4 s2 p1: output (oy, ox) = (2*my + py, 2*mx + px) is phase ph = 2*py + px and reads exactly
 * 2x2 taps: tap t = 2*ty + tx reads input (my + D[py][ty], mx + D[px][tx]). Weights of a
 * (group, phase) are [cin][4 taps][4 channels], contiguous. Inputs are padded CHW, so a tap that
 * falls outside the input reads a border zero.
 */
#include <stddef.h>

#include "tg_kernels.h"

static const int8_t D_TAP[2][2] = {{0, -1}, {0, 1}};

/* One output pixel, integer multiply-accumulate: the reference kernel, and the fast kernel's
 * path for the pixels left over when a row is not a multiple of 4 wide. */
static void pixel_plain(const tg_layer_io *io, const int8_t *ws, int py, int px, int my, int mx, int co0)
{
    const uint32_t plane = tg_plane(io->in_h, io->in_w), pitch = tg_pitch(io->in_w);
    int32_t acc[4];
    tg_init_bias(io, co0, acc);
    for (int t = 0; t < 4; t++) {
        int iy = my + D_TAP[py][t >> 1], ix = mx + D_TAP[px][t & 1];
        const uint8_t *x = io->in + (uint32_t)(iy + 1) * pitch + (uint32_t)(ix + 1);
        const int8_t *wt = ws + t * TG_GROUP;
        for (int ci = 0; ci < io->cin; ci++, wt += 4 * TG_GROUP, x += plane) {
            int32_t v = *x;
            acc[0] += wt[0] * v;
            acc[1] += wt[1] * v;
            acc[2] += wt[2] * v;
            acc[3] += wt[3] * v;
        }
    }
    tg_store4(io, 2 * my + py, 2 * mx + px, co0, acc);
}

void tg_kernel_s2_plain(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np)
{
    for (int gi = 0; gi < ng; gi++)
        for (int pi = 0; pi < np; pi++) {
            int ph = p0 + pi;
            const int8_t *ws = tg_slab(io, w, gi, pi, np, 4);
            for (int my = 0; my < io->in_h; my++)
                for (int mx = 0; mx < io->in_w; mx++)
                    pixel_plain(io, ws, ph >> 1, ph & 1, my, mx, (g0 + gi) * TG_GROUP);
        }
}

/* Input channels per float accumulation run: every partial sum stays an exact integer below 2^24
 * (CI_RUN * 4 taps * 127 * 255 = 16,581,120 < 16,777,216), so float32 multiply-adds (fmadd.s on
 * RV32F) give exactly the int32 result, in any order. */
#define CI_RUN 128

/* The two taps of one input row for 4 pixels x 4 channels: 5 activations, 2 x 4 weights, each
 * converted once, then one multiply-add per MAC (fmadd.s with -ffp-contract=fast). Rows are done
 * one at a time so the 16 accumulators, 5 activations and 2 weights fit the 32 float registers. */
static inline void row_taps(float f[4][4], const uint8_t *x, const int8_t *wl, const int8_t *wr)
{
    float x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4];
    for (int j = 0; j < 4; j++) {
        float l = wl[j], r = wr[j];
        f[0][j] += l * x0;
        f[0][j] += r * x1;
        f[1][j] += l * x1;
        f[1][j] += r * x2;
        f[2][j] += l * x2;
        f[2][j] += r * x3;
        f[3][j] += l * x3;
        f[3][j] += r * x4;
    }
}

/* Four horizontally adjacent outputs (mx..mx+3) of one phase x 4 channels. For a fixed input
 * channel they read 2 rows x 5 consecutive columns: rows r0 = my and r1 = my + dy, columns
 * c0..c0+4 with c0 = mx + min(dx, 0); row1 is NULL when it is the zero border. `left` is the tap index tx whose column is the pixel's
 * own-or-left one (1 when dx = -1, 0 when dx = +1), a constant in each specialised call. */
static inline void block4(const tg_layer_io *io, const int8_t *ws, const uint8_t *row0, const uint8_t *row1,
                          int left, int32_t acc[4][4])
{
    const uint32_t plane = tg_plane(io->in_h, io->in_w);
    const int wl = 4 * left, wr = 4 * (1 - left); /* weight offsets of the left/right-column taps */
    for (int ci0 = 0; ci0 < io->cin; ci0 += CI_RUN) {
        int n = io->cin - ci0 < CI_RUN ? io->cin - ci0 : CI_RUN;
        float f[4][4] = {{0.0f}};
        const uint8_t *a = row0 + (uint32_t)ci0 * plane, *b = row1 ? row1 + (uint32_t)ci0 * plane : NULL;
        const int8_t *wt = ws + (uint32_t)ci0 * 16u;
        if (row1) {
            for (int k = 0; k < n; k++, a += plane, b += plane, wt += 16) {
                row_taps(f, a, wt + wl, wt + wr);          /* taps on row my */
                row_taps(f, b, wt + 8 + wl, wt + 8 + wr);  /* taps on row my + dy */
            }
        } else { /* row my + dy is the zero border: its taps contribute nothing */
            for (int k = 0; k < n; k++, a += plane, wt += 16)
                row_taps(f, a, wt + wl, wt + wr);
        }
        for (int p = 0; p < 4; p++)
            for (int j = 0; j < 4; j++)
                acc[p][j] += (int32_t)f[p][j];
    }
}

void tg_kernel_s2_fast(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np)
{
    const uint32_t pitch = tg_pitch(io->in_w);
    for (int gi = 0; gi < ng; gi++)
        for (int pi = 0; pi < np; pi++) {
            int ph = p0 + pi, py = ph >> 1, px = ph & 1, co0 = (g0 + gi) * TG_GROUP;
            int dy = D_TAP[py][1], dx = D_TAP[px][1];
            const int8_t *ws = tg_slab(io, w, gi, pi, np, 4);
            for (int my = 0; my < io->in_h; my++) {
                const uint8_t *row0 = io->in + (uint32_t)(my + 1) * pitch;
                int border = my + dy < 0 || my + dy >= io->in_h;
                const uint8_t *row1 = border ? NULL : io->in + (uint32_t)(my + dy + 1) * pitch;
                int mx = 0;
                for (; mx + 4 <= io->in_w; mx += 4) {
                    int32_t acc[4][4];
                    for (int p = 0; p < 4; p++)
                        tg_init_bias(io, co0, acc[p]);
                    int c0 = mx + (dx < 0 ? -1 : 0) + 1; /* +1: the zero border */
                    if (dx < 0)
                        block4(io, ws, row0 + c0, row1 ? row1 + c0 : NULL, 1, acc);
                    else
                        block4(io, ws, row0 + c0, row1 ? row1 + c0 : NULL, 0, acc);
                    for (int p = 0; p < 4; p++)
                        tg_store4(io, 2 * my + py, 2 * (mx + p) + px, co0, acc[p]);
                }
                for (; mx < io->in_w; mx++)
                    pixel_plain(io, ws, py, px, my, mx, co0);
            }
        }
}

/* The first layer, 1x1 -> 4x4 (k4 s1 p0): phase ph is output pixel (ph / 4, ph % 4), one tap. */
void tg_kernel_first(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np)
{
    for (int gi = 0; gi < ng; gi++)
        for (int pi = 0; pi < np; pi++) {
            int ph = p0 + pi, co0 = (g0 + gi) * TG_GROUP;
            const int8_t *wt = tg_slab(io, w, gi, pi, np, 1);
            int32_t acc[4];
            tg_init_bias(io, co0, acc);
            for (int ci = 0; ci < io->cin; ci++, wt += TG_GROUP) {
                int32_t v = io->latent[ci];
                acc[0] += wt[0] * v;
                acc[1] += wt[1] * v;
                acc[2] += wt[2] * v;
                acc[3] += wt[3] * v;
            }
            tg_store4(io, ph >> 2, ph & 3, co0, acc);
        }
}
