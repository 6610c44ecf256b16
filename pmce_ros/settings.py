"""Every setting of a run, in one table: name, default, range and description.

pmce_node declares exactly these as ROS parameters (with descriptors, so `ros2 param describe` shows them);
pmce-process and pmce-demo offer the pipeline's ones as command-line options (`--image-size` for image_size);
config/pmce.yaml lists them with the same defaults, and a test checks the README's table against this one.
`live` settings change on a running node (`ros2 param set`); the others are read at configure, and the node
refuses changes to them while configured.
"""

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from pmce_ros.assets import default_pose_weights
from pmce_ros.model import PMCEConfig
from pmce_ros.perception.features import FeatureExtractorConfig
from pmce_ros.perception.pose_tracker import BACKENDS, PoseTrackerConfig
from pmce_ros.pipeline import PipelineConfig
from pmce_ros.pipeline.config import PMCE_BACKENDS

WINDOW = PMCEConfig().num_frames  # the authors' window length; a checkpoint of ours may record another


@dataclass(frozen=True)
class Parameter:
    name: str
    default: bool | int | float | str
    description: str
    range: tuple[float, float] | None = None  # inclusive, for numbers
    choices: tuple[str, ...] | None = None  # for strings with a fixed set of values
    node_only: bool = False  # a setting of the ROS node, not of the pipeline
    live: bool = False  # applied to a running node; else read at configure


