"""The CH32H417 emulator's SDMMC controller and SD card models (issue 12) hold drivers to the facts.

A bare-metal driver (tests/ch32h417/sd_test.c, built into prog.c with TEST_SD) initialises the card
in the Simplified Specification's order and reads known blocks by DMA into shared SRAM; its build
switches are the wrong drivers the models must refuse.  The expected bytes come from the image
file itself (zlib's CRC-32 and the emulator's RAM), not from the models.
"""
import os
import subprocess
import zlib
from types import SimpleNamespace

import pytest

pytest.importorskip("unicorn", reason="unicorn (PyPI) is not installed")

from test_ch32h417_emulator import _built, build, needs_gcc          # noqa: E402
from tinygan.ch32h417emu import Chip, EmulationFault              # noqa: E402
from tinygan.ch32h417emu import cli                               # noqa: E402
from tinygan.ch32h417emu.hostserial import BufferHost             # noqa: E402
from tinygan.ch32h417emu.peripherals.sdcard import SdCard, SdFaults, crc7   # noqa: E402

IMAGE_BYTES = 1 << 20
READ_FIRST, READ_COUNT = 8, 4          # sd_test.c's SD_BLOCK, SD_COUNT


@pytest.fixture(scope="module")
def bdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("ch32h417sd"))


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "sd.img"
    path.write_bytes(bytes((i * 131 + (i >> 9) * 7) & 0xFF for i in range(IMAGE_BYTES)))
    return str(path)


def blocks(data, first, count):
    return data[first * 512:(first + count) * 512]


def sd_program(bdir, *defs):
    return build(bdir, "TEST_SD", *defs)


