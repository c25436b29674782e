"""Where the cores need a code hook: wfi and the CSR instructions the emulator emulates.

Two sources:
- the ELF files of the image (the CLI takes every .elf beside the .bin, e.g. the V5F firmware and
  the V3F start-up program): a linear sweep over each executable section at its run address (VMA),
  so code copied to ITCM/RAM is hooked where it runs and data is never mistaken for code.  An ELF
  whose flash-resident code differs from the image is refused (a stale build would hide CSR
  writes), and the raw scan is used instead;
- the raw flash image otherwise: every 2-byte offset whose 4 bytes decode as one of those
  instructions (data that happens to look like one only costs a hook that never fires).
Fewer hooks matter: each unicorn code hook slows the CPU emulator down (docs/ch32h417-emulator.md).
"""
import struct

from . import memmap

SHF_EXECINSTR = 0x4
SHT_PROGBITS = 1
SHT_SYMTAB = 2
STT_FUNC = 2


def scan_image(image, is_special):
    found = []
    for off in range(0, len(image) - 3, 2):
        if image[off] & 0x7F != 0x73:
            continue
        if is_special(int.from_bytes(image[off:off + 4], "little")):
            found.append(off)
    return [memmap.FLASH_ALIAS.base + o for o in found] + [memmap.FLASH.base + o for o in found]


class StaleElf(ValueError):
    pass


def _read_elf(path):
    """(file bytes, section headers as (type, flags, addr, offset, size, link) tuples)."""
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 1:
        raise ValueError(f"{path}: not a 32-bit ELF file")
    shoff, = struct.unpack_from("<I", elf, 0x20)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x2E)
    return elf, [struct.unpack_from("<4xIIIIII", elf, shoff + i * shentsize) for i in range(shnum)]


def function_ranges(path, names):
    """{name: (start, end)} of the named function symbols of an ELF (its .symtab); names it does
    not define are left out."""
    elf, sections = _read_elf(path)
    found = {}
    for sh_type, _, _, offset, size, link in sections:
        if sh_type != SHT_SYMTAB:
            continue
        strtab = sections[link][3]
        for k in range(offset, offset + size, 16):
            st_name, value, sym_size, info = struct.unpack_from("<IIIB", elf, k)
            name = elf[strtab + st_name:elf.index(b"\0", strtab + st_name)].decode()
            if info & 0xF == STT_FUNC and name in names:
                found[name] = (value, value + sym_size)
    return found


def scan_elf(path, is_special, image=None):
    elf, sections = _read_elf(path)
    found = []
    for sh_type, flags, addr, offset, size, _ in sections:
        if sh_type != SHT_PROGBITS or not flags & SHF_EXECINSTR or not size:
            continue
        code = elf[offset:offset + size]
        if image is not None and memmap.FLASH_ALIAS.contains(addr) and image[addr:addr + size] != code:
            raise StaleElf(f"{path}: section at 0x{addr:08x} differs from the flash image")
        pos = 0
        while pos + 2 <= len(code):
            if code[pos] & 3 != 3:          # a 16-bit (compressed) instruction
                pos += 2
                continue
            if pos + 4 > len(code):
                break
            if is_special(int.from_bytes(code[pos:pos + 4], "little")):
                found.append(addr + pos)
            pos += 4
    out = []
    for a in found:
        out.append(a)
        if memmap.FLASH_ALIAS.contains(a):
            out.append(a - memmap.FLASH_ALIAS.base + memmap.FLASH.base)
    return out


def scan(image, elfs, is_special):
    """Hook addresses from the ELFs when they all match the image, else from the raw image."""
    if elfs:
        try:
            return [a for path in elfs for a in scan_elf(path, is_special, image)]
        except (StaleElf, ValueError, OSError):
            pass
    return scan_image(image, is_special)
