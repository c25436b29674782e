"""`tinygan inspect`: validate a .tgw file (every check, every chunk CRC) and print its layout."""
from tinygan import arena, tgw


def describe(model):
    lines = ["%s: %d layers, latent %d (q = round(z * %d)), output %dx%dx%d, %d bytes" % (
        model.name or "(unnamed)", len(model.layers), model.latent_dim, model.latent_inv_scale,
        model.out_h, model.out_w, model.out_c, model.file_size)]
    lines.append("layer  kind          act        cin  cout  in     out    zp(in,out)  chunks x bytes (stride)   MACs")
    for i, l in enumerate(model.layers):
        lines.append("%5d  %-12s  %-9s %4d %5d  %-6s %-6s %4d,%4d   %6d x %-6d (%d)  %12d" % (
            i, tgw.KIND_NAMES[l.kind], tgw.ACT_NAMES[l.act], l.cin, l.cout, "%dx%d" % (l.in_h, l.in_w),
            "%dx%d" % (l.out_h, l.out_w), l.in_zp, l.out_zp, l.n_chunks, l.chunk_bytes, l.chunk_stride, l.macs()))
    lines.append("useful MACs per image: %d" % model.macs())
    lines.append(describe_arena(model.layers))
    return "\n".join(lines)


def describe_arena(layers):
    """The C engine's RAM for this file: the largest step of its arena plan, region by region."""
    sizes = arena.step_sizes(layers)
    peak = sizes.index(max(sizes))
    fused = " + layer %d (fused)" % (len(layers) - 1) if arena.fuses_last(layers) and peak == len(sizes) - 1 else ""
    regions = ", ".join("%s %d" % r for r in arena.step_regions(layers, peak))
    return "engine arena: %d bytes (%.1f KiB), largest at layer %d%s: %s" % (max(sizes), max(sizes) / 1024, peak, fused, regions)


def add_arguments(p):
    p.add_argument("model", help=".tgw weight file")


def run(args):
    from tinygan.cli import CLIError

    try:
        model = tgw.read_tgw(args.model)
    except (OSError, tgw.TgwError) as exc:
        raise CLIError("%s: %s" % (args.model, exc))
    print(describe(model))
    print("OK: all checks and chunk CRCs pass")
    return 0
