"""Camera-frame placement: the root translation that makes root-relative 3D joints project onto 2D keypoints.

For joint j at X_j + t (camera optical frame: x right, y down, z forward) and its keypoint (u_j, v_j), the pinhole
equations fx (X + t)_x = (u - cx) (X + t)_z and fy (X + t)_y = (v - cy) (X + t)_z are linear in t; stacking two per
joint, weighted by keypoint confidence, gives a 3-unknown least-squares problem solved in closed form (no
iterative optimiser). When that fails (too few confident keypoints, or a solution behind the camera),
`translation_from_box` places a person of nominal height filling the detection box. Without intrinsics a pinhole
camera with the focal length FALLBACK_FOCAL_FACTOR x image diagonal, principal point at the centre, stands in
(about 53 degrees diagonal field of view), and the result says so.
"""

from dataclasses import dataclass

import numpy as np

FALLBACK_FOCAL_FACTOR = 1.0
MIN_DEPTH_M = 0.1
NOMINAL_HEIGHT_M = 1.7


@dataclass(frozen=True)
class Intrinsics:
    fx: float
    fy: float
    cx: float
    cy: float

    @staticmethod
    def fallback(width: int, height: int) -> "Intrinsics":
        focal = FALLBACK_FOCAL_FACTOR * float(np.hypot(width, height))
        return Intrinsics(focal, focal, width / 2, height / 2)

    def valid(self) -> bool:
        values = np.array([self.fx, self.fy, self.cx, self.cy])
        return bool(np.all(np.isfinite(values)) and self.fx > 0 and self.fy > 0)


def solve_root_translation(
    joints: np.ndarray, keypoints: np.ndarray, weights: np.ndarray, intrinsics: Intrinsics
) -> np.ndarray | None:
    """joints (J, 3) root-relative metres; keypoints (J, 2) pixels; weights (J,) -> t (3,) metres, or None when
    fewer than 2 joints carry weight or the solution lies behind the camera."""
    usable = (weights > 0) & np.all(np.isfinite(keypoints), axis=1) & np.all(np.isfinite(joints), axis=1)
    if usable.sum() < 2:
        return None
    x, y, z = joints[usable].T
    u = keypoints[usable, 0] - intrinsics.cx
    v = keypoints[usable, 1] - intrinsics.cy
    w = np.sqrt(weights[usable])
    zeros = np.zeros_like(u)
    # Rows: [fx, 0, -u] t = u z - fx x   and   [0, fy, -v] t = v z - fy y
    a = np.concatenate(
        [
            np.column_stack([np.full_like(u, intrinsics.fx), zeros, -u]),
            np.column_stack([zeros, np.full_like(v, intrinsics.fy), -v]),
        ]
    )
    b = np.concatenate([u * z - intrinsics.fx * x, v * z - intrinsics.fy * y])
    weight = np.concatenate([w, w])
    t, *_ = np.linalg.lstsq(a * weight[:, None], b * weight, rcond=None)
    if not np.all(np.isfinite(t)) or t[2] < MIN_DEPTH_M:
        return None
    return t


