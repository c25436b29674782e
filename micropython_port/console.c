/* Console, ticks and delays of the port (console.h), shared by the boards.
 *
 * Received characters are queued in a small ring buffer so the UART can be polled from anywhere
 * (the VM's poll hook every few bytecodes, the engine's hook after every weight chunk, delays,
 * stdin) without losing input that was not the interrupt character. That polling is what makes
 * Ctrl-C work while Python code or a cat runs: the boards raise no receive interrupt. */
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "shared/runtime/interrupt_char.h"

#include "console.h"

#define RX_BUF_SIZE 256u /* a raw-paste window is 128 bytes; mpremote waits for flow control */

static uint8_t rx_buf[RX_BUF_SIZE];
static volatile uint32_t rx_head, rx_tail; /* head - tail = characters queued */

void console_poll(void)
{
    int c;
    while ((c = board_console_rx()) >= 0) {
        if (c == mp_interrupt_char) {
            rx_head = rx_tail = 0; /* what was typed before Ctrl-C is dropped, as on other ports */
            mp_sched_keyboard_interrupt();
        } else if (rx_head - rx_tail < RX_BUF_SIZE) {
            rx_buf[rx_head++ % RX_BUF_SIZE] = (uint8_t)c;
        }
        /* else: the buffer is full and the character is lost; mpremote's raw paste never gets here */
    }
}

int console_key_within(uint32_t timeout_ms)
{
    uint64_t end = board_ticks_us() + (uint64_t)timeout_ms * 1000u;
    for (;;) {
        console_poll();
        if (rx_head != rx_tail) {
            return 1;
        }
        if (board_ticks_us() >= end) {
            return 0;
        }
        board_wait_us(1000);
    }
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags)
{
    console_poll();
    uintptr_t ret = 0;
    if ((poll_flags & MP_STREAM_POLL_RD) && rx_head != rx_tail) {
        ret |= MP_STREAM_POLL_RD;
    }
    if (poll_flags & MP_STREAM_POLL_WR) {
        ret |= MP_STREAM_POLL_WR;
    }
    return ret;
}

int mp_hal_stdin_rx_chr(void)
{
    for (;;) {
        console_poll();
        if (rx_head != rx_tail) {
            return rx_buf[rx_tail++ % RX_BUF_SIZE];
        }
        /* Raises a pending KeyboardInterrupt (input() while code runs), runs scheduled callbacks. */
        mp_handle_pending(MP_HANDLE_PENDING_CALLBACKS_AND_EXCEPTIONS);
        board_wait_us(1000); /* an idle REPL sleeps instead of spinning a host core under QEMU */
    }
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len)
{
    board_console_tx(str, len);
    return len;
}

mp_uint_t mp_hal_ticks_us(void)
{
    return (mp_uint_t)board_ticks_us();
}

mp_uint_t mp_hal_ticks_ms(void)
{
    return (mp_uint_t)(board_ticks_us() / 1000u);
}

mp_uint_t mp_hal_ticks_cpu(void)
{
    return (mp_uint_t)board_ticks_us();
}

uint64_t mp_hal_time_ns(void)
{
    return board_ticks_us() * 1000u;
}

void mp_hal_delay_us(mp_uint_t us)
{
    uint64_t end = board_ticks_us() + us;
    while (board_ticks_us() < end) {
    }
}

/* time.sleep(): Ctrl-C and scheduled callbacks are handled while it waits. */
void mp_hal_delay_ms(mp_uint_t ms)
{
    uint64_t end = board_ticks_us() + (uint64_t)ms * 1000u;
    do {
        mp_event_handle_nowait();
        uint64_t now = board_ticks_us();
        if (now >= end) {
            break;
        }
        uint64_t left = end - now;
        board_wait_us(left > 1000u ? 1000u : (uint32_t)left);
    } while (1);
}
