"""The C engine's RAM, computed in Python: the arena plan of usermod_tinygan/engine/tg_plan.c.

The exporter uses it to choose chunk sizes (large chunks read faster from an SD card, but two of
them are in RAM at once), and `tinygan inspect` prints it. tests/test_engine.py checks that these
numbers equal the engine's own `Model.arena_size` on several models and chunkings.

A layer here is anything with the descriptor attributes kind, act, cin, cout, out_h, out_w,
chunk_groups and chunk_phases (a tgw.Layer, or a LayerShape before the weights exist).
"""
from collections import namedtuple

from tinygan import tgw

LayerShape = namedtuple("LayerShape", "kind act cin cout out_h out_w chunk_groups chunk_phases")


def _align4(n):
    return (n + 3) & ~3


def shape_of(layer):
    """The LayerShape of a tgw.Layer (or any layer with those attributes), chunking not chosen."""
    return LayerShape(layer.kind, layer.act, layer.cin, layer.cout, layer.out_h, layer.out_w, 1, 1)


def n_chunks(layer):
    return tgw.layout_n_chunks(layer.kind, layer.cout, layer.chunk_groups, layer.chunk_phases)


def chunk_stride(layer):
    return tgw.pad_to_sector(tgw.layout_chunk_bytes(layer.kind, layer.cin, layer.chunk_groups, layer.chunk_phases))


def param_bytes(layer):
    """The parameter block as read into RAM: padded to whole sectors."""
    return tgw.pad_to_sector(tgw.layout_param_size(layer.act, layer.cout, n_chunks(layer)))


def fuses_last(layers):
    """The engine runs the last (RGB) layer inside the step of the layer before it."""
    return len(layers) >= 2 and layers[-1].kind == tgw.KIND_K4S2P1


def act_bytes(layers, i):
    """Padded CHW activations layer i writes (the last layer writes the caller's image)."""
    if i == len(layers) - 1:
        return 0
    layer = layers[i]
    return layer.cout * (layer.out_h + 2) * (layer.out_w + 2)


def step_regions(layers, s):
    """[(name, bytes)] of step s, the engine's placement order (input and output at the ends)."""
    n_steps = len(layers) - fuses_last(layers)
    layer = layers[s]
    regions = []
    if s:
        regions.append(("input", _align4(act_bytes(layers, s - 1))))
    if s < n_steps - 1:
        regions.append(("output", _align4(act_bytes(layers, s))))
    regions += [("chunk buffers", 2 * chunk_stride(layer)), ("parameters", param_bytes(layer))]
    if fuses_last(layers) and s == len(layers) - 2:
        last = layers[-1]
        regions += [("last layer parameters", param_bytes(last)),
                    ("last layer weights", n_chunks(last) * chunk_stride(last)),
                    ("channel-group output", _align4(layer.chunk_groups * tgw.GROUP * (layer.out_h + 2) * (layer.out_w + 2))),
                    ("last layer int32 sums", 4 * last.out_h * last.out_w * last.cout)]
    return regions


def step_sizes(layers):
    n_steps = len(layers) - fuses_last(layers)
    return [sum(b for _, b in step_regions(layers, s)) for s in range(n_steps)]


def arena_size(layers):
    return max(step_sizes(layers))
