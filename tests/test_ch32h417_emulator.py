"""The CH32H417 emulator (tinygan/ch32h417emu) holds firmware to the vendor's facts.

Bare-metal test programs (tests/ch32h417/prog.c, one source, build switches for each wrong driver)
are compiled here with the RV32 cross compiler; each must-fail case of issue 11 is a test, and each
peripheral model has a test that a wrong driver fails.  The firmware test at the end boots the
MicroPython image when its source is present.
"""
import os
import shutil
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

unicorn = pytest.importorskip("unicorn", reason="unicorn (PyPI) is not installed")

from tinygan.ch32h417emu import Chip, EmulationFault                # noqa: E402
from tinygan.ch32h417emu.hostserial import BufferHost              # noqa: E402
from tinygan.ch32h417emu import cli                                 # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "ch32h417")
GCC = "riscv64-unknown-elf-gcc"
needs_gcc = pytest.mark.skipif(shutil.which(GCC) is None, reason="riscv64-unknown-elf-gcc is not installed")

_built = {}


def build(tmp_dir, *defs, entry=0x10000, ram=0x20100000, sources=()):
    """Compile prog.c (with start.S and any further C `sources`, e.g. a board driver) for the
    emulator; `defs` are -D switches.  The image is cached per arguments."""
    key = (defs, entry, ram) + ((tuple(sources),) if sources else ())
    if key in _built:
        return _built[key]
    out = os.path.join(tmp_dir, f"p{len(_built)}")
    cmd = [GCC, "-march=rv32imac", "-mabi=ilp32", "-misa-spec=2.2", "-Os", "-nostdlib", "-ffreestanding",
           "-T", os.path.join(SRC, "link.ld"), f"-Wl,--defsym=V5F_ENTRY={entry:#x}",
           f"-Wl,--defsym=RAM_BASE={ram:#x}"] + [f"-D{d}" for d in defs] + \
          ["-o", out + ".elf", os.path.join(SRC, "start.S"), os.path.join(SRC, "prog.c"), *sources]
    subprocess.run(cmd, check=True)
    subprocess.run(["riscv64-unknown-elf-objcopy", "-O", "binary", "-j", ".v3f", "-j", ".v5f",
                    out + ".elf", out + ".bin"], check=True)
    with open(out + ".bin", "rb") as f:
        _built[key] = f.read()
    return _built[key]


@pytest.fixture(scope="module")
def bdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("ch32h417"))


def boot(image, seconds=0.003, feed=b""):
    host = BufferHost()
    chip = Chip(image, host=host)
    if feed:
        host.feed(feed)
    chip.run(seconds=seconds)
    return chip, bytes(host.out)


# -- the correct program, and what the emulator recorded about it ------------------------------------------
@needs_gcc
def test_correct_program_prints_on_the_bridged_usart(bdir):
    chip, out = boot(build(bdir))
    assert out == b"hello from the V5F\n"
    st = chip.stats()
    assert st["core_hz"] == {"V3F": 100_000_000, "V5F": 400_000_000}      # the SDK's default preset
    assert st["peripherals"]["USART1"]["bauds"] == [115207]                # HCLK / BRR = 1e8 / 868
    assert chip.cores[1].start_pc == 0x10000
    assert st["retired"]["V3F"] > 0 and st["retired"]["V5F"] > 0
    assert st["peripherals"]["FLASH_R"]["flash_clock_hz"] == 50_000_000
    assert chip.cores[0].csr_last[0xBC0] == 0x123703E1                     # WCH CSR accepted, recorded


@needs_gcc
def test_retired_instructions_follow_the_core_clocks(bdir):
    chip, _ = boot(build(bdir), seconds=0.004)
    r = chip.stats()["retired"]
    # after the switch to the PLL both cores run to the end: V5F at 4x the V3F's clock (IPC = 1)
    assert 3.5 < r["V5F"] / r["V3F"] < 4.5


# -- issue 11's must-fail cases ---------------------------------------------------------------------------------
@needs_gcc
def test_ram_at_0x20000000_stops_naming_the_address(bdir):
    with pytest.raises(EmulationFault) as e:
        boot(build(bdir, ram=0x20000000))
    msg = str(e.value)
    assert "unmapped access at 0x2000" in msg and "pc 0x" in msg and ("V5F" in msg or "V3F" in msg)
    assert 0x20000000 <= e.value.addr < 0x20010000


