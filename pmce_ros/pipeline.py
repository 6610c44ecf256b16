"""Frames in, per-person 3D estimates out: detection + tracking, crops + features, ring buffers, one batched
PMCE call for every ready track, and camera-frame placement. No ROS here or below.

Windows are built by time. Each track's buffer keeps its stamped detections; a window holds T (the model's
num_frames) samples spaced by the frame interval the model was trained for (the authors' weights: 1/30 s; ours:
the range their checkpoint records). A camera faster than that is subsampled; a slower processing rate stretches
the window to the actual interval, and a span beyond the trained range is flagged (`beyond_training`). A sample
takes the detection nearest to it; a person not seen within one interval of a sample gets no estimate (no
repeated detections), and neither does a person not detected in the described frame itself.

Latency (`latency_mode`): "centered" (the authors' model) describes the window's middle frame, so an estimate
comes (T - 1 - T // 2) intervals after its frame: 7 frames, 233 ms at 30 fps. "causal" describes the newest frame:
with a model trained for it (ours, `causal` in its checkpoint) the window is the past T samples; with a centered
model the window's future half is filled with the newest frame (a documented approximation). New tracks are
withheld until their window is covered (`warmup="withhold"`) or, with `warmup="edge_pad"`, samples before their
first detection take it. A model without an image stream (pose-only) gets no crops and no ResNet-50 features.
"""

import contextlib
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from pmce_ros.assets import default_pmce_weights
from pmce_ros.body.body_model import BodyModel, smpl_body_model, synthetic_body_model
from pmce_ros.body.joint_sets import coco17_to_coco19, regress_joints
from pmce_ros.body.synthetic import STAND_IN_NAME
from pmce_ros.model import PMCE, PMCEConfig, load_pmce_weights
from pmce_ros.model.checkpoint import (
    AUTHORS_FRAME_INTERVAL_S,
    FRAME_INTERVALS_KEY,
    read_checkpoint_file,
    recorded_config,
)
from pmce_ros.model.compiled import CompiledPMCE
from pmce_ros.model.seeding import seeded
from pmce_ros.perception.crops import crop_people
from pmce_ros.perception.features import FeatureExtractor, FeatureExtractorConfig
from pmce_ros.perception.placement import Intrinsics, solve_root_translation, translation_from_box
from pmce_ros.perception.pose_tracker import Detections, PoseTracker, PoseTrackerConfig
from pmce_ros.perception.track_buffers import FrameEntry, TrackBuffers, normalize_keypoints

MIN_IMAGE_SIDE = 32
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
LATENCY_MODES = ("centered", "causal")
PLACEMENT_CONFIDENCE = 0.3
BUFFER_CAPACITY = 128  # detections kept per track: a 16-sample window from a camera up to 8x faster than trained
RATE_FRAMES = 9  # processed frames whose intervals give the current processing interval (median)


class InvalidInput(ValueError):
    """A frame that cannot be processed; the pipeline state is unchanged and the next frame is handled normally."""


@dataclass(frozen=True)
class PipelineConfig:
    detector: PoseTrackerConfig = PoseTrackerConfig()
    features: FeatureExtractorConfig = FeatureExtractorConfig()
    pmce: PMCEConfig = PMCEConfig(num_joints=19)
    pmce_weights: Path | None = None  # authors' or our checkpoint; None = the package's pose-only weights
    allow_untrained_pmce: bool = False  # no weights: random PMCE weights, outputs marked as stand-ins
    smpl_model: Path | None = None  # SMPL .npz/.pkl; None = the synthetic stand-in body
    authors_assets: Path | None = None  # folder with the release's base data (needed with smpl_model)
    device: str = "cpu"
    precision: str = "fp32"  # "fp32" | "fp16" | "bf16" (autocast for ResNet-50 and PMCE)
    compile_max_batch: int = 0  # > 0: PMCE through torch.compile for up to this many people a call
    torch_threads: int = 0  # > 0: torch's CPU threads for the whole process
    latency_mode: str = "centered"  # "centered" (the window's middle frame) | "causal" (the newest frame)
    warmup: str = "withhold"  # "withhold" | "edge_pad"
    evict_after_s: float = 1.0  # drop a track unseen for this long
    max_tracks: int = 32


