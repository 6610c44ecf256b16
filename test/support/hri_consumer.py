"""Consumes pmce_node's standard outputs the way ROS4HRI software and a social-navigation planner do, and when
interrupted writes what it saw as JSON. Usage: hri_consumer.py OUT.json

- REP-155: subscribes to /humans/bodies/tracked; for every id it has not seen, subscribes to that body's roi and
  skeleton2d; at every tracked message looks the bodies up in its TF buffer at the message's stamp.
- TF: a minimal buffer of /tf (tf2_ros has no wheel): transforms by (child frame, stamp).
- /people with sensor-data QoS, as nav2_social_costmap_plugin subscribes.
"""

import json
import sys
import time

import rclpy
from hri_msgs.msg import IdsList, NormalizedRegionOfInterest2D, Skeleton2D
from people_msgs.msg import People
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from ros_processes import spin_until_interrupted
from tf2_msgs.msg import TFMessage

from pmce_ros.ros.messages import stamp_ns

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


def main() -> None:
    rclpy.init()
    node = rclpy.create_node("hri_consumer")
    tf_buffer: dict[tuple[str, int], dict] = {}
    record = {"tracked": [], "bodies": {}, "people": []}
    per_body = {}

    def on_tf(msg):
        for t in msg.transforms:
            r, p = t.transform.rotation, t.transform.translation
            tf_buffer[(t.child_frame_id, stamp_ns(t.header))] = {
                "parent": t.header.frame_id,
                "translation": [p.x, p.y, p.z],
                "rotation": [r.x, r.y, r.z, r.w],
            }

    def body_record(body_id):
        return record["bodies"].setdefault(body_id, {"roi": [], "skeleton2d": []})

    def on_roi(body_id, msg):
        body_record(body_id)["roi"].append(
            {
                "received": time.time_ns(),
                "stamp": stamp_ns(msg.header),
                "box": [msg.xmin, msg.ymin, msg.xmax, msg.ymax],
                "c": msg.c,
            }
        )

    def on_skeleton(body_id, msg):
        body_record(body_id)["skeleton2d"].append(
            {"stamp": stamp_ns(msg.header), "points": [[p.x, p.y, p.c] for p in msg.skeleton]}
        )

    def on_tracked(msg):
        for body_id in msg.ids:
            if body_id not in per_body:
                prefix = f"/humans/bodies/{body_id}"
                per_body[body_id] = (
                    node.create_subscription(
                        NormalizedRegionOfInterest2D, f"{prefix}/roi", lambda m, b=body_id: on_roi(b, m), RELIABLE
                    ),
                    node.create_subscription(
                        Skeleton2D, f"{prefix}/skeleton2d", lambda m, b=body_id: on_skeleton(b, m), RELIABLE
                    ),
                )
        record["tracked"].append(
            {
                "stamp": stamp_ns(msg.header),
                "frame_id": msg.header.frame_id,
                "received": time.time_ns(),
                "ids": list(msg.ids),
            }
        )

    def on_people(msg):
        record["people"].append(
            {
                "stamp": stamp_ns(msg.header),
                "frame_id": msg.header.frame_id,
                "people": [
                    {
                        "name": p.name,
                        "position": [p.position.x, p.position.y, p.position.z],
                        "velocity": [p.velocity.x, p.velocity.y, p.velocity.z],
                        "reliability": p.reliability,
                        "tags": dict(zip(p.tagnames, p.tags)),
                    }
                    for p in msg.people
                ],
            }
        )

    subscriptions = [
        node.create_subscription(TFMessage, "/tf", on_tf, RELIABLE),
        node.create_subscription(IdsList, "/humans/bodies/tracked", on_tracked, RELIABLE),
        node.create_subscription(People, "/people", on_people, qos_profile_sensor_data),
    ]

    def write() -> None:
        # The lookups a ROS4HRI consumer makes, done at the end so transforms that came after their ids count.
        for tracked in record["tracked"]:
            tracked["frames"] = {
                body_id: {
                    "body": tf_buffer.get((f"body_{body_id}", tracked["stamp"])),
                    "children": sorted(
                        child
                        for (child, stamp), t in tf_buffer.items()
                        if stamp == tracked["stamp"] and t["parent"] == f"body_{body_id}"
                    ),
                }
                for body_id in tracked["ids"]
            }
        with open(sys.argv[1], "w") as out:
            json.dump(record, out)

    spin_until_interrupted(node, "CONSUMING", write)
    del subscriptions


if __name__ == "__main__":
    main()
