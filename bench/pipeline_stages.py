"""Per-stage latency and frames per second of the pipeline with 1, 3 and 6 people in view, on this machine.

Frames: real people (the four in ultralytics' bus.jpg, cut out by their detected boxes and pasted side by side,
repeated as needed) on a grey 1280x720 canvas, the same frame every time so that tracks fill their windows.
Stand-ins: untrained ResNet-50 and PMCE weights (same cost as trained ones), on the body `--body` names.
Prints median milliseconds per stage, the frame total, the sum of stages vs. the total (hidden overhead), and FPS.
Usage: bench/pipeline_stages.py [--people 1 3 6] [--frames 12] [any pipeline setting, e.g. --image-size 640
       --device cuda --precision fp16 --fast-path --pmce-compile-max-batch 8]
"""

import argparse
import time

import cv2
import numpy as np

from pmce_ros import settings
from pmce_ros.assets import ultralytics_sample
from pmce_ros.perception.pose_tracker import PoseTracker
from pmce_ros.pipeline import Pipeline

STAGES = ("detect", "features", "pmce", "body", "placement")


def people_canvas(count: int) -> np.ndarray:
    bus = cv2.imread(str(ultralytics_sample("bus.jpg")))
    boxes = PoseTracker()(bus).boxes.astype(int)
    cutouts = [bus[max(y0, 0) : y1, max(x0, 0) : x1] for x0, y0, x1, y1 in boxes if x1 - x0 > 80]
    canvas = np.full((720, 1280, 3), 128, np.uint8)
    width = 1280 // count
    for i in range(count):
        person = cutouts[i % len(cutouts)]
        scale = min(600 / person.shape[0], (width - 10) / person.shape[1])
        person = cv2.resize(person, None, fx=scale, fy=scale)
        x = i * width + (width - person.shape[1]) // 2
        canvas[60 : 60 + person.shape[0], x : x + person.shape[1]] = person
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[1, 3, 6])
    parser.add_argument("--frames", type=int, default=12, help="measured frames after the windows fill")
    settings.add_pipeline_options(parser, {"allow_untrained_features": True, "allow_untrained_pmce": True})
    args = parser.parse_args()
    pipeline = Pipeline(settings.pipeline_config(settings.pipeline_values(args)))
    print(
        f"weights: {pipeline.weights_description}; PMCE {pipeline.execution}; device {args.device}, "
        f"{args.precision}, fast path {'on' if args.fast_path else 'off'}"
    )
    print(
        f"{'people':>6} {'found':>5} "
        + " ".join(f"{s + ' ms':>12}" for s in STAGES)
        + f" {'sum ms':>8} {'frame ms':>9} {'sum/frame':>9} {'FPS':>6}"
    )
    for count in args.people:
        canvas = people_canvas(count)
        pipeline.reset()
        rows, found = [], []
        for frame in range(pipeline.window + args.frames):
            started = time.perf_counter()
            result = pipeline.process(canvas, frame / 30)
            total = 1000 * (time.perf_counter() - started)
            if frame >= pipeline.window:
                rows.append([result.timings_ms.get(s, 0.0) for s in STAGES] + [total])
                found.append(len(result.people))
        median = np.median(np.array(rows), axis=0)
        stage_sum = median[:-1].sum()
        print(
            f"{count:>6} {int(np.median(found)):>5} "
            + " ".join(f"{v:>12.1f}" for v in median[:-1])
            + f" {stage_sum:>8.1f} {median[-1]:>9.1f} {stage_sum / median[-1]:>9.2f} {1000 / median[-1]:>6.2f}"
        )


if __name__ == "__main__":
    main()
