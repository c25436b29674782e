"""Speech output on the CH32H417 (issue 13): the TIM6, DMA1/2, DMAMUX and DAC models, and the real
driver boards/CH32H417/ch32h417_audio.c playing through them.

A bare-metal program (tests/ch32h417/prog.c with TEST_AUDIO, audio_test.c) links the driver and plays
a linear congruential sequence longer than the double buffer; the DAC model captures every
conversion.  The expected samples, refill counts and rates are computed here from the sequence's
formula and the clock arithmetic, not taken from the models.  The driver's AUDIO_WRONG_* switches
(and a link that puts the DMA buffer in DTCM) are the wrong drivers that must play nothing or stop.
"""
import os
import subprocess
import wave

import pytest

pytest.importorskip("unicorn", reason="unicorn (PyPI) is not installed")

from test_ch32h417_emulator import GCC, build, needs_gcc              # noqa: E402
from tinygan.ch32h417emu import Chip, EmulationFault               # noqa: E402
from tinygan.ch32h417emu.hostserial import BufferHost              # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(ROOT, "boards", "CH32H417", "ch32h417_audio.c")
HCLK = 100_000_000               # the test program's clock preset (prog.c: V3F = HCLK = 100 MHz)
HALF = 512                       # AUDIO_HALF_BYTES
SILENCE = 0x80


def lcg_samples(n):
    """audio_test.c's sequence: x = x * 1103515245 + 12345 (mod 2^32) from x = 1, bits 23..16."""
    x, out = 1, bytearray()
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def divider_rate(clk, rate):
    """The rate of the nearest TIM6 divider (PSC 0 while ATRLR fits 16 bits), as the driver's docs say."""
    total = round(clk / rate)
    psc1 = total // 65536 + 1
    return clk / (psc1 * round(total / psc1))


@pytest.fixture(scope="module")
def bdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("ch32h417audio"))


def audio_program(bdir, *defs, ram=0x20100000):
    return build(bdir, "TEST_AUDIO", *defs, ram=ram, sources=(DRIVER,))


def play(program, seconds=1.0):
    host = BufferHost()
    chip = Chip(program, host=host)
    finished = (b"audio done", b"audio stalled", b"audio err")
    chip.run(seconds=seconds, until=lambda: host.out.endswith(b"\n") and any(f in host.out for f in finished))
    return chip, bytes(host.out).decode()


def conversions(chip, source):
    return bytes(d >> 4 for _, d, s in chip.peripheral("DAC").capture if s == source)


# -- the correct driver ----------------------------------------------------------------------------------
@needs_gcc
@pytest.mark.parametrize("n", [3000, 2048, 100])
def test_driver_plays_the_sequence_exactly_then_silence(bdir, n):
    """3000: the end falls inside a half; 2048: on a half boundary (a half of pure silence follows);
    100: the whole stream fits the first half."""
    chip, out = play(audio_program(bdir, f"AUDIO_TEST_BYTES={n}u"))
    # the half holding the end has >= 1 silence byte (n // HALF full halves before it); after it one
    # more half (silence) is filled unless it was the first half, whose partner was filled at the start
    refills = n // HALF + 2
    want_rate_mhz = round(divider_rate(HCLK, 11025) * 1000)
    assert out == f"audio rate {want_rate_mhz:08x}\naudio done {refills:08x} 00000000\n"
    dac = chip.peripheral("DAC")
    timed = conversions(chip, "TIM6")
    # first conversion: what the driver left in the holding register (mid-scale), then the stream
    assert timed[0] == SILENCE and timed[1:1 + n] == lcg_samples(n)
    assert len(timed) > 1 + n and set(timed[1 + n:]) == {SILENCE}
    # software conversions: the mid-scale write of audio_init and of audio_stop, nothing else
    assert [(d >> 4, s) for _, d, s in dac.capture if s != "TIM6"] == [(SILENCE, "write")] * 2
    assert dac.capture[-1][2] == "write"
    st = chip.stats()["peripherals"]
    assert st["DMA2"]["transfers"] == {3: st["DAC"]["triggers"]}     # every request served, by channel 3
    assert st["DAC"]["dma_requests_lost"] == 0 and st["DAC"]["pin_not_analog"] == 0


@needs_gcc
def test_a_late_service_replays_the_stale_half_and_is_counted(bdir):
    """The loop sleeps 100 ms after the first refill (half 0 <- bytes 1024..1535): half 1 finishes at
    +46 ms and half 0 at +93 ms unrefilled, so the DMA plays half 1's old bytes 512..1023 again."""
    chip, out = play(audio_program(bdir, "AUDIO_TEST_LATE_US=100000u"))
    assert out.endswith(f"audio done {3000 // HALF + 2:08x} 00000001\n")
    seq = lcg_samples(3000)
    heard = seq[:1536] + seq[512:1024] + seq[1536:]
    timed = conversions(chip, "TIM6")
    assert timed[0] == SILENCE and timed[1:1 + len(heard)] == heard
    assert set(timed[1 + len(heard):]) == {SILENCE}


