/* QEMU virt board: the console primitives of micropython_port/console.h on the virt ns16550 UART
 * (ports/qemu's uart.c), time from the CLINT's mtime (10 MHz on virt), and sleeping with wfi until
 * the CLINT timer fires, so an idle REPL does not keep a host core busy. */
#include <stdint.h>

#include "uart.h"
#include "console.h"

#define CLINT_MTIMECMP0 ((volatile uint32_t *)0x02004000u) /* hart 0: lo, hi */
#define MTIME_HZ 10000000u                                  /* QEMU virt timebase-frequency */
#define MIE_MTIE (1u << 7)

int board_console_rx(void)
{
    return uart_rx_chr(); /* UART_RX_NO_CHAR (-1) when nothing is waiting */
}

void board_console_tx(const char *str, size_t len)
{
    uart_tx_strn(str, len);
}

static uint64_t mtime(void)
{
    uint32_t hi, lo, hi2;
    do {
        __asm volatile ("rdtimeh %0" : "=r" (hi));
        __asm volatile ("rdtime %0" : "=r" (lo));
        __asm volatile ("rdtimeh %0" : "=r" (hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

uint64_t board_ticks_us(void)
{
    return mtime() / (MTIME_HZ / 1000000u);
}

/* wfi wakes on a pending interrupt that mie enables even while mstatus.MIE is 0, so no trap is
 * taken: arm the compare, sleep, disarm (which also clears the pending bit). */
static void mtimecmp_set(uint64_t t)
{
    CLINT_MTIMECMP0[1] = 0xffffffffu; /* no spurious match while the low word changes */
    CLINT_MTIMECMP0[0] = (uint32_t)t;
    CLINT_MTIMECMP0[1] = (uint32_t)(t >> 32);
}

void board_wait_us(uint32_t max_us)
{
    mtimecmp_set(mtime() + (uint64_t)max_us * (MTIME_HZ / 1000000u));
    __asm volatile ("csrs mie, %0" : : "r" (MIE_MTIE));
    __asm volatile ("wfi");
    __asm volatile ("csrc mie, %0" : : "r" (MIE_MTIE));
    mtimecmp_set(UINT64_MAX);
}

/* os.urandom on this board: QEMU virt has no RNG device; an LCG seeded from the timer. The
 * application's entropy comes from the card's pool, never from here. */
void mp_hal_get_random(size_t n, uint8_t *buf)
{
    static uint32_t state;
    if (state == 0) {
        state = (uint32_t)mtime() | 1u;
    }
    for (size_t i = 0; i < n; ++i) {
        state = state * 1664525u + 1013904223u;
        buf[i] = (uint8_t)(state >> 24);
    }
}
