"""`tinygan rechunk`: rewrite a .tgw with the chunk sizes the exporter picks today.

Chunking is a file-layout choice, not a numerical one: the weights, biases, multipliers and
thresholds are copied unchanged, only regrouped into chunks (with new CRCs), so the engine's output
is byte-identical. Use it on a file from an older exporter to get the smaller engine arena of the
current chunk policy (export.choose_chunkings), or with --chunk-kb to trade RAM for SD read size.
"""
import os

from tinygan import arena, export, tgw
from tinygan.fsutil import write_atomic


def rechunk(model, max_bytes=export.DEFAULT_CHUNK_BYTES):
    """A new TgwModel with the same parameters, chunked by export.choose_chunkings."""
    shapes = [arena.shape_of(layer) for layer in model.layers]
    layers = []
    for layer, (cg, cp) in zip(model.layers, export.choose_chunkings(shapes, max_bytes)):
        fields = {name: getattr(layer, name) for name in ("kind", "act", "cin", "cout", "in_h", "in_w", "out_h", "out_w",
                                                          "in_zp", "out_zp", "in_scale", "out_scale")}
        layers.append(tgw.Layer(chunk_groups=cg, chunk_phases=cp, bias=layer.bias, mult=layer.mult, shift=layer.shift,
                                thresholds=layer.thresholds,
                                packed=tgw.pack_weights(layer.weights_torch(), layer.kind, cg, cp), **fields))
    return tgw.TgwModel(layers, model.latent_dim, model.latent_inv_scale, model.out_h, model.out_w, model.out_c,
                        model.name)


def add_arguments(p):
    p.add_argument("model", help="input .tgw weight file")
    p.add_argument("-o", "--output", required=True, help="output .tgw (may be the input: it is replaced atomically)")
    p.add_argument("--chunk-kb", type=int, default=export.DEFAULT_CHUNK_BYTES // 1024,
                   help="largest weight chunk in KiB (default %d)" % (export.DEFAULT_CHUNK_BYTES // 1024))


def run(args):
    from tinygan.cli import CLIError

    try:
        model = tgw.read_tgw(args.model)
    except (OSError, tgw.TgwError) as exc:
        raise CLIError("%s: %s" % (args.model, exc))
    if args.chunk_kb < 1:
        raise CLIError("--chunk-kb must be at least 1")
    before = arena.arena_size(model.layers)
    new = rechunk(model, args.chunk_kb * 1024)
    write_atomic(args.output, tgw.write_tgw(new))
    print("%s: %d -> %d bytes of engine arena; chunks per layer %s -> %s; wrote %s (%d bytes)" % (
        os.path.basename(args.model), before, arena.arena_size(new.layers),
        [l.n_chunks for l in model.layers], [l.n_chunks for l in new.layers], args.output, new.file_size))
    return 0
