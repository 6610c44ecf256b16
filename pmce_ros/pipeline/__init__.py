"""Frames in, per-person estimates out (`Pipeline`); no ROS import here or below.

Rooms: config (what a pipeline is built from), loading (body, checkpoints, networks), schedule (which frame a
window describes, by time), estimation (one batched PMCE call and placement), results (what comes back)."""

from pmce_ros.pipeline.config import PipelineConfig
from pmce_ros.pipeline.pipeline import Pipeline
from pmce_ros.pipeline.results import FrameResult, InvalidInput, PendingPerson, PersonEstimate

__all__ = ["FrameResult", "InvalidInput", "PendingPerson", "PersonEstimate", "Pipeline", "PipelineConfig"]
