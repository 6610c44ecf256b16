"""PMCE through torch.compile at a few fixed batch sizes.

Shapes stay static because that is where compilation pays (on a 2-core CPU, bench/pmce_forward.py: 10-15% off
the fast path's eager time; a symbolic batch saved about 5%) and because CUDA graphs replay one shape each. A
call's people are padded up to the next compiled size and crowds beyond the largest run in chunks of it, so at
most log2(max_batch) + 1 graphs ever compile. `warm_up` compiles them all, about a minute each on a 2-core CPU,
so that none compiles while frames stream. On CUDA the graphs replay as CUDA graphs (mode "reduce-overhead"):
one launch instead of hundreds of small kernel launches per forward.
"""

import time

import torch

from pmce_ros.model.pmce import PMCE


def compiled_sizes(max_batch: int) -> list[int]:
    """The batch sizes that get a graph: powers of two below max_batch, and max_batch."""
    if max_batch < 1:
        raise ValueError(f"max_batch must be at least 1, got {max_batch}")
    sizes = []
    size = 1
    while size < max_batch:
        sizes.append(size)
        size *= 2
    return sizes + [max_batch]


def chunk_plan(people: int, max_batch: int) -> list[tuple[int, int]]:
    """(people in the call, compiled size it runs at) for each call that handles `people` estimates."""
    plan = [(max_batch, max_batch)] * (people // max_batch)
    rest = people % max_batch
    if rest:
        plan.append((rest, next(size for size in compiled_sizes(max_batch) if size >= rest)))
    return plan


def _pad(batch: torch.Tensor, size: int) -> torch.Tensor:
    """Repeats the last row up to `size` rows: a real input, so padding rows compute nothing unusual; every row is
    independent in eval mode, so they do not change the others."""
    return torch.cat([batch, batch[-1:].expand(size - len(batch), *batch.shape[1:])])


class CompiledPMCE:
    """Calls like the model it wraps (eval mode, no gradients), returning new tensors each call."""

    def __init__(self, model: PMCE, max_batch: int):
        self.model = model
        self.max_batch = max_batch
        self.sizes = compiled_sizes(max_batch)
        self.on_cuda = next(model.parameters()).device.type == "cuda"
        self.compiled = torch.compile(model, dynamic=False, mode="reduce-overhead" if self.on_cuda else None)

    def warm_up(self) -> dict[int, float]:
        """Compiles every size now; seconds per size. Call it in the grad and autocast mode the real calls use:
        torch.compile guards on both and would compile again for another."""
        config = self.model.config
        parameter = next(self.model.parameters())
        seconds = {}
        for size in self.sizes:
            started = time.perf_counter()
            self(
                parameter.new_zeros(size, config.num_frames, config.num_joints, 2),
                parameter.new_zeros(size, config.num_frames, config.feature_dim) if config.image_stream else None,
            )
            seconds[size] = time.perf_counter() - started
        return seconds

    def __call__(self, pose2d: torch.Tensor, img_feat: torch.Tensor | None = None):
        outputs, start = [], 0
        inputs = (pose2d,) if img_feat is None else (pose2d, img_feat)
        for people, size in chunk_plan(len(pose2d), self.max_batch):
            chunk = [_pad(x[start : start + people], size) for x in inputs]
            if self.on_cuda:
                # Each call is a new step: the previous step's graph outputs may be overwritten (copied below).
                torch.compiler.cudagraph_mark_step_begin()
            # Without allow_rnn, Dynamo stops at every touch of the GRU module: 7 graphs instead of 1.
            with torch._dynamo.config.patch(allow_rnn=True):
                outputs.append([y[:people] for y in self.compiled(*chunk)])
            start += people
        return tuple(torch.cat(parts) for parts in zip(*outputs))
