/* The user button on PB0 (to ground, internal pull-up), falling edge latched by EXTI line 0.
 * Plain C99 (no MicroPython headers). Wiring: LCD.md beside this file (not tried on silicon). */
#ifndef CH32H417_BUTTON_H
#define CH32H417_BUTTON_H

#include <stdbool.h>
#include <stdint.h>

#define BUTTON_DEBOUNCE_MS 20u

/* PB0 input with pull-up, EXTI line 0 from port B on the falling edge (interrupt request enabled
 * in EXTI; the PFIC interrupt itself is left off: button_pressed() polls the pending flag). */
void button_init(void);
/* true once per press: the first falling edge after the pin has been high for BUTTON_DEBOUNCE_MS
 * (so contact bounce, on press or release, counts once). now_ms: any millisecond clock. */
bool button_pressed(uint32_t now_ms);

#endif
