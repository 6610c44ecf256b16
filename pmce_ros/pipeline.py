"""Frames in, per-person 3D estimates out: detection + tracking, crops + features, ring buffers, one batched
PMCE call for every ready track, and camera-frame placement. No ROS here or below.

Timing: the window length is the model's (PMCEConfig.num_frames, 16 for the authors' PMCE) and PMCE describes its
middle frame (index 8 of 16), so each processed frame yields the estimates for the frame 7 frames earlier
(`FrameResult.described_stamp`, and the caller's tag of that frame, `described_tag`; 233 ms at 30 fps). Tracks
younger than a window are withheld (`warmup="withhold"`, the faithful behaviour) or, with `warmup="edge_pad"`,
estimated from windows padded by repeating their oldest frame as soon as they existed at the described frame.
A model without an image stream (pose-only) gets no crops and no ResNet-50 features: that stage is skipped.
"""

import contextlib
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from pmce_ros.assets import DEMO_PMCE_WEIGHTS
from pmce_ros.body.body_model import BodyModel, smpl_body_model, synthetic_body_model
from pmce_ros.body.joint_sets import coco17_to_coco19, regress_joints
from pmce_ros.body.synthetic import STAND_IN_NAME
from pmce_ros.model import PMCE, PMCEConfig, load_pmce_weights
from pmce_ros.model.checkpoint import read_checkpoint_file, recorded_config
from pmce_ros.model.compiled import CompiledPMCE
from pmce_ros.model.seeding import seeded
from pmce_ros.perception.crops import crop_people
from pmce_ros.perception.features import FeatureExtractor, FeatureExtractorConfig
from pmce_ros.perception.placement import Intrinsics, solve_root_translation, translation_from_box
from pmce_ros.perception.pose_tracker import Detections, PoseTracker, PoseTrackerConfig
from pmce_ros.perception.track_buffers import FrameEntry, TrackBuffers, normalize_keypoints

MIN_IMAGE_SIDE = 32
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
PLACEMENT_CONFIDENCE = 0.3


class InvalidInput(ValueError):
    """A frame that cannot be processed; the pipeline state is unchanged and the next frame is handled normally."""


@dataclass(frozen=True)
class PipelineConfig:
    detector: PoseTrackerConfig = PoseTrackerConfig()
    features: FeatureExtractorConfig = FeatureExtractorConfig()
    pmce: PMCEConfig = PMCEConfig(num_joints=19)
    pmce_weights: Path | None = None  # authors' checkpoint format
    allow_untrained_pmce: bool = False  # random PMCE weights: outputs marked as stand-ins
    smpl_model: Path | None = None  # SMPL .npz/.pkl; None = the synthetic stand-in body
    authors_assets: Path | None = None  # folder with the release's base data (needed with smpl_model)
    device: str = "cpu"
    precision: str = "fp32"  # "fp32" | "fp16" | "bf16" (autocast for ResNet-50 and PMCE)
    compile_max_batch: int = 0  # > 0: PMCE through torch.compile for up to this many people a call
    torch_threads: int = 0  # > 0: torch's CPU threads for the whole process
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
    mesh: np.ndarray  # (V, 3)
    joints: np.ndarray  # (19, 3) COCO-19, the model's own joints
    joints_h36m: np.ndarray  # (17, 3) Human3.6M-17 regressed from the mesh
    translation: np.ndarray  # (3,) root position
    placement: str  # "keypoints" (least squares) or "box" (nominal-height fallback)
    padded_frames: int  # window entries made by edge padding
    repeated_frames: int  # window entries copied because the person was not detected


@dataclass
class PendingPerson:
    """A tracked person present at the described frame whose window is not ready yet (no estimate)."""

    track_id: int
    box: np.ndarray
    keypoints: np.ndarray
    frames: int  # entries in its buffer so far


