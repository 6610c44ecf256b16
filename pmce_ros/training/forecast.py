"""Training and measuring the motion forecaster (pmce_ros/model/forecast.py) on the real-capture set.

Every clip of a capture set (`pmce-capture-set`) drives our body (mean shape) and gives its Human3.6M-17 joints,
the joints the pipeline publishes, at 30 fps; windows of HISTORY_STEPS + FUTURE_STEPS samples STEP_S apart are
cut from them at every frame. Training windows come from the train split, each also mirrored, with estimate-like
noise on the history (NOISE_M per joint and sample, and a root jitter of ROOT_NOISE_M: what the pipeline's
placement does); measured on the held-out subjects, with and without that noise, against the constant-velocity
baseline: average and final displacement error (ADE, FDE) of the pelvis and of all joints at 0.5 s and 1 s, mm.

Usage: pmce-train-forecast CAPTURE_SET --out pmce_ros/data/motion_forecast.pt [--steps 3000] [--hidden 512]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from pmce_ros.body.body_model import BodyModel, load_body
from pmce_ros.body.joint_sets import H36M17
from pmce_ros.body.regressors import skinned_points
from pmce_ros.model.forecast import (
    FUTURE_STEPS,
    HISTORY_STEPS,
    STEP_S,
    ForecastConfig,
    MotionForecaster,
    constant_velocity,
    person_frame,
)
from pmce_ros.training.capture_set import FPS, load_saved_clip, provenance, split_files
from pmce_ros.training.mocap import retarget

NOISE_M = 0.02
ROOT_NOISE_M = 0.04
UP = np.array([0.0, 1.0, 0.0])  # the capture set's axes (SMPL's: y up)
_STRIDE = int(round(STEP_S * FPS))
_MIRROR = np.array(
    [H36M17.index(n.replace("left", "@").replace("right", "left").replace("@", "right")) for n in H36M17.names]
)


def clip_joints(path: Path, body: BodyModel) -> np.ndarray:
    """(N, 17, 3) world Human3.6M joints of our body driven by the clip, metres."""
    pose, transl = retarget(load_saved_clip(path), body.rest_joints)
    return skinned_points(body.model, body.h36m_regressor, pose, np.zeros(10)) + transl[:, None]


def windows(joints: np.ndarray) -> np.ndarray:
    """(N, 17, 3) at 30 fps -> (W, HISTORY_STEPS + FUTURE_STEPS, 17, 3), one starting at every frame."""
    span = (HISTORY_STEPS + FUTURE_STEPS - 1) * _STRIDE
    if len(joints) <= span:
        return np.zeros((0, HISTORY_STEPS + FUTURE_STEPS, *joints.shape[1:]), np.float32)
    starts = np.arange(len(joints) - span)
    return joints[starts[:, None] + _STRIDE * np.arange(HISTORY_STEPS + FUTURE_STEPS)].astype(np.float32)


def split_windows(capture_set: Path, split: str, body: BodyModel) -> np.ndarray:
    return np.concatenate([windows(clip_joints(path, body)) for path in split_files(capture_set, split)])


def mirrored(window: np.ndarray) -> np.ndarray:
    """Reflected through the world's x = 0 plane, left and right joints swapped (x is horizontal here)."""
    return window[..., _MIRROR, :] * np.array([-1.0, 1.0, 1.0], np.float32)


def noisy(window: np.ndarray, rng) -> np.ndarray:
    """The history as the pipeline would give it: every joint off by NOISE_M, each sample's root by ROOT_NOISE_M."""
    out = window.copy()
    history = out[:, :HISTORY_STEPS]
    history += rng.normal(0.0, NOISE_M, history.shape) + rng.normal(0.0, ROOT_NOISE_M, (*history.shape[:2], 1, 3))
    return out


def in_person_frames(windows_: np.ndarray) -> np.ndarray:
    """Each window in the person's frame at its last history sample."""
    out = np.empty_like(windows_)
    for n, window in enumerate(windows_):
        origin, rotation = person_frame(window[HISTORY_STEPS - 1], UP)
        out[n] = (window - origin) @ rotation
    return out


