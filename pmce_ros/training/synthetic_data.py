"""A training set we can build here: real motion (DeepMimic clips, CMU's capture) on an SMPL-format body, seen by
random cameras, with detector-like 2D keypoints and image features of a rendering of the mesh.

Per rendering of a clip: a random body shape (betas), a camera at 3.5-7 m looking at the person from any side
and a plausible height, a random image size and focal length. COCO-17 keypoints are regressed from the posed mesh
and projected; then Gaussian jitter (a fraction of the person's height, independently per frame, as a detector
jitters) and dropouts (a keypoint thrown off by a large offset). Image features: the mesh is splatted into the
full image (flat background, Lambert-shaded body), cropped around the noisy keypoints exactly as the pipeline crops
a camera frame, and passed through the pipeline's ResNet-50. Shape thus reaches the image stream through the
silhouette. Evaluation clips are held out by motion (whole clips), never by frame.

Built splits are cached as .npz (inputs plus pose parameters); meshes are recomputed from the parameters with
the body model when loaded.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse
import torch

from pmce_ros.body.body_model import NUM_BETAS, BodyModel
from pmce_ros.body.joint_sets import coco17_to_coco19, regress_joints
from pmce_ros.perception.crops import crop_people
from pmce_ros.perception.features import FeatureExtractor
from pmce_ros.training.clips import clip_files, clip_name, load_clip
from pmce_ros.training.mocap import retarget
from pmce_ros.training.sequences import Sequence

IMAGE_SIZES = ((640, 480), (1280, 720), (960, 960), (1920, 1080))
CACHE_VERSION = 1


@dataclass(frozen=True)
class SyntheticDataConfig:
    test_clips: tuple[str, ...] = ("run", "dance_b", "punch")  # held out by motion
    train_renderings: int = 4  # camera / body-shape draws per training clip
    test_renderings: int = 3
    fps: float = 30.0
    beta_std: float = 0.8
    distance_m: tuple[float, float] = (3.5, 7.0)
    camera_height_m: tuple[float, float] = (0.4, 2.2)
    focal_per_diagonal: tuple[float, float] = (0.8, 1.4)
    keypoint_noise: float = 0.012  # std of the jitter, fraction of the person's height in pixels
    dropout_rate: float = 0.03  # chance that a keypoint is thrown off
    dropout_noise: float = 0.15  # std of that offset, fraction of the person's height
    seed: int = 0
    clips: tuple[str, ...] = field(default=())  # restrict to these clips (tests); empty = all

    def split_clips(self, split: str) -> list[Path]:
        files = [f for f in clip_files() if not self.clips or clip_name(f) in self.clips]
        unknown = set(self.test_clips) - {clip_name(f) for f in clip_files()}
        if unknown:
            raise ValueError(f"unknown test clips {sorted(unknown)}")
        held_out = [clip_name(f) in self.test_clips for f in files]
        return [f for f, test in zip(files, held_out) if test == (split == "test")]


def posed_vertices(body: BodyModel, pose: np.ndarray, betas: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Axis-angle pose (N, 24, 3) and betas (10,) -> vertices (N, V, 3), metres, pelvis at its rest offset."""
    out = []
    with torch.no_grad():
        for start in range(0, len(pose), chunk):
            part = torch.from_numpy(pose[start : start + chunk].astype(np.float32))
            n = len(part)
            result = body.layer(
                global_orient=part[:, 0],
                body_pose=part[:, 1:].reshape(n, -1),
                betas=torch.from_numpy(betas.astype(np.float32)).expand(n, -1),
            )
            out.append(result.vertices.numpy())
    return np.concatenate(out)


def look_at(position: np.ndarray, target: np.ndarray, roll: float) -> np.ndarray:
    """World -> camera rotation (OpenCV axes: x right, y down, z forward), y up in the world."""
    forward = (target - position) / np.linalg.norm(target - position)
    right = np.cross([0.0, -1.0, 0.0], forward)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])
    c, s = np.cos(roll), np.sin(roll)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ rotation


