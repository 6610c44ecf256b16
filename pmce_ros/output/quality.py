"""How well a run's estimates explain its video, without ground truth: the three figures pmce-process reports.

- reprojection: the model's COCO-17 joints (placed in the camera frame) projected with the run's camera, against
  the detected keypoints with confidence above 0.5; mean pixel error per estimate divided by the person's box
  height; the median over estimates. Detector noise alone is about 1-2%.
- bone stability: per track, the coefficient of variation (std / mean) of each of the 8 limb lengths (upper and
  lower arms and legs) of the Human3.6M-17 joints, averaged over limbs; then over tracks. A body does not change
  its bones.
- jitter: per track, the mean norm of the second difference of the root-relative Human3.6M-17 joints over
  consecutive described frames (mm / frame^2); then averaged over tracks.

Beside them, `BodyRecall`: the share of people detected in a described frame who got a body in it.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from pmce_ros.body.joint_sets import H36M17
from pmce_ros.perception.placement import Intrinsics
from pmce_ros.pipeline.results import NOT_SEEN

KEYPOINT_CONFIDENCE = 0.5
LIMBS = tuple(
    (H36M17.index(a), H36M17.index(b))
    for a, b in (
        ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow"),
        ("right_elbow", "right_wrist"),
        ("left_hip", "left_knee"),
        ("left_knee", "left_ankle"),
        ("right_hip", "right_knee"),
        ("right_knee", "right_ankle"),
    )
)
PELVIS = H36M17.index("pelvis")


def reprojection_error(joints_coco17: np.ndarray, keypoints: np.ndarray, box: np.ndarray, camera: Intrinsics):
    """Mean pixel distance between projected joints (17, 3) and confident keypoints (17, 3), over the box height;
    None when no keypoint is confident or the box is empty."""
    confident = keypoints[:, 2] > KEYPOINT_CONFIDENCE
    height = float(box[3] - box[1])
    depth = joints_coco17[:, 2]
    usable = confident & (depth > 1e-3)
    if not usable.any() or height <= 0:
        return None
    u = camera.fx * joints_coco17[usable, 0] / depth[usable] + camera.cx
    v = camera.fy * joints_coco17[usable, 1] / depth[usable] + camera.cy
    error = np.hypot(u - keypoints[usable, 0], v - keypoints[usable, 1])
    return float(error.mean() / height)


def bone_variation(joints_h36m: np.ndarray) -> float | None:
    """Mean over the 8 limbs of std / mean of their lengths across frames (N, 17, 3); None below two frames."""
    if len(joints_h36m) < 2:
        return None
    lengths = np.stack([np.linalg.norm(joints_h36m[:, a] - joints_h36m[:, b], axis=-1) for a, b in LIMBS], axis=1)
    return float((lengths.std(0) / np.maximum(lengths.mean(0), 1e-9)).mean())


def jitter_mm(frames: np.ndarray, joints_h36m: np.ndarray) -> float | None:
    """Mean norm of the second difference of root-relative joints (metres in, mm out) over runs of three
    consecutive frames; None when there is no such run."""
    order = np.argsort(frames)
    frames, rooted = frames[order], joints_h36m[order] - joints_h36m[order][:, PELVIS : PELVIS + 1]
    consecutive = (frames[2:] - frames[1:-1] == 1) & (frames[1:-1] - frames[:-2] == 1)
    if not consecutive.any():
        return None
    second = rooted[2:] - 2 * rooted[1:-1] + rooted[:-2]
    return float(1000 * np.linalg.norm(second[consecutive], axis=-1).mean())


@dataclass
class QualityMeter:
    """Collects (frame, person, camera) as a run goes, and summarises them as the three figures."""

    reprojection: list[float] = field(default_factory=list)
    tracks: dict[int, list[tuple[int, np.ndarray]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, frame: int, track_id: int, joints_coco19, joints_h36m, keypoints, box, camera: Intrinsics):
        error = reprojection_error(np.asarray(joints_coco19)[:17], np.asarray(keypoints), np.asarray(box), camera)
        if error is not None:
            self.reprojection.append(error)
        self.tracks[track_id].append((frame, np.asarray(joints_h36m, np.float64)))

    def summary(self) -> dict:
        bones, jitters = [], []
        for entries in self.tracks.values():
            frames = np.array([f for f, _ in entries])
            joints = np.stack([j for _, j in entries])
            bones.append(bone_variation(joints))
            jitters.append(jitter_mm(frames, joints))
        bones = [b for b in bones if b is not None]
        jitters = [j for j in jitters if j is not None]
        return {
            "reprojection_error_over_box_height": float(np.median(self.reprojection)) if self.reprojection else None,
            "bone_length_cv": float(np.mean(bones)) if bones else None,
            "jitter_mm_per_frame2": float(np.mean(jitters)) if jitters else None,
            "estimates": len(self.reprojection),
            "tracks": len(self.tracks),
            "keypoint_confidence": KEYPOINT_CONFIDENCE,
        }


def describe(summary: dict) -> str:
    """One line for a run's printout."""

    def shown(value, scale, unit):
        return "n/a" if value is None else f"{value * scale:.1f}{unit}"

    return (
        f"reprojection {shown(summary['reprojection_error_over_box_height'], 100, '%')} of box height (median), "
        f"bone length CV {shown(summary['bone_length_cv'], 100, '%')}, "
        f"jitter {shown(summary['jitter_mm_per_frame2'], 1, ' mm/frame^2')} "
        f"({summary['estimates']} estimates, {summary['tracks']} tracks)"
    )


class BodyRecall:
    """Of the people the detector found in each described frame, how many got a body (an estimate) in that frame's
    output, and why the others did not (pmce_ros.pipeline.results: window filling, gap in track). People tracked
    but not detected in the frame are not counted: there was nothing to give a body to."""

    def __init__(self):
        self.estimated = 0
        self.missing: Counter[str] = Counter()

    def add(self, estimated: int, reasons: Iterable[str]) -> None:
        """One described frame: how many people it has estimates for, and the reasons of its other tracks."""
        self.estimated += estimated
        self.missing.update(reason for reason in reasons if reason != NOT_SEEN)

    @property
    def detected(self) -> int:
        return self.estimated + sum(self.missing.values())

    @property
    def share(self) -> float | None:
        return self.estimated / self.detected if self.detected else None

    def describe(self) -> str:
        if not self.detected:
            return "people with a body: none detected in a described frame"
        losses = ", ".join(f"{reason} {count}" for reason, count in sorted(self.missing.items())) or "none"
        return (
            f"people with a body: {self.estimated} of {self.detected} detected in their frame "
            f"({100 * self.share:.0f}%); without one: {losses}"
        )
