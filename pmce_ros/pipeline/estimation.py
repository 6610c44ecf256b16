"""From buffered detections to placed estimates: which tracks have a full window for the described frame, one
batched PMCE call over them, Human3.6M joints regressed from the meshes, and each person placed in the camera
frame."""

import contextlib
import time

import numpy as np
import torch

from pmce_ros.body.body_model import BodyModel
from pmce_ros.body.identity import BodyCarrier, TrackBody, bone_confidence, bone_lengths
from pmce_ros.body.joint_sets import coco17_to_coco19, h36m_confidence, regress_joints
from pmce_ros.perception.placement import (
    FloorPlane,
    Intrinsics,
    floor_scale,
    solve_root_translation,
    translation_from_box,
    upright,
)
from pmce_ros.perception.track_buffers import FrameEntry, Track, TrackBuffers, Window
from pmce_ros.pipeline.results import (
    BODY_CONVERGED,
    BODY_CONVERGING,
    BODY_RAW,
    GAP_IN_TRACK,
    NOT_SEEN,
    WINDOW_FILLING,
    PendingPerson,
    PersonEstimate,
)

PLACEMENT_CONFIDENCE = 0.3
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def autocast(device: str, precision: str):
    """The context the networks run in: plain fp32, or autocast to fp16 / bf16 on the device's type."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[precision])


def pmce_context(device: str, precision: str) -> contextlib.ExitStack:
    """Where every PMCE call runs, warm-up included: compiled graphs are guarded on the grad and autocast mode
    and would compile again under another."""
    context = contextlib.ExitStack()
    context.enter_context(torch.inference_mode())
    context.enter_context(autocast(device, precision))
    return context


def to_device(array: np.ndarray, device: str) -> torch.Tensor:
    """numpy -> tensor on `device`; through pinned memory and an asynchronous copy for CUDA."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if torch.device(device).type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def gather_windows(
    buffers: TrackBuffers, frame: int, times: np.ndarray, interval: float, edge_pad: bool, bridged_intervals: float
):
    """(ready, pending): (track, detection in `frame`, window) for every track with a full window, and every
    other track with the reason it has none."""
    ready: list[tuple[Track, FrameEntry, Window]] = []
    pending: list[PendingPerson] = []
    for track in buffers.tracks.values():
        entry = track.entry_at(frame)
        if entry is None:
            last = track.entries[-1]
            pending.append(
                PendingPerson(track_id=track.track_id, box=last.box, keypoints=last.keypoints, reason=NOT_SEEN)
            )
            continue
        window = track.window(times, interval, edge_pad, bridged_intervals)
        if window is None:
            filling = times[0] < track.entries[0].stamp - interval
            reason = WINDOW_FILLING if filling else GAP_IN_TRACK
            pending.append(
                PendingPerson(track_id=track.track_id, box=entry.box, keypoints=entry.keypoints, reason=reason)
            )
        else:
            ready.append((track, entry, window))
    return ready, pending