@dataclass
class PersonEstimate:
    """One person at the described frame. Positions in the camera optical frame (x right, y down, z forward),
    metres."""

    track_id: int
    stamp: float
    box: np.ndarray  # (4,) pixels, at the described frame
    keypoints: np.ndarray  # (17, 3) pixels + confidence, at the described frame
    score: float  # the detector's person score at the described frame
    image_size: tuple[int, int]  # (width, height) of the described frame
    mesh: np.ndarray  # (V, 3)
    joints: np.ndarray  # (19, 3) COCO-19, the model's own joints
    joints_h36m: np.ndarray  # (17, 3) Human3.6M-17 regressed from the mesh
    translation: np.ndarray  # (3,) root position
    placement: str  # "keypoints" (least squares) or "box" (nominal-height fallback)
    padded_frames: int  # window samples before the track's first detection (edge padding)
    window_span_s: float  # time from the window's first sample to its last real one


@dataclass
class PendingPerson:
    """A tracked person with no estimate for the described frame, and why."""

    track_id: int
    box: np.ndarray  # at the described frame, or where the person was last seen
    keypoints: np.ndarray
    reason: str  # "window filling" | "not seen in this frame" | "gap in track"


@dataclass
class FrameResult:
    stamp: float  # the processed (newest) frame
    described_stamp: float | None  # the frame the estimates describe; None until a window can be built
    described_tag: object  # what the caller passed with that frame (the node: its Header)
    detections: Detections  # people in the newest frame
    people: list[PersonEstimate]
    pending: list[PendingPerson]  # every other tracked person
    intrinsics_source: str  # "given" | "fallback (none given)" | "fallback (invalid: ...)"
    reset: str | None = None  # why buffers and tracker were reset first (stamps went back or jumped forward)
    window_interval_s: float = 0.0  # the spacing of this frame's window samples
    beyond_training: bool = False  # that spacing is longer than any the model was trained on
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedPMCE:
    model: PMCE
    name: str  # file name and label, or what stands in
    stand_in: bool  # untrained, or trained on synthetic data only
    frame_intervals_s: tuple[float, float]  # shortest and longest window spacing it was trained on


def _recorded_architecture(weights: Path, config: PipelineConfig, content, body: BodyModel):
    """Architecture, label, whether the stand-in body was trained on, and the trained window spacing, as our
    checkpoints record them (the authors' files record none: theirs is the default architecture at 30 fps),
    checked against the pipeline's body, latency mode and feature settings."""
    recorded = recorded_config(content)
    if recorded is None:
        return config.pmce, "", False, (AUTHORS_FRAME_INTERVAL_S, AUTHORS_FRAME_INTERVAL_S)
    trained_on = content.get("body", "")
    if trained_on and (trained_on == STAND_IN_NAME) != body.stand_in:
        raise ValueError(
            f"{weights} was trained on {trained_on!r}, but the pipeline uses {body.name!r}: "
            f"their vertices do not correspond"
        )
    if recorded.causal and config.latency_mode != "causal":
        raise ValueError(f"{weights} is trained to describe the newest frame: it needs latency_mode 'causal'")
    if not recorded.image_stream and config.features.weights is not None:
        raise ValueError(
            f"{weights} is a pose-only PMCE that reads no image features: feature_weights "
            f"{config.features.weights} would not be used; leave it empty"
        )
    intervals = tuple(float(v) for v in content.get(FRAME_INTERVALS_KEY, (AUTHORS_FRAME_INTERVAL_S,) * 2))
    return replace(recorded, fast=config.pmce.fast), content.get("label", ""), trained_on == STAND_IN_NAME, intervals


