"""People in an image: boxes, persistent track ids and COCO-17 keypoints, from an ultralytics YOLO pose model.

The weights are always given by absolute path (a bare name makes ultralytics try a download). Tracking is
ultralytics' ByteTrack, fed here rather than through `model.track` so that detections made in part of the image
(`roi_tracking`) reach it in image coordinates: ids survive across calls, and a lost track is kept for
`lost_track_frames` frames (default 30, covering the 16-frame PMCE window) before its id is retired.

On a CPU the same weights run faster through OpenVINO: scripts/setup exports yolo11n-pose.pt next to itself in
fp32 and int8 (pmce_ros.perception.detector_exports), and backend "auto" runs the fp32 export. fp32 on vtest at
960 px on 2 cores: 115 ms a frame against torch's 139 ms on 2 threads and 244 ms on 1 (what a node leaving a
core to others gets), the same people found; int8 (asked for by name) takes about two thirds of fp32's time
on CPUs with VNNI, more on AMX CPUs (pmce_ros.perception.detector_exports). OpenVINO takes the cores it finds,
whatever torch's thread count. On CUDA, torch runs it. A backend that cannot run falls back, with one log line
naming the reason.
"""

import functools
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pmce_ros.assets import default_pose_weights
from pmce_ros.perception.detection_region import detection_region, region_image_size
from pmce_ros.perception.detector_exports import STRIDE, int8_export_dir, openvino_export_dir
from pmce_ros.perception.ultralytics_env import configure_offline


@dataclass(frozen=True)
class PoseTrackerConfig:
    weights: Path = default_pose_weights()  # any ultralytics pose model (.pt), absolute path
    image_size: int = 640  # inference size (long side); 1280 finds small people far away
    confidence: float = 0.25  # minimum person score
    lost_track_frames: int = 30  # frames a lost track keeps its id (>= 16, the PMCE window)
    device: str = "cpu"  # "cpu", "cuda", "cuda:0", ...
    half: bool = False  # fp16 inference (CUDA only)
    # "torch", "openvino" / "openvino_int8" (CPU; need the exports scripts/setup makes) or "auto" (fp32 OpenVINO
    # where it runs on the CPU, else torch; torch on CUDA)
    backend: str = "auto"
    # Between full-image detections, look only around the people tracked (perception/detection_region.py).
    roi_tracking: bool = True  # bench/speed_accuracy.py: keypoints and quality within 10% of the whole image
    full_frame_every: int = 10  # frames; a person entering the image is found within this many


BACKENDS = ("auto", "torch", "openvino", "openvino_int8")
# What "auto" tries on the CPU, in order. int8 is asked for by name: on vtest at 960 px it found 15% fewer people
# than fp32 (bench/speed_accuracy.py), outside the 10% a default may change.
AUTO_ORDER = ("openvino", "torch")
LOG = logging.getLogger(__name__)


def export_dir(weights: Path, backend: str) -> Path:
    return int8_export_dir(weights) if backend == "openvino_int8" else openvino_export_dir(weights)


def _why_not(backend: str, config: PoseTrackerConfig) -> str | None:
    """Why `backend` cannot run `config` here, or None when it can."""
    if backend == "torch":
        return None
    if config.device != "cpu":
        return f"OpenVINO runs the detector on the CPU, not {config.device}"
    if importlib.util.find_spec("openvino") is None:
        return "the openvino package is not installed (pip install openvino==2026.4.1)"
    if not export_dir(Path(config.weights), backend).is_dir():
        return f"no export at {export_dir(Path(config.weights), backend)} (scripts/setup makes it)"
    return None


def choose_backend(config: PoseTrackerConfig) -> tuple[str, str | None]:
    """(the backend that runs, why it is not the one asked for or, for "auto", why OpenVINO cannot run; None when
    nothing fell back). "auto" on the CPU tries AUTO_ORDER; on CUDA it is torch. A backend that cannot run falls
    back to torch."""
    if config.backend not in BACKENDS:
        raise ValueError(f"detector backend must be one of {', '.join(BACKENDS)}, got {config.backend!r}")
    if config.backend == "auto" and config.device != "cpu":
        return "torch", None
    reason = None
    for backend in AUTO_ORDER if config.backend == "auto" else (config.backend, "torch"):
        why_not = _why_not(backend, config)
        if why_not is None:
            return backend, reason
        reason = reason or f"detector backend {backend} cannot run: {why_not}"
    raise AssertionError("torch always runs")


