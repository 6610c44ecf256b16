"""One ring buffer per tracked person: the last `window` frames of what PMCE needs (the model's window length,
PMCEConfig.num_frames), time-aligned across people.

Every processed frame appends one entry to every live track: the detection if the person was seen, else a copy
of the track's previous entry (counted as a repeat). Tracks unseen for longer than `evict_after_s` are dropped,
and at most `max_tracks` are kept, so memory is bounded whatever the input.
"""

from collections import deque
from dataclasses import dataclass, field

import numpy as np


def normalize_keypoints(keypoints_xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixels -> PMCE's input range (paper eq. 5): x / w * 2 - 1, y / w * 2 - h / w (both by the width)."""
    return np.stack(
        [keypoints_xy[..., 0] / width * 2 - 1, keypoints_xy[..., 1] / width * 2 - height / width], axis=-1
    ).astype(np.float32)


@dataclass(frozen=True)
class FrameEntry:
    stamp: float  # seconds
    keypoints: np.ndarray  # (17, 3) pixels + confidence, as detected
    box: np.ndarray  # (4,) pixels
    pose2d: np.ndarray  # (19, 2) normalised COCO-19
    feature: np.ndarray | None  # (2048,); None for a model without an image stream
    image_size: tuple[int, int]  # (width, height)
    repeated: bool = False  # True when copied from the previous frame (person not detected)


@dataclass
class Track:
    track_id: int
    length: int  # the window length
    entries: deque = field(init=False)
    last_seen: float = 0.0
    repeats: int = 0  # entries filled by repetition over the track's life

    def __post_init__(self):
        self.entries = deque(maxlen=self.length)

    @property
    def full(self) -> bool:
        return len(self.entries) == self.length

    def window(self) -> list[FrameEntry]:
        """The window's entries, oldest first; a track with fewer is padded by repeating its oldest entry."""
        entries = list(self.entries)
        return [entries[0]] * (self.length - len(entries)) + entries


class TrackBuffers:
    def __init__(self, window: int, evict_after_s: float = 1.0, max_tracks: int = 32):
        if window < 1:
            raise ValueError(f"the window must hold at least one frame, got {window}")
        self.window = window
        self.evict_after_s = evict_after_s
        self.max_tracks = max_tracks
        self.tracks: dict[int, Track] = {}

    def reset(self) -> None:
        self.tracks.clear()

    def update(self, stamp: float, seen: dict[int, FrameEntry]) -> list[int]:
        """Adds one frame: `seen` maps track id -> its entry for this frame. Returns the ids evicted."""
        for track_id, entry in seen.items():
            track = self.tracks.setdefault(track_id, Track(track_id, self.window))
            track.entries.append(entry)
            track.last_seen = stamp
        evicted = [i for i, t in self.tracks.items() if i not in seen and stamp - t.last_seen > self.evict_after_s]
        for track_id in evicted:
            del self.tracks[track_id]
        for track in self.tracks.values():
            if track.track_id not in seen:
                previous = track.entries[-1]
                track.entries.append(
                    FrameEntry(
                        stamp,
                        previous.keypoints,
                        previous.box,
                        previous.pose2d,
                        previous.feature,
                        previous.image_size,
                        repeated=True,
                    )
                )
                track.repeats += 1
        if len(self.tracks) > self.max_tracks:
            stalest = sorted(self.tracks.values(), key=lambda t: t.last_seen)[: len(self.tracks) - self.max_tracks]
            for track in stalest:
                del self.tracks[track.track_id]
                evicted.append(track.track_id)
        return evicted
