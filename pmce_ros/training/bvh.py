"""Biovision BVH motion captures read into MocapClips.

A BVH file is a joint tree (`ROOT` / `JOINT name { OFFSET x y z  CHANNELS n ... }`, `End Site { OFFSET }` for
a chain's end) followed by `MOTION`: `Frames: N`, `Frame Time: seconds`, then one row of channel values per frame
in the order the tree declares them. A joint's rotation channels are intrinsic rotations in the order listed
(`Zrotation Xrotation Yrotation` turns about z, then the new x, then the new y); its world rotation is its
parent's times that; a joint lies its OFFSET, turned by its parent's world rotation, from its parent; the root
lies its OFFSET plus its position channels from the origin.

Each skeleton vocabulary the capture sets use has a table saying which joint sits at each SMPL-24 joint
(`DIALECT_JOINTS`, from which `_carriers` derives what turns each SMPL bone): CMU's captures as converted for
DAZ / Poser (hip, abdomen, chest, lShldr, ...), CMU's own ASF skeleton written as BVH (lfemur, ltibia, ...) and
the iClone character skeleton (CC_Base_*). All are y up, the subject's left at +x and facing +z (SMPL's axes), in
centimetres but for CMU's ASF skeleton (`METRES_PER_UNIT`).
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from pmce_ros.training.mocap import MocapClip, SourceSkeleton, resampled

FLOOR_PERCENTILE = 2  # the floor: this percentile over frames of the lowest body joint's height
ROTATION_CHANNELS = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
END_SUFFIX = "_end"


def _carriers(at_smpl_joint: dict[str, str], rest: dict[str, np.ndarray]) -> dict[str, tuple[str, tuple | None]]:
    """SMPL-24 carriers from the source joint at each SMPL joint: an SMPL joint's outgoing bone follows the
    source bone from that joint to the next source joint down its SMPL chain that lies elsewhere in the rest pose
    (converted skeletons stack joints at one place), turned by the former's rotation (an End Site's by its
    joint's)."""
    carriers = {}
    for joint, chain in CHAINS.items():
        source = at_smpl_joint[joint]
        further = [at_smpl_joint[j] for j in chain if np.linalg.norm(rest[at_smpl_joint[j]] - rest[source]) > 1e-6]
        carriers[joint] = (source.removesuffix(END_SUFFIX), (source, further[0]) if further else None)
    return carriers


def _sided(midline: dict[str, str], limbs: dict[str, str]) -> dict[str, str]:
    """Midline SMPL joints named as they are, limb joints from templates with {s} / {S} for l / L or r / R."""
    names = dict(midline)
    for side in ("left", "right"):
        letter = side[0]
        names.update({f"{side}_{j}": source.format(s=letter, S=letter.upper()) for j, source in limbs.items()})
    return names


# Each SMPL-24 joint with the SMPL joints below it on its chain, nearest first.
CHAINS = {
    "pelvis": (),
    "spine1": ("spine2", "spine3", "neck"),
    "spine2": ("spine3", "neck"),
    "spine3": ("neck", "head"),
    "neck": ("head",),
    "head": (),
    **{
        f"{side}_{joint}": tuple(f"{side}_{j}" for j in below)
        for side in ("left", "right")
        for joint, below in (
            ("hip", ("knee", "ankle")),
            ("knee", ("ankle",)),
            ("ankle", ("foot",)),
            ("foot", ()),
            ("collar", ("shoulder", "elbow")),
            ("shoulder", ("elbow",)),
            ("elbow", ("wrist",)),
            ("wrist", ("hand",)),
            ("hand", ()),
        )
    },
}

