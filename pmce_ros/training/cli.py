"""`pmce-train CONFIG` and `pmce-eval CONFIG CHECKPOINT`."""

import argparse
import dataclasses
import sys
from pathlib import Path

from pmce_ros.body.body_model import load_body
from pmce_ros.model import load_pmce_weights
from pmce_ros.model.checkpoint import read_checkpoint_file, recorded_config
from pmce_ros.training.config import TrainConfig, load_config
from pmce_ros.training.data import load_sequences
from pmce_ros.training.evaluate import evaluate, format_table
from pmce_ros.training.sequences import WindowDataset
from pmce_ros.training.trainer import build_model, export_inference_weights, train_stages


def _config(path: str, output: str | None) -> TrainConfig:
    return load_config(path, **({"output": Path(output)} if output else {}))


def evaluate_checkpoint(config: TrainConfig, checkpoint: Path, pad_future: bool = False) -> dict[str, float]:
    """Metrics of a checkpoint (ours or the authors') on the configured test split; the architecture is the one
    the file records, else the configuration's. `pad_future`: a centered model run causally (WindowDataset)."""
    content = read_checkpoint_file(checkpoint)
    config = dataclasses.replace(config, model=recorded_config(content) or config.model)
    body = load_body(config.body.smpl, config.body.authors_assets, True, config.body.generated)
    model = build_model(config, body)
    stage = "pose" if load_pmce_weights(model, checkpoint, content) == "pose_lifter" else "mesh"
    config = dataclasses.replace(config, stage=stage)
    dataset = WindowDataset(
        load_sequences(config, "test", body),
        config.model.num_frames,
        body.h36m_regressor,
        config.image_features,
        described_frame=config.model.described_frame,
        pad_future=pad_future,
    )
    return evaluate(model, dataset, body, config)


def train_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pmce-train",
        description="Train PMCE (stage 1 'pose' or 2 'mesh') from a "
        "YAML configuration; prints the test metrics at the end.",
    )
    parser.add_argument("config", help="YAML file, e.g. config/training/synthetic_mesh.yaml")
    parser.add_argument("--output", help="run folder (default: the configuration's `output`)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from <output>/last.pth.tar (and <output>/stage1/last.pth.tar) where present",
    )
    args = parser.parse_args(argv)
    try:
        trainer, metrics = train_stages(_config(args.config, args.output), resume=args.resume)
    except (ValueError, FileNotFoundError) as error:
        print(f"pmce-train: {error}", file=sys.stderr)
        return 2
    print(format_table({trainer.config.output.name: metrics}))
    return 0


def eval_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pmce-eval",
        description="Evaluate a PMCE checkpoint on the test split of "
        "a YAML configuration's dataset and print the metric table (mm).",
    )
    parser.add_argument("config")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--output", help="folder for built synthetic data (default: the configuration's `output`)")
    parser.add_argument(
        "--export",
        type=Path,
        help="also write the checkpoint as inference weights here (fp16, with its architecture, label, training "
        "record and these test metrics), as the package's shipped weights are made",
    )
    parser.add_argument(
        "--pad-future",
        action="store_true",
        help="run a centered model causally: the window after the described frame is that frame repeated (what "
        "latency_mode causal does with the authors' weights)",
    )
    parser.add_argument(
        "--no-metrics",
        action="store_true",
        help="with --export: write the weights without evaluating on the rendered split (for models whose held-out "
        "figures come from bench/real_capture.py)",
    )
    args = parser.parse_args(argv)
    try:
        config = _config(args.config, args.output)
        if args.no_metrics and args.export:
            export_inference_weights(args.checkpoint, args.export, config)
            print(f"inference weights: {args.export} ({args.export.stat().st_size / 1e6:.1f} MB), not evaluated")
            return 0
        metrics = evaluate_checkpoint(config, args.checkpoint, args.pad_future)
        if args.export:
            export_inference_weights(args.checkpoint, args.export, config, metrics)
    except (ValueError, FileNotFoundError) as error:
        print(f"pmce-eval: {error}", file=sys.stderr)
        return 2
    print(format_table({args.checkpoint.name: metrics}))
    if args.export:
        print(f"inference weights: {args.export} ({args.export.stat().st_size / 1e6:.1f} MB)")
    return 0
