/* CH32H417 HAL of the tinygan MicroPython port, V5F core: the console primitives of
 * micropython_port/console.h on USART1, time from SysTick1, the hardware RNG, reset through the
 * PFIC, the trap report, and the C entry after v5f_start.s. Register facts and their vendor files:
 * ch32h417_regs.h. The V3F start-up (v3f/) has already raised VIO18 and set the clocks (V5F 400 MHz,
 * HCLK 100 MHz) before it woke this core.
 *
 * No interrupt is enabled: console.c polls the USART (VM hook, the engine's per-chunk hook, delays,
 * stdin). The USART holds one received byte; a byte that arrives while the previous one is still
 * unread is lost (overrun), which can only happen while C code runs for longer than a character
 * time (87 us at 115200 baud) between polls, e.g. inside one engine chunk.
 */
#include <stdint.h>
#include <stdlib.h>

#include "py/mphal.h"
#include "py/runtime.h"

#include "board.h"
#include "ch32h417_regs.h"
#include "ch32h417_ticks.h"
#include "console.h"

#define CONSOLE_BAUD 115200u
#define RNG_TIMEOUT_US 10000u

/* ---------------------------------------------------------------- console: USART1 PA9/PA10 */

/* USART_Init (ch32h417_usart.c): BRR = mantissa << 4 | fraction/16 of HCLK / (16 baud), with the
 * fraction rounded; 100 MHz / 115200 gives 54 + 4/16 = 0x364. */
static uint16_t usart_brr(uint32_t clock_hz, uint32_t baud)
{
    uint32_t div100 = (25u * (uint64_t)clock_hz) / (4u * baud); /* 100 x clock / (16 baud) */
    uint32_t mantissa = div100 / 100u;
    uint32_t fraction = ((div100 - 100u * mantissa) * 16u + 50u) / 100u;
    return (uint16_t)(fraction > 0xFu ? (mantissa + 1u) << 4 : (mantissa << 4) | fraction);
}

/* The vendor's V3F console and its USART1 hardware-flow-control example use PA9 = TX (AF7, push-
 * pull, very high speed) and PA10 = RX (AF7, input with pull-up) (SRC/Debug/debug.c,
 * EXAM/USART/USART_HardwareFlowControl/Common/hardware.c); 8N1, no flow control. */
static void console_init(void)
{
    RCC_HB2PCENR |= RCC_HB2_AFIOEN | RCC_HB2_IOPAEN | RCC_HB2_USART1EN;
    AFIO_GPIOA_AFHR = (AFIO_GPIOA_AFHR & ~(0xFFu << 4)) | (GPIO_AF7 << 4) | (GPIO_AF7 << 8);
    GPIO_SPEED(GPIOA_BASE) = (GPIO_SPEED(GPIOA_BASE) & ~(0x3u << 18)) | (GPIO_SPEED_VERY_HIGH << 18);
    GPIO_CFGHR(GPIOA_BASE) = (GPIO_CFGHR(GPIOA_BASE) & ~(0xFFu << 4)) | (GPIO_CFG_AF_PP << 4) | (GPIO_CFG_IN_PULL << 8);
    GPIO_BSHR(GPIOA_BASE) = 1u << 10;           /* pull-up on PA10 */
    USART_CTLR2(USART1_BASE) = 0;               /* 1 stop bit */
    USART_CTLR3(USART1_BASE) = 0;               /* no flow control */
    USART_BRR(USART1_BASE) = usart_brr(CH32_HCLK_HZ, CONSOLE_BAUD);
    USART_CTLR1(USART1_BASE) = USART_CTLR1_TE | USART_CTLR1_RE; /* 8 data bits, no parity */
    USART_CTLR1(USART1_BASE) |= USART_CTLR1_UE;                 /* USART_Cmd */
}

int board_console_rx(void)
{
    uint16_t status = USART_STATR(USART1_BASE);
    if (!(status & (USART_FLAG_RXNE | USART_FLAG_ORE))) {
        return -1;
    }
    int c = USART_DATAR(USART1_BASE) & 0xFF;    /* reading STATR then DATAR also clears ORE */
    return (status & USART_FLAG_RXNE) ? c : -1;
}

void board_console_tx(const char *str, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while (!(USART_STATR(USART1_BASE) & USART_FLAG_TXE)) {
        }
        USART_DATAR(USART1_BASE) = (uint8_t)str[i];
        if ((i & 7) == 7) {
            console_poll();                     /* long outputs: keep the one-byte receiver drained */
        }
    }
}

static void console_flush(void)
{
    if (USART_CTLR1(USART1_BASE) & USART_CTLR1_UE) {
        while (!(USART_STATR(USART1_BASE) & USART_FLAG_TC)) {
        }
    }
}

/* ---------------------------------------------------------------- time: SysTick1 at HCLK */

