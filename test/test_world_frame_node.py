"""pmce_node with world_frame set, across real processes on loopback DDS: a camera process publishes odom -> camera
on /tf and a real photo as that moving camera sees it (test/support/moving_camera.py), and records HumanArray.

- The camera drives and turns while a person stands still: their odom position holds within 10 cm and their odom
  speed stays far below walking pace (median under 0.1 m/s, none above 0.2), while in the camera frame they swing
  by far more; a frame whose transform came too late is published in the camera frame (at most one in ten) and
  does not start the odom track again.
- The camera holds still while the person walks across the view: their odom velocity matches the replay's truth
  (image speed x depth / focal length, sideways) within 20%.
- A transform with a NaN and a TF tree with a loop are logged, and the person is published in the camera frame.
- Both times, once a track is a second old, HumanArray forecasts its root for the next second in odom: a still
  person stays about where they are, the moving one goes on the way they move."""

import sys
from collections import defaultdict

import numpy as np
import pytest
from ros_processes import SUPPORT_DIR, VENV_BIN, read_json, ros_process

from pmce_ros.ros.command_line import NODE_READY, ros_arguments

pytestmark = [pytest.mark.ros, pytest.mark.slow]

FRAMES, RATE_HZ = 30, 5.0
SETTLED_S = 1.5  # the velocity filter's time constant is 0.5 s


@pytest.fixture(scope="module")
def runs(ros_env, tmp_path_factory):
    logs = tmp_path_factory.mktemp("world_frame")
    command = [
        str(VENV_BIN / "pmce_node"),
        *ros_arguments({"world_frame": "odom", "image_reliability": "reliable", "evict_after_s": 3.0}),
    ]
    recorded = {}
    with ros_process(command, ros_env, logs / "node.log", ready=NODE_READY):
        for mode in ("move", "walk", "broken"):
            out = logs / f"{mode}.json"
            camera = [sys.executable, str(SUPPORT_DIR / "moving_camera.py"), mode, str(out), str(FRAMES), str(RATE_HZ)]
            with ros_process(camera, ros_env, logs / f"{mode}.log", ready="PUBLISHING") as process:
                process.wait(timeout=180)
            recorded[mode] = read_json(out)
    recorded["node_log"] = (logs / "node.log").read_text()
    return recorded


def track_entries(record: dict) -> list[tuple[float, dict]]:
    """(seconds since the replay's first frame, entry) of the longest track, once its body has converged (its
    velocity is held at zero while the body's size settles) and it stands on the floor."""
    tracks = defaultdict(list)
    start = record["sent"][0][0]
    for frame in record["humans"]:
        for person in frame["people"]:
            if person["body"] == "converged" and person["placement"] == "floor":
                tracks[person["id"]].append(((frame["stamp"] - start) * 1e-9, person))
    assert tracks, "no estimate with a converged body placed on the floor"
    return max(tracks.values(), key=len)


def with_forecast(people: list[dict]) -> list[bool]:
    """Which entries carry a forecast, asking that at least half do: a frame that comes late on a loaded machine
    starts the track's history again, and the next 0.9 s have none (TrackForecasts)."""
    has = [bool(p["forecast"]) for p in people]
    assert sum(has) >= len(people) / 2, has
    return has


def test_a_person_standing_still_holds_their_world_position_while_the_camera_moves(runs):
    record = runs["move"]
    assert "via pmce_ros transform buffer" in runs["node_log"] or "via tf2_ros" in runs["node_log"]
    # On a loaded CI machine a /tf message now and then comes later than the node waits for it (0.5 s; 1 frame of
    # 27 in one run): that frame is published in the camera frame, and the log says so.
    in_camera_frame = [frame for frame in record["humans"] if frame["world_frame"] != "odom"]
    assert record["humans"] and len(in_camera_frame) <= 0.1 * len(record["humans"]), len(in_camera_frame)
    assert not in_camera_frame or "no transform moving_camera_optical -> odom" in runs["node_log"]
    entries = track_entries(record)
    settled = [p for t, p in entries if t >= entries[0][0] + SETTLED_S]
    assert len(settled) >= 6, len(settled)
    world = np.array([p["world"] for p in settled])
    camera = np.array([p["root"] for p in settled])
    spread = np.linalg.norm(world - np.median(world, axis=0), axis=1).max()
    swing = np.linalg.norm(camera - np.median(camera, axis=0), axis=1).max()
    assert spread < 0.10, spread
    assert swing > 3 * spread and swing > 0.2, (swing, spread)  # the camera frame did move
    speeds = np.linalg.norm([p["velocity"] for p in settled], axis=1)
    # The still person's estimates wobble by a few cm from frame to frame; in one fresh-clone CI run under the full
    # suite's load the filtered speed of that wobble peaked at 0.125 m/s (median 0.055). Walking is about 1.4.
    assert np.median(speeds) < 0.1 and speeds.max() < 0.2, speeds
    assert 0.5 < np.median(world[:, 2]) < 1.5  # a root at hip height over odom's floor
    assert all(frame["forecast_step_s"] == pytest.approx(0.1) for frame in record["humans"])
    for person, has in zip(settled, with_forecast(settled)):
        if not has:
            continue
        assert len(person["forecast"]) == 10
        assert np.linalg.norm(np.array(person["forecast"][-1]) - person["world"]) < 0.3


def test_a_person_walking_across_a_still_camera_gets_their_true_world_velocity(runs):
    record = runs["walk"]
    walking = [(t, p) for t, p in track_entries(record) if t >= record["stand_s"] + SETTLED_S]
    assert len(walking) >= 4, len(walking)
    # The photo slides to the right: the person moves to the camera's right, odom's -y, at px/s x depth / focal.
    depth = np.array([p["root"][2] for _, p in walking])
    truth = np.zeros((len(walking), 3))
    truth[:, 1] = -record["walk_px_per_s"] * depth / record["focal"]
    measured = np.array([p["velocity"] for _, p in walking])
    error = np.linalg.norm(measured - truth, axis=1) / np.linalg.norm(truth, axis=1)
    assert np.median(error) < 0.2, (np.median(error), measured.mean(0), truth.mean(0))
    # One second on, the forecast root lies ahead along the walk. Not as far as the walk goes: this person glides
    # without moving their legs, and a model of real motion expects such a person to slow down (0.12 of the way on
    # 2026-12-07, 7 cm; 0.23 when this scene's camera stood 1.5 m up and the man glided 0.78 m/s 4.7 m away).
    forecast = np.array(with_forecast([p for _, p in walking]))
    ahead = np.array([np.array(p["forecast"][-1]) - p["world"] for _, p in walking if p["forecast"]])
    assert 0.05 < np.median(ahead[:, 1] / truth[forecast, 1]) < 1.5
    assert np.abs(ahead[:, 0]).max() < 0.5  # not towards or away from the camera


def test_bad_transforms_are_logged_and_the_node_keeps_publishing_in_the_camera_frame(runs):
    record, log = runs["broken"], runs["node_log"]
    assert record["humans"] and all(frame["world_frame"] == "" for frame in record["humans"])
    estimated = [p for frame in record["humans"] for p in frame["people"]]
    assert estimated and all(p["placement"] != "floor" and p["world"] == [0.0, 0.0, 0.0] for p in estimated)
    assert "non-finite or zero rotation; it is ignored" in log
    assert "the TF tree loops: moving_camera_optical -> loop_a -> loop_b -> loop_a" in log
