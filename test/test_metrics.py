"""Evaluation metrics against hand-computed cases."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from pmce_ros.training.metrics import (
    accel_error,
    h36m_eval_joints,
    mpjpe,
    pa_mpjpe,
    pve,
    similarity_align,
    smpl_pelvis_rooted,
)

RNG = np.random.default_rng(0)


def test_mpjpe_by_hand():
    gt = np.zeros((2, 2, 3))
    pred = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]], [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    np.testing.assert_allclose(mpjpe(pred, gt), [2.5, 1.5])
    np.testing.assert_allclose(pve(pred, gt), [2.5, 1.5])


def test_a_rotated_scaled_shifted_copy_has_zero_pa_mpjpe():
    gt = RNG.normal(size=(5, 14, 3)) * 100
    rotations = Rotation.random(5, random_state=1).as_matrix()
    pred = 0.7 * np.einsum("nij,nkj->nki", rotations, gt) + RNG.normal(size=(5, 1, 3)) * 50
    assert np.all(mpjpe(pred, gt) > 10)
    np.testing.assert_allclose(pa_mpjpe(pred, gt), 0, atol=1e-9)


def test_procrustes_does_not_reflect():
    gt = RNG.normal(size=(1, 14, 3))
    mirrored = gt * [-1, 1, 1]
    aligned = similarity_align(mirrored, gt)
    assert pa_mpjpe(mirrored, gt)[0] > 0.1
    assert np.linalg.det(np.cov(aligned[0].T)) > 0


def test_pa_mpjpe_never_exceeds_mpjpe():
    gt = RNG.normal(size=(50, 14, 3))
    pred = gt + RNG.normal(size=(50, 14, 3)) * 0.3
    assert np.all(pa_mpjpe(pred, gt) <= mpjpe(pred, gt) + 1e-12)


def test_constant_velocity_has_zero_acceleration_error():
    t = np.arange(10)[:, None, None]
    gt = RNG.normal(size=(1, 17, 3)) + t * RNG.normal(size=(1, 17, 3))
    pred = gt + 5.0 + 2.0 * t  # another constant velocity
    np.testing.assert_allclose(accel_error(pred, gt), 0, atol=1e-9)


def test_acceleration_error_by_hand_and_padding():
    gt = np.zeros((4, 1, 3))
    pred = np.zeros((4, 1, 3))
    pred[1, 0, 0] = 1.0  # second differences: t=1 -> -2, t=2 -> 1
    np.testing.assert_allclose(accel_error(pred, gt), [0, 2, 1, 0])
    assert accel_error(pred[:2], gt[:2]).tolist() == [0, 0]


def test_protocol_helpers():
    joints = RNG.normal(size=(3, 17, 3))
    evaluated = h36m_eval_joints(joints)
    assert evaluated.shape == (3, 14, 3)
    np.testing.assert_allclose(evaluated[:, 0], joints[:, 1] - joints[:, 0])
    mesh = RNG.normal(size=(2, 10, 3))
    regressor = np.zeros((24, 10))
    regressor[0, [2, 3]] = 0.5
    rooted = smpl_pelvis_rooted(mesh, regressor)
    np.testing.assert_allclose(rooted[:, [2, 3]].mean(axis=1), 0, atol=1e-12)
    with pytest.raises(ValueError):
        mpjpe(joints, joints[:, :14])