@needs_gcc
def test_capture_rate_is_the_dividers_and_the_wav_says_so(bdir, tmp_path):
    chip, out = play(audio_program(bdir))
    assert out.endswith("00000000\n")
    dac = chip.peripheral("DAC")
    exact = HCLK / 9070                                   # round(1e8 / 11025) = 9070 timer ticks a sample
    assert exact == pytest.approx(11025.358, abs=1e-3) and divider_rate(HCLK, 11025) == exact
    assert dac.measured_rate_hz() == pytest.approx(exact, rel=1e-7)
    assert dac.timer_rate_hz() == pytest.approx(exact, rel=1e-12)
    path = tmp_path / "speech.wav"
    assert dac.write_wav(path) == pytest.approx(exact)
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 1, 11025)
        assert w.readframes(w.getnframes()) == dac.samples8()
    assert dac.samples8()[2:3002] == lcg_samples(3000)   # init write, first trigger, then the stream


@needs_gcc
def test_rate_outside_the_drivers_range_is_refused(bdir):
    _, out = play(audio_program(bdir, "AUDIO_TEST_RATE=999u"))
    assert out == "audio err init 00000001\n"             # AUDIO_BAD_RATE


@needs_gcc
def test_driver_compiles_as_strict_c99():
    subprocess.run([GCC, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-ffreestanding",
                    "-march=rv32imafc", "-mabi=ilp32f", "-misa-spec=2.2", "-O2", "-fsyntax-only", DRIVER],
                   check=True)


# -- wrong drivers ---------------------------------------------------------------------------------------------
@needs_gcc
def test_no_tim6_clock_ignores_its_writes_and_plays_nothing(bdir):
    chip, out = play(audio_program(bdir, "AUDIO_WRONG_NO_TIM6_CLOCK"))
    assert out.endswith("audio stalled\n")
    assert chip.peripheral("TIM6").ignored_writes > 0 and chip.peripheral("TIM6").updates == 0
    assert conversions(chip, "TIM6") == b""


@needs_gcc
def test_dac_never_enabled_converts_nothing(bdir):
    chip, out = play(audio_program(bdir, "AUDIO_WRONG_DAC_OFF"))
    assert out.endswith("audio stalled\n")
    dac = chip.peripheral("DAC")
    assert dac.capture == [] and dac.counts["triggers_while_disabled"] > 1000


@needs_gcc
def test_dma_request_not_routed_through_the_dmamux_plays_only_the_held_value(bdir):
    chip, out = play(audio_program(bdir, "AUDIO_WRONG_NO_DMAMUX"))
    assert out.endswith("audio stalled\n")
    timed = conversions(chip, "TIM6")
    assert len(timed) > 1000 and set(timed) == {SILENCE}   # the DAC converts, the DMA never feeds it
    assert chip.peripheral("DAC").counts["dma_requests_lost"] == len(timed)
    assert chip.peripheral("DMA2").stats() == {}


@needs_gcc
def test_wrong_trigger_select_never_converts(bdir):
    chip, out = play(audio_program(bdir, "AUDIO_WRONG_TSEL"))
    assert out.endswith("audio stalled\n")
    assert chip.peripheral("TIM6").updates > 1000 and conversions(chip, "TIM6") == b""
    assert chip.peripheral("DAC").counts["triggers"] == 0          # TSEL1 = TIM8: TIM6's TRGO is not seen


@needs_gcc
def test_dma_buffer_in_dtcm_stops_the_run_naming_address_and_core(bdir):
    with pytest.raises(EmulationFault) as e:
        play(audio_program(bdir, ram=0x200C1000))
    assert e.value.core == "V5F" and 0x200C1000 <= e.value.addr < 0x200C8000
    assert "DMA2 channel 3" in str(e.value) and "dtcm" in str(e.value) and "not modelled" in str(e.value)


# -- register level ----------------------------------------------------------------------------------------------
@pytest.fixture
def chip():
    return Chip(b"\x6f\x00\x00\x00")      # j . at 0x0; HCLK is the reset HSI, 25 MHz


def enable(chip, core, *models):
    bits = {"TIM6": (0x20, 4), "DAC": (0x20, 29), "DMA2": (0x18, 1), "GPIOA": (0x1C, 2)}
    for m in models:
        reg, bit = bits[m]
        chip.rcc.bus_write(reg, 4, chip.rcc.values[reg] | 1 << bit, core)


