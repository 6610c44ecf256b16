"""What running torch on one thread costs: each CPU stage at one thread vs. the process default, interleaved.

ultralytics pins torch to one thread on a 2-core machine twice over: importing it sets OMP_NUM_THREADS=1 where
unset (torch loaded after it, and every process started after it, start with one thread), and its first CPU call
sets torch to (cores - 1) threads. Both are meant for its training loaders. configure_offline pins
OMP_NUM_THREADS to torch's own count first and PoseTracker restores the count after each call; this measures
what that is worth, on bus.jpg (detector at 640 px), one 224 px crop (untrained ResNet-50) and one PMCE window
(untrained, faithful).
Usage: bench/cpu_threads.py [--repeats 12]
"""

import argparse
import time

import cv2
import numpy as np
import torch

from pmce_ros.assets import ultralytics_sample
from pmce_ros.model import PMCE, PMCEConfig
from pmce_ros.perception.features import FeatureExtractor, FeatureExtractorConfig
from pmce_ros.perception.pose_tracker import PoseTracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=12)
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    bus = cv2.imread(str(ultralytics_sample("bus.jpg")))
    tracker = PoseTracker()
    features = FeatureExtractor(FeatureExtractorConfig(allow_untrained=True))
    pmce = PMCE(PMCEConfig(), vertex_joint_index=torch.arange(431) % 19).eval()
    crop = np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)
    window = (torch.randn(1, 16, 19, 2), torch.randn(1, 16, 2048))
    stages = {"detect": lambda: tracker(bus), "features": lambda: features(crop), "pmce": lambda: pmce(*window)}
    settings = (1, default_threads)
    times = {(stage, threads): [] for stage in stages for threads in settings}
    with torch.no_grad():
        for i in range(args.repeats + 2):
            for threads in settings:
                for stage, run in stages.items():
                    torch.set_num_threads(threads)  # the tracker restores the default after its call
                    started = time.perf_counter()
                    run()
                    if i >= 2:  # warm-up
                        times[stage, threads].append(time.perf_counter() - started)
    print(f"torch {torch.__version__}; default {default_threads} threads; median ms of {args.repeats}")
    print(f"{'stage':>9} {'1 thread':>9} {f'{default_threads} threads':>10} {'ratio':>6}")
    for stage in stages:
        one, default = (1000 * float(np.median(times[stage, t])) for t in settings)
        print(f"{stage:>9} {one:>9.1f} {default:>10.1f} {default / one:>6.2f}")


if __name__ == "__main__":
    main()
