"""Frame scheduling: which processed frame a window describes, and when the window's samples lie. Stamps in,
frame numbers and sample times out; no images, no networks.

A window holds T (the model's num_frames) samples spaced by the current interval: the processing interval (the
median over the last RATE_FRAMES frames), never shorter than the shortest spacing the model was trained on; a
spacing beyond the longest is flagged. "centered" (the authors' model) describes the window's middle frame, so
an estimate comes `intervals_behind` (T - 1 - T // 2) intervals after its frame: 7 frames, 233 ms at 30 fps.
"causal" describes the newest frame: with a model trained for it the window is the past T samples; with a
centered model the window's future half is filled with the newest frame (a documented approximation).
A frame is described at most once, and stamps that go back (a bag loop) or jump forward (more than
evict_after_s and three usual intervals) ask for a reset, so no window spans the jump.
"""

from collections import deque
from dataclasses import dataclass

import numpy as np

from pmce_ros.pipeline.results import InvalidInput

BUFFER_CAPACITY = 128  # detections kept per track: a 16-sample window from a camera up to 8x faster than trained
RATE_FRAMES = 9  # processed frames whose intervals give the current processing interval (median)
STAMP_SLACK = 0.25  # of an interval: absorbs the jitter of real cameras' stamps


@dataclass(frozen=True)
class ScheduledFrame:
    number: int  # counted from the pipeline's first frame; identifies the frame
    stamp: float  # seconds
    tag: object  # what the caller passed with the frame, returned untouched
    camera: object = None  # the frame's intrinsics: its people are placed with them, not the newest frame's
    floor: object = None  # the floor in the frame's camera coordinates (a FloorPlane), when known


def intervals_behind(num_frames: int, described_index: int, latency_mode: str) -> int:
    """Intervals between the described frame and the newest: none in causal mode."""
    return 0 if latency_mode == "causal" else num_frames - 1 - described_index


class FrameSchedule:
    def __init__(
        self,
        num_frames: int,
        described_index: int,
        frame_intervals_s: tuple[float, float],
        latency_mode: str,
        evict_after_s: float,
    ):
        self.num_frames = num_frames
        self.described_index = described_index
        self.frame_intervals_s = frame_intervals_s
        self.intervals_behind = intervals_behind(num_frames, described_index, latency_mode)
        self.evict_after_s = evict_after_s
        self.recent_frames: deque[ScheduledFrame] = deque(maxlen=BUFFER_CAPACITY)
        self.last_described: int | None = None  # number of the newest frame described
        self.frames_processed = 0

    def reset(self) -> None:
        self.recent_frames.clear()

    def check(self, stamp: float) -> None:
        """InvalidInput for a stamp no frame may have: not finite, or the previous frame's again."""
        if not np.isfinite(stamp):
            raise InvalidInput(f"stamp {stamp} is not finite")
        if self.recent_frames and stamp == self.recent_frames[-1].stamp:
            raise InvalidInput(f"stamp {stamp} repeats the previous frame's")

    def reset_reason(self, stamp: float) -> str | None:
        """Why the state must go before this frame: stamps went back, or jumped forward by more than both
        evict_after_s and three of the usual intervals (a steady slow stream is not a jump)."""
        if not self.recent_frames:
            return None
        last = self.recent_frames[-1].stamp
        if stamp < last:
            return "image stamps went backwards (bag loop?)"
        usual = self.processing_interval() or 0.0
        if stamp - last > max(self.evict_after_s, 3 * usual):
            return f"image stamps jumped forward by {stamp - last:.1f} s (more than evict_after_s)"
        return None

    def add(self, stamp: float, tag: object, camera: object = None, floor: object = None) -> int:
        """Records a processed frame; returns its number."""
        number = self.frames_processed
        self.frames_processed += 1
        self.recent_frames.append(ScheduledFrame(number, stamp, tag, camera, floor))
        return number

    def processing_interval(self) -> float | None:
        """Median interval between the last processed frames; None before there are two."""
        stamps = [frame.stamp for frame in list(self.recent_frames)[-RATE_FRAMES:]]
        return float(np.median(np.diff(stamps))) if len(stamps) > 1 else None

    def window_interval(self) -> tuple[float, bool]:
        """The spacing of window samples now, and whether it is longer than any the model was trained on."""
        shortest, longest = self.frame_intervals_s
        interval = max(self.processing_interval() or shortest, shortest)
        return interval, interval > longest * 1.05

    def described_frame(self, interval: float) -> ScheduledFrame | None:
        """The newest processed frame whose window's future samples have all arrived (centered), or the newest
        frame (causal); None when that frame was described already (a processing interval that grew can point
        back at it), so no frame is described twice: TF consumers reject repeated stamps."""
        newest = self.recent_frames[-1].stamp
        latest_allowed = newest - max(self.intervals_behind - STAMP_SLACK, 0.0) * interval
        for frame in reversed(self.recent_frames):
            if frame.stamp <= latest_allowed:
                if self.last_described is not None and frame.number <= self.last_described:
                    return None
                self.last_described = frame.number
                return frame
        return None

    def sample_times(self, described: float, interval: float) -> np.ndarray:
        """The window's sample times around the described frame's stamp; none later than the newest frame (causal
        mode with a centered model: the future half is the newest frame)."""
        times = described + (np.arange(self.num_frames) - self.described_index) * interval
        return np.minimum(times, self.recent_frames[-1].stamp)
