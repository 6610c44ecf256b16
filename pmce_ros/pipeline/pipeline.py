"""Frames in, per-person 3D estimates out: detection + tracking, crops + features (for a model with an image
stream), ring buffers, one batched PMCE call for every ready track, and camera-frame placement.

A person gets an estimate for the described frame (see pmce_ros.pipeline.schedule: centered or causal, windows
built by time) when detected in it and seen within one interval of every window sample; new tracks are withheld
until their window is covered (`warmup="withhold"`) or, with `warmup="edge_pad"`, samples before their first
detection take it.
"""

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from pmce_ros.body.joint_sets import coco17_to_coco19
from pmce_ros.perception.crops import crop_people
from pmce_ros.perception.placement import FloorPlane, Intrinsics
from pmce_ros.perception.track_buffers import FrameEntry, TrackBuffers, normalize_keypoints
from pmce_ros.pipeline.config import PipelineConfig
from pmce_ros.pipeline.estimation import Estimator, autocast, camera_for, gather_windows
from pmce_ros.pipeline.inputs import as_bgr
from pmce_ros.pipeline.loading import load_models
from pmce_ros.pipeline.results import FrameResult
from pmce_ros.pipeline.schedule import BUFFER_CAPACITY, FrameSchedule

DEFAULT_CONFIG = PipelineConfig()


class Pipeline:
    def __init__(self, config: PipelineConfig = DEFAULT_CONFIG):
        config.check()
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        models = load_models(config)
        self.config = config = replace(config, latency_mode=models.pmce.latency_mode)  # "auto" resolved
        self.body, self.model, self.tracker, self.features = (
            models.body,
            models.pmce.model,
            models.tracker,
            models.features,
        )
        self.run_pmce, self.execution = models.run_pmce, models.execution
        self.window = self.model.config.num_frames
        self.frame_intervals_s = models.pmce.frame_intervals_s
        self.schedule = FrameSchedule(
            self.window,
            self.model.config.described_frame,
            self.frame_intervals_s,
            config.latency_mode,
            config.evict_after_s,
        )
        self.estimate = Estimator(
            self.run_pmce, self.body, config.device, config.precision, self.features is not None, config.body_identity
        )
        self.buffers = TrackBuffers(BUFFER_CAPACITY, config.evict_after_s, config.max_tracks)
        self.stand_in = models.stand_in
        self.weights = {
            "pose": f"{Path(config.detector.weights).name} ({self.tracker.backend})",
            "features": self.features.weights_name if self.features else "none (pose-only model)",
            "pmce": models.pmce.name,
            "body": self.body.name,
        }

    @property
    def intervals_behind(self) -> int:
        """Intervals between the described frame and the newest (0 in causal mode)."""
        return self.schedule.intervals_behind

    @property
    def weights_description(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.weights.items())

    def reset(self) -> None:
        self.buffers.reset()
        self.tracker.reset()
        self.schedule.reset()

    def process(
        self,
        image_bgr: np.ndarray,
        stamp: float,
        intrinsics: Intrinsics | None = None,
        tag: object = None,
        floor: FloorPlane | None = None,
    ) -> FrameResult:
        """One camera frame (BGR or grey uint8, stamp in seconds) -> estimates for the described frame. `tag`
        travels with the frame, untouched, and comes back as `described_tag` with the estimates that describe it.
        `floor`, the floor in this frame's camera coordinates when known, sizes and places people standing on it
        (perception.placement.floor_scale).

        Raises InvalidInput for a frame that cannot be used (state unchanged). A stamp earlier than the last one
        (a bag loop), or later by more than evict_after_s, resets buffers and tracker before the frame is
        processed, so no window spans the jump; a repeated stamp is refused.
        """
        image = as_bgr(image_bgr)
        self.schedule.check(stamp)
        reset = self.schedule.reset_reason(stamp)
        if reset:
            self.reset()
        height, width = image.shape[:2]
        camera, intrinsics_source = camera_for(intrinsics, width, height)
        timings = {}
        started = time.perf_counter()
        detections = self.tracker(image)
        timings["detect"] = 1000 * (time.perf_counter() - started)
        features = [None] * len(detections.track_ids)
        if self.features is not None:
            started = time.perf_counter()
            crops = crop_people(image, detections.keypoints, detections.boxes)
            with autocast(self.config.device, self.config.precision):
                features = self.features(crops)
            timings["features"] = 1000 * (time.perf_counter() - started)

        pose2d = normalize_keypoints(coco17_to_coco19(detections.keypoints)[..., :2], width, height)
        number = self.schedule.add(stamp, tag, camera, floor)
        seen = {}
        for n, track_id in enumerate(detections.track_ids):
            keypoints, box, score = detections.keypoints[n], detections.boxes[n], float(detections.scores[n])
            seen[int(track_id)] = FrameEntry(
                number, stamp, keypoints, box, score, pose2d[n], features[n], (width, height)
            )
        self.buffers.update(stamp, seen)
        interval, beyond = self.schedule.window_interval()
        result = FrameResult(
            stamp=stamp, detections=detections, intrinsics_source=intrinsics_source, camera=camera, reset=reset
        )
        result.window_interval_s, result.beyond_training, result.timings_ms = interval, beyond, timings
        described = self.schedule.described_frame(interval)
        if described is None:
            return result
        result.described_stamp, result.described_tag, result.camera = described.stamp, described.tag, described.camera
        times = self.schedule.sample_times(described.stamp, interval)
        edge_pad = self.config.warmup == "edge_pad"
        ready, result.pending = gather_windows(
            self.buffers, described.number, times, interval, edge_pad, self.config.bridged_intervals
        )
        if ready:
            span = float(times[-1] - times[0])
            result.people = self.estimate(ready, described.stamp, span, described.camera, timings, described.floor)
        return result
