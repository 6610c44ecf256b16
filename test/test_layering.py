"""The house rules of DESIGN.md, read from the source: data flows ros -> pipeline -> perception/model -> body, no
lower room imports a higher one, nothing below ros/ imports ROS, and model/ and body/ import neither ROS,
ultralytics nor OpenCV."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "pmce_ros"
RANKS = {"body": 0, "model": 1, "perception": 2, "pipeline": 3, "training": 3, "output": 4, "ros": 5}
LEAVES = {"assets", "labels", "sources"}  # constants, paths and frame sources every room may use
ENTRY_POINTS_WITHOUT_ROS = {"process", "sources", "settings"}
# The ROS runtime and its messages; rosbags (a pure-Python reader and writer of bag files) is not among them.
ROS_PACKAGES = {"rclpy", "rcl_interfaces", "builtin_interfaces", "launch", "launch_ros"}
IMAGE_AND_DETECTOR_PACKAGES = {"cv2", "ultralytics", "openvino"}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def room_of(module: str) -> str:
    """pmce_ros.<room>.… -> room; a top-level module is its own room."""
    return module.split(".")[1]


def is_ros(module: str) -> bool:
    top = module.split(".")[0]
    return top in ROS_PACKAGES or top.endswith("_msgs") or module.startswith("pmce_ros.msg")


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "msg" not in p.relative_to(PACKAGE).parts[:1])


def test_the_rules_see_every_room():
    rooms = {p.relative_to(PACKAGE).parts[0] for p in MODULES if p.parent != PACKAGE}
    assert rooms == set(RANKS), "a new room needs a rank in RANKS"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_house_rules(path):
    relative = path.relative_to(PACKAGE)
    room = relative.parts[0] if len(relative.parts) > 1 else relative.stem
    own = {m for m in imported(path) if m.startswith("pmce_ros.")}
    if room in RANKS:
        upward = {m for m in own if room_of(m) in RANKS and RANKS[room_of(m)] > RANKS[room]}
        assert not upward, f"{relative} imports higher rooms: {sorted(upward)}"
        sideways = {m for m in own if room_of(m) not in RANKS and room_of(m) not in LEAVES and not is_ros(m)}
        assert not sideways, f"{relative} imports entry-point modules: {sorted(sideways)}"
    if room != "ros" and room not in ("selfcheck",):
        assert not {m for m in imported(path) if is_ros(m)}, f"{relative} imports ROS below ros/"
    if room in ("model", "body"):
        assert not {m.split(".")[0] for m in imported(path)} & IMAGE_AND_DETECTOR_PACKAGES, relative
        assert not own - {m for m in own if room_of(m) in ("body", "model")}, f"{relative} reaches above model/"
    if room in ENTRY_POINTS_WITHOUT_ROS:
        assert not {m for m in own if room_of(m) == "ros"}, f"{relative} must run without ROS"