def test_tim6_counts_at_hclk_over_ppre1_and_refuses_undefined_dividers(chip):
    core = chip.cores[0]
    tim = chip.peripheral("TIM6")
    enable(chip, core, "TIM6")
    tim.bus_write(0x28, 2, 24, core)                       # PSC: 25 MHz / 25 = 1 MHz
    tim.bus_write(0x2C, 2, 999, core)                      # 1 kHz updates
    tim.bus_write(0x14, 2, 1, core)                        # UG loads the prescaler (and is an update)
    tim.bus_write(0x10, 2, 0, core)
    tim.bus_write(0x00, 2, 1, core)
    chip.run(seconds=0.0101)
    assert tim.updates == 1 + 10 and tim.values[0x10] & 1
    assert tim.bus_read(0x24, 2, core) == pytest.approx(100, abs=30)        # 0.1 ms into the 11th period
    chip.rcc.bus_write(0x04, 4, chip.rcc.values[0x04] | 6 << 8, core)         # PPRE1 = 6: HCLK / 4
    assert tim.update_hz() == pytest.approx(250.0)
    chip.rcc.bus_write(0x04, 4, (chip.rcc.values[0x04] & ~0x700) | 2 << 8, core)   # undefined in the SDK
    with pytest.raises(EmulationFault, match="PPRE1 = 2"):
        chip.run(seconds=chip.now + 0.001)


def test_tim6_update_and_dma_flags_raise_their_interrupts(chip):
    core = chip.cores[1]
    tim = chip.peripheral("TIM6")
    enable(chip, core, "TIM6")
    tim.bus_write(0x0C, 2, 1, core)                       # UIE
    assert tim.irq_lines() == ()
    tim.bus_write(0x14, 2, 1, core)                       # UG: an update, UIF
    assert tim.irq_lines() == (100,)                      # TIM6_IRQn
    tim.bus_write(0x10, 2, 0, core)
    assert tim.irq_lines() == ()
    chip.buffers["sram"][0:2] = b"\x01\x02"
    dma, _ = dac_by_dma(chip, core, 2, 0x10 | 0x80 | 0x2 | 0x1)           # TCIE
    mux = chip.peripheral("DMAMUX")
    mux.request(0x67, 0.0)
    assert dma.irq_lines() == ()                          # HTIF is set, but only TCIE is enabled
    mux.request(0x67, 0.0)
    assert dma.irq_lines() == (104,)                      # DMA2_Channel3_IRQn


def test_dmamux_byte_holds_request_minus_one(chip):
    mux = chip.peripheral("DMAMUX")
    mux.bus_write(0x08, 4, 0x66 << 16, chip.cores[0])      # DMA_MuxChannelConfig(DMA_MuxChannel11, 0x67)
    assert mux.routes(0x67) == [("DMA2", 3)]
    mux.bus_write(0x00, 4, 0x66, chip.cores[0])            # mux channel 1 = DMA1 channel 1
    assert mux.routes(0x67) == [("DMA1", 1), ("DMA2", 3)]


def dac_by_dma(chip, core, count, cfgr, maddr=0x20100000):
    """DAC channel 1 (software trigger selected, DMA on) fed by DMA2 channel 3 through the DMAMUX."""
    enable(chip, core, "DAC", "DMA2", "GPIOA")
    chip.peripheral("GPIOA").bus_write(0x00, 4, 0x44404444, core)           # PA4 analog
    chip.peripheral("DMAMUX").bus_write(0x08, 4, 0x66 << 16, core)
    dma = chip.peripheral("DMA2")
    dma.bus_write(0x30 + 4, 4, count, core)                # CNTR3
    dma.bus_write(0x30 + 8, 4, 0x40007410, core)           # PADDR3 = R8BDHR1
    dma.bus_write(0x30 + 12, 4, maddr, core)               # MADDR3
    dma.bus_write(0x30, 4, cfgr, core)                     # CFGR3
    dac = chip.peripheral("DAC")
    dac.bus_write(0x00, 4, 0x1 | 0x4 | 0x38 | 0x1000, core)  # EN1, TEN1, software trigger, DMAEN1
    return dma, dac


