"""Outputs for robot software, without processes: REP-155 TF frames from joints, Skeleton2D / ROI conversion,
body ids, /people velocities, and the message packages generated into the venv from msg/copies."""

import json
import os
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from scipy.spatial.transform import Rotation
from std_msgs.msg import Header

from pmce_ros.body.joint_sets import H36M17
from pmce_ros.ros.body_frames import BodyIds, body_pose, body_transforms, joint_frame_names
from pmce_ros.ros.outputs.rep155 import SKELETON2D_JOINTS, roi_msg, skeleton2d_msg
from pmce_ros.ros.track_motion import TrackMotion

REPO = Path(__file__).parents[1]
COPIES = REPO / "msg" / "copies"
HEADER = Header(stamp=Time(sec=12, nanosec=500), frame_id="camera_optical")


def standing_person(facing_camera: bool = True, at=(0.2, 0.1, 3.0)) -> np.ndarray:
    """Human3.6M-17 joints of a person standing upright 3 m in front of a camera (optical frame: x right, y down,
    z forward), arms hanging; facing the camera, their left side is the image's right (+x)."""
    side = 1.0 if facing_camera else -1.0  # the person's left, along camera x
    joints = {
        "pelvis": (0, 0, 0),
        "left_hip": (0.1 * side, 0, 0),
        "right_hip": (-0.1 * side, 0, 0),
        "left_knee": (0.1 * side, 0.45, 0),
        "right_knee": (-0.1 * side, 0.45, 0),
        "left_ankle": (0.1 * side, 0.9, 0),
        "right_ankle": (-0.1 * side, 0.9, 0),
        "torso": (0, -0.25, 0),
        "neck": (0, -0.5, 0),
        "nose": (0, -0.6, -0.1 * side),
        "head": (0, -0.7, 0),
        "left_shoulder": (0.18 * side, -0.5, 0),
        "right_shoulder": (-0.18 * side, -0.5, 0),
        "left_elbow": (0.2 * side, -0.2, 0),
        "right_elbow": (-0.2 * side, -0.2, 0),
        "left_wrist": (0.2 * side, 0.05, 0),
        "right_wrist": (-0.2 * side, 0.05, 0),
    }
    return np.array([joints[name] for name in H36M17.names], dtype=np.float64) + np.array(at)


def _matrix(transform) -> np.ndarray:
    r, t = transform.transform.rotation, transform.transform.translation
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.from_quat([r.x, r.y, r.z, r.w]).as_matrix()
    matrix[:3, 3] = [t.x, t.y, t.z]
    return matrix


@pytest.mark.parametrize("facing_camera", [True, False])
def test_body_frame_is_at_the_hips_with_x_forward_and_z_up(facing_camera):
    joints = standing_person(facing_camera)
    origin, rotation = body_pose(joints)
    assert origin == pytest.approx([0.2, 0.1, 3.0])
    np.testing.assert_allclose(rotation[:, 2], [0, -1, 0], atol=1e-9)  # up is the image's up
    forward = [0, 0, -1] if facing_camera else [0, 0, 1]  # towards the camera when facing it
    np.testing.assert_allclose(rotation[:, 0], forward, atol=1e-9)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_joint_frames_sit_on_the_joints_with_z_along_the_bone():
    joints = standing_person()
    transforms = body_transforms(HEADER, "b7", joints)
    assert transforms[0].child_frame_id == "body_b7" and transforms[0].header.frame_id == "camera_optical"
    assert [t.child_frame_id for t in transforms[1:]] == joint_frame_names("b7")
    assert {"waist_b7", "torso_b7", "head_b7", "l_elbow_b7", "r_ankle_b7", "neck_b7"} <= set(joint_frame_names("b7"))
    assert all(t.header.stamp == HEADER.stamp for t in transforms)
    assert all(t.header.frame_id == "body_b7" for t in transforms[1:])
    body = _matrix(transforms[0])
    in_camera = {t.child_frame_id: body @ _matrix(t) for t in transforms[1:]}
    for name, joint in zip(joint_frame_names("b7"), joints):
        np.testing.assert_allclose(in_camera[name][:3, 3], joint, atol=1e-9)
    elbow, wrist = joints[H36M17.index("left_elbow")], joints[H36M17.index("left_wrist")]
    np.testing.assert_allclose(in_camera["l_elbow_b7"][:3, 2], (wrist - elbow) / np.linalg.norm(wrist - elbow))
    # A wrist has no child: its z continues the forearm.
    np.testing.assert_allclose(in_camera["l_wrist_b7"][:3, 2], in_camera["l_elbow_b7"][:3, 2], atol=1e-9)
    # The spine's frames point up the spine, the legs' down the legs.
    np.testing.assert_allclose(in_camera["waist_b7"][:3, 2], [0, -1, 0], atol=1e-9)
    np.testing.assert_allclose(in_camera["l_hip_b7"][:3, 2], [0, 1, 0], atol=1e-9)


