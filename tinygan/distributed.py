"""Data-parallel training under torchrun: process group, each rank's share, agreed stops.

`tinygan train` runs unchanged as `torchrun --nproc_per_node K -m tinygan train ...` (or
`python3 -m torch.distributed.run ...`): torchrun sets RANK, WORLD_SIZE and LOCAL_RANK, and this
module joins the group (NCCL on CUDA, gloo on CPU). The global batch --batch is split: rank r
takes rows [r*b, (r+1)*b) of each step's batch and of its noise, b = batch / world. DDP averages
the gradients, so the update is that of one process on the whole batch, except that BatchNorm
normalises each rank's b images by their own statistics (and its running statistics are those of
rank 0, which DDP broadcasts at every forward).
"""
import hashlib
import os


class Context:
    """rank, world size and device of this process; world 1 when not under torchrun."""

    def __init__(self, rank=0, world=1, device="cpu"):
        self.rank, self.world, self.device = rank, world, device

    @property
    def is_main(self):
        return self.rank == 0

    @property
    def active(self):
        return self.world > 1


def start(device_arg):
    """The Context of this process, joining the torchrun process group when WORLD_SIZE > 1."""
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context(0, 1, torch.device(device_arg))
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device_arg.startswith("cuda"):
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device(device_arg)
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Context(rank, world, device)


def stop(ctx):
    if ctx.active:
        import torch.distributed as dist

        dist.destroy_process_group()


def barrier(ctx):
    if ctx.active:
        import torch.distributed as dist

        dist.barrier()


def share(batch, ctx):
    """Rows [lo, hi) of a global batch that this rank takes."""
    if batch % ctx.world:
        raise ValueError("--batch %d is not a multiple of the %d ranks" % (batch, ctx.world))
    b = batch // ctx.world
    return ctx.rank * b, (ctx.rank + 1) * b


def any_rank(ctx, *flags):
    """Each flag OR-ed over all ranks, so that every rank stops (or fails) at the same step."""
    if not ctx.active:
        return [bool(f) for f in flags]
    import torch
    import torch.distributed as dist

    t = torch.tensor([1 if f else 0 for f in flags], dtype=torch.int32, device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def wrap(net, ctx):
    """net under DistributedDataParallel when distributed, else net itself."""
    if not ctx.active:
        return net
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)


def parameter_hash(*nets):
    """sha256 over the parameters of the nets (float bytes, in order): equal on all ranks of a sound run."""
    h = hashlib.sha256()
    for net in nets:
        for p in net.parameters():
            h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
