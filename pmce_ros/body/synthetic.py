"""A synthetic SMPL-format body model, generated deterministically: the stand-in wherever SMPL cannot be had.

It is NOT SMPL and not a statistical body model: the shape and pose blend shapes are hand-made, and every output
made with it must say so (`STAND_IN_NAME`). What it shares with SMPL is the file format and topology class:
6890 vertices, 13776 triangles (a closed genus-0 surface), the SMPL 24-joint kinematic tree, skinning weights,
10 shape and 207 pose blend shapes; plus Human3.6M-17 and COCO-17 joint regressors and a 431-vertex coarse mesh.

Construction: a Fibonacci sphere of 6890 points triangulated by its convex hull, mapped to an A-pose body. Points
around the torso stay on an ellipsoid-like trunk; five cones of the sphere (head, arms, legs) are pulled out
along polylines through the rest-pose joints as tubes with a radius profile, blended into the trunk at their base.
Coordinates follow SMPL: metres, y up, the body faces +z, its left side is +x.
"""

from dataclasses import dataclass

import numpy as np
import scipy.spatial

from pmce_ros.body.coarse_mesh import CoarseMesh, coarse_mesh_for_body
from pmce_ros.body.joint_sets import COCO17, H36M17, SMPL24
from pmce_ros.body.regressors import farthest_points, vertex_regressor

STAND_IN_NAME = "synthetic SMPL-format stand-in (not SMPL)"
NUM_VERTICES = 6890
NUM_COARSE_VERTICES = 431

# Rest-pose (A-pose) joint positions, metres.
SMPL24_REST = np.array(
    [
        [0.0, 0.0, 0.0],  # pelvis
        [0.09, -0.08, 0.0],  # left_hip
        [-0.09, -0.08, 0.0],  # right_hip
        [0.0, 0.10, -0.01],  # spine1
        [0.10, -0.50, 0.01],  # left_knee
        [-0.10, -0.50, 0.01],  # right_knee
        [0.0, 0.24, -0.01],  # spine2
        [0.10, -0.90, -0.03],  # left_ankle
        [-0.10, -0.90, -0.03],  # right_ankle
        [0.0, 0.30, 0.0],  # spine3
        [0.11, -0.96, 0.09],  # left_foot
        [-0.11, -0.96, 0.09],  # right_foot
        [0.0, 0.48, -0.01],  # neck
        [0.07, 0.40, 0.0],  # left_collar
        [-0.07, 0.40, 0.0],  # right_collar
        [0.0, 0.60, 0.02],  # head
        [0.18, 0.42, -0.01],  # left_shoulder
        [-0.18, 0.42, -0.01],  # right_shoulder
        [0.40, 0.22, -0.03],  # left_elbow
        [-0.40, 0.22, -0.03],  # right_elbow
        [0.58, 0.04, 0.0],  # left_wrist
        [-0.58, 0.04, 0.0],  # right_wrist
        [0.64, -0.02, 0.0],  # left_hand
        [-0.64, -0.02, 0.0],  # right_hand
    ]
)


@dataclass(frozen=True)
class _Limb:
    name: str
    direction: tuple[float, float, float]  # cone axis on the unit sphere
    half_angle: float  # cone half angle, radians
    path: tuple[int | tuple[float, float, float], ...]  # SMPL joint indices or extra points, base to tip
    radii: tuple[float, ...]  # tube radius at each path point; the last one is capped round
    reference: tuple[float, float, float]  # a direction never parallel to the path, for cross-section frames