def test_dma_circular_half_and_complete_flags_and_clearing(chip):
    core = chip.cores[1]
    chip.buffers["sram"][0:8] = bytes(range(10, 18))
    dma, dac = dac_by_dma(chip, core, 8, 0x10 | 0x20 | 0x80 | 0x1)     # DIR, CIRC, MINC, EN; bytes
    mux = chip.peripheral("DMAMUX")
    for k in range(8):
        assert mux.request(0x67, 0.0)
        assert dma.bus_read(0x30 + 4, 4, core) == (8 - k - 1 or 8)       # CNTR counts down, reloads
        want = 0 if k < 3 else 0x5 if k < 7 else 0x7                     # GIF|HTIF at 4 items, +TCIF at 8
        assert dma.bus_read(0x00, 4, core) >> 8 & 0xF == want
        assert dac.dhr1 >> 4 == 10 + k
    dma.bus_write(0x04, 4, 0x4 << 8, core)                                # clear HTIF3 only
    assert dma.bus_read(0x00, 4, core) >> 8 & 0xF == 0x3
    dma.bus_write(0x04, 4, 0x1 << 8, core)                                # CGIF3 clears them all
    assert dma.bus_read(0x00, 4, core) == 0
    assert mux.request(0x67, 0.0) and dac.dhr1 >> 4 == 10                 # circular: from the start again


def test_dma_normal_mode_stops_at_zero_and_software_trigger_gets_no_dma(chip):
    core = chip.cores[1]
    chip.buffers["sram"][0:2] = b"\x33\x44"
    dma, dac = dac_by_dma(chip, core, 2, 0x10 | 0x80 | 0x1)
    mux = chip.peripheral("DMAMUX")
    assert mux.request(0x67, 0.0) and mux.request(0x67, 0.0)
    assert not mux.request(0x67, 0.0)                                     # CNTR 0: requests ignored
    dac.bus_write(0x04, 4, 1, core)                                      # SWTR: converts, no DMA request
    assert dac.capture[-1][1:] == (0x440, "software") and dac.counts["dma_requests_lost"] == 0


def test_dma_from_dtcm_or_to_another_peripheral_is_not_modelled(chip):
    core = chip.cores[1]
    dma, _ = dac_by_dma(chip, core, 4, 0x10 | 0x80 | 0x1, maddr=0x200C2000)
    chip.peripheral("DMAMUX").request(0x67, 0.0)
    assert "outside shared SRAM" in chip.fault.what and chip.fault.addr == 0x200C2000
    chip2 = Chip(b"\x6f\x00\x00\x00")
    dma, _ = dac_by_dma(chip2, chip2.cores[1], 4, 0x10 | 0x80 | 0x1)
    dma.values[0x30 + 8] = 0x40013804                                    # USART1 DATAR
    chip2.peripheral("DMAMUX").request(0x67, 0.0)
    assert "USART1" in chip2.fault.what and "only DAC" in chip2.fault.what


def test_dma_refuses_reprogramming_an_enabled_channel_and_unmodelled_modes(chip):
    core = chip.cores[1]
    dma, _ = dac_by_dma(chip, core, 4, 0x10 | 0x80 | 0x1)
    dma.bus_write(0x30 + 4, 4, 9, core)
    assert "writing CNTR while the channel is enabled" in chip.fault.what
    chip2 = Chip(b"\x6f\x00\x00\x00")
    enable(chip2, chip2.cores[1], "DMA2")
    chip2.peripheral("DMA2").bus_write(0x30, 4, 0x8000, chip2.cores[1])
    assert "double-buffer" in chip2.fault.what


def test_dac_converts_on_write_without_trigger_and_refuses_channel_2(chip):
    core = chip.cores[1]
    enable(chip, core, "DAC", "GPIOA")
    dac = chip.peripheral("DAC")
    dac.bus_write(0x10, 4, 0xAB, core)                   # DAC off: held, not converted
    assert dac.capture == [] and dac.bus_read(0x10, 4, core) == 0xAB
    dac.bus_write(0x00, 4, 0x1, core)                    # EN1, no trigger
    dac.bus_write(0x08, 4, 0x123, core)                  # R12BDHR1 converts at once
    assert dac.bus_read(0x2C, 4, core) == 0x123 and dac.counts["pin_not_analog"] == 1   # PA4 left floating
    dac.bus_write(0x00, 4, 0x10000, core)
    assert "channel 2" in chip.fault.what


def test_dac_refuses_pa4_driven_as_a_digital_output(chip):
    core = chip.cores[1]
    enable(chip, core, "DAC", "GPIOA")
    chip.peripheral("GPIOA").bus_write(0x00, 4, 0x44434444, core)        # PA4 push-pull output
    dac = chip.peripheral("DAC")
    dac.bus_write(0x00, 4, 0x1, core)
    dac.bus_write(0x10, 4, 0x80, core)
    assert "PA4 driven as a digital output" in chip.fault.what and dac.capture == []


def test_wav_needs_a_timer_clock_the_sdk_defines(chip):
    dac = chip.peripheral("DAC")
    chip.rcc.values[0x04] |= 3 << 8                      # PPRE1 = 3: no rate the SDK defines
    with pytest.raises(ValueError, match="PPRE1"):
        dac.write_wav(os.devnull)

