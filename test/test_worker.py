"""The node's inference worker and diagnostics, without ROS traffic: a hung frame cannot hold a stop, an abandoned
frame hands nothing on, and the diagnostics level follows the lifecycle."""

import logging
import threading
import time

from pmce_ros.ros.diagnostics import NodeStatistics
from pmce_ros.ros.latest_frame import InferenceWorker, LatestSlot
from pmce_ros.ros.log_bridge import PACKAGE_LOGGER, forward_package_logs


class Recorder:
    def __init__(self, block: threading.Event | None = None):
        self.block = block
        self.entered = threading.Event()
        self.handled, self.errors, self.overstays, self.still_wanted = [], [], [], []
        self.worker = InferenceWorker(LatestSlot(), self.handle, self.errors.append, self.overstays.append)

    def handle(self, item):
        self.entered.set()
        if self.block is not None and item == "hangs":
            self.block.wait(30)
        if item == "raises":
            raise RuntimeError("bad frame")
        self.still_wanted.append((item, self.worker.current()))
        self.handled.append(item)


def wait_until(condition, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_worker_handles_frames_and_survives_errors():
    recorder = Recorder()
    recorder.worker.start()
    for item in ("a", "raises", "b"):
        recorder.worker.slot.put(item)
        assert wait_until(lambda: item in recorder.handled or recorder.errors)
    assert wait_until(lambda: recorder.handled == ["a", "b"])
    assert [str(e) for e in recorder.errors] == ["bad frame"]
    assert recorder.worker.stop(timeout=2.0) and not recorder.worker.running and not recorder.overstays


def test_a_hung_frame_cannot_hold_stop_and_is_abandoned():
    release = threading.Event()
    recorder = Recorder(block=release)
    worker = recorder.worker
    worker.start()
    worker.slot.put("hangs")
    assert recorder.entered.wait(5)
    started = time.monotonic()
    assert not worker.stop(timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert len(recorder.overstays) == 1 and recorder.overstays[0] >= 0.3
    worker.start()  # a new activation works while the old frame still hangs
    worker.slot.put("fresh")
    assert wait_until(lambda: "fresh" in recorder.handled)
    release.set()
    assert wait_until(lambda: "hangs" in recorder.handled)
    assert dict(recorder.still_wanted) == {"fresh": True, "hangs": False}  # the abandoned frame is not wanted
    assert worker.stop(timeout=2.0)


def test_diagnostics_level_follows_the_lifecycle():
    statistics = NodeStatistics()

    def status(*args):
        message = statistics.to_message(None, 0, "weights", *args).status[0]
        return int.from_bytes(message.level, "little"), message.message

    assert status(False, "unconfigured") == (0, "unconfigured: no models loaded, waiting for configure")
    assert status(False, "inactive")[0] == 0 and status(False, "inactive")[1].startswith("inactive")
    assert status(False, "active") == (0, "active")
    assert status(True, "active")[0] == 1
    level, message = status(False, "unconfigured", "configure failed: ValueError: x.pkl: truncated")
    assert level == 2 and "x.pkl" in message
    statistics.problem("bad image")
    assert status(False, "active")[0] == 1
    assert (
        dict((v.key, v.value) for v in statistics.to_message(None, 0, "w", False, "active").status[0].values)[
            "lifecycle state"
        ]
        == "active"
    )


def test_images_lost_in_transport_are_reported(monkeypatch):
    """camera_info at 10 Hz with images at 1 Hz from the same camera: the symptom of large best-effort images
    dropped by too small socket buffers."""
    clock = [100.0]
    monkeypatch.setattr("pmce_ros.ros.diagnostics.time.monotonic", lambda: clock[0])
    statistics = NodeStatistics()
    for tick in range(40):
        clock[0] = 100.0 + tick * 0.1
        statistics.arrival("camera_info", "cam")
        statistics.arrival("camera_info", "healthy")
        statistics.arrival("image", "healthy")
        if tick % 10 == 0:
            statistics.arrival("image", "cam")
    message = statistics.to_message(None, 0, "w", False, "active").status[0]
    assert int.from_bytes(message.level, "little") == 1 and "images lost in transport" in message.message
    assert "'cam': camera_info 10.0 Hz, images 1.0 Hz" in message.message and "healthy" not in message.message


def test_the_packages_log_lines_reach_the_node_log():
    class RosLogger:
        def __init__(self):
            self.lines = []

        def info(self, message):
            self.lines.append(("info", message))

        def warning(self, message):
            self.lines.append(("warning", message))

        def error(self, message):
            self.lines.append(("error", message))

    ros_logger = RosLogger()
    handler = forward_package_logs(ros_logger)
    try:
        logging.getLogger("pmce_ros.pipeline.loading").warning("PMCE runs on torch: %s", "a reason")
        logging.getLogger("pmce_ros.perception").debug("not shown")
        logging.getLogger("pmce_ros").error("broken")
        logging.getLogger("elsewhere").warning("not ours")
    finally:
        logging.getLogger(PACKAGE_LOGGER).removeHandler(handler)
        logging.getLogger(PACKAGE_LOGGER).setLevel(logging.NOTSET)
    assert ros_logger.lines == [("warning", "PMCE runs on torch: a reason"), ("error", "broken")]