def translation_from_box(box: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Root position of a NOMINAL_HEIGHT_M person whose box is `box` (x0, y0, x1, y1 pixels): depth from the box
    height, x and y through the box centre."""
    height = max(float(box[3] - box[1]), 1.0)
    depth = intrinsics.fy * NOMINAL_HEIGHT_M / height
    u, v = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return np.array([(u - intrinsics.cx) * depth / intrinsics.fx, (v - intrinsics.cy) * depth / intrinsics.fy, depth])


# A frame's floor-derived scale outside this range is taken for a person off their feet (a jump, getting down, lying)
# or a misdetected ankle rather than for a person that much larger or smaller than their track's body, and not
# used: on the held-out real capture (bench/real_capture.py --floor) the range 0.5-1.6 placed hopping and lying
# people worse than the keypoints alone (root error 132 and 374 mm against 94 and 314), this one did not (96 and
# 309) and placed everyone else as well (158 mm).
FLOOR_SCALE_RANGE = (0.8, 1.25)
FLOOR_SCALE_HISTORY = 60  # frames a track's scale is taken over: 2 s at 30 frames/s
# A foot off the floor only ever asks for a larger scale, while keypoint noise errs both ways: the track's scale is
# a low quantile of its frames' scales, which holds while up to 70% of them are off the floor (a hop, a run).
FLOOR_SCALE_QUANTILE = 0.3
# A frame whose own scale is at most this much above the track's has a foot down, and is placed by its own contact:
# the keypoint fit's distance wanders with the view, the contact's does not (test_world_frame_node's still person,
# seen by its moving camera from 1.5 m up: 4.64-4.78 m away against 4.59-4.83 m with the track's scale). A frame asking
# for more is taken to be off the floor and placed with the track's scale. 3% is a foot about 4 cm up, seen from
# 1.5 m high; keypoint noise moved a still person's own scale by 2.5% at most.
FOOT_DOWN_TOLERANCE = 0.03
ANKLE_CONFIDENCE = 0.5
COCO_ANKLES = (15, 16)
COCO19_PELVIS, COCO19_NECK = 17, 18
# The floor sizes and places only a person whose torso is within 45 degrees of upright: lying down, the estimated
# pose puts the ankles anywhere, and neither that frame's scale nor the track's standing one placed the held-out
# capture's lying takes better than the keypoints alone (root error 570 and 701 mm against 314).
UPRIGHT_COSINE = np.cos(np.radians(45.0))


@dataclass(frozen=True)
class FloorPlane:
    """The floor in the camera's optical frame: a point p stands `up @ p + camera_height` above it."""

    up: np.ndarray  # (3,) unit vector, the world's up in camera coordinates
    camera_height: float  # metres, > 0

    def height(self, points: np.ndarray) -> np.ndarray:
        return points @ self.up + self.camera_height


def floor_scale(joints: np.ndarray, keypoints: np.ndarray, floor: FloorPlane, ankle_height: float) -> float | None:
    """The factor, about the camera centre, that puts the lower confidently seen ankle of placed COCO-19 joints
    (camera frame, metres) `ankle_height` above the floor; None without a seen ankle below the camera or outside
    FLOOR_SCALE_RANGE.

    Scaling about the camera centre keeps every projection, so the keypoint fit is untouched: only the monocular
    unknown, size against distance, is chosen. Of two seen ankles the one giving the smaller factor is the lower
    (a lifted foot would call for a larger person further away)."""
    scales = []
    for ankle in COCO_ANKLES:
        below_camera = float(joints[ankle] @ floor.up)
        if keypoints[ankle, 2] >= ANKLE_CONFIDENCE and below_camera < 0:
            scales.append((ankle_height - floor.camera_height) / below_camera)
    if not scales or not FLOOR_SCALE_RANGE[0] <= min(scales) <= FLOOR_SCALE_RANGE[1]:
        return None
    return min(scales)


def upright(joints: np.ndarray, floor: FloorPlane) -> bool:
    """Whether COCO-19 joints' torso (pelvis -> neck) is within 45 degrees of the floor's up."""
    torso = joints[COCO19_NECK] - joints[COCO19_PELVIS]
    return float(torso @ floor.up) >= UPRIGHT_COSINE * float(np.linalg.norm(torso))


class TrackScale:
    """A track's size against its body model's, from the floor: a low quantile of its recent frames' floor
    scales, so frames with both feet off the floor do not move the person. 1.0 until a frame gave one. A frame with
    a foot down is placed by its own scale."""

    def __init__(self, history: int = FLOOR_SCALE_HISTORY):
        self.history = history
        self.observed: list[float] = []

    def observe(self, scale: float | None) -> float:
        """The scale to place this frame with, given its own (None: none found): its own with a foot down, else
        the track's."""
        if scale is not None:
            self.observed = [*self.observed[-(self.history - 1) :], scale]
        track = float(np.quantile(self.observed, FLOOR_SCALE_QUANTILE)) if self.observed else 1.0
        return scale if scale is not None and scale <= track * (1 + FOOT_DOWN_TOLERANCE) else track
