"""pmce-process on a 1080p one-person video, all stages included: frames per second and the renders' share.

No 1080p video of a person exists offline, so one is made from a real photo: the largest person of
ultralytics' bus.jpg, cut out by its detected box, walking across a 1920x1080 frame for --frames frames at 30 fps,
in front of the photo scaled and blurred until the detector finds nobody in it. pmce-process runs on it with its
default settings (the pose-only model, the detector reading the region around the person between full-image
detections) and, side by side, with the int8 detector, with the detector reading the whole image every frame, and
with the package's full PMCE demo weights (ResNet-50 stage included).
Any other option goes to every pmce-process run (e.g. --device cuda).
Usage: bench/process_1080p.py [--frames 81] [pmce-process options]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from pmce_ros.assets import DEMO_PMCE_WEIGHTS, ultralytics_sample
from pmce_ros.perception.pose_tracker import PoseTracker

WIDTH, HEIGHT, FPS = 1920, 1080, 30


def one_person_video(path: Path, frames: int) -> Path:
    bus = cv2.imread(str(ultralytics_sample("bus.jpg")))
    boxes = PoseTracker()(bus).boxes.astype(int)
    x0, y0, x1, y1 = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    person = bus[max(y0, 0) : y1, max(x0, 0) : x1]
    scale = 800 / person.shape[0]
    person = cv2.resize(person, None, fx=scale, fy=scale)
    # Blurred until the detector finds nobody in it (at sigma 8 it found the photo's other three people).
    background = cv2.GaussianBlur(cv2.resize(bus, (WIDTH, HEIGHT)), (0, 0), 40)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    for frame in range(frames):
        image = background.copy()
        x = int(200 + (WIDTH - 400 - person.shape[1]) * frame / max(frames - 1, 1))
        image[200 : 200 + person.shape[0], x : x + person.shape[1]] = person
        writer.write(image)
    writer.release()
    return path


def process(video: Path, out: Path, extra: list[str]) -> dict:
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "pmce-process"), str(video), "--out", str(out), *extra],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - started
    run = json.loads((out / "run.json").read_text())
    return {"frames": run["frames"], "wall": wall, **run["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=81)
    args, common = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        video = one_person_video(Path(tmp) / "one_person_1080p.mp4", args.frames)
        runs = {
            "default (pose-only PMCE)": [],
            "the same, detector on the whole image": ["--no-roi-tracking"],
            "full PMCE demo weights + ResNet-50": [  # trained on the stand-in body
                "--pmce-weights",
                str(DEMO_PMCE_WEIGHTS),
                "--allow-untrained-features",
                "--body",
                "stand_in",
            ],
        }
        if "cuda" not in common:  # the int8 export runs on OpenVINO, on the CPU only
            runs["the same, int8 detector"] = ["--detector-backend", "openvino_int8"]
        rows = {
            name: process(video, Path(tmp) / f"run{i}", [*common, *extra])
            for i, (name, extra) in enumerate(runs.items())
        }
    print(f"pmce-process on a {WIDTH}x{HEIGHT} one-person video, {args.frames} frames {' '.join(common)}")
    print(
        f"{'run':38s} {'frames/s':>9s} {'pipeline ms':>12s} {'drawing ms':>11s} {'drawing/pipeline':>17s} "
        f"{'encoding ms':>12s}"
    )
    for name, r in rows.items():
        print(
            f"{name:38s} {r['frames'] / r['total']:9.2f} {1000 * r['pipeline'] / r['frames']:12.1f} "
            f"{1000 * r['drawing'] / r['frames']:11.1f} {r['drawing'] / r['pipeline']:17.2f} "
            f"{1000 * r['encoding'] / r['frames']:12.1f}"
        )


if __name__ == "__main__":
    main()
