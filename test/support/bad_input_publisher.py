"""Publishes one of every kind of bad input pmce_node must survive, on `image` / `camera_info`, then exits.

Every message is stamped with the current time, except the last image, which carries a stamp from an hour ago
(a bag loop). Each image waits for the node's diagnostics to say it was handled. Usage: bad_input_publisher.py
FRAME_ID GOOD_IMAGE"""

import sys
import time

import cv2
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_processes import follow_frame_counts
from sensor_msgs.msg import CameraInfo, Image

RELIABLE = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)


def main() -> None:
    frame_id, good_path = sys.argv[1], sys.argv[2]
    good = cv2.imread(good_path)
    rclpy.init()
    node = rclpy.create_node("bad_input_publisher")
    images = node.create_publisher(Image, "image", RELIABLE)
    infos = node.create_publisher(CameraInfo, "camera_info", RELIABLE)
    reports = follow_frame_counts(node)

    def spin_until(condition, what: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"bad_input_publisher: pmce_node did not {what} within {timeout_s} s")
            rclpy.spin_once(node, timeout_sec=0.1)

    spin_until(lambda: images.get_subscription_count() and infos.get_subscription_count() and reports, "appear")

    def publish_and_wait(msg) -> None:
        """One image, then wait until the node has taken it in and handled it: its keep-latest slot would let a
        later image replace one still waiting."""
        taken_in = reports[-1][0]
        images.publish(msg)
        spin_until(lambda: reports[-1][0] > taken_in and reports[-1][1] == 0, "handle an image")

    height, width = good.shape[:2]
    good_bytes = good.tobytes()

    def image(encoding=b"bgr8", h=height, w=width, step=3 * width, data=good_bytes, age_s=0.0):
        msg = Image(height=h, width=w, encoding=encoding.decode(), step=step, data=data)
        msg.header.frame_id = frame_id
        msg.header.stamp = (node.get_clock().now() - rclpy.duration.Duration(seconds=age_s)).to_msg()
        return msg

    bad_images = [
        image(encoding=b"jpeg"),  # unknown encoding
        image(step=3 * width - 7),  # step shorter than a row
        image(data=good.tobytes()[:1000]),  # truncated data
        image(h=0, w=0, step=0, data=b""),  # zero size
        image(h=100_000, w=100_000, step=300_000),  # absurd size claimed
        image(encoding=b"uyvy", w=width - 1, step=2 * (width - 1)),
    ]  # odd width for YUV 4:2:2
    for msg in bad_images:
        publish_and_wait(msg)
    nan_info = CameraInfo(width=width, height=height)
    nan_info.header.frame_id = frame_id
    nan_info.k = [float("nan")] * 9
    infos.publish(nan_info)
    # camera_info and image are separate topics with no order between them, and the node reports nothing when a
    # camera_info arrives: this pause is what puts the NaN intrinsics ahead of the next image.
    time.sleep(0.3)
    publish_and_wait(image())  # good image with invalid intrinsics
    publish_and_wait(image(age_s=3600.0))  # stamps jump back
    print(f"PUBLISHED {len(bad_images)} bad images, 1 NaN camera_info, 1 frame from the past", flush=True)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
