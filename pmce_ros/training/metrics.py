"""Evaluation metrics as the PMCE release computes them. Every function returns per-frame errors, shape (N,),
in the unit of its input (millimetres in the authors' tables), and roots nothing itself: rooting and joint
subsets are separate helpers, applied by the caller exactly as the protocol says.

Protocols (pmce-reference): MPJPE / PA-MPJPE on Human3.6M-17 joints regressed from the mesh, rooted at joint 0,
over the 14 joints of H36M_EVAL14 (MPI-INF-3DHP: all 17); PVE on the mesh rooted at the SMPL pelvis (joint 0 of
the 24-joint regressor); ACCEL per sequence, zero-padded at both ends, dataset figure = mean over all frames.
"""

import numpy as np

from pmce_ros.body.joint_sets import H36M_EVAL14


def _check(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"expected two (N, K, 3) arrays of one shape, got {pred.shape} and {gt.shape}")


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean per-joint position error: mean over joints of the Euclidean distance, per frame."""
    _check(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1).mean(axis=-1)


def pve(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-vertex error (MPVPE): mean over vertices of the Euclidean distance, per frame."""
    return mpjpe(pred, gt)


def similarity_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """pred (N, K, 3) moved by the scale, rotation and translation that best fit gt, per frame (Umeyama / the
    SPIN-style Procrustes the authors use, reflections excluded)."""
    _check(pred, gt)
    mu_pred, mu_gt = pred.mean(axis=1, keepdims=True), gt.mean(axis=1, keepdims=True)
    x, y = pred - mu_pred, gt - mu_gt
    variance = (x**2).sum(axis=(1, 2))
    covariance = np.einsum("nki,nkj->nij", x, y)  # (N, 3, 3) = X^T Y
    u, _, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    correction = np.tile(np.eye(3), (len(pred), 1, 1))
    correction[:, 2, 2] = sign
    rotation = np.einsum("nij,njk,nkl->nil", u, correction, vt)  # row vectors: y ~ s x R
    scale = (rotation * covariance).sum(axis=(1, 2)) / variance  # trace(R^T X^T Y) / |X|^2
    return scale[:, None, None] * np.einsum("nki,nij->nkj", x, rotation) + mu_gt


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """MPJPE after per-frame similarity Procrustes alignment of pred onto gt."""
    return mpjpe(similarity_align(pred, gt), gt)


def accel_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Acceleration error of ONE sequence (N, J, 3): per frame t, the mean over joints of
    |(p[t-1] - 2 p[t] + p[t+1]) - (g[t-1] - 2 g[t] + g[t+1])|; frames 0 and N-1 are 0."""
    _check(pred, gt)
    errors = np.zeros(len(pred))
    if len(pred) >= 3:

        def second_difference(x):
            return x[:-2] - 2 * x[1:-1] + x[2:]

        errors[1:-1] = np.linalg.norm(second_difference(pred) - second_difference(gt), axis=-1).mean(axis=-1)
    return errors


def root_relative(points: np.ndarray, root: np.ndarray) -> np.ndarray:
    """points (N, K, 3) minus a root per frame, (N, 3) or (N, 1, 3)."""
    return points - np.asarray(root).reshape(len(points), 1, 3)


def h36m_eval_joints(joints_h36m17: np.ndarray) -> np.ndarray:
    """The authors' Human3.6M / 3DPW protocol: rooted at the pelvis (joint 0), then the 14 evaluated joints."""
    return root_relative(joints_h36m17, joints_h36m17[:, 0])[:, list(H36M_EVAL14)]


def smpl_pelvis_rooted(mesh: np.ndarray, smpl_regressor: np.ndarray) -> np.ndarray:
    """The PVE protocol: the mesh minus its SMPL pelvis (row 0 of the 24-joint regressor)."""
    return root_relative(mesh, np.einsum("v,nvc->nc", smpl_regressor[0], mesh))
