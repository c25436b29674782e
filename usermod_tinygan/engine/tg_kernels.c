/* The int8 transposed-convolution kernels (gather form, see tg_kernels.h).
 *
 * k4 s2 p1: output (oy, ox) = (2*my + py, 2*mx + px) is phase ph = 2*py + px and reads exactly
 * 2x2 taps: tap t = 2*ty + tx reads input (my + D[py][ty], mx + D[px][tx]). Taps outside the input
 * contribute nothing. Weights of a (group, phase) are [cin][4 taps][4 channels], contiguous.
 */
#include "tg_kernels.h"

static const int8_t D_TAP[2][2] = {{0, -1}, {0, 1}};

/* Offset of the (group, phase) slab inside a chunk. */
static inline const int8_t *slab(const tg_layer_io *io, const int8_t *w, int gi, int pi, int np, int taps)
{
    return w + ((uint32_t)gi * (uint32_t)np + (uint32_t)pi) * io->cin * (uint32_t)taps * TG_GROUP;
}

static inline void init_bias(const tg_layer_io *io, int co0, int32_t acc[4])
{
    for (int j = 0; j < TG_GROUP; j++)
        acc[j] = co0 + j < io->cout ? io->bias[co0 + j] : 0;
}

/* One output pixel with bounds checks on every tap: the reference, and the border path. */
static void pixel_checked(const tg_layer_io *io, const int8_t *ws, int py, int px, int my, int mx, int co0)
{
    int32_t acc[4];
    init_bias(io, co0, acc);
    for (int t = 0; t < 4; t++) {
        int iy = my + D_TAP[py][t >> 1], ix = mx + D_TAP[px][t & 1];
        if (iy < 0 || iy >= io->in_h || ix < 0 || ix >= io->in_w)
            continue;
        const uint8_t *x = io->in + ((uint32_t)iy * io->in_w + (uint32_t)ix) * io->cin;
        const int8_t *wt = ws + t * TG_GROUP;
        for (int ci = 0; ci < io->cin; ci++, wt += 4 * TG_GROUP) {
            int32_t v = x[ci];
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
            int ph = p0 + pi, py = ph >> 1, px = ph & 1;
            const int8_t *ws = slab(io, w, gi, pi, np, 4);
            for (int my = 0; my < io->in_h; my++)
                for (int mx = 0; mx < io->in_w; mx++)
                    pixel_checked(io, ws, py, px, my, mx, (g0 + gi) * TG_GROUP);
        }
}

/* Two horizontally adjacent outputs of the same phase (mx, mx+1) x 4 channels, all taps inside:
 * 8 accumulators in registers, each weight loaded once for two pixels. */
static void pair_interior(const tg_layer_io *io, const int8_t *ws, int py, int px, int my, int mx, int co0)
{
    const uint32_t cin = io->cin;
    const uint8_t *x[4];
    for (int t = 0; t < 4; t++) {
        int iy = my + D_TAP[py][t >> 1], ix = mx + D_TAP[px][t & 1];
        x[t] = io->in + ((uint32_t)iy * io->in_w + (uint32_t)ix) * cin;
    }
    int32_t a[4], b[4];
    init_bias(io, co0, a);
    init_bias(io, co0, b);
    const int8_t *wt = ws;
    for (uint32_t ci = 0; ci < cin; ci++) {
        for (int t = 0; t < 4; t++, wt += TG_GROUP) {
            int32_t v0 = x[t][ci], v1 = x[t][ci + cin];
            int32_t w0 = wt[0], w1 = wt[1], w2 = wt[2], w3 = wt[3];
            a[0] += w0 * v0; a[1] += w1 * v0; a[2] += w2 * v0; a[3] += w3 * v0;
            b[0] += w0 * v1; b[1] += w1 * v1; b[2] += w2 * v1; b[3] += w3 * v1;
        }
    }
    tg_store4(io, 2 * my + py, 2 * mx + px, co0, a);
    tg_store4(io, 2 * my + py, 2 * (mx + 1) + px, co0, b);
}

void tg_kernel_s2_blocked(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np)
{
    const int h = io->in_h, wd = io->in_w;
    for (int gi = 0; gi < ng; gi++)
        for (int pi = 0; pi < np; pi++) {
            int ph = p0 + pi, py = ph >> 1, px = ph & 1, co0 = (g0 + gi) * TG_GROUP;
            const int8_t *ws = slab(io, w, gi, pi, np, 4);
            /* inputs read: rows my + {0, D[py][1]}, columns mx + {0, D[px][1]} */
            int dy = D_TAP[py][1], dx = D_TAP[px][1];
            for (int my = 0; my < h; my++) {
                int row_ok = my + dy >= 0 && my + dy < h;
                int mx = 0;
                for (; mx + 1 < wd; mx += 2) {
                    int cols_ok = mx + dx >= 0 && mx + 1 + dx < wd;
                    if (row_ok && cols_ok) {
                        pair_interior(io, ws, py, px, my, mx, co0);
                    } else {
                        pixel_checked(io, ws, py, px, my, mx, co0);
                        pixel_checked(io, ws, py, px, my, mx + 1, co0);
                    }
                }
                if (mx < wd)
                    pixel_checked(io, ws, py, px, my, mx, co0);
            }
        }
}

/* The first layer, 1x1 -> 4x4 (k4 s1 p0): phase ph is output pixel (ph / 4, ph % 4), one tap. */
void tg_kernel_first(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np)
{
    for (int gi = 0; gi < ng; gi++)
        for (int pi = 0; pi < np; pi++) {
            int ph = p0 + pi, co0 = (g0 + gi) * TG_GROUP;
            const int8_t *wt = slab(io, w, gi, pi, np, 1);
            int32_t acc[4];
            init_bias(io, co0, acc);
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