@needs_gcc
def test_unaligned_v5f_entry_starts_masked_and_never_prints(bdir):
    chip, out = boot(build(bdir, entry=0x10200))
    assert chip.cores[1].start_pc == 0x10000          # WAKEIP & ~0x3FF, as NVIC_WakeUp_V5F implies
    assert b"hello" not in out


@needs_gcc
def test_image_that_never_wakes_the_v5f_never_prints(bdir):
    chip, out = boot(build(bdir, "NO_WAKE"))
    assert chip.cores[1].state == "off" and chip.cores[1].retired == 0
    assert out == b""


@needs_gcc
def test_skipping_the_usart_clock_enable_prints_nothing(bdir):
    chip, out = boot(build(bdir, "SKIP_USART_CLOCK"))
    assert out == b""
    assert chip.peripheral("USART1").ignored_writes > 0


# -- one wrong driver per model ----------------------------------------------------------------------------------
@needs_gcc
def test_gpio_afio_pin_not_routed_carries_nothing(bdir):
    chip, out = boot(build(bdir, "SKIP_PIN_AF"))
    assert out == b"" and chip.peripheral("USART1").unrouted_tx > 0


@needs_gcc
def test_usart_not_enabled_sends_nothing(bdir):
    chip, out = boot(build(bdir, "NO_UE"))
    assert out == b"" and chip.peripheral("USART1").disabled_tx > 0


@needs_gcc
def test_rcc_pll_from_hse_that_is_off_never_locks(bdir):
    chip, out = boot(build(bdir, "NO_HSE"))
    assert out == b"" and chip.cores[1].state == "off"
    assert chip.rcc.sysclk_hz() == 25_000_000 and (chip.rcc.values[0x04] >> 2) & 3 == 0


@needs_gcc
def test_usart_receives_and_echoes(bdir):
    chip, out = boot(build(bdir, "TEST_ECHO"), seconds=0.01, feed=b"")
    chip.host.feed(b"abq")
    chip.run(seconds=chip.now + 0.005)
    assert bytes(chip.host.out) == b"echo\nab!"


@needs_gcc
def test_rng_gives_data_when_enabled_and_clocked(bdir):
    _, out = boot(build(bdir, "TEST_RNG"))
    words = out.split()
    assert len(words) == 4 and len(set(words)) == 4 and all(len(w) == 8 for w in words)
    _, out = boot(build(bdir, "TEST_RNG", "RNG_NO_CLOCK"))
    assert out == b"rng: no data\n"
    _, out = boot(build(bdir, "TEST_RNG", "RNG_NO_EN"))
    assert out == b"rng: no data\n"


@needs_gcc
def test_swpmi_option_register_needs_its_clock(bdir):
    """The vendor's SD example sets SWPMI OR bit 0 after enabling the SWPMI clock (HB1PCENR bit 31):
    without the clock the write is ignored, with it the value is kept."""
    chip, _ = boot(build(bdir))
    swpmi, core = chip.peripheral("SWPMI"), chip.cores[1]
    chip.rcc.values[0x20] &= ~(1 << 31)
    swpmi.bus_write(0x24, 4, 1, core)
    assert swpmi.values[0x24] == 0 and swpmi.ignored_writes == 1
    chip.rcc.values[0x20] |= 1 << 31
    swpmi.bus_write(0x24, 4, 1, core)
    assert swpmi.stats()["or_value"] == 1


@needs_gcc
def test_systick_counts_hclk_and_a_timer_never_started_never_fires(bdir):
    host = BufferHost()
    chip = Chip(build(bdir, "TEST_SYSTICK"), host=host)
    chip.run(until=lambda: b"\n" in host.out)
    assert bytes(host.out) == b"tick\n"
    assert 0.001 <= chip.now < 0.0015             # 100,000 HCLK ticks at 100 MHz, plus the boot
    _, out = boot(build(bdir, "TEST_SYSTICK", "SYSTICK_NO_EN"), seconds=0.05)
    assert out == b"no tick\n"


@needs_gcc
def test_systick_interrupt_through_a_mode3_vector_table_wakes_wfi(bdir):
    host = BufferHost()
    chip = Chip(build(bdir, "TEST_IRQ"), host=host)
    chip.run(until=lambda: b"\n" in host.out, seconds=0.05)
    assert bytes(host.out) == b"irq 5\n"
    assert 0.005 <= chip.now < 0.0065          # five 1 ms periods of SysTick1 after the boot
    chip, out = boot(build(bdir, "TEST_IRQ", "IRQ_NOT_ENABLED"), seconds=0.05)
    # without the PFIC enable no interrupt arrives: the wfi never returns (the hanging idle of issue 11)
    assert out == b"" and chip.cores[1].state == "sleep"


