"""The live 3D view: the camera image and every estimated person (shaded mesh, skeleton, id) streamed to Rerun's
web viewer, which this process serves itself (no internet, no install beyond the rerun-sdk wheel), and saved as
a recording (.rrd) that `rerun <file>` or the same web viewer opens later.

Why Rerun: its wheel carries the web viewer, so a browser on this machine (or on the robot's network) shows the
scene with nothing else installed; Foxglove's SDK serves data too, but its viewer is a hosted web app or a
desktop install, neither of which exists offline.

Time: everything is logged on one timeline at the stamp of the camera frame it belongs to, so the image and the
people describing it line up even when the people arrive later (centered mode describes an earlier frame).
A frame sink (pmce_ros.output.sinks) for pmce-process --view; pmce_node's `live_view` output calls the same
methods.
"""

import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import rerun as rr
import rerun.blueprint as rrb

from pmce_ros.body.joint_sets import H36M17
from pmce_ros.labels import STAND_IN_SUFFIX
from pmce_ros.output.render import person_color
from pmce_ros.output.sinks import DescribedFrame
from pmce_ros.perception.placement import Intrinsics
from pmce_ros.pipeline import PersonEstimate

APPLICATION_ID = "pmce_ros"
TIMELINE = "stamp"
CAMERA = "camera"
IMAGE_WIDTH = 960  # the streamed image's width at most: enough to see people, light on the wire
JPEG_QUALITY = 80
SKELETON_RADIUS_M = 0.015
IMAGE_PLANE_M = 0.5  # the camera's frustum in 3D: small, so that it hides no one


def layout() -> rrb.Blueprint:
    """The scene in 3D (the viewer frames it) beside the camera image with the people projected into it; the
    viewer's side panels folded away."""
    return rrb.Blueprint(
        rrb.Horizontal(
            rrb.Spatial3DView(origin="world", name="people in 3D (camera frame)"),
            rrb.Spatial2DView(origin=f"world/{CAMERA}", contents=["$origin/**", "/world/people/**"], name="camera"),
        ),
        collapse_panels=True,
    )


@dataclass(frozen=True)
class ViewAddress:
    """Where the viewer is served: the web page on `port`, the data stream (gRPC) on the next one."""

    host: str = "127.0.0.1"
    port: int = 9090

    @property
    def data_port(self) -> int:
        return self.port + 1

    @property
    def data_uri(self) -> str:
        return f"rerun+http://{self.host}:{self.data_port}/proxy"

    @property
    def url(self) -> str:
        """What a browser opens: the served viewer, told where the data is."""
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0") else self.host
        data = f"rerun%2Bhttp%3A%2F%2F{host}%3A{self.data_port}%2Fproxy"
        return f"http://{host}:{self.port}/?url={data}"


_served_web_ports: set[int] = set()  # the web viewer's file server lives as long as the process


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted, unit length: what the viewer shades the mesh by."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    corner_vertices = faces.reshape(-1)  # each face's normal goes to its three corners
    normals = np.stack(
        [np.bincount(corner_vertices, np.repeat(face_normals[:, axis], 3), len(vertices)) for axis in range(3)], axis=1
    )
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


