"""The motion forecaster: its person frame, its constant-velocity baseline, the shipped weights, and the per-track
histories the node forecasts from."""

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from pmce_ros.assets import MOTION_FORECAST_WEIGHTS
from pmce_ros.body.joint_sets import H36M17
from pmce_ros.model.forecast import (
    FUTURE_STEPS,
    HISTORY_STEPS,
    STEP_S,
    ForecastConfig,
    MotionForecaster,
    constant_velocity,
    forecast,
    load_forecaster,
)
from pmce_ros.ros.track_motion import TrackForecasts

PELVIS = H36M17.index("pelvis")


def standing_pose(rng) -> np.ndarray:
    """(17, 3) a rough standing skeleton, y up, facing +z, hips apart along x."""
    joints = rng.normal(0.0, 0.05, (17, 3)) + [0.0, 1.0, 0.0]
    joints[PELVIS] = [0.0, 1.0, 0.0]
    joints[H36M17.index("left_hip")] = [0.1, 1.0, 0.0]
    joints[H36M17.index("right_hip")] = [-0.1, 1.0, 0.0]
    return joints


def walking_history(rng, velocity: np.ndarray, steps: int = HISTORY_STEPS) -> np.ndarray:
    pose = standing_pose(rng)
    return pose + (STEP_S * np.arange(steps) - STEP_S * (steps - 1))[:, None, None] * velocity


def test_the_baseline_walks_on_at_the_pelvis_velocity():
    rng = np.random.default_rng(0)
    velocity = np.array([0.4, 0.0, 1.1])
    history = walking_history(rng, velocity)
    ahead = constant_velocity(history, FUTURE_STEPS)
    expected = history[-1] + (STEP_S * np.arange(1, FUTURE_STEPS + 1))[:, None, None] * velocity
    np.testing.assert_allclose(ahead, expected, atol=1e-9)


def test_a_forecast_follows_the_person_not_the_frame_it_is_given_in():
    """Moving and turning the whole history (and the world's up with it) moves and turns the forecast the same
    way: the model reads people in their own frame."""
    torch.manual_seed(0)
    model = MotionForecaster(ForecastConfig(hidden=64)).eval()  # any weights: the frame is the model's input
    rng = np.random.default_rng(1)
    history = walking_history(rng, np.array([0.3, 0.0, 0.8]))
    up = np.array([0.0, 1.0, 0.0])
    turn = Rotation.from_euler("xyz", [20, 75, -10], degrees=True)
    shift = np.array([3.0, -1.0, 7.0])
    moved_history = turn.apply(history.reshape(-1, 3)).reshape(history.shape) + shift
    # One call for both people, as the node makes for everyone in a frame.
    moved, here = (
        forecast(model, np.stack([moved_history, history]), turn.apply(up))[0],
        forecast(model, history[None], up)[0],
    )
    np.testing.assert_allclose(moved, turn.apply(here.reshape(-1, 3)).reshape(here.shape) + shift, atol=1e-5)
    assert not np.allclose(here, forecast(None, history[None], up)[0], atol=1e-3)  # the model does add something


def test_the_shipped_forecaster_loads_safely_and_records_what_it_was_measured_on():
    content = torch.load(MOTION_FORECAST_WEIGHTS, map_location="cpu", weights_only=True)
    assert {source["repository"] for source in content["capture_sources"]} >= {"zhangchi8620/JointLearning-HDM05"}
    learned, baseline = (
        content["held_out"]["learned, noisy history"],
        content["held_out"]["constant velocity, noisy history"],
    )
    assert learned["joints ADE 1 s"] < baseline["joints ADE 1 s"]
    model = load_forecaster(MOTION_FORECAST_WEIGHTS)
    history = walking_history(np.random.default_rng(2), np.array([0.0, 0.0, 1.0]))
    (ahead,) = forecast(model, history[None], np.array([0.0, 1.0, 0.0]))
    assert ahead.shape == (FUTURE_STEPS, 17, 3) and np.isfinite(ahead).all()
    assert np.abs(ahead - history[-1]).max() < 2.0  # within reach of where the person is


def test_tracks_forecast_after_a_second_from_irregular_stamps():
    forecasts = TrackForecasts(None)
    rng = np.random.default_rng(3)
    pose, velocity, up = standing_pose(rng), np.array([0.5, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    stamps = np.cumsum(rng.uniform(0.05, 0.15, 20))
    histories = [forecasts.observe("b1", t, pose + t * velocity) for t in stamps]
    ready = [t - stamps[0] >= (HISTORY_STEPS - 1) * STEP_S for t in stamps]
    assert [h is not None for h in histories] == ready
    last = stamps[-1]
    resampled = pose + (last - STEP_S * np.arange(HISTORY_STEPS - 1, -1, -1))[:, None, None] * velocity
    np.testing.assert_allclose(histories[-1], resampled, atol=1e-9)
    expected = pose + (last + STEP_S * np.arange(1, FUTURE_STEPS + 1))[:, None, None] * velocity
    np.testing.assert_allclose(forecasts.forecast([histories[-1]], up)[0], expected, atol=1e-9)
    # Another frame keeps a history of its own; the camera frame's goes on across it.
    assert forecasts.observe("b1", last + 0.1, pose, frame_id="odom") is None
    assert forecasts.observe("b1", last + 0.2, pose + (last + 0.2) * velocity) is not None
    # A restart (in every frame), an older stamp or a gap of over a second starts the history again.
    assert forecasts.observe("b1", last + 0.3, pose, restart=True) is None
    assert forecasts.observe("b1", last + 0.25, pose) is None
    for t in np.arange(last + 0.3, last + 1.4, 0.1):
        forecasts.observe("b1", t, pose)
    assert forecasts.observe("b1", last + 1.35, pose) is not None
    assert forecasts.observe("b1", last + 2.5, pose) is None
    forecasts.keep_only(set())
    assert not forecasts.histories