def build_pmce(config: PipelineConfig, body: BodyModel, device: str) -> LoadedPMCE:
    """The network with its weights, named, and what they were trained on. Without pmce_weights: the package's
    pose-only weights for the latency mode, or random weights with allow_untrained_pmce."""
    weights = config.pmce_weights
    if weights is None and not config.allow_untrained_pmce:
        weights = default_pmce_weights(config.latency_mode == "causal")
    architecture, label, synthetic = config.pmce, "", False
    intervals, content = (AUTHORS_FRAME_INTERVAL_S, AUTHORS_FRAME_INTERVAL_S), None
    if weights is not None:
        content = read_checkpoint_file(weights)  # read once: the authors' files hold 412 MB
        architecture, label, synthetic, intervals = _recorded_architecture(weights, config, content, body)
    if architecture.num_joints != 19:
        raise ValueError("the pipeline feeds COCO-19 keypoints: PMCEConfig.num_joints must be 19")
    with seeded():  # untrained stand-ins are the same network in every process
        model = PMCE(
            architecture, vertex_joint_index=body.coarse.vertex_joint_index, init_vertices=body.coarse.vertices
        )
    if weights is None:
        return LoadedPMCE(model.eval().to(device), "untrained PMCE (stand-in, random weights)", True, intervals)
    if load_pmce_weights(model, weights, content) != "full":
        raise ValueError(f"{weights} is a stage-1 pose checkpoint; the pipeline needs full PMCE weights")
    # Weights trained on the stand-in body (synthetic data) stand in for trained ones.
    name = Path(weights).name + (f" ({label})" if label else "")
    return LoadedPMCE(model.eval().to(device), name, synthetic, intervals)