def errors(future: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """(W, F, 17, 3) -> ADE and FDE of the pelvis and all joints at 0.5 s and 1 s, mm."""
    out = {}
    distance = np.linalg.norm(future - truth, axis=-1)  # (W, F, 17)
    for seconds in (0.5, 1.0):
        steps = int(round(seconds / STEP_S))
        for name, part in (("pelvis", distance[..., 0]), ("joints", distance.mean(-1))):
            out[f"{name} ADE {seconds:g} s"] = 1000 * float(part[:, :steps].mean())
            out[f"{name} FDE {seconds:g} s"] = 1000 * float(part[:, steps - 1].mean())
    return out


def predict(model: MotionForecaster | None, local: np.ndarray) -> np.ndarray:
    """Windows in person frames (their history) -> the forecast future, same frames."""
    history = local[:, :HISTORY_STEPS]
    future = constant_velocity(history, FUTURE_STEPS)
    if model is not None:
        with torch.no_grad():
            correction = model(torch.from_numpy(history.reshape(len(history), -1))).numpy()
        future = future + correction.reshape(future.shape)
    return future


def measure(model: MotionForecaster, test: np.ndarray, seed: int = 0) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    rows = {}
    for noise_label, data in (("clean history", test), ("noisy history", noisy(test, rng))):
        local = in_person_frames(data)
        truth = in_person_frames(np.concatenate([data[:, :HISTORY_STEPS], test[:, HISTORY_STEPS:]], axis=1))
        for label, forecaster in (("constant velocity", None), ("learned", model)):
            rows[f"{label}, {noise_label}"] = errors(predict(forecaster, local)[:, :], truth[:, HISTORY_STEPS:])
    return rows


def train(
    train_windows: np.ndarray, steps: int, config: ForecastConfig, seed: int = 0, batch: int = 256
) -> MotionForecaster:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = np.concatenate([train_windows, mirrored(train_windows)])
    model = MotionForecaster(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    started = time.monotonic()
    for step in range(steps):
        chosen = noisy(data[rng.integers(len(data), size=batch)], rng)
        local = in_person_frames(chosen)
        history = local[:, :HISTORY_STEPS]
        target = local[:, HISTORY_STEPS:] - constant_velocity(history, FUTURE_STEPS)
        prediction = model(torch.from_numpy(history.reshape(batch, -1)))
        loss = (prediction - torch.from_numpy(target.reshape(batch, -1))).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 500 == 0 or step == steps - 1:
            print(
                f"step {step}: L1 {1000 * float(loss.detach()):.1f} mm ({time.monotonic() - started:.0f} s)", flush=True
            )
    return model.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("capture_set", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=ForecastConfig.hidden, help="width of the two hidden layers")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # beside a PMCE training on a 2-core machine: more threads only fight
    body = load_body(generated="anny")
    train_windows = split_windows(args.capture_set, "train", body)
    test_windows = split_windows(args.capture_set, "test", body)
    print(f"windows: {len(train_windows)} train, {len(test_windows)} held out", flush=True)
    model = train(train_windows, args.steps, ForecastConfig(hidden=args.hidden), args.seed)
    rows = measure(model, test_windows, args.seed)
    columns = list(next(iter(rows.values())))
    print("| held-out subjects | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for label, values in rows.items():
        print(f"| {label} | " + " | ".join(f"{values[c]:.0f}" for c in columns) + " |")
    torch.save(
        {
            "model_state_dict": {k: v.half() for k, v in model.state_dict().items()},
            "forecast_config": vars(model.config),
            "body": body.name,
            "held_out": rows,
            "capture_sources": provenance(args.capture_set),
            "label": "motion forecaster trained on real motion capture (HDM05 CC BY-SA 3.0, CMU)",
        },
        args.out,
    )
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
