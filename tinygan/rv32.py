"""Build the bare-metal RV32 image (rv32/main.c + the unchanged engine) and run it under QEMU.

Used by tests/test_rv32.py and bench/rv32.py. Debian's riscv64-unknown-elf-gcc 12 selects the rv32
multilib (picolibc's crt0 and libc) only for an exact listed -march string, so the flags keep
-march=rv32imafc -mabi=ilp32f verbatim (the image reads minstret with .insn instead of Zicsr).
"""
import glob
import os
import re
import shutil
import subprocess
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CC = "riscv64-unknown-elf-gcc"
QEMU = "qemu-system-riscv32"
MARCH = ["-march=rv32imafc", "-mabi=ilp32f"]
# QEMU virt DRAM starts at 0x80000000: code there, 2 MiB of RAM for data, arena and stack after it.
LINK = ["--specs=picolibc.specs", "--oslib=semihost",
        "-Wl,--defsym=__flash=0x80000000", "-Wl,--defsym=__flash_size=0x00100000",
        "-Wl,--defsym=__ram=0x80100000", "-Wl,--defsym=__ram_size=0x00200000"]


class RV32Error(RuntimeError):
    pass


def missing_tools():
    """Names of the tools this needs that are not installed (empty when all are there)."""
    missing = [t for t in (CC, QEMU) if shutil.which(t) is None]
    if not missing:  # the compiler is there: can it link a picolibc program for rv32?
        probe = subprocess.run([CC] + MARCH + LINK + ["-x", "c", "-", "-o", os.devnull],
                               input="int main(void) { return 0; }\n", capture_output=True, text=True)
        if probe.returncode != 0:
            missing.append("picolibc-riscv64-unknown-elf (%s)" % probe.stderr.strip().splitlines()[-1:])
    return missing


def build(out_dir, opt="-O3", defines=(), main="main.c"):
    """Compile the image (rv32/<main> + the engine); returns the ELF path."""
    engine = sorted(glob.glob(os.path.join(REPO, "usermod_tinygan", "engine", "*.c")))
    elf = os.path.join(out_dir, os.path.splitext(main)[0] + "-rv32.elf")
    # -ffp-contract=fast lets gcc fuse the kernel's float multiply-adds into fmadd.s; it cannot
    # change results: every product and partial sum there is an exact integer below 2^24.
    cmd = ([CC] + MARCH + [opt, "-std=c99", "-ffp-contract=fast", "-Wall", "-Wextra", "-Werror"] + ["-D" + d for d in defines] + LINK +
           ["-I" + os.path.join(REPO, "usermod_tinygan", "engine")] + engine +
           [os.path.join(REPO, "rv32", main), "-o", elf])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RV32Error("RV32 build failed:\n" + r.stderr)
    return elf


def qemu_cmd(elf):
    return [QEMU, "-machine", "virt", "-cpu", "rv32", "-m", "64M", "-bios", "none", "-kernel", elf,
            "-nographic", "-semihosting-config", "enable=on,target=native", "-icount", "shift=0"]


def run_program(elf, files, outputs=(), timeout=600):
    """Run an image in a scratch directory holding `files` (name -> bytes, or an existing path,
    linked). Returns (console text, {name: bytes} of the `outputs` it wrote)."""
    with tempfile.TemporaryDirectory(prefix="tinygan-rv32-") as work:
        for name, content in files.items():
            if isinstance(content, (bytes, bytearray)):
                with open(os.path.join(work, name), "wb") as f:
                    f.write(content)
            else:
                os.symlink(os.path.abspath(content), os.path.join(work, name))
        r = subprocess.run(qemu_cmd(elf), cwd=work, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RV32Error("RV32 image failed (exit %d): %s" % (r.returncode, (r.stdout + r.stderr).strip()[-2000:]))
        written = {}
        for name in outputs:
            with open(os.path.join(work, name), "rb") as f:
                written[name] = f.read()
    # QEMU sends the semihosting console (the image's stdout) to its own stderr
    return r.stdout + r.stderr, written


def run(elf, model_path, latent, timeout=600):
    """Run the image on one latent (bytes). Returns (image bytes, parsed counters dict)."""
    text, out = run_program(elf, {"model.tgw": model_path, "latent.bin": bytes(latent)}, ("out.rgb",), timeout)
    return out["out.rgb"], parse_counters(text)


_LAYER = re.compile(r"layer (\d+) macs (\d+) bytes (\d+) read_instr (\d+) crc_instr (\d+) kernel_instr (\d+)")
_TOTAL = re.compile(r"total_instr (\d+) arena (\d+) stack (\d+)")


def parse_counters(text):
    layers = [dict(zip(("layer", "macs", "bytes", "read_instr", "crc_instr", "kernel_instr"), map(int, m.groups())))
              for m in _LAYER.finditer(text)]
    t = _TOTAL.search(text)
    if not layers or not t:
        raise RV32Error("unexpected output from the RV32 image:\n" + text[-2000:])
    total, arena, stack = map(int, t.groups())
    return {"layers": layers, "total_instr": total, "arena": arena, "stack": stack}
