"""pmce_node memory over many frames: its resident memory sampled against frames processed (no growth expected).

A real person (the first one ultralytics' bus.jpg shows, cut out, on a 640x480 canvas; the canvas alternates with
an empty frame every 40 frames so that tracks come, go and are evicted) is replayed in a loop as fast as the node
takes it, reliable QoS, stand-in weights. The bench reads "frames processed" from /diagnostics and the node's RSS
with psutil.
Usage: bench/node_memory.py [--frames 10000] [--image-size 320]
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import psutil
import rclpy
from diagnostic_msgs.msg import DiagnosticArray

from pmce_ros.assets import ultralytics_sample
from pmce_ros.perception.pose_tracker import PoseTracker
from pmce_ros.ros.command_line import ros_arguments, start_pmce_node
from pmce_ros.ros.loopback import confine_to_loopback

BIN = Path(sys.executable).parent


def write_frames(folder: Path) -> list[str]:
    bus = cv2.imread(str(ultralytics_sample("bus.jpg")))
    x0, y0, x1, y1 = PoseTracker()(bus).boxes[0].astype(int)
    person = bus[max(y0, 0) : y1, max(x0, 0) : x1]
    person = cv2.resize(person, None, fx=400 / person.shape[0], fy=400 / person.shape[0])
    canvas = np.full((480, 640, 3), 110, np.uint8)
    empty = canvas.copy()
    canvas[40 : 40 + person.shape[0], 250 : 250 + person.shape[1]] = person
    paths = []
    for index in range(80):  # 40 frames with the person, 40 without
        path = folder / f"frame_{index:03d}.png"
        cv2.imwrite(str(path), canvas if index < 40 else empty)
        paths.append(str(path))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--image-size", type=int, default=320)
    args = parser.parse_args()
    domain = 60 + os.getpid() % 20
    confine_to_loopback(domain)
    folder = Path(tempfile.mkdtemp(prefix="pmce_memory_"))
    sources = write_frames(folder)
    node = start_pmce_node(
        {
            "allow_untrained_features": True,
            "allow_untrained_pmce": True,
            "image_reliability": "reliable",
            "image_size": args.image_size,
            "evict_after_s": 0.5,
        },
        folder / "pmce_node.log",
    )
    replay = subprocess.Popen(
        [
            str(BIN / "pmce_camera_replay"),
            *ros_arguments({"sources": sources, "loop": True, "rate_hz": 30.0, "reliable": True}),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rclpy.init()
    listener = rclpy.create_node("memory_bench")
    processed, most_tracks = [0], [0]

    def on_diagnostics(msg):
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            processed[0] = int(values.get("frames processed", processed[0]))
            most_tracks[0] = max(most_tracks[0], int(values.get("live tracks", 0)))

    listener.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    rss = psutil.Process(node.pid)
    samples, next_report, started = [], 0, time.monotonic()
    print(f"{'frames':>7} {'minutes':>8} {'node RSS MB':>12}")
    while processed[0] < args.frames:
        rclpy.spin_once(listener, timeout_sec=1.0)
        if processed[0] >= next_report:
            samples.append((processed[0], rss.memory_info().rss / 2**20))
            print(f"{processed[0]:>7} {(time.monotonic() - started) / 60:>8.1f} {samples[-1][1]:>12.1f}", flush=True)
            next_report += max(args.frames // 20, 1)
    samples.append((processed[0], rss.memory_info().rss / 2**20))
    for process in (replay, node):
        process.send_signal(signal.SIGINT)
        process.wait()
    frames, memory = np.array(samples).T
    settled = frames >= args.frames * 0.1
    slope = np.polyfit(frames[settled], memory[settled], 1)[0] * 1000 if settled.sum() > 2 else float("nan")
    print(
        f"RSS at {int(frames[settled][0])} frames: {memory[settled][0]:.1f} MB; at {int(frames[-1])}: "
        f"{memory[-1]:.1f} MB; fitted growth {slope:+.2f} MB per 1000 frames; most live tracks "
        f"{most_tracks[0]}"
    )


if __name__ == "__main__":
    main()
