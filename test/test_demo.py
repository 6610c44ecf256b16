"""pmce-demo end to end (real ROS graph, real video) and pmce-process on the same frames; their error messages."""

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
from media import BUS, VTEST
from rclpy.serialization import serialize_message
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from pmce_ros.assets import default_pmce_weights
from pmce_ros.msg import HumanArray
from pmce_ros.output.files import read_results
from pmce_ros.pipeline import PipelineConfig
from pmce_ros.ros.demo import DEMO_DEFAULTS
from pmce_ros.ros.loopback import loopback_environment
from pmce_ros.ros.messages import topology_to_msg
from pmce_ros.ros.recorder import OutputRecorder
from pmce_ros.settings import threads_beside_others
from pmce_ros.sources import FrameSource

pytestmark = [pytest.mark.ros, pytest.mark.video, pytest.mark.slow]

BIN = Path(sys.executable).parent
FRAMES = 24
RATE_HZ = 0.6  # below the node's throughput at 960 px on 2 cores, so no frame is dropped and both runs match
# pmce-demo's own defaults, spelled out so that pmce-process runs the same; no weights are named: both use the
# package's pose-only PMCE. The thread count too, as it changes the order of floating-point sums (0.7 mm on the
# placed meshes).
COMMON = ["--image-size", str(DEMO_DEFAULTS["image_size"]), "--torch-threads", str(threads_beside_others(0))]


