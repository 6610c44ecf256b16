"""Where the camera is in the world: the camera optical frame -> `world_frame` transform at an image's stamp.

tf2_ros where it is installed (a robot's full ROS 2 install); where it is not (ROS 2 from PyPI wheels), our own
buffer (pmce_ros.ros.transform_buffer) fed by subscriptions to /tf and /tf_static. This module is the only place
that imports tf2_ros.

/tf is taken best effort (it matches reliable publishers too): a reliable reader that loses one message holds
every later one back until the publisher sends it again, and a camera's transforms then stop for a second or more
(test_world_frame_node, a loaded 2-core machine: 5 frames of 22 without one, in two runs of 1-1.6 s). Best effort
loses that one message, and the buffer interpolates across it.

`WorldFrame.lookup` returns the transform or raises TransformUnavailable with the reason, after waiting up to
TRANSFORM_WAIT_S for one not yet received (an image can be taken before the transform published with it: the
executor serves subscriptions in its own order); `floor_in_camera`
turns it into the floor plane the pipeline sizes people with (the world frame's z = `floor_height`; world frames
such as odom, map and base_footprint are gravity-aligned with z up, REP-103/105).
"""

import threading
import time

import numpy as np
from rclpy.duration import Duration
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from tf2_msgs.msg import TFMessage

from pmce_ros.perception.placement import FloorPlane
from pmce_ros.ros.transform_buffer import (
    RigidTransform,
    TransformBuffer,
    TransformNotYetReceived,
    TransformUnavailable,
)

try:
    import tf2_ros
except ImportError:  # ROS 2 from PyPI wheels: no tf2_ros
    tf2_ros = None

TF_QOS = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
TF_STATIC_QOS = QoSProfile(
    depth=100,
    history=HistoryPolicy.KEEP_LAST,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
CACHE_S = 10.0
TRANSFORM_WAIT_S = 0.5


class WorldFrame:
    def __init__(self, node, world_frame: str, tolerance_s: float, on_bad_transform):
        """`on_bad_transform(message)` hears about every transform refused on arrival (our buffer only)."""
        self.node, self.world_frame = node, world_frame
        self.heard = threading.Condition()
        self.subscriptions = []
        if tf2_ros is not None:
            self.tf2 = tf2_ros.Buffer(cache_time=Duration(seconds=CACHE_S))
            self.listener = tf2_ros.TransformListener(self.tf2, node)
            self.buffer = None
            return
        self.tf2 = self.listener = None
        self.buffer = TransformBuffer(CACHE_S, tolerance_s)
        self.on_bad_transform = on_bad_transform
        self.subscriptions = [
            node.create_subscription(TFMessage, "/tf", lambda msg: self._heard(msg, False), TF_QOS),
            node.create_subscription(TFMessage, "/tf_static", lambda msg: self._heard(msg, True), TF_STATIC_QOS),
        ]

    @property
    def backend(self) -> str:
        return "tf2_ros" if self.tf2 is not None else "pmce_ros transform buffer (no tf2_ros installed)"

    def _heard(self, msg: TFMessage, static: bool) -> None:
        for stamped in msg.transforms:
            t, q = stamped.transform.translation, stamped.transform.rotation
            stamp_ns = stamped.header.stamp.sec * 1_000_000_000 + stamped.header.stamp.nanosec
            try:
                with self.heard:
                    self.buffer.add(
                        stamped.header.frame_id,
                        stamped.child_frame_id,
                        stamp_ns,
                        [t.x, t.y, t.z],
                        [q.x, q.y, q.z, q.w],
                        static,
                    )
                    self.heard.notify_all()
            except TransformUnavailable as error:
                self.on_bad_transform(str(error))

    def lookup(self, camera_frame: str, stamp_ns: int) -> RigidTransform:
        """camera_frame -> world_frame at the stamp; raises TransformUnavailable."""
        if self.tf2 is None:
            deadline = time.monotonic() + TRANSFORM_WAIT_S
            with self.heard:
                while True:
                    try:
                        return self.buffer.lookup(self.world_frame, camera_frame, stamp_ns)
                    except TransformNotYetReceived:
                        if not self.heard.wait(max(deadline - time.monotonic(), 0.0)):
                            raise
        try:
            stamped = self.tf2.lookup_transform(
                self.world_frame, camera_frame, Time(nanoseconds=stamp_ns), Duration(seconds=TRANSFORM_WAIT_S)
            )
        except (tf2_ros.LookupException, tf2_ros.ConnectivityException, tf2_ros.ExtrapolationException) as error:
            raise TransformUnavailable(str(error)) from error
        t, q = stamped.transform.translation, stamped.transform.rotation
        return RigidTransform.from_quaternion([t.x, t.y, t.z], [q.x, q.y, q.z, q.w])

    def close(self) -> None:
        for subscription in self.subscriptions:
            self.node.destroy_subscription(subscription)
        self.subscriptions = []
        if self.listener is not None:
            self.listener.unregister()
            self.listener = None


def floor_in_camera(camera_to_world: RigidTransform, floor_height: float) -> FloorPlane | None:
    """The plane z = floor_height of the world frame in the camera's coordinates; None when the camera is not
    above it."""
    up = camera_to_world.rotation[2]  # the world's z axis in camera coordinates
    camera_height = float(camera_to_world.translation[2] - floor_height)
    if camera_height <= 0 or not np.isfinite(camera_height):
        return None
    return FloorPlane(up=up / np.linalg.norm(up), camera_height=camera_height)
