"""Conversions between numpy arrays and pmce_ros messages.

Large arrays go through array.array from raw bytes: assigning an ndarray to a float32[] field element by element
costs 10-100x more (0.4 ms vs tens of ms for a 6890-vertex mesh).
"""

from array import array
from dataclasses import dataclass, field

import numpy as np
from geometry_msgs.msg import Point, Vector3
from std_msgs.msg import Header

from pmce_ros.body.joint_sets import COCO19, H36M17, h36m_confidence
from pmce_ros.msg import Human, HumanArray, HumanMesh, MeshTopology, Skeleton3D
from pmce_ros.perception.placement import Intrinsics
from pmce_ros.pipeline import FrameResult, PendingPerson, PersonEstimate


def stamp_ns(header: Header) -> int:
    """A header's stamp in integer nanoseconds (exact, usable as a key)."""
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def _float32_array(values: np.ndarray) -> array:
    return array("f", np.ascontiguousarray(values, dtype=np.float32).tobytes())


def _uint32_array(values: np.ndarray) -> array:
    return array("I", np.ascontiguousarray(values, dtype=np.uint32).tobytes())


def mesh_to_msg(header: Header, track_id: int, vertices: np.ndarray) -> HumanMesh:
    """vertices: (V, 3) metres in header.frame_id."""
    vertices = np.asarray(vertices)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"mesh vertices must be (V, 3), got {vertices.shape}")
    return HumanMesh(header=header, track_id=track_id, vertices=_float32_array(vertices))


def mesh_from_msg(msg: HumanMesh) -> np.ndarray:
    return np.frombuffer(msg.vertices, dtype=np.float32).reshape(-1, 3)


def topology_to_msg(header: Header, faces: np.ndarray, num_vertices: int, body_model: str) -> MeshTopology:
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be (F, 3), got {faces.shape}")
    if faces.size and (faces.min() < 0 or faces.max() >= num_vertices):
        raise ValueError(f"face indices must lie in [0, {num_vertices})")
    return MeshTopology(header=header, body_model=body_model, num_vertices=num_vertices, faces=_uint32_array(faces))


def faces_from_msg(msg: MeshTopology) -> np.ndarray:
    return np.frombuffer(msg.faces, dtype=np.uint32).reshape(-1, 3)


def skeleton_to_msg(
    header: Header, track_id: int, joint_set: str, joint_names: list[str], joints: np.ndarray, confidence: np.ndarray
) -> Skeleton3D:
    """joints: (J, 3) metres in header.frame_id; confidence: (J,) in [0, 1]."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.shape != (len(joint_names), 3) or np.shape(confidence) != (len(joint_names),):
        raise ValueError(
            f"{len(joint_names)} joint names need joints ({len(joint_names)}, 3) and as many "
            f"confidences, got {joints.shape} and {np.shape(confidence)}"
        )
    return Skeleton3D(
        header=header,
        track_id=track_id,
        joint_set=joint_set,
        joint_names=list(joint_names),
        joints=[Point(x=x, y=y, z=z) for x, y, z in joints.tolist()],
        confidence=_float32_array(confidence),
    )


def skeleton_joints_from_msg(msg: Skeleton3D) -> np.ndarray:
    return np.array([(p.x, p.y, p.z) for p in msg.joints], dtype=np.float64).reshape(-1, 3)


@dataclass
class HumanFields:
    """One person's entry of a HumanArray, in numpy form (see msg/Human.msg for units and frames)."""

    track_id: int
    valid: bool
    box: np.ndarray  # (4,) x_min y_min x_max y_max, pixels
    keypoints_2d: np.ndarray  # (17, 3) x y confidence, pixels
    root_position: np.ndarray  # (3,) metres
    placement: str = ""  # "keypoints" | "box" | "" (no estimate)
    status: str = "estimated"  # or why there is no estimate (msg/Human.msg)
    body: str = ""  # "converged" | "converging" | "raw" | "" (no estimate)
    window_span_s: float = 0.0
    world_position: np.ndarray = field(default_factory=lambda: np.zeros(3))  # (3,) metres, HumanArray.world_frame
    world_velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))  # (3,) m/s
    forecast: np.ndarray | None = None  # (steps, 17, 3) Human3.6M joints ahead, metres
    skeleton: Skeleton3D | None = None  # None while the window fills (valid=False)
    mesh: HumanMesh | None = None


def _point(vector: np.ndarray) -> Point:
    return Point(x=float(vector[0]), y=float(vector[1]), z=float(vector[2]))


def human_to_msg(fields: HumanFields) -> Human:
    msg = Human(
        track_id=fields.track_id,
        valid=fields.valid,
        box=np.asarray(fields.box, dtype=np.float32),
        keypoints_2d=_float32_array(np.asarray(fields.keypoints_2d).reshape(-1)),
        root_position=_point(fields.root_position),
        world_position=_point(fields.world_position),
        world_velocity=Vector3(
            x=float(fields.world_velocity[0]), y=float(fields.world_velocity[1]), z=float(fields.world_velocity[2])
        ),
        placement=fields.placement,
        status=fields.status,
        body=fields.body,
        window_span_s=float(fields.window_span_s),
    )
    if fields.forecast is not None:
        msg.forecast_root = [_point(root) for root in fields.forecast[:, H36M17.index("pelvis")]]
        msg.forecast_joints = _float32_array(fields.forecast.reshape(-1))
    if fields.skeleton is not None:
        msg.skeleton = fields.skeleton
    if fields.mesh is not None:
        msg.mesh = fields.mesh
    return msg