PARAMETERS = (
    Parameter(
        "pose_weights",
        "",
        "Ultralytics YOLO pose weights (.pt), absolute path; empty = yolo11n-pose.pt installed by setup",
    ),
    Parameter(
        "image_size", 640, "Detector inference size in pixels (long side); larger finds smaller people", (160, 2048)
    ),
    Parameter(
        "detector_backend",
        "auto",
        "How the pose weights run: torch, openvino (CPU, fp32: the export scripts/setup makes beside "
        "yolo11n-pose.pt; it uses every core whatever torch_threads says), openvino_int8 (CPU: that export "
        "quantised, about 1.5x faster with VNNI but slower on AMX CPUs, which ultralytics feeds square images, "
        "keypoints within 0.5% of the box height, but 15% fewer small people found in vtest) or auto (openvino "
        "on the CPU, torch on CUDA); one that cannot load falls back to torch with a log line",
        choices=BACKENDS,
    ),
    Parameter(
        "roi_tracking",
        True,
        "Between full-image detections, run the detector only on the region around the people tracked, at the "
        "full image's scale or finer (one person in 1080p: 18 instead of 37 ms on 2 cores, keypoints within 1% "
        "of the box height); false: the whole image every frame",
    ),
    Parameter(
        "full_frame_every",
        10,
        "With roi_tracking, every this many frames (and after a frame that lost somebody) the detector reads the "
        "whole image: how soon a person entering it is found",
        (1, 300),
    ),
    Parameter("detection_confidence", 0.25, "Minimum person detection score", (0.05, 0.95)),
    Parameter(
        "lost_track_frames", 30, f"Frames a lost track keeps its id (at least the {WINDOW}-frame window)", (WINDOW, 300)
    ),
    Parameter(
        "feature_weights",
        "",
        "ResNet-50 weights: SPIN's spin_model_checkpoint.pth.tar or a torchvision ResNet-50 state dict; empty = none",
    ),
    Parameter(
        "allow_untrained_features",
        False,
        "Run ResNet-50 with random weights when feature_weights is empty (outputs are marked stand-in)",
    ),
    Parameter(
        "pmce_weights",
        "",
        "PMCE checkpoint, the authors' (e.g. mesh_vis.pth.tar) or ours; empty = the package's pose-only weights "
        "for the body and the latency mode (trained here on motion capture and synthetic motion, not the "
        "authors' weights)",
    ),
    Parameter(
        "allow_untrained_pmce",
        False,
        "Run PMCE with random weights when pmce_weights is empty, instead of the package's (outputs are marked "
        "stand-in)",
    ),
    Parameter("smpl_model", "", "SMPL model file (.npz or .pkl); empty = the generated body named by `body`"),
    Parameter(
        "body",
        "anny",
        "Without smpl_model, the body meshes are drawn on: anny (an SMPL-format body made from NAVER's Anny: real "
        "human shapes, Apache-2.0 / CC0) or stand_in (our earlier synthetic SMPL-format body); PMCE weights must "
        "have been trained on the same body",
        choices=("anny", "stand_in"),
    ),
    Parameter(
        "authors_assets",
        "",
        "Folder with the PMCE release's smpl_mean_vertices.npy, "
        "mesh_downsampling.npz, J_regressor_h36m_correct.npy (needed with smpl_model)",
    ),
    Parameter("device", "cpu", "Torch device for all networks: cpu, cuda, cuda:0, ..."),
    Parameter(
        "precision",
        "fp32",
        "Arithmetic of ResNet-50 and PMCE: fp32, or fp16 / bf16 autocast (GPU speed; "
        "changes results slightly, see docs/performance.md)",
        choices=("fp32", "fp16", "bf16"),
    ),
    Parameter(
        "fast_path",
        True,
        "PMCE fast path: fused attention, GRU second layer only to the mid frame (same results within 1e-5); "
        "false: the authors' computation step by step",
    ),
    Parameter(
        "pmce_compile_max_batch",
        0,
        "Run PMCE through torch.compile (CUDA graphs on a GPU) for up to this "
        "many people a call, more in chunks; compiles at configure, about a minute per power of two on a "
        "2-core CPU; 0 = eager",
        (0, 64),
    ),
    Parameter(
        "pmce_backend",
        "auto",
        "How PMCE runs: torch, openvino (CPU, fp32: the same outputs, about 2.5x faster at batch 1 on 2 cores) "
        "or auto (openvino on the CPU in fp32 without pmce_compile_max_batch, else torch); openvino that cannot "
        "load falls back to torch with a log line",
        choices=PMCE_BACKENDS,
    ),
    Parameter(
        "torch_threads",
        0,
        "CPU threads of ResNet-50 and PMCE (torch, whole process); 0 = in pmce_node and pmce-demo one per core "
        "but one, left to the camera driver, DDS and the OpenVINO detector; in pmce-process the same for a "
        "pose-only model (decoding and the renders take that core) and one per core with ResNet-50",
        (0, 256),
    ),
    Parameter(
        "latency_mode",
        "auto",
        "Which frame of the window an estimate describes: centered (the middle, as the authors' PMCE; outputs "
        "lag by half a window), causal (the newest; a model trained for it, or the authors' with the future "
        "half padded) or auto (causal with weights trained for it, as the package's own; centered with the "
        "authors')",
        choices=("auto", "centered", "causal"),
    ),
    Parameter(
        "warmup",
        "edge_pad",
        "New tracks: edge_pad: window samples before a track's first detection take it (estimates from the "
        "track's first described frame on), or withhold estimates until detections cover the whole window",
        choices=("withhold", "edge_pad"),
    ),
    Parameter(
        "bridged_intervals",
        2.0,
        "How far, in window intervals, a window sample may lie from its track's nearest detection: gaps of missed "
        "or dropped frames up to twice this are bridged with the nearest detection; longer ones withhold the "
        "person's estimate",
        (0.5, 8.0),
    ),
    Parameter(
        "body_identity",
        True,
        "Give each tracked person one body of the body model's shape space: its proportions fitted to the track's "
        "bone lengths over its life (settled in about a second), its size the population's mean, used by every "
        "skeleton, mesh, TF frame and cloud of the track, with the pose from PMCE every frame; false: the "
        "network's own bone lengths, which change from frame to frame",
    ),
    Parameter("evict_after_s", 1.0, "Forget a track unseen for this many seconds", (0.1, 30.0)),
    Parameter("max_tracks", 32, "Most tracks kept at once (memory bound)", (1, 256)),
    Parameter(
        "image_reliability",
        "best_effort",
        "QoS reliability of the image subscription (depth 1 either way)",
        choices=("best_effort", "reliable"),
        node_only=True,
    ),
    Parameter(
        "publish_tf",
        True,
        "Publish TF on /tf: body_<id> at each estimated person's hips and a frame per joint (REP-155 names)",
        node_only=True,
    ),
    Parameter(
        "rep155",
        True,
        "Publish REP-155 bodies: /humans/bodies/tracked, and /humans/bodies/<id>/roi and /skeleton2d",
        node_only=True,
    ),
    Parameter(
        "publish_people",
        True,
        "Publish /people (people_msgs/People, sensor-data QoS) for social navigation",
        node_only=True,
    ),
    Parameter(
        "world_frame",
        "",
        "Frame to place people in besides the camera's, e.g. odom, map or base_footprint (gravity-aligned, z up), "
        "from /tf and /tf_static at each image's stamp: TF body frames, /people and HumanArray's world fields; "
        "empty = the camera frame only. A frame whose transform is missing is published in the camera frame",
        node_only=True,
    ),
    Parameter(
        "floor_height",
        0.0,
        "Height of the floor in world_frame, metres: with a world_frame, people whose feet are seen are sized "
        "and placed standing on it (HumanArray placement 'floor')",
        (-100.0, 100.0),
        node_only=True,
    ),
    Parameter(
        "floor_constraint",
        True,
        "Size and place people with their feet on the floor when world_frame is set; false: keypoints only",
        node_only=True,
    ),
    Parameter(
        "transform_tolerance_s",
        0.1,
        "How far an image's stamp may lie outside the transforms received to world_frame before that frame is "
        "published in the camera frame only (the node's own TF buffer; tf2_ros interpolates only)",
        (0.0, 2.0),
        node_only=True,
    ),
    Parameter(
        "forecast",
        True,
        "Forecast each person's next second (root and joints every 0.1 s: HumanArray's forecast fields, markers) "
        "with a small model trained on real motion capture; without a world_frame the camera is taken for level",
        node_only=True,
    ),
    Parameter(
        "live_view",
        False,
        "Serve a live 3D view of the camera image and the people in a browser (Rerun's web viewer, served by the "
        "node at http://<live_view_host>:<live_view_port>)",
        node_only=True,
    ),
    Parameter(
        "live_view_host",
        "127.0.0.1",
        "Address the live view listens on: 127.0.0.1 for this machine only, 0.0.0.0 for every network the robot is on",
        node_only=True,
    ),
    Parameter(
        "live_view_port",
        9090,
        "Port of the live view's web page; its data stream uses the next port",
        (1024, 65534),
        node_only=True,
    ),
    Parameter(
        "live_view_recording",
        "",
        "Also save the live view to this .rrd file (opened later with `rerun <file>`); empty = no file",
        node_only=True,
    ),
    Parameter(
        "markers_rate_hz",
        5.0,
        "Most MarkerArray messages per second; 0 turns markers off",
        (0.0, 30.0),
        node_only=True,
        live=True,
    ),
    Parameter(
        "diagnostics_period_s", 1.0, "Seconds between /diagnostics messages", (0.1, 10.0), node_only=True, live=True
    ),
    Parameter(
        "stop_timeout_s",
        5.0,
        "Longest wait for the frame in hand when deactivating or shutting down; a "
        "frame that takes longer is abandoned (logged)",
        (0.1, 120.0),
        node_only=True,
        live=True,
    ),
)

