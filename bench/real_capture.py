"""The default pipeline on held-out real motion capture (pmce_ros/training/real_capture.py): subjects no weights
were trained on, seen by cameras at robot heights, keypoints from the capture with detector-like noise.

Prints, side by side in one run: a constant mean pose (of the training subjects), our body driven by the true
pose (the floor set by joint definitions and proportions; with each joint's offset from the capture's), and the
pipeline with each PMCE checkpoint given (the package's default weights, and e.g. the previous ones), each with
the track's body (the default) and, with --raw, with the network's raw bones. Figures: MPJPE, PA-MPJPE, ACCEL,
root position error (median, mm and % of distance), each bone's median length against the subject's (%), and the
share of detected frames estimated.

Usage: bench/real_capture.py [--capture-set runs/capture_set] [--weights LABEL=PATH ...]
                             [--previous-rev REV] [--max-frames 600] [--seed 0] [--raw] [--floor]
--floor adds the default weights with the floor known (the pipeline's `floor`: people sized and placed with their
feet on it), and the root error with and without it per kind of motion (FLOOR_GROUPS: standing and walking,
squatting, hopping, lying down), so that people off their feet are seen not to be pulled down.
--previous-rev REV adds the default weights file as it was at git revision REV. --figure PATH draws a held-out
clip (--figure-clip, a file stem) in 3D: the capture's skeleton and each run's, pelvis on pelvis, at six moments.
After the table, each run's error per joint after similarity alignment.

DIAGNOSIS (--diagnose), below the default weights' row: the same estimates with their bones rebuilt from the
pelvis, once with the capture's bone lengths on their directions and once with their lengths on the capture's
directions (is the error in the pose or in the proportions?); and the default pipeline given keypoints from our
body driven by the true pose (its COCO regressor: the network's training domain, with the same cameras and
noise), scored against the capture's joints and against our body's (is it the keypoints' definitions, or the
network?). --training-clips N scores N training clips drawn by --seed instead of the held-out subjects: a
network that fits what it was trained on and no more scores better there.
"""

import argparse
import random
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from pmce_ros.assets import default_pmce_weights
from pmce_ros.pipeline import Pipeline, PipelineConfig
from pmce_ros.training.capture_set import read_manifest, split_files
from pmce_ros.training.real_capture import (
    EVAL_BONES,
    EVAL_JOINTS,
    EVAL_TREE,
    Predictions,
    Views,
    body_keypoint_views,
    definition_offsets,
    held_out_views,
    mean_pose,
    mean_pose_score,
    run_pipeline,
    score,
    with_bones_of,
)

COLUMNS = ("mpjpe", "pa_mpjpe", "accel", "root_mm", "root_pct", *(f"bone {b} %" for b in EVAL_BONES), "estimated_pct")


def weights_at(revision: str, path: Path, folder: Path) -> Path:
    relative = path.resolve().relative_to(Path(__file__).resolve().parents[1])
    out = folder / f"{revision}_{path.name}"
    out.write_bytes(subprocess.run(["git", "show", f"{revision}:{relative}"], capture_output=True, check=True).stdout)
    return out


