"""`tinygan train`: standard DCGAN training (Radford et al. 2015, as PyTorch examples/dcgan).

Adam lr 2e-4 beta1 0.5, BCE-with-logits, one D step and one G step per batch, and an exponential
moving average (EMA) of the generator's weights, which is what sample grids show and `tinygan
export` takes. Everything needed to continue lives in one checkpoint (`OUT/checkpoint.pt`: both
nets, the EMA generator, both optimizers, step, loss history, fixed sample latents), written atomically so a kill at any moment leaves the previous
one intact. The latent noise of step k is drawn from a generator seeded with (seed, k) and the
batch order of epoch e from (seed, e), so a resumed run sees the same data and noise as an
uninterrupted one. SIGTERM/SIGINT finish the current step, save, and exit.

Under torchrun the same command trains data-parallel (tinygan/distributed.py): each rank takes
its share of every batch, DDP averages the gradients, rank 0 alone prints and writes files.
`--eval-every` prints the KID figure of the EMA generator (tinygan/kid.py) as training goes.
"""
import copy
import os
import signal
import sys
import time

import numpy as np

from tinygan.cli import CLIError

CHECKPOINT = "checkpoint.pt"


def add_arguments(p):
    p.add_argument("--data", required=True, help="'procedural' or a folder of images (centre-cropped to 64x64)")
    p.add_argument("--out", required=True, help="run folder: checkpoint, sample grids, loss plot, data cache")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--steps", type=int, help="train until this many steps in total (default: 5 epochs)")
    g.add_argument("--epochs", type=int, help="train until this many epochs in total")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--nz", type=int, default=100)
    p.add_argument("--ngf", type=int, default=128)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--beta1", type=float, default=0.5)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--images", type=int, default=10000, help="procedural data set size (default 10000)")
    p.add_argument("--data-seed", type=int, default=0, help="procedural data set seed (default 0)")
    p.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints (default 50)")
    p.add_argument("--sample-every", type=int, default=0,
                   help="steps between sample grids + loss plots (default 0: once per epoch)")
    p.add_argument("--log-every", type=int, default=10, help="steps between progress lines when not a tty")
    p.add_argument("--ema", type=float, default=0.999,
                   help="decay of the generator's weight moving average (default 0.999; 0: EMA = raw weights)")
    p.add_argument("--eval-every", type=int, default=0,
                   help="steps between KID figures of the EMA generator (tinygan/kid.py; default 0: none)")
    p.add_argument("--eval-images", type=int, default=500, help="images per KID evaluation (default 500)")
    p.add_argument("--keep-every", type=int, default=0,
                   help="steps between kept EMA generators OUT/generators/stepN.pt (default 0: none)")


def load_data(args, workers):
    """uint8 [n, 64, 64, 3]; procedural data is cached in OUT so a resume does not redraw it."""
    from tinygan import catdata

    if args.data == "procedural":
        cache = os.path.join(args.out, "data-procedural-s%d-n%d.npy" % (args.data_seed, args.images))
        if os.path.exists(cache):
            return np.load(cache)
        t = time.time()
        data = catdata.procedural(args.images, seed=args.data_seed, workers=workers)
        print("drew %d procedural cats in %.1f s" % (len(data), time.time() - t), file=sys.stderr)
        _atomic(cache, lambda f: np.save(f, data))
        return data
    if not os.path.isdir(args.data):
        raise CLIError("--data must be 'procedural' or an existing folder: %s" % args.data)
    try:
        return catdata.load_folder(args.data)
    except ValueError as exc:
        raise CLIError(str(exc))


