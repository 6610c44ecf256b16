"""The whole default pipeline on held-out real motion capture, seen as a robot would see it.

Each held-out clip of a capture set (`training/capture_set.py`) is watched by one still camera at a robot's
height (0.5-2 m), pitched towards the person, 1-8 m away, with a 60-90 degree horizontal field of view at 1280 x
720. The detector is the one part replaced: COCO-17 keypoints are projected from the capture itself (limbs from
the capture's own joints, the face from its head joint and head rotation with the body's face offsets), with
Gaussian noise of `noise` x the box height per keypoint; a keypoint outside the image has confidence 0, and a
frame with fewer than MIN_VISIBLE inside has no detection. Everything else is the pipeline's: track buffers,
windows, the network, the track's body, placement (optionally with the floor known, as a robot knows it: the
captures' floor is their y = 0).

Ground truth is the capture's own joints (`EVAL_JOINTS`, in its own skeleton's definitions; Human3.6M's "neck",
the thorax at the base of the neck, is the point the capture marks at SMPL's neck), compared with the pipeline's
Human3.6M joints of the same names. Metrics, in millimetres: MPJPE rooted at the pelvis, PA-MPJPE,
ACCEL, each bone's length against the subject's (`EVAL_BONES`), and the root (pelvis) position error, also as
a share of the pelvis' distance from the camera.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pmce_ros.body.body_model import BodyModel
from pmce_ros.body.identity import retarget as retarget_bones
from pmce_ros.body.joint_sets import COCO17, H36M17, SMPL24, regress_joints
from pmce_ros.perception.placement import FloorPlane, Intrinsics
from pmce_ros.perception.pose_tracker import Detections
from pmce_ros.training.capture_set import load_saved_clip
from pmce_ros.training.metrics import accel_error, mpjpe, pa_mpjpe, similarity_align
from pmce_ros.training.mocap import MocapClip, retarget, source_joint_positions
from pmce_ros.training.synthetic_data import look_at, posed_vertices

# Human3.6M's joints that captures mark too (not its spine, nose and head top), in its order
EVAL_JOINTS = tuple(name for name in H36M17.names if name not in ("torso", "nose", "head"))
EVAL_BONES = {
    "thigh": (("left_hip", "left_knee"), ("right_hip", "right_knee")),
    "shin": (("left_knee", "left_ankle"), ("right_knee", "right_ankle")),
    "upper arm": (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")),
    "forearm": (("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")),
    "hip width": (("left_hip", "right_hip"),),
    "shoulder width": (("left_shoulder", "right_shoulder"),),
    "torso": (("pelvis", "neck"),),
}
# EVAL_JOINTS as a tree from the pelvis: (parent, child), parents first
EVAL_TREE = (("pelvis", "neck"),) + tuple(
    (parent.format(side=side), child.format(side=side))
    for side in ("left", "right")
    for parent, child in (
        ("pelvis", "{side}_hip"),
        ("{side}_hip", "{side}_knee"),
        ("{side}_knee", "{side}_ankle"),
        ("neck", "{side}_shoulder"),
        ("{side}_shoulder", "{side}_elbow"),
        ("{side}_elbow", "{side}_wrist"),
    )
)
_EVAL_TREE_INDEX = [(EVAL_JOINTS.index(parent), EVAL_JOINTS.index(child)) for parent, child in EVAL_TREE]
_H36M_INDEX = [H36M17.index(name) for name in EVAL_JOINTS]
_FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
IMAGE_SIZE = (1280, 720)
MIN_VISIBLE = 6
FPS = 30.0


@dataclass(frozen=True)
class Views:
    camera_height_m: tuple[float, float] = (0.5, 2.0)
    distance_m: tuple[float, float] = (1.0, 8.0)
    horizontal_fov_deg: tuple[float, float] = (60.0, 90.0)
    noise: float = 0.015  # keypoint std, share of the box height
    max_frames: int = 600  # per clip (20 s at 30 fps)


@dataclass
class ClipView:
    """A clip as one camera saw it: ground truth in the camera's optical frame and the detections."""

    name: str
    joints: np.ndarray  # (N, len(EVAL_JOINTS), 3) metres, camera frame
    detections: list[Detections]  # per frame; empty where the person is out of view
    intrinsics: Intrinsics
    floor: FloorPlane  # the capture's floor in the camera's coordinates
    rotation: np.ndarray  # (3, 3) world -> camera: x_camera = rotation @ (x_world - position)
    position: np.ndarray  # (3,) the camera's, world

    def to_camera(self, world: np.ndarray) -> np.ndarray:
        return (world - self.position) @ self.rotation.T

    def pixels(self, camera: np.ndarray) -> np.ndarray:
        return camera[..., :2] / camera[..., 2:] * self.intrinsics.fx + [self.intrinsics.cx, self.intrinsics.cy]