def test_people_without_a_body_pose_get_no_frames():
    joints = standing_person()
    broken = joints.copy()
    broken[3, 1] = np.nan
    assert body_transforms(HEADER, "b1", broken) is None
    assert body_transforms(HEADER, "b1", np.tile(joints[:1], (17, 1))) is None  # everything at one point


def test_skeleton2d_follows_the_message_constants_and_normalises():
    from hri_msgs.msg import Skeleton2D

    constants = sorted(
        (getattr(Skeleton2D, name), name.lower()) for name in dir(type(Skeleton2D)) if name.isupper() and name[0] != "_"
    )
    assert tuple(name for _, name in constants) == SKELETON2D_JOINTS
    keypoints = np.zeros((17, 3))
    keypoints[5] = [100, 50, 0.9]  # left shoulder
    keypoints[6] = [60, 50, 0.5]  # right shoulder
    keypoints[0] = [900, -10, 0.8]  # a nose out of the image is clipped to its border
    message = skeleton2d_msg(HEADER, keypoints, (800, 400))
    neck = message.skeleton[Skeleton2D.NECK]
    assert (neck.x, neck.y, neck.c) == pytest.approx((0.1, 0.125, 0.7))
    nose = message.skeleton[Skeleton2D.NOSE]
    assert (nose.x, nose.y) == (1.0, 0.0)
    left = message.skeleton[Skeleton2D.LEFT_SHOULDER]
    assert (left.x, left.y, left.c) == pytest.approx((0.125, 0.125, 0.9))
    roi = roi_msg(HEADER, np.array([80, 40, 400, 400]), 0.75, (800, 400))
    assert (roi.xmin, roi.ymin, roi.xmax, roi.ymax, roi.c) == pytest.approx((0.1, 0.1, 0.5, 1.0, 0.75))


def test_body_ids_are_unique_across_tracker_restarts():
    ids = BodyIds()
    first = ids(3)
    assert first == "b3" and ids(3) == first
    ids.restart()
    assert ids(3) != first and ids(3) == "b3r1"


def test_track_motion_smooths_positions_and_finds_the_velocity_and_restarts():
    """A person 5 m away walking across the view at 0.8 m/s, each frame's position off by 6 cm in depth and 2 cm
    across (the noise of the real estimates): the filter cuts the depth noise by 40% and follows the walk."""
    motion = TrackMotion()
    rng = np.random.default_rng(0)
    ray = np.array([0.0, 0.0, 5.0])
    true_velocity = np.array([0.8, 0.0, 0.0])
    position, velocity = motion.update("b1", 0.0, np.array([0.0, 0.0, 5.0]), ray)
    assert velocity == pytest.approx(np.zeros(3))
    smoothed, raw = [], []
    for step in range(1, 60):
        truth = np.array([0.0, 0.0, 5.0]) + true_velocity * step * 0.2
        measured = truth + rng.normal(0.0, [0.02, 0.02, 0.06])
        position, velocity = motion.update("b1", step * 0.2, measured, ray)
        if step >= 10:
            smoothed.append(position - truth)
            raw.append(measured - truth)
            assert np.linalg.norm(velocity - true_velocity) < 0.2 * 0.8
    assert np.std(np.array(smoothed)[:, 2]) < 0.6 * np.std(np.array(raw)[:, 2])
    assert abs(np.mean(np.array(smoothed)[:, 0])) < 0.03  # no lag behind the walk
    assert motion.update("b1", 1.0, np.zeros(3), ray)[1] == pytest.approx(np.zeros(3))  # stamps went back
    motion.keep_only(set())
    assert motion.update("b1", 5.0, np.ones(3), ray)[1] == pytest.approx(np.zeros(3))
    assert np.linalg.norm(motion.update("b1", 5.1, np.ones(3) * 1.1, ray)[1]) > 0
    # While the track's body is converging the distance is still settling: zero, and the filter starts again.
    assert motion.update("b1", 5.2, np.ones(3) * 2.0, ray, restart=True)[1] == pytest.approx(np.zeros(3))
    assert motion.update("b1", 5.3, np.ones(3) * 2.0, ray)[1] == pytest.approx(np.zeros(3))
    # Each frame has its own filter: the world track starts in odom, goes on across a frame given in the camera
    # frame only (its transform lost), and starts again after a gap of over a second.
    position, velocity = motion.update("b1", 5.4, np.ones(3) * 9.0, ray, frame_id="odom")
    assert position == pytest.approx(np.ones(3) * 9.0) and velocity == pytest.approx(np.zeros(3))
    motion.update("b1", 5.6, np.ones(3) * 2.0, ray)
    assert motion.update("b1", 5.8, np.ones(3) * 9.0 + [0.2, 0, 0], ray, frame_id="odom")[1][0] > 0.1
    assert motion.update("b1", 6.9, np.ones(3) * 9.0, ray, frame_id="odom")[1] == pytest.approx(np.zeros(3))


