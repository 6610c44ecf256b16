"""Full-HD camera frames over DDS, best effort as camera drivers publish them, between real processes: with the
package's large-image Fast DDS profile they reach pmce_node; with small socket buffers most are lost, and the node's
diagnostics report "images lost in transport" with the two rates.

The lossy case sends 8 KiB datagrams into 8 KiB socket buffers (a frame is then about 760 datagrams, each of which
must be taken before the next arrives) instead of leaving the buffers to the kernel: under the kernel's default of
208 KiB, and even with 64 KiB, how many frames got through depended on the host's load (from a quarter to two
thirds of them), which a test cannot hold to a number.

Both profiles are confined to loopback like every test's (UDP restricted to 127.0.0.1; SHM is host-local)."""

import re
import statistics
import sys

import cv2
import pytest
from media import BUS, read_image
from ros_processes import SUPPORT_DIR, TEST_DIR, read_json, ros_process, run_replay, wait_until_settled
from test_node import node_command

from pmce_ros.ros.command_line import NODE_READY
from pmce_ros.ros.loopback import FASTDDS_LOOPBACK_PROFILE

pytestmark = [pytest.mark.ros, pytest.mark.video, pytest.mark.slow]

ROOT = TEST_DIR.parent
FRAMES, RATE_HZ = 20, 2.0
LOOPBACK_UDP = "<type>UDPv4</type>\n      <interfaceWhiteList><address>127.0.0.1</address></interfaceWhiteList>"
SMALL_BUFFER_BYTES = 8192


def profiles() -> dict[str, str]:
    robots = (ROOT / "config" / "fastdds_large_images.xml").read_text()
    small_buffers = re.sub(
        r"<(send|receive)BufferSize>\d+</", rf"<\1BufferSize>{SMALL_BUFFER_BYTES}</", FASTDDS_LOOPBACK_PROFILE
    )
    small_buffers = small_buffers.replace(
        "<type>UDPv4</type>", f"<type>UDPv4</type>\n      <maxMessageSize>{SMALL_BUFFER_BYTES}</maxMessageSize>"
    )
    assert small_buffers.count(f">{SMALL_BUFFER_BYTES}<") == 3 and "<type>UDPv4</type>" in robots
    return {"large_images": robots.replace("<type>UDPv4</type>", LOOPBACK_UDP), "small_buffers": small_buffers}


@pytest.fixture(scope="module")
def full_hd_photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("full_hd") / "bus_1920x1080.png"
    cv2.imwrite(str(path), cv2.resize(read_image(BUS), (1920, 1080)))
    return path


def node_statuses(ros_env, logs, profile_xml: str, photo) -> list[dict]:
    """pmce_node fed FRAMES full-HD frames, best effort, both sides under `profile_xml`; its diagnostics."""
    profile = logs / "profile.xml"
    profile.write_text(profile_xml)
    env = {**ros_env, "FASTDDS_DEFAULT_PROFILES_FILE": str(profile), "FASTRTPS_DEFAULT_PROFILES_FILE": str(profile)}
    record = logs / "record.json"
    command = node_command(image_reliability="best_effort", diagnostics_period_s=0.5)
    with ros_process(command, env, logs / "node.log", ready=NODE_READY):
        recorder = [sys.executable, str(SUPPORT_DIR / "output_recorder.py"), str(record)]
        with ros_process(recorder, env, logs / "recorder.log", "RECORDING"):
            run_replay(env, logs / "replay.log", [str(photo)], FRAMES, RATE_HZ, "hd_camera", 1, reliable=False)
            wait_until_settled(env)
    return [d for d in read_json(record)["diagnostics"] if d["name"] == "pmce_ros: pmce_node"]


def test_full_hd_frames_arrive_with_the_large_image_profile(ros_env, tmp_path, full_hd_photo):
    statuses = node_statuses(ros_env, tmp_path, profiles()["large_images"], full_hd_photo)
    assert statuses
    assert int(statuses[-1]["values"]["frames in"]) >= FRAMES - 1
    assert not any("images lost in transport" in s["values"] for s in statuses)


def test_with_small_socket_buffers_frames_are_lost_and_diagnostics_say_so(ros_env, tmp_path, full_hd_photo):
    statuses = node_statuses(ros_env, tmp_path, profiles()["small_buffers"], full_hd_photo)
    assert statuses and int(statuses[-1]["values"]["frames in"]) <= FRAMES // 2
    losses = [s for s in statuses if "images lost in transport" in s["values"]]
    assert losses and all(s["level"] == 1 for s in losses)  # WARN
    assert "raise the DDS and socket buffers" in losses[0]["message"]
    # Every report gives both rates, as the check saw them: camera_info at 1 Hz at least, images under a third of
    # it. camera_info's estimate wanders around the replay's 2 Hz (some of it is lost beside the images when the
    # socket buffer overflows, and a few arrivals make a rough estimate), so only its median is held to 2 Hz.
    rates = [
        tuple(
            map(
                float,
                re.fullmatch(
                    r"'hd_camera': camera_info ([\d.]+) Hz, images ([\d.]+) Hz",
                    loss["values"]["images lost in transport"],
                ).groups(),
            )
        )
        for loss in losses
    ]
    # The rates are printed to 0.1 Hz: each may be 0.05 off the figures the check compared.
    assert all(info >= 1.0 and image - 0.05 < (info + 0.05) / 3 for info, image in rates)
    assert 1.0 <= statistics.median(info for info, _ in rates) <= 1.25 * RATE_HZ
