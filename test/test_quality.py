"""The quality figures pmce-process reports, on constructed cases with known answers."""

import numpy as np
import pytest

from pmce_ros.body.joint_sets import H36M17
from pmce_ros.output.quality import BodyRecall, QualityMeter, bone_variation, jitter_mm, reprojection_error
from pmce_ros.perception.placement import Intrinsics
from pmce_ros.pipeline.results import GAP_IN_TRACK, NOT_SEEN, WINDOW_FILLING

CAMERA = Intrinsics(1000.0, 1000.0, 640.0, 360.0)


def standing_h36m() -> np.ndarray:
    """A plausible Human3.6M-17 pose 4 m in front of the camera, metres (y down)."""
    rng = np.random.default_rng(0)
    joints = rng.normal(0.0, 0.3, (17, 3))
    joints[:, 2] += 4.0
    return joints


def test_reprojection_is_zero_for_exact_keypoints_and_scales_with_the_box():
    joints = standing_h36m()
    u = CAMERA.fx * joints[:, 0] / joints[:, 2] + CAMERA.cx
    v = CAMERA.fy * joints[:, 1] / joints[:, 2] + CAMERA.cy
    keypoints = np.column_stack([u, v, np.full(17, 0.9)])
    box = np.array([0.0, 100.0, 50.0, 300.0])  # 200 px tall
    assert reprojection_error(joints, keypoints, box, CAMERA) == pytest.approx(0.0, abs=1e-9)
    shifted = keypoints + [6.0, 8.0, 0.0]  # 10 px off everywhere
    assert reprojection_error(joints, shifted, box, CAMERA) == pytest.approx(10 / 200)
    shifted[:10, 2] = 0.3  # unconfident keypoints are not counted, however far off
    shifted[:10, :2] += 500
    assert reprojection_error(joints, shifted, box, CAMERA) == pytest.approx(10 / 200)
    shifted[:, 2] = 0.1
    assert reprojection_error(joints, shifted, box, CAMERA) is None


def test_bone_variation_is_zero_for_a_rigid_body_and_measures_stretching():
    joints = standing_h36m()
    pelvis = joints[H36M17.index("pelvis")]
    rigid = np.stack([joints + [0.1 * t, 0.0, 0.0] for t in range(10)])
    assert bone_variation(rigid) == pytest.approx(0.0, abs=1e-9)
    # Every limb scaled by 0.9 and 1.1 on alternate frames: std / mean = 0.1.
    stretched = np.stack([pelvis + (joints - pelvis) * (0.9 if t % 2 else 1.1) for t in range(10)])
    assert bone_variation(stretched) == pytest.approx(0.1)
    assert bone_variation(rigid[:1]) is None


def test_jitter_ignores_smooth_motion_and_gaps():
    joints = standing_h36m()
    frames = np.arange(12)
    walking = np.stack([joints + [0.05 * t, 0.0, 0.0] for t in frames])  # the whole body moves: rooted, still
    assert jitter_mm(frames, walking) == pytest.approx(0.0, abs=1e-9)
    # The left wrist alternates +-2 mm: second difference 8 mm on that joint, 8/17 mm per joint on average.
    shaking = walking.copy()
    shaking[:, H36M17.index("left_wrist"), 1] += np.where(frames % 2, 0.002, -0.002)
    assert jitter_mm(frames, shaking) == pytest.approx(8 / 17)
    assert jitter_mm(np.array([0, 2, 4, 6]), shaking[:4]) is None  # no three consecutive frames


def test_meter_summarises_per_track():
    meter = QualityMeter()
    joints = standing_h36m()
    keypoints = np.column_stack(
        [CAMERA.fx * joints[:, 0] / joints[:, 2] + CAMERA.cx, CAMERA.fy * joints[:, 1] / joints[:, 2] + CAMERA.cy]
    )
    keypoints = np.column_stack([keypoints + 4.0, np.ones(17)])
    coco19 = np.vstack([joints, joints[:2]])
    for frame in range(5):
        for track in (1, 2):
            meter.add(frame, track, coco19, joints, keypoints, np.array([0, 0, 10, 100.0]), CAMERA)
    summary = meter.summary()
    assert summary["tracks"] == 2 and summary["estimates"] == 10
    assert summary["reprojection_error_over_box_height"] == pytest.approx(np.hypot(4, 4) / 100)
    assert summary["bone_length_cv"] == pytest.approx(0.0, abs=1e-9)
    assert summary["jitter_mm_per_frame2"] == pytest.approx(0.0, abs=1e-9)


def test_body_recall_counts_detected_people_and_why_some_have_no_body():
    recall = BodyRecall()
    assert recall.share is None and "none detected" in recall.describe()
    recall.add(3, [WINDOW_FILLING, NOT_SEEN])  # the person not seen in the frame was not detected: not counted
    recall.add(1, [GAP_IN_TRACK, WINDOW_FILLING, NOT_SEEN, NOT_SEEN])
    assert (recall.estimated, recall.detected) == (4, 7) and recall.share == pytest.approx(4 / 7)
    assert recall.describe() == (
        "people with a body: 4 of 7 detected in their frame (57%); without one: gap in track 1, window filling 2"
    )
