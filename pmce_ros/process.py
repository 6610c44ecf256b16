"""pmce-process: runs the pipeline over a video, still images or a ROS 2 bag, without ROS, and writes
results.npz (format: pmce_ros/output/files.py), overlay.mp4, contact_sheet.png and OBJ meshes into --out.
With --view it also serves a live 3D view in the browser (pmce_ros/output/live_view.py) while it runs, keeps it
up until Ctrl-C, and saves it as live_view.rrd.

Every frame is processed (no real-time dropping), so results are reproducible. Causal (what the default, auto,
picks for the package's weights), every frame is described; centered (the authors' weights), estimates describe
the window's mid frame, 7 frames back with a 16-frame model, so a source's last 7 frames are never described.
quality.json next to results.npz says how well the estimates explain the video (reprojection, bone-length
stability, jitter); the printout adds the share of detected people who got a body.
Decoding, the pipeline and the outputs (files, renders, live view) run on three threads, so OpenCV's decoding,
drawing and encoding overlap the models; with torch_threads 0 a pose-only model's torch leaves them a core.
"""

import argparse
import json
import signal
import sys
import time
from itertools import islice
from pathlib import Path

import torch
from tqdm import tqdm

from pmce_ros import settings
from pmce_ros.labels import STAND_IN_WARNING
from pmce_ros.output.live_view import LiveView, ViewAddress
from pmce_ros.output.quality import BodyRecall, describe
from pmce_ros.output.run_outputs import RenderedRun
from pmce_ros.output.sinks import DescribedFrame, QualityFile, ResultsFile, SinksThread
from pmce_ros.perception.placement import Intrinsics
from pmce_ros.pipeline import Pipeline
from pmce_ros.sources import FrameSource, SourceError, read_ahead

VIEW_HELD = "processing done; live view still served at"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="pmce-process", description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="+", help="video file, image files, or a rosbag2 folder")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument("--topic", help="image topic of a bag (default: its only image topic)")
    parser.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
    parser.add_argument(
        "--focal-px",
        type=float,
        default=0.0,
        help="camera focal length in pixels (0: image diagonal, the fallback camera)",
    )
    parser.add_argument(
        "--view",
        action="store_true",
        help="serve a live 3D view (Rerun's web viewer) on localhost while processing, keep it up until Ctrl-C, "
        "and save it as live_view.rrd in --out",
    )
    parser.add_argument(
        "--view-port",
        type=int,
        default=ViewAddress.port,
        help="port of the live view's web page; its data stream uses the next one (default: %(default)s)",
    )
    settings.add_pipeline_options(parser)
    args = parser.parse_args(argv)
    values = settings.pipeline_values(args)
    try:
        source = FrameSource(args.source, args.topic)
        pipeline = Pipeline(settings.pipeline_config(values))
    except (SourceError, FileNotFoundError, ValueError) as error:
        print(f"pmce-process: {error}", file=sys.stderr)
        return 2
    values["torch_threads"] = settings.threads_for_offline_run(values["torch_threads"], pipeline.features is not None)
    torch.set_num_threads(values["torch_threads"])
    total = min(len(source), args.max_frames or len(source))
    metadata = {
        "source": [str(p) for p in source.paths],
        "topic": source.topic,
        "frames": total,
        "weights": pipeline.weights,
        "stand_in": pipeline.stand_in,
        "body": pipeline.body.name,
        "settings": values,
    }
    renders = RenderedRun(
        args.out, pipeline.body.faces, pipeline.weights_description, pipeline.stand_in, source.fps or 10.0
    )
    quality = QualityFile(args.out / "quality.json", {"weights": pipeline.weights, "stand_in": pipeline.stand_in})
    results = ResultsFile(args.out / "results.npz", pipeline.body.faces, metadata)
    outputs = [results, quality, renders]
    address = ViewAddress(port=args.view_port) if args.view else None
    if address:
        outputs.append(LiveView(pipeline.body.faces, pipeline.stand_in, address, args.out / "live_view.rrd"))
        print(f"live view: {address.url}", flush=True)
    sinks = SinksThread(outputs)
    recall = BodyRecall()
    started = time.perf_counter()
    pipeline_s = 0.0
    frames = read_ahead(islice(source, total))
    for index, (stamp, image) in enumerate(tqdm(frames, total=total, unit="frame", desc="pmce-process")):
        height, width = image.shape[:2]
        camera = Intrinsics(args.focal_px, args.focal_px, width / 2, height / 2) if args.focal_px else None
        step_started = time.perf_counter()
        result = pipeline.process(image, stamp, camera, tag=(index, image))
        pipeline_s += time.perf_counter() - step_started
        if result.described_stamp is None:
            continue
        described_index, described_image = result.described_tag
        frame = DescribedFrame(
            index=described_index,
            stamp=result.described_stamp,
            image=described_image,
            camera=result.camera,
            people=result.people,
            pending=result.pending,
        )
        recall.add(len(frame.people), (p.reason for p in frame.pending))
        sinks.add(frame)
    sinks.finish()
    elapsed = time.perf_counter() - started
    metadata["seconds"] = {
        "total": elapsed,
        "pipeline": pipeline_s,
        "drawing": renders.drawing_s,
        "encoding": renders.encoding_s,
    }
    files = sinks.close()
    (args.out / "run.json").write_text(json.dumps(metadata, indent=2))
    people = len(set(results.writer.rows["track_id"]))
    rate = total / elapsed
    print(
        f"\n{total} frames in {elapsed:.0f} s ({rate:.2f} frames/s), {len(results.writer)} estimates, {people} people"
    )
    per_frame = {k: 1000 * v / max(total, 1) for k, v in metadata["seconds"].items()}
    print(
        f"per frame: pipeline {per_frame['pipeline']:.0f} ms, drawing {per_frame['drawing']:.0f} ms "
        f"({100 * renders.drawing_s / max(pipeline_s, 1e-9):.0f}% of the pipeline's time), video and thumbnail "
        f"encoding {per_frame['encoding']:.0f} ms (drawing and encoding beside the pipeline, on a thread of their own)"
    )
    print(f"weights: {pipeline.weights_description}; PMCE {pipeline.execution}")
    print(f"quality: {describe(quality.figures)} -> {files['quality']}")
    print(recall.describe())
    if pipeline.stand_in:
        print(f"{STAND_IN_WARNING}.")
    for label, path in files.items():
        if label != "quality":
            print(f"{label:14s} {path}")
    if address:
        hold_view(address)
    return 0


def hold_view(address: ViewAddress) -> None:
    """Serves until Ctrl-C or SIGTERM, also where the shell started us with SIGINT ignored (in the background)."""
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.default_int_handler)
    print(f"{VIEW_HELD} {address.url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
