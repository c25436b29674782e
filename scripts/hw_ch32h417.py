"""CH32H417 hardware layer: NOT IMPLEMENTED YET. The firmware (boards/CH32H417/) boots, mounts the
SD card at /sd and runs the engine from it on both cores; the DAC, LCD and button drivers this
layer needs exist as plain C (boards/CH32H417/ch32h417_audio.c, ch32h417_lcd.c, ch32h417_button.c,
tested on the emulated chip) but are not yet built into the firmware nor bound to MicroPython
(issue: speech, display and button on the CH32H417).

It must provide the same attributes as hw_host.Board: sd_root (the mounted SD card, e.g. "/sd"),
open_dac()/close_dac() returning a sink with write(buf, n) taking 8-bit unsigned samples at
wav.RATE (the DAC is 12-bit: output s << 4, timer-paced, double-buffered), display.show(rgb, w, h)
(ST7796S 480x320, the cat scaled up) and trigger.wait() (FT6336U touch). Nothing here has run on
hardware.
"""


class Board:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "hw_ch32h417: the CH32H417 board layer waits for its DAC, LCD and button drivers; "
            "the card is at /sd (tinygan.Model('/sd/model.tgw') works); on the host use hw_host.Board")
