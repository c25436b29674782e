"""The C engine (tinygan._engine) against the PyTorch integer reference and the Python reader."""
import io
import os
import platform
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinygan
from tinygan import reference, tgw
from tinygan.device import latent

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE_SRC = [os.path.join(REPO, "usermod_tinygan", "engine", f)
              for f in sorted(os.listdir(os.path.join(REPO, "usermod_tinygan", "engine"))) if f.endswith(".c")]
TG_RUN = os.path.join(REPO, "usermod_tinygan", "tools", "tg_run.c")
X86_KERNEL = os.path.join(REPO, "usermod_tinygan", "host", "tg_kernel_x86.c")


def engine_image(model, z):
    return np.frombuffer(bytes(model.generate(z)), dtype=np.uint8).reshape(model.out_shape)


def assert_identical_to_reference(path, blocks):
    engine = tinygan.Model(path)
    ref = tgw.read_tgw(path)
    for i, block in enumerate(blocks):
        z = latent.latent_from_bytes(block, engine.latent_inv_scale, engine.latent_dim)
        got = engine_image(engine, z)
        want = reference.reference_image(ref, np.frombuffer(z, dtype=np.int8))
        assert np.array_equal(got, want), "entropy block %d: first difference at %s" % (
            i, np.argwhere(got != want)[0].tolist())


def test_small_model_identical_to_reference(small_model_path, entropy_blocks):
    assert_identical_to_reference(small_model_path, entropy_blocks(6))


@pytest.mark.slow
def test_full_size_model_identical_to_reference_on_8_latents(full_model_path, entropy_blocks):
    assert_identical_to_reference(full_model_path, entropy_blocks(8, seed=77))


def test_default_model_identical_to_reference(entropy_blocks):
    path = os.path.join(REPO, "weights", "default.tgw")
    if not os.path.exists(path):
        pytest.skip("weights/default.tgw is not in this checkout yet")
    assert_identical_to_reference(path, entropy_blocks(8, seed=5))


def test_file_object_source_equals_path_source(small_model_path):
    z = bytes(range(100))
    with open(small_model_path, "rb") as f:
        from_file = tinygan.Model(f).generate(z)
    assert from_file == tinygan.Model(small_model_path).generate(z)
    m = tinygan.Model(io.BytesIO(open(small_model_path, "rb").read()))
    out = bytearray(64 * 64 * 3)
    assert m.generate(z, out=out) is out and out == from_file


def test_attributes_stats_and_progress(full_model_path):
    m = tinygan.Model(full_model_path)
    assert (m.latent_dim, m.latent_inv_scale, m.out_shape) == (100, 32, (64, 64, 3))
    assert m.stats == []
    calls = []
    m.generate(bytes(100), progress=lambda layer, chunk, n: calls.append((layer, chunk, n)))
    ref = tgw.read_tgw(full_model_path)
    # one call per chunk; the fused RGB layer's chunks are read (and reported) before those of
    # the layer it is fused into, which then runs to the end
    expected = [(i, c, layer.n_chunks) for i, layer in enumerate(ref.layers) for c in range(layer.n_chunks)]
    assert sorted(calls) == expected
    last = len(ref.layers) - 1
    assert calls[0] == (0, 0, ref.layers[0].n_chunks) and calls[-1][0] == last - 1
    assert [c for c in calls if c[0] >= last - 1] == [c for c in expected if c[0] == last] + [c for c in expected if c[0] == last - 1]
    stats = m.stats
    assert [s["macs"] for s in stats] == [layer.macs() for layer in ref.layers]
    assert sum(s["bytes_read"] for s in stats) == os.path.getsize(full_model_path) - 512
    print("engine RAM (arena): %d bytes" % m.arena_size)


def test_progress_can_cancel_and_errors_propagate(small_model_path):
    m = tinygan.Model(small_model_path)
    with pytest.raises(tinygan.EngineError, match="cancelled at layer 1 chunk 0"):
        m.generate(bytes(100), progress=lambda layer, chunk, n: layer == 1)

    def boom(layer, chunk, n):
        raise RuntimeError("from the callback")
    with pytest.raises(RuntimeError, match="from the callback"):
        m.generate(bytes(100), progress=boom)
    with pytest.raises(ValueError, match="latent has 99 bytes"):
        m.generate(bytes(99))


def test_readers_agree_on_every_corruption_and_truncation(tiny_model_bytes):
    """Every single-byte corruption and every truncation: Python rejects, and so does the C engine
    (at open, or when verify() streams the chunks, as generate() would)."""
    def c_rejects(data):
        try:
            tinygan.Model(io.BytesIO(data)).verify()
        except tinygan.EngineError:
            return True
        return False

    assert not c_rejects(tiny_model_bytes)
    for i in range(len(tiny_model_bytes)):
        bad = bytearray(tiny_model_bytes)
        bad[i] ^= 0xA5
        with pytest.raises(tgw.TgwError):
            tgw.read_tgw(bytes(bad))
        assert c_rejects(bytes(bad)), "C engine accepted a corruption at byte %d" % i
    for n in range(0, len(tiny_model_bytes), 7):
        assert c_rejects(tiny_model_bytes[:n]), "C engine accepted a truncation to %d bytes" % n


