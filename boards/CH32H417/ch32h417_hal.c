/* CH32H417 HAL for the tinygan MicroPython port: console, ticks, reset, SD mount hook.
 *
 * NEVER RUN ON HARDWARE. The peripheral addresses and register layout below follow WCH's
 * CH32V30x family (USART1 at 0x40013800 with STATR/DATAR/BRR/CTLR1, PFIC reset at 0xE000E000)
 * and are assumptions to check against the CH32H417 reference manual; clocks and pins are expected
 * to be set up by the boot ROM / a future SystemInit. What is missing: clock tree and GPIO set-up,
 * the SD card driver (SPI or SDIO, then board_mount_storage() mounts it like the QEMU board's
 * image), the second core (V3F) reading chunks ahead (tg_source.start/wait), DAC and LCD.
 */
#include <stdint.h>

#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stream.h"

#include "board.h"

#define USART1_BASE 0x40013800u      /* assumed */
#define PFIC_CFGR   0xE000E048u      /* assumed: system reset request */
#define USART_STATR (*(volatile uint32_t *)(USART1_BASE + 0x00))
#define USART_DATAR (*(volatile uint32_t *)(USART1_BASE + 0x04))
#define USART_TXE   (1u << 7)
#define USART_RXNE  (1u << 5)

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags)
{
    return (poll_flags & MP_STREAM_POLL_RD) && (USART_STATR & USART_RXNE) ? MP_STREAM_POLL_RD : 0;
}

int mp_hal_stdin_rx_chr(void)
{
    while (!(USART_STATR & USART_RXNE)) {
    }
    return (int)(USART_DATAR & 0xff);
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while (!(USART_STATR & USART_TXE)) {
        }
        USART_DATAR = (uint8_t)str[i];
    }
    return len;
}

/* The cycle counter at the core clock of board.json (assumed 300 MHz). */
static uint64_t cycles(void)
{
    uint32_t hi, lo, again;
    do {
        __asm volatile ("rdcycleh %0\n rdcycle %1\n rdcycleh %2" : "=r" (hi), "=r" (lo), "=r" (again));
    } while (hi != again);
    return ((uint64_t)hi << 32) | lo;
}

mp_uint_t mp_hal_ticks_cpu(void)
{
    return (mp_uint_t)cycles();
}

mp_uint_t mp_hal_ticks_us(void)
{
    return (mp_uint_t)(cycles() / (CH32H417_CORE_HZ / 1000000u));
}

mp_uint_t mp_hal_ticks_ms(void)
{
    return (mp_uint_t)(cycles() / (CH32H417_CORE_HZ / 1000u));
}

void mp_hal_delay_us(mp_uint_t us)
{
    mp_uint_t start = mp_hal_ticks_us();
    while (mp_hal_ticks_us() - start < us) {
    }
}

void mp_hal_delay_ms(mp_uint_t ms)
{
    mp_uint_t start = mp_hal_ticks_ms();
    while (mp_hal_ticks_ms() - start < ms) {
        mp_handle_pending(MP_HANDLE_PENDING_CALLBACKS_AND_EXCEPTIONS);
    }
}

/* Not random: the application takes its randomness from the SD card's quantum pool, and uses a
 * fallback only when asked (docs/app.md); the chip's TRNG would go here. */
void mp_hal_get_random(size_t n, uint8_t *buf)
{
    static uint32_t state = 1;
    for (size_t i = 0; i < n; i++) {
        state = state * 1664525u + 1013904223u;
        buf[i] = (uint8_t)(state >> 24);
    }
}

MP_NORETURN void ch32h417_reset(void)
{
    *(volatile uint32_t *)PFIC_CFGR = 0xBEEF0080u; /* assumed: key + SYSRESET, as on CH32V30x */
    for (;;) {
    }
}

void board_mount_storage(void)
{
    mp_printf(&mp_plat_print, "SD card driver not written yet (docs/micropython-port.md); /sd not mounted\n");
}

/* picolibc's exit() ends here (main() returning, nlr_jump_fail): there is no host, so reset. */
MP_NORETURN void _exit(int status)
{
    (void)status;
    ch32h417_reset();
}