@needs_gcc
def test_v5f_event_wakes_the_sleeping_v3f_which_sees_shared_ram(bdir):
    chip, out = boot(build(bdir, "TEST_HANDOFF"))
    assert out == b"handoff ok\n"
    assert chip.peripheral("IPC").get("MSG0") == 0x5AA5F00D


@needs_gcc
def test_pfic_system_reset_restarts_the_chip(bdir):
    chip, out = boot(build(bdir, "TEST_RESET"), seconds=0.005)
    assert out == b"boot 1\nboot 2\n" and chip.resets == 1


class FakeCore:
    def __init__(self, hart):
        self.hart, self.name = hart, ("V3F", "V5F")[hart]


V3F, V5F = FakeCore(0), FakeCore(1)


@pytest.fixture
def chip():
    return Chip(b"\x6f\x00\x00\x00")      # j . at 0x0


def test_pwr_ignores_vio18_writes_without_its_clock(chip):
    pwr = chip.peripheral("PWR")
    pwr.bus_write(0x00, 4, (1 << 9) | (3 << 10), V3F)
    assert pwr.vio18() == {"software_mode": False, "level": 0}
    chip.rcc.bus_write(0x20, 4, 1 << 28, V3F)                    # RCC_PWREN
    pwr.bus_write(0x00, 4, (1 << 9) | (3 << 10), V3F)
    assert pwr.vio18() == {"software_mode": True, "level": 3}


def test_flash_ctlr_stays_locked_without_the_key_sequence(chip):
    fl = chip.peripheral("FLASH_R")
    fl.bus_write(0x10, 4, 0x1, V3F)
    assert fl.bus_read(0x10, 4, V3F) == 0x80
    fl.bus_write(0x04, 4, 0xCDEF89AB, V3F)                       # KEY2 first: wrong order
    fl.bus_write(0x04, 4, 0x45670123, V3F)
    fl.bus_write(0x10, 4, 0x1, V3F)
    assert fl.bus_read(0x10, 4, V3F) == 0x80
    chip.reset()
    fl.bus_write(0x04, 4, 0x45670123, V3F)
    fl.bus_write(0x04, 4, 0xCDEF89AB, V3F)
    fl.bus_write(0x10, 4, 0x1, V3F)
    assert fl.bus_read(0x10, 4, V3F) == 0x1


def test_hsem_second_taker_does_not_get_the_semaphore(chip):
    hs = chip.peripheral("HSEM")
    hs.bus_write(0x00, 4, (1 << 31) | (1 << 8) | 5, V5F)         # HSEM_Take(0, 5) on the V5F
    assert hs.bus_read(0x00, 4, V5F) == (1 << 31) | (1 << 8) | 5
    hs.bus_write(0x00, 4, (1 << 31) | 7, V3F)                    # the V3F tries: its read-back differs
    assert hs.bus_read(0x00, 4, V3F) == (1 << 31) | (1 << 8) | 5
    assert hs.bus_read(0x100, 4, V3F) == (1 << 31) | (1 << 8) | 5   # RLRX: still the V5F's
    hs.bus_write(0x00, 4, 7, V3F)                                # release by a non-owner: ignored
    assert hs.bus_read(0x00, 4, V3F) >> 31 == 1
    hs.bus_write(0x300, 4, 1, V3F)                               # V3F enables the interrupt
    hs.bus_write(0x00, 4, (1 << 8) | 5, V5F)                     # owner releases
    assert hs.bus_read(0x00, 4, V3F) == 0 and 28 in chip.irq_lines(0) and 28 not in chip.irq_lines(1)


def test_ipc_locked_channel_ignores_reconfiguration(chip):
    ipc = chip.peripheral("IPC")
    ipc.bus_write(0x00, 4, 0x31 | 0x80, V3F)                     # configure + lock channel 0
    ipc.bus_write(0x00, 4, 0x00, V3F)
    assert ipc.bus_read(0x00, 4, V3F) & 0xFF == 0xB1
    ipc.bus_write(0x20, 4, 0x1234, V3F)
    assert ipc.bus_read(0x20, 4, V5F) == 0x1234                  # MSG shared by both cores
    ipc.bus_write(0x18, 4, 0x3, V5F)
    ipc.bus_write(0x1C, 4, 0x1, V3F)
    assert ipc.bus_read(0x04, 4, V3F) == 0x2


