"""Walks pmce_node through its lifecycle with the standard lifecycle services and prints, as JSON, the state
after each step and whether a MeshTopology arrived while active. Usage: lifecycle_client.py NODE_NAME"""

import json
import sys
import time

import rclpy
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from pmce_ros.msg import MeshTopology

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
STEPS = [
    ("configure", Transition.TRANSITION_CONFIGURE),
    ("activate", Transition.TRANSITION_ACTIVATE),
    ("deactivate", Transition.TRANSITION_DEACTIVATE),
    ("activate", Transition.TRANSITION_ACTIVATE),
    ("deactivate", Transition.TRANSITION_DEACTIVATE),
    ("cleanup", Transition.TRANSITION_CLEANUP),
    ("shutdown", Transition.TRANSITION_UNCONFIGURED_SHUTDOWN),
]


def call(node, client, request, timeout=180.0):
    if not client.wait_for_service(timeout_sec=60.0):
        raise RuntimeError(f"service {client.srv_name} not available")
    future = client.call_async(request)
    rclpy.spin_until_future_complete(node, future, timeout_sec=timeout)
    if not future.done():
        raise RuntimeError(f"{client.srv_name}: no reply in {timeout} s")
    return future.result()


def first_state(node, client, tries: int = 6) -> str:
    """The node's state, asked until it answers: a service can be seen before its reply can reach this client (a
    request sent in that moment is answered into the void), and asking the state changes nothing."""
    for _ in range(tries):
        try:
            return call(node, client, GetState.Request(), timeout=10.0).current_state.label
        except RuntimeError:
            continue
    raise RuntimeError(f"{client.srv_name}: no reply in {tries} tries")


def main() -> None:
    target = sys.argv[1]
    rclpy.init()
    node = rclpy.create_node("lifecycle_client")
    change = node.create_client(ChangeState, f"/{target}/change_state")
    get = node.create_client(GetState, f"/{target}/get_state")
    topologies = []
    node.create_subscription(MeshTopology, "mesh_topology", topologies.append, LATCHED)
    report = {"initial": first_state(node, get), "steps": []}
    for label, transition in STEPS:
        result = call(node, change, ChangeState.Request(transition=Transition(id=transition)))
        state = call(node, get, GetState.Request()).current_state.label
        if label == "activate":
            deadline = time.monotonic() + 10
            while not topologies and time.monotonic() < deadline:
                rclpy.spin_once(node, timeout_sec=0.1)
        report["steps"].append(
            {"transition": label, "success": result.success, "state": state, "topologies_so_far": len(topologies)}
        )
    print(json.dumps(report), flush=True)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
