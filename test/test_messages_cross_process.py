"""Custom messages between real processes over Fast DDS on loopback."""

import subprocess
import sys
from pathlib import Path

import message_samples
import numpy as np
import pytest
from rclpy.serialization import deserialize_message
from ros_peer import TYPES

from pmce_ros.ros.messages import faces_from_msg, mesh_from_msg, skeleton_joints_from_msg

pytestmark = [pytest.mark.ros, pytest.mark.slow]

PEER = str(Path(__file__).parent / "support" / "ros_peer.py")
TIMEOUT_S = 60


@pytest.fixture
def publisher(ros_env):
    process = subprocess.Popen([sys.executable, PEER, "publish"], env=ros_env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "READY"
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def receive(ros_env, topics: list[str], out: Path) -> dict:
    out.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, PEER, "receive", *topics, "--out", str(out)], env=ros_env, check=True, timeout=TIMEOUT_S
    )
    return {t: deserialize_message((out / f"{t}.cdr").read_bytes(), TYPES[t]) for t in topics}


def test_every_message_arrives_unchanged(publisher, ros_env, tmp_path):
    received = receive(ros_env, ["meshes", "skeletons", "humans", "mesh_topology"], tmp_path / "first")

    mesh = received["meshes"]
    assert mesh == message_samples.mesh()
    np.testing.assert_array_equal(mesh_from_msg(mesh), message_samples.mesh_vertices(7))
    assert mesh.header.frame_id == message_samples.FRAME_ID and mesh.header.stamp == message_samples.STAMP

    skeleton = received["skeletons"]
    assert skeleton == message_samples.skeleton()
    assert skeleton_joints_from_msg(skeleton).shape == (19, 3) and len(skeleton.joint_names) == 19

    humans = received["humans"]
    assert humans == message_samples.humans()
    assert [h.track_id for h in humans.humans] == [1, 2, 3]
    assert [h.valid for h in humans.humans] == [True, True, False]
    assert all(len(h.mesh.vertices) == 6890 * 3 for h in humans.humans[:2])
    assert humans.stand_in

    topology = received["mesh_topology"]
    assert topology == message_samples.topology()
    assert faces_from_msg(topology).shape == (13776, 3) and topology.num_vertices == 6890


def test_late_subscriber_gets_latched_topology(publisher, ros_env, tmp_path):
    receive(ros_env, ["meshes"], tmp_path / "early")  # the publisher has been up for a while now
    late = receive(ros_env, ["mesh_topology"], tmp_path / "late")
    assert late["mesh_topology"] == message_samples.topology()
