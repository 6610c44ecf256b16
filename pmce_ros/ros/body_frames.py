"""TF frames of a person as REP-155 lays them out: `body_<id>` and one frame per Human3.6M-17 joint, and the
body ids that name them.

- Body ids: `b<track id>`, with `r<n>` appended after the n-th time the tracker restarted numbering (a stamp
  jump, a deactivation), so an id is unique within the node's run and stable for a track's life. TF, REP-155
  and /people all name a body by it.

- `body_<id>`: origin at the hips' midpoint; child of the image's optical frame. Axes as REP-103 asks of a body:
  z up along the torso (hips' midpoint -> neck), y to the person's left (right hip -> left hip, made orthogonal to
  z), x forward (y cross z: the way the chest faces).
- `<link>_<id>` for every Human3.6M-17 joint, child of `body_<id>`, at the joint. Named as REP-155's body links
  where one exists (`waist` for the pelvis, `l_elbow` for the left elbow, ...), else by the joint (`neck`,
  `nose`). Orientation: z along the bone from the joint to its child joint (the spine's child for the pelvis,
  the nose for the neck); joints without a child (wrists, ankles, head) continue their parent bone. x is the
  body's x made orthogonal to that z (the body's y where the bone points forward), y completes the frame.

Only people whose joints are finite and whose torso and hips have a length get frames; the caller counts the
others.
"""

import numpy as np
from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3
from scipy.spatial.transform import Rotation
from std_msgs.msg import Header

from pmce_ros.body.joint_sets import H36M17

REP155_LINKS = {
    "pelvis": "waist",
    "torso": "torso",
    "head": "head",
    "left_shoulder": "l_shoulder",
    "left_elbow": "l_elbow",
    "left_wrist": "l_wrist",
    "left_hip": "l_hip",
    "left_knee": "l_knee",
    "left_ankle": "l_ankle",
    "right_shoulder": "r_shoulder",
    "right_elbow": "r_elbow",
    "right_wrist": "r_wrist",
    "right_hip": "r_hip",
    "right_knee": "r_knee",
    "right_ankle": "r_ankle",
}
LINKS = tuple(REP155_LINKS.get(name, name) for name in H36M17.names)
# The joint each frame's z points to: the spine for the pelvis, else the first child in the skeleton's tree (the
# nose for the neck); -1 for joints with no child.
_CHILD = tuple(
    H36M17.index("torso") if name == "pelvis" else next((c for c, p in enumerate(H36M17.parents) if p == j), -1)
    for j, name in enumerate(H36M17.names)
)
_HIPS = (H36M17.index("left_hip"), H36M17.index("right_hip"))
_NECK = H36M17.index("neck")
SHORTEST_AXIS_M = 1e-3  # a torso or hip axis shorter than this has no direction


class BodyIds:
    """Track id -> REP-155 body id, unique within the run (see the module)."""

    def __init__(self):
        self.restarts = 0

    def restart(self) -> None:
        """The tracker numbers tracks afresh from now on."""
        self.restarts += 1

    def __call__(self, track_id: int) -> str:
        return f"b{track_id}" + (f"r{self.restarts}" if self.restarts else "")


def body_frame_name(body_id: str) -> str:
    return f"body_{body_id}"


def joint_frame_names(body_id: str) -> list[str]:
    return [f"{link}_{body_id}" for link in LINKS]


def _unit(vector: np.ndarray) -> np.ndarray | None:
    length = float(np.linalg.norm(vector))
    return vector / length if length >= SHORTEST_AXIS_M else None


def body_pose(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(17, 3) Human3.6M joints in the camera frame -> (origin (3,), rotation (3, 3) whose columns are the body's
    x, y, z in the camera frame); None for non-finite joints or a torso or hips without length."""
    if not np.isfinite(joints).all():
        return None
    left_hip, right_hip = joints[_HIPS[0]], joints[_HIPS[1]]
    origin = (left_hip + right_hip) / 2
    up = _unit(joints[_NECK] - origin)
    if up is None:
        return None
    left = _unit((left_hip - right_hip) - np.dot(left_hip - right_hip, up) * up)
    if left is None:
        return None
    return origin, np.column_stack([np.cross(left, up), left, up])


def joint_rotations(joints: np.ndarray, body_rotation: np.ndarray) -> np.ndarray:
    """(17, 3, 3) per joint: columns x, y, z in the camera frame, z along the joint's bone (see the module)."""
    rotations = np.empty((len(H36M17), 3, 3))
    for joint, child in enumerate(_CHILD):
        start, end = (joint, child) if child >= 0 else (H36M17.parents[joint], joint)
        z = _unit(joints[end] - joints[start])
        if z is None:  # a bone without length: the body's own orientation
            rotations[joint] = body_rotation
            continue
        x = None
        for reference in (body_rotation[:, 0], body_rotation[:, 1]):
            x = _unit(reference - np.dot(reference, z) * z)
            if x is not None:
                break
        rotations[joint] = np.column_stack([x, np.cross(z, x), z])
    return rotations


def _transform(header: Header, child: str, translation: np.ndarray, quaternion: np.ndarray) -> TransformStamped:
    qx, qy, qz, qw = quaternion
    return TransformStamped(
        header=header,
        child_frame_id=child,
        transform=Transform(
            translation=Vector3(x=float(translation[0]), y=float(translation[1]), z=float(translation[2])),
            rotation=Quaternion(x=float(qx), y=float(qy), z=float(qz), w=float(qw)),
        ),
    )


def body_transforms(header: Header, body_id: str, joints: np.ndarray) -> list[TransformStamped] | None:
    """`body_<id>` in the header's frame and the 17 joint frames under it, stamped with the header's stamp; None
    when the person has no body pose (`body_pose`)."""
    pose = body_pose(joints)
    if pose is None:
        return None
    origin, body_rotation = pose
    # Quaternions of the body in the camera frame and of every joint in the body frame, converted in one call.
    relative = body_rotation.T @ joint_rotations(joints, body_rotation)
    quaternions = Rotation.from_matrix(np.concatenate([body_rotation[None], relative])).as_quat()
    body_quaternion, joint_quaternions = quaternions[0], quaternions[1:]
    body = body_frame_name(body_id)
    transforms = [_transform(header, body, origin, body_quaternion)]
    in_body = Header(stamp=header.stamp, frame_id=body)
    for name, joint, quaternion in zip(joint_frame_names(body_id), joints, joint_quaternions):
        transforms.append(_transform(in_body, name, body_rotation.T @ (joint - origin), quaternion))
    return transforms
