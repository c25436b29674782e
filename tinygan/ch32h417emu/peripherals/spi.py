"""SPI2 as a transmitting master (the LCD's bus), 8-bit frames, polled or fed by DMA.

Sources (openwch/ch32h417 EVT V1.3):
- EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: SPI_TypeDef (16-bit CTLR1, CTLR2, STATR, DATAR, CRCR,
  RCRCR, TCRCR, I2SCFGR, I2SPR, HSCR at a 4-byte stride), SPI2_BASE 0x40003800, SPI_CTLR1_CPHA 0x1,
  CPOL 0x2, MSTR 0x4, BR 0x38, SPE 0x40, LSBFIRST 0x80, SSI 0x100, SSM 0x200, RXONLY 0x400, DFF
  0x800, CRCEN 0x2000, BIDIOE 0x4000, BIDIMODE 0x8000; SPI_CTLR2_RXDMAEN 0x1, TXDMAEN 0x2;
  SPI_STATR_RXNE 0x1, TXE 0x2, MODF 0x20, OVR 0x40, BSY 0x80; SPI_I2SCFGR_I2SMOD 0x800;
  RCC_SPI2EN (HB1PCENR bit 14).  No SPI interrupt is modelled.
- inc/ch32h417_spi.h + src/ch32h417_spi.c: SPI_Init (CTLR1 = direction | mode | size | CPOL | CPHA
  | NSS | prescaler | first bit), SPI_Mode_Master 0x0104 (MSTR | SSI), SPI_NSS_Soft 0x0200,
  SPI_Direction_1Line_Tx 0xC000, SPI_BaudRatePrescaler_Mode0..7 = BR 0..7, SPI_I2S_DMAReq_Tx 0x2.
- EVT/EXAM/SPI/SPI_DMA/Common/hardware.c: SPI2 SCK PB13 AF5, MOSI PC1 AF5 (MISO PC2 AF5);
  DMA1_Channel3 with DMA_MuxChannel3 request 65 for TX, 66 for RX.

Model:
- SCK = HCLK / 2^(BR + 1) (the STM32 meaning of BR; the SDK names the settings Mode0..7 only:
  inferred).  A frame takes 8 SCK periods; frames follow each other without gap.
- One TX buffer (DATAR) and a shift register: a write while the shifter is idle moves to it at
  once (TXE stays 1, BSY 1); a write while the buffer is full overwrites it (the byte is lost,
  counted).  Shifting happens between quanta, at the SCK timing: each finished frame goes to the
  attached device (the LCD panel) with its end time, then the buffer moves on (TXE 1).  BSY is 1
  while a frame shifts or the buffer is full.  In full-duplex mode every frame also sets RXNE
  (OVR when RXNE was still set); nothing drives MISO, the received byte is 0 (inferred).
- With CTLR2.TXDMAEN the TX request (65 for SPI2) asks the DMA for the next byte whenever TXE is 1.
  While a DMA channel streams bytes from memory into DATAR, the frames of a quantum are moved and
  handed to the device as one burst (dmamux.take_bytes, device.spi_frames): same bytes, same end times,
  same flags as frame by frame (pins cannot change inside a tick).
- A frame reaches the wire only while SCK (PB13) and MOSI (PC1) are AF5 outputs; otherwise it is
  counted as lost.  The device is told the mode (CPOL/CPHA), bit order and the SCK rate.
- Master with software NSS only: SSM with SSI = 0 is a mode fault (MODF set, SPE and MSTR cleared,
  as the STM32 does: inferred).  Not modelled (stop the run): slave mode, hardware NSS, 16-bit
  frames, CRC, receive-only and bidirectional receive, I2S, RX DMA.
"""
from .base import Peripheral, Reg
from .gpio import pin_function

CPHA, CPOL, MSTR, SPE, LSBFIRST, SSI, SSM, RXONLY, DFF, CRCEN, BIDIOE, BIDIMODE = (
    0x1, 0x2, 0x4, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800, 0x2000, 0x4000, 0x8000)
RXDMAEN, TXDMAEN = 0x1, 0x2
RXNE, TXE, MODF, OVR, BSY = 0x1, 0x2, 0x20, 0x40, 0x80
I2SMOD = 0x800
REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))    # a byte sent LSB first, as read MSB first

