"""Half precision against fp32, on the same weights and inputs: time and how much the outputs change.

PMCE (fast path, batch 4) and ResNet-50 (batch 4 crops) run in fp32 and under fp16 / bf16 autocast, as the
pipeline's `precision` setting does. Stand-in (random, seeded) weights: the error figures are relative to the
outputs' own scale, which trained weights change; rerun with real weights for final numbers.
Usage: bench/precision.py [--device cpu|cuda] [--repeats 10]
"""

import argparse
import time

import numpy as np
import torch
import torchvision

from pmce_ros.model import PMCE, PMCEConfig
from pmce_ros.model.seeding import seeded
from pmce_ros.pipeline.estimation import autocast


def timed(fn, repeats: int, device: str):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        started = time.perf_counter()
        out = fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return out, 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    device = args.device
    with seeded():
        pmce = PMCE(PMCEConfig(fast=True), vertex_joint_index=torch.arange(431) % 19).eval().to(device)
        resnet = torchvision.models.resnet50(weights=None)
        resnet.fc = torch.nn.Identity()
        resnet = resnet.eval().to(device)
        pose2d, features = torch.randn(4, 16, 19, 2, device=device), torch.randn(4, 16, 2048, device=device).relu()
        crops = torch.randn(4, 3, 224, 224, device=device)
    name = torch.cuda.get_device_name() if device.startswith("cuda") else f"CPU, {torch.get_num_threads()} threads"
    print(f"device {device} ({name}), torch {torch.__version__}")
    print(
        f"{'network':10s} {'precision':>9s} {'median ms':>10s} {'vs fp32':>8s} {'max |diff|':>11s} "
        f"{'mean |diff|':>12s} {'max |diff| / max |fp32|':>24s}"
    )
    for label, network, inputs in (("PMCE", pmce, (pose2d, features)), ("ResNet-50", resnet, (crops,))):
        reference, reference_ms = None, None
        for precision in ("fp32", "bf16", "fp16"):

            def run():
                with torch.inference_mode(), autocast(device, precision):
                    out = network(*inputs)
                return (out[0] if isinstance(out, tuple) else out).float()  # PMCE: the mesh, metres

            try:
                out, ms = timed(run, args.repeats, device)
            except RuntimeError as error:
                print(f"{label:10s} {precision:>9s} not supported here: {str(error).splitlines()[0]}")
                continue
            if reference is None:
                reference, reference_ms = out, ms
            diff = (out - reference).abs()
            print(
                f"{label:10s} {precision:>9s} {ms:>10.1f} {ms / reference_ms:>8.2f} {diff.max().item():>11.2e} "
                f"{diff.mean().item():>12.2e} {(diff.max() / reference.abs().max()).item():>24.2e}"
            )


if __name__ == "__main__":
    main()
