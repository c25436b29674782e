/* Button on PB0 with EXTI line 0 (ch32h417_button.h).
 *
 * Facts (ch32h417_regs.h, issue-13 section): GPIO_Mode_IPU = CFG nibble 0x8 with the pin's OUTDR
 * bit set (GPIO_Init); GPIO_EXTILineConfig puts the port number (B = 1) in AFIO EXTICR1's nibble
 * for the line; EXTI_Init for an interrupt on the falling edge sets INTENR and FTENR; INTFR is
 * cleared by writing 1 (EXTI_ClearITPendingBit) -- all as the SDK's EXTI/EXTI0 example does on PB0.
 *
 * Debounce: a latched falling edge starts a press only when the button was released (pin high)
 * for BUTTON_DEBOUNCE_MS before; every edge or low reading while pressed restarts that wait.
 *
 * Build switch that makes this a wrong driver, for tests/test_ch32h417_lcd.py only:
 * BUTTON_SKIP_EXTI (the pin is set up, EXTI is not). */
#include "ch32h417_button.h"

#include "ch32h417_regs.h"

#define BUTTON_PIN 0u
#define BUTTON_LINE (1u << BUTTON_PIN)

static bool held;              /* a press is in progress (or its bounce is still settling) */
static uint32_t last_low_ms;   /* when the pin was last seen low or an edge was latched */

void button_init(void)
{
    RCC_HB2PCENR |= RCC_HB2_AFIOEN | RCC_HB2_IOPBEN;
    GPIO_CFGLR(GPIOB_BASE) = (GPIO_CFGLR(GPIOB_BASE) & ~(0xFu << (4u * BUTTON_PIN)))
                             | (GPIO_CFG_IN_PULL << (4u * BUTTON_PIN));
    GPIO_BSHR(GPIOB_BASE) = BUTTON_LINE;                      /* pull-up */
#ifndef BUTTON_SKIP_EXTI
    AFIO_EXTICR1 = (AFIO_EXTICR1 & ~(0xFu << (4u * BUTTON_PIN))) | (GPIO_PORT_B << (4u * BUTTON_PIN));
    EXTI_RTENR &= ~BUTTON_LINE;
    EXTI_FTENR |= BUTTON_LINE;
    EXTI_INTFR = BUTTON_LINE;
    EXTI_INTENR |= BUTTON_LINE;
#endif
    held = false;
}

bool button_pressed(uint32_t now_ms)
{
    bool edge = (EXTI_INTFR & BUTTON_LINE) != 0;
    if (edge) EXTI_INTFR = BUTTON_LINE;
    bool low = !(GPIO_INDR(GPIOB_BASE) & BUTTON_LINE);
    if (edge && !held) {
        held = true;
        last_low_ms = now_ms;
        return true;
    }
    if (edge || low) {
        last_low_ms = now_ms;
    } else if (held && now_ms - last_low_ms >= BUTTON_DEBOUNCE_MS) {
        held = false;
    }
    return false;
}