def draw(path: Path, view, runs: dict, moments: int = 6) -> None:
    """The capture's skeleton (black) and each run's (coloured), pelvis on pelvis, seen from the camera's side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shared = set.intersection(*(set(frames.tolist()) for frames, _ in runs.values()))
    chosen = sorted(shared)[:: max(len(shared) // moments, 1)][:moments]
    figure = plt.figure(figsize=(3 * len(chosen), 3.6))
    colours = ("tab:red", "tab:blue", "tab:green", "tab:orange")
    for column, frame in enumerate(chosen):
        axes = figure.add_subplot(1, len(chosen), column + 1, projection="3d")
        skeletons = {"capture": view.joints[frame]}
        for label, (frames, joints) in runs.items():
            skeletons[label] = joints[list(frames).index(frame)]
        for (label, joints), colour in zip(skeletons.items(), ("black", *colours)):
            rooted = joints - joints[0]
            for a, b in EVAL_TREE:
                i, j = EVAL_JOINTS.index(a), EVAL_JOINTS.index(b)
                # camera optical frame (x right, y down, z forward) drawn with up as up
                xs, ys, zs = rooted[[i, j], 0], rooted[[i, j], 2], -rooted[[i, j], 1]
                axes.plot(
                    xs,
                    ys,
                    zs,
                    color=colour,
                    linewidth=2 if label == "capture" else 1.4,
                    label=label if (a, b) == EVAL_TREE[0] else None,
                )
        axes.set_xlim(-0.9, 0.9), axes.set_ylim(-0.9, 0.9), axes.set_zlim(-1.0, 0.8)
        axes.set_box_aspect((1, 1, 1)), axes.view_init(elev=10, azim=-80)
        axes.set_xticklabels([]), axes.set_yticklabels([]), axes.set_zticklabels([])
        axes.set_title(f"{view.name}, frame {frame}", fontsize=8)
    figure.legend(*figure.axes[0].get_legend_handles_labels(), loc="lower center", ncol=len(runs) + 1, fontsize=8)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    figure.savefig(path, dpi=110)


# Held-out clips by what the person does, from the take's name (HDM05 names its takes; CMU's takes go by number)
FLOOR_GROUPS = {"hopping": ("hop",), "squatting": ("squat",), "lying down": ("lieDown",)}


def floor_group(clip_name: str) -> str:
    return next((g for g, words in FLOOR_GROUPS.items() if any(w in clip_name for w in words)), "other motion")


def root_by_group(clip_views, predictions: Predictions) -> dict[str, tuple[float, float, int]]:
    """Per FLOOR_GROUPS group: median root error (mm, % of distance) and frames estimated."""
    out = {}
    for group in (*FLOOR_GROUPS, "other motion"):
        chosen = [n for n, view in enumerate(clip_views) if floor_group(view.name) == group]
        part = Predictions([predictions.frames[n] for n in chosen], [predictions.joints[n] for n in chosen])
        if sum(len(f) for f in part.frames):
            values = score([clip_views[n] for n in chosen], part)
            out[group] = values["root_mm"], values["root_pct"], sum(len(f) for f in part.frames)
    return out


def diagnose(files, clip_views, predictions: Predictions, config: PipelineConfig, seed: int, views: Views) -> dict:
    """DIAGNOSIS's rows; returns their per-joint errors."""
    truth = [view.joints[frames] for view, frames in zip(clip_views, predictions.frames)]
    swapped = {
        "its bone directions, the capture's lengths": [with_bones_of(p, t) for p, t in zip(predictions.joints, truth)],
        "the capture's bone directions, its lengths": [with_bones_of(t, p) for p, t in zip(predictions.joints, truth)],
    }
    per_joint = {}
    for label, joints in swapped.items():
        values = score(clip_views, Predictions(predictions.frames, joints))
        print(row(f"- {label}", values))
        per_joint[label] = values["pa_per_joint"]
    pipeline = Pipeline(config)
    against_capture, against_body = body_keypoint_views(files, clip_views, pipeline.body, seed, views)
    predicted = run_pipeline(pipeline, against_capture)
    for label, scored_views in (("the capture's", against_capture), ("our body's", against_body)):
        values = score(scored_views, predicted)
        print(row(f"- keypoints from our body driven by the true pose, against {label} joints", values))
        per_joint[f"our body's keypoints, against {label} joints"] = values["pa_per_joint"]
    return per_joint


