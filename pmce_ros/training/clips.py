"""The training motion: every installed clip of every source, found and loaded by path."""

from pathlib import Path

from pmce_ros.training import acclaim, deepmimic
from pmce_ros.training.mocap import MocapClip


def clip_files() -> list[Path]:
    """DeepMimic's clips (pybullet_data), then the Acclaim captures fetched by scripts/setup."""
    return deepmimic.clip_files() + acclaim.clip_files()


def _reader(path: Path):
    return acclaim if acclaim.is_clip(path) else deepmimic


def clip_name(path: Path) -> str:
    return _reader(path).clip_name(path)


def load_clip(path: str | Path, fps: float = 30.0) -> MocapClip:
    """A clip of either source, resampled to `fps`."""
    return _reader(Path(path)).load_clip(Path(path), fps)
