"""A track's own body: one body of the body model's shape space per person, estimated over the track's life from
its own estimates, with every frame's joints and mesh carried onto its bones. The pose stays the network's: each
bone keeps the direction PMCE gave it and takes the length of the track's body.

- `ShapeSpace` gives the Human3.6M bone lengths of any shape (betas) of the body model, and how each beta moves
  them. One beta mostly scales the whole body (`size_component`); the others change proportions.
- `TrackBody` holds the estimate. Per bone it keeps the weighted median of the track's last `HISTORY` observed
  lengths, each weighted by the detector's confidence in the bone's two end keypoints; a person's left and right
  limbs share one length, so each side's observations count for both. A median ignores the odd wrong frame (a
  limb mistaken for another) that a mean would follow. From those medians it fits the proportion betas (a unit
  Gaussian prior, each observed bone's log-length with its own uncertainty plus `NETWORK_ERROR`, an overall
  scale left free), clamped to `MAX_BETA`: so the body is always one the model can express, with human
  proportions, whatever the network's bones (its arms come out a third short on real capture). Its size is the
  population's mean (the size beta at 0): 2D keypoints cannot tell a small near person from a tall far one, and
  the network's absolute bone lengths carry no size. A bone never observed takes what the fitted proportions
  give. The body is converged when every median's standard error is at most `CONVERGED_ERROR` of its length, from
  at least `CONVERGED_OBSERVATIONS` confident observations of each: about a second of frames with PMCE's usual
  5-10% frame-to-frame spread. A body that has converged stays so (the estimate still follows). The body lives as
  long as the track's buffer: a person evicted (unseen for evict_after_s) starts again from the mean shape.
- `BodyCarrier` moves the outputs onto the estimate. The Human3.6M-17 skeleton is rebuilt from the pelvis
  outwards with the track's lengths; each joint's move spreads to the mesh through the body's skinning weights
  (a vertex on the forearm moves with the elbow and the wrist in proportion to where it lies between them), and
  to the network's COCO-19 joints through their namesakes.
"""

from collections import deque
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from pmce_ros.body.joint_sets import COCO19, H36M17, SMPL24

HISTORY = 256
NETWORK_ERROR = 0.08  # a bone's error that more frames of the network do not average away: log-length std
MAX_BETA = 2.5  # the human range of the shape space (unit-variance betas), as training draws them
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


def retarget(joints: np.ndarray, lengths: np.ndarray, bones=BONES) -> np.ndarray:
    """(N, J, 3) joints, (N, len(bones)) bone lengths -> the joints with each bone's direction kept and its length
    replaced, the root where it was. `bones`: (parent, child) indices from the root, parents first; by default
    Human3.6M-17's."""
    rebuilt = joints.copy()
    for bone, (parent, child) in enumerate(bones):
        direction = joints[:, child] - joints[:, parent]
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


