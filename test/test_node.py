"""pmce_node across real processes on loopback DDS: a replay process publishes real photos and video, the node
runs with the stand-ins that exist here, a recorder process writes down everything that comes out."""

import json
import subprocess
import sys
import time
from collections import Counter, defaultdict

import numpy as np
import pytest
from media import BUS, VTEST
from ros_processes import SUPPORT_DIR, VENV_BIN, read_json, ros_process, run_replay, stop, wait_until_settled

from pmce_ros.model.forecast import FUTURE_STEPS
from pmce_ros.ros.body_frames import joint_frame_names
from pmce_ros.ros.command_line import NODE_READY, ros_arguments

pytestmark = [pytest.mark.ros, pytest.mark.video, pytest.mark.slow]

FRAME_ID = "test_camera"
NODE_PARAMETERS = {
    "allow_untrained_features": True,
    "allow_untrained_pmce": True,
    "image_reliability": "reliable",
    "warmup": "edge_pad",
    "image_size": 960,
    "markers_rate_hz": 10.0,
    "diagnostics_period_s": 0.5,
    # The replays run at 1 Hz and a busy 2-core machine drops some of those frames: a person is then unseen for
    # 2-4 s, which the default 1 s would treat as gone (and as a stamp jump).
    "evict_after_s": 5.0,
}
TRIANGLES = 13776


def node_command(**overrides) -> list[str]:
    return [str(VENV_BIN / "pmce_node"), *ros_arguments({**NODE_PARAMETERS, **overrides})]


@pytest.fixture(scope="module")
def session(ros_env, tmp_path_factory):
    """One node run: photos, then video, then a burst of bad input followed by good frames."""
    logs = tmp_path_factory.mktemp("node_run")
    record, consumed = logs / "record.json", logs / "consumed.json"
    phases = {}
    with ros_process(node_command(), ros_env, logs / "node.log", ready=NODE_READY) as node:
        with (
            ros_process(
                [sys.executable, str(SUPPORT_DIR / "output_recorder.py"), str(record)],
                ros_env,
                logs / "recorder.log",
                ready="RECORDING",
            ),
            ros_process(
                [sys.executable, str(SUPPORT_DIR / "hri_consumer.py"), str(consumed)],
                ros_env,
                logs / "consumer.log",
                ready="CONSUMING",
            ),
        ):
            phases["photos"] = time.time_ns()
            run_replay(ros_env, logs / "replay_photos.log", [str(BUS)], 12, 1.0, FRAME_ID, subscribers=2)
            phases["video"] = time.time_ns()
            run_replay(ros_env, logs / "replay_video.log", [str(VTEST)], 12, 1.0, FRAME_ID, subscribers=2)
            wait_until_settled(ros_env)
            late = subprocess.run(
                [sys.executable, str(SUPPORT_DIR / "ros_peer.py"), "receive", "mesh_topology", "--out", str(logs)],
                env=ros_env,
                timeout=60,
                check=True,
            )
            phases["bad"] = time.time_ns()
            subprocess.run(
                [sys.executable, str(SUPPORT_DIR / "bad_input_publisher.py"), FRAME_ID, str(BUS)],
                env=ros_env,
                timeout=120,
                check=True,
            )
            phases["recovery"] = time.time_ns()
            run_replay(ros_env, logs / "replay_recovery.log", [str(BUS)], 10, 1.0, FRAME_ID, subscribers=2)
            wait_until_settled(ros_env)
            # The node stops first, then the recorders, which take in what is still queued before they write:
            # stopped first, a recorder could miss part of the last frame's outputs.
            stop(node)
    assert late.returncode == 0
    return read_json(record), phases, logs, read_json(consumed)


def human_arrays(record, start, end=float("inf")):
    return [h for h in record["humans"] if start <= h["stamp"] < end]


def test_people_are_counted_in_photos_and_video(session):
    record, phases, _, _ = session
    photos = human_arrays(record, phases["photos"], phases["video"])
    assert len(photos) >= 3
    # bus.jpg shows four people; edge padding gives estimates from each track's eighth frame.
    assert max(sum(p["valid"] for p in h["people"]) for h in photos) == 4
    video = human_arrays(record, phases["video"], phases["bad"])
    assert video and max(sum(p["valid"] for p in h["people"]) for h in video) >= 2
    for array in photos + video:
        assert array["stand_in"] and "untrained PMCE (stand-in" in array["weights"]
        for person in array["people"]:
            assert person["keypoints"] == 51
            if person["valid"]:
                assert person["vertices"] == 6890 * 3 and person["joints"] == 17
                assert person["placement"] in ("keypoints", "box") and person["root_z"] > 0
                assert person["body"] in ("converging", "converged")  # body_identity is on by default
            else:
                assert person["body"] == ""