/* No wake-up source is enabled (a wfi could sleep forever), so waiting polls: until a character
 * arrives or max_us have passed. */
void board_wait_us(uint32_t max_us)
{
    uint64_t end = ch32_hclk_ticks() + (uint64_t)max_us * (CH32_HCLK_HZ / 1000000u);
    while (ch32_hclk_ticks() < end && !(USART_STATR(USART1_BASE) & USART_FLAG_RXNE)) {
    }
}

/* ---------------------------------------------------------------- RNG (os.urandom) */

/* EXAM/RNG/RNG/Common/hardware.c: RNG clock (HBPCENR), RNGEN, then DR whenever SR.DRDY. On a seed
 * or clock error (SECS/CECS) the RNG is restarted: error flags cleared by writing 0
 * (RNG_ClearFlag in ch32h417_rng.c), RNGEN off and on (the recovery of STM32-style RNGs; the SDK
 * shows none). */
static void rng_init(void)
{
    RCC_HBPCENR |= RCC_HB_RNGEN;
    RNG_CR |= RNG_CR_RNGEN;
}

static uint32_t rng_word(void)
{
    uint64_t give_up = board_ticks_us() + RNG_TIMEOUT_US;
    for (;;) {
        uint32_t sr = RNG_SR;
        if (sr & (RNG_SR_SECS | RNG_SR_CECS)) {
            RNG_SR = ~(RNG_SR_SEIS | RNG_SR_CEIS);
            RNG_CR &= ~RNG_CR_RNGEN;
            RNG_CR |= RNG_CR_RNGEN;
        } else if (sr & RNG_SR_DRDY) {
            return RNG_DR;
        }
        if (board_ticks_us() > give_up) {
            mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("hardware RNG gives no data"));
        }
    }
}

/* os.urandom(): bytes from the TRNG (hardware entropy, not the quantum pool on the card). */
void mp_hal_get_random(size_t n, uint8_t *buf)
{
    while (n > 0) {
        uint32_t w = rng_word();
        for (int i = 0; i < 4 && n > 0; i++, n--) {
            *buf++ = (uint8_t)(w >> (8 * i));
        }
    }
}

/* ---------------------------------------------------------------- reset, traps, entry */

MP_NORETURN void ch32h417_reset(void)
{
    console_flush();
    PFIC_CFGR = PFIC_KEY3 | PFIC_CFGR_SYSRESET; /* NVIC_SystemReset (core_riscv.h) */
    for (;;) {
    }
}

static void trap_puts(const char *s)
{
    for (; *s; s++) {
        while (!(USART_STATR(USART1_BASE) & USART_FLAG_TXE)) {
        }
        USART_DATAR(USART1_BASE) = (uint8_t)*s;
    }
}

static void trap_puthex(uint32_t v)
{
    char s[11] = "0x";
    for (int i = 0; i < 8; i++) {
        s[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xF];
    }
    s[10] = 0;
    trap_puts(s);
}

/* From v5f_start.s for every trap (no interrupt is enabled, so these are exceptions): report it
 * on the console and stop this core. Resetting instead would turn a fault at boot into a loop. */
MP_NORETURN void ch32h417_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval);
MP_NORETURN void ch32h417_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval)
{
    if (USART_CTLR1(USART1_BASE) & USART_CTLR1_UE) {
        trap_puts("\r\nV5F trap: mcause=");
        trap_puthex(mcause);
        trap_puts(" mepc=");
        trap_puthex(mepc);
        trap_puts(" mtval=");
        trap_puthex(mtval);
        trap_puts("; core halted\r\n");
    }
    for (;;) {
    }
}

/* picolibc's exit() ends here (main() returning, nlr_jump_fail): there is no host, so reset. */
MP_NORETURN void _exit(int status)
{
    (void)status;
    ch32h417_reset();
}

int main(int argc, char **argv);
MP_NORETURN void ch32h417_v5f_main(void);

/* From v5f_start.s with memory, TLS, FPU and the trap table set up. */
MP_NORETURN void ch32h417_v5f_main(void)
{
    extern void (*const __preinit_array_start[])(void), (*const __preinit_array_end[])(void);
    extern void (*const __init_array_start[])(void), (*const __init_array_end[])(void);
    console_init();
    ch32_ticks_init();
    rng_init();
    for (void (*const *f)(void) = __preinit_array_start; f < __preinit_array_end; f++) {
        (*f)();
    }
    for (void (*const *f)(void) = __init_array_start; f < __init_array_end; f++) {
        (*f)();
    }
    main(0, NULL);
    ch32h417_reset();
}

#if !CH32H417_SDMMC
/* ch32h417_sdcard.c provides it when the SD driver is built. */
void board_mount_storage(void)
{
    mp_printf(&mp_plat_print, "SD card driver left out of this build (CH32H417_SDMMC=0); /sd not mounted\n");
}
#endif