@dataclass(frozen=True)
class ShapeSpace:
    """The bone lengths of the body model's shapes: Human3.6M rest joints are linear in the betas."""

    rest_joints: np.ndarray  # (17, 3) the mean shape's
    joint_directions: np.ndarray  # (17, 3, B) how each beta moves them

    @classmethod
    def for_body(cls, v_template: np.ndarray, shapedirs: np.ndarray, h36m_regressor: np.ndarray) -> "ShapeSpace":
        return cls(h36m_regressor @ v_template, np.einsum("jv,vcb->jcb", h36m_regressor, shapedirs))

    def lengths(self, betas: np.ndarray) -> np.ndarray:
        return bone_lengths(self.rest_joints + self.joint_directions @ betas)

    @cached_property
    def mean_lengths(self) -> np.ndarray:
        return bone_lengths(self.rest_joints)

    @cached_property
    def sensitivity(self) -> np.ndarray:
        """(16, B) d log(length) / d beta at the mean shape."""
        step = 1e-3
        base = np.log(self.mean_lengths)
        columns = [np.log(self.lengths(step * np.eye(self.num_betas)[k])) - base for k in range(self.num_betas)]
        return np.stack(columns, axis=1) / step

    @property
    def num_betas(self) -> int:
        return self.joint_directions.shape[-1]

    @cached_property
    def size_component(self) -> int:
        """The beta that moves every bone most: the body's size."""
        return int(np.argmax(np.abs(self.sensitivity.mean(0))))

    def fit_proportions(self, log_lengths: np.ndarray, variances: np.ndarray) -> np.ndarray:
        """Betas whose bones best match (16,) observed log-lengths (NaN: unobserved) up to one overall scale,
        with a unit Gaussian prior; the size beta stays 0; clamped to +-MAX_BETA."""
        observed = np.isfinite(log_lengths)
        betas = np.zeros(self.num_betas)
        if observed.sum() < 2:
            return betas
        free = [k for k in range(self.num_betas) if k != self.size_component]
        # unknowns: the proportion betas, then the log-scale; rows: observations, then the prior on each beta
        design = np.column_stack([self.sensitivity[observed][:, free], np.ones(observed.sum())])
        target = log_lengths[observed] - np.log(self.mean_lengths[observed])
        weight = 1.0 / np.sqrt(variances[observed])
        prior = np.column_stack([np.eye(len(free)), np.zeros(len(free))])
        solution, *_ = np.linalg.lstsq(
            np.vstack([design * weight[:, None], prior]),
            np.concatenate([target * weight, np.zeros(len(free))]),
            rcond=None,
        )
        betas[free] = np.clip(solution[:-1], -MAX_BETA, MAX_BETA)
        return betas


class TrackBody:
    """One person's body, estimated online from the track's own estimates."""

    def __init__(self, shape: ShapeSpace):
        self.shape = shape
        self.observed: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=HISTORY)
        self.betas = np.zeros(shape.num_betas)
        self.lengths = shape.mean_lengths
        self.converged = False

    def observe(self, lengths: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """One frame's raw bone lengths (16,) with their confidences (16,); returns the updated estimate."""
        self.observed.append((np.asarray(lengths, np.float64), np.asarray(weights, np.float64)))
        seen_lengths = np.stack([lengths for lengths, _ in self.observed])
        seen_weights = np.stack([weights for _, weights in self.observed])
        values = np.concatenate([seen_lengths, seen_lengths[:, MIRRORED_BONES]])
        weights = np.concatenate([seen_weights, seen_weights[:, MIRRORED_BONES] * PAIRED_BONES])
        medians = _weighted_median(values, weights)
        spread = _weighted_median(np.abs(values / medians - 1), weights)
        effective = weights.sum(0) ** 2 / np.maximum((weights**2).sum(0), 1e-12)
        # 1.4826 turns a median absolute deviation into a standard deviation, 1.2533 is a median's efficiency loss
        error = 1.4826 * 1.2533 * spread / np.sqrt(effective)
        self.betas = self.shape.fit_proportions(np.log(medians), np.nan_to_num(error, nan=0.0) ** 2 + NETWORK_ERROR**2)
        self.lengths = self.shape.lengths(self.betas)
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

    shape: ShapeSpace  # the bodies a track may have; a new person starts from its mean
    vertex_moves: np.ndarray  # (V, 17) each vertex's move as a blend of the Human3.6M joints' moves
    coco_moves: np.ndarray  # (19, 17)

    @classmethod
    def for_body(cls, model: dict[str, np.ndarray], h36m_regressor: np.ndarray) -> "BodyCarrier":
        """From an SMPL-format body's arrays (v_template, shapedirs, weights) and its Human3.6M regressor."""
        v_template, skinning = model["v_template"], model["weights"]
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
        shape = ShapeSpace.for_body(v_template, model["shapedirs"], h36m_regressor)
        return cls(shape, vertex_moves.astype(np.float32), coco_moves.astype(np.float32))

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
