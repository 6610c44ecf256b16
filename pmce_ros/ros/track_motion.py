"""Each published person's smoothed velocity, shared by every output that gives one (/people, HumanArray).

Velocity comes from the track's successive positions at the described frames' stamps, smoothed exponentially
with a time constant (a per-frame difference of estimated positions is too noisy for a planner). It starts again
from zero at a person's first estimate, while the track's body is converging (its first second or so: the body's
size, and with it the distance it is placed at, is still settling, and a still person would seem to walk, 0.5 m/s
towards the camera for bus.jpg shown again and again), and whenever the frame the positions are in changes (the
world transform came or went).
"""

import math
from dataclasses import dataclass

import numpy as np

VELOCITY_TIME_CONSTANT_S = 0.5


@dataclass
class _Motion:
    stamp: float
    frame_id: str
    position: np.ndarray
    velocity: np.ndarray


class VelocityFilter:
    """Smoothed velocity per body id from positions stamped in seconds."""

    def __init__(self, time_constant_s: float = VELOCITY_TIME_CONSTANT_S):
        self.time_constant_s = time_constant_s
        self.motions: dict[str, _Motion] = {}

    def update(
        self, body_id: str, stamp: float, position: np.ndarray, restart: bool = False, frame_id: str = ""
    ) -> np.ndarray:
        """The body's smoothed velocity (m/s) after its position at `stamp`; zero, starting again, with `restart`."""
        last = self.motions.get(body_id)
        if restart or last is None or stamp <= last.stamp or frame_id != last.frame_id:
            motion = _Motion(stamp, frame_id, position, np.zeros(3))
        else:
            elapsed = stamp - last.stamp
            weight = 1.0 - math.exp(-elapsed / self.time_constant_s)
            measured = (position - last.position) / elapsed
            motion = _Motion(stamp, frame_id, position, last.velocity + weight * (measured - last.velocity))
        self.motions[body_id] = motion
        return motion.velocity

    def keep_only(self, body_ids: set[str]) -> None:
        """Forgets the bodies whose tracks ended."""
        self.motions = {k: v for k, v in self.motions.items() if k in body_ids}
