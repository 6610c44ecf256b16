"""pmce_node: camera images in; people with 3D skeletons and meshes out (HumanArray, Skeleton3D, HumanMesh,
MeshTopology, MarkerArray, people_cloud, diagnostics), and for robot software that reads standard messages: TF
(body_<id> and joint frames), REP-155 bodies (/humans/bodies/...) and /people, each switchable.

A lifecycle node. By default it configures and activates itself at start and exits with status 1 if either
fails; with `--ros-args -p managed:=true` (as launch/pmce.launch.py starts it) it waits for a lifecycle manager.
Transitions, each of which logs any exception with its type and message instead of letting rclpy swallow it:
- configure: reads the parameters and loads every model (detector, ResNet-50 unless the model is pose-only,
  PMCE, body); creates publishers. Any failure (a missing or unreadable file, a value out of range) returns
  FAILURE, back to unconfigured with nothing held, after one log line naming the file and the reason.
- activate: subscribes to `image` and `camera_info`, starts the inference worker, publishes the mesh topology.
  A failure returns ERROR, and on_error releases everything.
- deactivate: unsubscribes, stops the worker (waiting at most stop_timeout_s for the frame in hand), forgets
  tracks, camera infos and shown markers; models stay loaded, CUDA cache emptied.
- cleanup: frees the models and publishers.  shutdown: as cleanup, from any state.
- on_error: releases subscriptions, worker, publishers and models; the node is unconfigured and can be
  configured again.

Threads: subscription callbacks only hand the newest image to the worker (keep-latest, older frames dropped
and counted), so the executor never blocks; the worker converts, runs the pipeline and publishes. Each image's
header travels through the pipeline with it and stamps the outputs that describe that frame.
"""

import functools
import sys
import time

import numpy as np
import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray
from people_msgs.msg import People
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from pmce_ros import settings
from pmce_ros.body.joint_sets import H36M17
from pmce_ros.msg import HumanArray, HumanMesh, MeshTopology, Skeleton3D
from pmce_ros.perception.image_encodings import ImageConversionError, image_to_bgr
from pmce_ros.pipeline import FrameResult, InvalidInput, Pipeline
from pmce_ros.ros.body_frames import body_transforms
from pmce_ros.ros.command_line import NODE_READY, apply_large_images_profile
from pmce_ros.ros.diagnostics import NodeStatistics
from pmce_ros.ros.latest_frame import InferenceWorker, LatestSlot
from pmce_ros.ros.markers import delete_person_markers, person_markers, serialize_marker_array
from pmce_ros.ros.messages import (
    estimate_messages,
    frame_to_human_array,
    intrinsics_from_camera_info,
    stamp_ns,
    topology_to_msg,
)
from pmce_ros.ros.people import PEOPLE_TOPIC, VelocityFilter, people_msg, person_msg
from pmce_ros.ros.people_cloud import people_cloud
from pmce_ros.ros.rep155 import BodyIds, BodyTopics

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)  # as tf2's broadcasters
LOG_THROTTLE_S = 5.0
INPUT_TOPICS = {"image": Image, "camera_info": CameraInfo}
OUTPUT_TOPICS = {
    "humans": HumanArray,
    "skeletons": Skeleton3D,
    "meshes": HumanMesh,
    "mesh_topology": MeshTopology,
    "markers": MarkerArray,
    "people_cloud": PointCloud2,
}
# Standard topics for robot software, each behind a switch parameter.
ROBOT_TOPICS = {
    "publish_tf": ("/tf", TFMessage, TF_QOS),
    "publish_people": (PEOPLE_TOPIC, People, qos_profile_sensor_data),
}
DIAGNOSTICS_TOPIC = "/diagnostics"


def _descriptor(spec: settings.Parameter) -> ParameterDescriptor:
    when = "live: applies to the running node" if spec.live else "read at configure"
    descriptor = ParameterDescriptor(description=f"{spec.description} ({when})")
    if spec.choices:
        descriptor.additional_constraints = f"one of: {', '.join(spec.choices)}"
    if spec.range and isinstance(spec.default, float):
        descriptor.floating_point_range = [
            FloatingPointRange(from_value=float(spec.range[0]), to_value=float(spec.range[1]))
        ]
    elif spec.range:
        descriptor.integer_range = [IntegerRange(from_value=int(spec.range[0]), to_value=int(spec.range[1]))]
    return descriptor