def _limbs() -> list[_Limb]:
    limbs = [_Limb("head", (0, 1, 0), 0.50, (9, 12, 15, (0.0, 0.72, 0.02)), (0.07, 0.055, 0.10, 0.06), (0, 0, 1))]
    for side, sign in (("left", 1), ("right", -1)):
        limbs.append(
            _Limb(
                f"{side}_arm",
                (0.85 * sign, 0.53, 0),
                0.36,
                (13 + (sign < 0), 16 + (sign < 0), 18 + (sign < 0), 20 + (sign < 0), (0.72 * sign, -0.08, 0.0)),
                (0.06, 0.052, 0.04, 0.03, 0.025),
                (0, 0, 1),
            )
        )
        limbs.append(
            _Limb(
                f"{side}_leg",
                (0.6 * sign, -0.8, 0),
                0.50,
                (1 + (sign < 0), 4 + (sign < 0), 7 + (sign < 0), 10 + (sign < 0), (0.11 * sign, -0.97, 0.16)),
                (0.085, 0.055, 0.04, 0.04, 0.03),
                (1, 0, 0),
            )
        )
    return limbs


def _sphere(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fibonacci sphere points and their convex-hull triangles, oriented outwards (2n - 4 of them)."""
    i = np.arange(n) + 0.5
    polar = np.arccos(1 - 2 * i / n)
    azimuth = np.pi * (1 + 5**0.5) * i
    points = np.column_stack([np.sin(polar) * np.cos(azimuth), np.cos(polar), np.sin(polar) * np.sin(azimuth)])
    faces = scipy.spatial.ConvexHull(points).simplices
    centroids = points[faces].mean(1)
    normals = np.cross(points[faces[:, 1]] - points[faces[:, 0]], points[faces[:, 2]] - points[faces[:, 0]])
    flip = (normals * centroids).sum(1) < 0
    faces[flip] = faces[flip][:, ::-1]
    return points, faces


def _trunk(points: np.ndarray) -> np.ndarray:
    """Maps unit-sphere points onto the trunk: wide chest, narrower waist, hips; flat front to back."""
    y = points[:, 1]
    height = 0.27 * y + 0.20
    width = 0.165 + 0.02 * np.cos(np.pi * (y + 0.1)) ** 2 * (y > -0.1) + 0.01 * (y < -0.2)
    depth = 0.105 + 0.015 * (y > 0.2)
    return np.column_stack([points[:, 0] * width, height, points[:, 2] * depth])


def _frame(direction: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = reference - (reference @ direction) * direction
    u /= np.linalg.norm(u)
    return u, np.cross(direction, u)


def _tube(limb: _Limb, s: np.ndarray, azimuth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points on the limb's tube at arclength fraction s in [0, 1] and azimuth; also their axis points."""
    path = np.array([SMPL24_REST[p] if isinstance(p, int) else p for p in limb.path], dtype=float)
    lengths = np.linalg.norm(np.diff(path, axis=0), axis=1)
    cumulative = np.concatenate([[0], np.cumsum(lengths)])
    arclength = s * cumulative[-1]
    segment = np.clip(np.searchsorted(cumulative, arclength, side="right") - 1, 0, len(lengths) - 1)
    local = ((arclength - cumulative[segment]) / lengths[segment])[:, None]
    axis = path[segment] + local * (path[segment + 1] - path[segment])
    radius = np.interp(arclength, cumulative, limb.radii)
    # Round cap over the last cap-radius of length.
    cap = limb.radii[-1]
    into_cap = np.clip((arclength - (cumulative[-1] - cap)) / cap, 0, 1)
    radius = radius * np.sqrt(1 - into_cap**2)
    directions = (path[segment + 1] - path[segment]) / lengths[segment][:, None]
    reference = np.asarray(limb.reference, dtype=float)
    u = reference - (directions @ reference)[:, None] * directions
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(directions, u)
    ring = np.cos(azimuth)[:, None] * u + np.sin(azimuth)[:, None] * v
    return axis + radius[:, None] * ring, axis


def _shape_rest_surface(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rest-pose vertices, the part of each vertex (0 = trunk, 1.. = limbs) and its axis point."""
    vertices = _trunk(points)
    part = np.zeros(len(points), dtype=int)
    axis = np.column_stack([np.zeros(len(points)), vertices[:, 1], np.zeros(len(points))])
    for number, limb in enumerate(_limbs(), start=1):
        direction = np.asarray(limb.direction, dtype=float)
        direction /= np.linalg.norm(direction)
        angle = np.arccos(np.clip(points @ direction, -1, 1))
        inside = angle < limb.half_angle
        u, v = _frame(direction, np.asarray(limb.reference, dtype=float))
        azimuth = np.arctan2(points[inside] @ v, points[inside] @ u)
        # Uniform vertex count per length: the sphere's vertex count grows with angle squared.
        s = 1 - (angle[inside] / limb.half_angle) ** 2
        tube, tube_axis = _tube(limb, s, azimuth)
        boundary_points = np.cos(limb.half_angle) * direction + np.sin(limb.half_angle) * (
            np.cos(azimuth)[:, None] * u + np.sin(azimuth)[:, None] * v
        )
        base = _trunk(boundary_points)
        blend = np.clip(s / 0.2, 0, 1)
        blend = (blend * blend * (3 - 2 * blend))[:, None]
        vertices[inside] = (1 - blend) * base + blend * tube
        axis[inside] = (1 - blend) * axis[inside] + blend * tube_axis
        part[inside] = number
    return vertices, part, axis


def _skinning_weights(vertices: np.ndarray, sigma: float = 0.05, keep: int = 3) -> np.ndarray:
    """Each vertex follows the bones (joint -> its children) nearest to it, Gaussian in distance, top 3 kept."""
    children = {k: [c for c, p in enumerate(SMPL24.parents) if p == k] for k in range(len(SMPL24))}
    distance = np.empty((len(vertices), len(SMPL24)))
    for k in range(len(SMPL24)):
        ends = [SMPL24_REST[c] for c in children[k]] or [
            SMPL24_REST[k] + 0.5 * (SMPL24_REST[k] - SMPL24_REST[SMPL24.parents[k]])
        ]
        per_bone = []
        for end in ends:
            bone = end - SMPL24_REST[k]
            t = np.clip((vertices - SMPL24_REST[k]) @ bone / (bone @ bone), 0, 1)
            per_bone.append(np.linalg.norm(vertices - (SMPL24_REST[k] + t[:, None] * bone), axis=1))
        distance[:, k] = np.min(per_bone, axis=0)
    weights = np.exp(-0.5 * (distance / sigma) ** 2) + 1e-12
    weights[weights < np.sort(weights, axis=1)[:, -keep][:, None]] = 0
    return weights / weights.sum(1, keepdims=True)


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    normals = np.zeros_like(vertices)
    face_normals = np.cross(
        vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]]
    )
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def _shape_directions(vertices, part, axis, normals) -> np.ndarray:
    """Ten hand-made shape directions (metres per unit beta): stature, girth, trunk width, leg length, arm length,
    belly, shoulder width, head size, hip width, chest depth."""
    limbs = [limb.name for limb in _limbs()]
    is_leg = np.isin(part, [1 + limbs.index("left_leg"), 1 + limbs.index("right_leg")])
    is_arm = np.isin(part, [1 + limbs.index("left_arm"), 1 + limbs.index("right_arm")])
    is_head = part == 1 + limbs.index("head")
    trunk = part == 0
    side = np.sign(vertices[:, 0])
    radial = vertices - axis
    zero = np.zeros(len(vertices))
    directions = [
        np.column_stack([zero, 0.06 * vertices[:, 1], zero]),  # stature
        0.15 * radial,  # girth
        np.column_stack([0.12 * vertices[:, 0] * trunk, zero, zero]),  # trunk width
        np.column_stack([zero, 0.05 * np.minimum(vertices[:, 1] + 0.08, 0) * is_leg, zero]),  # leg length
        np.column_stack([0.05 * (vertices[:, 0] - side * 0.18) * is_arm, zero, zero]),  # arm length
        np.column_stack(
            [zero, zero, 0.03 * np.clip(normals[:, 2], 0, 1) * trunk * np.exp(-(((vertices[:, 1] - 0.12) / 0.12) ** 2))]
        ),  # belly
        np.column_stack([0.02 * side * (is_arm | (trunk & (vertices[:, 1] > 0.3))), zero, zero]),  # shoulders
        0.15 * radial * is_head[:, None],  # head size
        np.column_stack([0.015 * side * (is_leg | (trunk & (vertices[:, 1] < 0.0))), zero, zero]),  # hips
        np.column_stack([zero, zero, 0.15 * vertices[:, 2] * trunk * (vertices[:, 1] > 0.15)]),  # chest depth
    ]
    return np.stack(directions, axis=-1)


def _pose_directions(weights: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Small corrective bulges along the normal, driven by each joint's rotation (207 = 23 joints x 9)."""
    pattern = np.random.default_rng(24).normal(0, 0.004, size=(23, 9))
    directions = weights[:, 1:, None, None] * pattern[None, :, :, None] * normals[:, None, None, :]
    return directions.reshape(len(normals), 207, 3).transpose(0, 2, 1)


def _coco17_targets(head_vertices: np.ndarray) -> np.ndarray:
    """COCO-17 keypoint positions on the rest body: face points on the head's surface, others at joints."""
    head = SMPL24_REST[15]
    front = head_vertices[np.argmax(head_vertices[:, 2])]
    face = {
        "nose": front,
        "left_eye": front + [0.03, 0.035, -0.015],
        "right_eye": front + [-0.03, 0.035, -0.015],
        "left_ear": head + [0.09, 0.0, -0.02],
        "right_ear": head + [-0.09, 0.0, -0.02],
    }
    joints = {
        f"{side}_{name}": SMPL24_REST[SMPL24.index(f"{side}_{smpl}")]
        for side in ("left", "right")
        for name, smpl in (
            ("shoulder", "shoulder"),
            ("elbow", "elbow"),
            ("wrist", "wrist"),
            ("hip", "hip"),
            ("knee", "knee"),
            ("ankle", "ankle"),
        )
    }
    return np.array([{**face, **joints}[name] for name in COCO17.names])


def _h36m17_targets(coco: np.ndarray) -> np.ndarray:
    by_name = {**{n: SMPL24_REST[SMPL24.index(n)] for n in SMPL24.names}, "nose": coco[0]}
    by_name.update(
        torso=SMPL24_REST[SMPL24.index("spine2")],
        head=SMPL24_REST[15] + [0, 0.1, 0],
        neck=SMPL24_REST[12] + [0, 0.02, 0],
    )
    return np.array([by_name[name] for name in H36M17.names])


@dataclass(frozen=True)
class SyntheticBody:
    """The arrays of an SMPL-format model file plus the extra regressors and coarse mesh PMCE needs."""

    model: dict[str, np.ndarray]  # v_template, shapedirs, posedirs, J_regressor, weights, kintree_table, f
    h36m_regressor: np.ndarray  # (17, 6890)
    coco_regressor: np.ndarray  # (17, 6890)
    coarse: CoarseMesh
    name: str = STAND_IN_NAME


def make_synthetic_body() -> SyntheticBody:
    points, faces = _sphere(NUM_VERTICES)
    vertices, part, axis = _shape_rest_surface(points)
    normals = _vertex_normals(vertices, faces)
    weights = _skinning_weights(vertices)
    head_vertices = vertices[part == 1]
    coco = _coco17_targets(head_vertices)
    h36m_regressor = vertex_regressor(vertices, _h36m17_targets(coco))
    kintree = np.array([[np.iinfo(np.uint32).max] + list(SMPL24.parents[1:]), range(len(SMPL24))], dtype=np.int64)
    model = {
        "v_template": vertices,
        "shapedirs": _shape_directions(vertices, part, axis, normals),
        "posedirs": _pose_directions(weights, normals),
        "J_regressor": vertex_regressor(vertices, SMPL24_REST),
        "weights": weights,
        "kintree_table": kintree,
        "f": faces.astype(np.int64),
    }
    coarse = coarse_mesh_for_body(vertices, farthest_points(vertices, NUM_COARSE_VERTICES), h36m_regressor)
    return SyntheticBody(model, h36m_regressor, vertex_regressor(vertices, coco), coarse)
