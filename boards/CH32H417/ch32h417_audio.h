/* Speech output on the CH32H417: 8-bit mono samples out of DAC channel 1 (pin PA4), paced by TIM6,
 * fed by DMA2 channel 3 from a double buffer in shared SRAM.  Plain C99 (no MicroPython headers), so
 * a bare-metal test and a small MicroPython binding can both call it.  AUDIO.md has the wiring.
 *
 * Use: audio_init(rate) once; audio_start(fill, ctx); call audio_service() often (it never blocks)
 * until it returns false; audio_stop() ends playback early.  fill(ctx, dst, max) writes up to max
 * unsigned 8-bit samples (0x80 = silence) and returns how many it wrote: fewer than max means the
 * stream has ended; the rest of that half is silence and playback stops once it has been heard.
 *
 * RAM: AUDIO_BUFFER_BYTES (1024) in the .dma section (shared SRAM; the DMA model only reaches shared
 * SRAM, see docs/ch32h417-emulator.md) plus the small audio_t state below (.bss).  No heap. */
#ifndef CH32H417_AUDIO_H
#define CH32H417_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIO_HALF_BYTES 512u                       /* one half of the double buffer */
#define AUDIO_BUFFER_BYTES (2u * AUDIO_HALF_BYTES)
#define AUDIO_RATE_MIN 1000u
#define AUDIO_RATE_MAX 48000u
#define AUDIO_SILENCE 0x80u                         /* mid-scale: the amplifier input at rest */

typedef enum {
    AUDIO_OK = 0,
    AUDIO_BAD_RATE,         /* rate outside AUDIO_RATE_MIN..AUDIO_RATE_MAX */
    AUDIO_CLOCK_UNKNOWN,    /* RCC_CFGR0.PPRE1 holds a value the SDK does not define */
    AUDIO_NOT_READY,        /* audio_start before a successful audio_init */
    AUDIO_BUSY,             /* audio_start while already playing */
} audio_status_t;

/* Fills dst with up to max samples; returns how many (fewer than max: the stream ends there). */
typedef size_t (*audio_fill_fn)(void *ctx, uint8_t *dst, size_t max);

typedef struct {
    bool ready;                 /* audio_init succeeded */
    bool playing;
    bool ending;                /* fill has returned short: only silence from now on */
    uint8_t final_half;         /* the half holding the end of the stream */
    uint16_t psc, arr;          /* the TIM6 divider: rate = timer clock / ((psc + 1) (arr + 1)) */
    uint32_t rate_mhz;          /* the rate that divider gives, in millihertz */
    uint32_t refills;           /* halves refilled since audio_start */
    uint32_t late;              /* services that found both halves done: one was heard twice */
    audio_fill_fn fill;
    void *ctx;
} audio_t;

extern audio_t audio;

/* Clocks (GPIOA, TIM6, DAC, DMA2), PA4 analog, TIM6 at the nearest rate to rate_hz its divider
 * gives (audio.rate_mhz says which: 11025 Hz -> 11025.358 Hz at a 100 MHz timer clock), the DMAMUX
 * route, the DAC output at mid-scale.  Nothing plays yet. */
audio_status_t audio_init(uint32_t rate_hz);
/* Fills both halves from fill, then starts the DMA, the DAC trigger and the timer. */
audio_status_t audio_start(audio_fill_fn fill, void *ctx);
/* Refills the half the DMA has just finished; stops when the end of the stream has been played.
 * Returns true while playing.  Call it at least once per half (AUDIO_HALF_BYTES / rate seconds). */
bool audio_service(void);
/* Stops the timer and the DMA and leaves the DAC output at mid-scale (AUDIO_SILENCE). */
void audio_stop(void);

#endif