def row(label: str, values: dict) -> str:
    cells = [f"{values[c]:.1f}" if c in values else "" for c in COLUMNS]
    return f"| {label} | " + " | ".join(cells) + " |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capture-set", type=Path, default=Path("runs/capture_set"))
    parser.add_argument("--weights", action="append", default=[], help="LABEL=PATH, a PMCE checkpoint to compare")
    parser.add_argument("--previous-rev", help="also the default weights file as it was at this git revision")
    parser.add_argument("--max-frames", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--raw", action="store_true", help="also each checkpoint with the network's raw bones")
    parser.add_argument("--floor", action="store_true", help="also the default weights with the floor known")
    parser.add_argument("--figure", type=Path, help="draw one held-out clip's skeletons here (PNG)")
    parser.add_argument("--figure-clip", default="HDM_mm_throwBasketball_010_120", help="its file stem")
    parser.add_argument("--diagnose", action="store_true", help="where the default weights' error lies (DIAGNOSIS)")
    parser.add_argument("--training-clips", type=int, help="score this many training clips instead (drawn by --seed)")
    args = parser.parse_args()

    manifest = read_manifest(args.capture_set)
    test_files = split_files(args.capture_set, "test")
    if args.training_clips:
        training = split_files(args.capture_set, "train")
        test_files = sorted(random.Random(args.seed).sample(training, args.training_clips))
    chosen = {path.relative_to(args.capture_set).as_posix() for path in test_files}
    subjects = sorted({c["subject"] for c in manifest["clips"] if c["file"] in chosen})
    default = PipelineConfig()
    candidates = [("default weights", None)] + [tuple(w.split("=", 1)) for w in args.weights]
    folder = Path(tempfile.mkdtemp(prefix="real_capture_"))
    if args.previous_rev:
        candidates.append(
            (
                f"weights at {args.previous_rev}",
                weights_at(args.previous_rev, default_pmce_weights(default.body, True), folder),
            )
        )

    views = Views(max_frames=args.max_frames)
    pipeline = Pipeline(default)
    clip_views = held_out_views(test_files, pipeline.body, args.seed, views)
    frames = sum(sum(len(d) > 0 for d in v.detections) for v in clip_views)
    scored = "training clips" if args.training_clips else "held out"
    print(f"{scored}: {len(test_files)} clips of {subjects}, {frames} detected frames at 30 fps (seed {args.seed})")

    floor = definition_offsets(test_files, pipeline.body, args.max_frames)
    print("| run | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    print(
        row(
            "constant mean pose (training subjects)",
            {"pa_mpjpe": mean_pose_score(clip_views, mean_pose(split_files(args.capture_set, "train")))},
        )
    )
    print(row("our body (mean shape) driven by the true pose", floor))
    drawn, by_group, by_joint = {}, {}, {"our body driven by the true pose": floor["pa_per_joint"]}
    figure_clip = next((n for n, path in enumerate(test_files) if path.stem == args.figure_clip), None)
    for label, weights in candidates:
        runs = [(True, False), (False, False)] if args.raw else [(True, False)]
        for identity, floor_known in runs + ([(True, True)] if args.floor and weights is None else []):
            config = replace(default, pmce_weights=Path(weights) if weights else None, body_identity=identity)
            started = time.perf_counter()
            predictions = run_pipeline(Pipeline(config), clip_views, floor_known)
            seconds = time.perf_counter() - started
            kind = ", floor known" if floor_known else ("" if identity else ", raw bones")
            values = score(clip_views, predictions)
            print(row(f"{label}{kind} ({seconds:.0f} s)", values))
            by_joint[f"{label}{kind}"] = values["pa_per_joint"]
            if identity and not floor_known and figure_clip is not None:
                drawn[label] = predictions.frames[figure_clip], predictions.joints[figure_clip]
            if identity:
                by_group[f"{label}{kind}"] = root_by_group(clip_views, predictions)
            if args.diagnose and weights is None and identity and not floor_known:
                by_joint.update(diagnose(test_files, clip_views, predictions, default, args.seed, views))
    if args.floor:
        print("\nroot error by motion, median mm (% of distance), frames:")
        for label, groups in by_group.items():
            cells = ", ".join(f"{g} {mm:.0f} ({pct:.1f}%) n={n}" for g, (mm, pct, n) in groups.items())
            print(f"- {label}: {cells}")
    if args.figure and drawn:
        draw(args.figure, clip_views[figure_clip], drawn)
        print(f"figure: {args.figure}")
    # the true pose's row is the offset of our joint definitions from the capture's
    print("\neach joint's mean error after similarity alignment, mm:")
    for label, errors in by_joint.items():
        print(f"- {label}: " + ", ".join(f"{name} {value:.0f}" for name, value in errors.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
