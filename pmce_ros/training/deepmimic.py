"""pybullet's DeepMimic mocap clips (shipped in its wheel's pybullet_data) read into MocapClips.

A clip file is JSON with `Frames`: rows of 44 numbers, [duration, root position (3), root rotation (4),
chest (4), neck (4), right hip (4), right knee (1), right ankle (4), right shoulder (4), right elbow (1),
left hip (4), left knee (1), left ankle (4), left shoulder (4), left elbow (1)]. Rotations are local quaternions
(w, x, y, z); knees and elbows are angles about their joint's z axis. The DeepMimic humanoid stands with its arms
hanging, y up, facing +x with its right side at +z. The humanoid has one chest joint where SMPL has three
spine joints: they take a third, two thirds and all of the chest's local rotation on top of the root's.
"""

import json
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from pmce_ros.training.mocap import MocapClip, SourceSkeleton, resampled

FRAME_LENGTH = 44
PREFIX = "humanoid3d_"
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
# Rotations of the two lower SMPL spine joints, made from the root's and a share of the chest's.
SPINE_SHARES = {"spine_third": 1 / 3, "spine_two_thirds": 2 / 3}
CARRIERS = {
    "pelvis": ("root", None),
    "left_hip": ("left_hip", ("left_hip", "left_knee")),
    "right_hip": ("right_hip", ("right_hip", "right_knee")),
    "spine1": ("spine_third", ("root", "chest")),
    "left_knee": ("left_knee", ("left_knee", "left_ankle")),
    "right_knee": ("right_knee", ("right_knee", "right_ankle")),
    "spine2": ("spine_two_thirds", ("root", "chest")),
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


def _skeleton() -> SourceSkeleton:
    rest = {}
    for joint, (parent, offset) in SOURCE_JOINTS.items():
        rest[joint] = np.asarray(offset) + (rest[parent] if parent else 0.0)
    return SourceSkeleton(
        parents={joint: parent for joint, (parent, _) in SOURCE_JOINTS.items()},
        rest_positions={joint: TO_SMPL_AXES @ position for joint, position in rest.items()},
        carriers=CARRIERS,
        moved_by={joint: parent for joint, (parent, _) in SOURCE_JOINTS.items() if parent is not None},
    )


SKELETON = _skeleton()


def clip_files() -> list[Path]:
    """The humanoid clips in the installed pybullet_data, sorted by name."""
    install = "install it with `pip install pybullet==3.2.7` (scripts/setup does), whose pybullet_data holds them"
    try:
        import pybullet_data
    except ImportError:
        raise FileNotFoundError(f"the training motion comes from pybullet's DeepMimic clips: {install}") from None
    files = sorted(Path(pybullet_data.getDataPath(), "data", "motions").glob(f"{PREFIX}*.txt"))
    if not files:
        raise FileNotFoundError(f"pybullet_data ships no {PREFIX}*.txt clips: {install}")
    return files


def _local_rotations(rows: np.ndarray) -> dict[str, Rotation]:
    rotations, column = {}, 4
    for joint, width in ROW_LAYOUT:
        values = rows[:, column : column + width]
        if width == 4:
            rotations[joint] = Rotation.from_quat(values[:, [1, 2, 3, 0]])  # (w,x,y,z) -> scipy's (x,y,z,w)
        else:
            rotations[joint] = Rotation.from_rotvec(values * np.array([0.0, 0.0, 1.0]))
        column += width
    return rotations


def _to_smpl_axes(rotation: Rotation) -> Rotation:
    return Rotation.from_matrix(TO_SMPL_AXES @ rotation.as_matrix() @ TO_SMPL_AXES.T)


def clip_name(path: Path) -> str:
    return path.stem.removeprefix(PREFIX)


def load_clip(path: str | Path, fps: float = 30.0) -> MocapClip:
    """A clip resampled to `fps` (local rotations by slerp, root position linearly)."""
    path = Path(path)
    rows = np.asarray(json.loads(path.read_text())["Frames"], dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != FRAME_LENGTH:
        raise ValueError(f"{path}: expected frames of {FRAME_LENGTH} numbers, got shape {rows.shape}")
    times = np.concatenate([[0.0], np.cumsum(rows[:-1, 0])])
    local, position = resampled(times, _local_rotations(rows), rows[:, 1:4], fps)
    world = {}
    for joint, _ in ROW_LAYOUT:
        parent = SOURCE_JOINTS[joint][0]
        world[joint] = local[joint] if parent is None else world[parent] * local[joint]
    world = {joint: _to_smpl_axes(rotation) for joint, rotation in world.items()}
    chest = _to_smpl_axes(local["chest"]).as_rotvec()
    for name, share in SPINE_SHARES.items():
        world[name] = world["root"] * Rotation.from_rotvec(chest * share)
    return MocapClip(clip_name(path), fps, position @ TO_SMPL_AXES.T, world, SKELETON)