def human_array_to_msg(
    header: Header,
    weights: str,
    stand_in: bool,
    humans: list[HumanFields],
    latency_mode: str = "centered",
    window_interval_s: float = 0.0,
    beyond_training: bool = False,
    world_frame: str = "",
    forecast_step_s: float = 0.0,
) -> HumanArray:
    return HumanArray(
        header=header,
        world_frame=world_frame,
        forecast_step_s=float(forecast_step_s),
        weights=weights,
        stand_in=stand_in,
        humans=[human_to_msg(h) for h in humans],
        latency_mode=latency_mode,
        window_interval_s=float(window_interval_s),
        beyond_training=beyond_training,
    )


def intrinsics_from_camera_info(msg) -> Intrinsics:
    """sensor_msgs/CameraInfo -> pinhole intrinsics from K (row-major 3x3); may be invalid (all zero, NaN)."""
    k = msg.k
    return Intrinsics(fx=float(k[0]), fy=float(k[4]), cx=float(k[2]), cy=float(k[5]))


def estimate_messages(header: Header, person: PersonEstimate) -> tuple[Skeleton3D, HumanMesh]:
    skeleton = skeleton_to_msg(
        header, person.track_id, H36M17.name, list(H36M17.names), person.joints_h36m, h36m_confidence(person.keypoints)
    )
    return skeleton, mesh_to_msg(header, person.track_id, person.mesh)


def frame_to_human_array(
    header: Header,
    result: FrameResult,
    weights: str,
    stand_in: bool,
    per_person: dict[int, tuple[Skeleton3D, HumanMesh]],
    latency_mode: str,
    world_frame: str = "",
    world_roots: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
    forecasts: dict[int, np.ndarray] | None = None,
    forecast_step_s: float = 0.0,
) -> HumanArray:
    """Every tracked person of a processed frame: estimates (with the skeleton and mesh messages already built
    for them, their root and velocity in `world_frame` from `world_roots`, their forecast from `forecasts`) and
    everyone else with the reason they have none (valid=False)."""
    forecasts = forecasts or {}
    unplaced = (np.zeros(3), np.zeros(3))
    world_roots = world_roots or {}
    humans = [
        HumanFields(
            track_id=p.track_id,
            valid=True,
            box=p.box,
            keypoints_2d=p.keypoints,
            root_position=p.translation,
            placement=p.placement,
            body=p.body,
            skeleton=per_person[p.track_id][0],
            mesh=per_person[p.track_id][1],
            window_span_s=p.window_span_s,
            world_position=world_roots.get(p.track_id, unplaced)[0],
            world_velocity=world_roots.get(p.track_id, unplaced)[1],
            forecast=forecasts.get(p.track_id),
        )
        for p in result.people
    ]
    humans += [
        HumanFields(
            track_id=p.track_id,
            valid=False,
            box=p.box,
            keypoints_2d=p.keypoints,
            root_position=np.zeros(3),
            status=p.reason,
        )
        for p in result.pending
    ]
    return human_array_to_msg(
        header,
        weights,
        stand_in,
        humans,
        latency_mode,
        result.window_interval_s,
        result.beyond_training,
        world_frame,
        forecast_step_s,
    )


def person_from_msg(human: Human, stamp: float, image_size: tuple[int, int]) -> PersonEstimate:
    """An estimated Human entry back in the pipeline's form, for the offline sinks. HumanArray carries the
    Human3.6M-17 joints and the mesh, not the model's COCO-19 joints (NaN here) nor the detector's score (0)."""
    return PersonEstimate(
        track_id=human.track_id,
        stamp=stamp,
        box=np.asarray(human.box, dtype=np.float64),
        keypoints=np.frombuffer(human.keypoints_2d, dtype=np.float32).reshape(-1, 3),
        score=0.0,
        image_size=image_size,
        mesh=mesh_from_msg(human.mesh),
        joints=np.full((len(COCO19), 3), np.nan),
        joints_h36m=skeleton_joints_from_msg(human.skeleton),
        translation=np.array([human.root_position.x, human.root_position.y, human.root_position.z]),
        placement=human.placement,
        body=human.body,
        padded_frames=0,
        window_span_s=human.window_span_s,
    )


def pending_from_msg(human: Human) -> PendingPerson:
    """A Human entry without an estimate (valid false) back in the pipeline's form: where it is, and why."""
    return PendingPerson(
        track_id=human.track_id,
        box=np.asarray(human.box, dtype=np.float64),
        keypoints=np.frombuffer(human.keypoints_2d, dtype=np.float32).reshape(-1, 3),
        reason=human.status,
    )
