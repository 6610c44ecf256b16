"""Configuration of the PMCE network. The defaults are the authors' released architecture."""
from dataclasses import dataclass


@dataclass(frozen=True)
class PMCEConfig:
    num_joints: int = 19          # 19 = COCO-17 + pelvis + neck (demo / 3DPW); 17 = Human3.6M input
    num_frames: int = 16          # window length T; the model describes frame num_frames // 2
    feature_dim: int = 2048       # ResNet-50 pooled image feature per frame

    # Pose lifter: alternating spatial/temporal transformer
    lifter_dim: int = 256
    lifter_depth: int = 3
    lifter_heads: int = 8
    lifter_mlp_ratio: float = 2.0
    lifter_drop_path: float = 0.2  # stochastic depth, linearly 0 .. this over the blocks

    # Image-feature GRU
    gru_hidden: int = 1024
    gru_layers: int = 2

    # Co-evolution decoder
    num_coevo_blocks: int = 3
    decoder_dim: int = 64
    joint_heads: int = 8
    vertex_heads: int = 2
    decoder_mlp_ratio: float = 4.0
    decoder_drop_path: float = 0.2
    num_coarse_vertices: int = 431
    num_vertices: int = 6890

    # Fast path (off = the authors' computation, same numbers within 1e-5 when on): fused
    # scaled_dot_product_attention kernels, and the GRU's second layer run only as far as the mid frame needs.
    fast: bool = False

    @property
    def mid_frame(self) -> int:
        return self.num_frames // 2

    def __post_init__(self):
        if self.num_coevo_blocks != 3:
            # The checkpoint names the blocks coevoblock1..3; other depths would need other names.
            raise ValueError("PMCE has exactly three co-evolution blocks (coevoblock1..3)")
        for name, dim, heads in (("lifter", self.lifter_dim, self.lifter_heads),
                                 ("joint", self.decoder_dim, self.joint_heads),
                                 ("vertex", self.decoder_dim, self.vertex_heads)):
            if dim % heads:
                raise ValueError(f"{name} width {dim} is not divisible by its {heads} heads")
