"""One ring buffer per tracked person: the stamped detections PMCE windows are sampled from.

A buffer holds the person's detections only, each with its stamp: a frame in which the person was not seen adds
nothing (no repeated entries). Windows are built by time, not by count: `Track.window` takes the sample times of
a window (one per model frame, at the interval the model was trained for) and returns the detection nearest
each, or None when the person was not seen within `max_gap` of one of them. Tracks unseen for longer than
`evict_after_s` are dropped and at most `max_tracks` are kept, so memory is bounded whatever the input.
"""

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pmce_ros.body.identity import TrackBody
from pmce_ros.perception.placement import TrackScale

# Relative slack on the largest gap: stamps in integer nanoseconds and in float seconds differ by rounding, which
# must not decide whether a detection one interval from a sample counts.
GAP_TOLERANCE = 1e-3


def normalize_keypoints(keypoints_xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixels -> PMCE's input range (paper eq. 5): x / w * 2 - 1, y / w * 2 - h / w (both by the width)."""
    return np.stack(
        [keypoints_xy[..., 0] / width * 2 - 1, keypoints_xy[..., 1] / width * 2 - height / width], axis=-1
    ).astype(np.float32)


@dataclass(frozen=True)
class FrameEntry:
    frame: int  # the processed frame's number (counted by the caller), which identifies it
    stamp: float  # seconds
    keypoints: np.ndarray  # (17, 3) pixels + confidence, as detected
    box: np.ndarray  # (4,) pixels
    score: float  # the detector's person score
    pose2d: np.ndarray  # (19, 2) normalised COCO-19
    feature: np.ndarray | None  # (2048,); None for a model without an image stream
    image_size: tuple[int, int]  # (width, height)


@dataclass
class Window:
    entries: list[FrameEntry]  # one per sample time, oldest first
    padded: int  # samples before the track's first detection, filled with it (edge padding)


@dataclass
class Track:
    track_id: int
    capacity: int  # most detections kept
    entries: deque = field(init=False)
    last_seen: float = 0.0
    body: TrackBody | None = None  # the person's bone lengths, from the track's first estimate on
    scale: TrackScale = field(default_factory=TrackScale)  # the person's size from the floor, when it is known

    def __post_init__(self):
        self.entries = deque(maxlen=self.capacity)

    def entry_at(self, frame: int) -> FrameEntry | None:
        """The detection made in processed frame number `frame`, if the person was seen in it."""
        for entry in reversed(self.entries):
            if entry.frame <= frame:
                return entry if entry.frame == frame else None
        return None

    def window(
        self, times: np.ndarray, interval: float, pad_before_start: bool, bridged_intervals: float = 1.0
    ) -> Window | None:
        """The detection nearest each sample time. None when a sample is more than `bridged_intervals` intervals
        from every detection (a gap the window would have to invent), or lies before the track began (by more
        than half an interval), unless `pad_before_start`: then such samples take the first detection."""
        if not self.entries:
            return None
        stamps = np.array([e.stamp for e in self.entries])
        nearest = np.abs(times[:, None] - stamps[None, :]).argmin(axis=1)
        gaps = np.abs(stamps[nearest] - times)
        before = times < stamps[0] - interval / 2
        if pad_before_start:
            gaps = np.where(before, 0.0, gaps)
        elif before.any():
            return None
        # a detection exactly the limit away counts
        if (gaps > bridged_intervals * interval * (1 + GAP_TOLERANCE)).any():
            return None
        return Window([self.entries[i] for i in nearest], int(before.sum()) if pad_before_start else 0)


class TrackBuffers:
    def __init__(self, capacity: int, evict_after_s: float = 1.0, max_tracks: int = 32):
        if capacity < 1:
            raise ValueError(f"a buffer must hold at least one detection, got {capacity}")
        self.capacity = capacity
        self.evict_after_s = evict_after_s
        self.max_tracks = max_tracks
        self.tracks: dict[int, Track] = {}

    def reset(self) -> None:
        self.tracks.clear()

    def update(self, stamp: float, seen: dict[int, FrameEntry]) -> list[int]:
        """Adds one frame: `seen` maps track id -> its detection in this frame. Returns the ids evicted."""
        for track_id, entry in seen.items():
            track = self.tracks.setdefault(track_id, Track(track_id, self.capacity))
            track.entries.append(entry)
            track.last_seen = stamp
        evicted = [i for i, t in self.tracks.items() if i not in seen and stamp - t.last_seen > self.evict_after_s]
        for track_id in evicted:
            del self.tracks[track_id]
        if len(self.tracks) > self.max_tracks:
            stalest = sorted(self.tracks.values(), key=lambda t: t.last_seen)[: len(self.tracks) - self.max_tracks]
            for track in stalest:
                del self.tracks[track.track_id]
                evicted.append(track.track_id)
        return evicted
