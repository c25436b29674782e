/* Speech output: DAC channel 1 (PA4) converts one 8-bit sample per TIM6 update event; DMA2 channel 3
 * (circular, memory -> DAC R8BDHR1, one byte per DAC request) plays a 2 x 512-byte buffer in shared
 * SRAM, and audio_service() refills the half the DMA has just left.  Written for this project from
 * the vendor's register facts (openwch/ch32h417 EVT V1.3, see ch32h417_regs.h "Speech output"):
 * the order of the steps follows EVT/EXAM/DAC/DAC_DMA/Common/hardware.c (clocks, PA4 analog, DAC
 * with a timer trigger and DMA, DMA2 channel 3 circular, DMA_MuxChannelConfig(11, 0x67)), with TIM6
 * (DAC_Trigger_T6_TRGO) instead of the example's TIM8.  Untested on silicon (AUDIO.md).
 *
 * The DAC converts on a trigger and then asks the DMA for the next byte, so a byte is heard one
 * sample period after the DMA fetched it; the half holding the end of the stream therefore always
 * ends in at least one silence byte, and playback stops only after that half's last fetch. */
#include "ch32h417_audio.h"

#include "ch32h417_regs.h"

/* Test-only build switches: tests/test_ch32h417_audio.py builds each as a wrong driver the
 * emulator must refuse or that must play nothing; the firmware build defines none of them. */
#ifdef AUDIO_WRONG_NO_TIM6_CLOCK
#define AUDIO_HB1_CLOCKS RCC_HB1_DACEN
#else
#define AUDIO_HB1_CLOCKS (RCC_HB1_TIM6EN | RCC_HB1_DACEN)
#endif
#ifdef AUDIO_WRONG_DAC_OFF
#define AUDIO_DAC_ON 0u
#else
#define AUDIO_DAC_ON DAC_EN1
#endif
#ifdef AUDIO_WRONG_TSEL
#define AUDIO_TSEL DAC_TSEL1_T8_TRGO      /* the vendor example's timer: TIM6 never triggers it */
#else
#define AUDIO_TSEL DAC_TSEL1_T6_TRGO
#endif

#define AUDIO_DMA_CH 3u
#define AUDIO_DMA_FLAGS (DMA_HTIF(AUDIO_DMA_CH) | DMA_TCIF(AUDIO_DMA_CH))

audio_t audio;

/* Shared SRAM: the DMA must reach it (the emulator refuses DTCM; the SDK does not say DMA2 reaches it). */
static uint8_t audio_buf[AUDIO_BUFFER_BYTES] __attribute__((section(".dma.audio"), aligned(4)));

/* TIM2..7 count at HCLK / PPRE1 (RCC_TIMClockSourDivConfig: field 0 undivided, 5/6/7 = /2, /4, /8);
 * 0 for the field values the SDK does not define. */
static uint32_t timer_clock_hz(void)
{
    switch ((RCC_CFGR0 & RCC_PPRE1) >> RCC_PPRE1_POS) {
    case 0: return CH32_HCLK_HZ;
    case 5: return CH32_HCLK_HZ / 2u;
    case 6: return CH32_HCLK_HZ / 4u;
    case 7: return CH32_HCLK_HZ / 8u;
    default: return 0;
    }
}

/* The divider nearest to clk / rate: the prescaler only grows when the 16-bit ATRLR cannot hold it. */
static void choose_divider(uint32_t clk, uint32_t rate)
{
    uint32_t total = (clk + rate / 2u) / rate;
    uint32_t psc1 = total / 65536u + 1u;
    uint32_t arr1 = (total + psc1 / 2u) / psc1;
    uint32_t div = psc1 * arr1;          /* at most clk / AUDIO_RATE_MIN: the sums below fit 32 bits */
    audio.psc = (uint16_t)(psc1 - 1u);
    audio.arr = (uint16_t)(arr1 - 1u);
    audio.rate_mhz = clk / div * 1000u + ((clk % div) * 1000u + div / 2u) / div;
}

static void dac_hold_silence(void)
{
    DAC_CTLR = AUDIO_DAC_ON;             /* no trigger: the write below converts at once */
    DAC_R8BDHR1 = AUDIO_SILENCE;
}

