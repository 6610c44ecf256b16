"""Stage 2 of PMCE: the co-evolution decoder that turns the lifted 3D pose and image features into a mesh.

Parameter names follow the release (`pose_mesh_coevo.*` in the checkpoint).
"""

import torch
import torch.nn.functional as F
from torch import nn

from pmce_ros.model.config import PMCEConfig
from pmce_ros.model.layers import AdaLayerNorm, Mlp, SelfAttention, attend, drop_path, merge_heads, split_heads


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int, fused: bool):
        super().__init__()
        self.heads = heads
        self.fused = fused
        self.wq = nn.Linear(dim, dim)
        self.wk = nn.Linear(dim, dim)
        self.wv = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        q, k, v = (
            split_heads(linear(x), self.heads) for linear, x in ((self.wq, query), (self.wk, key), (self.wv, value))
        )
        return self.proj(merge_heads(attend(q, k, v, self.fused)))


class CrossAttentionBlock(nn.Module):
    """Queries from one stream attend to the other; every input gets its own AdaLN; then an AdaLN FFN."""

    def __init__(self, dim: int, heads: int, config: PMCEConfig):
        super().__init__()
        self.normq = AdaLayerNorm(dim, config.image_context_dim)
        self.normk = AdaLayerNorm(dim, config.image_context_dim)
        self.normv = AdaLayerNorm(dim, config.image_context_dim)
        self.attn = CrossAttention(dim, heads, config.fast)
        self.norm2 = AdaLayerNorm(dim, config.image_context_dim)
        self.mlp = Mlp(dim, int(dim * config.decoder_mlp_ratio))
        self.drop_path = drop_path(config.decoder_drop_path)

    def forward(self, query, key, value, feature):
        x = query + self.drop_path(
            self.attn(self.normq(query, feature), self.normk(key, feature), self.normv(value, feature))
        )
        return x + self.drop_path(self.mlp(self.norm2(x, feature)))


class AdaTransformerBlock(nn.Module):
    """Pre-norm self-attention block with AdaLN in place of LayerNorm."""

    def __init__(self, dim: int, heads: int, config: PMCEConfig):
        super().__init__()
        self.norm1 = AdaLayerNorm(dim, config.image_context_dim)
        self.attn = SelfAttention(dim, heads, config.fast)
        self.norm2 = AdaLayerNorm(dim, config.image_context_dim)
        self.mlp = Mlp(dim, int(dim * config.decoder_mlp_ratio))
        self.drop_path = drop_path(config.decoder_drop_path)

    def forward(self, x, feature):
        x = x + self.drop_path(self.attn(self.norm1(x, feature)))
        return x + self.drop_path(self.mlp(self.norm2(x, feature)))


class CoevoBlock(nn.Module):
    """One co-evolution step: joints and coarse vertices exchange information, then refine themselves."""

    def __init__(self, config: PMCEConfig):
        super().__init__()
        dim, joints, vertices = config.decoder_dim, config.num_joints, config.num_coarse_vertices
        self.joint_proj = nn.Linear(3, dim)
        self.vertx_proj = nn.Linear(3, dim)
        # The release initialises every embedding with randn.
        self.joint_pos_embed = nn.Parameter(torch.randn(1, joints, dim))
        self.vertx_pos_embed = nn.Parameter(torch.randn(1, vertices, dim))
        self.j_Q_embed = nn.Parameter(torch.randn(1, joints, dim))
        self.v_Q_embed = nn.Parameter(torch.randn(1, vertices, dim))
        self.proj_v2j_dim = nn.Linear(dim, dim)
        self.proj_j2v_dim = nn.Linear(dim, dim)
        self.v2j_K_embed = nn.Parameter(torch.randn(1, vertices, dim))
        self.j2v_K_embed = nn.Parameter(torch.randn(1, joints, dim))
        self.joint_SA_FFN = AdaTransformerBlock(dim, config.joint_heads, config)
        self.vertx_SA_FFN = AdaTransformerBlock(dim, config.vertex_heads, config)
        self.joint_CA_FFN = CrossAttentionBlock(dim, config.joint_heads, config)
        self.vertx_CA_FFN = CrossAttentionBlock(dim, config.vertex_heads, config)
        self.proj_joint_feat2coor = nn.Linear(dim, 3)
        self.proj_vertx_feat2coor = nn.Linear(dim, 3)

    def forward(self, joints: torch.Tensor, vertices: torch.Tensor, feature: torch.Tensor):
        """joints (B, J, 3), vertices (B, 431, 3) metres; feature (B, F) -> refined joints, vertices."""
        joint_feat = self.joint_proj(joints) + self.joint_pos_embed
        vertex_feat = self.vertx_proj(vertices) + self.vertx_pos_embed
        # Both cross attentions read the features from before this step (the query embedding sum is also the
        # residual).
        joint_feat, vertex_feat = (
            self.joint_CA_FFN(
                joint_feat + self.j_Q_embed, self.proj_v2j_dim(vertex_feat) + self.v2j_K_embed, vertex_feat, feature
            ),
            self.vertx_CA_FFN(
                vertex_feat + self.v_Q_embed, self.proj_j2v_dim(joint_feat) + self.j2v_K_embed, joint_feat, feature
            ),
        )
        joint_feat = self.joint_SA_FFN(joint_feat, feature)
        vertex_feat = self.vertx_SA_FFN(vertex_feat, feature)
        return (self.proj_joint_feat2coor(joint_feat) + joints, self.proj_vertx_feat2coor(vertex_feat) + vertices)


