"""OutputRecorder: a node that writes every output topic of pmce_node to an MCAP bag (rosbags, no rosbag2
install needed) and renders the annotated frames as they come (pmce_ros.output).

Outputs are recorded as received (raw CDR, no deserialization). To render, it keeps the images it saw
(JPEG-compressed, the last BUFFER_S seconds) and draws each HumanArray onto the image with its stamp. A HumanArray
can come before its image (the recorder's copy of a large image may need a retransmission the node's did not) or
before the latched topology: it waits, and the arrays are drawn in the order they came.
"""

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import MarkerArray

from pmce_ros.assets import share_dir
from pmce_ros.msg import HumanArray, HumanMesh, MeshTopology, Skeleton3D
from pmce_ros.output.quality import BodyRecall
from pmce_ros.output.run_outputs import RenderedRun
from pmce_ros.output.sinks import DescribedFrame
from pmce_ros.perception.image_encodings import image_to_bgr
from pmce_ros.perception.placement import Intrinsics
from pmce_ros.ros.messages import (
    faces_from_msg,
    intrinsics_from_camera_info,
    pending_from_msg,
    person_from_msg,
    stamp_ns,
)

BUFFER_S = 30.0
RECORDED = {
    "humans": HumanArray,
    "skeletons": Skeleton3D,
    "meshes": HumanMesh,
    "mesh_topology": MeshTopology,
    "markers": MarkerArray,
    "/diagnostics": DiagnosticArray,
}
PMCE_MESSAGES = ("HumanMesh", "MeshTopology", "Skeleton3D", "Human", "HumanArray")


def _ros_type(kind) -> str:
    return kind.__module__.split(".")[0] + "/msg/" + kind.__name__


def pmce_typestore():
    """Jazzy's types plus pmce_ros's, read from the installed .msg files."""
    typestore = get_typestore(Stores.ROS2_JAZZY)
    types = {}
    for name in PMCE_MESSAGES:
        text = (share_dir() / "msg" / f"{name}.msg").read_text()
        types.update(get_types_from_msg(text, f"pmce_ros/msg/{name}"))
    typestore.register(types)
    return typestore


@dataclass
class RecordStats:
    counts: dict[str, int] = field(default_factory=dict)
    images: list[int] = field(default_factory=list)  # stamps of the images seen, in order
    arrivals: list[tuple[int, int]] = field(default_factory=list)  # (arrival ns, described stamp ns)
    people: set[int] = field(default_factory=set)
    weights: str = ""
    stand_in: bool = False
    last_diagnostics: dict[str, str] = field(default_factory=dict)
    recall: BodyRecall = field(default_factory=BodyRecall)


class OutputRecorder(Node):
    def __init__(self, bag: Path, renders: Path, fps: float):
        super().__init__("pmce_recorder")
        self.typestore = pmce_typestore()
        self.writer = Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP)
        self.writer.open()
        self.renders, self.fps = renders, fps
        self.run: RenderedRun | None = None
        self.faces: np.ndarray | None = None
        self.images: dict[int, bytes] = {}
        self.undrawn: deque[HumanArray] = deque()  # arrays waiting for their image or for the topology
        self.camera_infos: dict[str, Intrinsics] = {}
        self.stats = RecordStats()
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        latched = QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        self.connections = {}
        for topic, kind in RECORDED.items():
            qos = latched if topic == "mesh_topology" else reliable
            name = self.resolve_topic_name(topic)
            self.connections[topic] = self.writer.add_connection(name, _ros_type(kind), typestore=self.typestore)
            self.create_subscription(kind, topic, self._recorder(topic), qos, raw=True)
        self.create_subscription(Image, "image", self._on_image, reliable)
        self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, reliable)

    def _recorder(self, topic: str):
        def record(raw: bytes) -> None:
            self.writer.write(self.connections[topic], time.time_ns(), raw)
            self.stats.counts[topic] = self.stats.counts.get(topic, 0) + 1
            if topic == "humans":
                self._on_humans(deserialize_message(raw, HumanArray))
            elif topic == "mesh_topology":
                self.faces = faces_from_msg(deserialize_message(raw, MeshTopology)).astype(np.int64)
                self._draw_ready()
            elif topic == "/diagnostics":
                for status in deserialize_message(raw, DiagnosticArray).status:
                    if status.name.startswith("pmce_ros"):
                        self.stats.last_diagnostics = {kv.key: kv.value for kv in status.values}

        return record

    def _on_image(self, msg: Image) -> None:
        stamp = stamp_ns(msg.header)
        self.stats.images.append(stamp)
        image = image_to_bgr(msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian, msg.data)
        self.images[stamp] = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
        for old in [s for s in self.images if s < stamp - BUFFER_S * 1e9]:
            del self.images[old]
        self._draw_ready()

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.camera_infos[msg.header.frame_id] = intrinsics_from_camera_info(msg)

    def _on_humans(self, msg: HumanArray) -> None:
        described = stamp_ns(msg.header)
        self.stats.arrivals.append((time.time_ns(), described))
        self.stats.weights, self.stats.stand_in = msg.weights, msg.stand_in
        valid = [h for h in msg.humans if h.valid]
        self.stats.people.update(h.track_id for h in valid)
        self.stats.recall.add(len(valid), (h.status for h in msg.humans if not h.valid))
        self.undrawn.append(msg)
        self._draw_ready()

    def _draw_ready(self) -> None:
        latest_image = self.stats.images[-1] if self.stats.images else -1
        while self.undrawn and self.faces is not None:
            stamp = stamp_ns(self.undrawn[0].header)
            if stamp in self.images:
                self._draw(self.undrawn.popleft())
            elif stamp < latest_image:  # reliable delivery is in order: a newer image came, so this one never will
                self.undrawn.popleft()
            else:
                return

    def _draw(self, msg: HumanArray) -> None:
        described = stamp_ns(msg.header)
        valid = [h for h in msg.humans if h.valid]
        image = cv2.imdecode(np.frombuffer(self.images[described], np.uint8), cv2.IMREAD_COLOR)
        height, width = image.shape[:2]
        camera = self.camera_infos.get(msg.header.frame_id)
        if camera is None or not camera.valid():
            camera = Intrinsics.fallback(width, height)
        if self.run is None:
            self.run = RenderedRun(self.renders, self.faces, msg.weights, msg.stand_in, self.fps)
        frame = self.stats.images.index(described) if described in self.stats.images else -1
        people = [person_from_msg(h, described * 1e-9, (width, height)) for h in valid]
        pending = [pending_from_msg(h) for h in msg.humans if not h.valid]
        self.run.add(
            DescribedFrame(
                index=frame, stamp=described * 1e-9, image=image, camera=camera, people=people, pending=pending
            )
        )

    def close(self) -> dict[str, Path]:
        """Finishes the bag (with the weights in its metadata) and the renders; returns the render files."""
        self.writer.set_custom_data("pmce_ros.weights", self.stats.weights or "unknown")
        self.writer.set_custom_data("pmce_ros.stand_in", str(self.stats.stand_in))
        self.writer.close()
        return self.run.close() if self.run is not None else {}