@contextlib.contextmanager
def _reading(what: str, path: Path | None):
    """Any failure to build from a user's file (a corrupt zip, a malformed pickle, a truncated checkpoint) comes
    out as one ValueError naming the file and the reason."""
    try:
        yield
    except Exception as error:
        if path is None or str(path) in str(error):
            raise
        raise ValueError(f"{what} {path}: {type(error).__name__}: {error}") from error


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InvalidInput(f"expected a uint8 numpy image, got {type(image).__name__} {getattr(image, 'dtype', '')}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:  # greyscale: replicate into three channels
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidInput(f"expected an (H, W, 3) BGR or (H, W) grey image, got shape {image.shape}")
    if min(image.shape[:2]) < MIN_IMAGE_SIDE:
        raise InvalidInput(f"image {image.shape[1]}x{image.shape[0]} is smaller than {MIN_IMAGE_SIDE} px a side")
    return image


def autocast(device: str, precision: str):
    """The context the networks run in: plain fp32, or autocast to fp16 / bf16 on the device's type."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=PRECISIONS[precision])


def to_device(array: np.ndarray, device: str) -> torch.Tensor:
    """numpy -> tensor on `device`; through pinned memory and an asynchronous copy for CUDA."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if torch.device(device).type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


class Pipeline:
    def __init__(self, config: PipelineConfig = PipelineConfig()):
        if config.warmup not in ("withhold", "edge_pad"):
            raise ValueError(f"warmup must be 'withhold' or 'edge_pad', got {config.warmup!r}")
        if config.latency_mode not in LATENCY_MODES:
            raise ValueError(f"latency_mode must be 'centered' or 'causal', got {config.latency_mode!r}")
        if config.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {config.precision!r}")
        self.config = config
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        with _reading("SMPL model", config.smpl_model):
            self.body = (
                smpl_body_model(config.smpl_model, config.authors_assets)
                if config.smpl_model
                else synthetic_body_model()
            )
        with _reading("PMCE weights", config.pmce_weights):
            loaded = build_pmce(config, self.body, config.device)
        self.model = loaded.model
        model = self.model.config
        self.window = model.num_frames
        self.described_index = model.described_frame
        self.frame_intervals_s = loaded.frame_intervals_s
        # Intervals between the described frame and the newest: none in causal mode.
        self.intervals_behind = 0 if config.latency_mode == "causal" else self.window - 1 - self.described_index
        self.run_pmce, self.execution = self.model, "eager"
        if config.compile_max_batch:
            self.run_pmce = CompiledPMCE(self.model, config.compile_max_batch)
            with self._pmce_context():
                seconds = self.run_pmce.warm_up()
            self.execution = "compiled for batches " + ", ".join(
                f"{size} ({took:.0f} s)" for size, took in seconds.items()
            )
        with _reading("pose weights", config.detector.weights):
            self.tracker = PoseTracker(config.detector)
        self.features = None
        if model.image_stream:
            with _reading("feature weights", config.features.weights):
                self.features = FeatureExtractor(config.features)
        self.buffers = TrackBuffers(BUFFER_CAPACITY, config.evict_after_s, config.max_tracks)
        # (number, stamp, caller's tag) of the latest processed frames; numbers identify frames, stamps time them.
        self.recent_frames: deque[tuple[int, float, object]] = deque(maxlen=BUFFER_CAPACITY)
        self.last_described: int | None = None  # number of the newest frame described
        self.frames_processed = 0
        self.stand_in = loaded.stand_in or self.body.stand_in or bool(self.features and self.features.stand_in)
        self.weights = {
            "pose": f"{Path(config.detector.weights).name} ({self.tracker.backend})",
            "features": self.features.weights_name if self.features else "none (pose-only model)",
            "pmce": loaded.name,
            "body": self.body.name,
        }

    @property
    def weights_description(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.weights.items())

    def _pmce_context(self):
        """Where every PMCE call runs, warm-up included: compiled graphs are guarded on the grad and autocast mode
        and would compile again under another."""
        context = contextlib.ExitStack()
        context.enter_context(torch.inference_mode())
        context.enter_context(autocast(self.config.device, self.config.precision))
        return context

    def reset(self) -> None:
        self.buffers.reset()
        self.tracker.reset()
        self.recent_frames.clear()

    def _intrinsics(self, intrinsics: Intrinsics | None, width: int, height: int) -> tuple[Intrinsics, str]:
        if intrinsics is None:
            return Intrinsics.fallback(width, height), "fallback (none given)"
        if not intrinsics.valid():
            return Intrinsics.fallback(width, height), f"fallback (invalid: {intrinsics})"
        return intrinsics, "given"

    def _reset_reason(self, stamp: float) -> str | None:
        """Why the state must go before this frame: stamps went back, or jumped forward by more than both
        evict_after_s and three of the usual intervals (a steady slow stream is not a jump)."""
        if not self.recent_frames:
            return None
        last = self.recent_frames[-1][1]
        if stamp < last:
            return "image stamps went backwards (bag loop?)"
        usual = self._processing_interval() or 0.0
        if stamp - last > max(self.config.evict_after_s, 3 * usual):
            return f"image stamps jumped forward by {stamp - last:.1f} s (more than evict_after_s)"
        return None

    def _processing_interval(self) -> float | None:
        """Median interval between the last processed frames; None before there are two."""
        stamps = [s for _, s, _ in list(self.recent_frames)[-RATE_FRAMES:]]
        return float(np.median(np.diff(stamps))) if len(stamps) > 1 else None

    def window_interval(self) -> tuple[float, bool]:
        """The spacing of window samples now: the processing interval (median over the last frames) but never
        shorter than the shortest the model was trained on; and whether it is longer than the longest."""
        shortest, longest = self.frame_intervals_s
        processing = self._processing_interval() or shortest
        interval = max(processing, shortest)
        return interval, interval > longest * 1.05

    def process(
        self, image_bgr: np.ndarray, stamp: float, intrinsics: Intrinsics | None = None, tag: object = None
    ) -> FrameResult:
        """One camera frame (BGR or grey uint8, stamp in seconds) -> estimates for the described frame. `tag`
        travels with the frame, untouched, and comes back as `described_tag` with the estimates that describe it.

        Raises InvalidInput for a frame that cannot be used (state unchanged). A stamp earlier than the last one
        (a bag loop), or later by more than evict_after_s, resets buffers and tracker before the frame is
        processed, so no window spans the jump; a repeated stamp is refused.
        """
        image = _as_bgr(image_bgr)
        if not np.isfinite(stamp):
            raise InvalidInput(f"stamp {stamp} is not finite")
        if self.recent_frames and stamp == self.recent_frames[-1][1]:
            raise InvalidInput(f"stamp {stamp} repeats the previous frame's")
        reset = self._reset_reason(stamp)
        if reset:
            self.reset()
        height, width = image.shape[:2]
        camera, intrinsics_source = self._intrinsics(intrinsics, width, height)
        timings = {}

        started = time.perf_counter()
        detections = self.tracker(image)
        timings["detect"] = 1000 * (time.perf_counter() - started)

        features = [None] * len(detections.track_ids)
        if self.features is not None:
            started = time.perf_counter()
            crops = crop_people(image, detections.keypoints, detections.boxes)
            with autocast(self.config.device, self.config.precision):
                features = self.features(crops)
            timings["features"] = 1000 * (time.perf_counter() - started)

        pose2d = normalize_keypoints(coco17_to_coco19(detections.keypoints)[..., :2], width, height)
        number = self.frames_processed
        self.frames_processed += 1
        self.buffers.update(
            stamp,
            {
                int(i): FrameEntry(
                    number,
                    stamp,
                    detections.keypoints[n],
                    detections.boxes[n],
                    float(detections.scores[n]),
                    pose2d[n],
                    features[n],
                    (width, height),
                )
                for n, i in enumerate(detections.track_ids)
            },
        )
        self.recent_frames.append((number, stamp, tag))
        interval, beyond = self.window_interval()
        result = FrameResult(stamp, None, None, detections, [], [], intrinsics_source, reset, interval, beyond, timings)
        described = self._described_frame(interval)
        if described is not None:
            number, result.described_stamp, result.described_tag = described
            result.people, result.pending = self._estimate(number, result.described_stamp, interval, camera, timings)
        return result

    def _described_frame(self, interval: float) -> tuple[int, float, object] | None:
        """The newest processed frame whose window's future samples have all arrived (centered), or the newest
        frame (causal); None when that frame was described already (a processing interval that grew can point
        back at it), so no frame is described twice: TF consumers reject repeated stamps."""
        newest = self.recent_frames[-1][1]
        # A quarter interval of slack absorbs the jitter of real cameras' stamps.
        latest_allowed = newest - (self.intervals_behind - 0.25) * interval if self.intervals_behind else newest
        for frame in reversed(self.recent_frames):
            if frame[1] <= latest_allowed:
                if self.last_described is not None and frame[0] <= self.last_described:
                    return None
                self.last_described = frame[0]
                return frame
        return None

    def _estimate(self, frame: int, described: float, interval: float, camera: Intrinsics, timings: dict):
        newest = self.recent_frames[-1][1]
        times = described + (np.arange(self.window) - self.described_index) * interval
        times = np.minimum(times, newest)  # causal mode with a centered model: the future is the newest frame
        span = float(times[-1] - times[0])
        ready, pending = [], []
        for track in self.buffers.tracks.values():
            entry = track.entry_at(frame)
            if entry is None:
                last = track.entries[-1]
                pending.append(PendingPerson(track.track_id, last.box, last.keypoints, "not seen in this frame"))
                continue
            window = track.window(times, interval, self.config.warmup == "edge_pad")
            if window is None:
                filling = times[0] < track.entries[0].stamp - interval
                reason = "window filling" if filling else "gap in track"
                pending.append(PendingPerson(track.track_id, entry.box, entry.keypoints, reason))
            else:
                ready.append((track.track_id, entry, window))
        if not ready:
            return [], pending
        started = time.perf_counter()
        pose2d = to_device(np.stack([[e.pose2d for e in w.entries] for _, _, w in ready]), self.config.device)
        feats = None
        if self.features is not None:
            feats = to_device(np.stack([[e.feature for e in w.entries] for _, _, w in ready]), self.config.device)
        with self._pmce_context():
            mesh, joints, _ = self.run_pmce(pose2d, feats)
        mesh, joints = mesh.float().cpu().numpy(), joints.float().cpu().numpy()
        timings["pmce"] = 1000 * (time.perf_counter() - started)

        started = time.perf_counter()
        joints_h36m = regress_joints(self.body.h36m_regressor, mesh)
        people = []
        for n, (track_id, entry, window) in enumerate(ready):
            keypoints19 = coco17_to_coco19(entry.keypoints)
            weights = np.where(keypoints19[:, 2] > PLACEMENT_CONFIDENCE, keypoints19[:, 2], 0.0)
            translation, placement = solve_root_translation(joints[n], keypoints19[:, :2], weights, camera), "keypoints"
            if translation is None:
                translation, placement = translation_from_box(entry.box, camera), "box"
            people.append(
                PersonEstimate(
                    track_id=track_id,
                    stamp=described,
                    box=entry.box,
                    keypoints=entry.keypoints,
                    score=entry.score,
                    image_size=entry.image_size,
                    mesh=mesh[n] + translation,
                    joints=joints[n] + translation,
                    joints_h36m=joints_h36m[n] + translation,
                    translation=translation,
                    placement=placement,
                    padded_frames=window.padded,
                    window_span_s=span,
                )
            )
        timings["placement"] = 1000 * (time.perf_counter() - started)
        return people, pending
