"""The interface every output of pmce_node implements, and what it is handed each frame.

An output is created at configure (its publishers with it), activated once the node subscribes, handed every
described frame as an `OutputFrame`, reset when the node forgets one activation's tracks (deactivate, a tracker
restart), and released at cleanup, shutdown or error. Publishers made with `publisher` are lifecycle publishers
and released by the base class.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from geometry_msgs.msg import TransformStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from pmce_ros.body.joint_sets import H36M17
from pmce_ros.model.forecast import STEP_S
from pmce_ros.pipeline import FrameResult, Pipeline
from pmce_ros.pipeline.results import BODY_CONVERGING
from pmce_ros.ros.body_frames import BodyIds, body_transforms
from pmce_ros.ros.track_motion import TrackForecasts, TrackMotion
from pmce_ros.ros.transform_buffer import RigidTransform

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
NO_BODY_POSE = "no body pose (non-finite or collapsed joints): no TF, /people or REP-155"


@dataclass(frozen=True)
class OutputContext:
    """What an output may use while configured: the node (to create publishers and read its clock), the loaded
    pipeline, and the node's parameter values (live ones change in place)."""

    node: object  # the LifecycleNode
    pipeline: Pipeline
    values: dict


@dataclass(frozen=True, kw_only=True)
class EstimatedBody:
    """A person with a body pose in the described frame, as the standard robot outputs name and place it."""

    body_id: str
    track_id: int
    box: np.ndarray  # (4,) pixels
    keypoints: np.ndarray  # (17, 3) pixels + confidence
    score: float
    image_size: tuple[int, int]  # (width, height)
    transforms: list[TransformStamped]  # body_<id> first, then one frame per joint
    # the root's smoothed position (m) and velocity (m/s) in the frame the bodies are placed in
    # (pmce_ros.ros.track_motion)
    position: np.ndarray
    velocity: np.ndarray
    # False while the track's body is converging: its size, and with it its distance, may still change
    body_settled: bool = True


@dataclass(frozen=True)
class WorldPlacement:
    """The camera's pose in the world frame at the described frame's stamp (pmce_ros.ros.world_frame)."""

    frame_id: str
    camera_to_world: RigidTransform


@dataclass(frozen=True)
class OutputFrame:
    header: Header  # of the described camera frame
    result: FrameResult
    image: np.ndarray  # the newest camera frame (at result.stamp; the described one in causal mode), BGR
    # stamp of the described frame; frame_id: the world frame when the camera's transform to it was found, else
    # the camera frame. TF, /people and REP-155 place bodies in it.
    body_header: Header = None
    bodies: list[EstimatedBody] = field(default_factory=list)
    alive_body_ids: set[str] = field(default_factory=set)  # every track that still exists, estimated or not
    # track id -> smoothed (root position (3,), velocity (3,)) in the world frame, for every estimated person;
    # empty without a world placement
    world_roots: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # track id -> (steps, 17, 3) Human3.6M joints every forecast_step_s ahead, in body_header's frame, for every
    # track estimated for a second (pmce_ros.ros.track_motion.TrackForecasts); empty with forecasts off
    forecasts: dict[int, np.ndarray] = field(default_factory=dict)
    forecast_step_s: float = 0.0
    world: WorldPlacement | None = None  # where body_header's frame is, when it is the world frame

    @property
    def world_frame(self) -> str:
        """The world frame bodies are placed in for this frame; empty when they are in the camera frame."""
        return self.world.frame_id if self.world is not None else ""

    def forecast_roots_in_camera(self) -> dict[int, np.ndarray]:
        """track id -> (steps, 3) the forecast root path in the camera frame."""
        pelvis = H36M17.index("pelvis")
        to_camera = self.world.camera_to_world.inverse() if self.world is not None else None
        return {
            track: ahead[:, pelvis] if to_camera is None else to_camera.apply(ahead[:, pelvis])
            for track, ahead in self.forecasts.items()
        }