def test_outputs_carry_the_described_frame_stamp_and_frame_id(session):
    record, _, _, _ = session
    published = {stamp for stamp, frame in record["images"] if frame == FRAME_ID}
    assert record["humans"] and record["meshes"] and record["skeletons"]
    for array in record["humans"]:
        assert array["frame_id"] == FRAME_ID and array["stamp"] in published
        assert all(p["mesh_stamp"] == array["stamp"] for p in array["people"] if p["valid"])
    described = {h["stamp"] for h in record["humans"]}
    for mesh in record["meshes"]:
        assert mesh["stamp"] in described and mesh["frame_id"] == FRAME_ID
        assert mesh["values"] == 6890 * 3 and mesh["finite"]
    for skeleton in record["skeletons"]:
        assert skeleton["stamp"] in described and skeleton["joint_set"] == "h36m17"
        assert skeleton["names"] == skeleton["joints"] == skeleton["confidence"] == 17


def test_people_cloud_holds_every_estimated_mesh(session):
    record, _, _, _ = session
    meshes = {}
    for mesh in record["meshes"]:
        meshes.setdefault(mesh["stamp"], {})[mesh["id"]] = mesh["sum"]
    assert record["clouds"] and all(c["frame_id"] == FRAME_ID for c in record["clouds"])
    full = [c for c in record["clouds"] if c["points"]]  # empty ones: frames with nobody estimated
    assert full and all(c["stamp"] in meshes for c in full)
    for cloud in full:
        assert cloud["points"] == 6890 * len(cloud["sums"])
        for track_id, total in cloud["sums"].items():
            assert total == pytest.approx(meshes[cloud["stamp"]][int(track_id)], rel=1e-5)


def _photo_ids(consumed, phases) -> set[str]:
    return {i for t in consumed["tracked"] if phases["photos"] <= t["stamp"] < phases["video"] for i in t["ids"]}


def test_rep155_consumer_finds_every_tracked_body_and_its_frames(session):
    record, phases, _, consumed = session
    assert consumed["tracked"] and all(t["frame_id"] == FRAME_ID for t in consumed["tracked"])
    estimated = {h["stamp"]: sorted(p["id"] for p in h["people"] if p["valid"]) for h in record["humans"]}
    tracked = [t for t in consumed["tracked"] if t["ids"]]
    assert tracked
    for message in tracked:
        assert len(set(message["ids"])) == len(message["ids"])
        assert sorted(int(i[1:].split("r")[0]) for i in message["ids"]) == estimated[message["stamp"]]
        for body_id in message["ids"]:
            frames = message["frames"][body_id]
            assert frames["body"] is not None and frames["body"]["parent"] == FRAME_ID
            assert frames["children"] == sorted(joint_frame_names(body_id))
    assert len(_photo_ids(consumed, phases)) == 4  # bus.jpg's four people
    # A consumer subscribes to a body's topics when its id first appears, so it misses at least the first frame
    # of each: every body listed in three or more frames must have reached it.
    listed = Counter(i for t in tracked for i in set(t["ids"]))
    followed = {body_id for body_id, count in listed.items() if count >= 3}
    received = consumed["bodies"]
    assert followed and all(received.get(b, {}).get("roi") and received[b]["skeleton2d"] for b in followed)
    for body in received.values():
        for roi in body["roi"]:
            xmin, ymin, xmax, ymax = roi["box"]
            assert 0 <= xmin < xmax <= 1 and 0 <= ymin < ymax <= 1 and 0 < roi["c"] <= 1
        assert all(len(s["points"]) == 18 for s in body["skeleton2d"])


def test_lost_tracks_leave_tracked_and_their_topics_go_quiet(session):
    _, phases, _, consumed = session
    photo_ids = _photo_ids(consumed, phases)
    gone = phases["video"] + 10e9  # the bus people are not in the video: evicted 5 s after their last frame
    later = [t for t in consumed["tracked"] if t["received"] >= gone]
    assert later and not photo_ids & {i for t in later for i in t["ids"]}
    for body_id in photo_ids:
        assert all(roi["received"] < gone for roi in consumed["bodies"].get(body_id, {"roi": []})["roi"])
    # The stamps that went back reset the tracker: the same photo's people get new ids, unique within the run.
    recovered = {i for t in consumed["tracked"] if t["received"] >= phases["recovery"] for i in t["ids"]}
    assert recovered and not recovered & photo_ids


