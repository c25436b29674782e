"""tinygan host package.

`tinygan.Model` is the C engine (the same API the MicroPython module exposes on the board), so
the on-device scripts can `import tinygan` unchanged under CPython. Everything heavier (PyTorch,
exporter, tools) lives in submodules and is imported only by the CLI commands that need it.
"""
__version__ = "0.1.0"

try:  # the extension is built by `pip install -e .`
    from tinygan._engine import KERNEL, Model, EngineError  # noqa: F401
except ImportError:  # pragma: no cover - only before the extension is built
    pass