BY_NAME = {p.name: p for p in PARAMETERS}


def validate(values: dict) -> None:
    """Raises ValueError naming the first value out of its range or choices."""
    for name, value in values.items():
        spec = BY_NAME[name]
        if spec.range and not spec.range[0] <= value <= spec.range[1]:
            raise ValueError(f"parameter {name}={value} is outside [{spec.range[0]}, {spec.range[1]}]")
        if spec.choices and value not in spec.choices:
            raise ValueError(f"parameter {name}={value!r} must be one of {spec.choices}")


def _path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


def pipeline_config(values: dict) -> PipelineConfig:
    """The pipeline configuration for a complete set of parameter values."""
    validate(values)
    return PipelineConfig(
        detector=PoseTrackerConfig(
            weights=_path(values["pose_weights"]) or default_pose_weights(),
            image_size=values["image_size"],
            confidence=values["detection_confidence"],
            lost_track_frames=values["lost_track_frames"],
            device=values["device"],
            backend=values["detector_backend"],
            roi_tracking=values["roi_tracking"],
            full_frame_every=values["full_frame_every"],
        ),
        features=FeatureExtractorConfig(
            weights=_path(values["feature_weights"]),
            allow_untrained=values["allow_untrained_features"],
            device=values["device"],
        ),
        pmce=PMCEConfig(num_joints=19, fast=values["fast_path"]),
        precision=values["precision"],
        compile_max_batch=values["pmce_compile_max_batch"],
        pmce_backend=values["pmce_backend"],
        torch_threads=values["torch_threads"],
        pmce_weights=_path(values["pmce_weights"]),
        allow_untrained_pmce=values["allow_untrained_pmce"],
        smpl_model=_path(values["smpl_model"]),
        body=values["body"],
        authors_assets=_path(values["authors_assets"]),
        device=values["device"],
        latency_mode=values["latency_mode"],
        warmup=values["warmup"],
        bridged_intervals=values["bridged_intervals"],
        body_identity=values["body_identity"],
        evict_after_s=values["evict_after_s"],
        max_tracks=values["max_tracks"],
    )


