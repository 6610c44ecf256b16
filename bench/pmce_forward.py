"""PMCE forward latency on this machine: faithful path vs. fast path vs. compiled vs. OpenVINO, batch 1 / 4 / 8,
fp32, side by side.

faithful: the authors' computation (explicit attention), torch.no_grad.
fast:     fused scaled_dot_product_attention, GRU layer 2 only to the mid frame, torch.inference_mode (same numbers
          within 1e-5).
compiled: the fast path through torch.compile at that batch size (CUDA graphs on a GPU), as the pipeline runs it
          with pmce_compile_max_batch; its one-off compile time and memory are printed apart.
openvino: the fast path converted to OpenVINO (CPU only), as the pipeline runs it with pmce_backend auto.
The network: the authors' architecture (random weights: the cost is the same), or with --pose-only the package's
pose-only model (the default of the node and the pipeline); --lifter-dims measures it with other lifter widths too
(one head per 32 channels, as both the authors' 256 and ours 128 have): what a larger model would cost.
The three run on the same weights and inputs, interleaved call by call, so that the machine's drift (10-20% over
minutes on a shared VM) hits them alike. Also prints the largest output difference of each path from faithful.
Usage: bench/pmce_forward.py [--repeats 20] [--device cpu|cuda] [--batches 1 4 8] [--pose-only]
                             [--lifter-dims 128 256]
"""

import argparse
import time
from dataclasses import replace

import numpy as np
import psutil
import torch

from pmce_ros.assets import POSE_ONLY_WEIGHTS
from pmce_ros.model import PMCE, PMCEConfig
from pmce_ros.model.checkpoint import read_checkpoint_file, recorded_config
from pmce_ros.model.compiled import CompiledPMCE
from pmce_ros.pipeline.openvino_pmce import OpenVINOPMCE


def resident_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def memory_mb(device: str) -> float:
    return torch.cuda.memory_allocated() / 2**20 if device == "cuda" else resident_mb()


def timed_call(model, inputs, device: str):
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    outputs = model(*inputs)
    if device == "cuda":
        torch.cuda.synchronize()
    return outputs, time.perf_counter() - started


def measure(batch: int, repeats: int, device: str, config: PMCEConfig) -> tuple[dict, float, float]:
    """Per path: median / p90 ms and the largest output difference from faithful; compile seconds and MB."""
    torch.manual_seed(0)
    faithful = PMCE(config, vertex_joint_index=torch.arange(431) % 19).eval().to(device)
    fast = PMCE(replace(config, fast=True), vertex_joint_index=torch.arange(431) % 19).eval().to(device)
    fast.load_state_dict(faithful.state_dict())
    inputs = (torch.randn(batch, 16, 19, 2, device=device), torch.randn(batch, 16, 2048, device=device))
    before = memory_mb(device)
    with torch.inference_mode():
        compiled = CompiledPMCE(fast, batch)
        compile_s = sum(compiled.warm_up().values())
    compile_mb = memory_mb(device) - before
    models = {"faithful": faithful, "fast": fast, "compiled": compiled}
    if device == "cpu":
        models["openvino"] = OpenVINOPMCE(fast)
    paths = tuple(models)
    times = {path: [] for path in paths}
    differences = dict.fromkeys(paths, 0.0)
    for i in range(repeats + 3):
        with torch.no_grad():
            reference, seconds = timed_call(faithful, inputs, device)
        if i >= 3:  # warm-up
            times["faithful"].append(seconds)
        for path in paths[1:]:
            with torch.inference_mode():
                outputs, seconds = timed_call(models[path], inputs, device)
            if i >= 3:
                times[path].append(seconds)
            differences[path] = max(
                differences[path], max(float((a - b).abs().max()) for a, b in zip(outputs, reference))
            )
    results = {
        path: {
            "median_ms": 1000 * float(np.median(times[path])),
            "p90_ms": 1000 * float(np.percentile(times[path], 90)),
            "max_difference": differences[path],
        }
        for path in paths
    }
    return results, compile_s, compile_mb


def print_table(results: dict, batches: list[int]) -> None:
    print(
        f"{'batch':>5} {'path':>9} {'median ms':>10} {'p90 ms':>8} {'ms/person':>10} {'vs faithful':>12} "
        f"{'vs batch 1':>11} {'max |diff|':>11}"
    )
    first = batches[0]
    for batch in batches:
        for path, r in results[batch].items():
            print(
                f"{batch:>5} {path:>9} {r['median_ms']:>10.1f} {r['p90_ms']:>8.1f} {r['median_ms'] / batch:>10.1f} "
                f"{r['median_ms'] / results[batch]['faithful']['median_ms']:>12.2f} "
                f"{r['median_ms'] / results[first][path]['median_ms']:>11.2f} {r['max_difference']:>11.1e}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--pose-only", action="store_true", help="the package's pose-only model")
    parser.add_argument("--lifter-dims", type=int, nargs="+", help="the model at each of these lifter widths")
    args = parser.parse_args()
    config = recorded_config(read_checkpoint_file(POSE_ONLY_WEIGHTS)) if args.pose_only else PMCEConfig()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else "")
    )
    widths = args.lifter_dims or [config.lifter_dim]
    compile_notes = []
    for width in widths:
        sized = config if width == config.lifter_dim else replace(config, lifter_dim=width, lifter_heads=width // 32)
        results = {}
        for batch in args.batches:
            results[batch], compile_s, compile_mb = measure(batch, args.repeats, args.device, sized)
            compile_notes.append(f"lifter {width}, batch {batch}: {compile_s:.0f} s, +{compile_mb:.0f} MB")
        print(f"lifter {width} wide, {sized.lifter_heads} heads")
        print_table(results, args.batches)
    memory = "GPU memory" if args.device == "cuda" else "process RSS"
    print(f"compiling (once, at configure; {memory} added): " + "; ".join(compile_notes))


if __name__ == "__main__":
    main()
