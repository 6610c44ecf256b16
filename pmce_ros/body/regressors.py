"""Geometry every SMPL-format body is built with: joint regressors from vertices, and an even vertex subset."""

import numpy as np
import scipy.optimize
from scipy.spatial.transform import Rotation


def _regressor_row(vertices: np.ndarray, target: np.ndarray, neighbours: int = 256) -> np.ndarray:
    """Non-negative weights summing to one over nearby vertices whose weighted mean is `target` (as close as the
    vertices' convex hull allows): how SMPL-style regressors behave."""
    nearest = np.argsort(np.linalg.norm(vertices - target, axis=1))[:neighbours]
    system = np.vstack([vertices[nearest].T, 10 * np.ones(neighbours)])
    weights, _ = scipy.optimize.nnls(system, np.append(target, 10.0))
    row = np.zeros(len(vertices))
    row[nearest] = weights / weights.sum()
    return row


def vertex_regressor(vertices: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(J, V): one row per target point (J, 3), each a convex combination of nearby vertices (V, 3)."""
    return np.stack([_regressor_row(vertices, target) for target in targets])


def farthest_points(vertices: np.ndarray, count: int) -> np.ndarray:
    """Sorted indices of `count` vertices spread evenly: each the farthest from those chosen before, starting at
    the top (largest y)."""
    chosen = [int(np.argmax(vertices[:, 1]))]
    distance = np.linalg.norm(vertices - vertices[chosen[0]], axis=1)
    for _ in range(count - 1):
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(vertices - vertices[chosen[-1]], axis=1))
    return np.sort(np.array(chosen))


def joint_transforms(model: dict[str, np.ndarray], rest_joints: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """Forward kinematics of an SMPL-format body: for axis-angle poses (K, J, 3) every joint's rest-to-posed
    transform (K, J, 3, 4), the root at its rest position (as smplx places it without a translation)."""
    parents = model["kintree_table"][0]
    local = Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix().reshape(*poses.shape[:2], 3, 3)
    rotations = np.zeros_like(local)
    positions = np.zeros((*poses.shape[:2], 3))
    for joint in range(poses.shape[1]):
        if joint == 0:
            rotations[:, 0], positions[:, 0] = local[:, 0], rest_joints[0]
            continue
        parent = parents[joint]
        rotations[:, joint] = rotations[:, parent] @ local[:, joint]
        offset = rest_joints[joint] - rest_joints[parent]
        positions[:, joint] = positions[:, parent] + rotations[:, parent] @ offset
    translations = positions - np.einsum("kjab,jb->kja", rotations, rest_joints)
    return np.concatenate([rotations, translations[..., None]], axis=-1)


def posed_samples(model: dict[str, np.ndarray], poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear blend skinning of an SMPL-format body's mean shape: for axis-angle poses (K, J, 3), every joint's
    rest-to-posed transform (K, J, 3, 4) and the posed vertices (K, V, 3)."""
    transforms = joint_transforms(model, model["J_regressor"] @ model["v_template"], poses)
    blended = np.einsum("vj,kjab->kvab", model["weights"], transforms)
    vertices = np.einsum("kvab,vb->kva", blended[..., :3], model["v_template"]) + blended[..., 3]
    return transforms, vertices


def skinned_points(model: dict[str, np.ndarray], regressor: np.ndarray, poses: np.ndarray, betas: np.ndarray):
    """(K, P, 3) what `regressor` (P, V) gives on the body of shape `betas` in axis-angle poses (K, J, 3), without
    skinning every vertex: regression and skinning are both linear, so each point is a sum over joints of the
    joint's transform applied to one rest-pose 4-vector. Bodies without pose correctives only (posedirs zero)."""
    if np.any(model["posedirs"]):
        raise ValueError("skinned_points ignores pose correctives: this body has them")
    vertices = model["v_template"] + model["shapedirs"] @ betas
    homogeneous = np.concatenate([vertices, np.ones((len(vertices), 1))], axis=1)
    moments = np.einsum("pv,vj,vc->pjc", regressor, model["weights"], homogeneous)  # (P, J, 4)
    transforms = joint_transforms(model, model["J_regressor"] @ vertices, poses)
    return np.einsum("kjab,pjb->kpa", transforms, moments)


def pose_consistent_regressor(
    model: dict[str, np.ndarray], rest_targets: np.ndarray, anchors: list[int], poses: np.ndarray, neighbours: int = 256
) -> np.ndarray:
    """(J, V) rows like `vertex_regressor`'s, each fitted over several poses at once: in every pose (K, J, 3) the
    row's weighted vertices must land where its point (J, 3 in the rest pose), carried rigidly by its anchor joint,
    lands. A row fitted in the rest pose alone may mix vertices that part when the limb bends (the front of a
    thigh and the back of a calf), so that its joint is left behind in a squat."""
    transforms, posed = posed_samples(model, poses)
    vertices = model["v_template"]
    rows = []
    for target, anchor in zip(rest_targets, anchors):
        nearest = np.argsort(np.linalg.norm(vertices - target, axis=1))[:neighbours]
        carried = np.einsum("kab,b->ka", transforms[:, anchor, :, :3], target) + transforms[:, anchor, :, 3]
        # rows: x, y and z of the point in each pose, then the weights' sum (scaled to weigh like a pose)
        system = np.vstack([posed[:, nearest].transpose(0, 2, 1).reshape(-1, neighbours), 10 * np.ones(neighbours)])
        weights, _ = scipy.optimize.nnls(system, np.append(carried.reshape(-1), 10.0))
        row = np.zeros(len(vertices))
        row[nearest] = weights / weights.sum()
        rows.append(row)
    return np.stack(rows)
