"""A track's own body: one set of bone lengths per person, estimated over the track's life from its own
estimates, with every frame's joints and mesh carried onto it. The pose stays the network's: each bone keeps the
direction PMCE gave it and takes the length the track has settled on.

- `TrackBody` holds the estimate. It starts from the population prior (the body model's rest-pose bones) and
  takes, per bone, the weighted median of the prior and the track's last `HISTORY` observations, each weighted by
  the detector's confidence in the bone's two end keypoints; a person's left and right limbs share one length, so
  each side's observations count for both. The prior weighs `PRIOR_WEIGHT` of a confident observation: it is the
  body until a bone is first seen and stays the length of a bone never seen (on the stand-in body the network's
  arms come out about 40% shorter than the rest pose's: a heavier prior would drag every new person towards it).
  A median ignores the odd wrong frame (a limb mistaken for another) that a mean would follow. The body is
  converged when the median's standard error is at most `CONVERGED_ERROR` of every bone's length, from at least
  `CONVERGED_OBSERVATIONS` confident observations of each: about a second of frames with PMCE's usual 5-10%
  frame-to-frame spread. A body that has converged stays so (the estimate still follows). The body lives as long
  as the track's buffer: a person evicted (unseen for evict_after_s) starts again from the prior.
- `BodyCarrier` moves the outputs onto the estimate. The Human3.6M-17 skeleton is rebuilt from the pelvis
  outwards with the track's lengths; each joint's move spreads to the mesh through the body's skinning weights
  (a vertex on the forearm moves with the elbow and the wrist in proportion to where it lies between them), and
  to the network's COCO-19 joints through their namesakes.
"""

from collections import deque
from dataclasses import dataclass

import numpy as np

from pmce_ros.body.joint_sets import COCO19, H36M17, SMPL24

PRIOR_WEIGHT = 0.05
HISTORY = 256
CONVERGED_ERROR = 0.03
CONVERGED_OBSERVATIONS = 5  # fewer cannot tell a spread: a still image seen twice has none
MIN_CONFIDENCE = 0.3  # a bone whose end keypoints are less sure than this is not observed
BONES = H36M17.edges  # (parent, child); parents come before children in H36M17's order
BONE_CHILDREN = np.array([child for _, child in BONES])
BONE_PARENTS = np.array([parent for parent, _ in BONES])


def _other_side(name: str) -> str:
    for side, other in (("left", "right"), ("right", "left")):
        if name.startswith(side):
            return other + name[len(side) :]
    return name


_BONE_ENDS = [H36M17.names[child] for child in BONE_CHILDREN]  # a bone is named by its end joint
MIRRORED_BONES = np.array([_BONE_ENDS.index(_other_side(name)) for name in _BONE_ENDS])
PAIRED_BONES = MIRRORED_BONES != np.arange(len(BONES))  # limbs; the spine and head bones have no counterpart

# The Human3.6M bone each SMPL joint's skinned region lies along: (start, end) joint names; a region beyond a
# chain's last joint (foot, hand) is carried with that joint.
_SMPL_REGION_BONES = {
    "pelvis": ("pelvis", "torso"),
    "spine1": ("pelvis", "torso"),
    "spine2": ("torso", "neck"),
    "spine3": ("torso", "neck"),
    "neck": ("neck", "nose"),
    "head": ("nose", "head"),
    **{f"{side}_collar": ("neck", f"{side}_shoulder") for side in ("left", "right")},
    **{
        f"{side}_{region}": (f"{side}_{start}", f"{side}_{end}")
        for side in ("left", "right")
        for region, start, end in (
            ("hip", "hip", "knee"),
            ("knee", "knee", "ankle"),
            ("ankle", "ankle", "ankle"),
            ("foot", "ankle", "ankle"),
            ("shoulder", "shoulder", "elbow"),
            ("elbow", "elbow", "wrist"),
            ("wrist", "wrist", "wrist"),
            ("hand", "wrist", "wrist"),
        )
    },
}
# COCO joints Human3.6M does not name (eyes, ears) move with its nose.
_COCO_FACE_ANCHOR = "nose"


def bone_lengths(joints_h36m: np.ndarray) -> np.ndarray:
    """(..., 17, 3) -> (..., 16) lengths of H36M17's bones, in `BONES` order."""
    return np.linalg.norm(joints_h36m[..., BONE_CHILDREN, :] - joints_h36m[..., BONE_PARENTS, :], axis=-1)


def bone_confidence(joint_confidence: np.ndarray) -> np.ndarray:
    """(..., 17) per-joint confidence (Human3.6M-17) -> (..., 16) per bone: the weaker of its two ends, 0 below
    MIN_CONFIDENCE."""
    weakest = np.minimum(joint_confidence[..., BONE_PARENTS], joint_confidence[..., BONE_CHILDREN])
    return np.where(weakest >= MIN_CONFIDENCE, weakest, 0.0)


