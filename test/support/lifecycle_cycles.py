"""Switches a streaming pmce_node off and on as a behaviour tree would, through the standard lifecycle service,
and prints as JSON: every transition (when asked, when answered, success), the node's RSS after each cycle,
every HumanArray received (when, and the stamp of the frame it describes), the frames the node processed, and
what became of two deactivations asked at once; it leaves the node active, streaming.
Usage: lifecycle_cycles.py NODE_NAME PID FLIPS RELOADS ACTIVE_S
FLIPS deactivate/activate cycles, then RELOADS deactivate/cleanup/configure/activate cycles, each followed by
ACTIVE_S seconds with the stream flowing."""

import json
import sys
import time

import psutil
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState

from pmce_ros.msg import HumanArray

FLIP = (("deactivate", Transition.TRANSITION_DEACTIVATE), ("activate", Transition.TRANSITION_ACTIVATE))
RELOAD = (
    ("deactivate", Transition.TRANSITION_DEACTIVATE),
    ("cleanup", Transition.TRANSITION_CLEANUP),
    ("configure", Transition.TRANSITION_CONFIGURE),
    ("activate", Transition.TRANSITION_ACTIVATE),
)


def main() -> None:
    target, pid, flips, reloads, active_s = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]),
        float(sys.argv[5]),
    )
    rclpy.init()
    node = rclpy.create_node("lifecycle_cycles")
    change = node.create_client(ChangeState, f"/{target}/change_state")
    if not change.wait_for_service(timeout_sec=60.0):
        raise RuntimeError(f"/{target}/change_state is not offered")
    received = []
    node.create_subscription(
        HumanArray,
        "humans",
        lambda msg: received.append((time.time(), msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)),
        10,
    )
    processed = [0]

    def on_diagnostics(msg):
        for status in msg.status:
            if status.name.endswith(target):
                values = {kv.key: kv.value for kv in status.values}
                processed[0] = int(values.get("frames processed", processed[0]))

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    process = psutil.Process(pid)

    def spin(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)

    transitions, rss = [], []
    spin(active_s)
    for steps, count in ((FLIP, flips), (RELOAD, reloads)):
        for _ in range(count):
            for label, transition in steps:
                asked = time.time()
                future = change.call_async(ChangeState.Request(transition=Transition(id=transition)))
                rclpy.spin_until_future_complete(node, future, timeout_sec=300.0)
                success = bool(future.result() and future.result().success)
                transitions.append({"transition": label, "asked": asked, "answered": time.time(), "success": success})
            spin(active_s)
            rss.append(process.memory_info().rss / 2**20)
    # two deactivations asked at once: the lifecycle runs one and refuses the other; then active again, streaming
    twice = [change.call_async(ChangeState.Request(transition=Transition(id=FLIP[0][1]))) for _ in range(2)]
    for future in twice:
        rclpy.spin_until_future_complete(node, future, timeout_sec=60.0)
    concurrent = [bool(future.result() and future.result().success) for future in twice]
    again = change.call_async(ChangeState.Request(transition=Transition(id=FLIP[1][1])))
    rclpy.spin_until_future_complete(node, again, timeout_sec=60.0)
    spin(active_s)
    report = {
        "transitions": transitions,
        "rss_mb": rss,
        "received": received,
        "frames_processed": processed[0],
        "concurrent_deactivations": concurrent,
        "active_again": bool(again.result() and again.result().success),
    }
    print(json.dumps(report), flush=True)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
