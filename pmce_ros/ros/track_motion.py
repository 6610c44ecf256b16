"""Each published person's smoothed position and velocity, shared by every output that gives them (/people,
HumanArray's world fields), and their forecast next second (TrackForecasts).

A constant-velocity Kalman filter per track over its root positions at the described frames' stamps: a
per-frame difference of estimated positions is far too noisy for a planner, and the filter smooths positions
without the lag of a plain average for someone walking. A monocular estimate is far less sure of a person's
distance than of their direction (a person standing still 4.7 m from the camera is placed within +-12 cm in
depth but +-2 cm across from frame to frame), so each position's noise is larger along the camera's ray to it:
a walk across the view is followed at once, one towards the camera more cautiously. A track starts again (its
velocity from zero) at its first estimate, while its body is converging (its first second or so: the body's
size, and with it the distance it is placed at, is still settling, and a still person would seem to walk, 0.5
m/s towards the camera for bus.jpg shown again and again), after a stamp that is not newer, and after a gap of
more than MAX_GAP_S. Each frame the positions come in (the world frame, or the camera frame while the world
transform is missing) has its own filter and history: a transform lost for a frame or two leaves the world track
as it was, and it goes on when the transform is back.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from pmce_ros.model.forecast import HISTORY_STEPS, STEP_S, MotionForecaster, forecast

ACROSS_NOISE_M = 0.03  # std of one frame's root position across the camera's ray ...
# ... and along it, a share of the distance: a monocular distance errs in proportion to it, and wanders with the
# view rather than jumping from frame to frame, which a larger noise than its spread stands for (the still man of
# test_world_frame_node, 3.7 m away: 3.60-3.81 m; at 8 cm his speed reached 0.096 m/s, at 3% 0.069).
DEPTH_NOISE_SHARE = 0.03
ACCELERATION_NOISE = 0.3  # m/s^2, std of how a person's velocity changes (walking starts, stops and turns)
INITIAL_SPEED_STD = 1.0  # m/s, what is known of a track's velocity at its start
MAX_GAP_S = 1.0  # a track not seen for longer starts again


@dataclass
class _Track:
    stamp: float
    state: np.ndarray  # (6,): position, velocity
    covariance: np.ndarray  # (6, 6)


def position_noise(ray: np.ndarray) -> np.ndarray:
    """(3, 3) covariance of one root position seen along `ray` (from the camera to it)."""
    distance = max(float(np.linalg.norm(ray)), 1e-9)
    along = np.outer(ray, ray) / distance**2
    depth_noise = max(DEPTH_NOISE_SHARE * distance, ACROSS_NOISE_M)
    return ACROSS_NOISE_M**2 * (np.eye(3) - along) + depth_noise**2 * along


Kept = TypeVar("Kept")


def continues(previous_stamp: float, stamp: float) -> bool:
    """Whether a track last seen at `previous_stamp` goes on at `stamp`: newer, and within MAX_GAP_S."""
    return 0.0 < stamp - previous_stamp <= MAX_GAP_S


def for_bodies(kept: dict[tuple[str, str], Kept], keep: Callable[[str], bool]) -> dict[tuple[str, str], Kept]:
    """The (body id, frame) entries whose body `keep` accepts."""
    return {key: value for key, value in kept.items() if keep(key[0])}


class TrackMotion:
    """Smoothed (position, velocity) per body id and frame from positions stamped in seconds."""

    def __init__(self, acceleration_noise: float = ACCELERATION_NOISE):
        self.acceleration_variance = acceleration_noise**2
        self.tracks: dict[tuple[str, str], _Track] = {}

    def update(
        self,
        body_id: str,
        stamp: float,
        position: np.ndarray,
        ray: np.ndarray,
        restart: bool = False,
        frame_id: str = "",
    ) -> tuple[np.ndarray, np.ndarray]:
        """The body's smoothed position (m) and velocity (m/s) in `frame_id` after its position there at `stamp`,
        seen along `ray` (camera -> person, in the same frame); with `restart`, the position as given and zero
        velocity, starting again in every frame."""
        noise = position_noise(ray)
        if restart:
            self.tracks = for_bodies(self.tracks, lambda body: body != body_id)
        last = self.tracks.get((body_id, frame_id))
        if last is None or not continues(last.stamp, stamp):
            covariance = np.zeros((6, 6))
            covariance[:3, :3], covariance[3:, 3:] = noise, INITIAL_SPEED_STD**2 * np.eye(3)
            self.tracks[body_id, frame_id] = _Track(stamp, np.concatenate([position, np.zeros(3)]), covariance)
            return np.array(position, float), np.zeros(3)
        elapsed = stamp - last.stamp
        transition = np.eye(6)
        transition[:3, 3:] = elapsed * np.eye(3)
        process = self.acceleration_variance * np.kron(
            [[elapsed**4 / 4, elapsed**3 / 2], [elapsed**3 / 2, elapsed**2]], np.eye(3)
        )
        state = transition @ last.state
        covariance = transition @ last.covariance @ transition.T + process
        gain = covariance[:, :3] @ np.linalg.inv(covariance[:3, :3] + noise)
        state = state + gain @ (position - state[:3])
        covariance = covariance - gain @ covariance[:3]
        self.tracks[body_id, frame_id] = _Track(stamp, state, covariance)
        return state[:3].copy(), state[3:].copy()

    def keep_only(self, body_ids: set[str]) -> None:
        """Forgets the bodies whose tracks ended."""
        self.tracks = for_bodies(self.tracks, body_ids.__contains__)


class TrackForecasts:
    """Each track's next second (pmce_ros.model.forecast) from its last second of joints: kept per body id and
    frame at the described frames' stamps, resampled every STEP_S by interpolation, and forecast for every person
    of a frame in one call. A track forecasts once it has been estimated for HISTORY_STEPS - 1 steps (0.9 s)
    without starting again (as TrackMotion starts again)."""

    def __init__(self, model: MotionForecaster | None):
        self.model = model
        self.span_s = (HISTORY_STEPS - 1) * STEP_S
        self.histories: dict[tuple[str, str], list[tuple[float, np.ndarray]]] = {}

    def observe(
        self, body_id: str, stamp: float, joints: np.ndarray, restart: bool = False, frame_id: str = ""
    ) -> np.ndarray | None:
        """Keeps the body's joints in `frame_id` at `stamp`; returns its last second there resampled,
        (HISTORY_STEPS, 17, 3), or None while that history is shorter."""
        if restart:
            self.histories = for_bodies(self.histories, lambda body: body != body_id)
        samples = self.histories.get((body_id, frame_id), [])
        if samples and not continues(samples[-1][0], stamp):
            samples = []
        samples = [s for s in samples if s[0] >= stamp - self.span_s - 2 * STEP_S] + [(stamp, joints)]
        self.histories[body_id, frame_id] = samples
        if stamp - samples[0][0] < self.span_s:
            return None
        stamps = np.array([s[0] for s in samples])
        points = np.stack([s[1] for s in samples])
        times = stamp - STEP_S * np.arange(HISTORY_STEPS - 1, -1, -1)
        after = np.clip(np.searchsorted(stamps, times), 1, len(stamps) - 1)
        share = np.clip((times - stamps[after - 1]) / (stamps[after] - stamps[after - 1]), 0.0, 1.0)
        return points[after - 1] + share[:, None, None] * (points[after] - points[after - 1])

    def forecast(self, histories: list[np.ndarray], up: np.ndarray) -> np.ndarray:
        """(B, FUTURE_STEPS, 17, 3) for the histories `observe` gave, in their frame (whose up is `up`)."""
        return forecast(self.model, np.stack(histories), up)

    def keep_only(self, body_ids: set[str]) -> None:
        self.histories = for_bodies(self.histories, body_ids.__contains__)