def output_frame(
    header: Header,
    result: FrameResult,
    image: np.ndarray,
    body_ids: BodyIds,
    live_tracks,
    motion: TrackMotion,
    world: WorldPlacement | None = None,
    forecasts: TrackForecasts | None = None,
    up: np.ndarray | None = None,
) -> tuple[OutputFrame, int]:
    """The frame as the outputs see it, and how many estimated people had no body pose. With `world`, bodies are
    placed in the world frame, and every estimated person's smoothed root is given there with its velocity. With
    `forecasts`, each person's next second where their history allows, `up` being the camera frame's up when
    there is no world frame (the world frame's is z)."""
    body_header = header if world is None else Header(stamp=header.stamp, frame_id=world.frame_id)
    stamp = header.stamp.sec + header.stamp.nanosec * 1e-9
    bodies, skipped, world_roots, histories = [], 0, {}, {}
    up = np.array([0.0, 0.0, 1.0]) if world is not None else up
    for person in result.people:
        body_id = body_ids(person.track_id)
        joints, root = person.joints_h36m, person.translation
        if world is not None:
            joints, root = world.camera_to_world.apply(joints), world.camera_to_world.apply(root)
        settled = person.body != BODY_CONVERGING
        # The camera sits at the camera frame's origin: the ray to the person is the root's camera-frame position.
        ray = person.translation if world is None else world.camera_to_world.rotation @ person.translation
        smoothed, velocity = motion.update(
            body_id, stamp, root, ray, restart=not settled, frame_id=body_header.frame_id
        )
        if world is not None:
            world_roots[person.track_id] = (smoothed, velocity)
        if forecasts is not None:
            history = forecasts.observe(body_id, stamp, joints, restart=not settled, frame_id=body_header.frame_id)
            if history is not None:
                histories[person.track_id] = history
        transforms = body_transforms(body_header, body_id, joints)
        if transforms is None:
            skipped += 1
            continue
        bodies.append(
            EstimatedBody(
                body_id=body_id,
                track_id=person.track_id,
                box=person.box,
                keypoints=person.keypoints,
                score=person.score,
                image_size=person.image_size,
                transforms=transforms,
                position=smoothed,
                velocity=velocity,
                body_settled=settled,
            )
        )
    alive = {body_ids(track_id) for track_id in live_tracks}
    motion.keep_only(alive)
    forecast = {}
    if forecasts is not None:
        forecasts.keep_only(alive)
        if histories:
            forecast = dict(zip(histories, forecasts.forecast(list(histories.values()), up)))
    step_s = STEP_S if forecasts is not None else 0.0
    built = OutputFrame(header, result, image, body_header, bodies, alive, world_roots, forecast, step_s, world)
    return built, skipped


class NodeOutput(ABC):
    """One output of the node. `topics`: the fixed topics it publishes and their types (docs and tests read it);
    `serves`: what an output outside ROS offers instead (the live view's web page)."""

    topics: dict[str, type] = {}
    serves: str = ""

    def __init__(self, context: OutputContext):
        self.context = context
        self._publishers = []

    def publisher(self, kind: type, topic: str, qos):
        publisher = self.context.node.create_lifecycle_publisher(kind, topic, qos)
        self._publishers.append(publisher)
        return publisher

    def activate(self) -> None:  # noqa: B027 (an optional hook: most outputs have nothing to do here)
        """The node has subscribed and its publishers are active (latched topics publish here)."""

    @abstractmethod
    def publish(self, frame: OutputFrame) -> None:
        """One described frame's share of this output."""

    def reset(self) -> None:  # noqa: B027 (an optional hook: only outputs with per-track state override it)
        """Forget everything that belongs to one activation's tracks."""

    def release(self) -> None:
        for publisher in self._publishers:
            self.context.node.destroy_lifecycle_publisher(publisher)
        self._publishers = []
