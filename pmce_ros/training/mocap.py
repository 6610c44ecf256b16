"""Real human motion for synthetic training data: the DeepMimic mocap clips shipped in the pybullet wheel,
retargeted onto any SMPL-format skeleton.

A clip file is JSON with `Frames`: rows of 44 numbers, [duration, root position (3), root rotation (4),
chest (4), neck (4), right hip (4), right knee (1), right ankle (4), right shoulder (4), right elbow (1),
left hip (4), left knee (1), left ankle (4), left shoulder (4), left elbow (1)]. Rotations are local quaternions
(w, x, y, z); knees and elbows are angles about their joint's z axis. The DeepMimic humanoid stands with its arms
hanging, y up, facing +x with its right side at +z; SMPL faces +z with its left side at +x.

Retargeting copies bone directions, not angles: every target bone is turned, in its rest pose, onto the
direction the matching source bone has in the source's rest pose, then carried by the source's global rotation.
So an A-pose stand-in and a T-pose SMPL both follow the clip. Twist about a bone is the source's.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from pmce_ros.body.joint_sets import SMPL24

FRAME_LENGTH = 44
# Source joints: name -> (parent, offset of the joint in the parent's frame, humanoid.urdf units).
SOURCE_JOINTS = {
    "root": (None, (0.0, 0.0, 0.0)),
    "chest": ("root", (0.0, 0.944604, 0.0)),
    "neck": ("chest", (0.0, 0.895576, 0.0)),
    "right_hip": ("root", (0.0, 0.0, 0.339548)),
    "right_knee": ("right_hip", (0.0, -1.686184, 0.0)),
    "right_ankle": ("right_knee", (0.0, -1.639480, 0.0)),
    "right_shoulder": ("chest", (-0.0962, 0.974, 0.73244)),
    "right_elbow": ("right_shoulder", (0.0, -1.099152, 0.0)),
    "right_wrist": ("right_elbow", (0.0, -1.035788, 0.0)),
    "left_hip": ("root", (0.0, 0.0, -0.339548)),
    "left_knee": ("left_hip", (0.0, -1.686184, 0.0)),
    "left_ankle": ("left_knee", (0.0, -1.639480, 0.0)),
    "left_shoulder": ("chest", (-0.0962, 0.974, -0.73244)),
    "left_elbow": ("left_shoulder", (0.0, -1.099152, 0.0)),
    "left_wrist": ("left_elbow", (0.0, -1.035788, 0.0)),
    # Not in the frame rows: the toe end of the foot and the top of the head, for bone directions only.
    "right_toe": ("right_ankle", (0.18, -0.09, 0.0)),
    "left_toe": ("left_ankle", (0.18, -0.09, 0.0)),
    "head_top": ("neck", (0.0, 0.7, 0.0)),
}
# Order of the rotations in a frame row, and whether each is a hinge angle (1 number) or a quaternion (4).
ROW_LAYOUT = (
    ("root", 4),
    ("chest", 4),
    ("neck", 4),
    ("right_hip", 4),
    ("right_knee", 1),
    ("right_ankle", 4),
    ("right_shoulder", 4),
    ("right_elbow", 1),
    ("left_hip", 4),
    ("left_knee", 1),
    ("left_ankle", 4),
    ("left_shoulder", 4),
    ("left_elbow", 1),
)
# DeepMimic (x forward, y up, z right) -> SMPL (x left, y up, z forward).
TO_SMPL_AXES = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])

# SMPL joint -> (source joint whose rotation carries it, the source bone (from, to) that its own bone follows).
# Spine joints share the chest's rotation in thirds (see _spine_share); leaves follow their parent.
RETARGET = {
    "pelvis": ("root", None),
    "left_hip": ("left_hip", ("left_hip", "left_knee")),
    "right_hip": ("right_hip", ("right_hip", "right_knee")),
    "spine1": ("root", ("root", "chest")),
    "left_knee": ("left_knee", ("left_knee", "left_ankle")),
    "right_knee": ("right_knee", ("right_knee", "right_ankle")),
    "spine2": ("root", ("root", "chest")),
    "left_ankle": ("left_ankle", ("left_ankle", "left_toe")),
    "right_ankle": ("right_ankle", ("right_ankle", "right_toe")),
    "spine3": ("chest", ("chest", "neck")),
    "left_foot": ("left_ankle", None),
    "right_foot": ("right_ankle", None),
    "neck": ("neck", ("neck", "head_top")),
    "left_collar": ("chest", ("chest", "left_shoulder")),
    "right_collar": ("chest", ("chest", "right_shoulder")),
    "head": ("neck", None),
    "left_shoulder": ("left_shoulder", ("left_shoulder", "left_elbow")),
    "right_shoulder": ("right_shoulder", ("right_shoulder", "right_elbow")),
    "left_elbow": ("left_elbow", ("left_elbow", "left_wrist")),
    "right_elbow": ("right_elbow", ("right_elbow", "right_wrist")),
    "left_wrist": ("left_elbow", ("left_elbow", "left_wrist")),
    "right_wrist": ("right_elbow", ("right_elbow", "right_wrist")),
    "left_hand": ("left_elbow", None),
    "right_hand": ("right_elbow", None),
}
# Fraction of the chest's local rotation each spine joint has taken (spine3 carries all of it).
_SPINE_SHARE = {"spine1": 1 / 3, "spine2": 2 / 3}


@dataclass(frozen=True)
class MocapClip:
    name: str
    fps: float
    root_position: np.ndarray  # (N, 3) metres, source axes
    rotations: dict[str, Rotation]  # source joint -> N local rotations

    def __len__(self) -> int:
        return len(self.root_position)


def clip_files() -> list[Path]:
    """The humanoid clips in the installed pybullet_data, sorted by name."""
    install = "install it with `pip install pybullet==3.2.7` (scripts/setup does), whose pybullet_data holds them"
    try:
        import pybullet_data
    except ImportError:
        raise FileNotFoundError(f"the training motion comes from pybullet's DeepMimic clips: {install}") from None
    files = sorted(Path(pybullet_data.getDataPath(), "data", "motions").glob("humanoid3d_*.txt"))
    if not files:
        raise FileNotFoundError(f"pybullet_data ships no humanoid3d_*.txt clips: {install}")
    return files


def clip_name(path: Path) -> str:
    return path.stem.removeprefix("humanoid3d_")


def _rotations_from_rows(rows: np.ndarray) -> dict[str, Rotation]:
    rotations, column = {}, 4
    for joint, width in ROW_LAYOUT:
        values = rows[:, column : column + width]
        if width == 4:
            rotations[joint] = Rotation.from_quat(values[:, [1, 2, 3, 0]])  # (w,x,y,z) -> scipy's (x,y,z,w)
        else:
            rotations[joint] = Rotation.from_rotvec(values * np.array([0.0, 0.0, 1.0]))
        column += width
    return rotations


def load_clip(path: str | Path, fps: float = 30.0) -> MocapClip:
    """A clip resampled to `fps` (rotations by slerp, root position linearly)."""
    path = Path(path)
    rows = np.asarray(json.loads(path.read_text())["Frames"], dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != FRAME_LENGTH:
        raise ValueError(f"{path}: expected frames of {FRAME_LENGTH} numbers, got shape {rows.shape}")
    times = np.concatenate([[0.0], np.cumsum(rows[:-1, 0])])
    samples = np.arange(0.0, times[-1] + 1e-9, 1.0 / fps)
    rotations = {joint: Slerp(times, rotation)(samples) for joint, rotation in _rotations_from_rows(rows).items()}
    position = np.stack([np.interp(samples, times, rows[:, 1 + axis]) for axis in range(3)], axis=-1)
    return MocapClip(clip_name(path), fps, position, rotations)


def _source_rest_positions() -> dict[str, np.ndarray]:
    positions = {}
    for joint, (parent, offset) in SOURCE_JOINTS.items():
        positions[joint] = np.asarray(offset) + (positions[parent] if parent else 0.0)
    return positions


def source_global_rotations(clip: MocapClip) -> dict[str, Rotation]:
    """Each source joint's rotation in the world, per frame (source axes)."""
    world = {}
    for joint, _ in ROW_LAYOUT:
        parent = SOURCE_JOINTS[joint][0]
        world[joint] = clip.rotations[joint] if parent is None else world[parent] * clip.rotations[joint]
    return world