class Estimator:
    """Runs PMCE once over every ready window, carries each person onto their track's body (with
    `body_identity`), and places the results."""

    def __init__(
        self, run_pmce, body: BodyModel, device: str, precision: str, reads_features: bool, body_identity: bool
    ):
        self.run_pmce, self.body = run_pmce, body
        self.device, self.precision = device, precision
        self.reads_features = reads_features
        self.carrier = None
        self.ankle_height = ankle_height(body)
        if body_identity:
            self.carrier = BodyCarrier.for_body(body.model, body.h36m_regressor)

    def __call__(
        self, ready, described: float, span: float, camera: Intrinsics, timings: dict, floor: FloorPlane | None = None
    ):
        started = time.perf_counter()
        pose2d = to_device(np.stack([[e.pose2d for e in w.entries] for _, _, w in ready]), self.device)
        feats = None
        if self.reads_features:
            feats = to_device(np.stack([[e.feature for e in w.entries] for _, _, w in ready]), self.device)
        with pmce_context(self.device, self.precision):
            mesh, joints, _ = self.run_pmce(pose2d, feats)
        mesh, joints = mesh.float().cpu().numpy(), joints.float().cpu().numpy()
        timings["pmce"] = 1000 * (time.perf_counter() - started)

        started = time.perf_counter()
        joints_h36m = regress_joints(self.body.h36m_regressor, mesh)
        bodies = [BODY_RAW] * len(ready)
        if self.carrier is not None:
            carrying = time.perf_counter()
            mesh, joints, joints_h36m, bodies = self.carry_onto_track_bodies(ready, mesh, joints, joints_h36m)
            timings["body"] = 1000 * (time.perf_counter() - carrying)
        people = []
        for n, (track, entry, window) in enumerate(ready):
            translation, placement = place(joints[n], entry, camera)
            scale = 1.0
            if floor is not None and placement == "keypoints" and upright(joints[n] + translation, floor):
                scale = track.scale.observe(
                    floor_scale(joints[n] + translation, entry.keypoints, floor, self.ankle_height)
                )
                placement = "floor" if track.scale.observed else placement
            translation = scale * translation
            people.append(
                PersonEstimate(
                    track_id=track.track_id,
                    stamp=described,
                    box=entry.box,
                    keypoints=entry.keypoints,
                    score=entry.score,
                    image_size=entry.image_size,
                    mesh=scale * mesh[n] + translation,
                    joints=scale * joints[n] + translation,
                    joints_h36m=scale * joints_h36m[n] + translation,
                    translation=translation,
                    placement=placement,
                    body=bodies[n],
                    padded_frames=window.padded,
                    window_span_s=span,
                )
            )
        timings["placement"] = 1000 * (time.perf_counter() - started) - timings.get("body", 0.0)
        return people

    def carry_onto_track_bodies(self, ready, mesh, joints, joints_h36m):
        """Each track's body observes its raw estimate and the outputs are moved onto it; a new track's body
        starts from the body model's mean shape."""
        observed = bone_lengths(joints_h36m)
        lengths, states = [], []
        for n, (track, entry, _) in enumerate(ready):
            if track.body is None:
                track.body = TrackBody(self.carrier.shape)
            lengths.append(track.body.observe(observed[n], bone_confidence(h36m_confidence(entry.keypoints))))
            states.append(BODY_CONVERGED if track.body.converged else BODY_CONVERGING)
        return *self.carrier.carry(mesh, joints, joints_h36m, np.stack(lengths)), states


def ankle_height(body: BodyModel) -> float:
    """Height of the body's COCO ankles above its soles in the rest pose, metres (SMPL's y is up)."""
    vertices = body.model["v_template"]
    ankles = regress_joints(body.coco_regressor, vertices)[[15, 16], 1]
    return float(ankles.mean() - vertices[:, 1].min())


def camera_for(intrinsics: Intrinsics | None, width: int, height: int) -> tuple[Intrinsics, str]:
    """The intrinsics to place people with, and where they came from."""
    if intrinsics is None:
        return Intrinsics.fallback(width, height), "fallback (none given)"
    if not intrinsics.valid():
        return Intrinsics.fallback(width, height), f"fallback (invalid: {intrinsics})"
    return intrinsics, "given"


def place(joints: np.ndarray, entry: FrameEntry, camera: Intrinsics) -> tuple[np.ndarray, str]:
    """Root translation of root-relative COCO-19 joints: least squares on the confident keypoints, else from
    the box at a nominal height."""
    keypoints19 = coco17_to_coco19(entry.keypoints)
    weights = np.where(keypoints19[:, 2] > PLACEMENT_CONFIDENCE, keypoints19[:, 2], 0.0)
    translation = solve_root_translation(joints, keypoints19[:, :2], weights, camera)
    if translation is None:
        return translation_from_box(entry.box, camera), "box"
    return translation, "keypoints"