@dataclass
class Detections:
    """People found in one image; rows align. Only people the tracker has confirmed (with an id) are listed."""

    boxes: np.ndarray  # (N, 4) x_min, y_min, x_max, y_max, pixels
    scores: np.ndarray  # (N,)
    keypoints: np.ndarray  # (N, 17, 3) x, y pixels and confidence, COCO-17 order
    track_ids: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.track_ids)

    @staticmethod
    def empty() -> "Detections":
        return Detections(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.float32),
            np.zeros((0, 17, 3), np.float32),
            np.zeros(0, np.int64),
        )


def _float32_pose_predictor(export_dir: Path):
    """ultralytics' pose predictor with the OpenVINO network in `export_dir` compiled for fp32. ultralytics
    compiles it with OpenVINO's default precision, which is bf16 on CPUs with AVX512-BF16 or AMX: on such a host
    boxes moved by up to 78 px on zidane.jpg against the torch model. fp32 gives torch's people on every CPU."""
    import openvino
    from ultralytics.models.yolo.pose import PosePredictor

    class Float32PosePredictor(PosePredictor):
        def setup_model(self, model, verbose: bool = True):
            super().setup_model(model, verbose)
            backend, core = self.model.backend, openvino.Core()
            ultralytics_choice = backend.compile_model.keywords
            backend.compile_model = functools.partial(
                core.compile_model,
                device_name=ultralytics_choice["device_name"],
                config={**ultralytics_choice["config"], "INFERENCE_PRECISION_HINT": "f32"},
            )
            backend.ov_compiled_model = backend.compile_model(core.read_model(next(export_dir.glob("*.xml"))))

    return Float32PosePredictor