def retarget(joints_h36m: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(N, 17, 3) joints, (N, 16) bone lengths -> the joints with each bone's direction kept and its length
    replaced, the pelvis where it was."""
    rebuilt = joints_h36m.copy()
    for bone, (parent, child) in enumerate(BONES):
        direction = joints_h36m[:, child] - joints_h36m[:, parent]
        norm = np.linalg.norm(direction, axis=-1, keepdims=True)
        rebuilt[:, child] = rebuilt[:, parent] + direction / np.maximum(norm, 1e-9) * lengths[:, bone, None]
    return rebuilt


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per column of (n, B) values with (n, B) weights; a column whose weights are all 0 gets NaN."""
    order = np.argsort(values, axis=0)
    values, weights = np.take_along_axis(values, order, 0), np.take_along_axis(weights, order, 0)
    cumulative = np.cumsum(weights, axis=0)
    half = cumulative[-1] / 2
    index = np.minimum((cumulative < half).sum(axis=0), len(values) - 1)
    median = values[index, np.arange(values.shape[1])]
    return np.where(cumulative[-1] > 0, median, np.nan)


class TrackBody:
    """One person's bone lengths, estimated online from the track's own estimates."""

    def __init__(self, prior: np.ndarray):
        self.prior = np.asarray(prior, np.float64)
        self.observed: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=HISTORY)
        self.lengths = self.prior.copy()
        self.converged = False

    def observe(self, lengths: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """One frame's raw bone lengths (16,) with their confidences (16,); returns the updated estimate."""
        self.observed.append((np.asarray(lengths, np.float64), np.asarray(weights, np.float64)))
        seen_lengths = np.stack([lengths for lengths, _ in self.observed])
        seen_weights = np.stack([weights for _, weights in self.observed])
        values = np.concatenate([self.prior[None], seen_lengths, seen_lengths[:, MIRRORED_BONES]])
        mirrored_weights = seen_weights[:, MIRRORED_BONES] * PAIRED_BONES
        weights = np.concatenate([np.full((1, len(self.prior)), PRIOR_WEIGHT), seen_weights, mirrored_weights])
        self.lengths = _weighted_median(values, weights)
        seen = weights[1:]
        spread = _weighted_median(np.abs(values[1:] / self.lengths - 1), seen)
        effective = seen.sum(0) ** 2 / np.maximum((seen**2).sum(0), 1e-12)
        # 1.4826 turns a median absolute deviation into a standard deviation, 1.2533 is a median's efficiency loss
        error = 1.4826 * 1.2533 * spread / np.sqrt(effective)
        observations = (seen_weights > 0).sum(0)
        settled = np.all(np.nan_to_num(error, nan=np.inf) <= CONVERGED_ERROR) and np.all(
            observations >= CONVERGED_OBSERVATIONS
        )
        self.converged = self.converged or bool(settled)
        return self.lengths

    @property
    def observations(self) -> int:
        return len(self.observed)


@dataclass(frozen=True)
class BodyCarrier:
    """How joint moves spread to the mesh and to the COCO-19 joints; built once per body."""

    prior_lengths: np.ndarray  # (16,) the body's rest-pose bones: where a new person starts
    vertex_moves: np.ndarray  # (V, 17) each vertex's move as a blend of the Human3.6M joints' moves
    coco_moves: np.ndarray  # (19, 17)

    @classmethod
    def for_body(cls, v_template: np.ndarray, skinning: np.ndarray, h36m_regressor: np.ndarray) -> "BodyCarrier":
        rest = h36m_regressor @ v_template
        vertex_moves = np.zeros((len(v_template), len(H36M17)))
        for smpl_joint, name in enumerate(SMPL24.names):
            start, end = (H36M17.index(n) for n in _SMPL_REGION_BONES[name])
            along = _position_along(v_template, rest[start], rest[end])
            weight = skinning[:, smpl_joint]
            vertex_moves[:, start] += weight * (1 - along)
            vertex_moves[:, end] += weight * along
        vertex_moves /= np.maximum(vertex_moves.sum(1, keepdims=True), 1e-12)
        coco_moves = np.zeros((len(COCO19), len(H36M17)))
        for joint, name in enumerate(COCO19.names):
            coco_moves[joint, H36M17.index(name if name in H36M17.names else _COCO_FACE_ANCHOR)] = 1.0
        return cls(bone_lengths(rest), vertex_moves.astype(np.float32), coco_moves.astype(np.float32))

    def carry(self, mesh: np.ndarray, joints_coco19: np.ndarray, joints_h36m: np.ndarray, lengths: np.ndarray):
        """(N, V, 3) mesh, (N, 19, 3) and (N, 17, 3) joints, (N, 16) target lengths -> the three on those bones."""
        rebuilt = retarget(joints_h36m, lengths)
        moves = rebuilt - joints_h36m
        moves = moves.astype(np.float32)
        return mesh + self.vertex_moves @ moves, joints_coco19 + self.coco_moves @ moves, rebuilt


def _position_along(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Where each point projects onto the segment start -> end, 0 at start and 1 at end; 0 for a point segment."""
    axis = end - start
    squared = float(axis @ axis)
    if squared < 1e-12:
        return np.zeros(len(points))
    return np.clip((points - start) @ axis / squared, 0.0, 1.0)
