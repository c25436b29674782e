/* Compares the selected k4 s2 p1 kernel (TG_KERNEL_S2, e.g. -DTG_KERNEL_S2=tg_kernel_s2_x86)
 * with the plain reference kernel on many shapes: random and extreme (+-127 x 255) values, odd
 * widths, 1-row and 1-column inputs, channel counts that are not multiples of 4, partial sums
 * over an input-channel range (the fused last layer), and the requantized store with an output
 * channel offset. In the sums mode the raw int32 accumulators are compared, so any difference
 * shows. Prints "N cases, all equal" or the first difference, and exits non-zero on one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_kernels.h"

#define MAX_CIN 300
#define MAX_HW 20

static uint8_t in[MAX_CIN * (MAX_HW + 2) * (MAX_HW + 2)];
static int8_t w[2 * 4 * MAX_CIN * 16];
static int32_t sums_a[2 * MAX_HW * 2 * MAX_HW * 8], sums_b[sizeof sums_a / sizeof sums_a[0]];
static uint8_t out_a[8 * (2 * MAX_HW + 2) * (2 * MAX_HW + 2)], out_b[sizeof out_a];
static uint32_t seed = 12345;

static uint32_t rnd(void) { return seed = seed * 1664525u + 1013904223u, seed >> 8; }

static int one_case(int n, int extreme)
{
    int h = 1 + (int)(rnd() % MAX_HW), wd = 1 + (int)(rnd() % MAX_HW), w_cin = 1 + (int)(rnd() % MAX_CIN);
    int ci0 = (int)(rnd() % (unsigned)w_cin), cin = 1 + (int)(rnd() % (unsigned)(w_cin - ci0));
    int cout = 1 + (int)(rnd() % 8), groups = (cout + 3) / 4, sums_mode = rnd() & 1;
    int32_t bias[8], mult[8], shift[8];
    uint32_t plane = tg_plane((uint32_t)h, (uint32_t)wd);
    memset(in, 0, sizeof in);
    for (int c = 0; c < cin; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < wd; x++)
                in[(uint32_t)c * plane + (uint32_t)(y + 1) * tg_pitch((uint32_t)wd) + (uint32_t)x + 1] =
                    extreme ? 255 : (uint8_t)rnd();
    for (size_t i = 0; i < (size_t)groups * 4 * (size_t)w_cin * 16; i++)
        w[i] = extreme ? (int8_t)((rnd() & 1) ? 127 : -127) : (int8_t)((int)(rnd() % 255) - 127);
    for (int c = 0; c < 8; c++) {
        bias[c] = (int32_t)(rnd() % 200001) - 100000;
        mult[c] = (int32_t)((1u << 30) + rnd() % (1u << 30));
        shift[c] = -(int32_t)(rnd() % 20);
    }
    tg_layer_io io;
    memset(&io, 0, sizeof io);
    io.in = in;
    io.in_h = (uint16_t)h; io.in_w = (uint16_t)wd; io.cin = (uint16_t)cin; io.ci0 = (uint16_t)ci0;
    io.w_cin = (uint16_t)w_cin; io.cout = (uint16_t)cout; io.out_h = (uint16_t)(2 * h); io.out_w = (uint16_t)(2 * wd);
    io.bias = (rnd() & 1) ? bias : NULL;
    io.mult = mult; io.shift = shift; io.out_zp = -128;
    io.act = sums_mode ? TG_IO_SUMS : TG_ACT_REQUANT;
    int g0 = 0, ng = groups, p0 = (int)(rnd() % 4), np = 1;
    if (!sums_mode && cout > 4 && (rnd() & 1)) { /* only the second group, stored from plane 0 */
        g0 = 1;
        ng = 1;
        io.out_c0 = 4;
    }
    if (rnd() & 1) { p0 = 0; np = 4; }
    size_t n_sums = (size_t)4 * (size_t)h * (size_t)wd * (size_t)cout;
    memset(sums_a, 0, sizeof sums_a); memset(sums_b, 0, sizeof sums_b);
    memset(out_a, 0, sizeof out_a); memset(out_b, 0, sizeof out_b);
    io.sums = sums_a; io.out = out_a;
    TG_KERNEL_S2(&io, w, g0, ng, p0, np);
    io.sums = sums_b; io.out = out_b;
    tg_kernel_s2_plain(&io, w, g0, ng, p0, np);
    int differ = sums_mode ? memcmp(sums_a, sums_b, n_sums * 4) : memcmp(out_a, out_b, sizeof out_a);
    if (differ)
        printf("case %d DIFFERS: h=%d w=%d w_cin=%d ci0=%d cin=%d cout=%d phases %d+%d mode=%s extreme=%d\n", n, h, wd,
               w_cin, ci0, cin, cout, p0, np, sums_mode ? "sums" : "requant", extreme);
    return differ;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    for (int i = 0; i < n; i++)
        if (one_case(i, i % 10 == 0))
            return 1;
    printf("%d cases, all equal\n", n);
    return 0;
}
