"""What the CPU speed-ups change: the int8 detector and roi tracking (the detector reading only the region around
the people tracked between full-image detections; the default) against the fp32 detector on the whole image, and
the pipeline with PMCE on OpenVINO (the default), the int8 detector or roi tracking against the defaults before
them (PMCE on torch, faithful path, the whole image), side by side on the offline footage.

1. Keypoints, detector alone, interleaved frame by frame: people found by each; for people matched by box
   (IoU >= 0.5) the mean keypoint error in pixels and in % of box height, and OKS (COCO's per-keypoint sigmas,
   scale = box area); median ms a frame for each.
2. Quality, pmce-process's quality.json for each setting: reprojection (median, of box height), bone-length CV,
   jitter, and their relative change from the defaults before the speed-ups, which must stay within 10% for a
   speed-up to be a default.
Footage: the 1080p one-person bench video (process_1080p.py), vtest at 960 px, the four offline photos.
Usage: bench/speed_accuracy.py [--frames 81] [--vtest-frames 200]
"""

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from body_identity import PHOTOS, measure, shown
from process_1080p import one_person_video

from pmce_ros.assets import DEFAULT_VIDEO
from pmce_ros.perception.pose_tracker import PoseTracker, PoseTrackerConfig

# COCO-17 keypoint sigmas (the COCO keypoint evaluation's).
OKS_SIGMAS = np.array([26, 25, 25, 35, 35, 79, 79, 72, 72, 62, 62, 107, 107, 87, 87, 89, 89]) / 1000
RUNS = {
    "torch PMCE": ["--pmce-backend", "torch", "--no-fast-path", "--no-roi-tracking"],  # the defaults of 2026-12-02
    "whole image": ["--no-roi-tracking"],  # PMCE on OpenVINO, the fast path: the defaults of 2026-12-03
    "int8": ["--detector-backend", "openvino_int8", "--no-roi-tracking"],
    "roi": ["--roi-tracking"],  # today's defaults
}
DETECTOR_CANDIDATES = {"int8": {"backend": "openvino_int8", "roi_tracking": False}, "roi": {"roi_tracking": True}}
MATCH_IOU = 0.5


def frames_of(source: Path, count: int) -> list[np.ndarray]:
    capture, frames = cv2.VideoCapture(str(source)), []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    return frames


def iou(a: np.ndarray, b: np.ndarray) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union if union > 0 else 0.0


def agreement(reference, other) -> list[tuple[float, float, float]]:
    """(pixel error, % of box height, OKS) for each reference person with a match in `other`."""
    rows = []
    for box, keypoints in zip(reference.boxes, reference.keypoints):
        overlaps = [iou(box, candidate) for candidate in other.boxes]
        if not overlaps or max(overlaps) < MATCH_IOU:
            continue
        match = other.keypoints[int(np.argmax(overlaps))]
        visible = keypoints[:, 2] > 0.5
        if not visible.any():
            continue
        distance = np.linalg.norm(match[:, :2] - keypoints[:, :2], axis=1)
        area = (box[2] - box[0]) * (box[3] - box[1])
        oks = np.exp(-(distance[visible] ** 2) / (2 * area * OKS_SIGMAS[visible] ** 2)).mean()
        rows.append((distance[visible].mean(), 100 * distance[visible].mean() / (box[3] - box[1]), oks))
    return rows


def compare_detectors(name: str, images: list[np.ndarray], image_size: int, candidates: tuple[str, ...]) -> None:
    """The fp32 detector reading the whole image every frame against each candidate, interleaved frame by frame."""
    settings = {"fp32": {"roi_tracking": False}, **{c: DETECTOR_CANDIDATES[c] for c in candidates}}
    trackers = {
        run: PoseTracker(PoseTrackerConfig(image_size=image_size, **{"backend": "openvino", **changes}))
        for run, changes in settings.items()
    }
    found, seconds, rows = {r: 0 for r in trackers}, {r: [] for r in trackers}, {c: [] for c in candidates}
    for image in images:
        detections = {}
        for run, tracker in trackers.items():
            started = time.perf_counter()
            detections[run] = tracker(image)
            seconds[run].append(time.perf_counter() - started)
            found[run] += len(detections[run])
        for candidate in candidates:
            rows[candidate] += agreement(detections["fp32"], detections[candidate])
    for candidate in candidates:
        pixels, height, oks = np.array(rows[candidate]).T if rows[candidate] else (np.zeros(1),) * 3
        print(
            f"{name:40s} {candidate:5s} {found['fp32']:5d} {found[candidate]:5d} {len(rows[candidate]):7d} "
            f"{pixels.mean():8.2f} {height.mean():7.2f}% {oks.mean():6.3f} {oks.min():6.3f} "
            f"{1000 * np.median(seconds['fp32']):7.1f} {1000 * np.median(seconds[candidate]):7.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=81, help="frames of the 1080p bench video")
    parser.add_argument("--vtest-frames", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = one_person_video(tmp / "one_person.mp4", args.frames)
        print(
            "1. detector keypoints: int8 and roi tracking against fp32 OpenVINO on the whole image (the same as "
            "torch within 0.01 px)"
        )
        print(
            f"{'footage':40s} {'run':5s} {'fp32':>5s} {'found':>5s} {'matched':>7s} {'px err':>8s} {'% box':>8s} "
            f"{'OKS':>6s} {'min':>6s} {'fp32 ms':>7s} {'run ms':>7s}"
        )
        videos = ("int8", "roi")
        compare_detectors("1080p one-person bench video, 640 px", frames_of(video, args.frames), 640, videos)
        vtest = frames_of(DEFAULT_VIDEO, args.vtest_frames)
        compare_detectors(f"vtest, {len(vtest)} frames, 960 px", vtest, 960, videos)
        # unrelated photos are no sequence: there is no region to track
        compare_detectors("photos, 640 px", [cv2.imread(str(p)) for p in PHOTOS], 640, ("int8",))

        print("\n2. quality: PMCE on torch, on OpenVINO (the whole image, fp32 or int8), and roi tracking (defaults)")
        footage = {
            "1080p one-person bench video": ([video], []),
            f"vtest, {args.vtest_frames} frames at 960 px": (
                [DEFAULT_VIDEO],
                ["--image-size", "960", "--max-frames", str(args.vtest_frames)],
            ),
            "photos": (list(PHOTOS), []),
        }
        keys = ("reprojection_error_over_box_height", "bone_length_cv", "jitter_mm_per_frame2")
        print(f"{'footage':32s} {'run':11s} {'reprojection':>12s} {'bone CV':>8s} {'jitter':>7s}   change")
        for n, (name, (sources, extra)) in enumerate(footage.items()):
            quality = {
                run: measure(sources, tmp / f"{n}_{i}", extra + flags) for i, (run, flags) in enumerate(RUNS.items())
            }
            reference = quality["torch PMCE"]
            for run, q in quality.items():
                changes = ", ".join(
                    f"{100 * (q[k] / reference[k] - 1):+.1f}%" if q[k] is not None and reference[k] else "n/a"
                    for k in keys
                )
                print(
                    f"{name:32s} {run:11s} {shown(q[keys[0]], 100, '%'):>12s} {shown(q[keys[1]], 100, '%'):>8s} "
                    f"{shown(q[keys[2]]):>7s}   {changes}"
                )


if __name__ == "__main__":
    main()
