/* The console and time base shared by the port's boards (console.c), in terms of four board
 * primitives. A board's HAL provides these; everything MicroPython asks of mphal (stdin/stdout,
 * ticks, delays, the interrupt character) is built on them once, here. */
#ifndef TINYGAN_PORT_CONSOLE_H
#define TINYGAN_PORT_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

/* One received character, or -1 when none is waiting. Never blocks. */
int board_console_rx(void);
/* Sends len bytes (blocking until the transmitter took them). */
void board_console_tx(const char *str, size_t len);
/* Microseconds since start-up, monotonic, 64 bits (no wrap in practice). */
uint64_t board_ticks_us(void);
/* Sleeps until an interrupt or event, or at most max_us; may return early. Must not hang: a board
 * without a wake-up source polls instead. */
void board_wait_us(uint32_t max_us);

/* Moves every character the UART holds into the console's buffer; the interrupt character
 * (Ctrl-C while code runs) schedules KeyboardInterrupt instead. Cheap when nothing arrived; called
 * from the VM's poll hook, the engine's per-chunk hook, delays and stdin. */
void console_poll(void);
/* True when a character arrives within timeout_ms; the character stays queued for the REPL. */
int console_key_within(uint32_t timeout_ms);

#endif
