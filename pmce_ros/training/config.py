"""Training / evaluation configuration, read from YAML (config/training/*.yaml). Every field has the authors'
value as its default where they have one (pmce-reference.md, "Training"); see those files for documented examples.
"""

from dataclasses import dataclass, fields, replace
from pathlib import Path

import yaml

from pmce_ros.model import PMCEConfig
from pmce_ros.training.losses import LossWeights
from pmce_ros.training.motion_windows import MotionAugmentation
from pmce_ros.training.synthetic_data import SyntheticDataConfig

STAGES = ("pose", "mesh")  # stage 1: the lifter alone; stage 2: the whole model
DATASETS = ("synthetic", "motion", "3dpw", "h36m", "mpii3d")  # motion: drawn per sample, pose-only models
EVAL_JOINTS = ("h36m14", "h36m17")


@dataclass(frozen=True)
class BodyConfig:
    smpl: Path | None = None  # SMPL-format .npz / .pkl; none = the generated body below
    generated: str = "stand_in"  # without smpl: "stand_in" (synthetic) or "anny" (pmce_ros.body.anny_body)
    authors_assets: Path | None = None  # the release's base data: J_regressor_h36m_correct.npy, J_regressor_coco.npy,
    # mesh_downsampling.npz, smpl_mean_vertices.npy


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "synthetic"
    root: Path | None = None  # folder of the authors' files for 3dpw / h36m / mpii3d
    train_split: str = "train"
    test_split: str = "test"
    subjects: tuple[int, ...] = (9, 11)  # Human3.6M subjects of the chosen split
    synthetic: SyntheticDataConfig = SyntheticDataConfig()  # clips, held-out clips and the rendered test split
    motion: MotionAugmentation = MotionAugmentation()  # dataset 'motion': how training windows are drawn
    capture_set: Path | None = None  # dataset 'motion': a built real-capture set (pmce-capture-set) whose train
    # split joins the clips above
    cache: Path | None = None  # where built synthetic splits are kept (default: <output>/data)
    eval_joints: str = "h36m14"  # h36m14 (3DPW, Human3.6M protocol) or h36m17 (MPI-INF-3DHP)
    train_stride: int = 1  # training samples every N-th frame (the authors: 1); tests use every frame


@dataclass(frozen=True)
class OptimConfig:
    epochs: int = 20
    batch_size: int = 32
    lr: float = 5e-5
    milestones: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 15)  # epochs after which lr *= gamma (MultiStepLR)
    gamma: float = 0.9
    weight_decay: float = 0.0
    workers: int = 0
    max_steps_per_epoch: int | None = None  # cut epochs short (smoke runs); none = whole epochs
    eval_every: int = 1  # evaluate on the test split every N epochs (0 = only at the end)
    seed: int = 0


@dataclass(frozen=True)
class TrainConfig:
    stage: str = "mesh"
    output: Path = Path("runs/pmce")
    model: PMCEConfig = PMCEConfig()
    body: BodyConfig = BodyConfig()
    data: DataConfig = DataConfig()
    optim: OptimConfig = OptimConfig()
    losses: LossWeights = LossWeights()
    image_features: bool = True  # false = the 'only pose' ablation (zeros instead of features)
    pose_checkpoint: Path | None = None  # stage-1 lifter weights to start stage 2 from
    init_weights: Path | None = None  # a whole model's weights (stage 2) to start from, e.g. a causal variant
    # fine-tuned from the centered model; architecture and body must match
    stage1: OptimConfig | None = None  # with stage 'mesh': train stage 1 first with this schedule (into
    # <output>/stage1) and start stage 2 from it
    feature_weights: Path | None = None  # ResNet-50 (SPIN) for building synthetic features; none = untrained
    label: str = ""  # what the weights are, stored in the checkpoint

    def __post_init__(self):
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {self.stage!r}")
        if self.init_weights is not None and (self.stage != "mesh" or self.pose_checkpoint or self.stage1):
            raise ValueError("init_weights starts stage 2 from a whole model: no stage1 or pose_checkpoint with it")
        if self.stage1 is not None and (self.stage != "mesh" or self.pose_checkpoint is not None):
            raise ValueError("stage1 goes with stage 'mesh' and no pose_checkpoint")
        if self.data.dataset not in DATASETS:
            raise ValueError(f"data.dataset must be one of {DATASETS}, got {self.data.dataset!r}")
        if self.data.dataset == "motion" and (self.model.image_stream or self.image_features):
            raise ValueError(
                "dataset 'motion' renders no images: it trains models with model.image_stream false "
                "and image_features false"
            )
        if self.data.eval_joints not in EVAL_JOINTS:
            raise ValueError(f"data.eval_joints must be one of {EVAL_JOINTS}, got {self.data.eval_joints!r}")


def _build(cls, values: dict | None, where: str):
    values = dict(values or {})
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
    nested = {
        "model": PMCEConfig,
        "body": BodyConfig,
        "data": DataConfig,
        "optim": OptimConfig,
        "stage1": OptimConfig,
        "losses": LossWeights,
        "synthetic": SyntheticDataConfig,
        "motion": MotionAugmentation,
    }
    for name, value in values.items():
        if name in nested and isinstance(value, dict):
            values[name] = _build(nested[name], value, f"{where}.{name}")
        elif isinstance(value, list):
            values[name] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        elif isinstance(value, str) and "Path" in str(known[name].type):
            values[name] = Path(value)
    return cls(**values)


def _merged(base: dict, changes: dict) -> dict:
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = (
            _merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        )
    return merged


def _read_yaml(path: Path) -> dict:
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    base = content.pop("base", None)
    # A variant names the file it changes (beside it) and holds only what differs.
    return _merged(_read_yaml(path.parent / base), content) if base else content


def load_config(path: str | Path, **overrides) -> TrainConfig:
    """A TrainConfig from YAML; relative paths in it are taken from the current directory."""
    path = Path(path)
    return replace(_build(TrainConfig, _read_yaml(path), path.name), **overrides)
