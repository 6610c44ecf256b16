"""`markers` (visualization_msgs/MarkerArray, at most markers_rate_hz): each estimated person's mesh, skeleton
and id for RViz, and where their root will be over the next second (a line, in the frame bodies are placed in),
serialized straight to CDR bytes with numpy; people no longer estimated are deleted.

A mesh as a TRIANGLE_LIST is 13,776 triangles = 41,328 points: as geometry_msgs/Point objects it costs about
200 ms to build; written as one float64 block it costs well under a millisecond. `serialize_marker_array` writes
the visualization_msgs/MarkerArray wire format (CDR, little endian, Jazzy's Marker layout), which
`publisher.publish(bytes)` sends as is; a test deserializes it with rclpy and compares it with the same
markers built as messages.
"""

import struct
import time
from dataclasses import dataclass, field

import numpy as np
from visualization_msgs.msg import MarkerArray

from pmce_ros.body.joint_sets import H36M17
from pmce_ros.labels import STAND_IN_SUFFIX
from pmce_ros.output.render import person_color
from pmce_ros.ros.outputs.base import RELIABLE, NodeOutput, OutputContext, OutputFrame

# visualization_msgs/Marker constants
(
    ARROW,
    CUBE,
    SPHERE,
    CYLINDER,
    LINE_STRIP,
    LINE_LIST,
    CUBE_LIST,
    SPHERE_LIST,
    POINTS,
    TEXT_VIEW_FACING,
    MESH_RESOURCE,
    TRIANGLE_LIST,
) = range(12)
ADD, DELETE, DELETEALL = 0, 2, 3
FORECAST_ID = 3  # after a person's mesh, skeleton and label


@dataclass
class MarkerSpec:
    """The Marker fields pmce_ros sets; every other field keeps its default (empty / zero)."""

    ns: str
    id: int
    type: int = TRIANGLE_LIST
    action: int = ADD
    frame_id: str = ""
    stamp: tuple[int, int] = (0, 0)  # (sec, nanosec)
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    color: np.ndarray = field(default_factory=lambda: np.ones(4))
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    text: str = ""


class _CdrWriter:
    """Little-endian CDR with alignment counted from the start of the payload (after the 4-byte header)."""

    def __init__(self):
        self.parts = [b"\x00\x01\x00\x00"]
        self.size = 0

    def _put(self, data: bytes, alignment: int) -> None:
        padding = -self.size % alignment
        if padding:
            self.parts.append(bytes(padding))
        self.parts.append(data)
        self.size += padding + len(data)

    def u32(self, value: int) -> None:
        self._put(struct.pack("<I", value), 4)

    def i32(self, value: int) -> None:
        self._put(struct.pack("<i", value), 4)

    def f64(self, *values: float) -> None:
        self._put(struct.pack(f"<{len(values)}d", *values), 8)

    def f32(self, *values: float) -> None:
        self._put(struct.pack(f"<{len(values)}f", *values), 4)

    def boolean(self, value: bool) -> None:
        self._put(bytes([bool(value)]), 1)

    def string(self, value: str) -> None:
        encoded = value.encode() + b"\x00"
        self.u32(len(encoded))
        self._put(encoded, 1)

    def points(self, points: np.ndarray) -> None:
        self.u32(len(points))
        if len(points):
            self._put(np.ascontiguousarray(points, dtype="<f8").tobytes(), 8)

    def empty_sequence(self) -> None:
        self.u32(0)

    def bytes(self) -> bytes:
        return b"".join(self.parts)


def _write_marker(out: _CdrWriter, marker: MarkerSpec) -> None:
    out.i32(marker.stamp[0])
    out.u32(marker.stamp[1])
    out.string(marker.frame_id)
    out.string(marker.ns)
    out.i32(marker.id)
    out.i32(marker.type)
    out.i32(marker.action)
    out.f64(*marker.position, 0.0, 0.0, 0.0, 1.0)  # pose: position, identity orientation
    out.f64(*marker.scale)
    out.f32(*(float(c) for c in marker.color))
    out.i32(0)  # lifetime: forever (replaced or deleted explicitly)
    out.u32(0)
    out.boolean(False)  # frame_locked
    out.points(marker.points)
    out.empty_sequence()  # colors
    out.string("")  # texture_resource
    out.i32(0)  # texture.header.stamp
    out.u32(0)
    out.string("")  # texture.header.frame_id
    out.string("")  # texture.format
    out.empty_sequence()  # texture.data
    out.empty_sequence()  # uv_coordinates
    out.string(marker.text)
    out.string("")  # mesh_resource
    out.string("")  # mesh_file.filename
    out.empty_sequence()  # mesh_file.data
    out.boolean(False)  # mesh_use_embedded_materials