def _corrupt_chunk(path, layer_index, chunk_index, tmp_path):
    data = bytearray(open(path, "rb").read())
    layer = tgw.read_tgw(bytes(data)).layers[layer_index]
    data[layer.chunk_offset + chunk_index * layer.chunk_stride + 100] ^= 0x01
    bad = tmp_path / "bad.tgw"
    bad.write_bytes(bytes(data))
    return str(bad)


def test_corrupted_chunk_mid_stream_names_layer_and_chunk_and_writes_nothing(small_model_path, tmp_path):
    layer = tgw.read_tgw(small_model_path).layers[1]
    assert layer.n_chunks > 3
    bad = _corrupt_chunk(small_model_path, 1, 3, tmp_path)
    m = tinygan.Model(bad)          # header and parameters are fine: the damage shows mid-stream
    with pytest.raises(tinygan.EngineError, match="layer 1 chunk 3: CRC mismatch"):
        m.generate(bytes(100))
    ent = tmp_path / "e.bin"
    ent.write_bytes(os.urandom(200))
    out = tmp_path / "cat.png"
    r = subprocess.run([sys.executable, "-m", "tinygan", "generate", bad, "--entropy", str(ent), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "layer 1 chunk 3: CRC mismatch" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["bad.tgw", "e.bin"]   # no PNG, no temporary file left


def test_truncated_file_is_refused_at_open(small_model_path, tmp_path):
    data = open(small_model_path, "rb").read()
    short = tmp_path / "short.tgw"
    short.write_bytes(data[:-512])
    with pytest.raises(tinygan.EngineError, match="truncated"):
        tinygan.Model(str(short))


def test_generate_and_verify_cli(small_model_path, tmp_path):
    ent = tmp_path / "e.bin"
    ent.write_bytes(bytes(range(200)))
    out = tmp_path / "cat.png"
    r = subprocess.run([sys.executable, "-m", "tinygan", "generate", small_model_path, "--entropy", str(ent),
                        "-o", str(out), "--preview", "--stats"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "\u2580" in r.stdout and "GMAC/s" in r.stdout
    from PIL import Image
    ref = tgw.read_tgw(small_model_path)
    z = reference.latent_from_entropy_file(str(ent), ref)
    assert np.array_equal(np.asarray(Image.open(out)), reference.reference_image(ref, z))
    r = subprocess.run([sys.executable, "-m", "tinygan", "verify", small_model_path, "--latents", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "3 of 3 latents identical" in r.stdout


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["tg_kernel_s2_fast", "tg_kernel_s2_plain", "tg_kernel_s2_x86"])
def test_full_model_clean_under_asan_ubsan(full_model_path, tmp_path, kernel, sanitizer_cc):
    cc = sanitizer_cc()
    if cc is None:
        pytest.skip("no C compiler with AddressSanitizer/UBSan runtime found")
    extra = []
    if kernel == "tg_kernel_s2_x86":
        if platform.machine() not in ("x86_64", "AMD64"):
            pytest.skip("the host's AVX-512 kernel is x86-64 only")
        extra = [X86_KERNEL]  # the host extension's kernel (it falls back to the fast one without VNNI)
    exe = tmp_path / "tg_run"
    build = [cc, "-std=gnu99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=all", "-DTG_KERNEL_S2=" + kernel, "-I" + os.path.dirname(ENGINE_SRC[0])]
    r = subprocess.run(build + ENGINE_SRC + extra + [TG_RUN, "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    z = latent.latent_from_bytes(bytes(range(7, 207)))
    (tmp_path / "z.bin").write_bytes(z)
    r = subprocess.run([str(exe), full_model_path, str(tmp_path / "z.bin"), str(tmp_path / "img.rgb")],
                       capture_output=True, text=True, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    assert r.returncode == 0, r.stderr
    assert "runtime error" not in r.stderr and "AddressSanitizer" not in r.stderr
    got = np.frombuffer((tmp_path / "img.rgb").read_bytes(), dtype=np.uint8).reshape(64, 64, 3)
    assert np.array_equal(got, reference.reference_image(tgw.read_tgw(full_model_path), np.frombuffer(z, np.int8)))


def test_engine_has_no_micropython_or_os_dependencies():
    allowed = {"stdint.h", "stddef.h", "string.h", "limits.h", "stdarg.h"}
    for path in ENGINE_SRC + [p[:-2] + ".h" for p in ENGINE_SRC if os.path.exists(p[:-2] + ".h")]:
        for line in open(path):
            if line.startswith("#include <"):
                header = line.split("<")[1].split(">")[0]
                assert header in allowed, "%s includes <%s>" % (os.path.basename(path), header)
        src = open(path).read()
        assert "malloc" not in src and "py/" not in src


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang (libFuzzer) is not installed")
def test_fuzzer_short_run(tmp_path):
    r = subprocess.run(["bash", os.path.join(REPO, "fuzz", "run.sh"), "-runs=30000"], capture_output=True,
                       text=True, env=dict(os.environ, FUZZ_OUT=str(tmp_path)), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Done 30000 runs" in r.stderr


def test_reader_says_who_reads_the_chunks(small_model_path):
    """A file path gets the reader thread (reads overlap the kernels); a Python file object is read
    between chunks on the compute thread (the MicroPython board's async reader reports 'V3F':
    tests/test_ch32h417_streaming.py)."""
    import io
    assert tinygan.Model(small_model_path).reader == "thread"
    assert tinygan.Model(io.BytesIO(open(small_model_path, "rb").read())).reader == "sync"