def _atomic(path, write):
    """Write through a temporary file + fsync + rename, so readers never see a half-written file."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_checkpoint(path, state):
    import torch

    _atomic(path, lambda f: torch.save(state, f))


def to_uint8(x):
    """[-1, 1] float NCHW -> uint8 NHWC, with the engine's pixel rule round(127.5 * (x + 1))."""
    import torch

    return torch.floor(127.5 * (x.detach().float().cpu().clamp(-1, 1) + 1) + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()


class Progress:
    """A one-line progress bar with step/s and ETA on a tty; plain periodic lines in a log file."""

    def __init__(self, total, start, every, stream=sys.stderr):
        self.total, self.start, self.every, self.stream = total, start, every, stream
        self.tty = stream.isatty()
        self.t0 = time.time()

    def update(self, step, stats):
        done = step - self.start
        rate = done / max(time.time() - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else 0
        frac = step / max(self.total, 1)
        bar = "#" * int(20 * frac) + "-" * (20 - int(20 * frac))
        text = "step %d/%d [%s] %5.1f%% %s | %.3f step/s %.1f s/step ETA %s" % (
            step, self.total, bar, 100 * frac, " ".join("%s %.3f" % kv for kv in stats.items()),
            rate, 1 / rate if rate else 0, _hms(eta))
        if self.tty:
            self.stream.write("\r" + text + "\033[K")
        elif done % self.every == 0 or step == self.total or done == 1:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")


def ema_decay(decay, step):
    """The decay used after `step` updates: ramps up as (1+t)/(10+t), so that the average forgets the
    random initial weights within the first tenth of the run instead of after ~1/(1-decay) steps."""
    return min(decay, (1 + step) / (10 + step))


def ema_update(ema, net, decay):
    """ema <- decay * ema + (1 - decay) * net, for the weights and BatchNorm's running statistics.

    Running statistics are averaged like the weights (not copied from `net`): the averaged
    generator's activations are close to the average of the recent generators' activations, not
    to the last one's."""
    import torch

    with torch.no_grad():
        for e, p in zip(ema.parameters(), net.parameters()):
            e.lerp_(p.detach(), 1 - decay)
        for e, b in zip(ema.buffers(), net.buffers()):
            if e.dtype.is_floating_point:
                e.lerp_(b, 1 - decay)
            else:
                e.copy_(b)  # num_batches_tracked


def _hms(seconds):
    s = int(seconds)
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


def run(args):
    import torch

    from tinygan import distributed

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise CLIError("--device cuda but CUDA is not available")
    ctx = distributed.start(args.device)
    try:
        status = _train(args, ctx)
        # leave together: a rank that tore its process group down while rank 0 was still writing
        # the checkpoint once aborted in gloo ("terminate called without an active exception")
        distributed.barrier(ctx)
        return status
    finally:
        distributed.stop(ctx)


def _say(ctx, msg):
    if ctx.is_main:
        print(msg, file=sys.stderr)


def _train(args, ctx):
    import torch
    import torch.nn.functional as F

    from tinygan import catdata, distributed, lossplot
    from tinygan.model import Discriminator, Generator, weights_init

    device = ctx.device
    ckpt_path = os.path.join(args.out, CHECKPOINT)
    if os.path.exists(ckpt_path) and not args.resume:
        raise CLIError("%s exists: pass --resume to continue it, or choose another --out" % ckpt_path)
    if args.resume and not os.path.exists(ckpt_path):
        raise CLIError("--resume: no checkpoint at %s" % ckpt_path)
    if args.eval_every:
        from tinygan import catfeatures

        if not os.path.exists(catfeatures.WEIGHTS):
            raise CLIError("--eval-every needs the KID feature net %s (python3 -m tinygan.catfeatures)"
                           % catfeatures.WEIGHTS)
    try:
        lo, hi = distributed.share(args.batch, ctx)
    except ValueError as exc:
        raise CLIError(str(exc))
    if ctx.is_main:
        os.makedirs(os.path.join(args.out, "samples"), exist_ok=True)
        data = load_data(args, workers=args.threads or 1)
    distributed.barrier(ctx)  # rank 0 has drawn and cached the procedural set; the others read it
    if not ctx.is_main:
        data = load_data(args, workers=1)
    data = torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()
    n = len(data)
    per_epoch = n // args.batch
    if per_epoch == 0:
        raise CLIError("%d images is fewer than one batch of %d" % (n, args.batch))
    total = args.steps if args.steps else per_epoch * (args.epochs or 5)
    sample_every = args.sample_every or per_epoch

    torch.manual_seed(args.seed)
    netG = Generator(args.nz, args.ngf).to(device)
    netD = Discriminator(args.ndf).to(device)
    netG.apply(weights_init)
    netD.apply(weights_init)
    netG_ema = copy.deepcopy(netG).eval()
    for p_ in netG_ema.parameters():
        p_.requires_grad_(False)
    optG = torch.optim.Adam(netG.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    optD = torch.optim.Adam(netD.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    # Fixed latents for the sample grids, so grids from different steps show the same 64 cats.
    fixed = torch.randn(64, args.nz, generator=torch.Generator().manual_seed(args.seed + 7))
    step, history, wall, kids = 0, [], 0.0, []
    config = {k: getattr(args, k) for k in ("nz", "ngf", "ndf", "batch", "lr", "beta1", "seed", "data", "images",
                                            "data_seed", "ema")}
    config["world"] = ctx.world
    if args.resume:
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        for k in ("nz", "ngf", "ndf"):
            if ck["config"][k] != config[k]:
                raise CLIError("--%s %s does not match the checkpoint's %s" % (k, config[k], ck["config"][k]))
        netG.load_state_dict(ck["netG"])
        if "netG_ema" in ck:
            netG_ema.load_state_dict(ck["netG_ema"])
        else:  # a checkpoint from before the EMA existed: the average starts from its weights
            netG_ema.load_state_dict(ck["netG"])
            _say(ctx, "checkpoint has no EMA generator: starting the average from its netG")
        netD.load_state_dict(ck["netD"])
        optG.load_state_dict(ck["optG"])
        optD.load_state_dict(ck["optD"])
        step, history, wall, fixed = ck["step"], ck["history"], ck["wall_time_s"], ck["fixed_latents"]
        kids = ck.get("kid", [])
        _say(ctx, "resumed at step %d (%.0f s trained)" % (step, wall))
    fixed = fixed.to(device)
    trainG, trainD = distributed.wrap(netG, ctx), distributed.wrap(netD, ctx)

    def state():
        return {"netG": netG.state_dict(), "netG_ema": netG_ema.state_dict(), "netD": netD.state_dict(),
                "optG": optG.state_dict(), "optD": optD.state_dict(), "step": step, "history": history,
                "kid": kids, "wall_time_s": wall, "fixed_latents": fixed.cpu(), "config": config,
                "data_shape": list(data.shape), "device": str(device), "torch": str(torch.__version__),
                "threads": torch.get_num_threads()}

    def snapshot():
        with torch.no_grad():
            imgs = to_uint8(netG_ema(fixed))
        sheet = catdata.grid(imgs)
        sheet.save(os.path.join(args.out, "samples", "step%07d.png" % step))
        sheet.save(os.path.join(args.out, "samples.png"))
        lossplot.plot(history, os.path.join(args.out, "loss.png"))

    evaluate = _evaluator(args, ctx)
    stop = []
    handlers = {sig: signal.signal(sig, lambda s, f: stop.append(s)) for sig in (signal.SIGTERM, signal.SIGINT)}
    _say(ctx, "training %d -> %d steps: %d images, batch %d%s, %d steps/epoch, nz %d ngf %d ndf %d, %s, %d threads"
         % (step, total, n, args.batch, " (%d ranks x %d)" % (ctx.world, hi - lo) if ctx.active else "", per_epoch,
            args.nz, args.ngf, args.ndf, device, torch.get_num_threads()))
    progress = Progress(total, step, args.log_every) if ctx.is_main else None
    perm_epoch, perm = -1, None
    try:
        while step < total:
            t0 = time.time()
            epoch, i = divmod(step, per_epoch)
            if epoch != perm_epoch:  # batch order of epoch e depends only on (seed, e)
                perm = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed * 100003 + epoch))
                perm_epoch = epoch
            rows = perm[i * args.batch:(i + 1) * args.batch][lo:hi]  # this rank's share of the batch
            real = data[rows].to(device).float() / 127.5 - 1
            noise = torch.randn(args.batch, args.nz, generator=torch.Generator().manual_seed(
                args.seed * 1000003 + step))[lo:hi].to(device)
            ones = torch.ones(hi - lo, device=device)
            zeros = torch.zeros(hi - lo, device=device)

            # D: maximise log D(x) + log(1 - D(G(z)))
            fake = trainG(noise)
            optD.zero_grad(set_to_none=True)
            out_real = trainD(real)
            out_fake = trainD(fake.detach())
            lossD = F.binary_cross_entropy_with_logits(out_real, ones) + \
                F.binary_cross_entropy_with_logits(out_fake, zeros)
            lossD.backward()
            optD.step()
            # G: maximise log D(G(z)) (the non-saturating loss)
            optG.zero_grad(set_to_none=True)
            out_g = trainD(fake)
            lossG = F.binary_cross_entropy_with_logits(out_g, ones)
            lossG.backward()
            optG.step()
            ema_update(netG_ema, netG, ema_decay(args.ema, step))

            step += 1
            wall += time.time() - t0
            stats = {"lossD": lossD.item(), "lossG": lossG.item(),
                     "D(x)": torch.sigmoid(out_real).mean().item(), "D(G(z))": torch.sigmoid(out_fake).mean().item()}
            # Every rank must leave the loop at the same step, or the others wait forever in all-reduce.
            halted, bad = distributed.any_rank(ctx, stop, not all(np.isfinite(v) for v in stats.values()))
            if bad:
                raise CLIError("loss is not finite at step %d; last checkpoint kept" % step)
            history.append([step] + list(stats.values()))
            if ctx.is_main:
                progress.update(step, stats)
                if step % sample_every == 0 or step == total:
                    snapshot()
                if args.eval_every and step % args.eval_every == 0:
                    kids.append([step] + [float(v) for v in evaluate(netG_ema)])
                if step % args.checkpoint_every == 0 or step == total:
                    save_checkpoint(ckpt_path, state())
                if args.keep_every and step % args.keep_every == 0:
                    os.makedirs(os.path.join(args.out, "generators"), exist_ok=True)
                    save_checkpoint(os.path.join(args.out, "generators", "step%07d.pt" % step), netG_ema.state_dict())
            if halted:
                break
    finally:
        if progress:
            progress.close()
        for sig, h in handlers.items():
            signal.signal(sig, h)
    if ctx.is_main and step < total:
        snapshot()
        save_checkpoint(ckpt_path, state())
        print("stopped by signal at step %d; checkpoint saved" % step, file=sys.stderr)
    if ctx.active:  # tests (and anyone) can check that the replicas stayed in step
        print("rank %d/%d: step %d, parameters sha256 %s"
              % (ctx.rank, ctx.world, step, distributed.parameter_hash(netG, netD, netG_ema)), file=sys.stderr)
    _say(ctx, "done: step %d, %.0f s of training (%.2f s/step); checkpoint %s"
         % (step, wall, wall / max(len(history), 1), ckpt_path))
    return 0


def _evaluator(args, ctx):
    """evaluate(generator) -> (KID x1000, its standard error) against procedural cats (tinygan/kid.py);
    the reference features are computed on first use, once per run."""
    ref = []

    def evaluate(net):
        from tinygan import catfeatures, kid

        t = time.time()
        if not ref:
            ref.append(catfeatures.load())
            ref.append(kid.procedural_features(args.eval_images, kid.REFERENCE_SEED, ref[0]))
        figure = kid.kid(kid.features(kid.generator_images(net, args.eval_images), ref[0]), ref[1])
        print("KID x1000 %.3f +- %.3f (EMA generator, %d images; %.0f s)" % (figure + (args.eval_images, time.time() - t)),
              file=sys.stderr)
        return figure

    return evaluate