def add_pipeline_options(parser: argparse.ArgumentParser, defaults: dict | None = None) -> None:
    """Command-line options for the pipeline's settings (`--image-size` for image_size), with `defaults`
    replacing the table's where given."""
    group = parser.add_argument_group("pipeline settings (as the node's parameters)")
    for spec in PARAMETERS:
        if spec.node_only:
            continue
        default = (defaults or {}).get(spec.name, spec.default)
        option = "--" + spec.name.replace("_", "-")
        described = spec.description.replace("%", "%%")  # argparse formats help with %
        if isinstance(spec.default, bool):
            group.add_argument(option, action=argparse.BooleanOptionalAction, default=default, help=described)
        else:
            group.add_argument(
                option,
                type=type(spec.default),
                default=default,
                choices=spec.choices,
                help=described + (f" [{spec.range[0]}..{spec.range[1]}]" if spec.range else ""),
            )


def threads_beside_others(torch_threads: int) -> int:
    """torch_threads as the node reads it: 0 leaves one of this process's cores to the rest of the robot, so
    torch's idle threads do not compete with the detector's, DDS and the camera driver (measured by
    bench/node_end_to_end.py; figures in docs/performance.md)."""
    return torch_threads or max(1, len(os.sched_getaffinity(0)) - 1)


def threads_for_offline_run(torch_threads: int, reads_features: bool) -> int:
    """torch_threads as pmce-process reads it: 0 gives ResNet-50 every core (its convolutions keep them busy) and
    leaves a pose-only model's torch one core short, for decoding and the renders, which would otherwise wait on
    torch's idle threads (bench/process_1080p.py; figures in docs/performance.md)."""
    return torch_threads or (len(os.sched_getaffinity(0)) if reads_features else threads_beside_others(0))


def pipeline_values(args: argparse.Namespace) -> dict:
    """The pipeline's settings from parsed options, with the node-only ones at their defaults."""
    return {spec.name: getattr(args, spec.name, spec.default) for spec in PARAMETERS}
