"""The PMCE network (Co-Evolution of Pose and Mesh, ICCV 2023), parameter for parameter the authors' release."""

import torch
from torch import nn

from pmce_ros.model.config import PMCEConfig
from pmce_ros.model.decoder import CoevoDecoder
from pmce_ros.model.lifter import PoseLifter


class PMCE(nn.Module):
    """pose2d (B, T, J, 2), img_feat (B, T, 2048) -> mesh (B, 6890, 3) m, joints (B, J, 3) m, pose3d (B, J, 3) mm.

    A model configured without an image stream (`image_stream=False`) reads no features: img_feat may be None
    and is ignored.

    Everything is root-relative (Human3.6M pelvis) and describes the window's mid frame (index T // 2).
    `vertex_joint_index` (431 ints) picks, for each coarse vertex, the lifted joint it starts from; see
    pmce_ros.body.coarse_mesh for how it is computed from the authors' files or derived for any body model.
    `init_vertices` (431, 3) fills the checkpoint buffer of the same name (unused by the forward pass).
    """

    def __init__(self, config: PMCEConfig, vertex_joint_index, init_vertices=None):
        super().__init__()
        index = torch.as_tensor(vertex_joint_index, dtype=torch.long)
        if index.shape != (config.num_coarse_vertices,):
            raise ValueError(
                f"vertex_joint_index must hold {config.num_coarse_vertices} entries, got {tuple(index.shape)}"
            )
        if index.min() < 0 or index.max() >= config.num_joints:
            raise ValueError(f"vertex_joint_index must lie in [0, {config.num_joints})")
        self.config = config
        self.pose_lifter = PoseLifter(config)
        self.pose_mesh_coevo = CoevoDecoder(config, index, init_vertices)
        if config.standardize_features and config.image_stream:
            self.register_buffer("feature_mean", torch.zeros(config.feature_dim))
            self.register_buffer("feature_std", torch.ones(config.feature_dim))

    def prepare_features(self, img_feat: torch.Tensor | None) -> torch.Tensor | None:
        """Standardised features; None for a model without an image stream, whatever was given."""
        if not self.config.image_stream:
            return None
        if not self.config.standardize_features:
            return img_feat
        return (img_feat - self.feature_mean) / self.feature_std

    def forward(self, pose2d: torch.Tensor, img_feat: torch.Tensor | None = None):
        expected = (self.config.num_frames, self.config.num_joints, 2)
        if pose2d.ndim != 4 or tuple(pose2d.shape[1:]) != expected:
            raise ValueError(f"pose2d must be (B, {expected[0]}, {expected[1]}, 2), got {tuple(pose2d.shape)}")
        if not self.config.image_stream:
            img_feat = None
        elif img_feat is None or tuple(img_feat.shape) != (
            pose2d.shape[0],
            self.config.num_frames,
            self.config.feature_dim,
        ):
            got = None if img_feat is None else tuple(img_feat.shape)
            raise ValueError(f"img_feat must be (B, {self.config.num_frames}, {self.config.feature_dim}), got {got}")
        img_feat = self.prepare_features(img_feat)
        pose3d = self.pose_lifter(pose2d, img_feat)
        joints, mesh = self.pose_mesh_coevo(pose3d / 1000, img_feat)
        return mesh, joints, pose3d
