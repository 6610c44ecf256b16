"""Quality with and without per-track body identity, side by side: pmce-process's quality.json on the real footage
there is offline (the 1080p one-person bench video of process_1080p.py, vtest at 960 px) and on the photos.

Prints, per source, reprojection (median, of box height), bone-length CV and jitter for `--no-body-identity`
(the network's raw bones) and the default (each track held to its own bones), and the share of estimates whose
body had converged.
With --sheet, the body-identity runs' contact sheets are stacked into one image (the docs' picture of the body).
Other options go to pmce-process as they are (e.g. --latency-mode causal).
Usage: bench/body_identity.py [--frames 81] [--vtest-frames 200] [--body stand_in|anny] [--sheet out.jpg] [...]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from process_1080p import one_person_video

from pmce_ros.assets import DEFAULT_VIDEO, ultralytics_sample
from pmce_ros.output.files import read_results

PHOTOS = (
    ultralytics_sample("bus.jpg"),
    ultralytics_sample("zidane.jpg"),
    Path("/usr/share/doc/opencv-doc/examples/data/basketball1.png"),
    Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg"),
)
RUNS = {"raw bones": ["--no-body-identity"], "body identity": []}


def measure(sources: list[Path], out: Path, extra: list[str]) -> dict:
    subprocess.run(
        [str(Path(sys.executable).parent / "pmce-process"), *map(str, sources), "--out", str(out), *extra],
        check=True,
        capture_output=True,
    )
    quality = json.loads((out / "quality.json").read_text())
    results, _ = read_results(out / "results.npz")
    quality["converged"] = float(np.mean(results["body"] == "converged")) if len(results["body"]) else None
    return quality


def write_sheet(sheets: list[Path], path: Path, width: int = 1200) -> None:
    images = [cv2.imread(str(sheet)) for sheet in sheets]
    rows = [
        cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])), interpolation=cv2.INTER_AREA)
        for image in images
    ]
    cv2.imwrite(str(path), np.concatenate(rows), [cv2.IMWRITE_JPEG_QUALITY, 80])


def shown(value, scale=1.0, unit=""):
    return "n/a" if value is None else f"{value * scale:.1f}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=81, help="frames of the 1080p bench video")
    parser.add_argument("--vtest-frames", type=int, default=200)
    parser.add_argument("--body", default="stand_in", help="pmce-process's --body")
    parser.add_argument("--sheet", type=Path, help="write the stacked contact sheets of the body-identity runs here")
    args, passed_on = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        footage = {
            "1080p one-person bench video": ([one_person_video(tmp / "one_person.mp4", args.frames)], []),
            f"vtest, {args.vtest_frames} frames at 960 px": (
                [DEFAULT_VIDEO],
                ["--image-size", "960", "--max-frames", str(args.vtest_frames)],
            ),
            "photos (bus, zidane, basketball1, messi5)": (list(PHOTOS), []),
        }
        print(f"{'footage':42s} {'run':14s} {'reprojection':>12s} {'bone CV':>8s} {'jitter':>7s} {'converged':>9s}")
        sheets = []
        for n, (name, (sources, extra)) in enumerate(footage.items()):
            for run, flags in RUNS.items():
                out = tmp / f"{n}_{run.replace(' ', '_')}"
                q = measure(sources, out, extra + flags + ["--body", args.body, *passed_on])
                if run == "body identity":
                    sheets.append(out / "contact_sheet.png")
                print(
                    f"{name:42s} {run:14s} {shown(q['reprojection_error_over_box_height'], 100, '%'):>12s} "
                    f"{shown(q['bone_length_cv'], 100, '%'):>8s} {shown(q['jitter_mm_per_frame2']):>7s} "
                    f"{shown(q['converged'], 100, '%'):>9s}"
                )
        if args.sheet:
            write_sheet(sheets, args.sheet)


if __name__ == "__main__":
    main()
