"""Merges ELF images into one flash image for the CH32H417 (boards/CH32H417/image.mk), and checks
a flash image against the ELF files it was made from.

    python3 mkimage.py OUT.bin FLASH_BASE FLASH_SIZE IMAGE.elf...
    python3 mkimage.py --check IMAGE.bin V3F.elf V5F.elf

Build: writes every PT_LOAD segment with file bytes at its physical (load) address minus
FLASH_BASE, fills the gaps with 0xFF, and stops with an error when a segment lies outside the
flash or two segments overlap. Uses the program headers, not the section headers: those are what a
loader (and a debugger's flash download) reads.

Check: re-reads both ELF files and verifies IMAGE.bin against this board's flash layout, written
here from the vendor's numbers rather than read from memory.ld, so that a wrong link script fails
too: every loaded segment's bytes at its offset, everything else 0xFF, the V3F start-up at offset 0
(the chip's reset entry) inside its 64 KiB slot, the V5F entry at 0x10000 and 1 KiB aligned, the
image within the 960 KiB flash. Bytes after the last segment may be present if they are 0xFF, so a
read-back of a larger flash range (e.g. `wlink dump`) checks as well. Prints every problem and
exits 1, or prints one line and exits 0.
"""
import os
import struct
import sys
from collections import namedtuple

PT_LOAD = 1

# The board's flash layout, at the 0x0 alias both cores execute from (0x08000000 physical).
FLASH_SIZE = 960 * 1024   # user flash (openwch/ch32h417 README, EVT board reference; ../shared/CH32H417.md s. 2)
V3F_ENTRY = 0x00000000    # only the V3F runs after reset, from flash offset 0 (SRC/Startup/startup_ch32h417_v3f.S)
V5F_ENTRY = 0x00010000    # the vendor's Core_V5F_StartAddr (EVT/EXAM/SRC/Debug/debug.h)
WAKE_ALIGN = 1024         # NVIC_WakeUp_V5F writes addr & ~0x3FF to PFIC WAKEIP[1] (SRC/Core/core_riscv.h)
FILL = 0xFF               # erased flash; what the build puts in the gaps

Segment = namedtuple("Segment", "index vaddr paddr data")
Elf = namedtuple("Elf", "path entry segments")


class ImageError(Exception):
    """A file that cannot be read as what it should be; the message names it."""


