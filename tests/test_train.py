"""`tinygan train`: a few steps of a tiny DCGAN, checkpoints, resume, outputs."""
import io
import os

import pytest
import torch

from tinygan import cli, lossplot, train
from tinygan.model import load_generator

TINY = ["--data", "procedural", "--images", "96", "--batch", "16", "--nz", "8", "--ngf", "4", "--ndf", "4",
        "--threads", "1", "--checkpoint-every", "2", "--sample-every", "3"]


def _train(out, *extra):
    return cli.main(["train", "--out", str(out)] + TINY + list(extra))


def test_train_writes_checkpoint_samples_and_plot(tmp_path):
    assert _train(tmp_path, "--steps", "3") == 0
    ck = torch.load(tmp_path / train.CHECKPOINT, weights_only=False)
    assert ck["step"] == 3 and len(ck["history"]) == 3
    assert {"netG", "netD", "optG", "optD", "fixed_latents", "config"} <= set(ck)
    assert (tmp_path / "samples.png").exists() and (tmp_path / "loss.png").exists()
    assert (tmp_path / "samples" / "step0000003.png").exists()
    assert not any(p.endswith(".tmp") for p in os.listdir(tmp_path))  # atomic writes leave no debris
    # The checkpoint is what the exporter reads: the generator loads with shapes inferred.
    g = load_generator(str(tmp_path / train.CHECKPOINT))
    assert (g.nz, g.ngf) == (8, 4)
    assert g(torch.zeros(2, 8)).shape == (2, 3, 64, 64)


def test_resume_matches_uninterrupted_run(tmp_path):
    # Noise and batch order are functions of (seed, step), so 2 steps + resume to 5 equals 5 steps.
    assert _train(tmp_path / "a", "--steps", "5") == 0
    assert _train(tmp_path / "b", "--steps", "2") == 0
    assert _train(tmp_path / "b", "--steps", "5", "--resume") == 0
    a = torch.load(tmp_path / "a" / train.CHECKPOINT, weights_only=False)
    b = torch.load(tmp_path / "b" / train.CHECKPOINT, weights_only=False)
    assert b["step"] == 5 and [r[0] for r in b["history"]] == [1, 2, 3, 4, 5]
    for k, v in a["netG"].items():
        assert torch.allclose(v.float(), b["netG"][k].float(), atol=1e-5), k
    assert torch.allclose(torch.tensor(a["history"]), torch.tensor(b["history"]), atol=1e-4)


def test_refuses_to_overwrite_or_mismatch(tmp_path, capsys):
    assert _train(tmp_path, "--steps", "1") == 0
    assert _train(tmp_path, "--steps", "2") == 2  # existing checkpoint without --resume
    assert "--resume" in capsys.readouterr().err
    assert cli.main(["train", "--out", str(tmp_path), "--resume", "--steps", "2"] + TINY[:-8]
                    + ["--ndf", "4", "--ngf", "8", "--threads", "1"]) == 2
    assert "ngf" in capsys.readouterr().err
    assert cli.main(["train", "--out", str(tmp_path / "new"), "--resume"] + TINY) == 2


def test_folder_data_and_bad_folder(tmp_path):
    from PIL import Image

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i in range(20):
        Image.new("RGB", (80, 100), (10 * i, 100, 200)).save(imgs / ("%02d.png" % i))
    args = ["train", "--data", str(imgs), "--out", str(tmp_path / "run"), "--batch", "8", "--nz", "8", "--ngf",
            "4", "--ndf", "4", "--threads", "1", "--epochs", "1"]
    assert cli.main(args) == 0
    assert torch.load(tmp_path / "run" / train.CHECKPOINT, weights_only=False)["step"] == 2  # 20 // 8
    args[2] = str(tmp_path / "missing")
    args[4] = str(tmp_path / "run2")
    assert cli.main(args) == 2