# name -> (base, RCC clock, TX DMA request, SCK pin, MOSI pin); a pin is (port, pin, AF)
SPIS = {"SPI2": (0x40003800, ("HB1PCENR", 14), 65, ("B", 13, 5), ("C", 1, 5))}


class SPI(Peripheral):
    SOURCE = "ch32h417.h SPI_TypeDef + SPI_* bits; ch32h417_spi.c SPI_Init; SPI/SPI_DMA example"
    REGS = (Reg(0x00, "CTLR1", mask=0xFFFF), Reg(0x04, "CTLR2", mask=0xE7),
            Reg(0x08, "STATR", TXE, mask=0x10, pollable=True), Reg(0x0C, "DATAR", mask=0xFFFF, pollable=False),
            Reg(0x10, "CRCR", 7, mask=0xFFFF), Reg(0x14, "RCRCR", access="ro"), Reg(0x18, "TCRCR", access="ro"),
            Reg(0x1C, "I2SCFGR", mask=0x0FBF), Reg(0x20, "I2SPR", 2, mask=0x03FF), Reg(0x24, "HSCR", mask=0x5))

    def __init__(self, chip, name):
        base, self.CLOCK, self.tx_request, self.sck, self.mosi = SPIS[name]
        self.NAME = name
        self.device = None
        self.counts = {"frames": 0, "frames_without_pins": 0, "overwritten": 0, "overruns": 0,
                       "mode_faults": 0, "dma_frames": 0}
        super().__init__(chip, base, name)

    def attach(self, device):
        """device.spi_frame(byte, t_end, spi) receives each frame that reaches the wire."""
        self.device = device

    def reset(self):
        super().reset()
        self.txbuf = None          # the byte in DATAR waiting for the shifter
        self.shifting = None       # (byte, end time) of the frame on the wire
        self.free_at = 0.0         # when the wire is free again
        self.rx = 0
        self.flags = TXE

    # -- clock ---------------------------------------------------------------------------------------
    def sck_hz(self):
        return self.chip.hclk / (2 << ((self.values[0x00] >> 3) & 7))

    def _frame_s(self):
        return 8 / self.sck_hz()

    # -- registers -----------------------------------------------------------------------------------
    def write_ctlr1(self, value, core):
        value &= 0xFFFF
        if value & SPE:
            for bit, ok, what in ((MSTR, True, "slave mode (CTLR1.MSTR = 0)"),
                                  (SSM, True, "hardware NSS (CTLR1.SSM = 0)"),
                                  (DFF, False, "16-bit frames (CTLR1.DFF)"), (CRCEN, False, "CRC (CTLR1.CRCEN)"),
                                  (RXONLY, False, "receive-only mode (CTLR1.RXONLY)")):
                if bool(value & bit) != ok:
                    return self.not_modelled(core, what)
            if value & BIDIMODE and not value & BIDIOE:
                return self.not_modelled(core, "bidirectional receive (BIDIMODE without BIDIOE)")
            if not value & SSI:                         # NSS low in master mode: mode fault
                self.flags |= MODF
                self.counts["mode_faults"] += 1
                value &= ~(SPE | MSTR)
        was_on = self.values[0x00] & SPE
        self.values[0x00] = value
        if was_on and not value & SPE:                  # disabled: what waits is dropped
            self.txbuf = None
            self.flags |= TXE
        elif value & SPE and not was_on:
            self._start(self.chip.now)

    def write_ctlr2(self, value, core):
        if value & RXDMAEN:
            return self.not_modelled(core, "RX DMA (CTLR2.RXDMAEN)")
        self.values[0x04] = value & 0xE7

    def write_i2scfgr(self, value, core):
        if value & I2SMOD:
            return self.not_modelled(core, "I2S mode (I2SCFGR.I2SMOD)")
        self.values[0x1C] = value & 0x0FBF

    def read_statr(self, core):
        busy = self.shifting is not None or self.txbuf is not None
        return self.flags | (BSY if busy and self.values[0x00] & SPE else 0)

    def write_statr(self, value, core):
        pass                    # the flags are cleared by the sequences below, not by writes

    def read_datar(self, core):
        self.flags &= ~RXNE
        return self.rx

    def write_datar(self, value, core):
        if self.txbuf is not None:
            self.counts["overwritten"] += 1
        self.txbuf = value & 0xFF
        self.flags &= ~TXE
        self._start(self.chip.now)

    # -- the wire ------------------------------------------------------------------------------------
    def _start(self, now):
        """Move the buffer to an idle shifter; refill the buffer from the DMA while TXE."""
        if not self.values[0x00] & SPE:
            return
        if self.shifting is None and self.txbuf is not None:
            start = max(now, self.free_at)
            self.shifting = (self.txbuf, start + self._frame_s())
            self.txbuf = None
            self.flags |= TXE
        if self.flags & TXE and self.values[0x04] & TXDMAEN and self.shifting is not None:
            if self._request(now):
                self.counts["dma_frames"] += 1

    def tick(self, now, hclk_ticks):
        if not self.clocked() or not self.values[0x00] & SPE:
            return
        if self.shifting is None and self.values[0x04] & TXDMAEN and self.flags & TXE:
            if self._request(now):                          # a request pending since the last quantum
                self.counts["dma_frames"] += 1
        wired = None
        if self.shifting is not None and self.shifting[1] <= now and self.values[0x04] & TXDMAEN:
            wired = self._pins_ok()
            self._burst(now, wired)
        while self.shifting is not None and self.shifting[1] <= now:
            byte, end = self.shifting
            self.shifting = None
            self.free_at = end
            if wired is None:
                wired = self._pins_ok()
            self._deliver(byte, end, wired)
            self._start(end)
            if self.chip.fault:
                return

    def _request(self, when):
        """The TX DMA request through the DMAMUX; True when a channel wrote DATAR."""
        mux = self.chip.peripheral("DMAMUX")
        return mux is not None and mux.request(self.tx_request, when)

    def _burst(self, now, wired):
        """The frames ending by `now` while the DMA keeps DATAR full, moved at once."""
        first, dt = self.shifting[1], self._frame_s()
        k = int((now - first) / dt) + 1               # frames that end by now
        while first + (k - 1) * dt > now:
            k -= 1
        queued = [self.shifting[0]] + ([] if self.txbuf is None else [self.txbuf])
        mux = self.chip.peripheral("DMAMUX")
        more = mux.take_bytes(self.tx_request, self.base + 0x0C, k + 2 - len(queued)) if mux else None
        if more is None or self.chip.fault:
            return
        stream = bytes(queued) + more
        sent = stream[:k]
        self.counts["frames"] += len(sent)
        self.counts["dma_frames"] += len(more)
        self.free_at = first + (len(sent) - 1) * dt
        rest = stream[k:]
        self.shifting = (rest[0], first + k * dt) if rest else None
        self.txbuf = rest[1] if len(rest) > 1 else None
        self.flags = self.flags & ~TXE if self.txbuf is not None else self.flags | TXE
        if not self.values[0x00] & BIDIMODE:
            self.counts["overruns"] += len(sent) - (0 if self.flags & RXNE else 1)
            self.flags |= RXNE | (OVR if len(sent) > 1 or self.flags & RXNE else 0)
            self.rx = 0
        if not wired:
            self.counts["frames_without_pins"] += len(sent)
        elif self.device is not None:
            ctlr1 = self.values[0x00]
            if ctlr1 & LSBFIRST:
                sent = sent.translate(REVERSED)
            self.device.spi_frames(sent, first, dt, self, mode=ctlr1 & (CPOL | CPHA))

    def _pins_ok(self):
        return all(pin_function(self.chip, port, pin) == ("af_out", af) for port, pin, af in (self.sck, self.mosi))

    def _deliver(self, byte, end, wired):
        self.counts["frames"] += 1
        if not self.values[0x00] & BIDIMODE:           # full duplex: a frame in for each frame out
            if self.flags & RXNE:
                self.flags |= OVR
                self.counts["overruns"] += 1
            self.flags |= RXNE
            self.rx = 0
        if not wired:
            self.counts["frames_without_pins"] += 1
            return
        if self.device is not None:
            ctlr1 = self.values[0x00]
            if ctlr1 & LSBFIRST:
                byte = REVERSED[byte]
            self.device.spi_frame(byte, end, self, mode=ctlr1 & (CPOL | CPHA))

    def stats(self):
        if not self.counts["frames"] and not self.counts["mode_faults"]:
            return {}
        return dict(self.counts, sck_hz=self.sck_hz())
