"""What a pipeline is built from: the networks and files, where they run, and how frames become windows."""

from dataclasses import dataclass
from pathlib import Path

from pmce_ros.body.body_model import GENERATED_BODIES
from pmce_ros.model import PMCEConfig
from pmce_ros.perception.features import FeatureExtractorConfig
from pmce_ros.perception.pose_tracker import PoseTrackerConfig

PRECISIONS = ("fp32", "fp16", "bf16")
PMCE_BACKENDS = ("auto", "torch", "openvino")
LATENCY_MODES = ("auto", "centered", "causal")
WARMUPS = ("withhold", "edge_pad")
BODIES = tuple(GENERATED_BODIES)


@dataclass(frozen=True)
class PipelineConfig:
    detector: PoseTrackerConfig = PoseTrackerConfig()
    features: FeatureExtractorConfig = FeatureExtractorConfig()
    pmce: PMCEConfig = PMCEConfig(num_joints=19, fast=True)  # fast: the same outputs within 1e-5, sooner
    pmce_weights: Path | None = None  # authors' or our checkpoint; None = the package's pose-only weights
    allow_untrained_pmce: bool = False  # no weights: random PMCE weights, outputs marked as stand-ins
    smpl_model: Path | None = None  # SMPL .npz/.pkl; None = the generated body named by `body`
    body: str = "anny"  # without smpl_model: "anny" (made from Anny) or "stand_in" (synthetic)
    authors_assets: Path | None = None  # folder with the release's base data (needed with smpl_model)
    device: str = "cpu"
    precision: str = "fp32"  # "fp32" | "fp16" | "bf16" (autocast for ResNet-50 and PMCE)
    compile_max_batch: int = 0  # > 0: PMCE through torch.compile for up to this many people a call
    # "openvino" (CPU, fp32), "torch" or "auto": openvino on the CPU in fp32 without compile_max_batch, else torch
    pmce_backend: str = "auto"
    torch_threads: int = 0  # > 0: torch's CPU threads for the whole process
    # "centered" (the window's middle frame) | "causal" (the newest frame) | "auto": causal when the PMCE weights
    # were trained for it (the package's own by default), else centered (the authors')
    latency_mode: str = "auto"
    warmup: str = "edge_pad"  # "edge_pad" | "withhold"
    bridged_intervals: float = 2.0  # how far, in intervals, a window sample may lie from its track's nearest detection
    body_identity: bool = True  # hold each track to its own bone lengths (pmce_ros.body.identity); False: raw
    evict_after_s: float = 1.0  # drop a track unseen for this long
    max_tracks: int = 32

    def check(self) -> None:
        """Raises ValueError naming the first setting outside its choices."""
        for name, choices in (
            ("warmup", WARMUPS),
            ("latency_mode", LATENCY_MODES),
            ("precision", PRECISIONS),
            ("pmce_backend", PMCE_BACKENDS),
            ("body", BODIES),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {list(choices)}, got {getattr(self, name)!r}")