def test_people_for_social_navigation_match_the_bodies(session):
    _, phases, _, consumed = session
    assert consumed["people"]
    tracked = {t["stamp"]: t for t in consumed["tracked"]}
    compared = 0
    for message in consumed["people"]:
        assert message["frame_id"] == FRAME_ID
        bodies = tracked.get(message["stamp"])
        if bodies is None:
            continue
        compared += 1
        assert sorted(p["name"] for p in message["people"]) == sorted(bodies["ids"])
        for person in message["people"]:
            # /people gives the root smoothed over the track (a Kalman filter), TF the hips' midpoint of the frame:
            # the same person, though the untrained stand-in network's pelvis and hips can lie apart
            body = np.array(bodies["frames"][person["name"]]["body"]["translation"])
            assert np.linalg.norm(np.array(person["position"]) - body) < 0.5
            assert 0 < person["reliability"] <= 1
            assert person["tags"]["track_id"] == person["name"][1:].split("r")[0]
    assert compared
    standing = [p for m in consumed["people"] if phases["photos"] <= m["stamp"] < phases["video"] for p in m["people"]]
    assert standing and max(float(np.linalg.norm(p["velocity"])) for p in standing) < 0.2  # one photo, again
    held = defaultdict(list)
    for person in standing:
        held[person["name"]].append(person["position"])
    assert max(np.ptp(np.array(positions), axis=0).max() for positions in held.values()) < 0.1


def test_markers_are_well_formed(session):
    record, _, _, _ = session
    assert record["markers"]
    colours = defaultdict(set)
    deleted = set()
    for array in record["markers"]:
        for marker in array:
            assert marker["ns"].startswith("person_") and marker["frame_id"] == FRAME_ID
            if marker["action"] == 2:
                deleted.add(marker["ns"])
                continue
            if marker["type"] == 11:  # TRIANGLE_LIST
                assert marker["points"] == 3 * TRIANGLES
            elif marker["type"] == 5:  # LINE_LIST
                assert marker["points"] % 2 == 0 and marker["points"] > 0
            elif marker["type"] == 4:  # LINE_STRIP: the forecast root path, for a track estimated for a second
                assert marker["id"] == 3 and marker["points"] == FUTURE_STEPS
            else:
                assert marker["type"] == 9  # TEXT_VIEW_FACING
            if marker["id"] == 0:
                colours[marker["ns"]].add(tuple(round(c, 4) for c in marker["color"]))
    assert all(len(c) == 1 for c in colours.values())  # a person keeps its colour
    assert deleted  # the bus people left when the video started


def test_late_subscriber_gets_the_mesh_topology(session):
    _, _, logs, _ = session
    from rclpy.serialization import deserialize_message

    from pmce_ros.msg import MeshTopology

    topology = deserialize_message((logs / "mesh_topology.cdr").read_bytes(), MeshTopology)
    assert topology.num_vertices == 6890 and len(topology.faces) == 3 * TRIANGLES
    assert "not SMPL" in topology.body_model  # a generated body, named as such


def test_diagnostics_report_rates_latencies_and_stand_ins(session):
    record, phases, _, _ = session
    statuses = [d for d in record["diagnostics"] if d["name"] == "pmce_ros: pmce_node"]
    assert len(statuses) >= 10
    last = statuses[-1]["values"]
    assert int(last["frames processed"]) >= 20 and float(last["input rate (Hz)"]) >= 0
    assert "pmce latency median (ms)" in last and "detect latency median (ms)" in last
    assert last["stand-in weights"] == "True" and statuses[-1]["level"] == 1  # WARN


def test_node_survives_bad_input_and_answers_good_frames(session):
    record, phases, logs, _ = session
    last = [d for d in record["diagnostics"] if d["name"] == "pmce_ros: pmce_node"][-1]["values"]
    assert int(last["rejected: bad image"]) == 6
    assert int(last["rejected: invalid camera_info (fallback intrinsics)"]) >= 1
    assert int(last["buffer resets (stamps went back)"]) >= 1
    recovered = human_arrays(record, phases["recovery"])
    assert recovered and max(sum(p["valid"] for p in h["people"]) for h in recovered) >= 3
    log = (logs / "node.log").read_text()
    assert "unsupported encoding 'jpeg'" in log and "stamps went backwards" in log