# The source joint at (or nearest) each SMPL joint, per vocabulary; a name ending in END_SUFFIX is an End Site.
DIALECT_JOINTS = {
    "daz": _sided(
        {"pelvis": "hip", "spine1": "abdomen", "spine2": "abdomen", "spine3": "chest", "neck": "neck", "head": "head"},
        {
            "hip": "{s}Thigh",
            "knee": "{s}Shin",
            "ankle": "{s}Foot",
            "foot": "{s}Foot" + END_SUFFIX,
            "collar": "{s}Collar",
            "shoulder": "{s}Shldr",
            "elbow": "{s}ForeArm",
            "wrist": "{s}Hand",
            "hand": "{s}Mid1",
        },
    ),
    "iclone": _sided(
        {
            "pelvis": "CC_Base_Hip",
            "spine1": "CC_Base_Waist",
            "spine2": "CC_Base_Spine01",
            "spine3": "CC_Base_Spine02",
            "neck": "CC_Base_NeckTwist01",
            "head": "CC_Base_Head",
        },
        {
            "hip": "CC_Base_{S}_Thigh",
            "knee": "CC_Base_{S}_Calf",
            "ankle": "CC_Base_{S}_Foot",
            "foot": "CC_Base_{S}_ToeBase",
            "collar": "CC_Base_{S}_Clavicle",
            "shoulder": "CC_Base_{S}_Upperarm",
            "elbow": "CC_Base_{S}_Forearm",
            "wrist": "CC_Base_{S}_Hand",
            "hand": "CC_Base_{S}_Mid1",
        },
    ),
    # CMU's ASF skeleton written as BVH: a joint sits where its ASF bone starts
    "cmu_asf": _sided(
        {
            "pelvis": "hip",
            "spine1": "lowerback",
            "spine2": "upperback",
            "spine3": "thorax",
            "neck": "lowerneck",
            "head": "head",
        },
        {
            "hip": "{s}femur",
            "knee": "{s}tibia",
            "ankle": "{s}foot",
            "foot": "{s}toes",
            "collar": "{s}clavicle",
            "shoulder": "{s}humerus",
            "elbow": "{s}radius",
            "wrist": "{s}hand",  # where the ASF's short wrist bone ends, as acclaim.JOINT_POINTS
            "hand": "{s}fingers",
        },
    ),
}
# Centimetres, except CMU's ASF skeleton, which keeps the ASF's unit (inches / 0.45).
METRES_PER_UNIT = {"daz": 0.01, "iclone": 0.01, "cmu_asf": 0.0254 / 0.45}


@dataclass
class BvhJoint:
    parent: str | None
    offset: np.ndarray  # source units, parent's axes
    channels: tuple[str, ...] = ()


@dataclass
class BvhMotion:
    joints: dict[str, BvhJoint]  # parents first; End Sites named <joint>_end, without channels
    frame_time: float
    values: np.ndarray  # (N, channels)


