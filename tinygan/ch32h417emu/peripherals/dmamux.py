"""DMAMUX: which peripheral DMA request reaches which of the 16 DMA channels (DMA1 1..8, DMA2 1..8).

Sources (openwch/ch32h417 EVT V1.3):
- EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: DMAMUX_TypeDef (CFGR0_3 0x00, CFGR4_7 0x04, CFGR8_11 0x08,
  CFGR12_15 0x0C), DMAMUX_BASE 0x40020800.  The RCC defines no DMAMUX clock enable: the model is
  always clocked [I].
- EVT/EXAM/SRC/Peripheral/src/ch32h417_dma.c DMA_MuxChannelConfig(ch, request): mux channel ch
  (DMA_MuxChannel1..16 = 0..15, ch32h417_dma.h) owns byte ch % 4 of CFGR(ch / 4); its 7 bits
  (mask 0x7F) hold request - 1, for requests 1..0x7B.
- EVT/EXAM/DAC/DAC_DMA/Common/hardware.c: "DAC1--->DMA2.CH3" served with
  DMA_MuxChannelConfig(DMA_MuxChannel11, 0x67): mux channel 11 (index 10) is DMA2 channel 3, so
  [I] indices 0..7 are DMA1 channels 1..8 and 8..15 DMA2 channels 1..8.
Model: a request (see dac.py for the DAC's) goes to every DMA channel whose byte selects it.  Bit 7
of each byte is not defined by the SDK and is not stored [I].  The reset value 0 (request 1 on every
channel) is [I]; no modelled peripheral issues request 1.
"""
from .base import Peripheral, Reg


class DMAMUX(Peripheral):
    NAME = "DMAMUX"
    SOURCE = "ch32h417.h DMAMUX_TypeDef; ch32h417_dma.c DMA_MuxChannelConfig; EXAM/DAC/DAC_DMA hardware.c"
    REGS = tuple(Reg(4 * i, name, mask=0x7F7F7F7F)
                 for i, name in enumerate(("CFGR0_3", "CFGR4_7", "CFGR8_11", "CFGR12_15")))

    def request_of(self, index):
        """The request number mux channel `index` (0..15) selects."""
        return ((self.values[4 * (index // 4)] >> (8 * (index % 4))) & 0x7F) + 1

    def routes(self, request):
        """(DMA name, channel 1..8) of every mux channel selecting `request`."""
        return [("DMA1" if i < 8 else "DMA2", i % 8 + 1) for i in range(16) if self.request_of(i) == request]

    def request(self, request, when):
        """A peripheral raises DMA request `request`; True when an enabled channel took it."""
        served = False
        for dma_name, channel in self.routes(request):
            dma = self.chip.peripheral(dma_name)
            if dma is not None and dma.serve(channel, when):
                served = True
        return served

    def take_bytes(self, request, paddr, want):
        """Up to `want` byte items for `request` from the first enabled channel that streams bytes
        from memory to `paddr` (DMA.take_bytes); None when none does."""
        for dma_name, channel in self.routes(request):
            dma = self.chip.peripheral(dma_name)
            data = dma.take_bytes(channel, paddr, want) if dma is not None else None
            if data is not None:
                return data
        return None
