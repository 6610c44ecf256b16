"""What the pipeline gives back for each processed frame: the people estimated in the frame it describes, the
tracked people without an estimate (and why), and how the frame was handled."""

from dataclasses import dataclass, field

import numpy as np

from pmce_ros.perception.placement import Intrinsics
from pmce_ros.perception.pose_tracker import Detections


class InvalidInput(ValueError):
    """A frame that cannot be processed; the pipeline state is unchanged and the next frame is handled normally."""


@dataclass(kw_only=True)
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
    joints_h36m: np.ndarray  # (17, 3) Human3.6M-17 regressed from the mesh (then on the track's bones)
    translation: np.ndarray  # (3,) root position
    # "keypoints" (least squares), "floor" (that fit, then sized and placed with the feet on a known floor) or
    # "box" (nominal-height fallback)
    placement: str
    body: str  # BODY_CONVERGED | BODY_CONVERGING (held to the track's bone lengths) | BODY_RAW (the network's)
    padded_frames: int  # window samples before the track's first detection (edge padding)
    window_span_s: float  # time from the window's first sample to its last real one


# Whose bones an estimate has: the track's, estimated over its life and settled or still settling
# (pmce_ros.body.identity), or the network's own for this frame (body_identity off).
BODY_CONVERGED, BODY_CONVERGING, BODY_RAW = "converged", "converging", "raw"

# Why a tracked person has no estimate for the described frame: not detected in it, or detected but without a
# window (the track is younger than the window, or its detections leave a gap).
NOT_SEEN, WINDOW_FILLING, GAP_IN_TRACK = "not seen in this frame", "window filling", "gap in track"


@dataclass(kw_only=True)
class PendingPerson:
    """A tracked person with no estimate for the described frame, and why."""

    track_id: int
    box: np.ndarray  # at the described frame, or where the person was last seen
    keypoints: np.ndarray
    reason: str  # NOT_SEEN | WINDOW_FILLING | GAP_IN_TRACK


@dataclass(kw_only=True)
class FrameResult:
    stamp: float  # the processed (newest) frame
    detections: Detections  # people in the newest frame
    intrinsics_source: str  # "given" | "fallback (none given)" | "fallback (invalid: ...)"
    camera: Intrinsics  # the described frame's (given or the fallback): what its people were placed with; the
    # newest frame's until a frame is described
    described_stamp: float | None = None  # the frame the estimates describe; None until a window can be built
    described_tag: object = None  # what the caller passed with that frame (the node: its Header)
    people: list[PersonEstimate] = field(default_factory=list)
    pending: list[PendingPerson] = field(default_factory=list)  # every other tracked person
    reset: str | None = None  # why buffers and tracker were reset first (stamps went back or jumped forward)
    window_interval_s: float = 0.0  # the spacing of this frame's window samples
    beyond_training: bool = False  # that spacing is longer than any the model was trained on
    timings_ms: dict[str, float] = field(default_factory=dict)
