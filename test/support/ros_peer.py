"""A separate ROS 2 process for the cross-process tests.

publish: latches one MeshTopology on `mesh_topology`, prints READY, then publishes one sample of every other
         message twice a second until terminated.
receive TOPIC... --out DIR: writes the first message of each topic, serialized (CDR), to DIR/<topic>.cdr and exits.
settled: exits once two consecutive /diagnostics reports of pmce_node show no frame in hand and the same number
         of frames in.
The caller sets the loopback environment (ROS_DOMAIN_ID, localhost-only Fast DDS).
"""

import argparse
import sys
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import serialize_message

sys.path.insert(0, str(Path(__file__).parent))
import message_samples  # noqa: E402
from ros_processes import follow_frame_counts  # noqa: E402

from pmce_ros.msg import HumanArray, HumanMesh, MeshTopology, Skeleton3D  # noqa: E402

TYPES = {"meshes": HumanMesh, "skeletons": Skeleton3D, "humans": HumanArray, "mesh_topology": MeshTopology}
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def qos_for(topic: str) -> QoSProfile:
    return LATCHED if topic == "mesh_topology" else RELIABLE


def publish(node) -> None:
    node.create_publisher(MeshTopology, "mesh_topology", LATCHED).publish(message_samples.topology())
    streams = [
        (node.create_publisher(TYPES[t], t, RELIABLE), message_samples.SAMPLES[t]())
        for t in ("meshes", "skeletons", "humans")
    ]
    node.create_timer(0.5, lambda: [publisher.publish(msg) for publisher, msg in streams])
    print("READY", flush=True)
    rclpy.spin(node)


def receive(node, topics: list[str], out: Path) -> None:
    pending = set(topics)

    def keep_first(topic):
        def callback(msg):
            if topic in pending:
                (out / f"{topic}.cdr").write_bytes(serialize_message(msg))
                pending.discard(topic)

        return callback

    subscriptions = [node.create_subscription(TYPES[t], t, keep_first(t), qos_for(t)) for t in topics]
    while pending and rclpy.ok():
        rclpy.spin_once(node, timeout_sec=0.1)
    del subscriptions


def settled(node) -> None:
    reports = follow_frame_counts(node)
    while rclpy.ok():
        rclpy.spin_once(node, timeout_sec=0.1)
        if len(reports) >= 2 and reports[-1] == reports[-2] and reports[-1][1] == 0:
            break


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["publish", "receive", "settled"])
    parser.add_argument("topics", nargs="*", help=f"for receive: any of {sorted(TYPES)}")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if unknown := set(args.topics) - set(TYPES):
        parser.error(f"unknown topics {sorted(unknown)}")
    rclpy.init()
    node = rclpy.create_node(f"pmce_test_{args.mode}")
    try:
        if args.mode == "publish":
            publish(node)
        elif args.mode == "settled":
            settled(node)
        else:
            receive(node, args.topics, args.out)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
