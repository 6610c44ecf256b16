"""Reproducible initial weights for untrained stand-ins, without touching the caller's random state."""

from contextlib import contextmanager

import torch

STAND_IN_SEED = 0


@contextmanager
def seeded(seed: int = STAND_IN_SEED):
    """Within the block, torch's CPU generator starts from `seed`; outside it, its state is as before."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
