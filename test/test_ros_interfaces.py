"""The node's declared interface agrees with docs/ros_api.md, config/pmce.yaml, the launch file and the install rules;
and the package builds and installs the way colcon builds it on a robot."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pmce_ros.ros.diagnostics import DIAGNOSTICS_TOPIC
from pmce_ros.ros.loopback import FASTDDS_LOOPBACK_PROFILE, FASTDDS_SHARED_MEMORY_PROFILE, loopback_environment
from pmce_ros.ros.outputs import OUTPUTS
from pmce_ros.ros.outputs.rep155 import body_topics
from pmce_ros.ros.pmce_node import INPUT_TOPICS
from pmce_ros.settings import PARAMETERS

ROOT = Path(__file__).parent.parent
ROS_API = (ROOT / "docs" / "ros_api.md").read_text()


def documented_table(first_header: str) -> list[list[str]]:
    lines = ROS_API[ROS_API.index(f"| {first_header} |") :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_documented_parameter_table_matches_the_node():
    rows = documented_table("parameter")
    documented = {row[0].strip("`"): row[1].strip("`") for row in rows}
    applies = {row[0].strip("`"): row[3] for row in rows}
    assert applies == {p.name: "live" if p.live else "configure" for p in PARAMETERS}
    declared = {}
    for p in PARAMETERS:
        default = ("true" if p.default else "false") if isinstance(p.default, bool) else p.default
        declared[p.name] = (
            f'"{default}"' if isinstance(default, str) and not isinstance(p.default, bool) else str(default)
        )
    assert documented == declared


def test_documented_topic_table_matches_the_node():
    documented = {re.sub(r"\s*\((in)\)", "", row[0]).strip("` ") for row in documented_table("topic")}
    published = {topic for _, output in OUTPUTS for topic in output.topics}
    assert documented == set(INPUT_TOPICS) | published | {DIAGNOSTICS_TOPIC} | set(body_topics("<id>"))


def test_config_file_lists_every_parameter_with_its_default():
    values = yaml.safe_load((ROOT / "config" / "pmce.yaml").read_text())["pmce_node"]["ros__parameters"]
    assert values == {p.name: p.default for p in PARAMETERS}
    text = (ROOT / "config" / "pmce.yaml").read_text()
    for p in PARAMETERS:  # a comment line above every parameter
        assert re.search(rf"#[^\n]*\n\s+{p.name}:", text), p.name


def test_launch_file_sets_only_declared_parameters_and_real_topics():
    tree = ast.parse((ROOT / "launch" / "pmce.launch.py").read_text())
    assigned = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    declared = {p.name for p in PARAMETERS} | {"managed"}
    assert set(assigned["OVERRIDES"]) <= declared
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    node_call = next(c for c in calls if getattr(c.func, "id", "") == "LifecycleNode")
    keywords = {k.arg: k.value for k in node_call.keywords}
    assert ast.literal_eval(keywords["package"]) == "pmce_ros"
    assert ast.literal_eval(keywords["executable"]) == "pmce_node"
    remapped = {ast.literal_eval(pair.elts[0]) for pair in keywords["remappings"].elts}
    assert remapped == set(INPUT_TOPICS)
    # The node always waits for transitions; with managed:=false the file emits configure, then activate once
    # configuring has reached inactive.
    managed = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and isinstance(n.targets[0], ast.Subscript)
        and ast.literal_eval(n.targets[0].slice) == "managed"
    )
    assert ast.literal_eval(managed.value) is True
    transitions = [
        k.value.attr
        for c in calls
        if getattr(c.func, "id", "") == "ChangeState"
        for k in c.keywords
        if k.arg == "transition_id"
    ]
    assert transitions == ["TRANSITION_CONFIGURE", "TRANSITION_ACTIVATE"]
    handler = next(c for c in calls if getattr(c.func, "id", "") == "OnStateTransition")
    states = {k.arg: ast.literal_eval(k.value) for k in handler.keywords if k.arg.endswith("_state")}
    assert states == {"start_state": "configuring", "goal_state": "inactive"}


@pytest.mark.slow
def test_package_builds_and_installs_like_colcon_on_a_robot(tmp_path):
    """CMakeLists.txt with the default PMCE_INSTALL_PYTHON=ON, built against the ROS wheels in a copy of the
    sources (the venv must not lie inside the source tree), then imported from the install space alone."""
    venv = Path(sys.executable).parent.parent
    source = tmp_path / "src"
    source.mkdir()
    for name in ("CMakeLists.txt", "package.xml", "msg", "pmce_ros", "scripts", "launch", "config"):
        subprocess.run(["cp", "-r", str(ROOT / name), str(source / name)], check=True)
    install = tmp_path / "install"
    env = {**os.environ, "AMENT_PREFIX_PATH": str(venv)}
    cmake = str(venv / "bin" / "cmake")
    for step in (
        [
            cmake,
            "-S",
            str(source),
            "-B",
            str(tmp_path / "build"),
            f"-DCMAKE_INSTALL_PREFIX={install}",
            f"-DCMAKE_PREFIX_PATH={venv}",
            f"-DPython3_EXECUTABLE={sys.executable}",
            "-DBUILD_TESTING=OFF",
        ],
        [cmake, "--build", str(tmp_path / "build"), "-j", "2"],
        [cmake, "--install", str(tmp_path / "build")],
    ):
        result = subprocess.run(step, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    site = install / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for path in (
        "lib/pmce_ros/pmce_node",
        "lib/pmce_ros/camera_replay",
        "share/pmce_ros/launch/pmce.launch.py",
        "share/pmce_ros/config/pmce.yaml",
        "share/pmce_ros/package.xml",
    ):
        assert (install / path).is_file(), path
    assert os.access(install / "lib/pmce_ros/pmce_node", os.X_OK)
    assert (site / "pmce_ros" / "data" / "pmce_synthetic_demo.pt").is_file()
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pmce_ros, pmce_ros.msg, pmce_ros.ros.pmce_node; "
            "print(pmce_ros.__file__, pmce_ros.msg.HumanArray.__module__)",
        ],
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(site))


def test_rviz_config_shows_the_nodes_outputs_and_the_launch_file_starts_it():
    config = yaml.safe_load((ROOT / "config" / "pmce.rviz").read_text())
    displays = config["Visualization Manager"]["Displays"]
    assert all(d["Class"].startswith("rviz_default_plugins/") for d in displays)
    topics = {d["Class"].split("/")[1]: d["Topic"]["Value"].lstrip("/") for d in displays if "Topic" in d}
    assert topics["MarkerArray"] == "markers" and topics["PointCloud2"] == "people_cloud"
    assert set(topics.values()) - {"camera/image_raw"} <= {topic for _, output in OUTPUTS for topic in output.topics}
    assert {"TF", "Image"} <= {d["Class"].split("/")[1] for d in displays}
    launch = (ROOT / "launch" / "pmce.launch.py").read_text()
    assert '"pmce.rviz"' in launch and 'DeclareLaunchArgument("rviz"' in launch


def test_large_image_profile_raises_the_buffers_and_the_launch_file_applies_it():
    import xml.etree.ElementTree as ElementTree

    namespace = {"f": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}
    profiles = (ROOT / "config" / "fastdds_large_images.xml").read_text(), FASTDDS_LOOPBACK_PROFILE
    for text in (*profiles, FASTDDS_SHARED_MEMORY_PROFILE):
        root = ElementTree.fromstring(text)
        udp = [
            t
            for t in root.iterfind(".//f:transport_descriptor", namespace)
            if t.findtext("f:type", "", namespace) == "UDPv4"
        ]
        assert udp and all(
            int(t.findtext(f"f:{size}", "0", namespace)) >= 4 * 2**20
            for t in udp
            for size in ("sendBufferSize", "receiveBufferSize")
        )
        used = {e.text for e in root.iterfind(".//f:userTransports/f:transport_id", namespace)}
        declared = {e.text for e in root.iterfind(".//f:transport_descriptor/f:transport_id", namespace)}
        assert used == declared and root.findtext(".//f:useBuiltinTransports", "", namespace) == "false"
    launch = (ROOT / "launch" / "pmce.launch.py").read_text()
    assert '"fastdds_large_images.xml"' in launch and "FASTDDS_DEFAULT_PROFILES_FILE" in launch


def test_shared_memory_dds_is_offered_only_in_a_namespace_holding_only_loopback(monkeypatch):
    monkeypatch.setattr("pmce_ros.ros.loopback.network_interfaces", lambda: ["eth0", "lo"])
    with pytest.raises(ValueError, match="only lo .* this one has eth0, lo"):
        loopback_environment(7, shared_memory=True)
    assert "SHM" not in Path(loopback_environment(7)["FASTDDS_DEFAULT_PROFILES_FILE"]).read_text()
    monkeypatch.setattr("pmce_ros.ros.loopback.network_interfaces", lambda: ["lo"])
    profile = Path(loopback_environment(7, shared_memory=True)["FASTDDS_DEFAULT_PROFILES_FILE"]).read_text()
    assert "<type>SHM</type>" in profile and "<address>127.0.0.1</address>" in profile


def test_every_output_module_holds_one_registered_output_and_its_switch_is_a_parameter():
    import importlib
    import inspect

    from pmce_ros.ros.outputs import NodeOutput

    registered = {output for _, output in OUTPUTS}
    for path in sorted((ROOT / "pmce_ros" / "ros" / "outputs").glob("*.py")):
        if path.stem in ("__init__", "base"):
            continue
        module = importlib.import_module(f"pmce_ros.ros.outputs.{path.stem}")
        own = [
            kind
            for _, kind in inspect.getmembers(module, inspect.isclass)
            if issubclass(kind, NodeOutput) and kind is not NodeOutput and kind.__module__ == module.__name__
        ]
        assert len(own) == 1 and own[0] in registered, (path.name, own)
        assert own[0].topics or own[0].serves, f"{own[0].__name__} declares neither topics nor what it serves"
    names = {p.name for p in PARAMETERS}
    assert {switch for switch, _ in OUTPUTS if switch} <= names
