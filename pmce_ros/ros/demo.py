"""pmce-demo: the whole ROS graph on this machine, no camera, no downloads.

camera_replay publishes a video (default: Debian opencv-doc's vtest.avi, pedestrians) or a ROS 2 bag at its frame
rate, stamped with the source's own timing; pmce_node processes it (frames it cannot keep up with are dropped,
as on a robot); a recorder writes every output topic to an MCAP bag and renders overlay.mp4, contact_sheet.png
and OBJ meshes. DDS stays on loopback with a domain id of its own. PMCE runs with the package's pose-only weights
(trained here on motion capture and synthetic motion, not the authors'); they and every other stand-in are named
on every output.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rclpy
from tqdm import tqdm

from pmce_ros import settings
from pmce_ros.assets import DEFAULT_VIDEO
from pmce_ros.labels import STAND_IN_WARNING, window_lag
from pmce_ros.ros.command_line import NodeStartError, ros_arguments, start_pmce_node, wait_for_publisher
from pmce_ros.ros.loopback import confine_to_loopback
from pmce_ros.ros.recorder import OutputRecorder
from pmce_ros.sources import FrameSource, SourceError

BIN = Path(sys.executable).parent
# The demo's own default: vtest's people are small (found at 960 px). PMCE runs with the pipeline's default, the
# pose-only weights shipped in the package (trained here, not the authors'); the node, as always,
# leaves a core to the others (here the replay and the recorder).
DEMO_DEFAULTS = {"image_size": 960}
DRAIN_S = 8.0
DISCOVERY_WAIT_S = 5.0


class DemoError(RuntimeError):
    """Something a newcomer can fix; the message says how."""


def check_domain_is_free(domain_id: int) -> None:
    probe = rclpy.create_node("pmce_demo_probe")
    # Fast DDS repeats its announcements every few seconds after a first burst that a busy machine can miss.
    deadline = time.monotonic() + DISCOVERY_WAIT_S
    others = []
    while not others and time.monotonic() < deadline:
        rclpy.spin_once(probe, timeout_sec=0.1)
        others = [n for n, _ in probe.get_node_names_and_namespaces() if n != "pmce_demo_probe"]
    probe.destroy_node()
    if others:
        raise DemoError(
            f"ROS 2 nodes are already running on domain {domain_id} ({', '.join(sorted(others))}): "
            f"stop them or pick another domain with --domain-id"
        )


def summary(recorder: OutputRecorder, published: int, files: dict[str, Path], bag: Path) -> str:
    stats = recorder.stats
    diagnostics = stats.last_diagnostics
    latencies = np.array([(arrival - described) / 1e6 for arrival, described in stats.arrivals])
    lines = [
        f"frames published {published}, received by the node {diagnostics.get('frames in', '?')} (by the "
        f"recorder {len(stats.images)}), processed {diagnostics.get('frames processed', '?')}, dropped (model "
        f"busy) {diagnostics.get('frames dropped (model busy)', '?')}",
        f"HumanArray messages {stats.counts.get('humans', 0)}, meshes {stats.counts.get('meshes', 0)}, "
        f"people with estimates {len(stats.people)}",
        stats.recall.describe(),
    ]
    if len(latencies):
        p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
        lines.append(
            f"latency described frame -> HumanArray received: p50 {p50:.0f} ms, p90 {p90:.0f} ms, "
            f"p99 {p99:.0f} ms" + f" ({window_lag(int(diagnostics.get('described frame lag (intervals)', 0)))})"
        )
    stages = {k: v for k, v in diagnostics.items() if "latency median" in k}
    if stages:
        lines.append("per stage (median ms): " + ", ".join(f"{k.split(' latency')[0]} {v}" for k, v in stages.items()))
    lines.append(f"weights: {stats.weights}")
    if stats.stand_in:
        lines.append(f"{STAND_IN_WARNING}.")
    lines.append(f"bag           {bag}")
    lines += [f"{label:13s} {path}" for label, path in files.items()]
    return "\n".join(lines)


def run(args) -> int:
    source = FrameSource(args.source, args.topic)
    total = min(len(source), args.max_frames or len(source))
    rate = args.rate or source.fps or 10.0
    out = args.out
    bag = out / "bag"
    if bag.exists():
        raise DemoError(f"{bag} exists already: choose another --out or remove it")
    out.mkdir(parents=True, exist_ok=True)
    confine_to_loopback(args.domain_id)
    rclpy.init()
    node = replay = None
    try:
        check_domain_is_free(args.domain_id)
        print(
            f"pmce-demo: {source.paths[0]} ({total} frames at {rate:.1f} Hz), domain {args.domain_id}, output in {out}"
        )
        values = {**settings.pipeline_values(args), "markers_rate_hz": 2.0, "image_reliability": "reliable"}
        node = start_pmce_node(values, out / "pmce_node.log")
        recorder = OutputRecorder(bag, out / "renders", fps=min(rate, 10.0))
        if not wait_for_publisher(recorder, "humans"):
            raise NodeStartError(f"the recorder never discovered pmce_node's humans topic; see {out / 'pmce_node.log'}")
        replay_args = {
            "sources": [str(p) for p in source.paths],
            "rate_hz": float(rate),
            "max_frames": total,
            "reliable": True,
            "wait_for_subscribers": 2,
            "source_time": True,
            "bag_topic": source.topic or "",
        }
        replay = subprocess.Popen(
            [str(BIN / "pmce_camera_replay"), *ros_arguments(replay_args)],
            stdout=open(out / "camera_replay.log", "w"),
            stderr=subprocess.STDOUT,
        )
        with tqdm(total=total, unit="frame", desc="pmce-demo") as progress:
            deadline = float("inf")
            while time.monotonic() < deadline:
                rclpy.spin_once(recorder, timeout_sec=0.1)
                if len(recorder.stats.images) > progress.n:
                    progress.update(len(recorder.stats.images) - progress.n)
                if replay.poll() is not None and deadline == float("inf"):
                    deadline = time.monotonic() + DRAIN_S  # the node finishes the frames it holds
        # The replay publishes every frame unless it fails; the recorder, busy rendering, may miss some.
        published = total if replay.returncode == 0 else len(recorder.stats.images)
        node.send_signal(signal.SIGINT)
        node.wait(timeout=30)
        files = recorder.close()
        recorder.destroy_node()
        print(summary(recorder, published, files, bag))
        return 0
    finally:
        for process in (replay, node):
            if process is not None and process.poll() is None:
                process.kill()
        rclpy.try_shutdown()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="pmce-demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "source",
        nargs="*",
        default=[str(DEFAULT_VIDEO)],
        help="video file, image files or rosbag2 folder (default: vtest.avi)",
    )
    parser.add_argument("--topic", help="image topic of a bag (default: its only image topic)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("out") / time.strftime("demo-%Y%m%d-%H%M%S"),
        help="output folder (default: out/demo-<date>-<time>)",
    )
    parser.add_argument("--rate", type=float, default=0.0, help="frames per second to publish (0: the source's)")
    parser.add_argument("--max-frames", type=int, default=0, help="publish at most this many frames (0: all)")
    parser.add_argument(
        "--domain-id",
        type=int,
        default=42 + os.getpid() % 50,
        help="ROS_DOMAIN_ID for the demo's graph (kept on loopback)",
    )
    settings.add_pipeline_options(parser, DEMO_DEFAULTS)
    args = parser.parse_args(argv)
    if args.source == [str(DEFAULT_VIDEO)] and not DEFAULT_VIDEO.is_file():
        print(
            f"pmce-demo: no video at {DEFAULT_VIDEO}: run scripts/setup (it installs Debian's opencv-doc), or "
            f"pass a video file, images or a bag",
            file=sys.stderr,
        )
        return 2
    try:
        return run(args)
    except (DemoError, NodeStartError, SourceError, ValueError) as error:
        print(f"pmce-demo: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
