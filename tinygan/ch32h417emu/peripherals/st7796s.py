"""An ST7796S TFT controller (320 x 480, used as 480 x 320 landscape) on SPI2 and four GPIO pins.

The EVT board has no LCD; the wiring is this project's choice (boards/CH32H417/LCD.md):
SCK PB13 and MOSI PC1 (SPI2, AF5, as in the SDK's SPI/SPI_DMA example), CS PB12, DC PB11, RST PB10,
backlight PB1, all push-pull outputs.

Sources: Sitronix ST7796S datasheet V1.0 (2014/11; copy served at docs.espressif.com,
esp32-s3-lcd-ev-board/datasheets/3.5_320x480/ST7796S_SPEC_V1.0.pdf) and the MIPI DCS command set
its command table follows:
- 4-line serial interface: CSX low selects, D/CX low = command byte, high = parameter or pixel data,
  MSB first, SDA sampled on SCL's rising edge (SPI mode 0 or 3), D/CX sampled with a byte's last
  bit (the write-protocol figure; the Sitronix ST7735 datasheet's section 9.3.1 states the same
  4-line protocol in words).  Serial write clock cycle >= 66 ns, about 15 MHz: the figure usually
  quoted from the datasheet's serial timing table, not re-read here; faster clocks are counted as
  overclocked, not refused.
- RESX low for >= 10 us resets (shorter pulses may be ignored; the model ignores < 10 us);
  commands are accepted 5 ms after RESX goes high (120 ms when the reset came in Sleep Out).
- 01h SWRESET: wait 5 ms before the next command (120 ms before SLPOUT when it came in Sleep Out);
  registers return to their defaults: Sleep In, display off.
- 11h SLPOUT: wait 5 ms before the next command; the panel is fully out of sleep 120 ms after it
  (the project's driver waits the 120 ms).  29h DISPON / 28h DISPOFF.  00h NOP.
- 3Ah COLMOD: 55h = 16 bits per pixel (RGB565: RRRRRGGG GGGBBBBB, first byte first).
- 36h MADCTL: MY 80h, MX 40h, MV 20h (row/column exchange), ML 10h, BGR 08h, MH 04h.
- 2Ah CASET / 2Bh RASET: start and end, 16 bits each, big-endian; 2Ch RAMWR: pixels from (SC, SP)
  left to right, top to bottom inside the window, wrapping to the start; any command ends RAMWR.

Model (choices and inferences):
- Only the commands above (and 20h/21h INVOFF/INVON, 13h NORON, recorded) are understood; any
  other command is recorded in `unknown` and its parameters ignored.
- A command that arrives during a wait (after RESX, SWRESET, SLPOUT) is refused and recorded in
  `errors`, as are: pixel data while in Sleep In or within 120 ms of SLPOUT, pixel data before
  COLMOD 55h (the 18-bit default is not rendered), data without a command, a window outside the
  panel, a frame while DC or CS is not driven, an SPI mode the panel does not sample (1 or 2).
  Refused pixels do not reach the frame memory.
- Frame memory starts black (silicon: undefined).  The logical (column, row) address maps to the
  panel: MV exchanges them, then MX/MY mirror the 480-wide, 320-high landscape view that
  `image()` returns (so MADCTL = MV shows the window as written; mirror order inferred).  BGR
  swaps red and blue in the view (a module with an RGB colour filter is assumed).
- A control pin that is not a GPIO output is undriven: CS undriven = not selected, RST undriven =
  high (the modules' pull-up, inferred).
"""
import numpy as np

WIDTH, HEIGHT = 480, 320                  # landscape view (MV = 1)
LCD_WIRING = {"cs": ("B", 12), "dc": ("B", 11), "rst": ("B", 10), "bl": ("B", 1)}
MAX_WRITE_HZ = 1 / 66e-9
RESET_PULSE_S = 10e-6
WAIT_S = 5e-3
SLEEP_OUT_S = 120e-3
MAX_ERRORS_KEPT = 100          # the first ones are kept with their times; counts["errors"] has them all
MADCTL_MY, MADCTL_MX, MADCTL_MV, MADCTL_BGR = 0x80, 0x40, 0x20, 0x08
PARAMS = {0x3A: 1, 0x36: 1, 0x2A: 4, 0x2B: 4}
SIMPLE = {0x00: "NOP", 0x13: "NORON", 0x20: "INVOFF", 0x21: "INVON", 0x28: "DISPOFF", 0x29: "DISPON"}


