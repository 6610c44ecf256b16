"""ResNet-50 features per person crop: one crop at a time vs. all crops of a frame in one batch.

Usage: bench/features_batching.py [--crops 1 3 6] [--repeats 5] [--device cpu]
"""

import argparse
import time

import numpy as np
import torch

from pmce_ros.perception.features import FeatureExtractor, FeatureExtractorConfig


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, nargs="+", default=[1, 3, 6])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    extractor = FeatureExtractor(FeatureExtractorConfig(allow_untrained=True, device=args.device))
    print(f"ResNet-50 (untrained stand-in, same cost), device {args.device}, {torch.get_num_threads()} threads")
    print(f"{'crops':>5} {'one by one ms':>14} {'batched ms':>11} {'ms/crop batched':>16} {'batched/one by one':>19}")
    for count in args.crops:
        crops = np.random.default_rng(0).normal(size=(count, 3, 224, 224)).astype(np.float32)
        single = median_ms(lambda: [extractor(crops[i : i + 1]) for i in range(count)], args.repeats)
        batched = median_ms(lambda: extractor(crops), args.repeats)
        print(f"{count:>5} {single:>14.1f} {batched:>11.1f} {batched / count:>16.1f} {batched / single:>19.2f}")


if __name__ == "__main__":
    main()
