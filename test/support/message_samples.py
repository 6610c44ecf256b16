"""Realistic, deterministic contents for every pmce_ros message (same values in every process that builds them)."""

import numpy as np
from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from pmce_ros.body.joint_sets import COCO19
from pmce_ros.ros.messages import HumanFields, human_array_to_msg, mesh_to_msg, skeleton_to_msg, topology_to_msg

FRAME_ID = "camera_color_optical_frame"
STAMP = Time(sec=1_700_000_123, nanosec=456_789_000)
NUM_VERTICES = 6890
NUM_FACES = 13776


def header() -> Header:
    return Header(stamp=STAMP, frame_id=FRAME_ID)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def mesh_vertices(track_id: int) -> np.ndarray:
    """A person-sized point cloud 2-4 m in front of the camera."""
    rng = _rng(100 + track_id)
    body = rng.normal(0.0, [0.2, 0.45, 0.12], size=(NUM_VERTICES, 3))
    return (body + [0.5 * track_id - 0.5, 0.2, 3.0]).astype(np.float32)


def mesh(track_id: int = 7):
    return mesh_to_msg(header(), track_id, mesh_vertices(track_id))


def topology():
    faces = _rng(1).integers(0, NUM_VERTICES, size=(NUM_FACES, 3))
    return topology_to_msg(Header(stamp=STAMP), faces, NUM_VERTICES, "test pattern (not a body)")


def skeleton(track_id: int = 7):
    rng = _rng(200 + track_id)
    joints = rng.normal(0.0, 0.4, size=(19, 3)) + [0.0, 0.0, 3.0]
    return skeleton_to_msg(header(), track_id, "coco19", list(COCO19.names), joints, rng.uniform(0.2, 1.0, 19))


def humans():
    people = []
    for track_id in (1, 2, 3):
        rng = _rng(300 + track_id)
        keypoints = np.column_stack([rng.uniform(0, 640, 17), rng.uniform(0, 480, 17), rng.uniform(0, 1, 17)])
        valid = track_id != 3  # the third person's window is still filling
        people.append(
            HumanFields(
                track_id=track_id,
                valid=valid,
                box=np.array(
                    [keypoints[:, 0].min(), keypoints[:, 1].min(), keypoints[:, 0].max(), keypoints[:, 1].max()]
                ),
                keypoints_2d=keypoints,
                root_position=np.array([0.5 * track_id, 0.1, 3.0]),
                skeleton=skeleton(track_id) if valid else None,
                mesh=mesh(track_id) if valid else None,
            )
        )
    return human_array_to_msg(header(), "test weights (stand-in)", True, people)


SAMPLES = {"meshes": mesh, "skeletons": skeleton, "humans": humans, "mesh_topology": topology}
