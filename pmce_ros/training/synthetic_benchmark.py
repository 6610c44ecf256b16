"""`pmce-synthetic-benchmark`: the README's results table and the demo weights, from nothing, in one command.

Builds the synthetic mocap splits (once; cached), trains PMCE (T=16), its single-frame variant and the 'only pose'
ablation with config/training/synthetic_*.yaml (resuming any finished epochs), evaluates each on the held-out
clips, writes runs/synthetic/results.md and exports the PMCE run as the demo weights. A diagnostic row evaluates
the PMCE weights again with every frame's image feature replaced by its sequence's mean: what is left of ACCEL
then is the jitter that does not come through the image stream.
"""

import argparse
import dataclasses
import os
import platform
from pathlib import Path

import numpy as np
import torch

from pmce_ros.model.checkpoint import read_checkpoint_file
from pmce_ros.training.config import TrainConfig, load_config
from pmce_ros.training.evaluate import evaluate, format_table
from pmce_ros.training.sequences import WindowDataset
from pmce_ros.training.trainer import LAST, Trainer, export_inference_weights, train_stages

VARIANTS = (
    ("PMCE (T=16)", "synthetic_pmce.yaml"),
    ("single frame (T=1)", "synthetic_single_frame.yaml"),
    ("only pose (no image features)", "synthetic_only_pose.yaml"),
)
DEMO_WEIGHTS = Path("pmce_ros/data/pmce_synthetic_demo.pt")
# A diagnostic row: where the temporal jitter (ACCEL) of the trained model comes from.
STEADY_FEATURES = "PMCE (T=16), each sequence's features replaced by their mean (diagnostic)"


def _steady_features(windows: WindowDataset) -> WindowDataset:
    """The same windows with every frame's image feature replaced by its sequence's mean feature."""
    steady = [
        dataclasses.replace(s, features=np.repeat(s.features.astype(np.float32).mean(0, keepdims=True), len(s), axis=0))
        for s in windows.sequences
    ]
    return WindowDataset(
        steady,
        windows.num_frames,
        windows.h36m_regressor,
        windows.image_features,
        described_frame=windows.described_frame,
    )


def _budget(config: TrainConfig, trainer: Trainer) -> dict[str, str]:
    """Parameters, optimiser steps and training time of both stages (stage 1 read back from its checkpoint)."""
    steps = -(-len(trainer.train_set) // config.optim.batch_size)
    stage1 = read_checkpoint_file(config.output / "stage1" / LAST)
    stage1_steps = -(-len(trainer.train_set) // config.stage1.batch_size)
    minutes = (stage1["train_seconds"] + trainer.train_seconds) / 60
    return {
        "params": f"{sum(p.numel() for p in trainer.model.parameters()) / 1e6:.2f} M",
        "training": f"stage 1: {config.stage1.epochs} x {stage1_steps} steps, stage 2: "
        f"{config.optim.epochs} x {steps} steps ({len(trainer.train_set)} windows)",
        "wall time": f"{minutes:.0f} min",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pmce-synthetic-benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=Path, default=Path("config/training"))
    parser.add_argument("--results", type=Path, default=Path("runs/synthetic/results.md"))
    parser.add_argument(
        "--demo-weights",
        default=str(DEMO_WEIGHTS),
        help="where the PMCE run is exported for pmce-demo ('' = do not export)",
    )
    args = parser.parse_args(argv)
    rows, budgets, data = {}, {}, None
    for name, file in VARIANTS:
        config = load_config(args.configs / file)
        trainer, metrics = train_stages(config, resume=True)
        rows[name], budgets[name] = metrics, _budget(config, trainer)
        data = trainer.test_set
        if file == VARIANTS[0][1]:
            rows[STEADY_FEATURES] = evaluate(trainer.model, _steady_features(data), trainer.body, trainer.config)
            budgets[STEADY_FEATURES] = {"training": "none: the PMCE (T=16) weights above"}
            if args.demo_weights:
                export_inference_weights(trainer.config.output / LAST, Path(args.demo_weights))
    table = format_table(rows, budgets)
    frames = sum(len(s) for s in data.sequences)
    note = (
        f"Held-out clips: {len(data.sequences)} renderings of "
        f"{', '.join(sorted({s.name.split('/')[0] for s in data.sequences}))} ({frames} frames). "
        f"Body: {trainer.body.name}. Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads."
    )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(table + "\n\n" + note + "\n")
    print(table + "\n\n" + note)
    return 0
