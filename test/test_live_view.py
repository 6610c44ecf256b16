"""The live 3D view in a real browser: pmce-process --view on a real photo serves Rerun's web viewer; Debian's
chromium, headless and driven by Playwright, opens it, and its screenshot shows the people's meshes in their
colours, where the photo alone has almost none of them; the run leaves a recording file Rerun can open. The node
with live_view on serves the same page and records the people it publishes."""

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import ZIDANE
from playwright.sync_api import sync_playwright
from ros_processes import VENV_BIN, ros_process, run_replay, stop, wait_for_log

from pmce_ros.output.render import person_color
from pmce_ros.process import VIEW_HELD
from pmce_ros.ros.command_line import NODE_READY, ros_arguments

pytestmark = [pytest.mark.video, pytest.mark.slow]

BIN = Path(sys.executable).parent
FRAMES = 18  # causal: estimates from the 16th frame on
CHROMIUM = "/usr/bin/chromium"
# Headless without a GPU (SwiftShader renders WebGL on the CPU) and without reaching for any other host.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HUE_TOLERANCE = 5  # OpenCV hue units (2 degrees each): shading changes brightness, not hue


def free_port_pair() -> int:
    """A port p with p and p + 1 both free on localhost."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65535 and all(_free(p) for p in (port, port + 1)):
            return port
    raise RuntimeError("no two consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def person_pixel_share(image_bgr: np.ndarray, track_ids) -> float:
    """Share of pixels, saturated and not dark, whose hue is one of these tracks' colours."""
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV).astype(int)
    coloured = (hsv[..., 1] > 90) & (hsv[..., 2] > 50)
    matched = np.zeros(coloured.shape, bool)
    for track_id in track_ids:
        rgb = np.uint8([[255 * person_color(track_id)[:3]]])
        hue = int(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[0, 0, 0])
        distance = np.abs(hsv[..., 0] - hue)
        matched |= np.minimum(distance, 180 - distance) <= HUE_TOLERANCE
    return float((coloured & matched).mean())


@pytest.fixture(scope="module")
def served_view(tmp_path_factory):
    out = tmp_path_factory.mktemp("live_view")
    port, log = free_port_pair(), out / "process.log"
    command = [str(BIN / "pmce-process"), *[str(ZIDANE)] * FRAMES, "--latency-mode", "causal", "--out", str(out)]
    with open(log, "w") as output:  # a file, not a pipe: a pipe nobody reads fills up and blocks the process
        process = subprocess.Popen([*command, "--view", "--view-port", str(port)], stdout=output, stderr=output)
    try:
        wait_for_log(log, VIEW_HELD, process, timeout=300)
        held = next(line for line in log.read_text().splitlines() if line.startswith(VIEW_HELD))
        yield out, held[len(VIEW_HELD) :].split()[0], log.read_text()
    finally:
        returncode = stop(process)  # SIGINT, as Ctrl-C; killed if still there after 20 s
    assert returncode == 0, log.read_text()[-3000:]


def test_browser_shows_the_people_of_the_photo_in_their_colours(served_view):
    out, url, _ = served_view
    tracks = sorted(set(np.load(out / "results.npz")["track_id"].tolist()))
    assert tracks, "no person was estimated, nothing to see"
    photo_share = person_pixel_share(cv2.imread(str(ZIDANE)), tracks)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            shares, deadline = [], time.monotonic() + 120
            while time.monotonic() < deadline:
                time.sleep(3)
                page.screenshot(path=str(out / "live_view.png"))
                shares.append(person_pixel_share(cv2.imread(str(out / "live_view.png")), tracks))
                if shares[-1] >= max(0.02, 5 * photo_share):
                    break
        finally:
            browser.close()
    assert shares[-1] >= max(0.02, 5 * photo_share), (
        f"person-coloured share of the page over time {shares}, of the photo {photo_share:.4f}"
    )


def recorded_entities(recording: Path) -> set[str]:
    """The entity paths in a recording, after Rerun's own check that the file is complete and readable."""
    assert recording.read_bytes()[:4] == b"RRF2"  # Rerun's file magic
    verified = subprocess.run([str(BIN / "rerun"), "rrd", "verify", str(recording)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    printed = subprocess.run([str(BIN / "rerun"), "rrd", "print", str(recording)], capture_output=True, text=True)
    return set(re.findall(r"/?(world/[\w/]+)", printed.stdout))


def test_the_run_leaves_a_recording_rerun_can_open(served_view):
    out, _, stdout = served_view
    recording = out / "live_view.rrd"
    assert str(recording) in stdout
    tracks = set(np.load(out / "results.npz")["track_id"].tolist())
    entities = recorded_entities(recording)
    assert "world/camera" in entities
    assert {f"world/people/{t}/{part}" for t in tracks for part in ("mesh", "skeleton", "id")} <= entities


@pytest.mark.ros
def test_node_with_live_view_serves_the_page_and_records_its_people(ros_env, tmp_path):
    port, recording = free_port_pair(), tmp_path / "node_view.rrd"
    parameters = {
        "latency_mode": "causal",
        "warmup": "edge_pad",  # estimates from a track's first frame on
        "image_reliability": "reliable",
        "live_view": True,
        "live_view_port": port,
        "live_view_recording": str(recording),
    }
    node = [str(VENV_BIN / "pmce_node"), *ros_arguments(parameters)]
    with ros_process(node, ros_env, tmp_path / "node.log", ready=NODE_READY):
        run_replay(ros_env, tmp_path / "replay.log", [str(ZIDANE)], 6, 1.0, "view_camera", 1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            html = page.read().decode()
    assert "Rerun" in html
    log = (tmp_path / "node.log").read_text()
    assert f"live view: http://localhost:{port}/?url=" in log
    entities = recorded_entities(recording)
    assert "world/camera" in entities and any(e.startswith("world/people/") for e in entities), log[-3000:]