def serialize_marker_array(markers: list[MarkerSpec]) -> bytes:
    out = _CdrWriter()
    out.u32(len(markers))
    for marker in markers:
        _write_marker(out, marker)
    return out.bytes()


def person_markers(
    track_id: int,
    stamp: tuple[int, int],
    frame_id: str,
    vertices: np.ndarray,
    faces: np.ndarray,
    joints: np.ndarray,
    edges: list[tuple[int, int]],
    label: str,
) -> list[MarkerSpec]:
    """Mesh (TRIANGLE_LIST), skeleton (LINE_LIST) and label (text above the head) of one person, in namespace
    person_<id>, ids 0, 1, 2."""
    ns, color = f"person_{track_id}", person_color(track_id)
    common = dict(ns=ns, frame_id=frame_id, stamp=stamp)
    head_top = joints[np.argmin(joints[:, 1])]  # optical frame: y points down
    return [
        MarkerSpec(
            id=0, type=TRIANGLE_LIST, color=np.append(color[:3], 0.8), points=vertices[faces].reshape(-1, 3), **common
        ),
        MarkerSpec(
            id=1,
            type=LINE_LIST,
            scale=(0.02, 0.0, 0.0),
            color=np.append(1 - 0.5 * color[:3], 1.0),
            points=joints[np.array(edges).reshape(-1)],
            **common,
        ),
        MarkerSpec(
            id=2,
            type=TEXT_VIEW_FACING,
            scale=(0.0, 0.0, 0.12),
            color=color,
            position=tuple(head_top - [0.0, 0.15, 0.0]),
            text=label,
            **common,
        ),
    ]


def forecast_marker(track_id: int, stamp: tuple[int, int], frame_id: str, roots: np.ndarray) -> MarkerSpec:
    """The root's forecast path (LINE_STRIP), id 3 in the person's namespace."""
    color = person_color(track_id)
    return MarkerSpec(
        ns=f"person_{track_id}",
        id=FORECAST_ID,
        type=LINE_STRIP,
        frame_id=frame_id,
        stamp=stamp,
        scale=(0.03, 0.0, 0.0),
        color=np.append(color[:3], 0.9),
        points=roots,
    )


def delete_person_markers(
    track_id: int, stamp: tuple[int, int], frame_id: str, ids: range = range(FORECAST_ID + 1)
) -> list[MarkerSpec]:
    return [MarkerSpec(ns=f"person_{track_id}", id=i, action=DELETE, frame_id=frame_id, stamp=stamp) for i in ids]


class Markers(NodeOutput):
    topics = {"markers": MarkerArray}

    def __init__(self, context: OutputContext):
        super().__init__(context)
        self.markers = self.publisher(MarkerArray, "markers", RELIABLE)
        self.shown_tracks: set[int] = set()
        self.last_sent = 0.0

    def publish(self, frame: OutputFrame) -> None:
        rate = self.context.values["markers_rate_hz"]  # live: read every frame
        now = time.monotonic()
        if rate <= 0 or now - self.last_sent < 1.0 / rate:
            return
        self.last_sent = now
        header, people = frame.header, frame.result.people
        stamp = (header.stamp.sec, header.stamp.nanosec)
        suffix = STAND_IN_SUFFIX if self.context.pipeline.stand_in else ""
        faces = self.context.pipeline.body.faces
        markers = []
        for person in people:
            label = f"id {person.track_id}{suffix}"
            markers += person_markers(
                person.track_id, stamp, header.frame_id, person.mesh, faces, person.joints_h36m, H36M17.edges, label
            )
            ahead = frame.forecasts.get(person.track_id)
            if ahead is None:
                markers += delete_person_markers(
                    person.track_id, stamp, header.frame_id, range(FORECAST_ID, FORECAST_ID + 1)
                )
            else:
                pelvis = ahead[:, H36M17.index("pelvis")]
                markers.append(forecast_marker(person.track_id, stamp, frame.body_header.frame_id, pelvis))
        current = {p.track_id for p in people}
        for gone in sorted(self.shown_tracks - current):
            markers += delete_person_markers(gone, stamp, header.frame_id)
        self.shown_tracks = current
        if markers:
            self.markers.publish(serialize_marker_array(markers))

    def reset(self) -> None:
        self.shown_tracks.clear()
        self.last_sent = 0.0
