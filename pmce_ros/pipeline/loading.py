"""Everything a pipeline loads at configure: the body, PMCE with its checkpoint, the detector and, for a model
with an image stream, ResNet-50. Each user file is read inside `reading`, so any failure comes out as one
ValueError naming the file and the reason; a checkpoint that does not fit the body, the latency mode or the
feature settings is refused here, never per frame."""

import contextlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from pmce_ros.assets import default_pmce_weights
from pmce_ros.body.body_model import GENERATED_BODIES, BodyModel, load_body
from pmce_ros.labels import UNTRAINED_PMCE
from pmce_ros.model import PMCE, PMCEConfig, load_pmce_weights
from pmce_ros.model.checkpoint import (
    AUTHORS_FRAME_INTERVAL_S,
    FRAME_INTERVALS_KEY,
    read_checkpoint_file,
    recorded_config,
)
from pmce_ros.model.compiled import CompiledPMCE
from pmce_ros.model.seeding import seeded
from pmce_ros.perception.features import FeatureExtractor
from pmce_ros.perception.pose_tracker import PoseTracker
from pmce_ros.pipeline.config import PipelineConfig
from pmce_ros.pipeline.estimation import pmce_context
from pmce_ros.pipeline.openvino_pmce import OpenVINOPMCE

AUTHORS_INTERVALS = (AUTHORS_FRAME_INTERVAL_S, AUTHORS_FRAME_INTERVAL_S)
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedPMCE:
    model: PMCE
    name: str  # file name and label, or what stands in
    stand_in: bool  # untrained, or trained on synthetic data only
    frame_intervals_s: tuple[float, float]  # shortest and longest window spacing it was trained on
    latency_mode: str  # "centered" or "causal", "auto" resolved


@dataclass(frozen=True)
class LoadedModels:
    body: BodyModel
    pmce: LoadedPMCE
    run_pmce: object  # the model itself, its compiled wrapper or its OpenVINO runner
    execution: str  # "openvino fp32", "torch eager" or what torch compiled
    tracker: PoseTracker
    features: FeatureExtractor | None  # None for a pose-only model

    @property
    def stand_in(self) -> bool:
        return self.pmce.stand_in or self.body.stand_in or bool(self.features and self.features.stand_in)


@contextlib.contextmanager
def reading(what: str, path: Path | None):
    """Any failure to build from a user's file (a corrupt zip, a malformed pickle, a truncated checkpoint) comes
    out as one ValueError naming the file and the reason."""
    try:
        yield
    except Exception as error:
        if path is None or str(path) in str(error):
            raise
        raise ValueError(f"{what} {path}: {type(error).__name__}: {error}") from error


def _recorded_architecture(weights: Path, config: PipelineConfig, content, body: BodyModel):
    """Architecture, label, whether a generated body (synthetic data) was trained on, and the trained window
    spacing, as our checkpoints record them (the authors' files record none: theirs is the default architecture
    at 30 fps), checked against the pipeline's body, latency mode and feature settings."""
    recorded = recorded_config(content)
    if recorded is None:
        return config.pmce, "", False, AUTHORS_INTERVALS
    trained_on = content.get("body", "")
    generated = set(GENERATED_BODIES.values())
    if trained_on and (trained_on in generated or body.name in generated) and trained_on != body.name:
        raise ValueError(
            f"{weights} was trained on {trained_on!r}, but the pipeline uses {body.name!r}: "
            f"their vertices do not correspond"
        )
    if recorded.causal and config.latency_mode != "causal":
        raise ValueError(f"{weights} is trained to describe the newest frame: it needs latency_mode 'causal'")
    if not recorded.image_stream and config.features.weights is not None:
        raise ValueError(
            f"{weights} is a pose-only PMCE that reads no image features: feature_weights "
            f"{config.features.weights} would not be used; leave it empty"
        )
    intervals = tuple(float(v) for v in content.get(FRAME_INTERVALS_KEY, AUTHORS_INTERVALS))
    return replace(recorded, fast=config.pmce.fast), content.get("label", ""), trained_on in generated, intervals


def check_fits_body(architecture: PMCEConfig, body: BodyModel, weights: Path | None) -> None:
    """Refuses a network whose mesh is not the body's: every frame would fail or draw garbage."""
    network = f"PMCE ({Path(weights).name})" if weights else "PMCE"
    if architecture.num_vertices != body.num_vertices:
        raise ValueError(
            f"{network} outputs {architecture.num_vertices} vertices but the body {body.name!r} has "
            f"{body.num_vertices}: choose weights trained for this body"
        )
    coarse = len(body.coarse.vertex_joint_index)
    if architecture.num_coarse_vertices != coarse:
        raise ValueError(
            f"{network} works on {architecture.num_coarse_vertices} coarse vertices but the body {body.name!r} "
            f"provides {coarse}: choose weights trained for this body"
        )


