"""Subscribes to every output of pmce_node (and to the images it was given), says RECORDING once it is matched
with the node's publishers, and, when interrupted, writes a JSON summary of what arrived for the tests to check.
Usage: output_recorder.py OUT.json"""

import json
import sys

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_processes import spin_until_interrupted
from sensor_msgs.msg import Image, PointCloud2, PointField
from visualization_msgs.msg import MarkerArray

from pmce_ros.msg import HumanArray, HumanMesh, Skeleton3D
from pmce_ros.ros.messages import stamp_ns

RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


def main() -> None:
    rclpy.init()
    node = rclpy.create_node("output_recorder")
    record = {
        "images": [],
        "humans": [],
        "meshes": [],
        "skeletons": [],
        "markers": [],
        "diagnostics": [],
        "clouds": [],
    }

    def on_image(msg):
        record["images"].append([stamp_ns(msg.header), msg.header.frame_id])

    def on_humans(msg):
        record["humans"].append(
            {
                "stamp": stamp_ns(msg.header),
                "frame_id": msg.header.frame_id,
                "weights": msg.weights,
                "stand_in": msg.stand_in,
                "people": [
                    {
                        "id": h.track_id,
                        "valid": h.valid,
                        "placement": h.placement,
                        "body": h.body,
                        "box": list(map(float, h.box)),
                        "keypoints": len(h.keypoints_2d),
                        "vertices": len(h.mesh.vertices),
                        "joints": len(h.skeleton.joints),
                        "root_z": h.root_position.z,
                        "mesh_stamp": stamp_ns(h.mesh.header),
                    }
                    for h in msg.humans
                ],
            }
        )

    def on_mesh(msg):
        vertices = np.frombuffer(msg.vertices, np.float32)
        record["meshes"].append(
            {
                "stamp": stamp_ns(msg.header),
                "frame_id": msg.header.frame_id,
                "id": msg.track_id,
                "values": len(vertices),
                "finite": bool(np.all(np.isfinite(vertices))),
                "sum": float(vertices.astype(np.float64).sum()),
            }
        )

    def on_cloud(msg):
        """Decoded from the field table, not from a known layout: what a generic consumer would do."""
        fields = {f.name: (f.offset, f.datatype) for f in msg.fields}
        kinds = {PointField.FLOAT32: "<f4", PointField.UINT32: "<u4"}
        points = np.frombuffer(
            bytes(msg.data),
            np.dtype(
                {
                    "names": list(fields),
                    "formats": [kinds[d] for _, d in fields.values()],
                    "offsets": [o for o, _ in fields.values()],
                    "itemsize": msg.point_step,
                }
            ),
        )
        sums = {}
        for track_id in np.unique(points["track_id"]):
            mine = points[points["track_id"] == track_id]
            sums[int(track_id)] = float(sum(mine[axis].astype(np.float64).sum() for axis in "xyz"))
        record["clouds"].append(
            {"stamp": stamp_ns(msg.header), "frame_id": msg.header.frame_id, "points": int(msg.width), "sums": sums}
        )

    def on_skeleton(msg):
        record["skeletons"].append(
            {
                "stamp": stamp_ns(msg.header),
                "id": msg.track_id,
                "joint_set": msg.joint_set,
                "names": len(msg.joint_names),
                "joints": len(msg.joints),
                "confidence": len(msg.confidence),
            }
        )

    def on_markers(msg):
        record["markers"].append(
            [
                {
                    "ns": m.ns,
                    "id": m.id,
                    "type": m.type,
                    "action": m.action,
                    "points": len(m.points),
                    "frame_id": m.header.frame_id,
                    "stamp": stamp_ns(m.header),
                    "color": [m.color.r, m.color.g, m.color.b, m.color.a],
                }
                for m in msg.markers
            ]
        )

    def on_diagnostics(msg):
        for status in msg.status:
            record["diagnostics"].append(
                {
                    "name": status.name,
                    "level": int.from_bytes(status.level, "little")
                    if isinstance(status.level, bytes)
                    else int(status.level),
                    "message": status.message,
                    "values": {kv.key: kv.value for kv in status.values},
                }
            )

    subscriptions = [
        node.create_subscription(Image, "image", on_image, RELIABLE),
        node.create_subscription(HumanArray, "humans", on_humans, RELIABLE),
        node.create_subscription(HumanMesh, "meshes", on_mesh, RELIABLE),
        node.create_subscription(PointCloud2, "people_cloud", on_cloud, RELIABLE),
        node.create_subscription(Skeleton3D, "skeletons", on_skeleton, RELIABLE),
        node.create_subscription(MarkerArray, "markers", on_markers, RELIABLE),
        node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, RELIABLE),
    ]

    def write() -> None:
        with open(sys.argv[1], "w") as out:
            json.dump(record, out)

    humans, diagnostics = subscriptions[1], subscriptions[-1]
    matched = lambda: humans.get_publisher_count() > 0 and diagnostics.get_publisher_count() > 0  # noqa: E731
    spin_until_interrupted(node, "RECORDING", write, ready_when=matched)
    del subscriptions


if __name__ == "__main__":
    main()