class PoseTracker:
    def __init__(self, config: PoseTrackerConfig = PoseTrackerConfig()):
        if config.lost_track_frames < 16:
            raise ValueError("lost_track_frames must cover the 16-frame PMCE window")
        if config.full_frame_every < 1:
            raise ValueError(f"full_frame_every must be at least 1, got {config.full_frame_every}")
        weights = Path(config.weights)
        if not weights.is_absolute() or not weights.is_file():
            raise FileNotFoundError(
                f"pose weights not found at {weights} (give an absolute path to an "
                f"ultralytics pose .pt; scripts/setup installs yolo11n-pose.pt)"
            )
        self.backend, self.fallback = choose_backend(config)
        configure_offline()
        self.config = config
        try:
            self._load(weights)
        except Exception as error:  # e.g. a CPU without an instruction set the export was compiled for
            if self.backend == "torch":
                raise
            self.fallback = f"detector backend {self.backend} failed to load: {type(error).__name__}: {error}"
            self.backend = "torch"
            self._load(weights)
        if self.fallback:
            LOG.warning("%s; the detector runs on %s", self.fallback, self.backend)
        self._tracker = self._byte_tracker(config.lost_track_frames)
        self.reset()

    def _load(self, weights: Path) -> None:
        from ultralytics import YOLO  # after configure_offline: ultralytics reads its settings on import

        source = weights if self.backend == "torch" else export_dir(weights, self.backend)
        self.model = YOLO(str(source), task="pose")
        self._predictor = None if self.backend == "torch" else _float32_pose_predictor(source)
        if self.model.task != "pose":
            raise ValueError(f"{weights} is a {self.model.task} model, not a pose model")
        if self.backend != "torch":  # OpenVINO compiles on the first frame: now, so that a failure shows here
            self._detect(np.zeros((STRIDE, STRIDE, 3), np.uint8), self.config.image_size)

    @staticmethod
    def _byte_tracker(lost_track_frames: int):
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import IterableSimpleNamespace

        # ByteTrack's defaults except two: match_thresh 0.95 (accept IoU down to 0.05) keeps small, fast people
        # whose boxes barely overlap between frames, and new_track_thresh 0.4 stops weak detections from starting
        # tracks beside a lost one. On vtest.avi (100 frames, 960 px) this took id switches from 5 to 1 and
        # distinct ids from 11 to 7.
        return BYTETracker(
            IterableSimpleNamespace(
                track_high_thresh=0.25,
                track_low_thresh=0.1,
                new_track_thresh=0.4,
                track_buffer=lost_track_frames,
                match_thresh=0.95,
                fuse_score=True,
            )
        )

    def reset(self) -> None:
        """Forgets every track (e.g. when the input stream restarts)."""
        self._tracker.reset()
        self._tracked_boxes = np.zeros((0, 4), np.float32)
        self._frames_since_full_image = 0
        self._image_shape: tuple[int, int] | None = None

    def _detect(self, image_bgr: np.ndarray, image_size: int):
        """(boxes and scores (N, 6: x_min, y_min, x_max, y_max, score, class), keypoints (N, 17, 3)) in `image_bgr`."""
        threads = torch.get_num_threads()
        result = self.model.predict(
            image_bgr,
            verbose=False,
            imgsz=image_size,
            conf=self.config.confidence,
            classes=[0],
            device=self.config.device,
            quantize=16 if self.config.half else None,
            predictor=self._predictor,
        )[0]
        if torch.get_num_threads() != threads:
            # Choosing a CPU device, ultralytics sets torch to cores - 1 threads (meant for its training loaders):
            # one thread on a 2-core machine, for ResNet-50 and PMCE too. The process keeps its own setting.
            torch.set_num_threads(threads)
        if result.keypoints is None:
            return np.zeros((0, 6), np.float32), np.zeros((0, 17, 3), np.float32)
        return result.boxes.data.cpu().numpy(), result.keypoints.data.cpu().numpy()

    def _region(self, image_shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
        """Where to look in this frame: around the people tracked, or None for the whole image."""
        if (
            not self.config.roi_tracking
            or self._frames_since_full_image + 1 >= self.config.full_frame_every
            or image_shape != self._image_shape  # another camera mode, or unrelated images: the boxes do not apply
        ):
            return None
        return detection_region(self._tracked_boxes, image_shape)

    def __call__(self, image_bgr: np.ndarray) -> Detections:
        """image_bgr: (H, W, 3) uint8, OpenCV channel order."""
        from ultralytics.engine.results import Boxes

        region = self._region(image_bgr.shape[:2])
        self._image_shape = image_bgr.shape[:2]
        if region is None:
            found, keypoints = self._detect(image_bgr, self.config.image_size)
            self._frames_since_full_image = 0
        else:
            x_min, y_min, x_max, y_max = region
            crop = image_bgr[y_min:y_max, x_min:x_max]
            found, keypoints = self._detect(
                crop, region_image_size(crop.shape[:2], image_bgr.shape[:2], self.config.image_size)
            )
            found[:, [0, 2]] += x_min
            found[:, [1, 3]] += y_min
            keypoints[..., 0] += x_min
            keypoints[..., 1] += y_min
            self._frames_since_full_image += 1
        tracks = self._tracker.update(Boxes(found, image_bgr.shape[:2]), image_bgr)
        # Tracks not yet confirmed count too: a person found in a full image is confirmed in the next frame.
        followed = np.array([track.xyxy for track in self._tracker.tracked_stracks], np.float32).reshape(-1, 4)
        if region is not None and len(followed) < len(self._tracked_boxes):
            self._frames_since_full_image = self.config.full_frame_every  # someone left the region: look everywhere
        self._tracked_boxes = followed
        if len(tracks) == 0:
            return Detections.empty()
        return Detections(
            boxes=tracks[:, :4].astype(np.float32),
            scores=tracks[:, 5].astype(np.float32),
            keypoints=keypoints[tracks[:, 7].astype(int)].astype(np.float32),
            track_ids=tracks[:, 4].astype(np.int64),
        )
