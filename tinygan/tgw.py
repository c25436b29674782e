"""The .tgw weight file (docs/weight-format.md): writer and validating reader.

`read_tgw` applies every check of the format document in its order and raises `TgwError` naming
the field, layer or chunk at fault; a file it accepts is safe for the engine to run.
"""
import math
import struct
import zlib

import numpy as np

MAGIC = b"TINYGANW"
VERSION = 1
SECTOR = 512
HEADER_SIZE = 512
MAX_LAYERS = 6
DESC_SIZE = 64
DESC_OFFSET = 64
GROUP = 4
N_THRESH = 255
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
NAME_BYTES = 32
OUT_C = 3  # the image is RGB, HWC, channel 0 red

KIND_K4S1P0 = 1  # 1x1 input -> 4x4 output (the first DCGAN layer)
KIND_K4S2P1 = 2  # doubles H and W
ACT_REQUANT = 1
ACT_THRESHOLD = 2

KIND_NAMES = {KIND_K4S1P0: "convt_k4s1p0", KIND_K4S2P1: "convt_k4s2p1"}
ACT_NAMES = {ACT_REQUANT: "requant", ACT_THRESHOLD: "threshold"}
KIND_PHASES_TAPS = {KIND_K4S1P0: (16, 1), KIND_K4S2P1: (4, 4)}

# Tap tables of the stride-2 gather (docs/weight-format.md, Packing): for output parity p and
# tap index t, kernel index K[p][t] reads input index m + D[p][t].
K_TAP = ((1, 3), (2, 0))
D_TAP = ((0, -1), (0, 1))

_HEADER = struct.Struct("<8sHHIHHHHHHI32s")  # up to offset 64
_DESC = struct.Struct("<BBHHHHHHbbHHHHHHIIIIIff8s")


class TgwError(ValueError):
    """A .tgw file is malformed; the message names the field, layer or chunk."""


