"""One-way latency of a HumanMesh (6890 vertices) between two processes, vs. an empty mesh as the baseline.

A publisher process sends N messages of each kind at 30 Hz, stamped with the wall clock just before publish; a
subscriber process records receive time - stamp. Both run on a loopback-only Fast DDS setup (own domain id).
Usage: bench/mesh_latency.py [--count 600]
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from pmce_ros.ros.loopback import loopback_environment

KINDS = {"empty": 0, "mesh": 6890}


def publisher(count: int) -> None:
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Header

    from pmce_ros.msg import HumanMesh
    from pmce_ros.ros.messages import mesh_to_msg

    rclpy.init()
    node = rclpy.create_node("latency_publisher")
    pub = node.create_publisher(HumanMesh, "bench_mesh", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    while pub.get_subscription_count() == 0:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(1.0)
    rng = np.random.default_rng(0)
    for kind, vertices in KINDS.items():
        for i in range(count):
            msg = mesh_to_msg(Header(frame_id=kind), i, rng.normal(size=(vertices, 3)))
            now = time.time_ns()
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(now, 1_000_000_000)
            pub.publish(msg)
            time.sleep(1 / 30)
    time.sleep(1.0)
    node.destroy_node()
    rclpy.shutdown()


def subscriber(count: int) -> None:
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from pmce_ros.msg import HumanMesh
    from pmce_ros.ros.messages import stamp_ns

    latencies = {kind: [] for kind in KINDS}

    def on_mesh(msg):
        received = time.time_ns()
        sent = stamp_ns(msg.header)
        latencies[msg.header.frame_id].append((received - sent) / 1e6)

    rclpy.init()
    node = rclpy.create_node("latency_subscriber")
    node.create_subscription(
        HumanMesh, "bench_mesh", on_mesh, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    )
    deadline = time.monotonic() + 30 + 2 * count / 30 * len(KINDS)
    while sum(map(len, latencies.values())) < count * len(KINDS) and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    base = np.median(latencies["empty"])
    print(f"{'message':28s} {'received':>9s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s} {'p50 / empty':>12s}")
    for kind, values in latencies.items():
        v = np.array(values)
        label = f"HumanMesh {KINDS[kind]} vertices"
        print(
            f"{label:28s} {len(v):>5d}/{count:<3d} {np.median(v):8.2f} {np.percentile(v, 90):8.2f} "
            f"{np.percentile(v, 99):8.2f} {np.median(v) / base:12.2f}"
        )
    node.destroy_node()
    rclpy.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--role", choices=["publisher", "subscriber"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        {"publisher": publisher, "subscriber": subscriber}[args.role](args.count)
        return
    env = {**os.environ, **loopback_environment(90 + os.getpid() % 10)}
    command = [sys.executable, __file__, "--count", str(args.count), "--role"]
    sub = subprocess.Popen(command + ["subscriber"], env=env)
    pub = subprocess.Popen(command + ["publisher"], env=env)
    pub.wait()
    sys.exit(sub.wait())


if __name__ == "__main__":
    main()