class CoevoDecoder(nn.Module):
    def __init__(self, config: PMCEConfig, vertex_joint_index: torch.Tensor, init_vertices: torch.Tensor | None):
        super().__init__()
        self.config = config
        # Stored in the checkpoint, never read by the forward pass.
        self.register_buffer(
            "init_vertices",
            torch.zeros(config.num_coarse_vertices, 3)
            if init_vertices is None
            else torch.as_tensor(init_vertices, dtype=torch.float32).clone(),
        )
        # Not in the checkpoint: the release recomputes it from its assets at construction.
        self.register_buffer("vertex_joint_index", vertex_joint_index, persistent=False)
        self.coevoblock1 = CoevoBlock(config)
        self.coevoblock2 = CoevoBlock(config)
        self.coevoblock3 = CoevoBlock(config)
        # Vertices are the channels and xyz the length axis: a learned 431 -> 6890 upsampling.
        self.upsample_conv = nn.Conv1d(
            config.num_coarse_vertices,
            config.num_vertices,
            kernel_size=config.upsample_kernel,
            padding=config.upsample_kernel // 2,
        )
        if config.image_stream:
            self.gru_cur = nn.GRU(
                config.feature_dim, config.gru_hidden, num_layers=config.gru_layers, bidirectional=True
            )
        else:
            # Not zeros: ReLU before the residual heads would pass them no gradient.
            self.pose_context = nn.Parameter(0.1 * torch.randn(config.image_context_dim))
        self.linear_cur1 = nn.Linear(config.image_context_dim, config.num_vertices)
        self.linear_cur2 = nn.Linear(config.image_context_dim, config.num_vertices)
        self.linear_cur3 = nn.Linear(config.image_context_dim, config.num_vertices)

    def _gru_params(self, layer: int, reverse: bool) -> list[torch.Tensor]:
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        return [getattr(self.gru_cur, f"{name}{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def _gru_described_frame(self, sequence: torch.Tensor) -> torch.Tensor:
        """The GRU's output at the described frame d only (the mid frame in the release): layer 1 runs in full
        (layer 2 reads all of it), layer 2's forward direction runs frames 0..d and its backward direction frames
        T-1..d (17 of 32 steps at d = 8)."""
        if self.config.gru_layers != 2:
            return self.gru_cur(sequence)[0][self.config.described_frame]
        batch, hidden, described = sequence.shape[1], self.config.gru_hidden, self.config.described_frame
        first, _ = torch.gru(
            sequence,
            sequence.new_zeros(2, batch, hidden),
            self._gru_params(0, False) + self._gru_params(0, True),
            True,
            1,
            0.0,
            False,
            True,
            False,
        )
        start = sequence.new_zeros(1, batch, hidden)
        forward, _ = torch.gru(
            first[: described + 1], start, self._gru_params(1, False), True, 1, 0.0, False, False, False
        )
        backward, _ = torch.gru(
            first[described:].flip(0), start, self._gru_params(1, True), True, 1, 0.0, False, False, False
        )
        return torch.cat([forward[-1], backward[-1]], dim=-1)

    def _context(self, joints: torch.Tensor, img_feat: torch.Tensor | None) -> torch.Tensor:
        """(B, image_context_dim): the GRU's output at the described frame, or the pose-only model's learned
        vector."""
        if not self.config.image_stream:
            return self.pose_context.to(joints.dtype).expand(len(joints), -1)
        sequence = img_feat.transpose(0, 1)
        if self.config.fast and not self.training:
            return self._gru_described_frame(sequence)
        return self.gru_cur(sequence)[0][self.config.described_frame]

    def _upsample(self, vertices: torch.Tensor) -> torch.Tensor:
        """(B, 431, 3) -> (B, 6890, 3). A width-1 convolution is one matrix product over the whole batch: 9.1 ms
        at batch 3 on a CPU against 13.5 ms through torch's convolution, which reads the 12 MB weight per item."""
        if not (self.config.fast and self.upsample_conv.kernel_size == (1,)):
            return self.upsample_conv(vertices)
        batch, coarse, axes = vertices.shape
        columns = vertices.transpose(0, 1).reshape(coarse, batch * axes)
        mesh = torch.addmm(self.upsample_conv.bias[:, None], self.upsample_conv.weight.squeeze(-1), columns)
        return mesh.view(-1, batch, axes).transpose(0, 1)

    def forward(self, joints: torch.Tensor, img_feat: torch.Tensor | None):
        """joints (B, J, 3) metres, img_feat (B, T, F) or None without an image stream -> joints (B, J, 3),
        mesh (B, 6890, 3), metres."""
        feature = self._context(joints, img_feat)
        vertices = joints[:, self.vertex_joint_index]
        # Quirk of the release: every block starts from the lifted joints; only the vertices chain.
        for block in (self.coevoblock1, self.coevoblock2, self.coevoblock3):
            refined_joints, vertices = block(joints, vertices, feature)
        mesh = self._upsample(vertices)
        activated = F.relu(feature)
        offsets = torch.stack(
            [self.linear_cur1(activated), self.linear_cur2(activated), self.linear_cur3(activated)], dim=-1
        )
        return refined_joints, mesh + offsets
