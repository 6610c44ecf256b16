"""A camera that moves in the world, as a robot's does, replayed from one real photo: publishes odom -> the camera's
optical frame on /tf and, at the same stamp, the photo as that camera would see it, with its CameraInfo; records
every HumanArray pmce_node sends back; writes them as JSON when done.

The photo is bus.jpg with one person kept (PERSON_COLUMNS; the rest grey), so that no tracker id swap between
neighbours muddles what a track did: a cut-out of a man standing on the floor, facing the camera at rest. The
camera rests 1.2 m above odom's floor (z = 0) looking along odom's x: with FOCAL, the height at which the man, feet
on the floor, is of a man's size (his floor scale is 1.05 of the body the network fits; from 1.5 m up it would be
1.33, outside what the floor is trusted with). Modes:
- move: it drives back and forth (0.5 m along x, 4 s period), sideways (0.4 m, 3 s period), pans (8 degrees) and
  tilts (3 degrees); each image is the photo warped by the homography the cut-out's plane induces between the
  camera at rest and the camera now, exact for the cut-out, so the man stands still in odom;
- walk: it holds still; after STAND_S the photo slides to the right at WALK_PX_PER_S: the person walks to the
  camera's right (odom's -y) at WALK_PX_PER_S x depth / focal length m/s;
- broken: as walk's first seconds, but the camera's transform to odom has a NaN in its rotation, and the camera
  hangs from two other frames that are each other's parent (a TF tree with a loop).

Usage: moving_camera.py MODE OUT.json FRAMES RATE_HZ"""

import json
import sys
import time

import cv2
import numpy as np
import rclpy
from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3
from media import BUS, read_image
from rclpy.qos import QoSProfile, ReliabilityPolicy
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from pmce_ros.msg import HumanArray
from pmce_ros.ros.messages import stamp_ns

FRAME_ID, WORLD = "moving_camera_optical", "odom"
FOCAL, HEIGHT_M = 900.0, 1.2
PERSON_COLUMNS = (205, 450)  # bus.jpg's man in black, apart from his neighbours
STAND_S, WALK_PX_PER_S = 3.0, 150.0
OPTICAL_IN_LINK = Rotation.from_euler("ZX", [-90, -90], degrees=True)  # optical axes on a REP-103 link
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


REST_POSITION = np.array([0.0, 0.0, HEIGHT_M])
# The man stands as a cut-out on the floor: his feet at image row FEET_ROW put him FEET_ROW's floor distance
# ahead of the camera at rest, in a plane facing it.
FEET_ROW = 845.0
BILLBOARD_DEPTH_M = FOCAL * HEIGHT_M / (FEET_ROW - 540.0)


def camera_pose(mode: str, seconds: float) -> tuple[Rotation, np.ndarray]:
    """The optical frame's orientation and position in odom."""
    if mode != "move":
        return OPTICAL_IN_LINK, REST_POSITION
    pan = np.radians(8.0) * np.sin(2 * np.pi * seconds / 4.0)
    tilt = np.radians(3.0) * np.sin(2 * np.pi * seconds / 3.0)
    shift = np.array([0.5 * np.sin(2 * np.pi * seconds / 4.0), 0.4 * np.sin(2 * np.pi * seconds / 3.0), 0.0])
    return Rotation.from_euler("ZY", [pan, tilt]) * OPTICAL_IN_LINK, REST_POSITION + shift


