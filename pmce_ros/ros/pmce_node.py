"""pmce_node: camera images in; people with 3D skeletons and meshes out (HumanArray, Skeleton3D, HumanMesh,
MeshTopology, MarkerArray, diagnostics).

A lifecycle node. By default it configures and activates itself at start; with `--ros-args -p managed:=true` it
waits for a lifecycle manager. Transitions:
- configure: reads the parameters and loads every model (detector, ResNet-50, PMCE, body); creates publishers.
  FAILURE (back to unconfigured) with one log line when a file is missing or a parameter is out of range.
- activate: subscribes to `image` and `camera_info`, starts the inference worker, publishes the mesh topology.
- deactivate: unsubscribes, stops the worker, forgets tracks; models stay loaded, CUDA cache emptied.
- cleanup: frees the models and publishers.  shutdown: as cleanup, from any state.

Threads: subscription callbacks only hand the newest image to the worker (keep-latest, older frames dropped
and counted), so the executor never blocks; the worker converts, runs the pipeline and publishes.
"""

import sys
import threading
import time
from collections import deque

import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from pmce_ros import settings
from pmce_ros.body.joint_sets import H36M17
from pmce_ros.msg import HumanArray, HumanMesh, MeshTopology, Skeleton3D
from pmce_ros.perception.image_encodings import ImageConversionError, image_to_bgr
from pmce_ros.pipeline import InvalidInput, Pipeline
from pmce_ros.ros.command_line import NODE_READY
from pmce_ros.ros.diagnostics import NodeStatistics
from pmce_ros.ros.latest_frame import LatestSlot
from pmce_ros.ros.markers import delete_person_markers, person_markers, serialize_marker_array
from pmce_ros.ros.messages import (
    estimate_messages,
    frame_to_human_array,
    intrinsics_from_camera_info,
    stamp_ns,
    topology_to_msg,
)

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
LOG_THROTTLE_S = 5.0
INPUT_TOPICS = {"image": Image, "camera_info": CameraInfo}
OUTPUT_TOPICS = {
    "humans": HumanArray,
    "skeletons": Skeleton3D,
    "meshes": HumanMesh,
    "mesh_topology": MeshTopology,
    "markers": MarkerArray,
}
DIAGNOSTICS_TOPIC = "/diagnostics"


