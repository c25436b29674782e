"""QEMU board layer (boards/QEMU_VIRT_RV32): hw_host.Board's attributes on the emulated board.

The card is mounted at /sd by the firmware. What the display and the DAC are given goes to the
host as files beside the card image (QEMU's working directory), through the firmware's
`hostfile` module (semihosting): cat-K.ppm, the 64x64 RGB image the display was given, and
verdict-K.wav, the DAC's samples in the clip format (K = 1, 2, ... since boot). The trigger is
Enter on the console (q quits), or a fixed count. `tinygan emulate qemu` collects the files.
"""
import hostfile

import hw_host
import wav


class Display:
    def __init__(self):
        self.shown = 0  # cats shown since boot: K in the file names

    def show(self, rgb, w, h):
        self.shown += 1
        f = hostfile.open("cat-%d.ppm" % self.shown)
        f.write(b"P6 %d %d 255\n" % (w, h))
        f.write(rgb)  # the caller's buffer as it is: no copy
        f.close()


class Board:
    sd_root = "/sd"

    def __init__(self, count=None):
        self.display = Display()
        self.trigger = hw_host.Trigger(count)
        self.dac = None

    def open_dac(self):
        # the verdict of the cat just shown
        self.dac = wav.Writer(hostfile.open("verdict-%d.wav" % self.display.shown))
        return self.dac

    def close_dac(self):
        if self.dac is not None:
            self.dac.finish()
        self.dac = None