def project(points: np.ndarray, focal: float, width: int, height: int) -> np.ndarray:
    return points[..., :2] / points[..., 2:3] * focal + np.array([width / 2, height / 2])


class SplatRenderer:
    """Draws a mesh as depth-sorted square splats of its vertices (as wide as the mesh's mean edge at that
    depth, so the surface closes), shaded by their normals: a silhouette with some inner structure, at a few
    milliseconds per frame."""

    def __init__(self, faces: np.ndarray, template: np.ndarray):
        self.faces = faces
        self.edge_m = float(np.linalg.norm(template[faces[:, 0]] - template[faces[:, 1]], axis=1).mean())
        num_vertices = len(template)
        rows = faces.reshape(-1)
        cols = np.repeat(np.arange(len(faces)), 3)
        self.incidence = scipy.sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_vertices, len(faces)))

    def __call__(
        self, vertices_cam: np.ndarray, focal: float, width: int, height: int, background: np.ndarray
    ) -> np.ndarray:
        """vertices (V, 3) camera frame -> (H, W, 3) uint8 BGR."""
        v = vertices_cam
        face_normals = np.cross(v[self.faces[:, 1]] - v[self.faces[:, 0]], v[self.faces[:, 2]] - v[self.faces[:, 0]])
        normals = self.incidence @ face_normals
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        view = -v / np.linalg.norm(v, axis=1, keepdims=True)
        shade = 0.25 + 0.75 * np.abs((normals * view).sum(1))  # two-sided: winding is not checked
        pixels = np.round(project(v, focal, width, height)).astype(np.int64)
        order = np.argsort(-v[:, 2])  # far first, so near splats overwrite them
        image = np.empty((height, width, 3), np.uint8)
        image[:] = background
        colour = (shade[order, None] * np.array([200.0, 180.0, 160.0])).astype(np.uint8)
        radius = max(1, int(round(self.edge_m * focal / np.median(v[:, 2]) / 2)))
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                x, y = pixels[order, 0] + dx, pixels[order, 1] + dy
                inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
                image[y[inside], x[inside]] = colour[inside]
        return image


def _camera(rng: np.random.Generator, config: SyntheticDataConfig, world_joints: np.ndarray):
    """A camera that sees every joint of the clip with a margin: (rotation, position, focal, width, height)."""
    width, height = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
    focal = float(np.hypot(width, height) * rng.uniform(*config.focal_per_diagonal))
    centre = world_joints.reshape(-1, 3).mean(0)
    azimuth = rng.uniform(0, 2 * np.pi)
    distance = rng.uniform(*config.distance_m)
    camera_height = rng.uniform(*config.camera_height_m)
    roll = np.radians(rng.normal(0.0, 3.0))
    while True:
        position = centre + np.array([distance * np.sin(azimuth), 0.0, distance * np.cos(azimuth)])
        position[1] = camera_height
        rotation = look_at(position, centre, roll)
        cam = (world_joints - position) @ rotation.T
        if cam[..., 2].min() > 0.5:
            uv = project(cam, focal, width, height)
            margin = 0.05 * np.array([width, height])
            if (uv.min(axis=(0, 1)) > margin).all() and (uv.max(axis=(0, 1)) < [width, height] - margin).all():
                return rotation, position, focal, width, height
        distance *= 1.15


def _noisy_keypoints(rng: np.random.Generator, config: SyntheticDataConfig, uv: np.ndarray) -> np.ndarray:
    person_height = np.median(uv[..., 1].max(-1) - uv[..., 1].min(-1))
    noisy = uv + rng.normal(0.0, config.keypoint_noise * person_height, uv.shape)
    dropped = rng.random(uv.shape[:2]) < config.dropout_rate
    noisy[dropped] += rng.normal(0.0, config.dropout_noise * person_height, (int(dropped.sum()), 2))
    return noisy


