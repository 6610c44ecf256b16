"""Publishes one of every kind of bad input pmce_node must survive, on `image` / `camera_info`, then exits.

Every message is stamped with the current time, except the last image, which carries a stamp from an hour ago
(a bag loop). Usage: bad_input_publisher.py FRAME_ID GOOD_IMAGE"""

import sys
import time

import cv2
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

RELIABLE = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)


def main() -> None:
    frame_id, good_path = sys.argv[1], sys.argv[2]
    good = cv2.imread(good_path)
    rclpy.init()
    node = rclpy.create_node("bad_input_publisher")
    images = node.create_publisher(Image, "image", RELIABLE)
    infos = node.create_publisher(CameraInfo, "camera_info", RELIABLE)
    while images.get_subscription_count() == 0 or infos.get_subscription_count() == 0:
        rclpy.spin_once(node, timeout_sec=0.1)
    time.sleep(1.0)
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
        images.publish(msg)
        time.sleep(0.3)
    nan_info = CameraInfo(width=width, height=height)
    nan_info.header.frame_id = frame_id
    nan_info.k = [float("nan")] * 9
    infos.publish(nan_info)
    time.sleep(0.3)
    images.publish(image())  # good image with invalid intrinsics
    time.sleep(2.0)
    images.publish(image(age_s=3600.0))  # stamps jump back
    time.sleep(2.0)
    print(f"PUBLISHED {len(bad_images)} bad images, 1 NaN camera_info, 1 frame from the past", flush=True)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
