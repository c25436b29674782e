/* Edge-value check of tg_kernel_s2_fast against tg_kernel_s2_plain, built for the host and for
 * rv32imafc (tests/test_kernel_fast.py). All weights +-127 and all activations 255, so every float
 * run of the fast kernel reaches its largest partial sum (128 channels x 4 taps x 127 x 255, just
 * below 2^24); the biases bring pixels with 4, 2 and 1 taps inside the input to exactly 100 so the
 * comparison sees real values, not saturated ones. Prints one line per weight sign. */
#include <stdio.h>
#include <string.h>
#ifdef __riscv
#include <semihost.h> /* picolibc: a bare-metal main returning does not stop QEMU */
#endif
#include "tg_kernels.h"

#define CIN 300 /* float runs of 128, 128, 44 input channels */
#define H 5
#define W 6     /* not a multiple of 4: the tail pixels take the plain path */

static uint8_t in[CIN * (H + 2) * (W + 2)];
static int8_t w[4 * CIN * 4 * 4];
static uint8_t out_fast[4 * (2 * H + 2) * (2 * W + 2)], out_plain[sizeof out_fast];

static void check(int sign)
{
    int32_t full = CIN * 4 * 127 * 255; /* |acc| of an interior pixel with all taps inside */
    /* channel j: weight magnitude 127; bias puts pixels with 4 / 2 / 1 / 4 taps inside at 100 */
    int32_t bias[4] = {-sign * full + 100, sign * full + 100, -sign * full / 2 + 100, -sign * full / 4 + 100};
    int32_t mult[4] = {1 << 30, 1 << 30, 1 << 30, 1 << 30}, shift[4] = {1, 1, 1, 1}; /* MBQM = identity */
    for (int c = 0; c < CIN; c++)
        for (int y = 0; y < H; y++)
            memset(in + c * (H + 2) * (W + 2) + (y + 1) * (W + 2) + 1, 255, W);
    for (size_t i = 0; i < sizeof w; i++)
        w[i] = (int8_t)((i % 4 == 1 ? -sign : sign) * 127);
    tg_layer_io io;
    memset(&io, 0, sizeof io);
    io.in = in;
    io.in_h = H; io.in_w = W; io.cin = io.w_cin = CIN; io.cout = 4; io.out_h = 2 * H; io.out_w = 2 * W;
    io.act = TG_ACT_REQUANT; io.out_zp = -128;
    io.bias = bias; io.mult = mult; io.shift = shift;
    io.out = out_fast;
    tg_kernel_s2_fast(&io, w, 0, 1, 0, 4);
    io.out = out_plain;
    tg_kernel_s2_plain(&io, w, 0, 1, 0, 4);
    int hits = 0;
    for (size_t i = 0; i < sizeof out_fast; i++)
        hits += out_plain[i] == 100;
    printf("sign %+d: %s hits100=%d\n", sign, memcmp(out_fast, out_plain, sizeof out_fast) ? "DIFFER" : "same", hits);
}

int main(void)
{
    check(1);
    check(-1);
#ifdef __riscv
    sys_semihost_exit(ADP_Stopped_ApplicationExit, 0);
#endif
    return 0;
}