def view(photo: np.ndarray, mode: str, seconds: float, k: np.ndarray) -> np.ndarray:
    """The photo (taken by the camera at rest) as the camera sees it at `seconds`: the homography the
    billboard's plane induces between the two cameras (exact for everything in that plane)."""
    if mode == "move":
        rotation, position = camera_pose(mode, seconds)
        turn = rotation.as_matrix().T @ OPTICAL_IN_LINK.as_matrix()
        offset = rotation.as_matrix().T @ (REST_POSITION - position)
        plane = np.array([0.0, 0.0, 1.0 / BILLBOARD_DEPTH_M])  # n / d of z = BILLBOARD_DEPTH_M at rest
        warp = k @ (turn + np.outer(offset, plane)) @ np.linalg.inv(k)
    else:
        shift = WALK_PX_PER_S * max(seconds - STAND_S, 0.0)
        warp = np.array([[1.0, 0.0, shift], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return cv2.warpPerspective(photo, warp, (photo.shape[1], photo.shape[0]))


def main() -> None:
    mode, out, frames, rate_hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    photo = np.full_like(read_image(BUS), 128)
    photo[:, slice(*PERSON_COLUMNS)] = read_image(BUS)[:, slice(*PERSON_COLUMNS)]
    height, width = photo.shape[:2]
    k = np.array([[FOCAL, 0, width / 2], [0, FOCAL, height / 2], [0, 0, 1]])
    rclpy.init()
    node = rclpy.create_node("moving_camera")
    images = node.create_publisher(Image, "image", RELIABLE)
    infos = node.create_publisher(CameraInfo, "camera_info", RELIABLE)
    tf = node.create_publisher(TFMessage, "/tf", QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    received = []

    def on_humans(msg: HumanArray) -> None:
        received.append(
            {
                "stamp": stamp_ns(msg.header),
                "world_frame": msg.world_frame,
                "forecast_step_s": msg.forecast_step_s,
                "people": [
                    {
                        "id": h.track_id,
                        "placement": h.placement,
                        "body": h.body,
                        "root": [h.root_position.x, h.root_position.y, h.root_position.z],
                        "world": [h.world_position.x, h.world_position.y, h.world_position.z],
                        "velocity": [h.world_velocity.x, h.world_velocity.y, h.world_velocity.z],
                        "forecast": [[p.x, p.y, p.z] for p in h.forecast_root],
                    }
                    for h in msg.humans
                    if h.valid
                ],
            }
        )

    node.create_subscription(HumanArray, "humans", on_humans, RELIABLE)
    while images.get_subscription_count() < 1 or tf.get_subscription_count() < 1:
        rclpy.spin_once(node, timeout_sec=0.1)
    print("PUBLISHING", flush=True)
    sent = []
    started = time.monotonic()
    for frame in range(frames):
        seconds = frame / rate_hz
        while time.monotonic() - started < seconds:
            rclpy.spin_once(node, timeout_sec=0.01)
        header = Header(stamp=node.get_clock().now().to_msg(), frame_id=FRAME_ID)
        rotation, position = camera_pose(mode, seconds)
        x, y, z, w = rotation.as_quat()
        if mode == "broken":
            x = float("nan")
        pose = Transform(
            translation=Vector3(x=position[0], y=position[1], z=position[2]),
            rotation=Quaternion(x=x, y=y, z=z, w=w),
        )
        links = [(WORLD, FRAME_ID, pose)]
        if mode == "broken":  # the camera hangs from a loop instead
            links += [
                ("loop_a", FRAME_ID, Transform()),
                ("loop_b", "loop_a", Transform()),
                ("loop_a", "loop_b", Transform()),
            ]
        tf.publish(
            TFMessage(
                transforms=[
                    TransformStamped(
                        header=Header(stamp=header.stamp, frame_id=parent), child_frame_id=child, transform=t
                    )
                    for parent, child, t in links
                ]
            )
        )
        infos.publish(CameraInfo(header=header, height=height, width=width, k=k.reshape(-1).tolist()))
        picture = view(photo, mode, seconds, k)
        images.publish(
            Image(header=header, height=height, width=width, encoding="bgr8", step=3 * width, data=picture.tobytes())
        )
        sent.append([stamp_ns(header), seconds])
    idle = time.monotonic()
    while time.monotonic() - idle < 4.0:  # until the node has answered the last frame it took
        count = len(received)
        rclpy.spin_once(node, timeout_sec=0.2)
        if len(received) > count:
            idle = time.monotonic()
    with open(out, "w") as file:
        json.dump(
            {"sent": sent, "humans": received, "focal": FOCAL, "walk_px_per_s": WALK_PX_PER_S, "stand_s": STAND_S}, file
        )
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
