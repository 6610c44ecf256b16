"""Running counters of the node, summarised as a diagnostic_msgs/DiagnosticArray and published on a timer."""

import threading
import time
from collections import Counter, deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

STATUS_NAME = "pmce_ros: pmce_node"
DIAGNOSTICS_TOPIC = "/diagnostics"
RATE_WINDOW_S = 5.0
# camera_info at least this often, and images at a third of its rate or less: images are being lost.
LOSS_MIN_INFO_HZ = 1.0
LOSS_RATIO = 3.0


class NodeStatistics:
    """Thread-safe counts and timings, written by the callbacks and the worker, read by the diagnostics timer."""

    def __init__(self):
        self._lock = threading.Lock()
        self._inputs: deque[float] = deque()
        self._arrivals: dict[tuple[str, str], deque] = {}  # (image | camera_info, frame_id) -> arrival times
        self._outputs: deque[float] = deque()
        self._stage_ms: dict[str, deque] = {}
        self.problems: Counter[str] = Counter()
        self.frames_in = 0
        self.frames_out = 0
        self.resets = 0
        self.live_tracks = 0
        self.window_span_s = 0.0  # median over the last frame's estimates
        self.trained_span_s = 0.0
        self.beyond_training = False
        self.intervals_behind = 0

    @staticmethod
    def _tick(times: deque, now: float) -> None:
        times.append(now)
        while times and now - times[0] > RATE_WINDOW_S:
            times.popleft()

    def arrival(self, kind: str, frame_id: str) -> None:
        """An image or camera_info (`kind`) arrived for camera `frame_id`."""
        with self._lock:
            self._tick(self._arrivals.setdefault((kind, frame_id), deque()), time.monotonic())

    def transport_losses(self) -> list[str]:
        """Cameras whose camera_info arrives much faster than their images: the images (large, best effort) are
        being lost on the way, typically to too small DDS or kernel socket buffers."""
        now, lines = time.monotonic(), []
        for (kind, frame_id), times in self._arrivals.items():
            if kind != "camera_info":
                continue
            info = self._rate(times) if times and now - times[-1] < RATE_WINDOW_S else 0.0
            images = self._arrivals.get(("image", frame_id), deque())
            image = self._rate(images) if images and now - images[-1] < RATE_WINDOW_S else 0.0
            if info >= LOSS_MIN_INFO_HZ and image < info / LOSS_RATIO:
                lines.append(f"'{frame_id}': camera_info {info:.1f} Hz, images {image:.1f} Hz")
        return lines

    def frame_in(self) -> None:
        with self._lock:
            self.frames_in += 1
            self._tick(self._inputs, time.monotonic())

    def frame_out(self, result, live_tracks: int, trained_span_s: float, intervals_behind: int) -> None:
        """A processed FrameResult; `trained_span_s` is the longest window span the model was trained on,
        `intervals_behind` how many intervals the described frame lies behind the newest."""
        with self._lock:
            self.intervals_behind = intervals_behind
            self.frames_out += 1
            self._tick(self._outputs, time.monotonic())
            self.live_tracks = live_tracks
            self.resets += result.reset is not None
            for stage, value in result.timings_ms.items():
                self._add_stage(stage, value)
            spans = [p.window_span_s for p in result.people]
            if spans:
                self.window_span_s = float(np.median(spans))
            self.trained_span_s = trained_span_s
            self.beyond_training = result.beyond_training

    def _add_stage(self, name: str, ms: float) -> None:
        self._stage_ms.setdefault(name, deque(maxlen=50)).append(ms)

    def stage(self, name: str, ms: float) -> None:
        """The time of a stage outside the pipeline (publishing), reported beside the pipeline's."""
        with self._lock:
            self._add_stage(name, ms)

    def problem(self, kind: str) -> None:
        with self._lock:
            self.problems[kind] += 1

    def _rate(self, times: deque) -> float:
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)

    def to_message(
        self,
        stamp,
        dropped: int,
        weights: str,
        stand_in: bool,
        lifecycle: str,
        fault: str | None = None,
        in_hand: int = 0,
    ) -> DiagnosticArray:
        """`lifecycle` is the node's state label; `fault` the last failed transition, if any since the last
        successful configure; `in_hand` the frames taken in and not yet handled (waiting or being processed)."""
        with self._lock:
            values = {
                "input rate (Hz)": f"{self._rate(self._inputs):.2f}",
                "output rate (Hz)": f"{self._rate(self._outputs):.2f}",
                "frames in": str(self.frames_in),
                "frames processed": str(self.frames_out),
                "frames dropped (model busy)": str(dropped),
                "frames in hand": str(in_hand),
                "live tracks": str(self.live_tracks),
                "buffer resets (stamps went back)": str(self.resets),
                "weights": weights,
                "stand-in weights": str(stand_in),
                "window span (s)": f"{self.window_span_s:.2f}",
                "longest window span trained (s)": f"{self.trained_span_s:.2f}",
                "described frame lag (intervals)": str(self.intervals_behind),
                "lifecycle state": lifecycle,
            }
            for stage, samples in sorted(self._stage_ms.items()):
                values[f"{stage} latency median (ms)"] = f"{np.median(samples):.1f}"
            for kind, count in sorted(self.problems.items()):
                values[f"rejected: {kind}"] = str(count)
            losses = self.transport_losses()
        level, message = _summary(lifecycle, fault, stand_in, bool(self.problems))
        if losses and lifecycle == "active" and not fault:
            values["images lost in transport"] = "; ".join(losses)
            level = _at_least_warn(level)
            message += "; images lost in transport (" + "; ".join(losses) + "): raise the DDS and socket buffers"
        if self.beyond_training and lifecycle == "active" and not fault:
            level = _at_least_warn(level)
            message += (
                f"; windows span {self.window_span_s:.2f} s, beyond the {self.trained_span_s:.2f} s the model was "
                f"trained on (frames processed too slowly)"
            )
        status = DiagnosticStatus(
            level=level,
            name=STATUS_NAME,
            message=message,
            hardware_id="pmce_ros",
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )
        return DiagnosticArray(header=Header(stamp=stamp), status=[status])


