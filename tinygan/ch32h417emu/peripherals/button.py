"""A push button from a GPIO pin to ground (the host presses it); the pin's pull-up gives the idle high.

Not a register model: a device outside the chip, like the SD card.  The wiring is this project's
choice (boards/CH32H417/LCD.md): PB0, the pin the SDK's EXTI/EXTI0 example configures as IPU with
a falling-edge interrupt on EXTI line 0.

press(duration_s, bounce=n) holds the pin low for duration_s of emulated time from now (or from
`at`), after n short low/high toggles in the first millisecond (contact bounce: each toggle is a
falling edge of its own); released, the pin is driven by nothing again and rests at its pull.
Level changes are applied at quantum boundaries (gpio.GPIO.schedule), so toggles closer than one
quantum (25 us) merge.
"""

BOUNCE_STEP_S = 150e-6


class Button:
    def __init__(self, chip, port="B", pin=0):
        self.chip = chip
        self.gpio = chip.peripheral("GPIO" + port)
        self.pin = pin
        self.presses = []           # (start, duration, bounce) as asked

    def press(self, duration_s, bounce=0, at=None):
        t0 = self.chip.now if at is None else at
        if duration_s <= 2 * bounce * BOUNCE_STEP_S:
            raise ValueError(f"a {duration_s * 1e3:.3f} ms press cannot hold {bounce} bounces")
        for k in range(bounce):
            self.gpio.schedule(self.pin, t0 + 2 * k * BOUNCE_STEP_S, 0)
            self.gpio.schedule(self.pin, t0 + (2 * k + 1) * BOUNCE_STEP_S, None)
        self.gpio.schedule(self.pin, t0 + 2 * bounce * BOUNCE_STEP_S, 0)
        self.gpio.schedule(self.pin, t0 + duration_s, None)
        self.presses.append((t0, duration_s, bounce))