def _transition(on_exception: TransitionCallbackReturn):
    """Wraps a transition callback: an exception is logged with its type and message (rclpy would swallow it),
    whatever the transition holds is released, and the transition returns `on_exception`."""

    def wrap(callback):
        @functools.wraps(callback)
        def guarded(self, state: State) -> TransitionCallbackReturn:
            name = callback.__name__.removeprefix("on_")
            try:
                return callback(self, state)
            except Exception as error:
                self.fault = f"{name} failed: {type(error).__name__}: {error}"
                self.get_logger().error(self.fault)
                if on_exception == TransitionCallbackReturn.FAILURE:
                    self.close()
                return on_exception

        return guarded

    return wrap


class PmceNode(LifecycleNode):
    def __init__(self, **kwargs):
        super().__init__("pmce_node", **kwargs)
        for spec in settings.PARAMETERS:
            self.declare_parameter(spec.name, spec.default, _descriptor(spec))
        self.declare_parameter(
            "managed",
            False,
            ParameterDescriptor(
                description="Wait for a lifecycle manager instead of configuring and activating at start",
                read_only=True,
            ),
        )
        self.stats = NodeStatistics()
        self.slot = LatestSlot()
        self.worker = InferenceWorker(self.slot, self._process, self._on_frame_error, self._on_overstay)
        self.pipeline: Pipeline | None = None
        self.lifecycle = "unconfigured"
        self.fault: str | None = None  # the last transition failure, until a configure succeeds
        self.values = {spec.name: self.get_parameter(spec.name).value for spec in settings.PARAMETERS}
        self.publishers_: dict = {}
        self.subscriptions_: list = []
        self.camera_infos: dict[str, CameraInfo] = {}
        self.shown_tracks: set[int] = set()
        self.body_ids = BodyIds()
        self.body_topics: BodyTopics | None = None
        self.velocities = VelocityFilter()
        self.last_markers = 0.0
        self.diagnostics_timer = None
        self.diagnostics_publisher = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, RELIABLE)
        self._restart_diagnostics_timer(self.values["diagnostics_period_s"])
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # --- lifecycle -------------------------------------------------------------------------------------------

    @_transition(TransitionCallbackReturn.FAILURE)
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        values = {spec.name: self.get_parameter(spec.name).value for spec in settings.PARAMETERS}
        values["torch_threads"] = settings.threads_beside_others(values["torch_threads"])
        self.pipeline = Pipeline(settings.pipeline_config(values))
        self.values = values
        self._restart_diagnostics_timer(values["diagnostics_period_s"])
        # One message per person a frame: the history holds two frames of the most people tracked, so a burst is
        # never overwritten before a slow reliable subscriber has it.
        per_person = QoSProfile(depth=2 * values["max_tracks"], reliability=ReliabilityPolicy.RELIABLE)
        qos = {"mesh_topology": LATCHED, "skeletons": per_person, "meshes": per_person}
        self.publishers_ = {
            topic: self.create_lifecycle_publisher(kind, topic, qos.get(topic, RELIABLE))
            for topic, kind in OUTPUT_TOPICS.items()
        }
        for switch, (topic, kind, qos) in ROBOT_TOPICS.items():
            if values[switch]:
                self.publishers_[topic] = self.create_lifecycle_publisher(kind, topic, qos)
        if values["rep155"]:
            self.body_topics = BodyTopics(self)
        log = self.get_logger().warning if self.pipeline.stand_in else self.get_logger().info
        log(
            f"models loaded: {self.pipeline.weights_description}; PMCE {self.pipeline.execution}"
            + (" -- STAND-IN weights: outputs are not measurements of people" if self.pipeline.stand_in else "")
        )
        self.lifecycle, self.fault = "inactive", None
        return TransitionCallbackReturn.SUCCESS

    @_transition(TransitionCallbackReturn.ERROR)
    def on_activate(self, state: State) -> TransitionCallbackReturn:
        result = super().on_activate(state)
        reliability = (
            ReliabilityPolicy.RELIABLE
            if self.values["image_reliability"] == "reliable"
            else ReliabilityPolicy.BEST_EFFORT
        )
        image_qos = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=reliability)
        info_qos = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.subscriptions_ = [
            self.create_subscription(INPUT_TOPICS["image"], "image", self._on_image, image_qos),
            self.create_subscription(INPUT_TOPICS["camera_info"], "camera_info", self._on_camera_info, info_qos),
        ]
        body = self.pipeline.body
        self.publishers_["mesh_topology"].publish(
            topology_to_msg(Header(stamp=self.get_clock().now().to_msg()), body.faces, body.num_vertices, body.name)
        )
        self.worker.start()
        self.lifecycle = "active"
        self.get_logger().info(f"{NODE_READY} {self.resolve_topic_name('image')}")
        return result

    @_transition(TransitionCallbackReturn.ERROR)
    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_input()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.lifecycle = "inactive"
        return super().on_deactivate(state)

    @_transition(TransitionCallbackReturn.ERROR)
    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self.close()
        return TransitionCallbackReturn.SUCCESS

    @_transition(TransitionCallbackReturn.ERROR)
    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self.close()
        self.lifecycle = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: State) -> TransitionCallbackReturn:
        """After a failed activate, deactivate, cleanup or shutdown: releases everything; unconfigured."""
        try:
            self.close()
        except Exception as error:  # a node that cannot release what it holds cannot be configured again
            self.get_logger().error(f"error recovery failed: {type(error).__name__}: {error}")
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info("released everything after the error; configure to start again")
        return TransitionCallbackReturn.SUCCESS

    def close(self) -> None:
        """Stops input and frees everything, whatever the state (also used when the process exits)."""
        self._stop_input()
        for publisher in self.publishers_.values():
            self.destroy_lifecycle_publisher(publisher)
        self.publishers_ = {}
        if self.body_topics is not None:
            self.body_topics.destroy()
            self.body_topics = None
        self.pipeline = None
        self.lifecycle = "unconfigured"
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _stop_input(self) -> None:
        """Unsubscribes, stops the worker and forgets everything that belongs to one activation."""
        for subscription in self.subscriptions_:
            self.destroy_subscription(subscription)
        self.subscriptions_ = []
        self.worker.stop(self.values["stop_timeout_s"])
        if self.pipeline is not None:
            self.pipeline.reset()
        self.camera_infos.clear()
        self.shown_tracks.clear()
        self.last_markers = 0.0
        self.body_ids.restart()  # the tracker numbers afresh after a reset
        self.velocities.keep_only(set())
        if self.body_topics is not None:
            self.body_topics.end_all()

    # --- parameters ------------------------------------------------------------------------------------------

    def _on_set_parameters(self, parameters) -> SetParametersResult:
        """Live settings apply at once; the others are read at configure and refused while configured."""
        fixed = sorted(p.name for p in parameters if p.name in settings.BY_NAME and not settings.BY_NAME[p.name].live)
        if fixed and self.pipeline is not None:
            return SetParametersResult(
                successful=False,
                reason=(f"{', '.join(fixed)} take effect at configure: deactivate and clean up the node first"),
            )
        changes = {p.name: p.value for p in parameters if p.name in settings.BY_NAME}
        try:
            settings.validate(changes)
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        for name, value in changes.items():
            if settings.BY_NAME[name].live:
                self.values[name] = value
                if name == "diagnostics_period_s":
                    self._restart_diagnostics_timer(value)
        return SetParametersResult(successful=True)

    # --- input -----------------------------------------------------------------------------------------------

    def _on_image(self, msg: Image) -> None:
        self.stats.frame_in()
        self.stats.arrival("image", msg.header.frame_id)
        self.slot.put(msg)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.stats.arrival("camera_info", msg.header.frame_id)
        self.camera_infos[msg.header.frame_id] = msg

    def _reject(self, kind: str, detail: str) -> None:
        self.stats.problem(kind)
        self.get_logger().warning(f"frame dropped, {kind}: {detail}", throttle_duration_sec=LOG_THROTTLE_S)

    def _on_frame_error(self, error: Exception) -> None:
        self._reject("internal error", f"{type(error).__name__}: {error}")

    def _on_overstay(self, busy_s: float) -> None:
        self.stats.problem("frame abandoned (overstayed stop_timeout_s)")
        self.get_logger().error(
            f"a frame has been in the pipeline for {busy_s:.1f} s, longer than stop_timeout_s: "
            f"abandoned, its results will not be published"
        )

    def _process(self, msg: Image) -> None:
        pipeline = self.pipeline
        try:
            image = image_to_bgr(msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian, msg.data)
        except ImageConversionError as error:
            self._reject("bad image", str(error))
            return
        info = self.camera_infos.get(msg.header.frame_id)
        intrinsics = None
        if info is None:
            self.stats.problem("no camera_info (fallback intrinsics)")
            self.get_logger().warning(
                f"no camera_info for frame '{msg.header.frame_id}': using fallback intrinsics",
                throttle_duration_sec=LOG_THROTTLE_S,
            )
        else:
            intrinsics = intrinsics_from_camera_info(info)
            if not intrinsics.valid():
                self.stats.problem("invalid camera_info (fallback intrinsics)")
                self.get_logger().warning(
                    f"invalid camera_info K for '{msg.header.frame_id}': using fallback intrinsics",
                    throttle_duration_sec=LOG_THROTTLE_S,
                )
        try:
            result = pipeline.process(image, stamp_ns(msg.header) * 1e-9, intrinsics, tag=msg.header)
        except InvalidInput as error:
            self._reject("invalid frame", str(error))
            return
        if not self.worker.current():
            return  # abandoned by a stop that did not wait for it
        if result.reset:
            self.body_ids.restart()
            self.get_logger().info(f"{result.reset}: tracks and buffers reset")
        longest_interval = pipeline.frame_intervals_s[1]
        self.stats.frame_out(result, len(pipeline.buffers.tracks), longest_interval * (pipeline.window - 1))
        if result.described_tag is not None:
            started = time.perf_counter()
            self._publish(result.described_tag, result)
            self.stats.stage("publish", 1000 * (time.perf_counter() - started))

    # --- output ----------------------------------------------------------------------------------------------

    def _publish(self, header: Header, result) -> None:
        per_person = {p.track_id: estimate_messages(header, p) for p in result.people}
        for skeleton, mesh in per_person.values():
            self.publishers_["skeletons"].publish(skeleton)
            self.publishers_["meshes"].publish(mesh)
        self.publishers_["humans"].publish(
            frame_to_human_array(
                header,
                result,
                self.pipeline.weights_description,
                self.pipeline.stand_in,
                per_person,
                self.pipeline.config.latency_mode,
            )
        )
        self.publishers_["people_cloud"].publish(people_cloud(header, [(p.track_id, p.mesh) for p in result.people]))
        self._publish_bodies(header, result)
        rate = self.values["markers_rate_hz"]
        now = time.monotonic()
        if rate > 0 and now - self.last_markers >= 1.0 / rate:
            self.last_markers = now
            self._publish_markers(header, result)

    def _publish_bodies(self, header: Header, result: FrameResult) -> None:
        """TF, /people and REP-155 for every estimated person with a body pose (finite joints)."""
        transforms, people, bodies = [], [], []
        stamp = stamp_ns(header) * 1e-9
        for person in result.people:
            body_id = self.body_ids(person.track_id)
            frames = body_transforms(header, body_id, person.joints_h36m)
            if frames is None:
                self.stats.problem("no body pose (non-finite or collapsed joints): no TF, /people or REP-155")
                continue
            transforms += frames
            origin = frames[0].transform.translation
            position = np.array([origin.x, origin.y, origin.z])
            velocity = self.velocities.update(body_id, stamp, position)
            people.append(person_msg(body_id, person.track_id, position, velocity, person.score))
            bodies.append((body_id, person.box, person.keypoints, person.score, person.image_size))
        alive = {self.body_ids(track_id) for track_id in self.pipeline.buffers.tracks}
        self.velocities.keep_only(alive)
        if "/tf" in self.publishers_ and transforms:
            self.publishers_["/tf"].publish(TFMessage(transforms=transforms))
        if PEOPLE_TOPIC in self.publishers_:
            self.publishers_[PEOPLE_TOPIC].publish(people_msg(header, people))
        if self.body_topics is not None:
            self.body_topics.publish(header, bodies, alive)

    def _publish_markers(self, header: Header, result) -> None:
        stamp = (header.stamp.sec, header.stamp.nanosec)
        suffix = " (stand-in)" if self.pipeline.stand_in else ""
        markers = []
        for person in result.people:
            markers += person_markers(
                person.track_id,
                stamp,
                header.frame_id,
                person.mesh,
                self.pipeline.body.faces,
                person.joints_h36m,
                H36M17.edges,
                f"id {person.track_id}{suffix}",
            )
        current = {p.track_id for p in result.people}
        for gone in sorted(self.shown_tracks - current):
            markers += delete_person_markers(gone, stamp, header.frame_id)
        self.shown_tracks = current
        if markers:
            self.publishers_["markers"].publish(serialize_marker_array(markers))

    def _restart_diagnostics_timer(self, period: float) -> None:
        if self.diagnostics_timer is not None:
            self.destroy_timer(self.diagnostics_timer)
        self.diagnostics_timer = self.create_timer(period, self._publish_diagnostics)

    def _publish_diagnostics(self) -> None:
        pipeline = self.pipeline
        self.diagnostics_publisher.publish(
            self.stats.to_message(
                self.get_clock().now().to_msg(),
                self.slot.dropped,
                pipeline.weights_description if pipeline else "none loaded",
                pipeline.stand_in if pipeline else False,
                self.lifecycle,
                self.fault,
            )
        )


def main(args=None) -> int:
    apply_large_images_profile()
    rclpy.init(args=args)
    try:
        node = PmceNode()
    except InvalidParameterValueException as error:
        rclpy.logging.get_logger("pmce_node").error(str(error))
        rclpy.try_shutdown()
        return 2
    try:
        if not node.get_parameter("managed").value:
            if (
                node.trigger_configure() != TransitionCallbackReturn.SUCCESS
                or node.trigger_activate() != TransitionCallbackReturn.SUCCESS
            ):
                return 1
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
