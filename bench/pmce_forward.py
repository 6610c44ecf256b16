"""PMCE forward latency on this machine: faithful path vs. fast path, batch 1 / 4 / 8, fp32, side by side.

faithful: the authors' computation (explicit attention), torch.no_grad.
fast:     fused scaled_dot_product_attention + torch.inference_mode (same numbers within 1e-5).
Each configuration runs in its own process so that its peak memory (max RSS) can be read.
Usage: bench/pmce_forward.py [--repeats 20] [--device cpu|cuda] [--batches 1 4 8]
"""
import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from pmce_ros.model import PMCE, PMCEConfig

PATHS = ("faithful", "fast")


def measure(path: str, batch: int, repeats: int, device: str) -> dict:
    torch.manual_seed(0)
    model = PMCE(PMCEConfig(fast=path == "fast"), vertex_joint_index=torch.arange(431) % 19)
    model = model.eval().to(device)
    pose2d = torch.randn(batch, 16, 19, 2, device=device)
    features = torch.randn(batch, 16, 2048, device=device)
    context = torch.inference_mode if path == "fast" else torch.no_grad
    times = []
    with context():
        for i in range(repeats + 3):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(pose2d, features)
            if device == "cuda":
                torch.cuda.synchronize()
            if i >= 3:  # warm-up
                times.append(time.perf_counter() - start)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"median_ms": 1000 * float(np.median(times)), "p90_ms": 1000 * float(np.percentile(times, 90)),
            "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.repeats, args.device)))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    results = {}
    for batch in args.batches:
        for path in PATHS:
            out = subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--device", args.device,
                                  "--one", path, str(batch)], check=True, capture_output=True, text=True).stdout
            results[path, batch] = json.loads(out.strip().splitlines()[-1])
    memory = "peak MB (GPU alloc)" if args.device == "cuda" else "peak RSS MB"
    print(f"{'batch':>5} {'path':>9} {'median ms':>10} {'p90 ms':>8} {'ms/person':>10} {memory:>20} "
          f"{'fast/faithful':>14} {'vs batch 1':>11}")
    for batch in args.batches:
        for path in PATHS:
            r = results[path, batch]
            print(f"{batch:>5} {path:>9} {r['median_ms']:>10.1f} {r['p90_ms']:>8.1f} {r['median_ms'] / batch:>10.1f} "
                  f"{r['peak_mb']:>20.0f} {r['median_ms'] / results['faithful', batch]['median_ms']:>14.2f} "
                  f"{r['median_ms'] / results[path, args.batches[0]]['median_ms']:>11.2f}")


if __name__ == "__main__":
    main()
