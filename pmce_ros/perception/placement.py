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