def test_pfic_reset_needs_the_key_and_core_id_reads_per_core(chip):
    pfic = chip.pfic
    pfic.bus_write(0x48, 4, 1 << 7, V3F)                         # no 0xBEEF key: no reset
    assert chip.reset_request is None
    pfic.bus_write(0x48, 4, 0xBEEF0000 | 1 << 7, V3F)
    assert chip.reset_request
    assert pfic.bus_read(0xD10, 4, V3F) >> 16 & 1 == 0 and pfic.bus_read(0xD10, 4, V5F) >> 16 & 1 == 1


def test_pfic_wake_needs_setevent_and_masks_to_1k(chip):
    chip.pfic.bus_write(0x724, 4, 0x00010123, V3F)
    assert chip.cores[1].state == "off"                          # WAKEIP alone starts nothing
    chip.pfic.bus_write(0xD10, 4, 1 << 5, V3F)
    assert chip.cores[1].state == "run" and chip.cores[1].start_pc == 0x00010000


def test_systick_reload_period_and_flag_clear(chip):
    st = chip.peripheral("SYSTICK")
    st.bus_write(0x90, 4, 99, V5F)                               # SysTick1 CMP
    st.bus_write(0x80, 4, 0xF, V5F)                              # enable, IRQ, HCLK, reload
    st.tick(0, 250)                                              # 250 ticks: passes CMP twice
    assert st.bus_read(0x88, 4, V5F) == 50 and st.bus_read(0x04, 4, V5F) == 0x2
    assert 13 in chip.irq_lines(1) and 13 not in chip.irq_lines(0)
    st.bus_write(0x04, 4, 0x2, V5F)                              # writing 1 keeps the flag
    assert st.bus_read(0x04, 4, V5F) == 0x2
    st.bus_write(0x04, 4, 0x0, V5F)
    assert st.bus_read(0x04, 4, V5F) == 0


def test_rcc_switch_to_unlocked_pll_does_not_happen(chip):
    rcc = chip.rcc
    rcc.bus_write(0x04, 4, 2, V3F)                               # SW = PLL, PLL off
    assert (rcc.bus_read(0x04, 4, V3F) >> 2) & 3 == 0 and chip.core_hz == [25_000_000, 25_000_000]
    rcc.bus_write(0x00, 4, rcc.bus_read(0x00, 4, V3F) | 1 << 16, V3F)
    assert rcc.bus_read(0x00, 4, V3F) & (1 << 17)
    rcc.bus_write(0x08, 4, 0x10 | 0x20 | 1 << 31, V3F)
    rcc.bus_write(0x00, 4, rcc.bus_read(0x00, 4, V3F) | 1 << 24, V3F)
    rcc.bus_write(0x04, 4, 2 | 0x20000, V3F)
    assert (rcc.bus_read(0x04, 4, V3F) >> 2) & 3 == 2 and chip.core_hz == [100_000_000, 400_000_000]


def test_unmodelled_peripheral_stops_the_run_naming_it(chip):
    with pytest.raises(EmulationFault) as e:
        chip.mmio_read(chip.cores[0], 0x40000000, 4)               # TIM2: real, not modelled
        raise chip.fault
    assert "unmodelled peripheral TIM2" in str(e.value)


# -- CLI backend ---------------------------------------------------------------------------------------------------
def test_cli_refuses_press_and_out(capsys):
    assert cli.run(SimpleNamespace(press=3, out="x", firmware="x")) == 2
    assert "not yet supported" in capsys.readouterr().err


@needs_gcc
def test_elf_scan_hooks_code_where_it_runs_and_unhooked_wfi_still_sleeps(bdir, tmp_path):
    image = build(bdir)
    elf = os.path.join(bdir, f"p{list(_built).index(((), 0x10000, 0x20100000))}.elf")
    host = BufferHost()
    chip = Chip(image, host=host, elf=elf)
    chip.run(seconds=0.003)
    assert bytes(host.out) == b"hello from the V5F\n" and chip.cores[0].csr_last[0xBC0] == 0x123703E1
    # a wfi in RAM (not in any scan): the core still goes to sleep, the slice is flagged inexact
    from tinygan.ch32h417emu.core import WFI
    chip = Chip(b"\x6f\x00\x00\x00")
    chip.cores[0].uc.mem_write(0x20100000, WFI.to_bytes(4, "little") + b"\x6f\x00\x00\x00")
    chip.cores[0].pc = 0x20100000
    chip.run(seconds=0.0001)
    assert chip.cores[0].state == "sleep" and chip.cores[0].inexact_slices == 1