@dataclass
class FrameResult:
    stamp: float  # the processed (newest) frame
    described_stamp: float | None  # the frame the estimates describe; None for the first 7 frames
    described_tag: object  # what the caller passed with that frame (the node: its Header)
    detections: Detections  # people in the newest frame
    people: list[PersonEstimate]
    pending: list[PendingPerson]  # present at the described frame, window still filling
    intrinsics_source: str  # "given" | "fallback (none given)" | "fallback (invalid: ...)"
    reset: bool = False  # stamps went backwards: buffers and tracker were reset first
    timings_ms: dict[str, float] = field(default_factory=dict)


def _recorded_architecture(config: PipelineConfig, content, body: BodyModel) -> tuple[PMCEConfig, str, bool]:
    """The architecture, label and whether the synthetic stand-in body was trained on, as our checkpoints record
    them (the authors' files record none: their architecture is the default), checked against the body and window
    the pipeline works with."""
    recorded = recorded_config(content)
    if recorded is None:
        return config.pmce, "", False
    trained_on = content.get("body", "")
    if trained_on and (trained_on == STAND_IN_NAME) != body.stand_in:
        raise ValueError(
            f"{config.pmce_weights} was trained on {trained_on!r}, but the pipeline uses {body.name!r}: "
            f"their vertices do not correspond"
        )
    return replace(recorded, fast=config.pmce.fast), content.get("label", ""), trained_on == STAND_IN_NAME