def _descriptor(spec: settings.Parameter) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(description=spec.description)
    if spec.choices:
        descriptor.additional_constraints = f"one of: {', '.join(spec.choices)}"
    if spec.range and isinstance(spec.default, float):
        descriptor.floating_point_range = [
            FloatingPointRange(from_value=float(spec.range[0]), to_value=float(spec.range[1]))
        ]
    elif spec.range:
        descriptor.integer_range = [IntegerRange(from_value=int(spec.range[0]), to_value=int(spec.range[1]))]
    return descriptor


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
        self.pipeline: Pipeline | None = None
        self.values: dict = {}
        self.publishers_: dict = {}
        self.subscriptions_: list = []
        self.camera_infos: dict[str, CameraInfo] = {}
        self.recent_headers: deque[tuple[float, Header]] = deque(maxlen=32)
        self.shown_tracks: set[int] = set()
        self.last_markers = 0.0
        self.worker: threading.Thread | None = None
        self.running = threading.Event()
        self.diagnostics_timer = None
        self.diagnostics_publisher = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, RELIABLE)
        self._restart_diagnostics_timer(settings.BY_NAME["diagnostics_period_s"].default)

    # --- lifecycle -------------------------------------------------------------------------------------------

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        values = {spec.name: self.get_parameter(spec.name).value for spec in settings.PARAMETERS}
        try:
            self.pipeline = Pipeline(settings.pipeline_config(values))
        except (ValueError, FileNotFoundError, RuntimeError) as error:
            self.get_logger().error(f"configure failed: {error}")
            return TransitionCallbackReturn.FAILURE
        self.values = values
        self._restart_diagnostics_timer(values["diagnostics_period_s"])
        self.publishers_ = {
            topic: self.create_lifecycle_publisher(kind, topic, LATCHED if topic == "mesh_topology" else RELIABLE)
            for topic, kind in OUTPUT_TOPICS.items()
        }
        log = self.get_logger().warning if self.pipeline.stand_in else self.get_logger().info
        log(
            f"models loaded: {self.pipeline.weights_description}; PMCE {self.pipeline.execution}"
            + (" -- STAND-IN weights: outputs are not measurements of people" if self.pipeline.stand_in else "")
        )
        return TransitionCallbackReturn.SUCCESS

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
        self.slot.reopen()
        self.running.set()
        self.worker = threading.Thread(target=self._work, name="pmce_inference", daemon=True)
        self.worker.start()
        self.get_logger().info(f"{NODE_READY} {self.resolve_topic_name('image')}")
        return result

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_input()
        self.pipeline.reset()
        self.shown_tracks.clear()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self.close()
        return TransitionCallbackReturn.SUCCESS

    def close(self) -> None:
        """Stops input and frees everything, whatever the state (also used when the process exits)."""
        self._stop_input()
        self._release()

    def _stop_input(self) -> None:
        for subscription in self.subscriptions_:
            self.destroy_subscription(subscription)
        self.subscriptions_ = []
        self.running.clear()
        self.slot.close()
        if self.worker is not None:
            self.worker.join()
            self.worker = None

    def _release(self) -> None:
        for publisher in self.publishers_.values():
            self.destroy_lifecycle_publisher(publisher)
        self.publishers_ = {}
        self.pipeline = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # --- input -----------------------------------------------------------------------------------------------

    def _on_image(self, msg: Image) -> None:
        self.stats.frame_in()
        self.slot.put(msg)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.camera_infos[msg.header.frame_id] = msg

    def _reject(self, kind: str, detail: str) -> None:
        self.stats.problem(kind)
        self.get_logger().warning(f"frame dropped, {kind}: {detail}", throttle_duration_sec=LOG_THROTTLE_S)

    def _work(self) -> None:
        while self.running.is_set():
            msg = self.slot.take(timeout=0.5)
            if msg is not None:
                try:
                    self._process(msg)
                except Exception as error:  # the worker must survive anything one frame can cause
                    self._reject("internal error", repr(error))

    def _process(self, msg: Image) -> None:
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
        stamp = stamp_ns(msg.header) * 1e-9
        try:
            result = self.pipeline.process(image, stamp, intrinsics)
        except InvalidInput as error:
            self._reject("invalid frame", str(error))
            return
        if result.reset:
            self.recent_headers.clear()
            self.get_logger().info("image stamps went backwards (bag loop?): tracks and buffers reset")
        self.recent_headers.append((stamp, msg.header))
        self.stats.frame_out(result.timings_ms, len(self.pipeline.buffers.tracks), result.reset)
        if result.described_stamp is not None:
            header = next(h for s, h in self.recent_headers if s == result.described_stamp)
            self._publish(header, result)

    # --- output ----------------------------------------------------------------------------------------------

    def _publish(self, header: Header, result) -> None:
        per_person = {p.track_id: estimate_messages(header, p) for p in result.people}
        for skeleton, mesh in per_person.values():
            self.publishers_["skeletons"].publish(skeleton)
            self.publishers_["meshes"].publish(mesh)
        self.publishers_["humans"].publish(
            frame_to_human_array(header, result, self.pipeline.weights_description, self.pipeline.stand_in, per_person)
        )
        rate = self.values["markers_rate_hz"]
        now = time.monotonic()
        if rate > 0 and now - self.last_markers >= 1.0 / rate:
            self.last_markers = now
            self._publish_markers(header, result)

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
                pipeline is not None,
            )
        )


def main(args=None) -> int:
    rclpy.init(args=args)
    try:
        node = PmceNode()
    except InvalidParameterValueException as error:
        rclpy.logging.get_logger("pmce_node").error(str(error))
        rclpy.try_shutdown()
        return 2
    try:
        if not node.get_parameter("managed").value:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                return 1
            node.trigger_activate()
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