def crc32(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def pad_to_sector(n):
    return (n + SECTOR - 1) // SECTOR * SECTOR


class Layer:
    """One ConvTranspose layer: descriptor fields, integer parameters and packed weights."""

    FIELDS = ("kind", "act", "cin", "cout", "in_h", "in_w", "out_h", "out_w", "in_zp", "out_zp",
              "group", "phases", "taps", "chunk_groups", "chunk_phases", "n_chunks",
              "param_offset", "param_size", "chunk_offset", "chunk_bytes", "chunk_stride",
              "in_scale", "out_scale")

    def __init__(self, **kw):
        for name in self.FIELDS:
            setattr(self, name, kw.pop(name, 0))
        self.bias = kw.pop("bias")            # int32 [cout]
        self.mult = kw.pop("mult", None)      # int32 [cout] (REQUANT)
        self.shift = kw.pop("shift", None)    # int32 [cout] (REQUANT)
        self.thresholds = kw.pop("thresholds", None)  # int32 [cout, 255] (THRESHOLD)
        self.packed = kw.pop("packed")        # int8, the layer's weights in file (chunk) order
        self.chunk_crc = kw.pop("chunk_crc", None)
        if kw:
            raise TypeError("unknown Layer fields: %s" % ", ".join(kw))

    @property
    def cout_padded(self):
        return (self.cout + GROUP - 1) // GROUP * GROUP

    @property
    def is_threshold(self):
        return self.act == ACT_THRESHOLD

    def macs(self):
        """Useful MACs (taps that land inside the input), real channels only."""
        if self.kind == KIND_K4S1P0:
            return self.cin * self.cout * 16
        # k4 s2 p1: per axis each of the 2h outputs takes 2 taps, except one tap at each border
        # that falls outside the input: 4h - 2 valid (output, tap) pairs per axis.
        return (4 * self.in_h - 2) * (4 * self.in_w - 2) * self.cin * self.cout

    def weights_torch(self):
        """Unpack to the PyTorch ConvTranspose2d layout [cin, cout, 4, 4] (int8)."""
        return unpack_weights(self.packed, self.kind, self.cin, self.cout, self.chunk_groups,
                              self.chunk_phases)


class TgwModel:
    def __init__(self, layers, latent_dim, latent_inv_scale, out_h=64, out_w=64, out_c=3, name=""):
        self.layers = layers
        self.latent_dim = latent_dim
        self.latent_inv_scale = latent_inv_scale
        self.out_h, self.out_w, self.out_c = out_h, out_w, out_c
        self.name = name
        self.file_size = 0

    def macs(self):
        return sum(layer.macs() for layer in self.layers)


# ----------------------------------------------------------------------------- packing

def tap_kernel_index(kind, phase, tap):
    """(ky, kx) of PyTorch's kernel read by `tap` of output `phase`."""
    if kind == KIND_K4S1P0:
        return phase // 4, phase % 4
    py, px = phase // 2, phase % 2
    ty, tx = tap // 2, tap % 2
    return K_TAP[py][ty], K_TAP[px][tx]


def _gather_index(kind):
    """Arrays ky[phase, tap], kx[phase, tap] for the packing order."""
    phases, taps = KIND_PHASES_TAPS[kind]
    ky = np.zeros((phases, taps), dtype=np.int64)
    kx = np.zeros((phases, taps), dtype=np.int64)
    for ph in range(phases):
        for t in range(taps):
            ky[ph, t], kx[ph, t] = tap_kernel_index(kind, ph, t)
    return ky, kx


def pack_weights(w, kind, chunk_groups, chunk_phases):
    """[cin, cout, 4, 4] int8 -> flat int8 in file order (chunk by chunk, docs 'Packing')."""
    cin, cout = w.shape[:2]
    phases, taps = KIND_PHASES_TAPS[kind]
    cout_p = (cout + GROUP - 1) // GROUP * GROUP
    wp = np.zeros((cin, cout_p, 4, 4), dtype=np.int8)
    wp[:, :cout] = w
    ky, kx = _gather_index(kind)
    # g[groups, phases, cin, taps, 4]
    g = wp[:, :, ky, kx]                       # [cin, cout_p, phases, taps]
    g = g.reshape(cin, cout_p // GROUP, GROUP, phases, taps)
    g = g.transpose(1, 3, 0, 4, 2)             # [groups, phases, cin, taps, GROUP]
    ngroups = cout_p // GROUP
    g = g.reshape(ngroups // chunk_groups, chunk_groups, phases // chunk_phases, chunk_phases,
                  cin, taps, GROUP)
    g = g.transpose(0, 2, 1, 3, 4, 5, 6)       # chunk-major: [gblk, phblk, g, ph, ci, t, j]
    return np.ascontiguousarray(g).reshape(-1)


def unpack_weights(packed, kind, cin, cout, chunk_groups, chunk_phases):
    phases, taps = KIND_PHASES_TAPS[kind]
    cout_p = (cout + GROUP - 1) // GROUP * GROUP
    ngroups = cout_p // GROUP
    g = np.asarray(packed, dtype=np.int8).reshape(
        ngroups // chunk_groups, phases // chunk_phases, chunk_groups, chunk_phases, cin, taps, GROUP)
    g = g.transpose(0, 2, 1, 3, 4, 5, 6).reshape(ngroups, phases, cin, taps, GROUP)
    w = np.zeros((cin, cout_p, 4, 4), dtype=np.int8)
    ky, kx = _gather_index(kind)
    gt = g.transpose(2, 0, 4, 1, 3).reshape(cin, cout_p, phases, taps)
    w[:, :, ky, kx] = gt
    return w[:, :cout]


# ----------------------------------------------------------------------------- writer

def _param_bytes(layer):
    parts = [np.asarray(layer.bias, dtype="<i4").tobytes()]
    if layer.is_threshold:
        parts.append(np.asarray(layer.thresholds, dtype="<i4").reshape(-1).tobytes())
    else:
        parts.append(np.asarray(layer.mult, dtype="<i4").tobytes())
        parts.append(np.asarray(layer.shift, dtype="<i4").tobytes())
    parts.append(np.asarray(layer.chunk_crc, dtype="<u4").tobytes())
    body = b"".join(parts)
    return body + struct.pack("<I", crc32(body))


# The layout a descriptor's fields imply (docs/weight-format.md): one definition for the writer,
# the reader's checks and the engine's RAM plan (tinygan.arena).

def layout_n_chunks(kind, cout, chunk_groups, chunk_phases):
    ngroups = (cout + GROUP - 1) // GROUP
    return (ngroups // chunk_groups) * (KIND_PHASES_TAPS[kind][0] // chunk_phases)


def layout_chunk_bytes(kind, cin, chunk_groups, chunk_phases):
    return chunk_groups * chunk_phases * cin * KIND_PHASES_TAPS[kind][1] * GROUP


def layout_param_size(act, cout, n_chunks):
    """Unpadded parameter block: per-channel values, the chunk CRCs and the block's own CRC."""
    per_channel = (1 + N_THRESH) if act == ACT_THRESHOLD else 3
    return 4 * (cout * per_channel + n_chunks + 1)


def expected_param_size(layer):
    return layout_param_size(layer.act, layer.cout, layer.n_chunks)


def write_tgw(model):
    """Serialise a TgwModel (layers carry packed weights and parameters) to bytes.

    Fills in the layout fields (offsets, sizes, chunk CRCs) of every layer.
    """
    if not 1 <= len(model.layers) <= MAX_LAYERS:
        raise ValueError("a model has 1..%d layers" % MAX_LAYERS)
    body = []
    offset = HEADER_SIZE
    for layer in model.layers:
        layer.group = GROUP
        layer.phases, layer.taps = KIND_PHASES_TAPS[layer.kind]
        layer.n_chunks = layout_n_chunks(layer.kind, layer.cout, layer.chunk_groups, layer.chunk_phases)
        layer.chunk_bytes = layout_chunk_bytes(layer.kind, layer.cin, layer.chunk_groups, layer.chunk_phases)
        layer.chunk_stride = pad_to_sector(layer.chunk_bytes)
        packed = np.asarray(layer.packed, dtype=np.int8)
        if packed.size != layer.n_chunks * layer.chunk_bytes:
            raise ValueError("packed weights have %d bytes, layout needs %d"
                             % (packed.size, layer.n_chunks * layer.chunk_bytes))
        chunks = []
        for i in range(layer.n_chunks):
            c = packed[i * layer.chunk_bytes:(i + 1) * layer.chunk_bytes].tobytes()
            chunks.append(c + bytes(layer.chunk_stride - len(c)))
        layer.chunk_crc = [crc32(c) for c in chunks]
        params = _param_bytes(layer)
        layer.param_offset = offset
        layer.param_size = len(params)
        offset += pad_to_sector(len(params))
        layer.chunk_offset = offset
        offset += layer.n_chunks * layer.chunk_stride
        body.append(params + bytes(pad_to_sector(len(params)) - len(params)))
        body.extend(chunks)
    model.file_size = offset

    header = bytearray(HEADER_SIZE)
    name = encode_name(model.name)
    _HEADER.pack_into(header, 0, MAGIC, VERSION, HEADER_SIZE, model.file_size, len(model.layers),
                      model.latent_dim, model.latent_inv_scale, model.out_h, model.out_w,
                      model.out_c, 0, name)
    for i, layer in enumerate(model.layers):
        _DESC.pack_into(header, DESC_OFFSET + i * DESC_SIZE, layer.kind, layer.act, layer.cin,
                        layer.cout, layer.in_h, layer.in_w, layer.out_h, layer.out_w, layer.in_zp,
                        layer.out_zp, layer.group, layer.phases, layer.taps, layer.chunk_groups,
                        layer.chunk_phases, layer.n_chunks, layer.param_offset, layer.param_size,
                        layer.chunk_offset, layer.chunk_bytes, layer.chunk_stride,
                        float(layer.in_scale), float(layer.out_scale), bytes(8))
    struct.pack_into("<I", header, HEADER_SIZE - 4, crc32(bytes(header[:HEADER_SIZE - 4])))
    return bytes(header) + b"".join(body)


# ----------------------------------------------------------------------------- reader

def _check(cond, msg):
    if not cond:
        raise TgwError(msg)


def _parse_header(data):
    _check(len(data) >= HEADER_SIZE, "truncated: %d bytes, the header alone is %d" % (len(data), HEADER_SIZE))
    (magic, version, header_size, file_size, n_layers, latent_dim, inv_scale, out_h, out_w, out_c,
     flags, name) = _HEADER.unpack_from(data, 0)
    _check(magic == MAGIC, "magic: %r is not a tinygan weight file (expected %r)" % (magic, MAGIC))
    _check(version == VERSION, "version: %d not supported (this reader knows %d)" % (version, VERSION))
    _check(header_size == HEADER_SIZE, "header_size: %d (expected %d)" % (header_size, HEADER_SIZE))
    stored = struct.unpack_from("<I", data, HEADER_SIZE - 4)[0]
    _check(crc32(data[:HEADER_SIZE - 4]) == stored, "header_crc: mismatch (header corrupted)")
    _check(flags == 0, "flags: 0x%x (reserved, must be 0)" % flags)
    _check(len(data) >= file_size, "truncated: file has %d bytes, header says file_size %d" % (len(data), file_size))
    _check(len(data) == file_size, "trailing bytes: file has %d bytes, header says file_size %d" % (len(data), file_size))
    _check(1 <= n_layers <= MAX_LAYERS, "n_layers: %d (must be 1..%d)" % (n_layers, MAX_LAYERS))
    used_end = DESC_OFFSET + n_layers * DESC_SIZE
    _check(not any(data[used_end:HEADER_SIZE - 4]), "reserved header bytes: not zero")
    _check(latent_dim % 2 == 0, odd_latent_message(latent_dim))
    _check(inv_scale >= 1, "latent_inv_scale: %d (must be 1..65535)" % inv_scale)
    _check(out_c == OUT_C, "out_c: %d (the image is RGB: 3)" % out_c)
    model = TgwModel([], latent_dim, inv_scale, out_h, out_w, out_c, _parse_name(name))
    model.file_size = file_size
    return model, n_layers


def odd_latent_message(latent_dim):
    """The one message every tool gives for an odd latent size (scripts/latent.py has its twin)."""
    return ("latent_dim: %d is odd (the latent is made of Box-Muller pairs, so latent_dim must be even)"
            % latent_dim)


def _parse_name(raw):
    """The header's name: UTF-8, then NUL padding to 32 bytes (nothing after the first NUL)."""
    end = raw.find(b"\0")
    text = raw if end < 0 else raw[:end]
    _check(end < 0 or not any(raw[end:]), "name: bytes after the terminating NUL must be zero")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise TgwError("name: not valid UTF-8")


def encode_name(name):
    """The name field's bytes: UTF-8 cut at a character boundary to fit 32 bytes."""
    if "\0" in name:
        raise ValueError("model name %r contains a NUL character" % name)
    raw = name.encode("utf-8")[:NAME_BYTES]
    while raw:
        try:
            raw.decode("utf-8")
            return raw
        except UnicodeDecodeError:  # a multi-byte character cut at the end
            raw = raw[:-1]
    return raw


def _parse_descriptor(data, i):
    v = _DESC.unpack_from(data, DESC_OFFSET + i * DESC_SIZE)
    fields = dict(zip(Layer.FIELDS, v[:-1]))
    _check(not any(v[-1]), "layer %d: reserved descriptor bytes not zero" % i)
    return fields


def _check_descriptor(d, i, n_layers, prev, model, file_size):
    where = "layer %d" % i
    _check(d["kind"] in KIND_NAMES, "%s: kind %d unknown" % (where, d["kind"]))
    _check(d["act"] in ACT_NAMES, "%s: act %d unknown" % (where, d["act"]))
    last = i == n_layers - 1
    want_act = ACT_THRESHOLD if last else ACT_REQUANT
    _check(d["act"] == want_act, "%s: act %s (the last layer is threshold, others requant)"
           % (where, ACT_NAMES[d["act"]]))
    _check(prev is not None or d["kind"] == KIND_K4S1P0,
           "layer 0: kind must be convt_k4s1p0 (the first layer takes the 1x1 latent)")
    if prev is None:
        _check(d["cin"] == model.latent_dim, "%s: cin %d != latent_dim %d" % (where, d["cin"], model.latent_dim))
        _check(d["in_h"] == 1 and d["in_w"] == 1, "%s: in_h/in_w must be 1x1" % where)
        _check(d["in_zp"] == 0, "%s: in_zp %d (the latent has zero point 0)" % (where, d["in_zp"]))
    else:
        for field, pfield in (("cin", "cout"), ("in_h", "out_h"), ("in_w", "out_w"), ("in_zp", "out_zp")):
            _check(d[field] == prev[pfield], "%s: %s %d != layer %d %s %d"
                   % (where, field, d[field], i - 1, pfield, prev[pfield]))
    _check(d["cin"] > 0 and d["cout"] > 0 and d["in_h"] > 0 and d["in_w"] > 0,
           "%s: zero-sized shape" % where)
    if d["kind"] == KIND_K4S1P0:
        _check(d["in_h"] == 1 and d["in_w"] == 1, "%s: kind convt_k4s1p0 needs a 1x1 input" % where)
        want_hw = (4, 4)
    else:
        want_hw = (2 * d["in_h"], 2 * d["in_w"])
    _check((d["out_h"], d["out_w"]) == want_hw, "%s: out_h/out_w %dx%d (expected %dx%d)"
           % (where, d["out_h"], d["out_w"], want_hw[0], want_hw[1]))
    if last:
        _check((d["out_h"], d["out_w"], d["cout"]) == (model.out_h, model.out_w, model.out_c),
               "%s: output %dx%dx%d != header out_h/out_w/out_c %dx%dx%d"
               % (where, d["out_h"], d["out_w"], d["cout"], model.out_h, model.out_w, model.out_c))
        _check(d["out_zp"] == 0, "%s: out_zp %d (threshold layer needs 0)" % (where, d["out_zp"]))
    else:
        _check(d["out_zp"] == -128, "%s: out_zp %d (requant layers are ReLU with -128)" % (where, d["out_zp"]))
    _check(d["group"] == GROUP, "%s: group %d (must be %d)" % (where, d["group"], GROUP))
    phases, taps = KIND_PHASES_TAPS[d["kind"]]
    _check(d["phases"] == phases, "%s: phases %d (expected %d)" % (where, d["phases"], phases))
    _check(d["taps"] == taps, "%s: taps %d (expected %d)" % (where, d["taps"], taps))
    ngroups = (d["cout"] + GROUP - 1) // GROUP
    _check(d["chunk_groups"] > 0 and ngroups % d["chunk_groups"] == 0,
           "%s: chunk_groups %d does not divide %d channel groups" % (where, d["chunk_groups"], ngroups))
    _check(d["chunk_phases"] > 0 and phases % d["chunk_phases"] == 0,
           "%s: chunk_phases %d does not divide %d phases" % (where, d["chunk_phases"], phases))
    n_chunks = layout_n_chunks(d["kind"], d["cout"], d["chunk_groups"], d["chunk_phases"])
    _check(d["n_chunks"] == n_chunks, "%s: n_chunks %d (layout gives %d)" % (where, d["n_chunks"], n_chunks))
    chunk_bytes = layout_chunk_bytes(d["kind"], d["cin"], d["chunk_groups"], d["chunk_phases"])
    _check(d["chunk_bytes"] == chunk_bytes, "%s: chunk_bytes %d (layout gives %d)" % (where, d["chunk_bytes"], chunk_bytes))
    _check(d["chunk_stride"] == pad_to_sector(chunk_bytes),
           "%s: chunk_stride %d (expected %d)" % (where, d["chunk_stride"], pad_to_sector(chunk_bytes)))
    param_size = layout_param_size(d["act"], d["cout"], d["n_chunks"])
    _check(d["param_size"] == param_size, "%s: param_size %d (layout gives %d)" % (where, d["param_size"], param_size))
    expected_param_offset = HEADER_SIZE if prev is None else prev["chunk_offset"] + prev["n_chunks"] * prev["chunk_stride"]
    _check(d["param_offset"] == expected_param_offset,
           "%s: param_offset %d (expected %d, sections are contiguous)" % (where, d["param_offset"], expected_param_offset))
    _check(d["chunk_offset"] == d["param_offset"] + pad_to_sector(d["param_size"]),
           "%s: chunk_offset %d (expected %d)" % (where, d["chunk_offset"], d["param_offset"] + pad_to_sector(d["param_size"])))
    end = d["chunk_offset"] + d["n_chunks"] * d["chunk_stride"]
    _check(end <= file_size, "%s: chunks end at %d, past file_size %d" % (where, end, file_size))
    if last:
        _check(end == file_size, "%s: chunks end at %d but file_size is %d" % (where, end, file_size))
    _check_scales(d, i, prev, last)
    return end


def _positive_finite(x):
    return math.isfinite(x) and x > 0


def _check_scales(d, i, prev, last):
    """The informational float fields: real scales (finite, > 0), chained, 0 for THRESHOLD's output."""
    _check(_positive_finite(d["in_scale"]), "layer %d: in_scale must be finite and > 0" % i)
    _check(prev is None or d["in_scale"] == prev["out_scale"],
           "layer %d: in_scale differs from layer %d out_scale" % (i, i - 1))
    if last:
        _check(d["out_scale"] == 0, "layer %d: out_scale must be 0 (threshold layer)" % i)
    else:
        _check(_positive_finite(d["out_scale"]), "layer %d: out_scale must be finite and > 0 (requant layer)" % i)


def _parse_params(data, d, i):
    where = "layer %d params" % i
    off, size = d["param_offset"], d["param_size"]
    block = data[off:off + size]
    stored = struct.unpack_from("<I", block, size - 4)[0]
    _check(crc32(block[:size - 4]) == stored, "%s: param_crc mismatch (parameter block corrupted)" % where)
    _check(not any(data[off + size:off + pad_to_sector(size)]), "%s: padding not zero" % where)
    cout, n_chunks = d["cout"], d["n_chunks"]
    arr = np.frombuffer(block, dtype="<i4", count=(size - 4) // 4).astype(np.int64)
    out = {"bias": arr[:cout]}
    pos = cout
    if d["act"] == ACT_THRESHOLD:
        th = arr[pos:pos + cout * N_THRESH].reshape(cout, N_THRESH)
        pos += cout * N_THRESH
        bad = np.nonzero(np.any(np.diff(th, axis=1) < 0, axis=1))[0]
        _check(bad.size == 0, "%s: thresholds of channel %d decrease" % (where, bad[0] if bad.size else -1))
        out["thresholds"] = th
    else:
        mult, shift = arr[pos:pos + cout], arr[pos + cout:pos + 2 * cout]
        pos += 2 * cout
        for c in range(cout):
            m, s = int(mult[c]), int(shift[c])
            _check(-31 <= s <= 30, "%s: shift[%d] = %d outside -31..30" % (where, c, s))
            _check((1 << 30) <= m < (1 << 31) or (m == 0 and s == 0),
                   "%s: mult[%d] = %d outside [2^30, 2^31)" % (where, c, m))
        out["mult"], out["shift"] = mult, shift
    out["chunk_crc"] = (arr[pos:pos + n_chunks] & 0xFFFFFFFF).astype(np.uint32)
    return out


# ----------------------------------------------------------------------------- accumulator bounds
# docs/weight-format.md, "The int32 rule": for every output channel, every partial sum the engine
# can form (any subset of the terms w * (x - in_zp), with or without the bias) and the requant
# input acc << shift stay inside int32, for every input the engine accepts.

def input_range(layer_index):
    """(lo, hi) of an input value minus its zero point: any int8 latent value for layer 0, 0..255 after."""
    return (-128, 127) if layer_index == 0 else (0, 255)


def valid_taps(kind, in_h, in_w):
    """Indices of the taps that land inside the input at some output pixel (all of them at once at
    the pixel with the most): a stride-2 tap index 1 needs a second input row (column)."""
    if kind == KIND_K4S1P0:
        return [0]
    return [t for t in range(4) if (t >> 1 == 0 or in_h >= 2) and (t & 1 == 0 or in_w >= 2)]


def _channel_problems(f, i, bias, shift, w):
    """Which channel slots of which chunks break a chunk rule, from the weights w [n_chunks, chunk_bytes].

    Returns (bad [n_chunks, slots] bool, message(chunk, slot)). Slot k of chunk c is channel
    (c // phase_blocks) * chunk_groups * 4 + k; channels >= cout are padding (weights must be 0).
    """
    cg, cp = f["chunk_groups"], f["chunk_phases"]
    phases, taps = KIND_PHASES_TAPS[f["kind"]]
    n, slots, cout = f["n_chunks"], f["chunk_groups"] * GROUP, f["cout"]
    w = w.reshape(n, cg, cp, f["cin"], taps, GROUP)
    tap_ix = valid_taps(f["kind"], f["in_h"], f["in_w"])
    xlo, xhi = input_range(i)
    chan = (np.arange(n) // (phases // cp))[:, None] * slots + np.arange(slots)[None, :]
    real = chan < cout
    b = np.concatenate([np.asarray(bias, np.int64), np.zeros(slots, np.int64)])[chan]
    s = np.zeros_like(b)
    if shift is not None:
        s = np.concatenate([np.asarray(shift, np.int64), np.zeros(slots, np.int64)])[chan]
    left = np.where(real & (s > 0), s, 0)

    def breaks_rule(lo, hi):
        acc = real & ((np.maximum(b, 0) + hi > INT32_MAX) | (np.minimum(b, 0) + lo < INT32_MIN))
        shifted = (left > 0) & ((b + hi > (INT32_MAX >> left)) | (b + lo < (INT32_MIN >> left)))
        return acc, shifted

    # Any int8 weights (|w| <= 128) bound the terms by +-worst: where even that keeps the rule, the
    # exact sums cannot break it, and the 12.6M weights of a full model need not be summed.
    worst = 128 * f["cin"] * len(tap_ix) * max(-xlo, xhi)
    acc_bad, shift_bad = breaks_rule(-worst, worst)
    if acc_bad.any() or shift_bad.any():
        used = w[:, :, :, :, tap_ix, :]
        total = used.sum(axis=(3, 4), dtype=np.int64)                              # T [n, cg, cp, 4]
        absolute = np.abs(used.astype(np.int16)).sum(axis=(3, 4), dtype=np.int64)  # S
        pos, neg = (absolute + total) // 2, (absolute - total) // 2               # P, N
        hi = (xhi * pos - xlo * neg).max(axis=2).reshape(n, slots)  # the terms' range over the phases
        lo = (xlo * pos - xhi * neg).min(axis=2).reshape(n, slots)
        acc_bad, shift_bad = breaks_rule(lo, hi)
    pad_bad = np.zeros_like(acc_bad)
    if cout % GROUP:  # the last channel group has padding lanes
        last = (cout - 1) // GROUP
        chunks = slice(last // cg * (phases // cp), (last // cg + 1) * (phases // cp))
        lanes = w[chunks, last % cg, :, :, :, cout % GROUP:]
        pad_bad[chunks, (last % cg) * GROUP + cout % GROUP:] = np.any(lanes != 0, axis=(1, 2, 3))

    def message(c, k):
        ch = int(chan[c, k])
        if pad_bad[c, k]:
            return "layer %d chunk %d: weights of padding channel %d not zero" % (i, c, ch)
        if acc_bad[c, k]:
            return ("layer %d channel %d: accumulator can overflow int32 (bias %d, weights x inputs %d..%d)"
                    % (i, ch, int(b[c, k]), xlo, xhi))
        return "layer %d channel %d: shift %d makes acc << shift overflow int32" % (i, ch, int(s[c, k]))

    return acc_bad | shift_bad | pad_bad, message


def layer_weight_problem(layer, i):
    """The reader's message for the first chunk of a Layer (index i) that breaks the int32 rule or
    has non-zero padding-channel weights, or None. The exporter calls it before writing."""
    f = {name: getattr(layer, name) for name in ("kind", "cin", "cout", "in_h", "in_w", "chunk_groups", "chunk_phases")}
    f["n_chunks"] = layout_n_chunks(layer.kind, layer.cout, layer.chunk_groups, layer.chunk_phases)
    w = np.asarray(layer.packed, dtype=np.int8).reshape(f["n_chunks"], -1)
    bad, message = _channel_problems(f, i, layer.bias, layer.shift, w)
    hits = np.argwhere(bad)
    return message(*hits[0]) if hits.size else None


def _check_chunks(d, i, params, region, check_crc):
    """Chunk checks in the C engine's streaming order: per chunk its CRC, its zero padding, then its
    channels in order (int32 rule, padding channels)."""
    n = d["n_chunks"]
    problems = []  # (chunk, rank, message()) candidates; the smallest wins
    if check_crc:
        bad = [c for c in range(n) if crc32(region[c].tobytes()) != int(params["chunk_crc"][c])]
        if bad:
            problems.append((bad[0], 0, lambda c=bad[0]: "layer %d chunk %d: CRC mismatch (weights corrupted)" % (i, c)))
    pad = np.flatnonzero(np.any(region[:, d["chunk_bytes"]:], axis=1))
    if pad.size:
        problems.append((int(pad[0]), 1, lambda c=int(pad[0]): "layer %d chunk %d: padding not zero" % (i, c)))
    bad, message = _channel_problems(d, i, params["bias"], params.get("shift"),
                                     region[:, :d["chunk_bytes"]].view(np.int8))
    hits = np.argwhere(bad)
    if hits.size:
        problems.append((int(hits[0][0]), 2, lambda: message(*hits[0])))
    if problems:
        raise TgwError(min(problems, key=lambda p: p[:2])[2]())


def read_tgw(source, check_chunks=True):
    """Parse and validate a .tgw file (path or bytes). Raises TgwError naming what is wrong.

    Order (docs/weight-format.md, Checks): the header, every descriptor, then layer by layer its
    parameter block and its chunks. check_chunks=False skips only the chunk CRCs.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        with open(source, "rb") as f:
            data = f.read()
    model, n_layers = _parse_header(data)
    descriptors, prev = [], None
    for i in range(n_layers):
        d = _parse_descriptor(data, i)
        _check_descriptor(d, i, n_layers, prev, model, model.file_size)
        descriptors.append(d)
        prev = d
    for i, d in enumerate(descriptors):
        params = _parse_params(data, d, i)
        region = np.frombuffer(data, dtype=np.uint8, count=d["n_chunks"] * d["chunk_stride"],
                               offset=d["chunk_offset"]).reshape(d["n_chunks"], d["chunk_stride"])
        _check_chunks(d, i, params, region, check_chunks)
        packed = np.ascontiguousarray(region[:, :d["chunk_bytes"]]).view(np.int8).reshape(-1)
        model.layers.append(Layer(packed=packed, **params, **d))
    return model