def build_pmce(config: PipelineConfig, body: BodyModel, device: str) -> tuple[PMCE, str, bool]:
    """The network with its weights, a name for them, and whether they stand in for the authors' weights."""
    architecture, label, synthetic, content = config.pmce, "", False, None
    if config.pmce_weights is not None:
        content = read_checkpoint_file(config.pmce_weights)  # read once: the authors' files hold 412 MB
        architecture, label, synthetic = _recorded_architecture(config, content, body)
    if architecture.num_joints != 19:
        raise ValueError("the pipeline feeds COCO-19 keypoints: PMCEConfig.num_joints must be 19")
    with seeded():  # untrained stand-ins are the same network in every process
        model = PMCE(
            architecture, vertex_joint_index=body.coarse.vertex_joint_index, init_vertices=body.coarse.vertices
        )
    if config.pmce_weights is not None:
        if load_pmce_weights(model, config.pmce_weights, content) != "full":
            raise ValueError(
                f"{config.pmce_weights} is a stage-1 pose checkpoint; the pipeline needs full PMCE weights"
            )
        # Weights trained on the stand-in body (synthetic data) stand in for trained ones.
        name, stand_in = Path(config.pmce_weights).name + (f" ({label})" if label else ""), synthetic
    elif config.allow_untrained_pmce:
        name, stand_in = "untrained PMCE (stand-in, random weights)", True
    else:
        raise ValueError(
            f"no PMCE weights given: set pmce_weights (e.g. the package's demo weights, trained on "
            f"synthetic motion: {DEMO_PMCE_WEIGHTS}), or allow_untrained_pmce to run with random "
            f"weights (every output is then marked as a stand-in)"
        )
    return model.eval().to(device), name, stand_in


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
            self.model, pmce_name, pmce_stand_in = build_pmce(config, self.body, config.device)
        model = self.model.config
        self.window = model.num_frames
        self.described_index = model.mid_frame
        self.frames_behind = self.window - 1 - self.described_index  # 7 for the authors' 16-frame window
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
        self.buffers = TrackBuffers(self.window, config.evict_after_s, config.max_tracks)
        self.recent_frames: deque[tuple[float, object]] = deque(maxlen=self.window)  # (stamp, caller's tag)
        self.stand_in = pmce_stand_in or self.body.stand_in or bool(self.features and self.features.stand_in)
        self.weights = {
            "pose": Path(config.detector.weights).name,
            "features": self.features.weights_name if self.features else "none (pose-only model)",
            "pmce": pmce_name,
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

    def process(
        self, image_bgr: np.ndarray, stamp: float, intrinsics: Intrinsics | None = None, tag: object = None
    ) -> FrameResult:
        """One camera frame (BGR or grey uint8, stamp in seconds) -> estimates for the described frame. `tag`
        travels with the frame, untouched, and comes back as `described_tag` with the estimates that describe it.

        Raises InvalidInput for a frame that cannot be used (state unchanged). A stamp earlier than the last one
        (a bag loop) resets buffers and tracker before the frame is processed; a repeated stamp is refused.
        """
        image = _as_bgr(image_bgr)
        if not np.isfinite(stamp):
            raise InvalidInput(f"stamp {stamp} is not finite")
        last_stamp = self.recent_frames[-1][0] if self.recent_frames else None
        reset = last_stamp is not None and stamp < last_stamp
        if not reset and stamp == last_stamp:
            raise InvalidInput(f"stamp {stamp} repeats the previous frame's")
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
        self.buffers.update(
            stamp,
            {
                int(i): FrameEntry(
                    stamp, detections.keypoints[n], detections.boxes[n], pose2d[n], features[n], (width, height)
                )
                for n, i in enumerate(detections.track_ids)
            },
        )
        self.recent_frames.append((stamp, tag))

        people, pending, described, described_tag = [], [], None, None
        behind = self.frames_behind
        if len(self.recent_frames) > behind:
            described, described_tag = self.recent_frames[-1 - behind]
            people = self._estimate(described, camera, timings)
            estimated = {p.track_id for p in people}
            pending = [
                PendingPerson(t.track_id, t.entries[-1 - behind].box, t.entries[-1 - behind].keypoints, len(t.entries))
                for t in self.buffers.tracks.values()
                if t.track_id not in estimated and len(t.entries) > behind
            ]
        return FrameResult(
            stamp, described, described_tag, detections, people, pending, intrinsics_source, reset, timings
        )

    def _ready_tracks(self):
        needed = self.window if self.config.warmup == "withhold" else self.frames_behind + 1
        return [t for t in self.buffers.tracks.values() if len(t.entries) >= needed]

    def _estimate(self, described: float, camera: Intrinsics, timings: dict) -> list[PersonEstimate]:
        tracks = self._ready_tracks()
        if not tracks:
            return []
        windows = [t.window() for t in tracks]
        started = time.perf_counter()
        pose2d = to_device(np.stack([[e.pose2d for e in w] for w in windows]), self.config.device)
        feats = (
            None
            if self.features is None
            else to_device(np.stack([[e.feature for e in w] for w in windows]), self.config.device)
        )
        with self._pmce_context():
            mesh, joints, _ = self.run_pmce(pose2d, feats)
        mesh, joints = mesh.float().cpu().numpy(), joints.float().cpu().numpy()
        timings["pmce"] = 1000 * (time.perf_counter() - started)

        started = time.perf_counter()
        joints_h36m = regress_joints(self.body.h36m_regressor, mesh)
        people = []
        for n, (track, window) in enumerate(zip(tracks, windows)):
            entry = window[self.described_index]
            keypoints19 = coco17_to_coco19(entry.keypoints)
            weights = np.where(keypoints19[:, 2] > PLACEMENT_CONFIDENCE, keypoints19[:, 2], 0.0)
            translation, placement = solve_root_translation(joints[n], keypoints19[:, :2], weights, camera), "keypoints"
            if translation is None:
                translation, placement = translation_from_box(entry.box, camera), "box"
            people.append(
                PersonEstimate(
                    track_id=track.track_id,
                    stamp=described,
                    box=entry.box,
                    keypoints=entry.keypoints,
                    mesh=mesh[n] + translation,
                    joints=joints[n] + translation,
                    joints_h36m=joints_h36m[n] + translation,
                    translation=translation,
                    placement=placement,
                    padded_frames=self.window - len(track.entries),
                    repeated_frames=sum(e.repeated for e in window),
                )
            )
        timings["placement"] = 1000 * (time.perf_counter() - started)
        return people
