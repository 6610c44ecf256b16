"""REP-155 (ROS4HRI) bodies: `/humans/bodies/tracked` and, per body, `/humans/bodies/<id>/roi` and `/skeleton2d`.

Ids (pmce_ros.ros.body_frames.BodyIds) are `b<track id>`, with `r<n>` appended after the n-th time the tracker
restarted numbering; the same id names the body's TF frames (`body_<id>`) and its /people entry.

What a consumer sees, per processed frame once frames are described (in centered mode from the window's middle
on): `tracked`, stamped like every output with the described frame, lists the people estimated in it (those with
a mesh, skeleton and TF); their roi and skeleton2d come from the detection in that frame and carry its stamp.
A person tracked but not estimated in a frame gets nothing that frame; the per-body topics of a track that
ended are destroyed.
"""

import numpy as np
from hri_msgs.msg import IdsList, NormalizedPointOfInterest2D, NormalizedRegionOfInterest2D, Skeleton2D
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from pmce_ros.body.joint_sets import COCO19, coco17_to_coco19
from pmce_ros.ros.outputs.base import NodeOutput, OutputContext, OutputFrame

TRACKED_TOPIC = "/humans/bodies/tracked"
QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
# Skeleton2D's 18 points (its NOSE ... RIGHT_EAR constants, in value order) as COCO-19 joints; the neck is the
# shoulders' mean.
SKELETON2D_JOINTS = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
)
_FROM_COCO19 = [COCO19.index(name) for name in SKELETON2D_JOINTS]


def body_topics(body_id: str) -> tuple[str, str]:
    """The body's roi and skeleton2d topics."""
    return f"/humans/bodies/{body_id}/roi", f"/humans/bodies/{body_id}/skeleton2d"


def _clip01(value: float) -> float:
    return float(min(max(value, 0.0), 1.0))


def roi_msg(header: Header, box: np.ndarray, score: float, image_size: tuple[int, int]) -> NormalizedRegionOfInterest2D:
    width, height = image_size
    return NormalizedRegionOfInterest2D(
        header=header,
        xmin=_clip01(box[0] / width),
        ymin=_clip01(box[1] / height),
        xmax=_clip01(box[2] / width),
        ymax=_clip01(box[3] / height),
        c=_clip01(score),
    )


def skeleton2d_msg(header: Header, keypoints17: np.ndarray, image_size: tuple[int, int]) -> Skeleton2D:
    width, height = image_size
    points = coco17_to_coco19(keypoints17)[_FROM_COCO19]
    return Skeleton2D(
        header=header,
        skeleton=[
            NormalizedPointOfInterest2D(x=_clip01(x / width), y=_clip01(y / height), c=_clip01(c)) for x, y, c in points
        ],
    )


class Rep155Bodies(NodeOutput):
    """The REP-155 publishers of one activation: `tracked`, and roi + skeleton2d per body, created when the body
    is first estimated and destroyed when its track ends (plain publishers: they come and go with bodies)."""

    topics = {TRACKED_TOPIC: IdsList}

    def __init__(self, context: OutputContext):
        super().__init__(context)
        self.node = context.node
        self.tracked = self.node.create_publisher(IdsList, TRACKED_TOPIC, QOS)
        self.per_body: dict[str, tuple] = {}

    def publish(self, frame: OutputFrame) -> None:
        header, bodies = frame.header, frame.bodies
        self._end(set(self.per_body) - frame.alive_body_ids - {b.body_id for b in bodies})
        for body in bodies:
            if body.body_id not in self.per_body:
                roi_topic, skeleton_topic = body_topics(body.body_id)
                self.per_body[body.body_id] = (
                    self.node.create_publisher(NormalizedRegionOfInterest2D, roi_topic, QOS),
                    self.node.create_publisher(Skeleton2D, skeleton_topic, QOS),
                )
            roi, skeleton = self.per_body[body.body_id]
            roi.publish(roi_msg(header, body.box, body.score, body.image_size))
            skeleton.publish(skeleton2d_msg(header, body.keypoints, body.image_size))
        self.tracked.publish(IdsList(header=header, ids=[b.body_id for b in bodies]))

    def _end(self, body_ids: set[str]) -> None:
        for body_id in sorted(body_ids):
            for publisher in self.per_body.pop(body_id):
                self.node.destroy_publisher(publisher)

    def reset(self) -> None:
        """Every track ended (a reset or deactivation): destroys every per-body publisher."""
        self._end(set(self.per_body))

    def release(self) -> None:
        self.reset()
        self.node.destroy_publisher(self.tracked)
        super().release()
