/* SysTick as a 64-bit HCLK counter (ch32h417_ticks.h), and the port's board_ticks_us() on it.
 *
 * The counter counts up at HCLK and wraps at CMP = 0xFFFFFFFF (STRE, as the vendor CoreMark port
 * sets it: CTLR = STE | STCLK | STRE). The 32-bit count wraps every 42.9 s; every read extends it
 * to 64 bits, and reads happen at least every few milliseconds in any state the firmware can be
 * in (REPL wait, VM hook, delays, the engine's clock hook, the V3F's request loop), except inside
 * one C call that runs for more than 42.9 s without reading the clock. */
#include "ch32h417_regs.h"
#include "ch32h417_ticks.h"
#include "console.h"

#if CH32H417_CORE == 0
#define STK_CTLR SYSTICK0_CTLR
#define STK_CNT  SYSTICK0_CNT
#define STK_CMP  SYSTICK0_CMP
#else
#define STK_CTLR SYSTICK1_CTLR
#define STK_CNT  SYSTICK1_CNT
#define STK_CMP  SYSTICK1_CMP
#endif

static uint32_t tick_last, tick_high;

void ch32_ticks_init(void)
{
    STK_CTLR = 0;
    STK_CNT = 0;
    STK_CMP = 0xFFFFFFFFu;
    STK_CTLR = SYSTICK_CTLR_STE | SYSTICK_CTLR_STCLK | SYSTICK_CTLR_STRE;
    tick_last = tick_high = 0;
}

uint64_t ch32_hclk_ticks(void)
{
    uint32_t now = STK_CNT;
    if (now < tick_last) {
        tick_high++;
    }
    tick_last = now;
    return ((uint64_t)tick_high << 32) | now;
}

uint64_t board_ticks_us(void)
{
    return ch32_hclk_ticks() / (CH32_HCLK_HZ / 1000000u);
}