def read_elf(path):
    """Entry point and the PT_LOAD segments with file bytes of a 32-bit little-endian ELF file
    (index = the program header's number, as readelf -l counts)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 52 or data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise ImageError("%s: not a 32-bit little-endian ELF file" % path)
    e_entry, e_phoff = struct.unpack_from("<II", data, 24)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 42)
    if e_phoff + e_phnum * e_phentsize > len(data):
        raise ImageError("%s: program headers run past the end of the file" % path)
    segments = []
    for i in range(e_phnum):
        p_type, p_offset, p_vaddr, p_paddr, p_filesz = struct.unpack_from("<5I", data, e_phoff + i * e_phentsize)
        if p_type == PT_LOAD and p_filesz:
            if p_offset + p_filesz > len(data):
                raise ImageError("%s: segment %d runs past the end of the file" % (path, i))
            segments.append(Segment(i, p_vaddr, p_paddr, data[p_offset:p_offset + p_filesz]))
    return Elf(path, e_entry, segments)


def build(out, base, size, paths):
    placed = []
    for path in paths:
        for seg in read_elf(path).segments:
            start, end = seg.paddr - base, seg.paddr - base + len(seg.data)
            if start < 0 or end > size:
                raise ImageError("%s: segment at 0x%08x (%d bytes) is outside the flash 0x%08x..0x%08x"
                                 % (path, seg.paddr, len(seg.data), base, base + size))
            for other_start, other_end, other_path, _ in placed:
                if start < other_end and other_start < end:
                    raise ImageError("%s: segment at 0x%08x overlaps one of %s" % (path, seg.paddr, other_path))
            placed.append((start, end, path, seg.data))
    if not placed:
        raise ImageError("no loadable segment in %s" % " ".join(paths))
    image = bytearray([FILL]) * max(end for _, end, _, _ in placed)
    for start, end, _, payload in placed:
        image[start:end] = payload
    with open(out, "wb") as f:
        f.write(image)


def _differences(got, want):
    """(first differing index, number of differing bytes) of two equal-length byte strings."""
    diffs = [i for i in range(len(want)) if got[i] != want[i]]
    return diffs[0], len(diffs)


def _count(n, one, many):
    return "%d %s" % (n, one if n == 1 else many)


def _fill_problem(image, start, end):
    """A message when image[start:end] is not all FILL, else None."""
    chunk = image[start:end]
    if chunk.count(FILL) == len(chunk):
        return None
    bad = [i for i, b in enumerate(chunk) if b != FILL]
    return ("offset 0x%05x: 0x%02x where nothing is loaded (expected the 0x%02x fill; %s in 0x%05x..0x%05x)"
            % (start + bad[0], chunk[bad[0]], FILL, _count(len(bad), "such byte", "such bytes"), start, end))


def check_image(image, v3f, v5f):
    """Problems (a list of messages, empty when the image is right) of a flash image (bytes, from
    flash offset 0) against the V3F and V5F ELF files (read_elf results)."""
    problems = []

    def name(elf):
        return os.path.basename(elf.path)

    if len(image) > FLASH_SIZE:
        problems.append("the image is %d bytes, more than the %d KiB flash" % (len(image), FLASH_SIZE // 1024))
    if v3f.entry != V3F_ENTRY:
        problems.append("%s: entry 0x%08x, but the V3F starts at 0x%08x after reset (is this the V5F image? "
                        "give the V3F start-up first)" % (name(v3f), v3f.entry, V3F_ENTRY))
    if v5f.entry % WAKE_ALIGN:
        problems.append("%s: entry 0x%08x is not 1 KiB aligned: the V3F can wake the V5F only at a multiple "
                        "of 0x400" % (name(v5f), v5f.entry))
    elif v5f.entry != V5F_ENTRY:
        problems.append("%s: entry 0x%08x, but the V5F is woken at 0x%08x" % (name(v5f), v5f.entry, V5F_ENTRY))
    if not any(s.vaddr == s.paddr and s.paddr <= v5f.entry < s.paddr + len(s.data) for s in v5f.segments):
        problems.append("%s: entry 0x%08x is not in a segment stored in flash where it runs" % (name(v5f), v5f.entry))
    covered = []
    for elf, slot_start, slot_end, slot in ((v3f, 0, V5F_ENTRY, "the V3F's 64 KiB slot"),
                                            (v5f, V5F_ENTRY, FLASH_SIZE, "the V5F's slot")):
        if not elf.segments:
            problems.append("%s: no loadable segment" % name(elf))
        for seg in elf.segments:
            start, end = seg.paddr, seg.paddr + len(seg.data)
            where = "%s: segment %d (load address 0x%08x, %d bytes)" % (name(elf), seg.index, start, len(seg.data))
            if start < slot_start or end > slot_end:
                problems.append("%s lies outside %s 0x%05x..0x%05x" % (where, slot, slot_start, slot_end))
                continue
            covered.append((start, end))
            if end > len(image):
                problems.append("%s ends at offset 0x%05x, past the end of the image (%d bytes): truncated?"
                                % (where, end, len(image)))
                end = len(image)
                if start >= end:
                    continue
            got, want = image[start:end], seg.data[:end - start]
            if got != want:
                first, count = _differences(got, want)
                problems.append("%s differs at offset 0x%05x: image 0x%02x, ELF 0x%02x (%s)"
                                % (where, start + first, got[first], want[first], _count(count, "byte differs", "bytes differ")))
    position = 0
    for start, end in sorted(covered) + [(len(image), len(image))]:
        if start > position:
            fill = _fill_problem(image, position, min(start, len(image)))
            if fill:
                problems.append(fill)
        position = max(position, end)
    return problems


def check(image_path, v3f_path, v5f_path):
    with open(image_path, "rb") as f:
        image = f.read()
    problems = check_image(image, read_elf(v3f_path), read_elf(v5f_path))
    if problems:
        raise ImageError("%s does not match %s + %s:\n  %s" % (image_path, v3f_path, v5f_path, "\n  ".join(problems)))
    return "%s: %d bytes match %s and %s" % (image_path, len(image), v3f_path, v5f_path)


def main(argv):
    try:
        if len(argv) == 5 and argv[1] == "--check":
            print(check(*argv[2:]))
        elif len(argv) >= 5 and not argv[1].startswith("-"):
            build(argv[1], int(argv[2], 0), int(argv[3], 0), argv[4:])
        else:
            sys.exit(__doc__)
    except (ImageError, OSError) as e:
        sys.exit("mkimage: %s" % e)


if __name__ == "__main__":
    main(sys.argv)
