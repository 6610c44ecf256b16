"""Starting ROS nodes as processes (demo, tests, benchmarks): `--ros-args -p name:=value` arguments, pmce_node
started until it reports itself active, waiting for discovery, and the DDS profile for large images."""

import os
import subprocess
import sys
import time
from pathlib import Path

from pmce_ros.assets import large_images_profile

# What pmce_node logs once it is active (followed by its image topic).
NODE_READY = "active: waiting for images on"


def _installed_large_images_profile() -> Path | None:
    """config/fastdds_large_images.xml where the package's share is indexed (a colcon install on a robot, whose
    Python prefix is not the install space), else where `assets` finds it; None when neither has it."""
    candidates = []
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory("pmce_ros")) / "config" / "fastdds_large_images.xml")
    except (ImportError, LookupError, OSError):  # no ament index, no AMENT_PREFIX_PATH, or not registered
        pass
    candidates.append(large_images_profile())
    return next((path for path in candidates if path.is_file()), None)


def apply_large_images_profile() -> None:
    """Points Fast DDS at config/fastdds_large_images.xml unless a profile is set already (the user's, or the
    loopback one of tests and the demo) or the file cannot be found. Call before rclpy.init()."""
    if os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE") or os.environ.get("FASTRTPS_DEFAULT_PROFILES_FILE"):
        return
    profile = _installed_large_images_profile()
    if profile is not None:
        os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile)


class NodeStartError(RuntimeError):
    """pmce_node stopped or did not become active; the message quotes its log."""


def _yaml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_yaml_value(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"  # YAML single-quoted: empty strings and paths stay strings


def ros_arguments(parameters: dict, remappings: dict | None = None) -> list[str]:
    args = ["--ros-args"]
    for name, value in parameters.items():
        args += ["-p", f"{name}:={_yaml_value(value)}"]
    for source, target in (remappings or {}).items():
        args += ["-r", f"{source}:={target}"]
    return args


def start_pmce_node(parameters: dict, log: Path, env: dict | None = None, timeout_s: float = 300) -> subprocess.Popen:
    """Starts the venv's pmce_node with `parameters`, logging to `log`, and returns once it is active."""
    with open(log, "w") as output:
        node = subprocess.Popen(
            [str(Path(sys.executable).parent / "pmce_node"), *ros_arguments(parameters)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if NODE_READY in text:
            return node
        if node.poll() is not None:
            reason = [line for line in text.splitlines() if "ERROR" in line or "failed" in line]
            raise NodeStartError(
                f"pmce_node stopped while starting: {reason[-1] if reason else text[-500:]} (full log: {log})"
            )
        time.sleep(0.2)
    node.kill()
    raise NodeStartError(f"pmce_node did not start within {timeout_s:.0f} s (log: {log})")


def wait_for_publisher(node, topic: str, timeout_s: float = 60) -> bool:
    """Spins `node` until it has discovered a publisher of `topic`; False after `timeout_s`. Call before the input
    that makes that publisher speak: pmce_node's outputs are volatile, so what it publishes before discovery has
    matched a subscriber is lost to it (a demo run once recorded 23 of 24 HumanArrays, the first one missing)."""
    import rclpy

    deadline = time.monotonic() + timeout_s
    while node.count_publishers(topic) == 0:
        if time.monotonic() > deadline:
            return False
        rclpy.spin_once(node, timeout_sec=0.1)
    return True