# --- message packages without a ROS install -------------------------------------------------------------------

# Field lists and RIHS01 type hashes of the upstream definitions, read from ros2/geometry2 (jazzy) tf2_msgs,
# ros4hri/hri_msgs (humble-devel, 2.0.0) and wg-perception/people (ros2) people_msgs, hashed with this venv's
# rosidl. Comments in the upstream files do not enter the hash; names, types, array sizes and nesting do.
UPSTREAM = {
    "tf2_msgs/TFMessage": (
        {"transforms": "sequence<geometry_msgs/TransformStamped>"},
        "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087",
    ),
    "hri_msgs/IdsList": (
        {"header": "std_msgs/Header", "ids": "sequence<string>"},
        "RIHS01_7e0812d1ac945c98fd3e393568d581ad0ab567f37b24eff633eab778c1bfe62d",
    ),
    "hri_msgs/NormalizedPointOfInterest2D": (
        {"x": "float", "y": "float", "c": "float"},
        "RIHS01_cc1d2f720c82afeb850ff1dbf66f41ecb7caf19f842987f1247e66160cf03953",
    ),
    "hri_msgs/NormalizedRegionOfInterest2D": (
        {"header": "std_msgs/Header", "xmin": "float", "ymin": "float", "xmax": "float", "ymax": "float", "c": "float"},
        "RIHS01_2e50c93f1ca166ee77af9a5424dc951ae4e452b740162a7f83c082d917dcaff5",
    ),
    "hri_msgs/Skeleton2D": (
        {"header": "std_msgs/Header", "skeleton": "hri_msgs/NormalizedPointOfInterest2D[18]"},
        "RIHS01_1cb61f012db6ca43c48fa0097ccab9a00108ea39323c13f01bb983323c1e3420",
    ),
    "people_msgs/People": (
        {"header": "std_msgs/Header", "people": "sequence<people_msgs/Person>"},
        "RIHS01_9ea98a5e58f833a9532957bca23a6b8006a12885d5a16c8ca41dd901d10c33b6",
    ),
    "people_msgs/Person": (
        {
            "name": "string",
            "position": "geometry_msgs/Point",
            "velocity": "geometry_msgs/Point",
            "reliability": "double",
            "tagnames": "sequence<string>",
            "tags": "sequence<string>",
        },
        "RIHS01_434c04a421c02370b4e2322c2a4201bebb3e32545e0145199743678ab9ce0fa0",
    ),
}


@pytest.mark.parametrize("name", sorted(UPSTREAM))
def test_generated_message_copies_match_upstream_field_by_field(name):
    import importlib

    package, message = name.split("/")
    fields, type_hash = UPSTREAM[name]
    generated = getattr(importlib.import_module(f"{package}.msg"), message)
    assert generated.get_fields_and_field_types() == fields  # names, types and order
    description = json.loads((Path(sys.prefix) / "share" / package / "msg" / f"{message}.json").read_text())
    own = [h["hash_string"] for h in description["type_hashes"] if h["type_name"] == f"{package}/msg/{message}"]
    assert own == [type_hash]  # the wire format and what DDS matches on


def test_copies_build_only_in_the_venv_and_the_package_depends_on_the_system_ones():
    assert (COPIES / "COLCON_IGNORE").is_file()
    assert sorted(p.name for p in COPIES.iterdir() if p.is_dir()) == ["hri_msgs", "people_msgs", "tf2_msgs"]
    assert {name.split("/")[0] for name in UPSTREAM} == {"hri_msgs", "people_msgs", "tf2_msgs"}
    depends = {e.text for e in ElementTree.parse(REPO / "package.xml").getroot() if e.tag.endswith("depend")}
    assert {"tf2_msgs", "hri_msgs", "people_msgs"} <= depends
    for package in COPIES.iterdir():
        if package.is_dir():
            assert ElementTree.parse(package / "package.xml").getroot().findtext("name") == package.name


def test_large_image_profile_applies_unless_one_is_set(monkeypatch):
    from pmce_ros.ros.command_line import apply_large_images_profile

    for variable in ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE"):
        monkeypatch.delenv(variable, raising=False)
    apply_large_images_profile()
    profile = Path(os.environ["FASTDDS_DEFAULT_PROFILES_FILE"])
    assert profile.is_file() and "<receiveBufferSize>4194304</receiveBufferSize>" in profile.read_text()
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", "/users/own.xml")
    apply_large_images_profile()
    assert os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] == "/users/own.xml"