def test_progress_lines_in_a_log():
    buf = io.StringIO()
    p = train.Progress(total=20, start=0, every=10, stream=buf)
    for s in range(1, 21):
        p.update(s, {"lossD": 1.0})
    lines = buf.getvalue().splitlines()
    assert [ln.split()[1] for ln in lines] == ["1/20", "10/20", "20/20"]
    assert "step/s" in lines[-1] and "ETA 0:00:00" in lines[-1]


def test_loss_plot(tmp_path):
    lossplot.plot([], str(tmp_path / "empty.png"))
    lossplot.plot([[s, 1.0 / s, 2.0 + s % 3] for s in range(1, 200)], str(tmp_path / "l.png"))
    from PIL import Image

    im = Image.open(tmp_path / "l.png")
    colours = {c for _, c in im.getcolors(1 << 16)}
    assert lossplot.COLOURS["lossD"] in colours and lossplot.COLOURS["lossG"] in colours


def test_export_reads_training_checkpoint(tmp_path):
    export = pytest.importorskip("tinygan.export")
    assert _train(tmp_path, "--steps", "1") == 0
    out = tmp_path / "m.tgw"
    assert cli.main(["export", str(tmp_path / train.CHECKPOINT), "-o", str(out)]) == 0
    assert out.stat().st_size > 0


def test_sigterm_saves_and_exits(tmp_path):
    # A long run stopped with SIGTERM (how a time-boxed run ends) exits cleanly with a checkpoint
    # at the step it reached, which --resume continues.
    import signal
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "tinygan", "train", "--out", str(tmp_path), "--steps", "100000",
           "--log-every", "1"] + TINY
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # wait until training has started
        if line.startswith("step 1/"):
            break
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == 0, rest
    assert "stopped by signal" in rest
    step = torch.load(tmp_path / train.CHECKPOINT, weights_only=False)["step"]
    assert 1 <= step < 100000
    assert _train(tmp_path, "--steps", str(step + 1), "--resume") == 0


def test_modelcard_figures():
    import numpy as np

    from tinygan import modelcard

    blocks = modelcard.entropy_blocks(16)
    assert len(set(blocks)) == 16 and all(len(b) == modelcard.BLOCK for b in blocks)
    assert blocks == modelcard.entropy_blocks(16)  # the card's grid is reproducible
    same = np.full((4, 8, 8, 3), 7, np.uint8)
    assert modelcard.mean_pairwise_distance(same) == 0  # a collapsed generator scores 0
    two = np.stack([np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)])
    assert modelcard.mean_pairwise_distance(two) == 255
    assert modelcard.nearest_distances(two[:1], two).tolist() == [0]
    assert modelcard.psnr(two[0], two[0]) == float("inf")
    assert abs(modelcard.psnr(two[0], two[0] + 1) - 48.13) < 0.01  # 20 log10(255)


def test_ema_generator_is_the_moving_average_and_what_export_takes(tmp_path):
    # Recompute the average independently from the raw weights of steps 0, 1, 2: the decay after
    # update t is min(ema, (1 + t) / (10 + t)), so with --ema 0.15 it is 0.1 then 0.15.
    from tinygan.model import Discriminator, Generator, weights_init

    assert _train(tmp_path, "--steps", "1", "--ema", "0.15") == 0
    w1 = torch.load(tmp_path / train.CHECKPOINT, weights_only=False)["netG"]
    assert _train(tmp_path, "--steps", "2", "--ema", "0.15", "--resume") == 0
    ck = torch.load(tmp_path / train.CHECKPOINT, weights_only=False)
    torch.manual_seed(1)  # --seed 1: the initial weights the run started from
    g0 = Generator(8, 4)
    Discriminator(4)  # built before the init is applied, as train.run does (it draws from the same RNG)
    g0.apply(weights_init)
    w0 = g0.state_dict()
    for k, v in ck["netG_ema"].items():
        if k.endswith("num_batches_tracked"):
            assert v == ck["netG"][k]
            continue
        expected = 0.15 * (0.1 * w0[k] + 0.9 * w1[k]) + 0.85 * ck["netG"][k]
        assert torch.allclose(v, expected, atol=1e-6), k
        if k.endswith("weight"):
            assert not torch.allclose(v, ck["netG"][k]), k  # the average is not the raw net
    # export takes the average unless --raw
    ema_only = tmp_path / "ema.pt"
    torch.save(ck["netG_ema"], ema_only)
    outs = {}
    for name, src, extra in (("ck", tmp_path / train.CHECKPOINT, []), ("ema", ema_only, []),
                             ("raw", tmp_path / train.CHECKPOINT, ["--raw"])):
        outs[name] = tmp_path / (name + ".tgw")
        assert cli.main(["export", str(src), "-o", str(outs[name]), "--calib", "64", "--name", "t"] + extra) == 0
    assert outs["ck"].read_bytes() == outs["ema"].read_bytes()
    assert outs["ck"].read_bytes() != outs["raw"].read_bytes()


