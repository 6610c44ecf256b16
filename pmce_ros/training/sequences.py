"""What every dataset loader produces: per-person video sequences, and the 16-frame windows cut from them.

Units follow the authors: input keypoints in pixels, 3D joints in millimetres, meshes in metres, all in the
camera frame. A target a dataset lacks (3DPW has no mesh without SMPL; MPI-INF-3DHP has none at all) is None,
and its losses are masked out.
"""

from dataclasses import dataclass

import numpy as np
import torch

from pmce_ros.perception.track_buffers import normalize_keypoints


@dataclass
class Sequence:
    name: str
    keypoints: np.ndarray  # (N, J, 2) pixels, the model's input joint set
    image_size: np.ndarray  # (N, 2) width, height in pixels
    features: np.ndarray  # (N, F) image features
    joints: np.ndarray | None = None  # (N, J, 3) mm, input joint set: lifter and decoder targets
    h36m_joints: np.ndarray | None = None  # (N, 17, 3) mm: target of the joints regressed from the mesh
    vertices: np.ndarray | None = None  # (N, V, 3) metres

    def __len__(self) -> int:
        return len(self.keypoints)

    def __post_init__(self):
        for name in ("image_size", "features", "joints", "h36m_joints", "vertices"):
            value = getattr(self, name)
            if value is not None and len(value) != len(self.keypoints):
                raise ValueError(
                    f"sequence {self.name}: {name} has {len(value)} frames, keypoints {len(self.keypoints)}"
                )


def window_indices(length: int, target: int, num_frames: int, described_frame: int) -> np.ndarray:
    """Frames of the window whose index `described_frame` is frame `target`, repeating the first / last frame past
    the ends (as the streaming node does)."""
    start = target - described_frame
    return np.clip(np.arange(start, start + num_frames), 0, length - 1)


def _rooted(points: np.ndarray, root: np.ndarray) -> np.ndarray:
    return (points - root).astype(np.float32)


class WindowDataset(torch.utils.data.Dataset):
    """One sample per frame of every sequence: that frame's window of inputs and its targets, all rooted at the
    Human3.6M pelvis, as in the authors' training.

    `image_features=False` feeds zeros instead of features: the 'only pose' ablation. `stride` > 1 keeps every
    stride-th frame of a sequence as a sample (neighbouring windows overlap in 15 of 16 frames). The targets are
    those of the window's `described_frame` (default: its middle, as the authors' model describes).
    `pad_future=True` fills the window after the described frame with the described frame itself: a centered
    model run causally, as the pipeline runs the authors' weights in latency_mode "causal".
    """

    def __init__(
        self,
        sequences: list[Sequence],
        num_frames: int,
        h36m_regressor: np.ndarray,
        image_features: bool = True,
        stride: int = 1,
        described_frame: int | None = None,
        pad_future: bool = False,
    ):
        if not sequences:
            raise ValueError("no sequences to cut windows from")
        self.sequences = sequences
        self.num_frames = num_frames
        self.described_frame = num_frames // 2 if described_frame is None else described_frame
        self.h36m_regressor = np.asarray(h36m_regressor, dtype=np.float32)
        self.h36m_pelvis = torch.from_numpy(self.h36m_regressor[0])
        self.image_features = image_features
        self.pad_future = pad_future
        self.index = [(s, t) for s, sequence in enumerate(sequences) for t in range(0, len(sequence), stride)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        s, t = self.index[item]
        sequence = self.sequences[s]
        frames = window_indices(len(sequence), t, self.num_frames, self.described_frame)
        if self.pad_future:
            frames = np.minimum(frames, t)
        width, height = sequence.image_size[t]
        features = sequence.features[frames].astype(np.float32)
        sample = {
            "pose2d": torch.from_numpy(normalize_keypoints(sequence.keypoints[frames], width, height)),
            "features": torch.from_numpy(features if self.image_features else np.zeros_like(features)),
        }
        num_joints = sequence.keypoints.shape[1]
        vertices = None if sequence.vertices is None else torch.from_numpy(sequence.vertices[t].astype(np.float32))
        # The root: the Human3.6M pelvis of the joint targets, else the one regressed from the mesh.
        if sequence.h36m_joints is not None:
            root_mm = sequence.h36m_joints[t][0]
            sample["h36m_joints"] = torch.from_numpy(_rooted(sequence.h36m_joints[t], root_mm))
            sample["h36m_valid"] = torch.ones(17, 1)
        else:
            root_mm = None if vertices is None else (self.h36m_pelvis @ vertices).numpy() * 1000
            sample["h36m_joints"], sample["h36m_valid"] = torch.zeros(17, 3), torch.zeros(17, 1)
        if vertices is not None:
            sample["mesh"] = vertices - torch.from_numpy(root_mm / 1000).float()
            sample["mesh_valid"] = torch.ones(1)
        else:
            sample["mesh"], sample["mesh_valid"] = torch.zeros(len(self.h36m_pelvis), 3), torch.zeros(1)
        if sequence.joints is not None and root_mm is not None:
            sample["joints"] = torch.from_numpy(_rooted(sequence.joints[t], root_mm))
            sample["joints_valid"] = torch.ones(num_joints, 1)
        else:
            sample["joints"], sample["joints_valid"] = torch.zeros(num_joints, 3), torch.zeros(num_joints, 1)
        return sample
