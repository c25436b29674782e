/* Speech output test for the CH32H417 emulator's TIM6, DMA2, DMAMUX and DAC models (included by prog.c
   with TEST_AUDIO, run on the V5F).  It links the real driver, boards/CH32H417/ch32h417_audio.c
   (built beside prog.c by tests/test_ch32h417_audio.py), and plays AUDIO_TEST_BYTES samples of a
   linear congruential sequence (x = x * 1103515245 + 12345 from x = 1, sample = bits 23..16 of x),
   longer than the 1024-byte double buffer so the halves are refilled several times.
   Output: "audio rate XXXXXXXX\n" (the divider's rate in millihertz, hex), then
   "audio done REFILLS LATE\n" when the stream has played, or "audio stalled\n" when no half finished
   for 100 ms (the wrong drivers: the driver's AUDIO_WRONG_* switches), or "audio err ...".
   AUDIO_TEST_LATE_US: after the first refill the loop stops calling audio_service for that long
   (more than two halves: a stale half is heard again and the driver counts it as late). */
#include "../../boards/CH32H417/ch32h417_audio.h"

/* These programs link no C library (-nostdlib), and gcc may compile the driver's fill loop into a
   call to memset; this one must not be turned into a call to itself. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
void *memset(void *dst, int c, size_t n)
{
    uint8_t *p = dst;
    while (n--) *p++ = (uint8_t)c;
    return dst;
}

#ifndef AUDIO_TEST_BYTES
#define AUDIO_TEST_BYTES 3000u
#endif
#ifndef AUDIO_TEST_RATE
#define AUDIO_TEST_RATE 11025u
#endif
#define AUDIO_STALL_US 100000u

struct pattern {
    uint32_t left;
    uint32_t x;
};

static size_t pattern_fill(void *ctx, uint8_t *dst, size_t max)
{
    struct pattern *p = ctx;
    size_t n = 0;
    while (n < max && p->left) {
        p->x = p->x * 1103515245u + 12345u;
        dst[n++] = (uint8_t)(p->x >> 16);
        p->left--;
    }
    return n;
}

static void audio_test(void)
{
    struct pattern pat = {AUDIO_TEST_BYTES, 1u};
    audio_status_t st = audio_init(AUDIO_TEST_RATE);
    if (st != AUDIO_OK) {
        puts_("audio err init ");
        puthex(st);
        put('\n');
        return;
    }
    puts_("audio rate ");
    puthex(audio.rate_mhz);
    put('\n');
    st = audio_start(pattern_fill, &pat);
    if (st != AUDIO_OK) {
        puts_("audio err start ");
        puthex(st);
        put('\n');
        return;
    }
    clock_start();
    uint32_t last = clock_us(), refills = audio.refills;
    while (audio_service()) {
        if (audio.refills != refills) {
            refills = audio.refills;
#ifdef AUDIO_TEST_LATE_US
            if (refills == 3u) {
                uint32_t t0 = clock_us();
                while (clock_us() - t0 < AUDIO_TEST_LATE_US) { }
            }
#endif
            last = clock_us();
        } else if (clock_us() - last > AUDIO_STALL_US) {
            audio_stop();
            puts_("audio stalled\n");
            return;
        }
    }
    puts_("audio done ");
    puthex(audio.refills);
    put(' ');
    puthex(audio.late);
    put('\n');
}
