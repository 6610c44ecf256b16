"""Drives a real pmce_node (stand-ins, in this process, spun on its own executor thread) through its lifecycle
services from a second node, and prints what happened as JSON. Usage: lifecycle_recovery.py

- The first activate fails inside on_activate (the worker refuses to start once, as a thread that cannot be
  created would): the node must end unconfigured with nothing held, and configure + activate must work again
  with one publisher per topic.
- Parameters are set through the node's set_parameters service while active: a configure-time one is refused
  with a reason, live ones apply.
- A frame hangs in the pipeline (a stub that blocks): deactivate must return within stop_timeout_s.
"""

import json
import threading
import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.parameter import Parameter as NodeParameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from pmce_ros.ros import pmce_node
from pmce_ros.ros.latest_frame import InferenceWorker

STOP_TIMEOUT_S = 1.0
OVERRIDES = {
    "allow_untrained_features": True,
    "allow_untrained_pmce": True,
    "image_reliability": "reliable",
    "stop_timeout_s": STOP_TIMEOUT_S,
    "diagnostics_period_s": 0.2,
    "managed": True,
}


class FailingOnce:
    """Makes InferenceWorker.start raise the first time it is called."""

    def __init__(self):
        self.original, self.failed = InferenceWorker.start, False
        InferenceWorker.start = self

    def __get__(self, worker, owner):
        return lambda: self(worker)

    def __call__(self, worker):
        if not self.failed:
            self.failed = True
            raise RuntimeError("can't start new thread")
        return self.original(worker)


class Client:
    def __init__(self):
        self.node = rclpy.create_node("lifecycle_recovery_client")
        self.change = self.node.create_client(ChangeState, "/pmce_node/change_state")
        self.get = self.node.create_client(GetState, "/pmce_node/get_state")
        self.set = self.node.create_client(SetParameters, "/pmce_node/set_parameters")
        reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        self.images = self.node.create_publisher(Image, "image", reliable)
        self.infos = self.node.create_publisher(CameraInfo, "camera_info", reliable)
        self.diagnostics = []
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)

    def call(self, client, request, timeout=120.0):
        assert client.wait_for_service(timeout_sec=30.0), client.srv_name
        future = client.call_async(request)
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=timeout)
        return future.result()

    def transition(self, transition_id: int) -> dict:
        started = time.monotonic()
        result = self.call(self.change, ChangeState.Request(transition=Transition(id=transition_id)))
        seconds = time.monotonic() - started
        state = self.call(self.get, GetState.Request()).current_state.label
        return {
            "success": result.success,
            "state": state,
            "seconds": round(seconds, 2),
            "publishers": self.node.count_publishers("/humans"),
            "image_subscribers": self.node.count_subscribers("/image"),
        }

    def set_parameter(self, name: str, value) -> dict:
        kind = ParameterType.PARAMETER_DOUBLE if isinstance(value, float) else ParameterType.PARAMETER_INTEGER
        field = "double_value" if isinstance(value, float) else "integer_value"
        request = SetParameters.Request(
            parameters=[Parameter(name=name, value=ParameterValue(type=kind, **{field: value}))]
        )
        result = self.call(self.set, request).results[0]
        return {"successful": result.successful, "reason": result.reason}

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(self.node, timeout_sec=0.05)


def last_status(diagnostics: list) -> tuple[int, str]:
    status = diagnostics[-1].status[0]
    return int.from_bytes(status.level, "little"), status.message


def image_message(stamp_s: int) -> Image:
    image = Image(height=240, width=320, encoding="bgr8", step=960, data=np.zeros(240 * 960, np.uint8).tobytes())
    image.header.stamp.sec, image.header.frame_id = stamp_s, "recovery_camera"
    return image


def spin(executor) -> None:
    try:
        executor.spin()
    except ExternalShutdownException:
        pass


def main() -> None:
    rclpy.init()
    FailingOnce()
    node = pmce_node.PmceNode(parameter_overrides=[NodeParameter(k, value=v) for k, v in OVERRIDES.items()])
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=spin, args=(executor,), daemon=True)
    spinner.start()
    client = Client()
    report = {}
    client.spin_for(1.0)
    report["unconfigured_diagnostics"] = last_status(client.diagnostics)
    report["steps"] = [
        client.transition(Transition.TRANSITION_CONFIGURE),
        client.transition(Transition.TRANSITION_ACTIVATE),
    ]
    report["after_failure"] = {
        "worker_running": node.worker.running,
        "pipeline": node.pipeline is not None,
        "publishers": len(node.outputs),  # every publisher belongs to an output
        "subscriptions": len(node.subscriptions_),
    }
    report["steps"] += [
        client.transition(Transition.TRANSITION_CONFIGURE),
        client.transition(Transition.TRANSITION_ACTIVATE),
    ]
    report["parameters"] = {
        "image_size": client.set_parameter("image_size", 320),
        "markers_rate_hz": client.set_parameter("markers_rate_hz", 2.5),
        "diagnostics_period_s": client.set_parameter("diagnostics_period_s", 0.5),
    }
    report["applied"] = {name: node.values[name] for name in ("image_size", "markers_rate_hz", "diagnostics_period_s")}
    info = CameraInfo(width=320, height=240, k=[300.0, 0, 160, 0, 300.0, 120, 0, 0, 1])
    info.header.frame_id = "recovery_camera"
    hanging, entered = threading.Event(), threading.Event()

    def blocking_process(*args, **kwargs):
        entered.set()
        hanging.wait(60)
        raise RuntimeError("released")

    node.pipeline.process = blocking_process
    client.infos.publish(info)
    client.images.publish(image_message(1))
    deadline = time.monotonic() + 20
    while not entered.is_set() and time.monotonic() < deadline:
        client.spin_for(0.1)
    report["frame_entered"] = entered.is_set()
    report["camera_infos_before"] = len(node.camera_infos)
    report["deactivate"] = client.transition(Transition.TRANSITION_DEACTIVATE)
    report["camera_infos_after"] = len(node.camera_infos)
    client.spin_for(1.0)
    report["inactive_diagnostics"] = last_status(client.diagnostics)
    hanging.set()  # the abandoned frame now ends (its error is counted); let it finish before the process does
    deadline = time.monotonic() + 10
    while not node.stats.problems["internal error"] and time.monotonic() < deadline:
        time.sleep(0.1)
    report["abandoned"] = node.stats.problems["frame abandoned (overstayed stop_timeout_s)"]
    report["shutdown"] = client.transition(Transition.TRANSITION_INACTIVE_SHUTDOWN)
    print(json.dumps(report), flush=True)
    rclpy.try_shutdown()  # wakes the executor thread, which then returns
    spinner.join(10.0)


if __name__ == "__main__":
    main()
