"""Side by side with the CPU peer a robot would pick instead: MediaPipe Pose and our pipeline on the same 1080p
one-person video, in one run, frames per second for each and the ratio.

MediaPipe runs in a venv of its own (it pins its own numpy and OpenCV), made from bench/mediapipe/requirements.txt
at --venv on first use (about 25 s; PyPI only), with the legacy Pose solution at model complexity 1: the model
its wheel carries. Ours: the package's defaults (detector, tracker, pose-only PMCE, body identity, placement),
the detector reading the whole image or, with roi tracking, the region around the person, fp32 or int8; torch on
one thread per core but one, as pmce_node and pmce-process run it by default, and once on every core.
Both are timed per frame with decoding excluded; MediaPipe gives 2D/3D landmarks of one person, we give every
person's mesh and skeleton placed in the camera frame.
The video: process_1080p.py's (a real person from bus.jpg, 800 px tall, moved across a 1920x1080 frame).
Usage: bench/vs_mediapipe.py [--frames 150] [--venv .venv-mediapipe]
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from process_1080p import one_person_video

from pmce_ros.perception.pose_tracker import PoseTrackerConfig
from pmce_ros.pipeline import Pipeline, PipelineConfig
from pmce_ros.settings import threads_beside_others

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "mediapipe" / "requirements.txt"
WORKER = HERE / "mediapipe" / "pose_worker.py"
# Ours always gives every person's mesh and skeleton; these change only how the detector reads the image.
OUR_DETECTORS = {
    "whole image": PoseTrackerConfig(roi_tracking=False),
    "roi tracking": PoseTrackerConfig(roi_tracking=True),
    "int8, whole image": PoseTrackerConfig(backend="openvino_int8", roi_tracking=False),
    "int8, roi tracking": PoseTrackerConfig(backend="openvino_int8", roi_tracking=True),
}


def mediapipe_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)
    return python


def run_mediapipe(python: Path, video: Path, frames: int) -> dict:
    out = subprocess.run(
        [str(python), str(WORKER), str(video), str(frames)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_ours(video: Path, frames: int, config: PipelineConfig) -> dict:
    pipeline = Pipeline(config)
    capture = cv2.VideoCapture(str(video))
    seconds, estimated, count, per_frame = 0.0, 0, 0, []
    ok, image = capture.read()
    pipeline.process(image, 0.0)  # first call: lazy start-up in the detector, not timed
    while count < frames:
        ok, image = capture.read()
        if not ok:
            break
        started = time.perf_counter()
        result = pipeline.process(image, (count + 1) / 30)
        took = time.perf_counter() - started
        seconds += took
        per_frame.append(1000 * took)
        estimated += bool(result.people)
        count += 1
    return {"frames": count, "seconds": seconds, "with_pose": estimated, "p50_ms": float(np.median(per_frame))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--venv", type=Path, default=HERE.parent / ".venv-mediapipe")
    args = parser.parse_args()
    python = mediapipe_python(args.venv)
    with tempfile.TemporaryDirectory() as tmp:
        video = one_person_video(Path(tmp) / "one_person_1080p.mp4", args.frames + 1)
        runs = {
            "MediaPipe Pose 0.10.14 (complexity 1)": run_mediapipe(python, video, args.frames),
            **{
                f"pmce_ros, {name}" + (" (defaults)" if detector == PoseTrackerConfig() else ""): run_ours(
                    video, args.frames, PipelineConfig(detector=detector, torch_threads=threads_beside_others(0))
                )
                for name, detector in OUR_DETECTORS.items()
            },
            "pmce_ros, roi tracking, torch on every core": run_ours(
                video, args.frames, PipelineConfig(torch_threads=len(os.sched_getaffinity(0)))
            ),
        }
    print(f"1920x1080 one-person video, {args.frames} frames, decoding excluded")
    print(f"{'run':44s} {'frames/s':>9s} {'ms/frame':>9s} {'median ms':>9s} {'frames with a pose':>19s} {'ratio':>6s}")
    theirs = next(iter(runs.values()))
    for name, r in runs.items():
        ratio = (r["frames"] / r["seconds"]) / (theirs["frames"] / theirs["seconds"])
        print(
            f"{name:44s} {r['frames'] / r['seconds']:9.2f} {1000 * r['seconds'] / r['frames']:9.1f} "
            f"{r['p50_ms']:9.1f} {r['with_pose']:>12d} of {r['frames']} {ratio:6.2f}"
        )
    print("ratio: frames per second over MediaPipe's")


if __name__ == "__main__":
    main()
