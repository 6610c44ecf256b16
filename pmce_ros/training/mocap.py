"""Real human motion for synthetic training data, retargeted onto any SMPL-format skeleton.

Two sources, each read by its own module into the same `MocapClip` (world rotations in SMPL's axes: x left,
y up, z forward): pybullet's DeepMimic clips (`training/deepmimic.py`) and Acclaim ASF/AMC captures such as
CMU's (`training/acclaim.py`).

Retargeting copies bone directions, not angles: every target bone is turned, in its rest pose, onto the
direction the matching source bone has in the source's rest pose, then carried by the source's world rotation.
So an A-pose stand-in and a T-pose SMPL both follow the clip, whatever the source's own rest pose. Twist about a
bone is the source's.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from pmce_ros.body.joint_sets import SMPL24


@dataclass(frozen=True)
class SourceSkeleton:
    """A capture's skeleton in SMPL's axes.

    `rest_positions` place every source point (joints and bone ends) in the rest pose (any unit: only
    directions are used); `parents` says which point each hangs from (parents listed first), and `carriers` maps
    every SMPL-24 joint to (the world rotation that carries it, the source bone (from point, to point) its own
    bone follows, or None for joints whose bone nothing in the source describes); the carrier must be the
    rotation that turns that bone.
    """

    parents: dict[str, str | None]
    rest_positions: dict[str, np.ndarray]
    carriers: dict[str, tuple[str, tuple[str, str] | None]]
    moved_by: dict[str, str]  # point -> the world rotation that turns its offset from its parent
    # SMPL-24 joint -> the source point at it, where the source marks one: the capture's own joints, which
    # evaluation compares with (bench/real_capture.py)
    joint_points: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MocapClip:
    name: str
    fps: float
    root_position: np.ndarray  # (N, 3) metres, SMPL axes
    world_rotations: dict[str, Rotation]  # rotation name -> N world rotations, SMPL axes
    skeleton: SourceSkeleton

    def __len__(self) -> int:
        return len(self.root_position)


def resampled(
    times: np.ndarray, rotations: dict[str, Rotation], positions: np.ndarray, fps: float
) -> tuple[dict[str, Rotation], np.ndarray]:
    """Rotations (by slerp) and positions (linearly) at `fps` from frames at `times` (seconds)."""
    samples = np.arange(0.0, times[-1] + 1e-9, 1.0 / fps)
    moved = {name: Slerp(times, rotation)(samples) for name, rotation in rotations.items()}
    return moved, np.stack([np.interp(samples, times, positions[:, axis]) for axis in range(3)], axis=-1)


def source_joint_positions(clip: MocapClip) -> dict[str, np.ndarray]:
    """Forward kinematics of the source skeleton, (N, 3) per point, SMPL axes, metres, the pelvis (the point the
    SMPL pelvis is carried by) at the origin: add `root_position` for the world."""
    skeleton = clip.skeleton
    positions = {}
    for point, parent in skeleton.parents.items():  # parents come before their children
        if parent is None:
            positions[point] = np.zeros((len(clip), 3))
            continue
        offset = skeleton.rest_positions[point] - skeleton.rest_positions[parent]
        positions[point] = positions[parent] + clip.world_rotations[skeleton.moved_by[point]].apply(offset)
    pelvis = positions[skeleton.carriers["pelvis"][0]]
    return {point: position - pelvis for point, position in positions.items()}


def _alignment(target_direction: np.ndarray, source_direction: np.ndarray) -> Rotation:
    """The smallest rotation taking one direction onto another."""
    a = target_direction / np.linalg.norm(target_direction)
    b = source_direction / np.linalg.norm(source_direction)
    axis = np.cross(a, b)
    sine, cosine = np.linalg.norm(axis), float(np.dot(a, b))
    if sine < 1e-9:
        if cosine > 0:
            return Rotation.identity()
        perpendicular = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        return Rotation.from_rotvec(np.pi * perpendicular / np.linalg.norm(perpendicular))
    return Rotation.from_rotvec(axis / sine * np.arctan2(sine, cosine))


def retarget(clip: MocapClip, rest_joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SMPL pose parameters for a skeleton whose rest joints (24, 3) are given.

    Returns axis-angle rotations (N, 24, 3) (joint 0 = global orientation) and root translations (N, 3), metres,
    SMPL axes: feed them to an SMPL layer as global_orient, body_pose and transl.
    """
    if rest_joints.shape != (len(SMPL24), 3):
        raise ValueError(f"rest_joints must be (24, 3), got {rest_joints.shape}")
    rest = clip.skeleton.rest_positions
    children = {}
    for joint, parent in enumerate(SMPL24.parents):
        if joint > 0:
            children.setdefault(parent, joint)

    world = []
    for joint, name in enumerate(SMPL24.names):
        carrier, bone = clip.skeleton.carriers[name]
        rotation = clip.world_rotations[carrier]
        if bone is not None and joint in children:
            target_bone = rest_joints[children[joint]] - rest_joints[joint]
            rotation = rotation * _alignment(target_bone, rest[bone[1]] - rest[bone[0]])
        world.append(rotation)

    local = [world[0]] + [
        world[parent].inv() * world[joint] for joint, parent in enumerate(SMPL24.parents) if joint > 0
    ]
    axis_angle = np.stack([rotation.as_rotvec() for rotation in local], axis=1)
    return axis_angle.astype(np.float32), clip.root_position.astype(np.float32)