@needs_gcc
def test_cli_pty_prints_serial_first_and_bridges(bdir, tmp_path):
    img = tmp_path / "p.bin"
    img.write_bytes(build(bdir))
    proc = subprocess.Popen([sys.executable, "-m", "tinygan.ch32h417emu", "--firmware", str(img), "--serial", "pty",
                             "--timeout", "20", "--stats"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=os.path.dirname(HERE))
    try:
        first = proc.stdout.readline().decode()
        assert first.startswith("serial: /dev/pts/")
        fd = os.open(first.split()[1], os.O_RDWR | os.O_NOCTTY)
        got = b""
        deadline = time.monotonic() + 15
        while b"\n" not in got and time.monotonic() < deadline:
            got += os.read(fd, 100)
        os.close(fd)
        assert got == b"hello from the V5F\n"
    finally:
        proc.terminate()
        proc.wait(10)


# -- the MicroPython firmware on the emulated chip -------------------------------------------------------------
REPO = os.path.dirname(HERE)


def _micropython_present():
    top = os.environ.get("MICROPY_TOP") or os.path.join(REPO, "micropython_port", "micropython")
    return os.path.exists(os.path.join(top, "py", "mpconfig.h"))


@pytest.mark.skipif(not _micropython_present(), reason="MicroPython source absent (MICROPY_TOP unset, submodule empty)")
@needs_gcc
def test_firmware_boots_to_banner_and_mpremote_exec_prints_2():
    subprocess.run(["make", "-C", os.path.join(REPO, "micropython_port"), "ch32h417", "-j2"], check=True,
                   stdout=subprocess.DEVNULL)
    fw = os.path.join(REPO, "micropython_port", "build", "ch32h417", "firmware.bin")
    assert os.path.exists(fw), "make -C micropython_port ch32h417 made no merged firmware.bin"
    with open(fw, "rb") as f:
        image = f.read()
    host = BufferHost()
    elfs = [os.path.join(os.path.dirname(fw), n) for n in os.listdir(os.path.dirname(fw)) if n.endswith(".elf")]
    chip = Chip(image, host=host, elf=elfs)
    chip.run(until=lambda: b">>> " in host.out, wall_seconds=60)
    assert b"MicroPython" in host.out and chip.cores[1].start_pc % 1024 == 0

    def type_line(data, expect):
        mark = len(host.out)
        host.feed(data)
        chip.run(until=lambda: expect in host.out[mark:] and host.out.endswith(b">>> "), wall_seconds=60)
        return bytes(host.out[mark:])

    rng = chip.peripheral("RNG")
    words = rng.words_read
    assert b"\r\n16\r\n" in type_line(b"import os; print(len(os.urandom(16)))\r", b"16")
    assert rng.words_read >= words + 4                        # os.urandom read the RNG model
    host.feed(b"exec('while True: pass')\r")
    chip.run(seconds=chip.now + 0.02)
    assert b"KeyboardInterrupt" in type_line(b"\x03", b"KeyboardInterrupt")   # Ctrl-C stops a loop
    assert b"MicroPython" in type_line(b"\x04", b"MicroPython")   # Ctrl-D: soft reset
    assert b"MicroPython" in type_line(b"import machine; machine.reset()\r", b"MicroPython")
    assert chip.resets == 1 and chip.cores[1].state != "off"
    proc = subprocess.Popen([sys.executable, "-m", "tinygan.ch32h417emu", "--firmware", fw, "--serial", "pty",
                             "--timeout", "120"], stdout=subprocess.PIPE, cwd=REPO)
    try:
        port = proc.stdout.readline().decode().split()[1]
        r = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, "exec", "print(1+1)"],
                           capture_output=True, timeout=90)
        assert r.stdout.strip().splitlines()[-1] == b"2"
        r = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, "exec",
                            "import os; print(len(os.urandom(16)))"], capture_output=True, timeout=90)
        assert r.stdout.strip().splitlines()[-1] == b"16"
    finally:
        proc.terminate()
        proc.wait(10)
