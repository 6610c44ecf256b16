"""Configuration of the PMCE network. The defaults are the authors' released architecture."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PMCEConfig:
    num_joints: int = 19  # 19 = COCO-17 + pelvis + neck (demo / 3DPW); 17 = Human3.6M input
    num_frames: int = 16  # window length T; the model describes frame num_frames // 2 ...
    causal: bool = False  # ... or, trained for it, the window's last frame (no waiting for future frames)
    feature_dim: int = 2048  # ResNet-50 pooled image feature per frame
    # Off: the 'only pose' model (paper Table 4) with no image stream at all: no feature embedding in the lifter,
    # no GRU; the AdaLN context and the vertex-residual heads read one learned vector instead of the GRU's output.
    # Such a model needs no crops or ResNet-50 features; its checkpoints record it.
    image_stream: bool = True
    # Off in the release. On: features are standardised by per-channel statistics of the training set, held as
    # buffers `feature_mean` / `feature_std`; for extractors of arbitrary scale (an untrained ResNet-50's features
    # average about 14, SPIN's well under 1), whose shared offset otherwise stalls training.
    standardize_features: bool = False

    # Pose lifter: alternating spatial/temporal transformer
    lifter_dim: int = 256
    lifter_depth: int = 3
    lifter_heads: int = 8
    lifter_mlp_ratio: float = 2.0
    lifter_drop_path: float = 0.2  # stochastic depth, linearly 0 .. this over the blocks
    # The lifter's head outputs millimetres directly in the release (1.0). 1000 makes it output metres that are
    # scaled up: the same function, but reachable in far fewer optimiser steps (used by our short trainings).
    lifter_output_scale: float = 1.0

    # Image-feature GRU
    gru_hidden: int = 1024  # the GRU's mid-frame output (2 x hidden) conditions every AdaLN
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
    upsample_kernel: int = 3  # width of the learned 431 -> 6890 upsampling convolution (odd)

    # Fast path (off = the authors' computation, same numbers within 1e-5 when on): fused
    # scaled_dot_product_attention kernels, and the GRU's second layer run only as far as the mid frame needs.
    fast: bool = False

    @property
    def image_context_dim(self) -> int:
        """Width of what conditions AdaLN and the vertex residuals: the GRU's mid-frame output, or the learned
        context vector of a pose-only model (same width)."""
        return 2 * self.gru_hidden

    @property
    def described_frame(self) -> int:
        """The window index the model describes: the middle (the authors' PMCE) or, causal, the newest."""
        return self.num_frames - 1 if self.causal else self.num_frames // 2

    def __post_init__(self):
        if self.num_coevo_blocks != 3:
            # The checkpoint names the blocks coevoblock1..3; other depths would need other names.
            raise ValueError("PMCE has exactly three co-evolution blocks (coevoblock1..3)")
        if self.upsample_kernel % 2 == 0:
            raise ValueError("upsample_kernel must be odd so that the xyz axis keeps its length")
        for name, dim, heads in (
            ("lifter", self.lifter_dim, self.lifter_heads),
            ("joint", self.decoder_dim, self.joint_heads),
            ("vertex", self.decoder_dim, self.vertex_heads),
        ):
            if dim % heads:
                raise ValueError(f"{name} width {dim} is not divisible by its {heads} heads")