def _render_sequence(rng, config, body, renderer, features, pose, transl, name):
    betas = np.clip(rng.normal(0.0, config.beta_std, NUM_BETAS), -2.5, 2.5).astype(np.float32)
    world = posed_vertices(body, pose, betas) + transl[:, None]
    world_coco = regress_joints(body.coco_regressor, world)
    rotation, position, focal, width, height = _camera(rng, config, world_coco)
    vertices = (world - position) @ rotation.T
    coco = regress_joints(body.coco_regressor, vertices)
    keypoints = _noisy_keypoints(rng, config, project(coco, focal, width, height))
    background = rng.integers(20, 235, 3)
    crops = np.concatenate(
        [
            crop_people(
                renderer(vertices[t], focal, width, height, background),
                np.concatenate([keypoints[t : t + 1], np.ones((1, 17, 1))], axis=-1),
                np.zeros((1, 4)),
            )
            for t in range(len(vertices))
        ]
    )
    return {
        "name": name,
        "keypoints": coco17_to_coco19(keypoints).astype(np.float32),
        "image_size": np.tile([width, height], (len(pose), 1)).astype(np.int32),
        "features": features(crops).astype(np.float16),
        "pose": pose,
        "betas": betas,
        "transl": transl,
        "rotation": rotation.astype(np.float32),
        "position": position.astype(np.float32),
    }


def build_split(
    config: SyntheticDataConfig, split: str, body: BodyModel, features: FeatureExtractor, progress=None
) -> list[dict]:
    """Raw records (inputs + pose parameters) of every rendering of every clip of the split."""
    renderings = config.train_renderings if split == "train" else config.test_renderings
    rng = np.random.default_rng([config.seed, 0 if split == "train" else 1])
    renderer = SplatRenderer(body.model["f"], body.model["v_template"])
    records = []
    for path in config.split_clips(split):
        clip = load_clip(path, config.fps)
        pose, transl = retarget(clip, body.rest_joints)
        for k in range(renderings):
            records.append(_render_sequence(rng, config, body, renderer, features, pose, transl, f"{clip.name}/{k}"))
            if progress is not None:
                progress(records[-1]["name"])
    return records


def save_records(records: list[dict], path: str | Path, body_name: str) -> None:
    arrays = {
        "version": np.array(CACHE_VERSION),
        "body": np.array(body_name),
        "names": np.array([r["name"] for r in records]),
        "lengths": np.array([len(r["keypoints"]) for r in records]),
    }
    for key in ("keypoints", "image_size", "features", "pose", "transl"):
        arrays[key] = np.concatenate([r[key] for r in records])
    for key in ("betas", "rotation", "position"):
        arrays[key] = np.stack([r[key] for r in records])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def load_records(path: str | Path, body_name: str) -> list[dict]:
    with np.load(path, allow_pickle=False) as data:
        if int(data["version"]) != CACHE_VERSION or str(data["body"]) != body_name:
            raise ValueError(
                f"{path} was built by another version or for another body ({data['body']}); delete it to rebuild"
            )
        ends = np.cumsum(data["lengths"])
        records = []
        for i, (name, end) in enumerate(zip(data["names"], ends)):
            start = end - data["lengths"][i]
            record = {"name": str(name)}
            for key in ("keypoints", "image_size", "features", "pose", "transl"):
                record[key] = data[key][start:end]
            for key in ("betas", "rotation", "position"):
                record[key] = data[key][i]
            records.append(record)
    return records


def sequence_from_record(record: dict, body: BodyModel) -> Sequence:
    """Targets from the pose parameters: the mesh, its Human3.6M joints and COCO-19 joints, camera frame."""
    world = posed_vertices(body, record["pose"], record["betas"]) + record["transl"][:, None]
    vertices = (world - record["position"]) @ record["rotation"].T
    coco19 = coco17_to_coco19(regress_joints(body.coco_regressor, vertices))
    return Sequence(
        record["name"],
        record["keypoints"],
        record["image_size"],
        record["features"],
        joints=coco19 * 1000,
        h36m_joints=regress_joints(body.h36m_regressor, vertices) * 1000,
        vertices=vertices.astype(np.float32),
    )