class LiveView:
    """One Rerun recording: served live when `address` is given, written to `recording` when given (either or
    both). `epoch_stamps`: stamps are wall-clock seconds (ROS), else seconds from the start of a video."""

    def __init__(
        self,
        faces: np.ndarray,
        stand_in: bool,
        address: ViewAddress | None = None,
        recording: Path | None = None,
        epoch_stamps: bool = False,
    ):
        if address is None and recording is None:
            raise ValueError("a live view needs an address to serve on, a recording file, or both")
        self.faces = np.asarray(faces)
        self.suffix = STAND_IN_SUFFIX if stand_in else ""
        self.address, self.recording, self.epoch_stamps = address, recording, epoch_stamps
        self.shown: set[int] = set()  # tracks with people drawn now
        self.meshed: set[int] = set()  # tracks whose faces and colour were sent
        # One stream per sink, the same recording in both: the file can be finished while the server keeps
        # serving (closing a stream closes all of its sinks).
        recording_id = str(uuid.uuid4())
        self.served = self.saved = None
        if address is not None:
            self.served = rr.RecordingStream(APPLICATION_ID, recording_id=recording_id)
            self.served.set_sinks(
                rr.GrpcServerSink(bind_ip=address.host, port=address.data_port), default_blueprint=layout()
            )
            if address.port not in _served_web_ports:
                rr.serve_web_viewer(web_port=address.port, open_browser=False, connect_to=address.data_uri)
                _served_web_ports.add(address.port)
        if recording is not None:
            Path(recording).parent.mkdir(parents=True, exist_ok=True)
            self.saved = rr.RecordingStream(APPLICATION_ID, recording_id=recording_id)
            self.saved.set_sinks(rr.FileSink(str(recording)), default_blueprint=layout())
        self.streams = [stream for stream in (self.served, self.saved) if stream is not None]
        self._log("world", rr.ViewCoordinates.RDF, static=True)  # the camera optical frame

    def _log(self, path: str, entity, static: bool = False) -> None:
        for stream in self.streams:
            stream.log(path, entity, static=static)

    def _at(self, stamp: float) -> None:
        for stream in self.streams:
            if self.epoch_stamps:
                stream.set_time(TIMELINE, timestamp=stamp)
            else:
                stream.set_time(TIMELINE, duration=stamp)

    def show_camera(self, stamp: float, image_bgr: np.ndarray, camera: Intrinsics) -> None:
        """The camera frame at `stamp`, as a JPEG on the camera's image plane."""
        height, width = image_bgr.shape[:2]
        scale = min(1.0, IMAGE_WIDTH / width)
        if scale < 1.0:
            image_bgr = cv2.resize(image_bgr, (round(width * scale), round(height * scale)), cv2.INTER_AREA)
        jpeg = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
        self._at(stamp)
        self._log(
            f"world/{CAMERA}",
            rr.Pinhole(
                focal_length=[camera.fx * scale, camera.fy * scale],
                principal_point=[camera.cx * scale, camera.cy * scale],
                resolution=[image_bgr.shape[1], image_bgr.shape[0]],
                camera_xyz=rr.ViewCoordinates.RDF,
                image_plane_distance=IMAGE_PLANE_M,
            ),
        )
        self._log(f"world/{CAMERA}", rr.EncodedImage(contents=jpeg, media_type="image/jpeg"))

    def show_people(
        self, stamp: float, people: list[PersonEstimate], forecasts: dict[int, np.ndarray] | None = None
    ) -> None:
        """The people estimated for the frame at `stamp`, with their forecast root paths (track id -> (steps, 3),
        camera frame) where given; people shown before and not now are cleared."""
        forecasts = forecasts or {}
        self._at(stamp)
        for person in people:
            color = (255 * person_color(person.track_id)).astype(np.uint8)
            path = f"world/people/{person.track_id}"
            if person.track_id not in self.meshed:  # what never changes is sent once per track
                self._log(
                    f"{path}/mesh", rr.Mesh3D.from_fields(triangle_indices=self.faces, albedo_factor=color), static=True
                )
                self.meshed.add(person.track_id)
            self._log(
                f"{path}/mesh",
                rr.Mesh3D.from_fields(
                    vertex_positions=person.mesh, vertex_normals=vertex_normals(person.mesh, self.faces)
                ),
            )
            bones = person.joints_h36m[np.array(H36M17.edges)]
            self._log(
                f"{path}/skeleton",
                rr.LineStrips3D(bones, radii=SKELETON_RADIUS_M, colors=255 - color[:3] // 2),
            )
            head_top = person.joints_h36m[np.argmin(person.joints_h36m[:, 1])] - [0.0, 0.15, 0.0]
            self._log(
                f"{path}/id",
                rr.Points3D([head_top], radii=0.0, labels=[f"id {person.track_id}{self.suffix}"], colors=color),
            )
            if person.track_id in forecasts:
                path_ahead = np.concatenate([person.translation[None], forecasts[person.track_id]])
                self._log(f"{path}/forecast", rr.LineStrips3D([path_ahead], radii=SKELETON_RADIUS_M, colors=color))
            else:
                self._log(f"{path}/forecast", rr.Clear(recursive=False))
        current = {p.track_id for p in people}
        self.shown -= current
        self.forget_people()
        self.shown = current

    def forget_people(self) -> None:
        """Clears every person shown (their tracks are gone), from the last stamp on."""
        for gone in sorted(self.shown):
            self._log(f"world/people/{gone}", rr.Clear(recursive=True))
        self.shown.clear()

    def add(self, frame: DescribedFrame) -> None:
        self.show_camera(frame.stamp, frame.image, frame.camera)
        self.show_people(frame.stamp, frame.people)

    def close(self) -> dict[str, Path]:
        """Finishes the recording file; the view stays served until `stop` (or the process's exit)."""
        if self.saved is None:
            return {}
        self.saved.flush()
        self.saved.disconnect()
        self.streams = [stream for stream in self.streams if stream is not self.saved]
        return {"live view recording": Path(self.recording)}

    def stop(self) -> None:
        """Finishes the recording and closes the data server (viewers keep what they received)."""
        self.close()
        if self.served is not None:
            self.served.flush()
            self.served.disconnect()
        self.streams = []