def capture_joints(clip: MocapClip) -> np.ndarray:
    """(N, len(EVAL_JOINTS), 3) the capture's own joints, world, metres. Its pelvis is the midpoint of its hip
    joints, as Human3.6M's is, not its root (which captures place higher, between the hip bones' tops)."""
    points = source_joint_positions(clip)
    marks = clip.skeleton.joint_points
    missing = [name for name in EVAL_JOINTS[1:] if name not in marks]
    if missing:
        raise ValueError(f"{clip.name}: the capture marks no point for {missing}")
    joints = [points[marks[name]] for name in EVAL_JOINTS[1:]]
    pelvis = (points[marks["left_hip"]] + points[marks["right_hip"]]) / 2
    return np.stack([pelvis, *joints], axis=1) + clip.root_position[:, None]


def face_offsets(body: BodyModel) -> np.ndarray:
    """(5, 3) the body's nose, eyes and ears relative to its head joint, rest pose (facing +z, y up)."""
    rest = body.model["v_template"]
    coco = body.coco_regressor @ rest
    head = (body.smpl_regressor @ rest)[SMPL24.index("head")]
    return coco[[COCO17.index(name) for name in _FACE]] - head


def coco_keypoints(clip: MocapClip, faces: np.ndarray) -> np.ndarray:
    """(N, 17, 3) world COCO-17 points of the capture: limbs at its joints, the face carried by its head."""
    points = source_joint_positions(clip)
    marks = clip.skeleton.joint_points
    out = np.zeros((len(clip), len(COCO17), 3))
    for index, name in enumerate(COCO17.names):
        if name in marks:
            out[:, index] = points[marks[name]]
    head_rotation = clip.world_rotations[clip.skeleton.carriers["head"][0]]
    head = points[marks["head"]]
    for offset, name in zip(faces, _FACE):
        out[:, COCO17.index(name)] = head + head_rotation.apply(offset)
    return out + clip.root_position[:, None]


def _camera(rng, joints: np.ndarray, views: Views):
    """World -> camera rotation and position, and intrinsics: every frame's joints in front of the camera."""
    width, height = IMAGE_SIZE
    focal = width / 2 / np.tan(np.radians(rng.uniform(*views.horizontal_fov_deg)) / 2)
    centre = joints[:, 0].mean(0)
    azimuth, distance = rng.uniform(0, 2 * np.pi), rng.uniform(*views.distance_m)
    camera_height = rng.uniform(*views.camera_height_m)
    target = np.array([centre[0], rng.uniform(0.8, 1.1), centre[2]])
    while True:
        position = centre + distance * np.array([np.sin(azimuth), 0.0, np.cos(azimuth)])
        position[1] = camera_height
        rotation = look_at(position, target, 0.0)
        if ((joints - position) @ rotation.T)[..., 2].min() > 0.5:
            return rotation, position, Intrinsics(focal, focal, width / 2, height / 2)
        distance *= 1.2


