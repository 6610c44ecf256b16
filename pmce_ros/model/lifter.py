"""Stage 1 of PMCE: lifts a 16-frame window of 2D keypoints (plus image features) to one 3D pose.

Parameter names follow the release (`pose_lifter.*` in the checkpoint).
"""

import torch
from torch import nn

from pmce_ros.model.config import PMCEConfig
from pmce_ros.model.layers import Mlp, SelfAttention, drop_path


class TransformerBlock(nn.Module):
    """Pre-norm transformer block (LayerNorm eps 1e-6)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, drop_path_probability: float, fused: bool):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = SelfAttention(dim, heads, fused)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = drop_path(drop_path_probability)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PoseLifter(nn.Module):
    def __init__(self, config: PMCEConfig):
        super().__init__()
        dim, frames, joints = config.lifter_dim, config.num_frames, config.num_joints
        self.joint_embed = nn.Linear(2, dim)
        self.imgfeat_embed = nn.Linear(config.feature_dim, dim) if config.image_stream else None
        self.spatial_pos_embed = nn.Parameter(torch.zeros(1, joints, dim))
        self.temporal_pos_embed = nn.Parameter(torch.zeros(1, frames, dim))
        rates = torch.linspace(0, config.lifter_drop_path, config.lifter_depth).tolist()

        def blocks():
            return nn.ModuleList(
                TransformerBlock(dim, config.lifter_heads, config.lifter_mlp_ratio, rate, config.fast) for rate in rates
            )

        self.SpatialBlocks = blocks()
        self.TemporalBlocks = blocks()
        # One LayerNorm pair reused after every spatial / temporal block, as in the release.
        self.norm_s = nn.LayerNorm(dim, eps=1e-6)
        self.norm_t = nn.LayerNorm(dim, eps=1e-6)
        self.regression = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 3))
        # Learned weighted sum over the 16 per-frame poses (not a pick of the mid frame).
        self.fusion = nn.Conv2d(frames, 1, kernel_size=1)
        self.output_scale = config.lifter_output_scale
        self.fast = config.fast

    def forward(self, pose2d: torch.Tensor, img_feat: torch.Tensor | None) -> torch.Tensor:
        """pose2d (B, T, J, 2) normalised by the image width; img_feat (B, T, F), None without an image stream
        -> pose (B, J, 3) millimetres."""
        batch, frames, joints, _ = pose2d.shape
        x = self.joint_embed(pose2d)
        if self.imgfeat_embed is not None:
            x = x + self.imgfeat_embed(img_feat).unsqueeze(2)
        x = x.reshape(batch * frames, joints, -1) + self.spatial_pos_embed
        for depth, (spatial, temporal) in enumerate(zip(self.SpatialBlocks, self.TemporalBlocks)):
            x = self.norm_s(spatial(x))
            x = x.reshape(batch, frames, joints, -1).transpose(1, 2).reshape(batch * joints, frames, -1)
            if depth == 0:
                x = x + self.temporal_pos_embed
            x = self.norm_t(temporal(x))
            x = x.reshape(batch, joints, frames, -1).transpose(1, 2)
            if depth + 1 < len(self.SpatialBlocks):
                x = x.reshape(batch * frames, joints, -1)
        per_frame = self.regression(x)  # (B, T, J, 3)
        if self.fast:  # the same weighted sum without torch's slow CPU convolution path
            weights = self.fusion.weight.view(1, frames, 1, 1)
            fused = (per_frame * weights).sum(1) + self.fusion.bias
        else:
            fused = self.fusion(per_frame).squeeze(1)  # (B, J, 3)
        return fused if self.output_scale == 1.0 else fused * self.output_scale
