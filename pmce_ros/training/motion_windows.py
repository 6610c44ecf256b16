"""Training windows drawn afresh for every sample from real motion, for models without an image stream.

Nothing is rendered: a pose-only model reads 2D keypoints alone, so every sample can have its own camera, body,
playback speed and frame rate. Per sample:
- motion: a training clip (pybullet's DeepMimic, CMU's playground capture or a real-capture set's train split,
  retargeted), mirrored left/right half the time, played at 0.5-2x and sampled at a stride of 1-6 frames of
  its 30 fps (5-30 fps windows), so a model stays right when a robot processes fewer frames than its camera
  sends; the window's sample times fall between frames, where the keypoints are interpolated;
- body: one of a bank of random shapes per clip (betas ~ N(0, beta_std));
- camera: from any side at robot heights (0.3-2.5 m) and distances (1-12 m), looking at the person or, for a
  share of samples, past them so that the image border cuts the body (its keypoints then clamp to the border,
  as a detector reports parts it cannot see);
- detector noise: Gaussian per keypoint, its std the keypoint's COCO OKS sigma times the person's box height
  times a per-sample level; dropouts (a keypoint thrown off) and left/right swaps at detector-like rates.
The target is the frame the model describes (the window's mid frame, or its last for causal models): its mesh
from the pose parameters, rooted at the Human3.6M pelvis as WindowDataset does.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pmce_ros.body.body_model import NUM_BETAS, BodyModel
from pmce_ros.body.joint_sets import SMPL24, coco17_to_coco19, regress_joints
from pmce_ros.body.regressors import skinned_points
from pmce_ros.perception.track_buffers import normalize_keypoints
from pmce_ros.training.clips import load_clip
from pmce_ros.training.mocap import retarget
from pmce_ros.training.synthetic_data import IMAGE_SIZES, look_at, posed_vertices, project

# COCO keypoint OKS sigmas (cocoapi): how far annotators disagree per keypoint, relative to the person's scale.
COCO_OKS_SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10.0
)
COCO_LEFT_RIGHT = np.array([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15])
MIN_VISIBLE_KEYPOINTS = 6  # a person cut further by the border would not be detected


@dataclass(frozen=True)
class MotionAugmentation:
    samples_per_epoch: int = 4096
    shapes_per_clip: int = 16
    beta_std: float = 0.8
    speed: tuple[float, float] = (0.5, 2.0)  # playback speed
    stride: tuple[int, int] = (1, 6)  # window frame = every k-th 30 fps frame, k in this range
    distance_m: tuple[float, float] = (1.0, 12.0)
    camera_height_m: tuple[float, float] = (0.3, 2.5)
    focal_per_diagonal: tuple[float, float] = (0.6, 1.4)
    partial_view_rate: float = 0.2  # samples aimed past the person
    noise_level: tuple[float, float] = (0.15, 0.45)  # x OKS sigma x box height = keypoint std in pixels
    dropout_rate: float = 0.03
    dropout_noise: float = 0.15  # offset std of a dropped keypoint, x box height
    swap_rate: float = 0.01  # chance per frame that a left/right pair is swapped


def smpl_mirror_permutation() -> np.ndarray:
    """SMPL-24 index -> the index of its left/right counterpart (itself on the midline)."""
    names = list(SMPL24.names)
    swapped = [n.replace("left_", "@").replace("right_", "left_").replace("@", "right_") for n in names]
    return np.array([names.index(n) for n in swapped])


def mirrored_motion(pose: np.ndarray, transl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The motion reflected through the body's sagittal plane (SMPL x = left): left and right joints swap, and
    each axis-angle keeps its x component and negates y and z."""
    pose = pose[:, smpl_mirror_permutation()] * np.array([1.0, -1.0, -1.0])
    return pose.astype(np.float32), (transl * np.array([-1.0, 1.0, 1.0])).astype(np.float32)


@dataclass
class _Motion:
    pose: np.ndarray  # (N, 24, 3) axis-angle
    transl: np.ndarray  # (N, 3)
    betas: np.ndarray  # (S, 10)
    coco: np.ndarray  # (S, N, 17, 3) world COCO joints per shape


