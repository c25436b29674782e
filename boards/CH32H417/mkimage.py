"""Merges ELF images into one flash image for the CH32H417 (boards/CH32H417/image.mk).

    python3 mkimage.py OUT.bin FLASH_BASE FLASH_SIZE IMAGE.elf...

Writes every PT_LOAD segment with file bytes at its physical (load) address minus FLASH_BASE,
fills the gaps with 0xFF, and stops with an error when a segment lies outside the flash or two
segments overlap. Uses the program headers, not the section headers: those are what a loader
(and a debugger's flash download) reads.
"""
import struct
import sys

PT_LOAD = 1


def load_segments(path):
    """(physical address, bytes) for each PT_LOAD segment of a 32-bit little-endian ELF."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        sys.exit("%s: not a 32-bit little-endian ELF file" % path)
    e_phoff, = struct.unpack_from("<I", data, 28)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 42)
    segments = []
    for i in range(e_phnum):
        p_type, p_offset, _vaddr, p_paddr, p_filesz = struct.unpack_from("<5I", data, e_phoff + i * e_phentsize)
        if p_type == PT_LOAD and p_filesz:
            segments.append((p_paddr, data[p_offset:p_offset + p_filesz]))
    return segments


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    out, base, size = argv[1], int(argv[2], 0), int(argv[3], 0)
    placed = []
    for path in argv[4:]:
        for addr, payload in load_segments(path):
            start, end = addr - base, addr - base + len(payload)
            if start < 0 or end > size:
                sys.exit("%s: segment at 0x%08x (%d bytes) is outside the flash 0x%08x..0x%08x"
                         % (path, addr, len(payload), base, base + size))
            for other_start, other_end, other_path, _ in placed:
                if start < other_end and other_start < end:
                    sys.exit("%s: segment at 0x%08x overlaps one of %s" % (path, addr, other_path))
            placed.append((start, end, path, payload))
    image = bytearray(b"\xff" * max(end for _, end, _, _ in placed))
    for start, end, _, payload in placed:
        image[start:end] = payload
    with open(out, "wb") as f:
        f.write(image)


if __name__ == "__main__":
    main(sys.argv)
