"""The GPU path in one command, for a machine with CUDA: correctness checks (CUDA meshes equal the CPU's; on CUDA
both networks run on torch by choice, the OpenVINO paths being CPU-only), then the forward, pipeline, per-person
and node benchmarks with --device cuda in fp32, fp16 and compiled (CUDA graphs), within a time budget (8 minutes).

Prints one table (step, status, seconds) and writes it, with every step's own output, to --out.
Usage: bench/gpu_check.py [--out gpu_check.md] [--budget-s 480]
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

BENCH = Path(__file__).parent
CHECK_TOLERANCE_MM = 1.0  # fp32 on the GPU against the CPU: different kernels, same arithmetic


def check_pmce_cuda_matches_cpu() -> str:
    """Faithful PMCE on the GPU (eager and compiled with CUDA graphs) gives the CPU's meshes."""
    from pmce_ros.body.body_model import load_body
    from pmce_ros.model import PMCE, PMCEConfig
    from pmce_ros.model.compiled import CompiledPMCE
    from pmce_ros.model.seeding import seeded

    body = load_body()
    with seeded():
        model = PMCE(PMCEConfig(num_joints=19, fast=True), body.coarse.vertex_joint_index, body.coarse.vertices)
    model.eval()
    generator = torch.Generator().manual_seed(0)
    pose2d = torch.rand(5, 16, 19, 2, generator=generator) * 2 - 1
    features = torch.rand(5, 16, 2048, generator=generator)
    with torch.inference_mode():
        reference = model(pose2d, features)[0]
        gpu = model.to("cuda")
        eager = gpu(pose2d.cuda(), features.cuda())[0].cpu()
        compiled = CompiledPMCE(gpu, 8)
        compiled.warm_up()
        graphs = compiled(pose2d.cuda(), features.cuda())[0].cpu()
    worst = {
        "eager": float((eager - reference).abs().max()) * 1000,
        "CUDA graphs": float((graphs - reference).abs().max()) * 1000,
    }
    failed = {k: v for k, v in worst.items() if not np.isfinite(v) or v > CHECK_TOLERANCE_MM}
    detail = ", ".join(f"{k} {v:.4f} mm" for k, v in worst.items())
    if failed:
        raise AssertionError(f"GPU meshes differ from the CPU's: {detail}")
    return f"largest mesh difference from the CPU: {detail}"


def check_cuda_runs_torch_without_fallbacks() -> str:
    """On CUDA, detector and PMCE run on torch by choice (the OpenVINO paths are CPU-only), with no fallback line."""
    import logging

    from pmce_ros.body.body_model import load_body
    from pmce_ros.perception.pose_tracker import PoseTrackerConfig, choose_backend
    from pmce_ros.pipeline import PipelineConfig
    from pmce_ros.pipeline.loading import build_pmce, pmce_runner

    detector = choose_backend(PoseTrackerConfig(device="cuda"))
    config = PipelineConfig(device="cuda", detector=PoseTrackerConfig(device="cuda"))
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logging.getLogger("pmce_ros").addHandler(handler)
    try:
        execution = pmce_runner(build_pmce(config, load_body(generated=config.body), "cuda").model, config)[1]
    finally:
        logging.getLogger("pmce_ros").removeHandler(handler)
    if detector != ("torch", None) or execution != "torch eager" or records:
        raise AssertionError(f"detector {detector}, PMCE {execution}, log {[r.getMessage() for r in records]}")
    return "detector: torch, PMCE: torch eager, no fallback"


STEPS = (
    ("PMCE on CUDA equals the CPU (eager, CUDA graphs)", check_pmce_cuda_matches_cpu),
    ("on CUDA both networks run on torch, no fallback", check_cuda_runs_torch_without_fallbacks),
    ("PMCE forward, cuda fp32", ["pmce_forward.py", "--device", "cuda", "--batches", "1", "5", "8"]),
    ("pipeline, cuda fp32, 1 and 5 people", ["pipeline_stages.py", "--device", "cuda", "--people", "1", "5"]),
    (
        "pipeline, cuda fp16",
        ["pipeline_stages.py", "--device", "cuda", "--precision", "fp16", "--people", "1", "5"],
    ),
    (
        "pipeline, cuda compiled (CUDA graphs)",
        [
            "pipeline_stages.py",
            "--device",
            "cuda",
            "--fast-path",
            "--pmce-compile-max-batch",
            "8",
            "--people",
            "1",
            "5",
        ],
    ),
    ("cost per person, cuda, 1-5 people", ["people_scaling.py", "--device", "cuda", "--frames", "20"]),
    ("precision, cuda", ["precision.py", "--device", "cuda"]),
    ("pmce-process with renders, cuda, 1080p one person", ["process_1080p.py", "--device", "cuda"]),
    ("node end to end, cuda, causal", ["node_end_to_end.py", "--device", "cuda", "--latency-mode", "causal"]),
)


def run_step(step, seconds_left: float) -> tuple[str, str]:
    """(status, output) of one step."""
    if callable(step):
        try:
            return "pass", step()
        except Exception as error:  # a failed check is reported, and the other steps still run
            return "FAIL", f"{type(error).__name__}: {error}"
    try:
        run = subprocess.run(
            [sys.executable, str(BENCH / step[0]), *step[1:]], capture_output=True, text=True, timeout=seconds_left
        )
    except subprocess.TimeoutExpired:
        return "timeout", f"stopped after {seconds_left:.0f} s (the budget)"
    return ("ok" if run.returncode == 0 else f"exit {run.returncode}"), (run.stdout + run.stderr[-3000:]).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_check.md"))
    parser.add_argument("--budget-s", type=float, default=480.0)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; run it on a machine with a GPU", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.budget_s
    rows, sections = [], []
    for name, step in STEPS:
        left = deadline - time.monotonic()
        if left < 10:
            rows.append((name, "skipped (budget spent)", 0.0))
            continue
        started = time.monotonic()
        status, output = run_step(step, left)
        rows.append((name, status, time.monotonic() - started))
        sections.append(f"## {name}\n\n```\n{output}\n```\n")
    device = torch.cuda.get_device_name(0)
    table = "\n".join(
        [f"GPU check on {device}, torch {torch.__version__}", "", "| step | status | seconds |", "|---|---|---|"]
        + [f"| {name} | {status} | {seconds:.0f} |" for name, status, seconds in rows]
    )
    print(table)
    args.out.write_text(table + "\n\n" + "\n".join(sections))
    print(f"\nfull output: {args.out}")
    return 0 if all(status in ("pass", "ok") for _, status, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