class MotionWindowDataset(torch.utils.data.Dataset):
    """`samples_per_epoch` windows of `num_frames`, drawn anew from (seed, epoch, index): reproducible, and a
    resumed run sees what an uninterrupted one would. `described_frame` is the window index the targets are for.
    """

    def __init__(
        self,
        clips: list[Path],
        fps: float,
        augmentation: MotionAugmentation,
        body: BodyModel,
        num_frames: int,
        described_frame: int,
        seed: int = 0,
        progress=None,
    ):
        if not clips:
            raise ValueError("no training clips: every clip is held out or none is installed")
        self.augmentation = augmentation
        self.body = body
        self.num_frames, self.described_frame = num_frames, described_frame
        self.seed, self.epoch = seed, 0
        self.h36m_pelvis = body.h36m_regressor[0].astype(np.float32)
        rng = np.random.default_rng([seed, 7])
        self.motions = []
        for path in clips:
            pose, transl = retarget(load_clip(path, fps), body.rest_joints)
            for motion in ((pose, transl), mirrored_motion(pose, transl)):
                self.motions.append(self._prepare(rng, *motion))
                if progress is not None:
                    progress(path.stem)
        lengths = np.array([len(m.pose) for m in self.motions], dtype=np.float64)
        self.clip_weights = lengths / lengths.sum()

    def _prepare(self, rng, pose, transl) -> _Motion:
        count = self.augmentation.shapes_per_clip
        betas = np.clip(rng.normal(0.0, self.augmentation.beta_std, (count, NUM_BETAS)), -2.5, 2.5)
        coco = np.stack([self._keypoints_3d(pose, b) + transl[:, None] for b in betas])
        return _Motion(
            pose.astype(np.float32), transl.astype(np.float32), betas.astype(np.float32), coco.astype(np.float32)
        )

    def _keypoints_3d(self, pose: np.ndarray, betas: np.ndarray) -> np.ndarray:
        """(N, 17, 3) COCO joints of the posed body: without the mesh where the body has no pose correctives
        (11 times faster on 200 frames, the same within 2e-7 m)."""
        model = self.body.model
        if np.any(model["posedirs"]):
            return regress_joints(self.body.coco_regressor, posed_vertices(self.body, pose, betas))
        return skinned_points(model, self.body.coco_regressor, pose, betas)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.augmentation.samples_per_epoch

    def _times(self, rng, length: int) -> np.ndarray:
        """Fractional frame times of the window, the described one on a whole frame."""
        a = self.augmentation
        step = rng.uniform(*a.speed) * rng.integers(a.stride[0], a.stride[1] + 1)
        step = min(step, (length - 1) / max(self.num_frames - 1, 1))
        before, after = self.described_frame * step, (self.num_frames - 1 - self.described_frame) * step
        first = int(np.ceil(before))
        described = rng.integers(first, max(first, int(np.floor(length - 1 - after))) + 1)
        # A window that just fits may overhang by a fraction of a frame after rounding the described one.
        return np.clip(described + (np.arange(self.num_frames) - self.described_frame) * step, 0, length - 1)

    def _camera(self, rng, window: np.ndarray):
        """(rotation, position, focal, width, height) with every joint of the window in front of the camera."""
        a = self.augmentation
        width, height = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
        focal = float(np.hypot(width, height) * rng.uniform(*a.focal_per_diagonal))
        centre = window[self.described_frame].mean(0)
        target = centre.copy()
        if rng.random() < a.partial_view_rate:
            target += rng.normal(0.0, 0.5, 3)
        azimuth, distance = rng.uniform(0, 2 * np.pi), rng.uniform(*a.distance_m)
        camera_height, roll = rng.uniform(*a.camera_height_m), np.radians(rng.normal(0.0, 3.0))
        while True:
            position = centre + distance * np.array([np.sin(azimuth), 0.0, np.cos(azimuth)])
            position[1] = camera_height
            rotation = look_at(position, target, roll)
            if ((window - position) @ rotation.T)[..., 2].min() > 0.3:
                return rotation, position, focal, width, height
            distance *= 1.2

    def _keypoints(self, rng, uv: np.ndarray, width: int, height: int) -> np.ndarray:
        """Projected joints (T, 17, 2) -> detector-like keypoints, clamped to the image."""
        a = self.augmentation
        box_height = np.maximum(uv[..., 1].max(-1) - uv[..., 1].min(-1), 1.0)[:, None, None]
        std = rng.uniform(*a.noise_level) * COCO_OKS_SIGMAS[None, :, None] * box_height
        noisy = uv + rng.normal(0.0, 1.0, uv.shape) * std
        dropped = rng.random(uv.shape[:2]) < a.dropout_rate
        noisy[dropped] += (rng.normal(0.0, a.dropout_noise, (*uv.shape[:2], 2)) * box_height)[dropped]
        swapped = rng.random(len(uv)) < a.swap_rate * 8  # 8 left/right pairs
        noisy[swapped] = noisy[swapped][:, COCO_LEFT_RIGHT]
        return np.clip(noisy, 0.0, [width - 1, height - 1])

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, item])
        motion = self.motions[rng.choice(len(self.motions), p=self.clip_weights)]
        shape = rng.integers(len(motion.betas))
        times = self._times(rng, len(motion.pose))
        low = np.floor(times).astype(int)
        high, share = np.minimum(low + 1, len(motion.pose) - 1), (times - low)[:, None, None]
        window = motion.coco[shape, low] * (1 - share) + motion.coco[shape, high] * share
        for _ in range(20):
            rotation, position, focal, width, height = self._camera(rng, window)
            uv = project((window - position) @ rotation.T, focal, width, height)
            described = uv[self.described_frame]
            inside = (described >= 0).all(-1) & (described[:, 0] < width) & (described[:, 1] < height)
            if inside.sum() >= MIN_VISIBLE_KEYPOINTS:
                break
        keypoints = self._keypoints(rng, uv, width, height)
        frame = int(round(times[self.described_frame]))
        world = posed_vertices(self.body, motion.pose[frame : frame + 1], motion.betas[shape])[0] + motion.transl[frame]
        vertices = ((world - position) @ rotation.T).astype(np.float32)
        h36m = regress_joints(self.body.h36m_regressor, vertices)
        root = h36m[0]
        joints = coco17_to_coco19(regress_joints(self.body.coco_regressor, vertices)) - root
        return {
            "pose2d": torch.from_numpy(normalize_keypoints(coco17_to_coco19(keypoints), width, height)),
            "h36m_joints": torch.from_numpy(((h36m - root) * 1000).astype(np.float32)),
            "h36m_valid": torch.ones(17, 1),
            "mesh": torch.from_numpy((vertices - root).astype(np.float32)),
            "mesh_valid": torch.ones(1),
            "joints": torch.from_numpy((joints * 1000).astype(np.float32)),
            "joints_valid": torch.ones(19, 1),
        }