def symbol(bdir, name, *defs):
    """Address of a symbol in the ELF build() made for sd_program(bdir, *defs) (p<N>.elf, N its
    position in build()'s cache)."""
    key = (("TEST_SD",) + defs, 0x10000, 0x20100000)
    elf = os.path.join(bdir, f"p{list(_built).index(key)}.elf")
    out = subprocess.run(["riscv64-unknown-elf-nm", elf], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise KeyError(name)


def run_sd(program, image, faults=(), seconds=0.5):
    host = BufferHost()
    card = SdCard(image, SdFaults.parse(faults))
    chip = Chip(program, host=host, sd=card)
    done = lambda: host.out.endswith(b"\n") and (b"read ok" in host.out or b"sd err" in host.out)
    try:
        chip.run(seconds=seconds, until=done)
    finally:
        card.close()
    return chip, bytes(host.out).decode()


def sdmmc_stats(chip):
    return chip.stats()["peripherals"]["SDMMC"]


# -- the correct driver ---------------------------------------------------------------------------------
@needs_gcc
def test_init_in_spec_order_then_cmd18_dma_read_gives_the_images_blocks(bdir, image):
    program = sd_program(bdir)
    chip, out = run_sd(program, image)
    want = blocks(open(image, "rb").read(), READ_FIRST, READ_COUNT)
    assert out == f"sd init ok\nread ok {zlib.crc32(want):08x}\n"
    buf = symbol(bdir, "sd_buf")
    sram = chip.buffers["sram"]
    assert bytes(sram[buf - 0x20100000:buf - 0x20100000 + len(want)]) == want   # the DMA's bytes in RAM
    st = sdmmc_stats(chip)
    card = chip.peripheral("SDMMC").card
    assert card.log[:4] == ["CMD0", "CMD8", "CMD55", "ACMD41"]
    init = [c for c in card.log if c not in ("CMD55", "ACMD41")]
    assert init == ["CMD0", "CMD8", "CMD2", "CMD3", "CMD9", "CMD7", "ACMD6", "CMD6", "CMD18", "CMD12"]
    assert card.log.count("ACMD41") == 3                 # busy twice, then ready with CCS
    assert st["card"]["bytes_read"] == READ_COUNT * 512 and st["card"]["bytes_written"] == 0
    assert st["card"]["width"] == 4 and st["card"]["high_speed"] and st["sd_hz"] == 50_000_000
    assert st["commands_sent"] == st["card"]["commands"] == len(card.log)
    assert st["card"]["overclocked_transfers"] == 0
    assert chip.stats()["sd"] == {"commands": len(card.log), "bytes_read": 2048, "bytes_written": 0}


# -- wrong drivers -----------------------------------------------------------------------------------------
@needs_gcc
def test_no_rcc_clock_ignores_every_write(bdir, image):
    chip, out = run_sd(sd_program(bdir, "SD_NO_CLOCK"), image)
    assert out == "sd err cmd0 80000000\n"               # no flag ever: the command was never sent
    assert chip.peripheral("SDMMC").ignored_writes > 0
    assert sdmmc_stats(chip)["card"]["commands"] == 0


@needs_gcc
def test_read_before_init_gets_no_response(bdir, image):
    chip, out = run_sd(sd_program(bdir, "SD_READ_BEFORE_INIT"), image)
    assert out == "sd err cmd17 00000001\n"              # RE_TMOUT: an idle card ignores CMD17
    st = sdmmc_stats(chip)["card"]
    assert st["illegal"] == 1 and st["bytes_read"] == 0


@needs_gcc
def test_acmd41_without_hcs_leaves_an_sdhc_card_busy(bdir, image):
    chip, out = run_sd(sd_program(bdir, "SD_NO_HCS"), image)
    assert out.startswith("sd err acmd41 busy ")
    assert chip.peripheral("SDMMC").card.state == "idle"


@needs_gcc
def test_bus_width_mismatch_is_a_data_crc_error(bdir, image):
    _, out = run_sd(sd_program(bdir, "SD_SKIP_ACMD6"), image)
    assert out == "sd err cmd6 data 00000020\n"          # TRANERR: controller 4 bits, card 1


@needs_gcc
def test_dma_into_dtcm_is_a_bus_error_naming_address_and_core(bdir, image):
    with pytest.raises(EmulationFault) as e:
        run_sd(sd_program(bdir, "SD_DMA_DTCM"), image)
    assert e.value.addr == 0x200C1000 and e.value.core == "V5F"
    assert "cannot reach" in str(e.value) and "dtcm" in str(e.value)


@needs_gcc
def test_unaligned_dma_buffer_stops_the_run(bdir, image):
    program = sd_program(bdir, "SD_DMA_UNALIGNED")
    with pytest.raises(EmulationFault) as e:
        run_sd(program, image)
    assert e.value.addr == symbol(bdir, "sd_buf", "SD_DMA_UNALIGNED") + 4
    assert "not 16-byte aligned" in str(e.value)


# -- writes persist -------------------------------------------------------------------------------------------
@needs_gcc
def test_cmd24_write_lands_in_the_image_file_and_reads_back(bdir, image):
    before = open(image, "rb").read()
    chip, out = run_sd(sd_program(bdir, "SD_WRITE", "SD_WBLOCK=9u"), image)
    after = open(image, "rb").read()
    pattern = bytes((i * 7 + 1) & 0xFF for i in range(512))
    assert after[9 * 512:10 * 512] == pattern
    assert after[:9 * 512] == before[:9 * 512] and after[10 * 512:] == before[10 * 512:]
    assert out == f"sd init ok\nwrite ok\nread ok {zlib.crc32(blocks(after, READ_FIRST, READ_COUNT)):08x}\n"
    assert sdmmc_stats(chip)["card"]["bytes_written"] == 512


# -- fault injection -------------------------------------------------------------------------------------------
@needs_gcc
def test_transient_crc_error_is_seen_once_then_the_retry_reads_the_data(bdir, image):
    chip, out = run_sd(sd_program(bdir), image, faults=["crc-once:9"])
    want = blocks(open(image, "rb").read(), READ_FIRST, READ_COUNT)
    assert out == f"sd init ok\nretry 00000020 00000008\nread ok {zlib.crc32(want):08x}\n"
    assert sdmmc_stats(chip)["data_crc_errors"] == 1


@needs_gcc
def test_persistent_crc_error_fails_every_retry(bdir, image):
    _, out = run_sd(sd_program(bdir), image, faults=["crc:10,11"])
    assert out == "sd init ok\n" + "retry 00000020 00000008\n" * 3 + "sd err read 00000000\n"


@needs_gcc
def test_block_that_never_comes_is_a_data_timeout(bdir, image):
    chip, out = run_sd(sd_program(bdir), image, faults=["timeout:11"])
    assert out == "sd init ok\n" + "retry 00000010 00000008\n" * 3 + "sd err read 00000000\n"
    assert sdmmc_stats(chip)["data_timeouts"] == 3


@needs_gcc
def test_card_that_vanishes_mid_read_stops_answering(bdir, image):
    chip, out = run_sd(sd_program(bdir), image, faults=["vanish:2"])
    # two blocks arrive, the third never does (DATTMO); from then on no command is answered
    assert out == "sd init ok\nretry 00000010 00000001\n" + "retry 00000001 00000001\n" * 2 + \
        "sd err read 00000000\n"
    assert sdmmc_stats(chip)["card"]["blocks_read"] == 2


def test_fault_specs_parse_and_bad_ones_are_named():
    f = SdFaults.parse(["crc:1,2", "crc-once:3", "timeout-once:0x10", "vanish:7"])
    assert f.crc == {1, 2} and f.crc_once == {3} and f.timeout_once == {16} and f.vanish_after == 7
    assert f.read_fault(3) == "crc" and f.read_fault(3) is None       # once means once
    for bad in ("crc:", "bogus:1", "vanish:1,2", "timeout:x", "crc:-1"):
        with pytest.raises(ValueError, match="--sd-fault"):
            SdFaults.parse([bad])


def test_image_must_be_whole_blocks(tmp_path):
    p = tmp_path / "odd.img"
    p.write_bytes(b"\0" * 1000)
    with pytest.raises(ValueError, match="multiple of 512"):
        SdCard(str(p))


def test_card_crc7_and_registers():
    assert crc7(0x40 << 32, 40) == 0x4A                   # CMD0's CRC (spec 4.5 example)
    assert crc7(0x51 << 32, 40) == 0x2A                   # CMD17 argument 0 (spec 4.5 example)


def test_card_state_rules(image):
    card = SdCard(image)
    try:
        assert card.command(17, 0, 0.0) is None and card.status_err   # idle: illegal
        assert card.command(2, 0, 0.0) is None                        # CMD2 before ACMD41 ready
        assert card.command(8, 0x2AA, 0.0) is None                    # VHS 2: not supported
        assert card.command(8, 0x1AA, 0.0) == ("r7", 0x1AA)
        for _ in range(3):
            card.command(55, 0, 0.0)
            kind, ocr = card.command(41, 0x40100000, 0.0)
        assert ocr >> 30 == 3                                          # ready, CCS
        assert card.command(2, 0, 0.0)[0] == "r2"
        rca = card.command(3, 0, 0.0)[1] >> 16
        assert card.command(7, (rca ^ 1) << 16, 0.0) is None           # another card's RCA
        assert card.command(7, rca << 16, 0.0)[0] == "r1b" and card.state == "tran"
        assert card.command(2, 0, 0.0) is None                        # CMD2 in tran: illegal
        _, status = card.command(13, rca << 16, 0.0)
        assert (status >> 9) & 0xF == 4 and status & (1 << 22)         # tran; the illegal reported
        _, status = card.command(13, rca << 16, 0.0)
        assert not status & (1 << 22)                                  # ... once
        _, status = card.command(17, card.blocks, 0.0)
        assert status & (1 << 31) and card.state == "tran"             # OUT_OF_RANGE, no data
    finally:
        card.close()


# -- the command line -----------------------------------------------------------------------------------------
def test_emulate_parser_takes_sd_fault_and_refuses_it_off_ch32h417(tmp_path):
    import argparse
    from tinygan import emulate
    from tinygan.cli import CLIError
    p = argparse.ArgumentParser()
    emulate.add_arguments(p)
    args = p.parse_args(["ch32h417", "--sd", "x.img", "--sd-fault", "crc:1", "--sd-fault", "vanish:3"])
    assert args.sd_fault == ["crc:1", "vanish:3"]
    with pytest.raises(CLIError, match="ch32h417 emulator only"):
        emulate.run(p.parse_args(["qemu", "--sd", "x.img", "--sd-fault", "crc:1"]))


@needs_gcc
def test_cli_refuses_bad_fault_specs_and_faults_without_a_card(bdir, image, capsys):
    fw = os.path.join(bdir, "sd.bin")
    with open(fw, "wb") as f:
        f.write(sd_program(bdir))
    assert cli.run(SimpleNamespace(firmware=fw, sd=None, sd_fault=["crc:1"])) == 2
    assert "--sd-fault needs a card" in capsys.readouterr().err
    assert cli.run(SimpleNamespace(firmware=fw, sd=image, sd_fault=["crc"])) == 2
    assert "--sd-fault 'crc'" in capsys.readouterr().err


# -- register level: the vendor driver's multi-block sequences, driven from here ---------------------------------
class Bus:
    """SDMMC register access as a core would make it (the chip runs `j .` meanwhile)."""

    def __init__(self, image):
        from test_ch32h417_emulator import V3F
        self.chip = Chip(b"\x6f\x00\x00\x00", sd=SdCard(image))
        self.core = V3F
        self.chip.rcc.values[0x18] |= 1 << 10              # RCC_SDMMCEN
        self.sd = self.chip.peripheral("SDMMC")

    def w(self, off, value):
        self.sd.bus_write(off, 4, value, self.core)

    def r(self, off):
        return self.sd.bus_read(off, 4, self.core)

    def wait(self, mask, seconds=0.05):
        end = self.chip.now + seconds
        while not self.r(0x24) & mask and self.chip.now < end:
            self.chip.step()
        f = self.r(0x24) & mask
        self.w(0x24, f)
        return f

    def cmd(self, idx, arg, rtype=0x200):
        self.w(0x00, arg)
        self.w(0x04, rtype | idx)
        return self.wait(0xF)

    def init(self):
        self.w(0x18, 0x08)                                 # DMAEN, 1 bit
        self.w(0x1C, 4)
        self.w(0x38, 0x100 | 0x200 | 1)                   # CLKOE, high, SYSCLK (25 MHz HSI) / 1
        assert self.cmd(0, 0, 0) == 8
        assert self.cmd(8, 0x1AA) == 8
        for _ in range(3):
            self.cmd(55, 0)
            self.cmd(41, 0x40100000)
        assert self.cmd(2, 0, 0x100) == 8 and self.cmd(3, 0) == 8
        self.rca = self.r(0x14) >> 16
        assert self.cmd(7, self.rca << 16, 0x300) == 8


def test_multi_block_write_continues_on_write_cont_and_persists(image):
    bus = Bus(image)
    bus.init()
    sram = bus.chip.buffers["sram"]
    payload = bytes(range(256)) * 6                        # 3 blocks
    sram[0x1000:0x1000 + len(payload)] = payload
    assert bus.cmd(25, 20) == 8                            # CMD25 first, then the data path
    bus.w(0x30, 0)
    bus.w(0x34, 1)                                         # send
    bus.w(0x30, 512 << 16 | 3)
    bus.w(0x2C, 0x20101000)
    for k in range(3):
        f = bus.wait(0x40 | 0x80 | 0x20 | 0x10)
        assert f == (0x40 if k == 2 else 0x80)             # BKGAP between blocks, TRANDONE at the end
        assert bus.r(0x20) & 0xFFFF == k + 1               # STATUS: blocks done
        if k < 2:
            bus.chip.step()
            assert bus.r(0x20) & 0xFFFF == k + 1           # ... and no further until WRITE_CONT
            bus.w(0x14, 0)
    assert bus.cmd(12, 0, 0x300) == 8
    assert not bus.r(0x20) & (1 << 17)                     # DAT0 low: programming
    bus.wait(0, seconds=0.001)
    assert bus.r(0x20) & (1 << 17)
    bus.sd.card.close()
    assert open(image, "rb").read()[20 * 512:23 * 512] == payload


def test_gap_stop_pauses_a_multi_block_read_until_cleared(image):
    bus = Bus(image)
    bus.init()
    bus.w(0x30, 0)
    bus.w(0x34, 0x10 | 0x2)                                # AUTOGAPSTOP, GAP_STOP
    bus.w(0x30, 512 << 16 | 2)
    bus.w(0x2C, 0x20102000)
    assert bus.cmd(18, 4) == 8
    assert bus.wait(0xF0) == 0x80 and bus.r(0x20) & 0xFFFF == 1
    bus.chip.step()
    assert bus.r(0x20) & 0xFFFF == 1                       # clock stopped at the gap
    bus.w(0x34, 0x10)                                      # GAP_STOP cleared: goes on
    assert bus.wait(0xF0) == 0x40 and bus.r(0x20) & 0xFFFF == 2
    assert bytes(bus.chip.buffers["sram"][0x2000:0x2400]) == open(image, "rb").read()[4 * 512:6 * 512]
    bus.sd.card.close()


def test_held_in_logic_reset_or_without_sdck_no_command_is_sent(image):
    bus = Bus(image)
    bus.w(0x38, 0x200 | 1)                                 # no CLKOE
    assert bus.cmd(0, 0, 0) == 0
    bus.w(0x38, 0x100 | 0x200 | 1)
    bus.w(0x18, 0x10 | 0x08)                               # RST_LGC held
    assert bus.cmd(0, 0, 0) == 0
    bus.w(0x18, 0x08)
    assert bus.cmd(0, 0, 0) == 8
    st = bus.sd.stats()
    assert st["commands_without_clock"] == 1 and st["commands_in_reset"] == 1 and st["card"]["commands"] == 1
    bus.sd.card.close()


def test_index_and_crc_checks_on_r2_r3_responses_flag_errors(image):
    bus = Bus(image)
    bus.w(0x18, 0x08)
    bus.w(0x38, 0x100 | 0x200 | 1)
    bus.cmd(0, 0, 0)
    assert bus.cmd(8, 0x1AA, 0x200 | 0xC00) == 0x8        # CKIDX|CKCRC on an R7: fine
    bus.cmd(55, 0)
    assert bus.cmd(41, 0x40100000, 0x200 | 0xC00) == 0x8 | 0x4 | 0x2   # R3: index 111111, CRC 1111111
    bus.sd.card.close()


def test_controller_reset_keeps_the_card_which_only_cmd0_resets(image):
    bus = Bus(image)
    bus.init()
    bus.chip.rcc.bus_write(0x2C, 4, 1 << 10, bus.core)     # RCC HBRSTR: SDMMC held in reset
    bus.chip.rcc.bus_write(0x2C, 4, 0, bus.core)
    assert bus.r(0x38) == 0 and bus.sd.card.state == "tran"
    bus.w(0x18, 0x08)
    bus.w(0x38, 0x100 | 0x200 | 1)
    assert bus.cmd(8, 0x1AA) == 0x1                        # CMD8 in tran: illegal, no response
    assert bus.cmd(0, 0, 0) == 0x8 and bus.sd.card.state == "idle"
    bus.sd.card.close()
