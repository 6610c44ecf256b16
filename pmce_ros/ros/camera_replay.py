"""camera_replay: publishes a video file, still images or a ROS 2 bag's images as a camera would
(sensor_msgs/Image bgr8 and CameraInfo), for demos and tests without a camera.

Parameters: `sources` (a video file, image files shown in turn, or a rosbag2 folder), `bag_topic` (the bag's
image topic; empty = its only one), `rate_hz` (0 = the video's own frame rate, 10 for images and bags),
`frame_id`, `loop`, `max_frames` (0 = all), `focal_px` (0 = image diagonal, the pipeline's fallback
camera), `reliable` (QoS; best effort by default, like camera drivers), `wait_for_subscribers` (start only once
the image topic has this many subscribers, so that no frame is lost to discovery), `source_time` (false: stamp
each frame with the wall-clock time of publication, like a live driver; true: with the time of the first
publication plus the frame's own time in the source, so that a replay slower than the source keeps its timing).
Fast DDS gets config/fastdds_large_images.xml unless a profile is set (best-effort full-HD frames need it).
"""

import sys
from array import array

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image

from pmce_ros.perception.placement import Intrinsics
from pmce_ros.ros.command_line import apply_large_images_profile
from pmce_ros.sources import FrameSource


def camera_info_for(width: int, height: int, focal: float) -> CameraInfo:
    camera = Intrinsics(focal, focal, width / 2, height / 2) if focal else Intrinsics.fallback(width, height)
    info = CameraInfo(width=width, height=height, distortion_model="plumb_bob")
    info.k = [camera.fx, 0.0, camera.cx, 0.0, camera.fy, camera.cy, 0.0, 0.0, 1.0]
    info.p = [camera.fx, 0.0, camera.cx, 0.0, 0.0, camera.fy, camera.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.d = [0.0] * 5
    return info


class CameraReplay(Node):
    def __init__(self):
        super().__init__("camera_replay")
        sources = self.declare_parameter("sources", [""]).value
        bag_topic = self.declare_parameter("bag_topic", "").value
        rate = self.declare_parameter("rate_hz", 0.0).value
        self.frame_id = self.declare_parameter("frame_id", "camera_optical_frame").value
        loop = self.declare_parameter("loop", False).value
        self.max_frames = self.declare_parameter("max_frames", 0).value
        self.focal = self.declare_parameter("focal_px", 0.0).value
        reliable = self.declare_parameter("reliable", False).value
        self.wait_for_subscribers = self.declare_parameter("wait_for_subscribers", 0).value
        self.source_time = self.declare_parameter("source_time", False).value
        self.first_publication: tuple[int, float] | None = None  # (wall clock ns, source time s)
        self.source = FrameSource([s for s in sources if s], bag_topic or None, loop)
        self.frames = iter(self.source)
        qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT)
        self.image_publisher = self.create_publisher(Image, "image", qos)
        self.info_publisher = self.create_publisher(CameraInfo, "camera_info", qos)
        self.published = 0
        self.done = False
        self.timer = self.create_timer(1.0 / (rate or self.source.fps or 10.0), self._publish_next)

    def _publish_next(self) -> None:
        if self.published == 0 and self.image_publisher.get_subscription_count() < self.wait_for_subscribers:
            return
        frame = None
        if not self.max_frames or self.published < self.max_frames:
            source_stamp, frame = next(self.frames, (None, None))
        if frame is None:
            self.get_logger().info(f"replay finished after {self.published} frames")
            self.timer.cancel()
            self.done = True
            return
        now = self.get_clock().now()
        if self.first_publication is None:
            self.first_publication = (now.nanoseconds, source_stamp)
        if self.source_time:
            offset_ns = round((source_stamp - self.first_publication[1]) * 1e9)
            now = Time(nanoseconds=self.first_publication[0] + offset_ns, clock_type=now.clock_type)
        stamp = now.to_msg()
        height, width = frame.shape[:2]
        # the message takes an array in 1.8 ms a 1080p frame, bytes in 7.8 (rclpy converts them), all after the stamp
        pixels = array("B", frame.tobytes())
        image = Image(height=height, width=width, encoding="bgr8", step=3 * width, data=pixels)
        image.header.stamp = stamp
        image.header.frame_id = self.frame_id
        info = camera_info_for(width, height, self.focal)
        info.header = image.header
        self.info_publisher.publish(info)
        self.image_publisher.publish(image)
        self.published += 1


def main(args=None) -> int:
    apply_large_images_profile()
    rclpy.init(args=args)
    node = CameraReplay()
    try:
        while rclpy.ok() and not node.done:
            rclpy.spin_once(node, timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