def _at_least_warn(level: bytes) -> bytes:
    return max(level, DiagnosticStatus.WARN, key=lambda v: int.from_bytes(v, "little"))


def _summary(lifecycle: str, fault: str | None, stand_in: bool, problems: bool) -> tuple[bytes, str]:
    """Level and message: ERROR only for a real fault; a node deliberately not active is OK and says so."""
    if fault:
        return DiagnosticStatus.ERROR, f"{lifecycle}: {fault}"
    if lifecycle == "unconfigured":
        return DiagnosticStatus.OK, "unconfigured: no models loaded, waiting for configure"
    if lifecycle == "inactive":
        return DiagnosticStatus.OK, "inactive: models loaded, not subscribed, waiting for activate"
    if stand_in:
        return DiagnosticStatus.WARN, "active, with stand-in weights: outputs are not measurements"
    if problems:
        return DiagnosticStatus.WARN, "active; some input was rejected"
    return DiagnosticStatus.OK, "active"


class DiagnosticsPublisher:
    """/diagnostics for the node's whole life, unconfigured included (it reports the lifecycle state): unlike the
    outputs it is not created at configure. `report(stamp)` builds the message."""

    def __init__(self, node, report, period_s: float):
        self.node, self.report = node, report
        self.publisher = node.create_publisher(
            DiagnosticArray, DIAGNOSTICS_TOPIC, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        )
        self.timer = None
        self.restart(period_s)

    def restart(self, period_s: float) -> None:
        if self.timer is not None:
            self.node.destroy_timer(self.timer)
        self.timer = self.node.create_timer(period_s, self._publish)

    def _publish(self) -> None:
        self.publisher.publish(self.report(self.node.get_clock().now().to_msg()))
