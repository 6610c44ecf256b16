"""camera_replay: publishes a video file or still images as a camera would (sensor_msgs/Image bgr8 and
CameraInfo), for demos and tests without a camera.

Parameters: `sources` (video file, or image files shown in turn), `rate_hz` (0 = the video's own frame rate, 10
for images), `frame_id`, `loop`, `max_frames` (0 = all), `focal_px` (0 = image diagonal, the pipeline's fallback
camera), `reliable` (QoS; best effort by default, like camera drivers), `wait_for_subscribers` (start only once
the image topic has this many subscribers, so that no frame is lost to discovery). Stamps are the wall-clock
time of publication, like a live driver.
"""
import sys
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


class FrameSource:
    """Frames of one video file or of a list of image files, optionally looping."""

    def __init__(self, paths: list[str], loop: bool):
        self.paths = [Path(p) for p in paths]
        missing = [str(p) for p in self.paths if not p.is_file()]
        if not self.paths or missing:
            raise FileNotFoundError(f"replay sources not found: {missing or 'none given'}")
        self.loop = loop
        self.video = None
        self.index = 0
        self.fps = 10.0
        if self.paths[0].suffix.lower() not in IMAGE_SUFFIXES:
            self.video = cv2.VideoCapture(str(self.paths[0]))
            if not self.video.isOpened():
                raise ValueError(f"cannot read video {self.paths[0]}")
            self.fps = self.video.get(cv2.CAP_PROP_FPS) or 10.0

    def next(self) -> np.ndarray | None:
        if self.video is not None:
            ok, frame = self.video.read()
            if not ok and self.loop:
                self.video.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = self.video.read()
            return frame if ok else None
        if self.index >= len(self.paths):
            if not self.loop:
                return None
            self.index = 0
        frame = cv2.imread(str(self.paths[self.index]))
        self.index += 1
        if frame is None:
            raise ValueError(f"cannot read image {self.paths[self.index - 1]}")
        return frame


def camera_info_for(width: int, height: int, focal: float) -> CameraInfo:
    focal = focal or float(np.hypot(width, height))
    info = CameraInfo(width=width, height=height, distortion_model="plumb_bob")
    info.k = [focal, 0.0, width / 2, 0.0, focal, height / 2, 0.0, 0.0, 1.0]
    info.p = [focal, 0.0, width / 2, 0.0, 0.0, focal, height / 2, 0.0, 0.0, 0.0, 1.0, 0.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.d = [0.0] * 5
    return info


class CameraReplay(Node):
    def __init__(self):
        super().__init__("camera_replay")
        sources = self.declare_parameter("sources", [""]).value
        rate = self.declare_parameter("rate_hz", 0.0).value
        self.frame_id = self.declare_parameter("frame_id", "camera_optical_frame").value
        loop = self.declare_parameter("loop", False).value
        self.max_frames = self.declare_parameter("max_frames", 0).value
        self.focal = self.declare_parameter("focal_px", 0.0).value
        reliable = self.declare_parameter("reliable", False).value
        self.wait_for_subscribers = self.declare_parameter("wait_for_subscribers", 0).value
        self.source = FrameSource([s for s in sources if s], loop)
        qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE if reliable else
                         ReliabilityPolicy.BEST_EFFORT)
        self.image_publisher = self.create_publisher(Image, "image", qos)
        self.info_publisher = self.create_publisher(CameraInfo, "camera_info", qos)
        self.published = 0
        self.done = False
        self.timer = self.create_timer(1.0 / (rate or self.source.fps), self._publish_next)

    def _publish_next(self) -> None:
        if self.published == 0 and self.image_publisher.get_subscription_count() < self.wait_for_subscribers:
            return
        frame = self.source.next() if not self.max_frames or self.published < self.max_frames else None
        if frame is None:
            self.get_logger().info(f"replay finished after {self.published} frames")
            self.timer.cancel()
            self.done = True
            return
        stamp = self.get_clock().now().to_msg()
        height, width = frame.shape[:2]
        image = Image(height=height, width=width, encoding="bgr8", step=3 * width, data=frame.tobytes())
        image.header.stamp = stamp
        image.header.frame_id = self.frame_id
        info = camera_info_for(width, height, self.focal)
        info.header = image.header
        self.info_publisher.publish(info)
        self.image_publisher.publish(image)
        self.published += 1


def main(args=None) -> int:
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