def _detection(rng, uv: np.ndarray, views: Views) -> Detections:
    width, height = IMAGE_SIZE
    box_height = max(float(np.ptp(uv[:, 1])), 1.0)
    noisy = uv + rng.normal(0.0, views.noise * box_height, uv.shape)
    inside = (noisy[:, 0] >= 0) & (noisy[:, 0] < width) & (noisy[:, 1] >= 0) & (noisy[:, 1] < height)
    if inside.sum() < MIN_VISIBLE:
        return Detections.empty()
    keypoints = np.concatenate([noisy, np.where(inside, 0.9, 0.0)[:, None]], axis=1).astype(np.float32)
    seen = noisy[inside]
    margin = 0.1 * np.ptp(seen, axis=0)
    box = np.clip(np.concatenate([seen.min(0) - margin, seen.max(0) + margin]), 0, [width - 1, height - 1] * 2)
    return Detections(box[None].astype(np.float32), np.array([0.9], np.float32), keypoints[None], np.array([1]))


def view_clip(clip: MocapClip, faces: np.ndarray, rng, views: Views = Views()) -> ClipView:
    frames = min(len(clip), views.max_frames)
    joints = capture_joints(clip)[:frames]
    coco = coco_keypoints(clip, faces)[:frames]
    rotation, position, intrinsics = _camera(rng, np.concatenate([joints, coco], axis=1), views)
    floor = FloorPlane(up=rotation @ np.array([0.0, 1.0, 0.0]), camera_height=float(position[1]))
    view = ClipView(clip.name, (joints - position) @ rotation.T, [], intrinsics, floor, rotation, position)
    view.detections = [_detection(rng, frame, views) for frame in view.pixels(view.to_camera(coco))]
    return view


def held_out_views(files: list[Path], body: BodyModel, seed: int, views: Views = Views()) -> list[ClipView]:
    """Every clip seen by its own camera, drawn from `seed`."""
    rng = np.random.default_rng(seed)
    faces = face_offsets(body)
    return [view_clip(load_saved_clip(path), faces, rng, views) for path in files]


class ReplayedDetections:
    """Stands in for the pipeline's detector and tracker: hands over the prepared detections in order."""

    backend = "capture"

    def __init__(self):
        self.queue: list[Detections] = []

    def reset(self) -> None:
        pass

    def __call__(self, image) -> Detections:
        return self.queue.pop(0)


@dataclass
class Predictions:
    """Per clip: the frames estimated, their Human3.6M joints at EVAL_JOINTS (camera frame, metres)."""

    frames: list[np.ndarray] = field(default_factory=list)
    joints: list[np.ndarray] = field(default_factory=list)


def run_pipeline(pipeline, clip_views: list[ClipView], floor_known: bool = False) -> Predictions:
    """Every clip through the pipeline, its detector replaced by the clip's detections; with `floor_known`, the
    pipeline is told where the floor is."""
    replay = ReplayedDetections()
    pipeline.tracker = replay
    width, height = IMAGE_SIZE
    image = np.zeros((height, width, 3), np.uint8)
    out = Predictions()
    for number, view in enumerate(clip_views):
        pipeline.reset()
        frames, joints = [], []
        for frame, detections in enumerate(view.detections):
            replay.queue.append(detections)
            # Clips lie 100 s apart: the pipeline forgets the previous clip's person
            floor = view.floor if floor_known else None
            result = pipeline.process(image, 100.0 * number + frame / FPS, view.intrinsics, tag=frame, floor=floor)
            for person in result.people:
                frames.append(result.described_tag)
                joints.append(person.joints_h36m[_H36M_INDEX])
        out.frames.append(np.asarray(frames, int))
        out.joints.append(np.asarray(joints).reshape(-1, len(EVAL_JOINTS), 3))
    return out


