"""The engine cross-compiled for rv32imafc and run bare-metal under QEMU: same bytes as the host."""
import numpy as np
import pytest

import tinygan
from tinygan import reference, rv32, tgw
from tinygan.device import latent

MISSING = rv32.missing_tools()
pytestmark = pytest.mark.skipif(bool(MISSING), reason="RV32 toolchain/QEMU not installed: %s" % ", ".join(MISSING))


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return rv32.build(str(tmp_path_factory.mktemp("rv32")))


@pytest.mark.slow
def test_full_model_rv32_identical_to_host_and_reference(elf, full_model_path, entropy_blocks):
    host = tinygan.Model(full_model_path)
    ref = tgw.read_tgw(full_model_path)
    for block in entropy_blocks(3, seed=31):
        z = latent.latent_from_bytes(block)
        image, counters = rv32.run(elf, full_model_path, z)
        assert image == bytes(host.generate(z))
        want = reference.reference_image(ref, np.frombuffer(z, dtype=np.int8))
        assert np.array_equal(np.frombuffer(image, dtype=np.uint8).reshape(64, 64, 3), want)
    assert [c["macs"] for c in counters["layers"]] == [layer.macs() for layer in ref.layers]
    assert counters["arena"] == host.arena_size


def test_rv32_reports_a_corrupted_chunk(elf, small_model_path, tmp_path):
    data = bytearray(open(small_model_path, "rb").read())
    layer = tgw.read_tgw(bytes(data)).layers[1]
    data[layer.chunk_offset + 2 * layer.chunk_stride + 5] ^= 0x10
    bad = tmp_path / "bad.tgw"
    bad.write_bytes(bytes(data))
    with pytest.raises(rv32.RV32Error, match="layer 1 chunk 2: CRC mismatch"):
        rv32.run(elf, str(bad), bytes(100))