def test_lifecycle_transitions(ros_env, tmp_path):
    node = subprocess.Popen(
        node_command(managed=True), env=ros_env, stdout=open(tmp_path / "node.log", "w"), stderr=subprocess.STDOUT
    )
    try:
        client = subprocess.run(
            [sys.executable, str(SUPPORT_DIR / "lifecycle_client.py"), "pmce_node"],
            env=ros_env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert client.returncode == 0, client.stderr
        report = json.loads(client.stdout.strip().splitlines()[-1])
    finally:
        returncode = stop(node)
    assert report["initial"] == "unconfigured"
    assert [(s["transition"], s["success"], s["state"]) for s in report["steps"]] == [
        ("configure", True, "inactive"),
        ("activate", True, "active"),
        ("deactivate", True, "inactive"),
        ("activate", True, "active"),
        ("deactivate", True, "inactive"),
        ("cleanup", True, "unconfigured"),
        ("shutdown", True, "finalized"),
    ]
    assert report["steps"][1]["topologies_so_far"] >= 1
    assert returncode == 0, (tmp_path / "node.log").read_text()[-2000:]


def test_bad_parameters_stop_the_node_with_a_reason(ros_env):
    out_of_range = subprocess.run(
        node_command(image_size=5000), env=ros_env, capture_output=True, text=True, timeout=120
    )
    assert out_of_range.returncode == 2 and "image_size" in out_of_range.stdout + out_of_range.stderr


def test_unreadable_files_stop_the_node_with_one_line_naming_file_and_reason(ros_env, tmp_path):
    """A missing checkpoint, a corrupt one, a malformed SMPL .pkl and a corrupt .npz: each logs one error line
    naming the file and why, and the node exits non-zero in seconds (the node starts in parallel for each)."""
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("smpl_mean_vertices.npy", "mesh_downsampling.npz", "J_regressor_h36m_correct.npy"):
        (assets / name).write_bytes(b"")
    (tmp_path / "corrupt.pth.tar").write_bytes(b"PK\x03\x04 not a torch checkpoint" * 10)
    (tmp_path / "malformed.pkl").write_bytes(b"\x80\x04\x95 truncated pickle")
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    cases = {
        "none.pth.tar": ({"allow_untrained_pmce": False, "pmce_weights": str(tmp_path / "none.pth.tar")}, "not found"),
        "corrupt.pth.tar": (
            {"allow_untrained_pmce": False, "pmce_weights": str(tmp_path / "corrupt.pth.tar")},
            "not a readable torch checkpoint",
        ),
        "malformed.pkl": (
            {"smpl_model": str(tmp_path / "malformed.pkl"), "authors_assets": str(assets)},
            "UnpicklingError",
        ),
        "corrupt.npz": ({"smpl_model": str(tmp_path / "corrupt.npz"), "authors_assets": str(assets)}, "BadZipFile"),
    }
    started = time.monotonic()
    runs = {
        name: subprocess.Popen(
            node_command(**parameters), env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for name, (parameters, _) in cases.items()
    }
    for name, run in runs.items():
        output, _ = run.communicate(timeout=180)
        errors = [line for line in output.splitlines() if "ERROR" in line]
        assert run.returncode == 1, output[-2000:]
        assert len(errors) == 1, output[-2000:]
        assert "configure failed" in errors[0] and name in errors[0] and cases[name][1] in errors[0], errors[0]
    assert time.monotonic() - started < 120  # four nodes on two cores, each importing torch and ultralytics


def test_failed_activation_releases_everything_and_the_node_configures_again(ros_env):
    """Through the lifecycle services: activate fails -> on_error -> unconfigured with nothing held; configure and
    activate again give one publisher per topic; live parameters apply, the others are refused while active;
    a hung frame cannot hold deactivate past stop_timeout_s; diagnostics say the state."""
    run = subprocess.run(
        [sys.executable, str(SUPPORT_DIR / "lifecycle_recovery.py")],
        env=ros_env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    configure, failed, again, active = report["steps"]
    assert configure["success"] and configure["state"] == "inactive" and configure["publishers"] == 1
    assert not failed["success"] and failed["state"] == "unconfigured"
    assert failed["publishers"] == 0 and failed["image_subscribers"] == 0
    assert report["after_failure"] == {"worker_running": False, "pipeline": False, "publishers": 0, "subscriptions": 0}
    assert again["success"] and again["state"] == "inactive"
    assert active["success"] and active["state"] == "active"
    assert active["publishers"] == 1 and active["image_subscribers"] == 1
    assert "can't start new thread" in run.stderr + run.stdout  # logged with its type, not swallowed
    parameters = report["parameters"]
    assert not parameters["image_size"]["successful"] and "configure" in parameters["image_size"]["reason"]
    assert parameters["markers_rate_hz"]["successful"] and parameters["diagnostics_period_s"]["successful"]
    assert report["applied"] == {"image_size": 640, "markers_rate_hz": 2.5, "diagnostics_period_s": 0.5}
    assert report["frame_entered"] and report["camera_infos_before"] == 1
    deactivate = report["deactivate"]
    assert deactivate["success"] and deactivate["state"] == "inactive" and deactivate["seconds"] < 5
    assert report["camera_infos_after"] == 0 and report["abandoned"] == 1
    assert report["unconfigured_diagnostics"][0] == 0 and "unconfigured" in report["unconfigured_diagnostics"][1]
    assert report["inactive_diagnostics"][0] == 0 and "inactive" in report["inactive_diagnostics"][1]
    assert report["shutdown"]["state"] == "finalized"
