"""`tinygan demo`: end to end. The plumbing test uses a stand-in model (always runs); the real
test uses the C engine and weights/default.tgw and runs when both are present."""
import hashlib
import os
import subprocess
import sys
import types
import wave

import numpy as np
import pytest
from PIL import Image

from tinygan import demo, phrases
from tinygan.appshim import DEFAULT_WEIGHTS, REPO, SDCARD_SRC

needs_espeak = pytest.mark.skipif(not os.path.exists("/usr/bin/espeak-ng"), reason="espeak-ng")


class StandIn:
    latent_dim = 100
    latent_inv_scale = 32
    out_shape = (64, 64, 3)

    def __init__(self, path):
        self.path = path

    def verify(self):
        pass

    def generate(self, z, out=None, progress=None):
        z = bytes(b & 0xFF for b in z)
        return bytearray((z[i % 100] * 7 + i) & 0xFF for i in range(64 * 64 * 3))


def sdcard_src_digest():
    h = hashlib.sha256()
    for d, dirs, files in sorted(os.walk(SDCARD_SRC)):
        dirs.sort()
        for f in sorted(files):
            h.update(f.encode())
            h.update(open(os.path.join(d, f), "rb").read())
    return h.hexdigest()


def check_outputs(out):
    """cat.png is a 64x64 RGB image; verdict.wav is valid, not silent, and is exactly the
    verdict's fragments spoken (each fragment re-rendered independently from its text)."""
    img = np.asarray(Image.open(os.path.join(out, "cat.png")))
    assert img.shape == (64, 64, 3) and img.std() > 5
    mood, text = open(os.path.join(out, "verdict.txt")).read().strip().split("\n")
    assert mood in ("motivated", "demotivated")
    with wave.open(os.path.join(out, "verdict.wav")) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (11025, 1, 1)
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.uint8)
    s = samples.astype(int) - 128
    assert np.sqrt((s ** 2).mean()) > 5, "verdict.wav is silent"
    # Which fragments: the bank's texts that make up the verdict, in slot order.
    from tinygan.appshim import use_scripts
    use_scripts()
    import phrasebank
    bank = phrasebank.Bank(SDCARD_SRC, audio=False)
    rest, frags = text, []
    for clips in bank.slots[mood]:
        match = [c[0] for c in clips if rest.startswith(c[0])]
        assert len(match) == 1, (rest, match)
        frags.append(match[0])
        rest = rest[len(match[0]):].lstrip()
    assert rest == ""
    expect = b"".join(phrases.clip_bytes(t)[44:44 + _nsamples(phrases.clip_bytes(t))]
                      for t in frags)
    assert samples.tobytes() == expect
    # And its length is plausible for the sentence: espeak-ng reading it in one go.
    whole, rate = phrases.espeak_samples(text)
    ratio = (len(samples) / 11025.0) / (len(whole) / float(rate))
    assert 0.8 < ratio < 1.8, ratio
    return mood, text, len(samples) / 11025.0


def _nsamples(clip):
    return int.from_bytes(clip[40:44], "little")


@needs_espeak
def test_demo_plumbing_stand_in_model(tmp_path, capsys):
    before = sdcard_src_digest()
    model = tmp_path / "m.tgw"
    model.write_bytes(b"stand-in")
    sd = tmp_path / "sd"
    args = types.SimpleNamespace(out=str(tmp_path / "o1"), sd=str(sd), model=str(model),
                                 terminal=False)
    assert demo.run(args, model_factory=StandIn) == 0
    check_outputs(args.out)
    cur1 = _cursor(sd)
    args.out = str(tmp_path / "o2")
    assert demo.run(args, model_factory=StandIn) == 0
    check_outputs(args.out)
    assert _cursor(sd) - cur1 == 205, "each cat takes exactly 205 new bytes"
    assert sdcard_src_digest() == before, "the demo modified the repository's sdcard/"
    assert "NOT quantum" in capsys.readouterr().out


def test_demo_refuses_sd_inside_repo(tmp_path):
    from tinygan.cli import CLIError
    args = types.SimpleNamespace(out=str(tmp_path), sd=SDCARD_SRC, model="x", terminal=False)
    with pytest.raises(CLIError, match="inside the repository"):
        demo.run(args, model_factory=StandIn)


def _cursor(sd):
    from tinygan.appshim import use_scripts
    use_scripts()
    import entropy
    return entropy.Pool(str(sd)).cursor()


def _engine_built():
    try:
        import tinygan
        return hasattr(tinygan, "Model")
    except Exception:
        return False


@needs_espeak
@pytest.mark.skipif(not _engine_built(), reason="C engine not built")
def test_demo_real_engine_small_exported_model(tmp_path):
    """The C engine through the demo CLI on a small model exported by the contract's exporter
    (runs before/without weights/default.tgw)."""
    from tinygan import export, testmodels
    net = testmodels.random_generator(nz=100, ngf=8, seed=3)
    data, _ = export.export_generator(net, calib=64, psnr_latents=1)
    model = tmp_path / "small.tgw"
    model.write_bytes(data)
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "tinygan", "demo", "--out", str(out),
                        "--sd", str(tmp_path / "sd"), "--model", str(model)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    check_outputs(str(out))
    assert "generate: layer 4 weights streamed" in r.stdout  # layers numbered from 0 (docs/weight-format.md)
    # The engine's image is the one the contract's reference computes for the same latent.
    from tinygan import reference, tgw
    import numpy as np
    from tinygan.device import latent
    pool = open(os.path.join(SDCARD_SRC, "entropy.bin"), "rb").read()
    m = tgw.read_tgw(data)
    z = np.frombuffer(latent.latent_from_bytes(pool[:200], m.latent_inv_scale, 100), np.int8)
    expect = reference.reference_image(m, z)
    assert (np.asarray(Image.open(out / "cat.png")) == expect).all()


def _engine_ready():
    try:
        import tinygan
        return hasattr(tinygan, "Model") and os.path.exists(DEFAULT_WEIGHTS)
    except Exception:
        return False


@needs_espeak
@pytest.mark.skipif(not _engine_ready(), reason="C engine or weights/default.tgw not present yet")
def test_demo_real_engine_and_default_weights(tmp_path):
    # Only the paths the demo reads (others are edited concurrently by other work).
    status = ["git", "status", "--porcelain", "--", "sdcard", "scripts", "weights"]
    before = subprocess.run(status, cwd=REPO, capture_output=True, text=True).stdout
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "tinygan", "demo", "--out", str(out),
                        "--sd", str(tmp_path / "sd")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    mood, text, seconds = check_outputs(str(out))
    assert "verdict: " + text in r.stdout
    after = subprocess.run(status, cwd=REPO, capture_output=True, text=True).stdout
    assert after == before, "the demo changed files in the repository"