def test_keep_every_writes_ema_generators(tmp_path):
    assert _train(tmp_path, "--steps", "4", "--keep-every", "2", "--ema", "0") == 0
    kept = sorted(os.listdir(tmp_path / "generators"))
    assert kept == ["step0000002.pt", "step0000004.pt"]
    ck = torch.load(tmp_path / train.CHECKPOINT, weights_only=False)
    g = load_generator(str(tmp_path / "generators" / kept[-1]))
    for k, v in g.state_dict().items():
        assert torch.equal(v, ck["netG"][k]), k  # --ema 0: the average is the raw generator


def test_each_rank_takes_its_own_share_of_the_batch():
    from tinygan import distributed

    shares = [distributed.share(16, distributed.Context(r, 4)) for r in range(4)]
    assert shares == [(0, 4), (4, 8), (8, 12), (12, 16)]  # disjoint, and together the whole batch
    assert distributed.share(16, distributed.Context()) == (0, 16)
    with pytest.raises(ValueError, match="multiple"):
        distributed.share(10, distributed.Context(0, 4))


def test_torchrun_two_cpu_ranks_keep_identical_weights(tmp_path):
    # `tinygan train` unchanged under torchrun (gloo on CPU): both ranks end with the same
    # parameters (DDP's averaged gradients, the same Adam steps), and only rank 0 writes files.
    import re
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=root)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tinygan", "train", "--out", str(tmp_path), "--steps", "4", "--keep-every", "2"] + TINY
    r = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    hashes = dict(re.findall(r"rank (\d)/2: step 4, parameters sha256 ([0-9a-f]{64})", out))
    assert set(hashes) == {"0", "1"}, out[-3000:]
    assert hashes["0"] == hashes["1"]
    ck = torch.load(tmp_path / train.CHECKPOINT, weights_only=False)
    assert ck["step"] == 4 and ck["config"]["world"] == 2
    from tinygan import distributed
    from tinygan.model import Discriminator, Generator

    # the checkpoint holds exactly the weights both ranks reported
    nets = [Generator(8, 4), Discriminator(4), Generator(8, 4)]
    for net, key in zip(nets, ("netG", "netD", "netG_ema")):
        net.load_state_dict(ck[key])
    assert distributed.parameter_hash(*nets) == hashes["0"]
    assert out.count("training 0 -> 4 steps") == 1  # progress from rank 0 only
    assert sorted(os.listdir(tmp_path / "generators")) == ["step0000002.pt", "step0000004.pt"]


def test_eval_every_prints_and_keeps_the_kid_figure(tmp_path, capsys):
    assert _train(tmp_path, "--steps", "4", "--eval-every", "2", "--eval-images", "30") == 0
    kids = torch.load(tmp_path / train.CHECKPOINT, weights_only=False)["kid"]
    assert [k[0] for k in kids] == [2, 4]
    assert all(k[1] > 50 for k in kids)  # 4 steps of a tiny GAN are far from the data (floor ~0)
    assert capsys.readouterr().err.count("KID x1000") == 2
    load_generator(str(tmp_path / train.CHECKPOINT))  # still loads with weights_only (export reads it so)