def source_joint_positions(clip: MocapClip) -> dict[str, np.ndarray]:
    """Forward kinematics of the source humanoid, (N, 3) per joint, source axes and units, root at the origin."""
    world = source_global_rotations(clip)
    positions = {"root": np.zeros((len(clip), 3))}
    for joint, (parent, offset) in list(SOURCE_JOINTS.items())[1:]:
        positions[joint] = positions[parent] + world[parent].apply(np.asarray(offset))
    return positions


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


def _to_smpl_axes(rotation: Rotation) -> Rotation:
    return Rotation.from_matrix(TO_SMPL_AXES @ rotation.as_matrix() @ TO_SMPL_AXES.T)


def retarget(clip: MocapClip, rest_joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SMPL pose parameters for a skeleton whose rest joints (24, 3) are given.

    Returns axis-angle rotations (N, 24, 3) (joint 0 = global orientation) and root translations (N, 3), metres,
    SMPL axes: feed them to an SMPL layer as global_orient, body_pose and transl.
    """
    if rest_joints.shape != (len(SMPL24), 3):
        raise ValueError(f"rest_joints must be (24, 3), got {rest_joints.shape}")
    source_world = {joint: _to_smpl_axes(rotation) for joint, rotation in source_global_rotations(clip).items()}
    source_rest = {joint: TO_SMPL_AXES @ position for joint, position in _source_rest_positions().items()}
    chest_local = _to_smpl_axes(clip.rotations["chest"])
    children = {}
    for joint, parent in enumerate(SMPL24.parents):
        if joint > 0:
            children.setdefault(parent, joint)

    world = []
    for joint, name in enumerate(SMPL24.names):
        carrier, bone = RETARGET[name]
        rotation = source_world[carrier]
        if name in _SPINE_SHARE:
            share = Rotation.from_rotvec(chest_local.as_rotvec() * _SPINE_SHARE[name])
            rotation = source_world["root"] * share
        if bone is not None and joint in children:
            target_bone = rest_joints[children[joint]] - rest_joints[joint]
            rotation = rotation * _alignment(target_bone, source_rest[bone[1]] - source_rest[bone[0]])
        world.append(rotation)

    local = [world[0]] + [
        world[parent].inv() * world[joint] for joint, parent in enumerate(SMPL24.parents) if joint > 0
    ]
    axis_angle = np.stack([rotation.as_rotvec() for rotation in local], axis=1)
    translation = clip.root_position @ TO_SMPL_AXES.T
    return axis_angle.astype(np.float32), translation.astype(np.float32)
