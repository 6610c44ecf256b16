"""pmce_node end to end, across processes on loopback DDS, against the bare pipeline on the same frames.

Phases (all on the same source frames, with the same pipeline settings: by default the package's pose-only
weights; any setting as an option, e.g. --latency-mode causal, --device cuda):
  pipeline   - Pipeline.process() in this process: time per frame (the baseline).
  latency    - camera_replay publishes slower than the node's throughput measured first (no drops: 0.8x it, at
               most 1/1.5 of the bare pipeline's rate); a subscriber process takes
               the arrival time of each HumanArray minus the stamp of the image that completed its window
               (the described frame itself in causal mode, 7 frames later centered): the node's processing
               latency.
  throughput - replay at the video's own rate, as a camera would publish (run first): HumanArrays per second,
               and the same latency for the frames the node took (the others dropped by keep-latest).
DDS carries the images over loopback UDP (as every test does) or, with --transport shared-memory, through the
shared memory that the robots' profile (config/fastdds_large_images.xml) puts first on one host: that needs a
network namespace holding only lo, e.g. `unshare -n bash -c 'ip link set lo up && bench/node_end_to_end.py ...'`.
Memory over many frames: bench/node_memory.py.
Usage: bench/node_end_to_end.py [--source vtest.avi] [--image-size 960] [--frames 30]
       [--transport udp|shared-memory] [pipeline settings]
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import psutil

from pmce_ros import settings
from pmce_ros.assets import DEFAULT_VIDEO
from pmce_ros.pipeline import Pipeline
from pmce_ros.ros.command_line import ros_arguments, start_pmce_node, wait_for_publisher
from pmce_ros.ros.loopback import loopback_environment

BIN = Path(sys.executable).parent


def bare_pipeline(values: dict, source: str, frames: int, rate_hz: float | None) -> tuple[float, int]:
    """Median ms per frame of Pipeline.process on the source's first frames, paced at rate_hz like the replay
    (None: back to back), and how many frames the described one lags the newest."""
    pipeline = Pipeline(settings.pipeline_config(values))
    capture = cv2.VideoCapture(source)
    times = []
    next_frame = time.monotonic()
    for index in range(frames):
        ok, frame = capture.read()
        if rate_hz:
            time.sleep(max(next_frame - time.monotonic(), 0))
            next_frame += 1 / rate_hz
        started = time.perf_counter()
        pipeline.process(frame, index / 10)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times[pipeline.intervals_behind + 1 :])), pipeline.intervals_behind


def subscriber(out: str) -> None:
    """Records (arrival ns, described stamp ns, people) of each HumanArray, the stamps of the images (from
    their camera_info, which carries the same header: receiving the images themselves would load the machine)
    and the node's last diagnostics."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import ExternalShutdownException
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo

    from pmce_ros.msg import HumanArray
    from pmce_ros.ros.messages import stamp_ns

    rclpy.init()
    node = rclpy.create_node("bench_subscriber")
    arrivals, images, diagnostics = [], [], {}

    def on_diagnostics(msg):
        for status in msg.status:
            diagnostics.update({kv.key: kv.value for kv in status.values})

    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(
        HumanArray, "humans", lambda m: arrivals.append((time.time_ns(), stamp_ns(m.header), len(m.humans))), qos
    )
    node.create_subscription(CameraInfo, "camera_info", lambda m: images.append(stamp_ns(m.header)), qos)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, qos)
    wait_for_publisher(node, "humans")  # a run once recorded no HumanArray at all
    print("READY", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    with open(out, "w") as f:
        json.dump({"arrivals": arrivals, "images": images, "diagnostics": diagnostics}, f)


def processing_latencies_ms(phase: dict, behind: int) -> list[float]:
    """For each HumanArray: its arrival minus the stamp of the image that completed its window."""
    images = sorted(phase["images"])
    position = {stamp: index for index, stamp in enumerate(images)}
    return [
        (arrival - images[position[described] + behind]) / 1e6
        for arrival, described, _ in phase["arrivals"]
        if described in position and position[described] + behind < len(images)
    ]


def wait_for(process, text: str) -> None:
    for line in process.stdout:
        if text in line:
            return
    raise RuntimeError(f"process ended before printing {text!r}")


def replay(env, source: str, frames: int, rate: float) -> int:
    """Publishes the source's frames at `rate` Hz; how many it published."""
    finished = subprocess.run(
        [
            str(BIN / "pmce_camera_replay"),
            *ros_arguments(
                {
                    "sources": [source],
                    "max_frames": frames,
                    "rate_hz": rate,
                    "reliable": True,
                    "wait_for_subscribers": 1,  # the node; the bench subscriber listens to camera_info
                }
            ),
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=120 + 2 * frames / rate,  # a node that never subscribes must not hang the bench
        text=True,
    )
    return int(re.search(r"replay finished after (\d+) frames", finished.stdout + finished.stderr).group(1))


def run_node_phase(env, values: dict, source: str, frames: int, rate: float, tmp: Path, name: str) -> dict:
    node = start_pmce_node(
        {**values, "image_reliability": "reliable", "markers_rate_hz": 5.0}, tmp / f"{name}_node.log", env
    )
    out = tmp / f"{name}.json"
    sub = subprocess.Popen(
        [sys.executable, __file__, "--subscriber", str(out)], env=env, stdout=subprocess.PIPE, text=True
    )
    wait_for(sub, "READY")
    published = replay(env, source, frames, rate)
    time.sleep(5)  # the last frames drain
    for process in (sub, node):
        process.send_signal(signal.SIGINT)
        process.wait()
    return {**json.loads(out.read_text()), "published": published}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(DEFAULT_VIDEO))
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--transport", choices=["udp", "shared-memory"], default="udp")
    settings.add_pipeline_options(parser, {"image_size": 960})
    parser.add_argument("--subscriber", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        subscriber(args.subscriber)
        return
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"pmce_bench_{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        confined = loopback_environment(80 + os.getpid() % 20, shared_memory=args.transport == "shared-memory")
    except ValueError as error:
        sys.exit(f"node_end_to_end: {error}")
    env = {**os.environ, **confined, "PYTHONUNBUFFERED": "1"}
    fps = cv2.VideoCapture(args.source).get(cv2.CAP_PROP_FPS) or 10.0

    values = settings.pipeline_values(args)
    # The bare pipeline gets the thread count the node will take, so both run with the same settings.
    values["torch_threads"] = settings.threads_beside_others(values["torch_threads"])
    back_to_back_ms, behind = bare_pipeline(values, args.source, 16, None)
    throughput = run_node_phase(env, values, args.source, args.frames * 3, fps, tmp, "throughput")
    outputs = len(throughput["arrivals"])
    span = (throughput["arrivals"][-1][0] - throughput["arrivals"][0][0]) / 1e9 if outputs > 1 else float("nan")
    # The replay must stay below what the node keeps up with, or frames wait for the one in hand and are dropped:
    # the slower of 1.5x the bare pipeline's back-to-back time and 0.8x the node's throughput (the replay and the
    # subscriber share the machine with it). The baseline is measured at that same pace, since idle gaps between
    # frames change per-frame times.
    slow_rate = min(1000 / (1.5 * back_to_back_ms), 0.8 * (outputs - 1) / span)
    baseline_ms, _ = bare_pipeline(values, args.source, args.frames, slow_rate)
    latency = run_node_phase(env, values, args.source, args.frames, slow_rate, tmp, "latency")
    processing_ms = processing_latencies_ms(latency, behind)
    camera_rate_ms = processing_latencies_ms(throughput, behind)
    described_ms = [(arrival - described) / 1e6 for arrival, described, _ in latency["arrivals"]]

    print(
        f"source {Path(args.source).name}, detector {args.image_size} px, latency mode {args.latency_mode}, "
        f"device {args.device}, {psutil.cpu_count()} CPUs, images over {args.transport} DDS"
    )
    print(f"{'measure':58s} {'value':>10s}")
    print(f"{'bare pipeline, median ms per frame (same pace as the node)':58s} {baseline_ms:10.1f}")
    print(f"{'node: image stamp -> HumanArray received, median ms':58s} {np.median(processing_ms):10.1f}")
    print(f"{'node: same, p90 ms':58s} {np.percentile(processing_ms, 90):10.1f}")
    print(f"{'node overhead vs bare pipeline (ratio)':58s} {np.median(processing_ms) / baseline_ms:10.2f}")
    print(f"{'described frame -> HumanArray received, median ms':58s} {np.median(described_ms):10.1f}")
    print(f"{'(replay rate for latency, Hz)':58s} {slow_rate:10.2f}")
    print(
        f"{'(latency phase: HumanArrays received of frames sent)':58s} {len(latency['arrivals']):4d} of {args.frames}"
    )
    print_stages("node stage", latency["diagnostics"])
    print(f"{'throughput at the video rate, HumanArray per s':58s} {(outputs - 1) / span:10.2f}")
    print(f"{'bare pipeline frames per s (paced baseline)':58s} {1000 / baseline_ms:10.2f}")
    # What a camera publishing at the video's rate gets: frames the transport lost never reach the node, frames
    # arriving while it is busy are dropped by keep-latest, and the stages slow down beside the replay.
    received = throughput["diagnostics"].get("frames in", "-")
    dropped = throughput["diagnostics"].get("frames dropped (model busy)", "-")
    print(
        f"{'at the video rate: images received of sent / dropped (busy)':58s} "
        f"{received:>4s} of {throughput['published']} / {dropped}"
    )
    print(f"{'at the video rate: image stamp -> HumanArray, median ms':58s} {np.median(camera_rate_ms):10.1f}")
    print(f"{'at the video rate: same, p90 ms':58s} {np.percentile(camera_rate_ms, 90):10.1f}")
    print_stages("at the video rate: node stage", throughput["diagnostics"])


def print_stages(label: str, diagnostics: dict) -> None:
    for key, value in sorted(diagnostics.items()):
        if "latency median" in key:
            print(f"{label + ' ' + key.replace(' latency median', ''):58s} {float(value):10.1f}")


if __name__ == "__main__":
    main()