@pytest.fixture(scope="module")
def demo(ros_env, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    domain = ros_env["ROS_DOMAIN_ID"]
    run = subprocess.run(
        [
            str(BIN / "pmce-demo"),
            str(VTEST),
            "--out",
            str(out),
            "--max-frames",
            str(FRAMES),
            "--rate",
            str(RATE_HZ),
            "--domain-id",
            domain,
            *COMMON,
        ],
        env=ros_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with AnyReader([out / "bag"]) as reader:  # the bag carries its own message definitions
        messages = {c.topic: [] for c in reader.connections}
        for connection, _, raw in reader.messages():
            messages[connection.topic].append(reader.deserialize(raw, connection.msgtype))
    return out, run.stdout, messages


def video_frames(path: Path) -> list[np.ndarray]:
    video = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            return frames
        frames.append(frame)


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    out = tmp_path_factory.mktemp("process")
    run = subprocess.run(
        [str(BIN / "pmce-process"), str(VTEST), "--out", str(out), "--max-frames", str(FRAMES), *COMMON],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out, run.stdout


def test_demo_bag_holds_every_output_with_consistent_counts(demo):
    _, stdout, messages = demo
    assert "frames published 24" in stdout and "dropped (model busy) 0" in stdout
    humans = messages["/humans"]
    assert len(humans) == FRAMES  # the default with the package's weights is causal: every frame is described
    valid = sum(h.valid for array in humans for h in array.humans)
    assert valid >= 2 * FRAMES  # estimates from each track's first frame on (edge padding), 3-5 people
    recall = re.search(r"people with a body: (\d+) of (\d+) detected in their frame \((\d+)%\)", stdout)
    assert recall and int(recall[1]) == valid and int(recall[3]) >= 80, stdout
    assert len(messages["/meshes"]) == len(messages["/skeletons"]) == valid
    assert len(messages["/mesh_topology"]) == 1
    assert messages["/markers"] and messages["/diagnostics"]
    assert all(array.stand_in and "not the authors' weights" in array.weights for array in humans)


def test_demo_renders_show_people(demo):
    out, stdout, messages = demo
    rendered = video_frames(out / "renders" / "overlay.mp4")
    assert len(rendered) == len(messages["/humans"])
    originals = [frame for _, frame in FrameSource([VTEST])._video()][:FRAMES]
    banner = rendered[0].shape[0] - originals[0].shape[0]
    differences = []
    for index, array in enumerate(messages["/humans"]):  # no drops: the k-th array describes frame k
        for person in (h for h in array.humans if h.valid):
            x0, y0, x1, y1 = np.clip(np.asarray(person.box), 0, None).astype(int)
            drawn = rendered[index][banner + y0 : banner + y1, x0:x1].astype(float)
            original = originals[index][y0:y1, x0:x1].astype(float)
            differences.append(np.abs(drawn - original).mean())
    assert differences and np.median(differences) > 15  # the person's pixels are painted over
    sheet = cv2.imread(str(out / "renders" / "contact_sheet.png"))
    assert sheet is not None and sheet.std() > 20
    meshes = sorted((out / "renders" / "meshes").glob("*.obj"))
    assert meshes
    text = meshes[0].read_text()
    assert text.startswith("# STAND-IN weights") and text.count("\nv ") == 6890 and text.count("\nf ") == 13776


def test_process_gives_the_demos_results_for_the_same_frames(demo, processed):
    _, _, messages = demo
    out, stdout = processed
    arrays, metadata = read_results(out / "results.npz")
    assert metadata["stand_in"] and metadata["frames"] == FRAMES
    compared = 0
    for frame, array in enumerate(messages["/humans"]):
        for person in (h for h in array.humans if h.valid):
            row = np.flatnonzero((arrays["frame"] == frame) & (arrays["track_id"] == person.track_id))
            assert len(row) == 1, (frame, person.track_id)
            mesh = np.frombuffer(person.mesh.vertices, np.float32).reshape(-1, 3)
            np.testing.assert_allclose(mesh, arrays["mesh"][row[0]], atol=1e-4)
            np.testing.assert_allclose(np.asarray(person.box), arrays["box"][row[0]], atol=1e-3)
            compared += 1
    assert compared == len(arrays["frame"]) and compared > 0
    # 15 intervals of vtest's 0.1 s; the first frame, before any interval is known, is edge-padded at the
    # shortest spacing the model was trained on (1/30 s)
    first = arrays["frame"] == 0
    np.testing.assert_allclose(arrays["window_span_s"][~first], 1.5, atol=1e-4)
    np.testing.assert_allclose(arrays["window_span_s"][first], 0.5, atol=1e-4)
    # every frame rendered once, in order, by the outputs' own thread
    overlay = video_frames(out / "overlay.mp4")
    assert len(overlay) == FRAMES and (out / "contact_sheet.png").is_file()
    banner = overlay[0].shape[0] - cv2.VideoCapture(str(VTEST)).read()[1].shape[0]
    titles = [frame[:banner].mean() for frame in overlay]
    assert len(set(np.round(titles, 3))) > 1  # the banner names each frame: not one image written over and over
    default_weights = default_pmce_weights(PipelineConfig().body, causal=True)  # latency_mode auto: causal
    assert (
        metadata["weights"]["pmce"].startswith(default_weights.name)
        and "not the authors' weights" in metadata["weights"]["pmce"]
    )
    quality = json.loads((out / "quality.json").read_text())
    assert quality["estimates"] == compared and quality["tracks"] >= 2
    assert 0 < quality["reprojection_error_over_box_height"] < 0.5 and 0 <= quality["bone_length_cv"] < 1
    assert quality["jitter_mm_per_frame2"] > 0 and "quality: reprojection" in stdout


def test_recorder_draws_arrays_that_come_before_their_image(ros_env, tmp_path, monkeypatch):
    for key, value in loopback_environment(int(ros_env["ROS_DOMAIN_ID"])).items():
        monkeypatch.setenv(key, value)  # this test's node lives in the test process
    pixels = cv2.imread(str(BUS))

    def header(second: int) -> Header:
        return Header(frame_id="camera", stamp=rclpy.time.Time(seconds=second).to_msg())

    def image(second: int) -> Image:
        height, width = pixels.shape[:2]
        return Image(
            header=header(second), height=height, width=width, encoding="bgr8", step=3 * width, data=pixels.tobytes()
        )

    def humans(second: int) -> bytes:
        return serialize_message(HumanArray(header=header(second)))

    rclpy.init()
    try:
        recorder = OutputRecorder(tmp_path / "bag", tmp_path / "renders", fps=10.0)
        faces = np.array([[0, 1, 2]])
        recorder._recorder("humans")(humans(1))  # before the topology and before its image
        recorder._recorder("mesh_topology")(serialize_message(topology_to_msg(header(0), faces, 3, "test")))
        recorder._recorder("humans")(humans(2))
        assert recorder.run is None and len(recorder.undrawn) == 2
        recorder._on_image(image(1))
        assert len(recorder.run.thumbnails) == 1 and len(recorder.undrawn) == 1
        recorder._on_image(image(3))  # image 2 was lost: its array is given up, not kept waiting forever
        recorder._recorder("humans")(humans(3))
        assert [title.split(":")[0] for title, _, _ in recorder.run.thumbnails] == ["frame 0", "frame 1"]
        assert not recorder.undrawn
        recorder.close()
        recorder.destroy_node()
    finally:
        rclpy.try_shutdown()


def write_image_bag(path: Path, topic: str, frames: int) -> None:
    typestore = get_typestore(Stores.ROS2_JAZZY)
    Image, Header, Time = (
        typestore.types[t] for t in ("sensor_msgs/msg/Image", "std_msgs/msg/Header", "builtin_interfaces/msg/Time")
    )
    image = cv2.imread(str(BUS))
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection(topic, "sensor_msgs/msg/Image", typestore=typestore)
        for index in range(frames):
            stamp = Time(sec=100 + index, nanosec=0)
            msg = Image(
                header=Header(stamp=stamp, frame_id="camera"),
                height=image.shape[0],
                width=image.shape[1],
                encoding="rgb8",
                is_bigendian=0,
                step=3 * image.shape[1],
                data=np.ascontiguousarray(image[:, :, ::-1]).reshape(-1),
            )
            writer.write(connection, (100 + index) * 10**9, typestore.serialize_cdr(msg, "sensor_msgs/msg/Image"))


def test_process_reads_a_ros_bag(tmp_path):
    write_image_bag(tmp_path / "bag", "/camera/image_raw", 3)
    run = subprocess.run(
        [
            str(BIN / "pmce-process"),
            str(tmp_path / "bag"),
            "--out",
            str(tmp_path / "out"),
            "--allow-untrained-features",
            "--allow-untrained-pmce",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "3 frames" in run.stdout
    wrong = subprocess.run(
        [str(BIN / "pmce-process"), str(tmp_path / "bag"), "--topic", "/front/image", "--out", str(tmp_path / "out2")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode == 2
    assert "has no image topic /front/image; its image topics: /camera/image_raw" in wrong.stderr


@pytest.mark.parametrize("case", ["missing video", "unreadable file", "wrong weights path"])
def test_newcomer_errors_get_one_clear_sentence(case, tmp_path):
    source, extra = str(VTEST), []
    if case == "missing video":
        source = str(tmp_path / "nowhere.avi")
    elif case == "unreadable file":
        source = str(tmp_path / "notes.avi")
        Path(source).write_text("not a video")
    else:
        extra = ["--pmce-weights", str(tmp_path / "mesh_vis.pth.tar")]
    expected = {
        "missing video": "not found",
        "unreadable file": "cannot read",
        "wrong weights path": "checkpoint not found",
    }[case]
    for command in ("pmce-process", "pmce-demo"):
        run = subprocess.run(
            [str(BIN / command), source, "--out", str(tmp_path / command), *extra],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 2, (command, run.stdout[-1000:], run.stderr[-1000:])
        message = [line for line in run.stderr.splitlines() if line.startswith(command)]
        assert message and expected in message[-1], (command, run.stderr[-1000:])


@pytest.mark.parametrize("command", ["pmce-process", "pmce-demo"])
def test_help_describes_every_setting(command):
    run = subprocess.run([str(BIN / command), "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "--roi-tracking" in run.stdout and "15% fewer small people" in " ".join(run.stdout.split())


def test_demo_refuses_a_domain_in_use(ros_env, tmp_path):
    peer = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "support" / "ros_peer.py"), "publish"],
        env=ros_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert peer.stdout.readline().strip() == "READY"  # the demo then waits for the peer's announcements
        run = subprocess.run(
            [str(BIN / "pmce-demo"), "--out", str(tmp_path / "demo"), "--domain-id", ros_env["ROS_DOMAIN_ID"]],
            env=ros_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        peer.terminate()
        peer.wait()
    assert run.returncode == 2
    assert f"already running on domain {ros_env['ROS_DOMAIN_ID']}" in run.stderr
    assert "--domain-id" in run.stderr
