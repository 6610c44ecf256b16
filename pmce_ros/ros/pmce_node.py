"""pmce_node: camera images in; people with 3D skeletons and meshes out. What it publishes is the list of
outputs in pmce_ros.ros.outputs (its messages, mesh topology, markers, people cloud, TF, /people, REP-155), built
at configure from the switch parameters; /diagnostics runs for the node's whole life.

A lifecycle node. By default it configures and activates itself at start and exits with status 1 if either
fails; with `--ros-args -p managed:=true` (as launch/pmce.launch.py starts it) it waits for a lifecycle manager.
Every transition logs an exception with its type and message instead of letting rclpy swallow it
(pmce_ros.ros.transitions).

Threads: subscription callbacks only hand the newest image to the worker (keep-latest, older frames dropped
and counted), so the executor never blocks; the worker converts, runs the pipeline and publishes. Each image's
header travels through the pipeline with it and stamps the outputs that describe that frame.

With `world_frame` set, the worker looks up the camera's transform to it at each image's stamp
(pmce_ros.ros.world_frame): the floor it gives sizes and places people (`floor_constraint`), and the outputs
place bodies in the world frame. A frame without the transform is published in the camera frame, logged
(throttled) and counted in /diagnostics.
"""

import sys
import time

import numpy as np
import rclpy
import torch
from rclpy.exceptions import InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from pmce_ros import settings
from pmce_ros.assets import MOTION_FORECAST_WEIGHTS
from pmce_ros.labels import STAND_IN_WARNING
from pmce_ros.model.forecast import load_forecaster
from pmce_ros.perception.image_encodings import ImageConversionError, image_to_bgr
from pmce_ros.pipeline import InvalidInput, Pipeline
from pmce_ros.ros import parameters
from pmce_ros.ros.body_frames import BodyIds
from pmce_ros.ros.camera_infos import CameraInfos
from pmce_ros.ros.command_line import NODE_READY, apply_large_images_profile
from pmce_ros.ros.diagnostics import DiagnosticsPublisher, NodeStatistics
from pmce_ros.ros.heap import hand_back_free_memory, limit_arenas
from pmce_ros.ros.latest_frame import InferenceWorker, LatestSlot
from pmce_ros.ros.log_bridge import forward_package_logs
from pmce_ros.ros.messages import stamp_ns
from pmce_ros.ros.outputs import OutputContext, build_outputs, output_frame, release_all
from pmce_ros.ros.outputs.base import NO_BODY_POSE, WorldPlacement
from pmce_ros.ros.track_motion import TrackForecasts, TrackMotion
from pmce_ros.ros.transform_buffer import TransformUnavailable
from pmce_ros.ros.transitions import guarded, refuse_unavailable_transitions
from pmce_ros.ros.world_frame import WorldFrame, floor_in_camera

LOG_THROTTLE_S = 5.0
LEVEL_UP = np.array([0.0, -1.0, 0.0])  # up in an optical frame (y down) of a level camera
INPUT_TOPICS = {"image": Image, "camera_info": CameraInfo}


