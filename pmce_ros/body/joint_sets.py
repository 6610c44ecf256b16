"""Named joint sets with their drawing edges, and conversions between them."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class JointSet:
    name: str
    names: tuple[str, ...]
    parents: tuple[int, ...]  # parent index per joint, -1 for the root(s); edges for drawing are (parent, child)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def edges(self) -> list[tuple[int, int]]:
        return [(parent, child) for child, parent in enumerate(self.parents) if parent >= 0]

    def index(self, name: str) -> int:
        return self.names.index(name)


COCO17 = JointSet(
    "coco17",
    (
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
    # Drawn as a tree hanging from the nose; COCO has no root, so the shoulders and hips hang from nose / shoulders.
    (-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
)

# COCO-17 plus pelvis (mean of the hips) and neck (mean of the shoulders): the demo / 3DPW input of PMCE.
COCO19 = JointSet(
    "coco19",
    COCO17.names + ("pelvis", "neck"),
    (18, 0, 0, 1, 2, 18, 18, 5, 6, 7, 8, 17, 17, 11, 12, 13, 14, -1, 17),
)

H36M17 = JointSet(
    "h36m17",
    (
        "pelvis",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "torso",
        "neck",
        "nose",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
    ),
    (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
)

SMPL24 = JointSet(
    "smpl24",
    (
        "pelvis",
        "left_hip",
        "right_hip",
        "spine1",
        "left_knee",
        "right_knee",
        "spine2",
        "left_ankle",
        "right_ankle",
        "spine3",
        "left_foot",
        "right_foot",
        "neck",
        "left_collar",
        "right_collar",
        "head",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hand",
        "right_hand",
    ),
    (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21),
)

# Mesh-evaluation subset of Human3.6M-17 used by the authors (root and thorax/head-top dropped).
H36M_EVAL14 = (1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16)

JOINT_SETS = {s.name: s for s in (COCO17, COCO19, H36M17, SMPL24)}


def coco17_to_coco19(keypoints: np.ndarray) -> np.ndarray:
    """(..., 17, D) -> (..., 19, D): appends pelvis = mean of the hips and neck = mean of the shoulders.

    Every channel is averaged, a confidence channel included.
    """
    keypoints = np.asarray(keypoints)
    if keypoints.shape[-2] != 17:
        raise ValueError(f"expected 17 COCO keypoints on axis -2, got shape {keypoints.shape}")
    hips = keypoints[..., [11, 12], :].mean(axis=-2, keepdims=True)
    shoulders = keypoints[..., [5, 6], :].mean(axis=-2, keepdims=True)
    return np.concatenate([keypoints, hips, shoulders], axis=-2)


def shared_joints(source: JointSet, target: JointSet) -> tuple[list[int], list[int]]:
    """Indices (in source, in target) of the joints both sets name alike."""
    pairs = [(i, target.names.index(n)) for i, n in enumerate(source.names) if n in target.names]
    return [i for i, _ in pairs], [j for _, j in pairs]


def regress_joints(regressor: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """(J, V) regressor applied to (..., V, 3) vertices -> (..., J, 3)."""
    return np.einsum("jv,...vc->...jc", regressor, vertices)


_COCO_SOURCE, _H36M_TARGET = shared_joints(COCO19, H36M17)


def h36m_confidence(keypoints17: np.ndarray) -> np.ndarray:
    """Per Human3.6M joint: the confidence of the same-named COCO-19 keypoint; the mean of all keypoints for
    joints COCO does not name (torso, head)."""
    coco19 = coco17_to_coco19(keypoints17)[:, 2]
    confidence = np.full(len(H36M17), coco19.mean(), dtype=np.float32)
    confidence[_H36M_TARGET] = coco19[_COCO_SOURCE]
    return confidence
