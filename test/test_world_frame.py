"""People in the world frame: our TF buffer (lookups across a tree, interpolation, refusals), the floor it gives in
camera coordinates, and the floor sizing people (perception.placement)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from pmce_ros.perception.placement import TrackScale, floor_scale, upright
from pmce_ros.ros.transform_buffer import RigidTransform, TransformBuffer, TransformUnavailable
from pmce_ros.ros.world_frame import floor_in_camera

SECOND = 1_000_000_000
# A camera optical frame (z forward, x right, y down) on a link whose x looks forward and z up (REP-103).
OPTICAL_IN_LINK = Rotation.from_euler("ZX", [-90, -90], degrees=True)


def robot_tree(buffer: TransformBuffer) -> None:
    """odom -> base_link moving along x at 1 m/s and turning at 0.5 rad/s over 0-2 s, a mast and a camera on it."""
    for stamp in (0, SECOND, 2 * SECOND):
        seconds = stamp / SECOND
        yaw = Rotation.from_euler("z", 0.5 * seconds).as_quat()
        buffer.add("odom", "base_link", stamp, [seconds, 0.0, 0.0], yaw, static=False)
    buffer.add("base_link", "camera_link", 0, [0.2, 0.0, 1.2], [0, 0, 0, 1], static=True)
    buffer.add("camera_link", "camera_optical", 0, [0, 0, 0], OPTICAL_IN_LINK.as_quat(), static=True)


def test_a_lookup_composes_the_tree_and_interpolates_between_stamps():
    buffer = TransformBuffer(tolerance_s=0.1)
    robot_tree(buffer)
    at = buffer.lookup("odom", "camera_optical", SECOND // 2)
    # Half-way: base at x 0.5 turned 0.25 rad; the camera 0.2 m ahead of it and 1.2 m up.
    yaw = Rotation.from_euler("z", 0.25)
    np.testing.assert_allclose(at.translation, [0.5, 0, 0] + yaw.apply([0.2, 0, 1.2]), atol=1e-9)
    np.testing.assert_allclose(at.rotation, (yaw * OPTICAL_IN_LINK).as_matrix(), atol=1e-9)
    # A point 3 m in front of the camera lies 1.2 m up, ahead of the robot along its heading.
    ahead = at.apply(np.array([0.0, 0.0, 3.0]))
    np.testing.assert_allclose(ahead, at.translation + yaw.apply([3.0, 0, 0]), atol=1e-9)
    backwards = buffer.lookup("camera_optical", "odom", SECOND // 2)
    np.testing.assert_allclose(backwards.apply(ahead), [0, 0, 3.0], atol=1e-9)
    assert buffer.lookup("camera_link", "camera_link", 0).apply(np.ones(3)) == pytest.approx(np.ones(3))


def test_stamps_outside_the_kept_span_are_refused_beyond_the_tolerance():
    buffer = TransformBuffer(cache_s=10.0, tolerance_s=0.1)
    robot_tree(buffer)
    newest = buffer.lookup("odom", "camera_optical", 2 * SECOND)
    held = buffer.lookup("odom", "camera_optical", 2 * SECOND + SECOND // 20)  # within the tolerance: the newest
    np.testing.assert_allclose(held.translation, newest.translation)
    with pytest.raises(TransformUnavailable, match="not yet received"):
        buffer.lookup("odom", "camera_optical", 3 * SECOND)
    with pytest.raises(TransformUnavailable, match="older than the oldest"):
        buffer.lookup("odom", "camera_optical", -SECOND)
    for stamp in range(3, 14):  # older transforms leave the cache
        buffer.add("odom", "base_link", stamp * SECOND, [stamp, 0, 0], [0, 0, 0, 1], static=False)
    with pytest.raises(TransformUnavailable, match="older than the oldest"):
        buffer.lookup("odom", "camera_optical", SECOND)


def test_bad_transforms_and_trees_are_refused_with_the_reason():
    buffer = TransformBuffer()
    for translation, rotation in (
        ([np.nan, 0, 0], [0, 0, 0, 1]),
        ([0, 0, 0], [0, 0, 0, 0]),
        ([0, 0, 0], [np.inf, 0, 0, 1]),
    ):
        with pytest.raises(TransformUnavailable, match="non-finite or zero rotation"):
            buffer.add("odom", "base_link", 0, translation, rotation, static=False)
    assert not buffer.frames  # nothing of them kept
    robot_tree(buffer)
    with pytest.raises(TransformUnavailable, match="has not been heard"):
        buffer.lookup("map", "camera_optical", 0)
    buffer.add("elsewhere", "other", 0, [0, 0, 0], [0, 0, 0, 1], static=True)
    with pytest.raises(TransformUnavailable, match="not connected"):
        buffer.lookup("other", "camera_optical", 0)
    buffer.add("loop_b", "loop_a", 0, [0, 0, 0], [0, 0, 0, 1], static=True)
    buffer.add("loop_a", "loop_b", 0, [0, 0, 0], [0, 0, 0, 1], static=True)
    with pytest.raises(TransformUnavailable, match="loops"):
        buffer.lookup("odom", "loop_a", 0)


def test_the_floor_in_camera_coordinates_follows_the_camera_pose():
    pitch_down = Rotation.from_euler("y", 20, degrees=True)  # a link pitched 20 degrees down
    camera = RigidTransform((pitch_down * OPTICAL_IN_LINK).as_matrix(), np.array([4.0, -1.0, 1.5]))
    floor = floor_in_camera(camera, floor_height=0.25)
    assert floor.camera_height == pytest.approx(1.25)
    world_points = np.array([[6.0, 0.5, 0.25], [3.0, -2.0, 1.25], [5.0, -1.0, 2.0]])
    in_camera = camera.inverse().apply(world_points)
    np.testing.assert_allclose(floor.height(in_camera), world_points[:, 2] - 0.25, atol=1e-9)
    assert floor_in_camera(camera, floor_height=2.0) is None  # a camera below the floor has none


def person_joints(height_scale: float = 1.0) -> np.ndarray:
    """COCO-19 joints of a person standing (world z up): ankles 0.08 m above the floor, head at 1.7 m."""
    joints = np.zeros((19, 3))
    joints[:, 2] = np.linspace(1.7, 0.08, 19) * height_scale
    joints[15:17, 2] = 0.08 * height_scale
    joints[15:17, 0] = [-0.1, 0.1]
    joints[17:19, 2] = np.array([0.95, 1.45]) * height_scale  # pelvis, neck
    return joints


def test_the_floor_sizes_a_person_standing_on_it_and_keeps_projections():
    camera = RigidTransform(OPTICAL_IN_LINK.as_matrix(), np.array([0.0, 0.0, 1.3]))  # level, 1.3 m up
    floor = floor_in_camera(camera, 0.0)
    to_camera = camera.inverse()
    truth = to_camera.apply(person_joints() + [4.0, 0.0, 0.0])
    keypoints = np.ones((17, 3))
    # The keypoint fit placed a body 15% too small 15% too near: the same rays.
    shrunk = truth * 0.85
    scale = floor_scale(shrunk, keypoints, floor, ankle_height=0.08)
    np.testing.assert_allclose(scale * shrunk, truth, atol=1e-9)
    # One foot lifted 0.3 m (a step): the lower ankle decides.
    lifted = person_joints() + [4.0, 0.0, 0.0]
    lifted[16, 2] += 0.3
    assert floor_scale(to_camera.apply(lifted) * 0.85, keypoints, floor, 0.08) == pytest.approx(1 / 0.85)
    unseen = keypoints.copy()
    unseen[15:17, 2] = 0.1
    assert floor_scale(shrunk, unseen, floor, 0.08) is None  # no confident ankle
    assert floor_scale(truth * 0.3, keypoints, floor, 0.08) is None  # asks for a 3.3x person: off the floor
    lying = person_joints()[:, [2, 1, 0]] + [4.0, 0.0, 0.08]  # along odom's x, ankles and all at ankle height
    assert not upright(to_camera.apply(lying), floor) and upright(truth, floor)


def test_a_track_keeps_its_size_through_jumps_and_is_not_pulled_down():
    """Hops 0.4 m high, feet off the floor in 60% of the frames, each frame's keypoint fit 10% small (and 1%
    noisy): once the track has a size, a person in the air stays in the air and one landed stands on the floor,
    exactly: a frame with a foot down is placed by its own contact."""
    camera = RigidTransform(OPTICAL_IN_LINK.as_matrix(), np.array([0.0, 0.0, 1.3]))
    floor, to_camera = floor_in_camera(camera, 0.0), camera.inverse()
    rng = np.random.default_rng(0)
    scale = TrackScale()
    assert scale.observe(None) == 1.0
    for frame in range(120):
        airborne = 0.4 if frame % 5 < 3 else 0.0
        placed = to_camera.apply(person_joints() + [5.0, 0.0, airborne]) * 0.9 * (1 + rng.normal(0, 0.01))
        used = scale.observe(floor_scale(placed, np.ones((17, 3)), floor, 0.08))
        if frame >= 30:
            ankle = floor.height(used * placed[15:17]).min()
            assert ankle == pytest.approx(0.08 + airborne, abs=0.04), (frame, airborne)
            if not airborne:  # a foot down: placed by the frame's own contact, its noise and all
                assert ankle == pytest.approx(0.08, abs=1e-9)
    assert np.quantile(scale.observed, 0.3) == pytest.approx(1 / 0.9, rel=0.02)
