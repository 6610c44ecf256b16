"""YOLO pose detection + tracking per frame at several inference sizes, on real images.

Images: ultralytics' bus.jpg (4 people, near) and a vtest.avi frame (small people, far).
Usage: bench/detector_size.py [--sizes 640 960] [--repeats 10] [--device cpu]
"""

import argparse
import time

import cv2
import numpy as np

from pmce_ros.assets import DEFAULT_VIDEO, ultralytics_sample
from pmce_ros.perception.pose_tracker import PoseTracker, PoseTrackerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 960])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    capture = cv2.VideoCapture(str(DEFAULT_VIDEO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 100)
    images = {"bus.jpg": cv2.imread(str(ultralytics_sample("bus.jpg"))), "vtest frame 100": capture.read()[1]}
    print(f"{'image':>16} {'size':>5} {'people':>6} {'median ms':>10} {'vs first size':>14}")
    for name, image in images.items():
        first = None
        for size in args.sizes:
            tracker = PoseTracker(PoseTrackerConfig(image_size=size, device=args.device))
            tracker(image)  # warm-up
            times, found = [], 0
            for _ in range(args.repeats):
                started = time.perf_counter()
                found = len(tracker(image))
                times.append(time.perf_counter() - started)
            median = 1000 * float(np.median(times))
            first = first or median
            print(f"{name:>16} {size:>5} {found:>6} {median:>10.1f} {median / first:>14.2f}")


if __name__ == "__main__":
    main()
