"""Starting and stopping the ROS 2 processes of a test, each logging to its own file."""

import json
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from pmce_ros.ros.command_line import ros_arguments

VENV_BIN = Path(sys.executable).parent
SUPPORT_DIR = Path(__file__).parent  # these helpers and the processes tests start
TEST_DIR = SUPPORT_DIR.parent


def wait_for_log(log: Path, text: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise AssertionError(
                f"process exited ({process.returncode}) before logging {text!r}:\n"
                f"{log.read_text(errors='replace')[-3000:]}"
            )
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} in {log} after {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def ros_process(command: list[str], env: dict, log: Path, ready: str | None = None, ready_timeout: float = 180):
    """Runs `command` for the duration of the block; SIGINT, then SIGKILL if it does not stop in 20 s."""
    with open(log, "w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        if ready:
            wait_for_log(log, ready, process, ready_timeout)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def run_replay(
    env: dict,
    log: Path,
    sources: list[str],
    frames: int,
    rate_hz: float,
    frame_id: str,
    subscribers: int,
    reliable: bool = True,
) -> None:
    command = [
        str(VENV_BIN / "pmce_camera_replay"),
        *ros_arguments(
            {
                "sources": sources,
                "max_frames": frames,
                "rate_hz": rate_hz,
                "loop": True,
                "reliable": reliable,
                "frame_id": frame_id,
                "wait_for_subscribers": subscribers,
            }
        ),
    ]
    with open(log, "w") as output:
        subprocess.run(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, check=True, timeout=60 + frames / rate_hz
        )


def follow_frame_counts(node) -> list[tuple[int, int]]:
    """Subscribes `node` to /diagnostics; the list returned fills with pmce_node's (frames in, frames in hand),
    one pair per report, as `node` spins."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    reports = []

    def on_diagnostics(msg):
        for status in msg.status:
            if status.name.endswith("pmce_node"):
                values = {kv.key: kv.value for kv in status.values}
                reports.append((int(values["frames in"]), int(values["frames in hand"])))

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, reliable)
    return reports


def wait_until_settled(env: dict, timeout_s: float = 60.0) -> None:
    """Returns once pmce_node has handled every frame it took in (processed or dropped), as two consecutive
    diagnostics reports say: the end of a replay's processing, without guessing how long it takes."""
    subprocess.run(
        [sys.executable, str(SUPPORT_DIR / "ros_peer.py"), "settled"], env=env, timeout=timeout_s, check=True
    )


def read_json(path: Path):
    return json.loads(path.read_text())


def spin_until_interrupted(
    node, ready: str, finish, ready_when=lambda: True, idle_s: float = 0.5, drain_limit_s: float = 15.0
) -> None:
    """For the recording processes a test starts: spins `node` until `ready_when()` holds (its subscriptions have
    found their publishers), prints `ready`, spins until SIGINT, then keeps taking what is already queued until
    nothing arrives for `idle_s`, calls `finish()` (which writes what was recorded) and shuts ROS down.

    SIGINT is Python's here, not rclpy's: rclpy's handler shuts the context down at once, and the messages a
    busy recorder had received but not yet taken were lost. Its executor serves each topic in turn, so a backlog
    on one topic (per-person meshes) outlived the later messages of another (the frame's cloud)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import uninstall_signal_handlers

    uninstall_signal_handlers()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    while not ready_when():
        executor.spin_once(timeout_sec=0.1)
    print(ready, flush=True)
    try:
        while True:
            executor.spin_once(timeout_sec=0.1)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    deadline = time.monotonic() + drain_limit_s
    while time.monotonic() < deadline:
        started = time.monotonic()
        executor.spin_once(timeout_sec=idle_s)
        if time.monotonic() - started >= idle_s:
            break
    finish()
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()