class PmceNode(LifecycleNode):
    def __init__(self, **kwargs):
        super().__init__("pmce_node", **kwargs)
        self.values = parameters.declare(self)
        self.stats = NodeStatistics()
        self.slot = LatestSlot()
        self.worker = InferenceWorker(self.slot, self._process, self._on_frame_error, self._on_overstay)
        self.pipeline: Pipeline | None = None
        self.outputs, self.subscriptions_ = [], []
        self.lifecycle = "unconfigured"
        self.fault: str | None = None  # the last transition failure, until a configure succeeds
        self.camera_infos = CameraInfos()
        self.last_logged: dict[str, float] = {}  # problem kind -> when it was last logged (time.monotonic)
        self.body_ids = BodyIds()
        self.motion = TrackMotion()
        self.forecasts: TrackForecasts | None = None
        self.world: WorldFrame | None = None
        self.diagnostics = DiagnosticsPublisher(self, self._diagnostics, self.values["diagnostics_period_s"])
        forward_package_logs(self.get_logger())
        self.add_on_set_parameters_callback(self._on_set_parameters)
        refuse_unavailable_transitions(self)

    @guarded(TransitionCallbackReturn.FAILURE)
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Loads every model and creates the outputs; FAILURE (nothing held) on any bad file or value."""
        values = parameters.current_values(self)
        values["torch_threads"] = settings.threads_beside_others(values["torch_threads"])
        self.pipeline = Pipeline(settings.pipeline_config(values))
        self.values = values
        self.diagnostics.restart(values["diagnostics_period_s"])
        self.outputs = build_outputs(OutputContext(self, self.pipeline, self.values))
        self.forecasts = TrackForecasts(load_forecaster(MOTION_FORECAST_WEIGHTS)) if values["forecast"] else None
        if values["world_frame"]:
            self.world = WorldFrame(
                self,
                values["world_frame"],
                values["transform_tolerance_s"],
                lambda message: self._warn("bad transform", f"{message}; it is ignored"),
            )
            self.get_logger().info(f"placing people in {values['world_frame']} too, via {self.world.backend}")
        stand_in = f" -- {STAND_IN_WARNING}" if self.pipeline.stand_in else ""
        log = self.get_logger().warning if stand_in else self.get_logger().info
        log(f"models loaded: {self.pipeline.weights_description}; PMCE {self.pipeline.execution}{stand_in}")
        self.lifecycle, self.fault = "inactive", None
        return TransitionCallbackReturn.SUCCESS

    @guarded(TransitionCallbackReturn.ERROR)
    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Subscribes, activates the outputs (the topology is latched) and starts the worker; ERROR on failure."""
        result = super().on_activate(state)
        reliable = self.values["image_reliability"] == "reliable"
        reliability = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        image_qos = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=reliability)
        info_qos = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.subscriptions_ = [
            self.create_subscription(Image, "image", self._on_image, image_qos),
            self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, info_qos),
        ]
        for output in self.outputs:
            output.activate()
        self.worker.start()
        self.lifecycle = "active"
        self.get_logger().info(f"{NODE_READY} {self.resolve_topic_name('image')}")
        return result

    @guarded(TransitionCallbackReturn.ERROR)
    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Unsubscribes and forgets this activation's tracks; the models stay loaded."""
        self._stop_input()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        hand_back_free_memory()
        self.lifecycle = "inactive"
        return super().on_deactivate(state)

    @guarded(TransitionCallbackReturn.ERROR)
    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Frees the models and outputs: back to unconfigured."""
        self.close()
        return TransitionCallbackReturn.SUCCESS

    @guarded(TransitionCallbackReturn.ERROR)
    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """As cleanup, from any state."""
        self.close()
        self.lifecycle = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: State) -> TransitionCallbackReturn:
        """After a failed activate, deactivate, cleanup or shutdown: releases everything; SUCCESS leaves the node
        unconfigured, ready to be configured again; FAILURE when even releasing fails."""
        try:
            self.close()
        except Exception as error:
            self.get_logger().error(f"error recovery failed: {type(error).__name__}: {error}")
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info("released everything after the error; configure to start again")
        return TransitionCallbackReturn.SUCCESS

    def close(self) -> None:
        """Stops input and frees everything, whatever the state (also used when the process exits)."""
        self._stop_input()
        release_all(self.outputs)
        if self.world is not None:
            self.world.close()
        self.outputs, self.pipeline, self.world, self.forecasts = [], None, None, None
        self.lifecycle = "unconfigured"
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        hand_back_free_memory()

    def _stop_input(self) -> None:
        """Unsubscribes, stops the worker and forgets everything that belongs to one activation."""
        for subscription in self.subscriptions_:
            self.destroy_subscription(subscription)
        self.subscriptions_ = []
        self.worker.stop(self.values["stop_timeout_s"])
        if self.pipeline is not None:
            self.pipeline.reset()
        self.camera_infos.clear()
        self.body_ids.restart()  # the tracker numbers afresh after a reset
        self.motion.keep_only(set())
        if self.forecasts is not None:
            self.forecasts.keep_only(set())
        for output in self.outputs:
            output.reset()

    def _on_set_parameters(self, changes) -> parameters.SetParametersResult:
        result, live = parameters.review_changes(changes, configured=self.pipeline is not None)
        self.values.update(live)
        if "diagnostics_period_s" in live:
            self.diagnostics.restart(live["diagnostics_period_s"])
        return result

    def _on_image(self, msg: Image) -> None:
        self.stats.frame_in()
        self.stats.arrival("image", msg.header.frame_id)
        self.slot.put(msg)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.stats.arrival("camera_info", msg.header.frame_id)
        self.camera_infos.put(msg)

    def _warn(self, kind: str, message: str) -> None:
        """Counts the problem and logs it at most once per LOG_THROTTLE_S for each kind (rclpy's own throttle
        counts per call site, and would let one kind hide another)."""
        self.stats.problem(kind)
        now = time.monotonic()
        if now - self.last_logged.get(kind, -LOG_THROTTLE_S) >= LOG_THROTTLE_S:
            self.last_logged[kind] = now
            self.get_logger().warning(message)

    def _on_frame_error(self, error: Exception) -> None:
        self._warn("internal error", f"frame dropped, internal error: {type(error).__name__}: {error}")

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
            intrinsics, problem = self.camera_infos.intrinsics_for(msg.header.frame_id)
            if problem:
                self._warn(*problem)
            world = self._world_placement(msg.header)
            floor = None
            if world is not None and self.values["floor_constraint"]:
                floor = floor_in_camera(world.camera_to_world, self.values["floor_height"])
            result = pipeline.process(
                image, stamp_ns(msg.header) * 1e-9, intrinsics, tag=(msg.header, world), floor=floor
            )
        except (ImageConversionError, InvalidInput) as error:
            kind = "bad image" if isinstance(error, ImageConversionError) else "invalid frame"
            self._warn(kind, f"frame dropped, {kind}: {error}")
            return
        if not self.worker.current():
            return  # abandoned by a stop that did not wait for it
        if result.reset:
            self.body_ids.restart()
            self.get_logger().info(f"{result.reset}: tracks and buffers reset")
        trained_span = pipeline.frame_intervals_s[1] * (pipeline.window - 1)
        self.stats.frame_out(result, len(pipeline.buffers.tracks), trained_span, pipeline.intervals_behind)
        if result.described_tag is None:
            return
        started = time.perf_counter()
        header, world = result.described_tag
        frame, skipped = output_frame(
            header, result, image, self.body_ids, pipeline.buffers.tracks, self.motion, world, self.forecasts, LEVEL_UP
        )
        for _ in range(skipped):
            self.stats.problem(NO_BODY_POSE)
        for output in self.outputs:
            output.publish(frame)
        self.stats.stage("publish", 1000 * (time.perf_counter() - started))

    def _world_placement(self, header) -> WorldPlacement | None:
        """The camera's pose in world_frame at the image's stamp; None (logged, counted) when it is not known."""
        if self.world is None:
            return None
        try:
            camera_to_world = self.world.lookup(header.frame_id, stamp_ns(header))
        except TransformUnavailable as error:
            self._warn(
                "no transform to world_frame",
                f"no transform {header.frame_id} -> {self.world.world_frame} at the image's stamp, published in "
                f"the camera frame only: {error}",
            )
            return None
        return WorldPlacement(self.world.world_frame, camera_to_world)

    def _diagnostics(self, stamp):
        pipeline = self.pipeline
        weights = pipeline.weights_description if pipeline else "none loaded"
        stand_in = pipeline.stand_in if pipeline else False
        in_hand = int(self.slot.holding) + int(self.worker.busy)
        return self.stats.to_message(stamp, self.slot.dropped, weights, stand_in, self.lifecycle, self.fault, in_hand)


def main(args=None) -> int:
    limit_arenas()  # before rclpy and torch start their threads
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
            configured = node.trigger_configure() == TransitionCallbackReturn.SUCCESS
            if not configured or node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
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
