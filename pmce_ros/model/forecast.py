"""Where a person will be over the next second: a small learned model over their last second of Human3.6M-17
joints, sampled every STEP_S, against a constant-velocity baseline.

Both read the history in the person's own frame (`person_frame`: origin at the pelvis now, z up, y towards their
left hip, x the way they face), so a forecast does not depend on where the person stands or which way they
look. The baseline moves the current pose on at the pelvis' mean velocity over the last BASELINE_S; the model
adds its correction to that baseline (a zero correction is the baseline itself).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pmce_ros.body.joint_sets import H36M17

STEP_S = 0.1
HISTORY_STEPS = 10  # samples read, the newest now: 0.9 s back
FUTURE_STEPS = 10  # samples forecast: 0.1 .. 1.0 s ahead
BASELINE_S = 0.5
JOINTS = len(H36M17)
_PELVIS, _LEFT_HIP, _RIGHT_HIP = (H36M17.index(n) for n in ("pelvis", "left_hip", "right_hip"))


@dataclass(frozen=True)
class ForecastConfig:
    hidden: int = 512
    history_steps: int = HISTORY_STEPS
    future_steps: int = FUTURE_STEPS
    step_s: float = STEP_S


def person_frame(joints: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(17, 3) joints now, the world's up -> (origin (3,), rotation (3, 3) whose columns are the person's x
    forward, y left, z up)."""
    up = up / np.linalg.norm(up)
    left = joints[_LEFT_HIP] - joints[_RIGHT_HIP]
    left = left - np.dot(left, up) * up
    norm = np.linalg.norm(left)
    left = left / norm if norm > 1e-6 else np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    left = left / np.linalg.norm(left)
    return joints[_PELVIS], np.column_stack([np.cross(left, up), left, up])


def constant_velocity(history: np.ndarray, steps: int, step_s: float = STEP_S) -> np.ndarray:
    """(..., H, 17, 3) history -> (..., steps, 17, 3): the newest pose moved on at the pelvis' mean velocity over
    the last BASELINE_S."""
    back = min(int(round(BASELINE_S / step_s)), history.shape[-3] - 1)
    velocity = (history[..., -1, _PELVIS, :] - history[..., -1 - back, _PELVIS, :]) / (back * step_s)
    ahead = step_s * np.arange(1, steps + 1)
    return history[..., -1:, :, :] + ahead[:, None, None] * velocity[..., None, None, :]


class MotionForecaster(nn.Module):
    """(B, H * 17 * 3) history in the person's frame -> (B, F * 17 * 3) correction to the baseline, metres."""

    def __init__(self, config: ForecastConfig = ForecastConfig()):
        super().__init__()
        self.config = config
        inputs, outputs = config.history_steps * JOINTS * 3, config.future_steps * JOINTS * 3
        self.net = nn.Sequential(
            nn.Linear(inputs, config.hidden),
            nn.GELU(),
            nn.Linear(config.hidden, config.hidden),
            nn.GELU(),
            nn.Linear(config.hidden, outputs),
        )

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        return self.net(history)


def load_forecaster(path: str | Path) -> MotionForecaster:
    """A forecaster saved by pmce-train-forecast (tensors and plain values only)."""
    content = torch.load(path, map_location="cpu", weights_only=True)
    model = MotionForecaster(ForecastConfig(**content["forecast_config"]))
    model.load_state_dict({k: v.float() for k, v in content["model_state_dict"].items()})
    return model.eval()


def to_person_frame(history: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, 17, 3) -> (the history in the person's frame, origin, rotation)."""
    origin, rotation = person_frame(history[-1], up)
    return (history - origin) @ rotation, origin, rotation


def forecast(model: MotionForecaster | None, histories: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(B, H, 17, 3) people's joints every STEP_S, the newest last, in any frame whose up is `up` -> (B, F, 17, 3)
    in that frame, in one call of the model; the constant-velocity baseline without a model."""
    frames = [to_person_frame(history, up) for history in histories]
    local = np.stack([f[0] for f in frames])
    steps = model.config.future_steps if model is not None else FUTURE_STEPS
    future = constant_velocity(local, steps)
    if model is not None and len(local):
        with torch.no_grad():
            correction = model(torch.from_numpy(local.reshape(len(local), -1).astype(np.float32))).numpy()
        future = future + correction.reshape(future.shape)
    return np.stack([ahead @ rotation.T + origin for ahead, (_, origin, rotation) in zip(future, frames)])
