"""The `tinygan` command line: one entry point, one module per subcommand.

Each subcommand module defines `add_arguments(parser)` and `run(args) -> int`, and is imported only
when that subcommand runs, so `tinygan --help` stays fast and does not need PyTorch.
"""
import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS = {
    "train": ("tinygan.train", "train the DCGAN on procedural cats or an image folder"),
    "export": ("tinygan.export", "quantize a checkpoint to an int8 .tgw weight file"),
    "modelcard": ("tinygan.modelcard", "the model card's grid and figures (variety, KID, int8 vs float)"),
    "inspect": ("tinygan.inspect_cmd", "validate a .tgw file and print its layers"),
    "rechunk": ("tinygan.rechunk", "re-chunk a .tgw for the engine's RAM plan (same weights, same output)"),
    "reference": ("tinygan.reference", "PyTorch integer reference: .tgw + entropy -> PNG"),
    "generate": ("tinygan.generate", "C engine: .tgw + entropy -> PNG"),
    "verify": ("tinygan.verify", "C engine vs PyTorch reference on N latents"),
    "entropy": ("tinygan.qrng", "fetch quantum random bytes from the ANU QRNG into a pool file"),
    "phrases": ("tinygan.phrases", "check a phrase bank, render its clips with espeak-ng"),
    "sdcard": ("tinygan.sdcard", "build the SD card as a folder or FAT image"),
    "demo": ("tinygan.demo", "run the device application on the host: a cat and its verdict"),
    "deploy": ("tinygan.deploy", "copy scripts/ to a board with mpremote, SD content to a card"),
    "emulate": ("tinygan.emulate", "boot the firmware on an emulated board (QEMU or the CH32H417) with a card image"),
}


class CLIError(Exception):
    """A user-facing error: printed as `tinygan: error: ...` with exit status 2, no traceback."""


def build_parser():
    parser = argparse.ArgumentParser(prog="tinygan", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Parse the command name first, then let its module add its own arguments.
    if not argv or argv[0] not in COMMANDS:
        parser.parse_args(argv)  # prints help / errors for unknown commands
        parser.print_help()
        return 2
    name = argv[0]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    cmd_parser = argparse.ArgumentParser(prog="tinygan " + name, description=help_text)
    module.add_arguments(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except CLIError as exc:
        print("tinygan %s: error: %s" % (name, exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinygan %s: interrupted" % name, file=sys.stderr)
        return 130