def build_pmce(config: PipelineConfig, body: BodyModel, device: str) -> LoadedPMCE:
    """The network with its weights, named, what they were trained on, and the latency mode ("auto": causal for
    weights trained causal, else centered). Without pmce_weights: the package's pose-only weights for the body and
    the latency mode (causal for "auto" where the body has them), or random weights with allow_untrained_pmce."""
    weights = config.pmce_weights
    if weights is None and not config.allow_untrained_pmce:
        weights = default_pmce_weights(config.body, config.latency_mode != "centered")
    architecture, label, synthetic, intervals, content = config.pmce, "", False, AUTHORS_INTERVALS, None
    if weights is not None:
        content = read_checkpoint_file(weights)  # read once: the authors' files hold 412 MB
    if config.latency_mode == "auto":
        recorded = recorded_config(content) if content is not None else None
        config = replace(config, latency_mode="causal" if recorded is not None and recorded.causal else "centered")
    if weights is not None:
        architecture, label, synthetic, intervals = _recorded_architecture(weights, config, content, body)
    if architecture.num_joints != 19:
        raise ValueError("the pipeline feeds COCO-19 keypoints: PMCEConfig.num_joints must be 19")
    check_fits_body(architecture, body, weights)
    with seeded():  # untrained stand-ins are the same network in every process
        model = PMCE(
            architecture, vertex_joint_index=body.coarse.vertex_joint_index, init_vertices=body.coarse.vertices
        )
    if weights is None:
        return LoadedPMCE(model.eval().to(device), UNTRAINED_PMCE, True, intervals, config.latency_mode)
    if load_pmce_weights(model, weights, content) != "full":
        raise ValueError(f"{weights} is a stage-1 pose checkpoint; the pipeline needs full PMCE weights")
    # Weights trained on the stand-in body (synthetic data) stand in for trained ones.
    name = Path(weights).name + (f" ({label})" if label else "")
    return LoadedPMCE(model.eval().to(device), name, synthetic, intervals, config.latency_mode)


def _settings_against_openvino(config: PipelineConfig) -> str | None:
    """The setting that asks for torch rather than OpenVINO, or None."""
    if config.device != "cpu":
        return f"OpenVINO runs PMCE on the CPU, not {config.device}"
    if config.precision != "fp32":
        return f"OpenVINO runs PMCE in fp32, not {config.precision}"
    if config.compile_max_batch:
        return "compile_max_batch asks for torch.compile"
    return None


def pmce_runner(model: PMCE, config: PipelineConfig) -> tuple[object, str]:
    """What runs PMCE and how, as pmce_backend asks: "auto" is OpenVINO on a CPU in fp32 without
    compile_max_batch, else torch. OpenVINO that cannot run falls back to torch with one log line."""
    if config.pmce_backend != "torch":
        against = _settings_against_openvino(config)
        if against is None:
            try:
                return OpenVINOPMCE(model), "openvino fp32"
            except Exception as error:  # no openvino package, a model it cannot convert, a CPU it cannot run on
                LOG.warning("PMCE runs on torch: OpenVINO could not load it: %s: %s", type(error).__name__, error)
        elif config.pmce_backend == "openvino":
            LOG.warning("PMCE runs on torch: %s", against)
    if not config.compile_max_batch:
        return model, "torch eager"
    compiled = CompiledPMCE(model, config.compile_max_batch)
    with pmce_context(config.device, config.precision):
        seconds = compiled.warm_up()
    return compiled, "torch compiled for batches " + ", ".join(
        f"{size} ({took:.0f} s)" for size, took in seconds.items()
    )


def load_models(config: PipelineConfig) -> LoadedModels:
    with reading("SMPL model", config.smpl_model):
        body = load_body(config.smpl_model, config.authors_assets, generated=config.body)
    with reading("PMCE weights", config.pmce_weights):
        pmce = build_pmce(config, body, config.device)
    run_pmce, execution = pmce_runner(pmce.model, config)
    with reading("pose weights", config.detector.weights):
        tracker = PoseTracker(config.detector)
    features = None
    if pmce.model.config.image_stream:
        with reading("feature weights", config.features.weights):
            features = FeatureExtractor(config.features)
    return LoadedModels(body, pmce, run_pmce, execution, tracker, features)
