"""A TF buffer of our own, for machines without tf2_ros (ROS 2 from PyPI wheels): the transforms heard on /tf and
/tf_static, looked up between two connected frames at a stamp. On a robot with a full ROS 2 install the node uses
tf2_ros instead (pmce_ros.ros.world_frame); both answer the same question the same way.

- Each frame has one parent (TF's rule); a frame heard again with another parent takes the new one.
- Dynamic transforms are kept for `cache_s` behind the newest of their frame and interpolated between the two
  stamps around the one asked (translation linearly, rotation by slerp); a stamp outside what is kept by less
  than `tolerance_s` takes the nearest transform, further out it is refused as too old or not yet received.
- Static transforms hold at every stamp.
- Refused with a reason (`TransformUnavailable`): a transform with a non-finite or zero-length rotation (on
  arrival), frames not connected, a parent chain that loops, a stamp outside the kept span.
"""

from dataclasses import dataclass, field

import numpy as np


class TransformUnavailable(LookupError):
    """Why a transform cannot be had; the message says which frames and why."""


class TransformNotYetReceived(TransformUnavailable):
    """The stamp asked lies beyond the newest transform heard: it may still come."""


@dataclass(frozen=True)
class RigidTransform:
    """p_parent = rotation @ p_child + translation."""

    rotation: np.ndarray  # (3, 3)
    translation: np.ndarray  # (3,)

    @staticmethod
    def identity() -> "RigidTransform":
        return RigidTransform(np.eye(3), np.zeros(3))

    @staticmethod
    def from_quaternion(translation, quaternion) -> "RigidTransform":
        """translation (3,), quaternion (x, y, z, w) of any non-zero length."""
        return RigidTransform(quaternion_matrix(np.asarray(quaternion, float)), np.asarray(translation, float))

    def __matmul__(self, other: "RigidTransform") -> "RigidTransform":
        return RigidTransform(self.rotation @ other.rotation, self.rotation @ other.translation + self.translation)

    def inverse(self) -> "RigidTransform":
        return RigidTransform(self.rotation.T, -self.rotation.T @ self.translation)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) points in the child frame -> the parent frame."""
        return points @ self.rotation.T + self.translation


def quaternion_matrix(quaternion: np.ndarray) -> np.ndarray:
    """(x, y, z, w), normalised here -> (3, 3) rotation."""
    x, y, z, w = quaternion / np.linalg.norm(quaternion)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def slerp(a: np.ndarray, b: np.ndarray, share: float) -> np.ndarray:
    """Unit quaternions a -> b, `share` of the way along the shorter arc."""
    cosine = float(np.dot(a, b))
    if cosine < 0.0:
        b, cosine = -b, -cosine
    if cosine > 0.9995:  # nearly equal: linear is exact enough and avoids dividing by sin(~0)
        mixed = a + share * (b - a)
        return mixed / np.linalg.norm(mixed)
    angle = np.arccos(cosine)
    return (np.sin((1 - share) * angle) * a + np.sin(share * angle) * b) / np.sin(angle)


@dataclass
class _FrameHistory:
    parent: str
    static: bool
    stamps_ns: list[int] = field(default_factory=list)  # ascending
    translations: list[np.ndarray] = field(default_factory=list)
    quaternions: list[np.ndarray] = field(default_factory=list)  # unit, (x, y, z, w)


class TransformBuffer:
    def __init__(self, cache_s: float = 10.0, tolerance_s: float = 0.1):
        self.cache_ns = int(cache_s * 1e9)
        self.tolerance_ns = int(tolerance_s * 1e9)
        self.frames: dict[str, _FrameHistory] = {}

    def add(
        self,
        parent: str,
        child: str,
        stamp_ns: int,
        translation: np.ndarray,
        quaternion: np.ndarray,
        static: bool,
    ) -> None:
        """Keeps one transform; raises TransformUnavailable (nothing kept) for a non-finite one."""
        translation, quaternion = np.asarray(translation, float), np.asarray(quaternion, float)
        norm = float(np.linalg.norm(quaternion))
        if not (np.isfinite(translation).all() and np.isfinite(quaternion).all() and norm > 1e-6):
            raise TransformUnavailable(f"transform {parent} -> {child} refused: non-finite or zero rotation")
        if not parent or not child or parent == child:
            raise TransformUnavailable(f"transform {parent!r} -> {child!r} refused: a frame needs a distinct parent")
        history = self.frames.get(child)
        if history is None or history.parent != parent or history.static != static:
            history = self.frames[child] = _FrameHistory(parent, static)
        quaternion = quaternion / norm
        if static:
            history.stamps_ns, history.translations, history.quaternions = [stamp_ns], [translation], [quaternion]
            return
        at = int(np.searchsorted(history.stamps_ns, stamp_ns))
        if at < len(history.stamps_ns) and history.stamps_ns[at] == stamp_ns:  # the same stamp again: replaced
            history.translations[at], history.quaternions[at] = translation, quaternion
        else:
            history.stamps_ns.insert(at, stamp_ns)
            history.translations.insert(at, translation)
            history.quaternions.insert(at, quaternion)
        oldest = history.stamps_ns[-1] - self.cache_ns
        drop = int(np.searchsorted(history.stamps_ns, oldest))
        if drop:
            del history.stamps_ns[:drop], history.translations[:drop], history.quaternions[:drop]

    def clear(self) -> None:
        self.frames.clear()

    def _edge(self, child: str, stamp_ns: int) -> RigidTransform:
        """child -> its parent at the stamp."""
        history = self.frames[child]
        stamps = history.stamps_ns
        if history.static:
            return RigidTransform.from_quaternion(history.translations[0], history.quaternions[0])
        if stamp_ns < stamps[0] - self.tolerance_ns:
            raise TransformUnavailable(
                f"{history.parent} -> {child}: {(stamps[0] - stamp_ns) * 1e-9:.3f} s older than the oldest kept"
            )
        if stamp_ns > stamps[-1] + self.tolerance_ns:
            raise TransformNotYetReceived(
                f"{history.parent} -> {child}: not yet received, the newest is {(stamp_ns - stamps[-1]) * 1e-9:.3f} s"
                " before the stamp asked"
            )
        if stamp_ns <= stamps[0]:
            before = after = 0
        elif stamp_ns >= stamps[-1]:
            before = after = len(stamps) - 1
        else:
            after = int(np.searchsorted(stamps, stamp_ns, side="right"))
            before = after - 1
        if before == after:
            quaternion, translation = history.quaternions[before], history.translations[before]
        else:
            share = (stamp_ns - stamps[before]) / (stamps[after] - stamps[before])
            quaternion = slerp(history.quaternions[before], history.quaternions[after], share)
            translation = history.translations[before] + share * (
                history.translations[after] - history.translations[before]
            )
        return RigidTransform.from_quaternion(translation, quaternion)

    def _chain(self, frame: str) -> list[str]:
        """The frame and its ancestors up to its tree's root."""
        chain = [frame]
        while chain[-1] in self.frames:
            parent = self.frames[chain[-1]].parent
            if parent in chain:
                raise TransformUnavailable(f"the TF tree loops: {' -> '.join([*chain, parent])}")
            chain.append(parent)
        return chain

    def _to_root(self, chain: list[str], stamp_ns: int) -> RigidTransform:
        transform = RigidTransform.identity()
        for frame in chain[:-1]:
            transform = self._edge(frame, stamp_ns) @ transform
        return transform

    def lookup(self, target: str, source: str, stamp_ns: int) -> RigidTransform:
        """source -> target at the stamp (p_target = result.apply(p_source))."""
        if target == source:
            return RigidTransform.identity()
        source_chain, target_chain = self._chain(source), self._chain(target)
        if source_chain[-1] != target_chain[-1]:
            for frame in (target, source):
                if frame not in self.frames and not any(h.parent == frame for h in self.frames.values()):
                    raise TransformUnavailable(f"frame {frame!r} has not been heard on /tf or /tf_static")
            raise TransformUnavailable(
                f"{source!r} and {target!r} are not connected (roots {source_chain[-1]!r}, {target_chain[-1]!r})"
            )
        return self._to_root(target_chain, stamp_ns).inverse() @ self._to_root(source_chain, stamp_ns)