audio_status_t audio_init(uint32_t rate_hz)
{
    if (audio.playing) {
        audio_stop();
    }
    audio.ready = false;
    if (rate_hz < AUDIO_RATE_MIN || rate_hz > AUDIO_RATE_MAX) {
        return AUDIO_BAD_RATE;
    }
    uint32_t clk = timer_clock_hz();
    if (clk == 0) {
        return AUDIO_CLOCK_UNKNOWN;
    }
    choose_divider(clk, rate_hz);

    RCC_HB2PCENR |= RCC_HB2_IOPAEN;
    RCC_HB1PCENR |= AUDIO_HB1_CLOCKS;
    RCC_HBPCENR |= RCC_HB_DMA2EN;
    GPIO_CFGLR(GPIOA_BASE) = (GPIO_CFGLR(GPIOA_BASE) & ~(0xFu << (4u * DAC1_PIN)))
                             | (GPIO_CFG_ANALOG << (4u * DAC1_PIN));

    TIM6_CTLR1 = 0;
    TIM6_CTLR2 = 0;                      /* TRGO off while UG loads the prescaler */
    TIM6_PSC = audio.psc;
    TIM6_ATRLR = audio.arr;
    TIM6_SWEVGR = TIM_UG;                /* as TIM_TimeBaseInit: PSC takes effect now */
    TIM6_INTFR = 0;
    TIM6_CTLR2 = TIM_MMS_UPDATE;

#ifndef AUDIO_WRONG_NO_DMAMUX
    DMAMUX_CFGR(DMAMUX_CH_DMA2_CH3) = (DMAMUX_CFGR(DMAMUX_CH_DMA2_CH3)
                                       & ~(DMAMUX_MASK << DMAMUX_SHIFT(DMAMUX_CH_DMA2_CH3)))
                                      | ((DMA_REQ_DAC1 - 1u) << DMAMUX_SHIFT(DMAMUX_CH_DMA2_CH3));
#endif
    dac_hold_silence();                  /* the amplifier input sits at mid-scale from here on */
    audio.playing = false;
    audio.ready = true;
    return AUDIO_OK;
}

/* Half h from the stream, or silence once it has ended; the first short half is the final one. */
static void fill_half(unsigned h)
{
    uint8_t *dst = audio_buf + h * AUDIO_HALF_BYTES;
    size_t n = 0;
    if (!audio.ending) {
        n = audio.fill(audio.ctx, dst, AUDIO_HALF_BYTES);
        if (n > AUDIO_HALF_BYTES) {
            n = AUDIO_HALF_BYTES;
        }
        if (n < AUDIO_HALF_BYTES) {
            audio.ending = true;
            audio.final_half = (uint8_t)h;
        }
    }
    for (size_t i = n; i < AUDIO_HALF_BYTES; i++) {
        dst[i] = AUDIO_SILENCE;
    }
    audio.refills++;
#if defined(__riscv)
    __asm__ volatile ("fence rw, rw" ::: "memory");   /* the samples are in RAM before the DMA reads them */
#endif
}

audio_status_t audio_start(audio_fill_fn fill, void *ctx)
{
    if (!audio.ready) {
        return AUDIO_NOT_READY;
    }
    if (audio.playing) {
        return AUDIO_BUSY;
    }
    audio.fill = fill;
    audio.ctx = ctx;
    audio.ending = false;
    audio.refills = 0;
    audio.late = 0;
    fill_half(0);
    fill_half(1);

    uint32_t ch = DMA2_CH_BASE(AUDIO_DMA_CH);
    DMA_CFGR(ch) = 0;
    DMA2_INTFCR = DMA_GIF(AUDIO_DMA_CH);                 /* clears all of the channel's flags */
    DMA_PADDR(ch) = DAC_R8BDHR1_ADDR;
    DMA_MADDR(ch) = (uint32_t)(uintptr_t)audio_buf;
    DMA_CNTR(ch) = AUDIO_BUFFER_BYTES;
    DMA_CFGR(ch) = DMA_CFGR_DIR_READ_MEM | DMA_CFGR_CIRC | DMA_CFGR_MINC | DMA_CFGR_PSIZE_BYTE
                   | DMA_CFGR_MSIZE_BYTE | DMA_CFGR_PL_HIGH | DMA_CFGR_EN;
    DAC_CTLR = AUDIO_DAC_ON | DAC_TEN1 | AUDIO_TSEL | DAC_DMAEN1;
    TIM6_CNT = 0;
    audio.playing = true;
    TIM6_CTLR1 = TIM_CEN;
    return AUDIO_OK;
}

bool audio_service(void)
{
    if (!audio.playing) {
        return false;
    }
    uint32_t done = DMA2_INTFR & AUDIO_DMA_FLAGS;
    if (done == 0) {
        return true;
    }
    DMA2_INTFCR = done;
    if (done == AUDIO_DMA_FLAGS) {
        audio.late++;
    }
    /* The free half is the one the DMA is not reading: CNTR counts the bytes left in the buffer. */
    unsigned free_half = DMA_CNTR(DMA2_CH_BASE(AUDIO_DMA_CH)) > AUDIO_HALF_BYTES ? 1u : 0u;
    if (audio.ending && free_half == audio.final_half) {
        audio_stop();                    /* the end of the stream and its silence byte have been fetched */
        return false;
    }
    fill_half(free_half);
    return true;
}

void audio_stop(void)
{
    TIM6_CTLR1 = 0;
    DMA_CFGR(DMA2_CH_BASE(AUDIO_DMA_CH)) = 0;
    DMA2_INTFCR = DMA_GIF(AUDIO_DMA_CH);
    dac_hold_silence();
    audio.playing = false;
}
