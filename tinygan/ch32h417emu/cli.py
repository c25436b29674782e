"""`tinygan emulate ch32h417` backend: run(opts) -> exit status.

opts attributes (missing ones take the defaults): firmware (merged flash image, loaded at offset 0;
default micropython_port/build/ch32h417/firmware.bin, built with `make -C micropython_port ch32h417`
when missing), sd (the SD card's image file, behind the SDMMC model; writes go to the file),
sd_fault (list of fault specs, peripherals/sdcard.py SdFaults), serial ('stdio' or 'pty': then the first stdout
line is `serial: /dev/pts/N`), timeout (host seconds, or None), press/out (issue 13:
refused), stats (print retired instructions per core, emulated seconds and host MIPS at exit, on
stderr), console (the USART bridged to the host, default USART1).
"""
import glob
import json
import os
import signal
import sys
import time

from .chip import Chip, EmulationFault
from .hostserial import PtyHost, StdioHost
from .peripherals.sdcard import PowerCut, SdCard, SdFaults

from tinygan.appshim import REPO

DEFAULT_FIRMWARE = os.path.join(REPO, "micropython_port", "build", "ch32h417", "firmware.bin")


def _firmware(path):
    from tinygan.emulate import firmware  # builds the default image (make ch32h417) when needed
    with open(firmware(path, "ch32h417", DEFAULT_FIRMWARE), "rb") as f:
        return f.read()


def format_stats(chip, wall_s):
    st = chip.stats()
    total = sum(st["retired"].values())
    lines = [f"emulated {st['emulated_s']:.6f} s in {wall_s:.2f} s wall; "
             f"{total / max(wall_s, 1e-9) / 1e6:.1f} M instructions/s (host)"]
    for name, n in st["retired"].items():
        lines.append(f"  {name}: {n} instructions retired, {st['core_hz'][name] / 1e6:g} MHz, {st['core_state'][name]}")
    sd = st["sd"]
    lines.append(f"  SD: {sd['commands']} commands, {sd['bytes_read']} bytes read, {sd['bytes_written']} bytes written")
    lines.append("  peripherals: " + json.dumps(st["peripherals"], default=str))
    return "\n".join(lines)



def run(opts):
    get = lambda name, default=None: getattr(opts, name, default)
    if get("press") or get("out"):
        print("error: --press/--out (button, LCD, DAC capture) are not yet supported by the CH32H417 emulator",
              file=sys.stderr)
        return 2
    image = _firmware(get("firmware"))  # a CLIError names what is missing
    sd = get("sd")
    if get("sd_fault") and not sd:
        print("error: --sd-fault needs a card (--sd IMG)", file=sys.stderr)
        return 2
    if sd:
        try:
            sd = SdCard(sd, SdFaults.parse(get("sd_fault")))
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    serial = get("serial", "stdio") or "stdio"
    if serial == "pty":
        host = PtyHost()
        print(f"serial: {host.name}", flush=True)
    elif serial == "stdio":
        host = StdioHost()
    else:
        print(f"error: unknown serial '{serial}' (stdio or pty)", file=sys.stderr)
        return 2
    fw = get("firmware") or DEFAULT_FIRMWARE
    elfs = sorted(glob.glob(os.path.join(os.path.dirname(fw) or ".", "*.elf")))   # beside the .bin
    chip = Chip(image, console=get("console", "USART1") or "USART1", host=host, elf=elfs, sd=sd)
    # Killed: stop at the next step boundary, then restore the terminal and print stats. A flag
    # rather than an exception raised wherever the signal lands (possibly inside a unicorn hook):
    # the exception version once failed to end the process within 10 s of SIGTERM in a CI run.
    signal.signal(signal.SIGTERM, lambda signum, frame: setattr(chip, "stop_requested", True))
    t0 = time.monotonic()
    status = 0
    try:
        chip.run(wall_seconds=get("timeout"))
    except EmulationFault as e:
        print(f"\nemulation stopped: {e}", file=sys.stderr)
        status = 1
    except PowerCut as e:          # --sd-fault cut:N / tear:N
        print(f"\nemulation stopped: {e}", file=sys.stderr)
        status = 3
    except KeyboardInterrupt:
        pass
    finally:
        if hasattr(host, "close"):
            host.close()
        if sd:
            sd.close()
    if get("stats"):
        print(format_stats(chip, time.monotonic() - t0), file=sys.stderr)
    return status
