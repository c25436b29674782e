/* The time base of each core: its own SysTick (SysTick0 on the V3F, SysTick1 on the V5F, the
 * vendor's SRC/Debug/debug.c split) counting up at HCLK, extended to 64 bits. Plain C, in both
 * images; CH32H417_CORE (ch32h417_regs.h) says which core a file is built for. */
#ifndef CH32H417_TICKS_H
#define CH32H417_TICKS_H

#include <stdint.h>

void ch32_ticks_init(void);
/* HCLK periods since ch32_ticks_init(). */
uint64_t ch32_hclk_ticks(void);

#endif
