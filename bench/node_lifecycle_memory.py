"""pmce_node's memory across lifecycle cycles under a live stream: RSS after every deactivate/activate cycle and
every cleanup/configure/activate cycle, as a robot's behaviour tree would switch perception on and off.

Real processes on loopback DDS: pmce_camera_replay loops a person (bench/node_memory.py's frames, scaled to
--width) at --rate Hz into pmce_node while this bench walks the node through /pmce_node/change_state. After each
activation it waits --active-s seconds with frames flowing, then reads the node's RSS (psutil). The first cycle of
each kind is the warm-up; the growth printed is from its end.
Usage: bench/node_lifecycle_memory.py [--flips 100] [--reloads 20] [--rate 30] [--width 1920] [--active-s 2]
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
import psutil
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from node_memory import write_frames

from pmce_ros.ros.command_line import ros_arguments, start_pmce_node
from pmce_ros.ros.loopback import confine_to_loopback

BIN = Path(sys.executable).parent
FLIP = (Transition.TRANSITION_DEACTIVATE, Transition.TRANSITION_ACTIVATE)
RELOAD = (
    Transition.TRANSITION_DEACTIVATE,
    Transition.TRANSITION_CLEANUP,
    Transition.TRANSITION_CONFIGURE,
    Transition.TRANSITION_ACTIVATE,
)


def scaled(paths: list[str], width: int) -> list[str]:
    for path in paths:
        image = cv2.imread(path)
        cv2.imwrite(path, cv2.resize(image, (width, width * image.shape[0] // image.shape[1])))
    return paths


class Lifecycle:
    """Transitions through the standard service; the node's frames processed, from /diagnostics."""

    def __init__(self, node_name: str):
        self.node = rclpy.create_node("lifecycle_memory_bench")
        self.client = self.node.create_client(ChangeState, f"/{node_name}/change_state")
        if not self.client.wait_for_service(timeout_sec=60.0):
            raise RuntimeError(f"/{node_name}/change_state is not offered")
        self.processed = 0
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            self.processed = int(values.get("frames processed", self.processed))

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(self.node, timeout_sec=0.1)

    def change(self, transition: int) -> tuple[bool, float]:
        started = time.monotonic()
        future = self.client.call_async(ChangeState.Request(transition=Transition(id=transition)))
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=300.0)
        return bool(future.result() and future.result().success), time.monotonic() - started


def cycles(lifecycle: Lifecycle, process: psutil.Process, steps, count: int, active_s: float, label: str):
    rss, slowest, failures = [], 0.0, 0
    for cycle in range(count):
        for transition in steps:
            success, seconds = lifecycle.change(transition)
            failures += not success
            slowest = max(slowest, seconds)
        lifecycle.wait(active_s)
        rss.append(process.memory_info().rss / 2**20)
        print(f"{label} {cycle + 1:>4}: RSS {rss[-1]:8.1f} MB, frames processed {lifecycle.processed}", flush=True)
    return rss, slowest, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flips", type=int, default=100, help="deactivate/activate cycles")
    parser.add_argument("--reloads", type=int, default=20, help="deactivate/cleanup/configure/activate cycles")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--active-s", type=float, default=2.0)
    args = parser.parse_args()
    confine_to_loopback(40 + os.getpid() % 20)
    folder = Path(tempfile.mkdtemp(prefix="pmce_lifecycle_memory_"))
    sources = scaled(write_frames(folder), args.width)
    node = start_pmce_node({"evict_after_s": 0.5}, folder / "pmce_node.log")
    replay = subprocess.Popen(
        [str(BIN / "pmce_camera_replay"), *ros_arguments({"sources": sources, "loop": True, "rate_hz": args.rate})],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rclpy.init()
    try:
        lifecycle, process = Lifecycle("pmce_node"), psutil.Process(node.pid)
        lifecycle.wait(args.active_s)
        print(f"active, before any cycle: RSS {process.memory_info().rss / 2**20:.1f} MB")
        report = []
        for label, steps, count in (("flip", FLIP, args.flips), ("reload", RELOAD, args.reloads)):
            rss, slowest, failures = cycles(lifecycle, process, steps, count, args.active_s, label)
            report.append(
                f"{label}: {count} cycles, {failures} failed transitions, slowest {slowest:.1f} s; RSS after the "
                f"warm-up {rss[0]:.1f} MB, after the last {rss[-1]:.1f} MB: {rss[-1] - rss[0]:+.1f} MB "
                f"({(rss[-1] - rss[0]) / max(count - 1, 1):+.2f} MB per cycle)"
            )
        print("\n".join(report))
    finally:
        for process in (replay, node):
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
