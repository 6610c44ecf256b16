"""The pipeline's cost per person: frames per second with 1 to 5 real people in a 1920x1080 frame, the cost of
each extra person (ms/person, least-squares slope), and vtest at 960 px (a real crowd) beside them.

The people are the five largest of the offline photos' (bus.jpg's four, zidane.jpg's two), cut out by their
detected boxes, scaled to 540 px tall and standing side by side, each swaying across its own place, in front of
bus.jpg blurred until the detector finds nobody in it. Decoding excluded; the package's defaults otherwise (any
pipeline setting as an option, e.g. --detector-backend openvino_int8).
Usage: bench/people_scaling.py [--frames 40] [--vtest-frames 100] [pipeline settings]
"""

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from process_1080p import FPS, HEIGHT, WIDTH

from pmce_ros import settings
from pmce_ros.assets import DEFAULT_VIDEO, ultralytics_sample
from pmce_ros.perception.pose_tracker import PoseTracker
from pmce_ros.pipeline import Pipeline

PERSON_HEIGHT = 540
SWAY_PX = 40


def cutouts(count: int) -> list[np.ndarray]:
    """The `count` largest people of bus.jpg and zidane.jpg, each scaled to PERSON_HEIGHT."""
    people = []
    for name in ("bus.jpg", "zidane.jpg"):
        photo = cv2.imread(str(ultralytics_sample(name)))
        for x0, y0, x1, y1 in PoseTracker()(photo).boxes.astype(int):
            people.append(photo[max(y0, 0) : y1, max(x0, 0) : x1])
    people.sort(key=lambda person: -person.shape[0] * person.shape[1])
    return [cv2.resize(p, None, fx=PERSON_HEIGHT / p.shape[0], fy=PERSON_HEIGHT / p.shape[0]) for p in people[:count]]


def people_video(path: Path, frames: int, people: list[np.ndarray]) -> Path:
    background = cv2.GaussianBlur(
        cv2.resize(cv2.imread(str(ultralytics_sample("bus.jpg"))), (WIDTH, HEIGHT)), (0, 0), 40
    )
    slot = WIDTH // len(people)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    for frame in range(frames):
        image = background.copy()
        for n, person in enumerate(people):
            width = min(person.shape[1], slot)
            sway = SWAY_PX * np.sin(2 * np.pi * frame / FPS + n)
            x = int(np.clip(n * slot + (slot - width) / 2 + sway, 0, WIDTH - width))
            image[300 : 300 + PERSON_HEIGHT, x : x + width] = person[:, :width]
        writer.write(image)
    writer.release()
    return path


def run(pipeline: Pipeline, source: Path, frames: int, fps: float) -> dict:
    """Median ms a frame and per stage, and people estimated a frame; the first frame (start-up) untimed."""
    pipeline.reset()
    capture = cv2.VideoCapture(str(source))
    totals, stages, people = [], {}, []
    for index in range(frames + 1):
        ok, image = capture.read()
        if not ok:
            break
        started = time.perf_counter()
        result = pipeline.process(image, index / fps)
        took = 1000 * (time.perf_counter() - started)
        if index == 0:
            continue
        totals.append(took)
        people.append(len(result.people))
        for stage, ms in result.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    return {
        "ms": float(np.median(totals)),
        "people": float(np.mean(people)),
        **{stage: float(np.median(values)) for stage, values in stages.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--vtest-frames", type=int, default=100)
    settings.add_pipeline_options(parser)
    args = parser.parse_args()
    values = settings.pipeline_values(args)
    pipeline = Pipeline(settings.pipeline_config(values))
    vtest = Pipeline(settings.pipeline_config({**values, "image_size": 960}))
    print(f"weights: {pipeline.weights_description}; PMCE {pipeline.execution}")
    print(f"{'video':34s} {'people':>6s} {'frames/s':>8s} {'ms':>6s} {'detect':>6s} {'pmce':>6s} {'body+place':>10s}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        people = cutouts(5)
        for count in range(1, len(people) + 1):
            video = people_video(Path(tmp) / f"people_{count}.mp4", args.frames + 1, people[:count])
            rows.append(run(pipeline, video, args.frames, FPS))
            shown(f"1920x1080, {count} cut-outs, 640 px", rows[-1])
    shown("vtest, 960 px", run(vtest, DEFAULT_VIDEO, args.vtest_frames, 10.0))
    counts, ms = np.array([r["people"] for r in rows]), np.array([r["ms"] for r in rows])
    slope, intercept = np.polyfit(counts, ms, 1)
    print(f"per extra person: {slope:.1f} ms (least squares over 1-{len(rows)} people; {intercept:.1f} ms with none)")


def shown(name: str, r: dict) -> None:
    extra = r.get("body", 0.0) + r.get("placement", 0.0)
    print(
        f"{name:34s} {r['people']:6.1f} {1000 / r['ms']:8.2f} {r['ms']:6.1f} {r['detect']:6.1f} "
        f"{r.get('pmce', 0.0):6.1f} {extra:10.1f}"
    )


if __name__ == "__main__":
    main()