def read_bvh(path: Path) -> BvhMotion:
    """The joint tree and the frames of a BVH file; a malformed file is refused with the reason."""
    text = path.read_text(errors="replace")
    head, found, motion = text.partition("MOTION")
    if not found or "HIERARCHY" not in head:
        raise ValueError(f"{path}: not a BVH file (no HIERARCHY and MOTION sections)")
    tokens = head.split("HIERARCHY", 1)[1].split()
    joints: dict[str, BvhJoint] = {}
    stack: list[str] = []
    pending, position = None, 0
    while position < len(tokens):
        token = tokens[position]
        if token in ("ROOT", "JOINT"):
            pending = tokens[position + 1]
            position += 2
        elif token == "End":
            pending = stack[-1] + END_SUFFIX
            position += 2
        elif token == "{":
            if pending is None:
                raise ValueError(f"{path}: a '{{' that opens no joint")
            joints[pending] = BvhJoint(stack[-1] if stack else None, np.zeros(3))
            stack.append(pending)
            pending = None
            position += 1
        elif token == "}":
            if not stack:
                raise ValueError(f"{path}: unbalanced braces in HIERARCHY")
            stack.pop()
            position += 1
        elif token == "OFFSET":
            joints[stack[-1]].offset = np.asarray(tokens[position + 1 : position + 4], dtype=np.float64)
            position += 4
        elif token == "CHANNELS":
            count = int(tokens[position + 1])
            joints[stack[-1]].channels = tuple(tokens[position + 2 : position + 2 + count])
            position += 2 + count
        else:
            raise ValueError(f"{path}: unexpected {token!r} in HIERARCHY")
    if stack or not joints:
        raise ValueError(f"{path}: unbalanced braces in HIERARCHY")
    frames = re.search(r"Frames:\s*(\d+)", motion)
    frame_time = re.search(r"Frame Time:\s*([0-9.eE+-]+)", motion)
    if not frames or not frame_time:
        raise ValueError(f"{path}: MOTION lacks 'Frames:' or 'Frame Time:'")
    rows = motion[frame_time.end() :].split()
    width = sum(len(joint.channels) for joint in joints.values())
    count = min(int(frames.group(1)), len(rows) // max(width, 1))
    if count < 2:
        raise ValueError(f"{path}: fewer than two whole frames of {width} values")
    values = np.asarray(rows[: count * width], dtype=np.float64).reshape(count, width)
    return BvhMotion(joints, float(frame_time.group(1)), values)


def dialect(path: Path, motion: BvhMotion) -> str:
    """The vocabulary of DIALECT_JOINTS whose every joint the skeleton has; refused, with what the nearest one
    lacks, when there is none."""
    lacking = {}
    for name, joints in DIALECT_JOINTS.items():
        lacking[name] = sorted(set(joints.values()) - set(motion.joints))
        if not lacking[name]:
            return name
    nearest = min(lacking, key=lambda name: len(lacking[name]))
    raise ValueError(
        f"{path}: an unknown BVH skeleton; nearest is {nearest}'s, which needs {', '.join(lacking[nearest])}"
    )


def world_motion(motion: BvhMotion) -> tuple[dict[str, Rotation], dict[str, np.ndarray]]:
    """Each joint's world rotation and position (N, 3), source units, per frame."""
    rotations, positions, column = {}, {}, 0
    frames = len(motion.values)
    for name, joint in motion.joints.items():
        values = motion.values[:, column : column + len(joint.channels)]
        column += len(joint.channels)
        order = "".join(ROTATION_CHANNELS[c] for c in joint.channels if c in ROTATION_CHANNELS)
        angles = values[:, [n for n, c in enumerate(joint.channels) if c in ROTATION_CHANNELS]]
        local = Rotation.from_euler(order, angles, degrees=True) if order else Rotation.identity(frames)
        if joint.parent is None:
            rotations[name] = local
            moved = [joint.channels.index(c) if c in joint.channels else None for c in POSITION_CHANNELS]
            positions[name] = joint.offset + np.stack(
                [values[:, n] if n is not None else np.zeros(frames) for n in moved], axis=-1
            )
        else:
            rotations[name] = rotations[joint.parent] * local
            positions[name] = positions[joint.parent] + rotations[joint.parent].apply(joint.offset)
    return rotations, positions


def source_skeleton(motion: BvhMotion, vocabulary: str, metres_per_unit: float) -> SourceSkeleton:
    joint_points = DIALECT_JOINTS[vocabulary]
    pelvis = joint_points["pelvis"]
    rest = {}
    for name, joint in motion.joints.items():
        rest[name] = joint.offset * metres_per_unit + (rest[joint.parent] if joint.parent else 0.0)
    return SourceSkeleton(
        parents={name: joint.parent for name, joint in motion.joints.items()},
        rest_positions={name: position - rest[pelvis] for name, position in rest.items()},
        carriers=_carriers(joint_points, rest),
        moved_by={name: joint.parent for name, joint in motion.joints.items() if joint.parent is not None},
        joint_points=joint_points,
    )


def is_clip(path: Path) -> bool:
    return path.suffix.lower() == ".bvh"


def clip_name(path: Path) -> str:
    return path.stem


def load_clip(path: str | Path, fps: float = 30.0) -> MocapClip:
    """A BVH capture on its own skeleton (metres, SMPL axes, the pelvis as root position, the floor at y = 0:
    exporters disagree on whether the root's channels include its offset), resampled to `fps`."""
    path = Path(path)
    motion = read_bvh(path)
    name = dialect(path, motion)
    pelvis, scale = DIALECT_JOINTS[name]["pelvis"], METRES_PER_UNIT[name]
    rotations, positions = world_motion(motion)
    lowest = np.min([positions[joint][:, 1] for joint in DIALECT_JOINTS[name].values()], axis=0)
    root = (positions[pelvis] - [0.0, np.percentile(lowest, FLOOR_PERCENTILE), 0.0]) * scale
    times = np.arange(len(motion.values)) * motion.frame_time
    world, position = resampled(times, rotations, root, fps)
    return MocapClip(clip_name(path), fps, position, world, source_skeleton(motion, name, scale))
