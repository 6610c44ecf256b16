"""The training motion: every installed clip of every source, and a built capture set's, loaded by path."""

from pathlib import Path

from pmce_ros.training import acclaim, capture_set, deepmimic
from pmce_ros.training.mocap import MocapClip


def clip_files() -> list[Path]:
    """DeepMimic's clips (pybullet_data), then the Acclaim captures fetched by scripts/setup."""
    return deepmimic.clip_files() + acclaim.clip_files()


def _reader(path: Path):
    return acclaim if acclaim.is_clip(path) else deepmimic


def clip_name(path: Path) -> str:
    return _reader(path).clip_name(path)


def load_clip(path: str | Path, fps: float = 30.0) -> MocapClip:
    """A clip of either source, resampled to `fps`, or a capture set's (already at the set's rate)."""
    path = Path(path)
    if path.suffix == ".npz":
        clip = capture_set.load_saved_clip(path)
        if clip.fps != fps:
            raise ValueError(f"{path} is at {clip.fps:g} fps, {fps:g} asked")
        return clip
    return _reader(path).load_clip(path, fps)