class St7796s:
    def __init__(self, chip, spi="SPI2", wiring=LCD_WIRING):
        self.chip = chip
        self.wiring = dict(wiring)
        self.ram = np.zeros((HEIGHT, WIDTH), dtype=np.uint16)     # in view coordinates
        self.log = []           # (time, command byte) accepted
        self.errors = []        # (time, what), the first MAX_ERRORS_KEPT
        self.unknown = []       # (time, command byte) not modelled
        self.counts = {"frames": 0, "not_selected": 0, "in_reset": 0, "overclocked": 0, "pixels": 0,
                       "pixels_refused": 0, "pixels_outside": 0, "resets": 0, "short_reset_pulses": 0,
                       "errors": 0}
        self._power_on()
        self.rst_low_at = None
        self.rst_level = self._level("rst", default=1)
        chip.peripheral(spi).attach(self)
        for port in {p for p, _ in self.wiring.values()}:
            chip.peripheral("GPIO" + port).add_listener(self._pins_changed)

    # -- state ------------------------------------------------------------------------------------
    def _power_on(self):
        self._defaults(0.0)
        self.busy_until = 0.0
        self.busy_reason = "power-on"
        self.sleep_out_ok_at = 0.0

    def _defaults(self, t):
        self.sleeping = True
        self.awake_at = None
        self.display_on = False
        self.inverted = False
        self.colmod = None
        self.madctl = 0
        self.cols = (0, 319)
        self.rows = (0, 479)
        self.cmd = None
        self.params = []
        self.pixel_hi = None
        self.ptr = None

    def _error(self, t, what):
        self.counts["errors"] += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append((t, what))

    # -- pins ---------------------------------------------------------------------------------------
    def _level(self, name, default=None):
        port, pin = self.wiring[name]
        gpio = self.chip.peripheral("GPIO" + port)
        return gpio.pin_level(pin) if gpio.is_output(pin) else default

    def backlight(self):
        return self._level("bl", default=0) == 1

    def _pins_changed(self, port):
        level = self._level("rst", default=1)
        if level == self.rst_level:
            return
        now = self.chip.now
        self.rst_level = level
        if level == 0:
            self.rst_low_at = now
            return
        if self.rst_low_at is None or now - self.rst_low_at < RESET_PULSE_S:
            self.counts["short_reset_pulses"] += 1
            return
        was_awake = not self.sleeping
        self._defaults(now)
        self.counts["resets"] += 1
        self.busy_until = now + (SLEEP_OUT_S if was_awake else WAIT_S)
        self.busy_reason = "RESX"

    # -- the serial interface -------------------------------------------------------------------------
    def spi_frame(self, byte, t, spi, mode):
        self.counts["frames"] += 1
        if self._level("cs", default=1):
            self.counts["not_selected"] += 1
            return
        if self.rst_level == 0:
            self.counts["in_reset"] += 1
            return
        if mode not in (0, 3):
            self._error(t, f"SPI mode {mode}: the panel samples on the rising edge (mode 0 or 3)")
            return
        if spi.sck_hz() > MAX_WRITE_HZ:
            self.counts["overclocked"] += 1
        dc = self._level("dc")
        if dc is None:
            self._error(t, "frame while DC is not driven")
        elif dc == 0:
            self._command(byte, t)
        else:
            self._data(byte, t)

    def spi_frames(self, data, first_end, dt, spi, mode):
        """A burst of frames (ends first_end, first_end + dt, ...), pins unchanged throughout."""
        if (self.cmd != 0x2C or mode not in (0, 3) or self._level("cs", default=1) or self.rst_level == 0
                or self._level("dc") != 1):
            for i, b in enumerate(data):
                self.spi_frame(b, first_end + i * dt, spi, mode)
            return
        self.counts["frames"] += len(data)
        if spi.sck_hz() > MAX_WRITE_HZ:
            self.counts["overclocked"] += len(data)
        buf = data if self.pixel_hi is None else bytes([self.pixel_hi]) + data
        t0 = first_end if self.pixel_hi is None else first_end - dt
        m = len(buf) // 2
        self.pixel_hi = buf[-1] if len(buf) % 2 else None
        if m:
            self._pixels(np.frombuffer(buf[:2 * m], dtype=">u2"), t0 + dt, 2 * dt)

    def _pixels(self, values, t_first, dt):
        """m pixels at the write pointer; pixel i completes at t_first + i * dt."""
        m = len(values)
        xs, xe = self.cols
        ys, ye = self.rows
        w, h = xe - xs + 1, ye - ys + 1
        if w <= 0 or h <= 0:
            self.counts["pixels_outside"] += m
            return
        start = (self.ptr[1] - ys) * w + (self.ptr[0] - xs)
        pos = (start + np.arange(m)) % (w * h)
        nxt = (start + m) % (w * h)
        self.ptr = [xs + nxt % w, ys + nxt // w]
        ok = np.ones(m, dtype=bool)
        if self.sleeping:
            ok[:] = False
            why = "pixel data in Sleep In (before SLPOUT + 120 ms)"
        else:
            ok &= t_first + np.arange(m) * dt >= self.awake_at
            why = "pixel data in Sleep In (before SLPOUT + 120 ms)"
        if self.colmod != 0x55:
            ok[:] = False
            why = "pixel data before COLMOD 0x55 (16 bits per pixel)"
        if not ok.all():
            self.counts["pixels_refused"] += int((~ok).sum())
            first_bad = t_first + int(np.argmin(ok)) * dt
            if not self.errors or self.errors[-1][1] != why:
                self._error(first_bad, why)
        col, row = xs + pos % w, ys + pos // w
        lw, lh = self._limits()
        inside = (col < lw) & (row < lh)
        self.counts["pixels_outside"] += int((ok & ~inside).sum())
        ok &= inside
        x, y = self._view_arrays(col[ok], row[ok])
        self.ram[y, x] = values[ok]
        self.counts["pixels"] += int(ok.sum())

    def _command(self, c, t):
        self.cmd, self.params, self.pixel_hi = None, [], None
        if t < self.busy_until:
            left_ms = 1e3 * (self.busy_until - t)
            self._error(t, f"command 0x{c:02x} refused: {left_ms:.3f} ms left of the wait after {self.busy_reason}")
            return
        self.log.append((t, c))
        if c == 0x01:
            was_awake = not self.sleeping
            self._defaults(t)
            self.busy_until, self.busy_reason = t + WAIT_S, "SWRESET"
            self.sleep_out_ok_at = t + (SLEEP_OUT_S if was_awake else WAIT_S)
        elif c == 0x11:
            if t < self.sleep_out_ok_at:
                self._error(t, "SLPOUT within 120 ms of a reset in Sleep Out")
            self.sleeping = False
            self.awake_at = t + SLEEP_OUT_S
            self.busy_until, self.busy_reason = t + WAIT_S, "SLPOUT"
        elif c in SIMPLE:
            self.display_on = {0x28: False, 0x29: True}.get(c, self.display_on)
            self.inverted = {0x20: False, 0x21: True}.get(c, self.inverted)
        elif c in PARAMS or c == 0x2C:
            self.cmd = c
            if c == 0x2C:
                self.ptr = [self.cols[0], self.rows[0]]
        else:
            self.unknown.append((t, c))

    def _data(self, b, t):
        c = self.cmd
        if c is None:
            self._error(t, f"data byte 0x{b:02x} without a command")
            return
        if c == 0x2C:
            return self._pixel_byte(b, t)
        self.params.append(b)
        if len(self.params) < PARAMS[c]:
            return
        p, self.cmd = self.params, None
        if c == 0x3A:
            self.colmod = p[0]
        elif c == 0x36:
            self.madctl = p[0]
        else:
            start, end = p[0] << 8 | p[1], p[2] << 8 | p[3]
            limit = self._limits()[0 if c == 0x2A else 1]
            if start > end or end >= limit:
                self._error(t, f"{'CASET' if c == 0x2A else 'RASET'} {start}..{end} outside 0..{limit - 1}")
            if c == 0x2A:
                self.cols = (start, end)
            else:
                self.rows = (start, end)

    def _limits(self):
        return (WIDTH, HEIGHT) if self.madctl & MADCTL_MV else (HEIGHT, WIDTH)

    def _pixel_byte(self, b, t):
        if self.pixel_hi is None:
            self.pixel_hi = b
            return
        value = self.pixel_hi << 8 | b
        self.pixel_hi = None
        self._pixels(np.array([value], dtype=np.uint16), t, 0.0)

    def _view_arrays(self, col, row):
        """View (x, y) of logical addresses inside the panel (numpy arrays or ints)."""
        m = self.madctl
        x, y = (col, row) if m & MADCTL_MV else (row, col)
        if m & MADCTL_MX:
            y = HEIGHT - 1 - y
        if m & MADCTL_MY:
            x = WIDTH - 1 - x
        return x, y

    # -- what the panel shows ------------------------------------------------------------------------
    def rgb565(self):
        """The frame memory as a (320, 480) uint16 RGB565 array (BGR applied)."""
        if not self.madctl & MADCTL_BGR:
            return self.ram.copy()
        r, g, b = self.ram >> 11, (self.ram >> 5) & 0x3F, self.ram & 0x1F
        return (b << 11 | g << 5 | r).astype(np.uint16)

    def image(self):
        """(320, 480, 3) uint8 RGB, each channel widened by bit replication (r8 = r5 << 3 | r5 >> 2)."""
        v = self.rgb565().astype(np.uint16)
        r5, g6, b5 = v >> 11, (v >> 5) & 0x3F, v & 0x1F
        return np.stack([r5 << 3 | r5 >> 2, g6 << 2 | g6 >> 4, b5 << 3 | b5 >> 2], axis=-1).astype(np.uint8)

    def save_png(self, path):
        from PIL import Image
        Image.fromarray(self.image(), "RGB").save(path)

    def summary(self):
        return {"display_on": self.display_on, "sleeping": self.sleeping, "colmod": self.colmod,
                "madctl": self.madctl, "backlight": self.backlight(), "unknown_commands": len(self.unknown),
                **self.counts}