def bone_lengths(joints: np.ndarray) -> dict[str, np.ndarray]:
    """(..., len(EVAL_JOINTS), 3) -> per EVAL_BONES name, (...) lengths averaged over its sides."""
    index = {name: n for n, name in enumerate(EVAL_JOINTS)}
    return {
        bone: np.mean(
            [np.linalg.norm(joints[..., index[a], :] - joints[..., index[b], :], axis=-1) for a, b in sides], 0
        )
        for bone, sides in EVAL_BONES.items()
    }


def bone_ratios(joints: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Per EVAL_BONES name, one clip's median length over its subject's, minus one."""
    ours, theirs = bone_lengths(joints), bone_lengths(truth)
    return {bone: float(np.median(ours[bone]) / np.median(theirs[bone]) - 1) for bone in EVAL_BONES}


def score(clip_views: list[ClipView], predictions: Predictions) -> dict[str, float]:
    """The metrics of the module docstring over every estimated frame (mm; bones and root also in %), and
    `pa_per_joint`: each joint's mean error after similarity alignment (mm)."""
    errors, aligned, accel, root, share, bones = [], [], [], [], [], {bone: [] for bone in EVAL_BONES}
    estimated = detected = 0
    for view, frames, joints in zip(clip_views, predictions.frames, predictions.joints):
        detected += sum(len(d) > 0 for d in view.detections)
        estimated += len(frames)
        if not len(frames):
            continue
        truth = view.joints[frames]
        rooted_pred, rooted_truth = joints - joints[:, :1], truth - truth[:, :1]
        errors.append(mpjpe(rooted_pred, rooted_truth))
        aligned.append(np.linalg.norm(similarity_align(joints, truth) - truth, axis=-1))
        consecutive = np.all(np.diff(frames) == 1) and len(frames) >= 3
        if consecutive:
            accel.append(accel_error(rooted_pred, rooted_truth)[1:-1])
        distance = np.linalg.norm(truth[:, 0], axis=-1)
        offset = np.linalg.norm(joints[:, 0] - truth[:, 0], axis=-1)
        root.append(offset)
        share.append(offset / distance)
        for bone, ratio in bone_ratios(joints, truth).items():
            bones[bone].append(ratio)
    result = {
        "mpjpe": 1000 * float(np.concatenate(errors).mean()),
        "pa_mpjpe": 1000 * float(np.concatenate(aligned).mean()),
        "pa_per_joint": dict(zip(EVAL_JOINTS, (1000 * np.concatenate(aligned).mean(0)).tolist())),
        "accel": 1000 * float(np.concatenate(accel).mean()) if accel else float("nan"),
        "root_mm": 1000 * float(np.median(np.concatenate(root))),
        "root_pct": 100 * float(np.median(np.concatenate(share))),
        "estimated_pct": 100 * estimated / max(detected, 1),
    }
    result.update({f"bone {bone} %": 100 * float(np.median(values)) for bone, values in bones.items()})
    return result


def posed_body_points(clip: MocapClip, body: BodyModel, max_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """World joints (N, len(EVAL_JOINTS), 3) and COCO-17 keypoints (N, 17, 3) of the body (mean shape) posed by
    the clip's first `max_frames` frames, its pelvis on the capture's: the body driven by the true pose, so its
    error against the capture is the difference of joint definitions and proportions."""
    pose, _ = retarget(clip, body.rest_joints)
    vertices = posed_vertices(body, pose[:max_frames], np.zeros(10))
    joints = regress_joints(body.h36m_regressor, vertices)[:, _H36M_INDEX]
    shift = capture_joints(clip)[:max_frames, :1] - joints[:, :1]
    return joints + shift, regress_joints(body.coco_regressor, vertices) + shift


def definition_offsets(files: list[Path], body: BodyModel, max_frames: int) -> dict[str, object]:
    """The body driven by the true pose against the capture: MPJPE, PA-MPJPE, each bone's length against the
    subject's (median over clips, %) and each joint's mean offset after similarity alignment (mm), over the
    clips' first `max_frames` frames."""
    ours, theirs, bones = [], [], {bone: [] for bone in EVAL_BONES}
    for path in files:
        clip = load_saved_clip(path)
        ours.append(posed_body_points(clip, body, max_frames)[0])
        theirs.append(capture_joints(clip)[:max_frames])
        for bone, ratio in bone_ratios(ours[-1], theirs[-1]).items():
            bones[bone].append(ratio)
    ours, theirs = np.concatenate(ours), np.concatenate(theirs)
    rooted = ours - ours[:, :1], theirs - theirs[:, :1]
    per_joint = np.linalg.norm(similarity_align(ours, theirs) - theirs, axis=-1).mean(0)
    return {
        "mpjpe": 1000 * float(mpjpe(*rooted).mean()),
        "pa_mpjpe": 1000 * float(pa_mpjpe(ours, theirs).mean()),
        **{f"bone {bone} %": 100 * float(np.median(values)) for bone, values in bones.items()},
        "pa_per_joint": {name: 1000 * float(value) for name, value in zip(EVAL_JOINTS, per_joint)},
    }


def mean_pose(files: list[Path], stride: int = 10) -> np.ndarray:
    """(len(EVAL_JOINTS), 3) the mean pelvis-rooted pose of clips, each frame turned to face +z (hips along x)."""
    poses = []
    for path in files:
        joints = capture_joints(load_saved_clip(path))[::stride]
        rooted = joints - joints[:, :1]
        across = rooted[:, EVAL_JOINTS.index("left_hip")] - rooted[:, EVAL_JOINTS.index("right_hip")]
        heading = np.arctan2(-across[:, 2], across[:, 0])  # the turn about y that lays the hips along +x
        c, s = np.cos(heading), np.sin(heading)
        turn = np.zeros((len(joints), 3, 3))
        turn[:, 0, 0], turn[:, 0, 2], turn[:, 1, 1], turn[:, 2, 0], turn[:, 2, 2] = c, -s, 1, s, c
        poses.append(np.einsum("nij,nkj->nki", turn, rooted))
    return np.concatenate(poses).mean(0)


def mean_pose_score(clip_views: list[ClipView], pose: np.ndarray) -> float:
    """PA-MPJPE (mm) of one constant pose against every detected frame."""
    truth = np.concatenate([view.joints[[len(d) > 0 for d in view.detections]] for view in clip_views])
    return 1000 * float(pa_mpjpe(np.broadcast_to(pose, truth.shape).copy(), truth).mean())


def body_keypoint_views(
    files: list[Path], clip_views: list[ClipView], body: BodyModel, seed: int, views: Views = Views()
) -> tuple[list[ClipView], list[ClipView]]:
    """The same cameras watching our body driven by the true pose: keypoints from its COCO regressor (the
    network's own training domain), the same noise. Returns the views scored against the capture's joints and
    against our body's."""
    rng = np.random.default_rng(seed)
    against_capture, against_body = [], []
    for path, view in zip(files, clip_views):
        joints, coco = posed_body_points(load_saved_clip(path), body, len(view.joints))
        detections = [_detection(rng, frame, views) for frame in view.pixels(view.to_camera(coco))]
        against_capture.append(replace(view, detections=detections))
        against_body.append(replace(view, detections=detections, joints=view.to_camera(joints)))
    return against_capture, against_body


def with_bones_of(directions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(N, len(EVAL_JOINTS), 3) skeletons built from the pelvis of `directions` with its bones' directions and
    the bone lengths of `lengths`: which of the two, pose or proportions, an error lies in."""
    parents, children = np.array(_EVAL_TREE_INDEX).T
    return retarget_bones(
        directions, np.linalg.norm(lengths[:, children] - lengths[:, parents], axis=-1), _EVAL_TREE_INDEX
    )
