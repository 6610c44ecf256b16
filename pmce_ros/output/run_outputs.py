"""The renders of one run, a frame sink (pmce_ros.output.sinks): an MP4 of the annotated frames, a PNG contact
sheet of a few of them, and OBJ meshes of every person in the frame that shows the most people. Shared by
pmce-process and pmce-demo."""

import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pmce_ros.body.joint_sets import H36M17
from pmce_ros.labels import STAND_IN_MESH_COMMENT
from pmce_ros.output.files import write_obj
from pmce_ros.output.render import DrawnPerson, add_banner, contact_sheet, draw_people, weights_banner
from pmce_ros.output.sinks import DescribedFrame

THUMBNAIL_WIDTH = 480
SHEET_FRAMES = 6


@dataclass
class RunFiles:
    video: Path | None = None
    contact_sheet: Path | None = None
    meshes: list[Path] = field(default_factory=list)


def sheet_frames(with_people: list[bool], count: int = SHEET_FRAMES) -> list[int]:
    """Which frames the contact sheet shows: spread over the run, frames with people first, the others only to
    make up the count."""

    def spread(indices: list[int], k: int) -> list[int]:
        if k <= 0 or not indices:
            return []
        return [indices[i] for i in np.unique(np.linspace(0, len(indices) - 1, k).round().astype(int))]

    shown = spread([i for i, people in enumerate(with_people) if people], count)
    others = [i for i, people in enumerate(with_people) if not people]
    return sorted(shown + spread(others, count - len(shown)))


class RenderedRun:
    def __init__(self, out_dir: Path, faces: np.ndarray, weights: str, stand_in: bool, fps: float):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.faces = faces
        self.weights = weights
        self.stand_in = stand_in
        self.fps = fps
        self.banner = weights_banner(weights, stand_in)
        self.writer = None
        self.canvas: np.ndarray | None = None  # the rendered frame, reused
        self.thumbnails: list[tuple[str, bytes, bool]] = []  # title, JPEG, whether it shows people
        self.best: tuple[int, str, list[DrawnPerson]] | None = None
        self.files = RunFiles()
        self.drawing_s = 0.0  # silhouettes, skeletons, ids and banners
        self.encoding_s = 0.0  # the video writer and contact-sheet thumbnails

    def add(self, described: DescribedFrame) -> None:
        """One described frame with the people estimated in it (possibly none)."""
        frame, stamp, image = described.index, described.stamp, described.image
        people = [DrawnPerson(p.track_id, p.mesh, p.joints_h36m, H36M17.edges, p.box) for p in described.people]
        started = time.perf_counter()
        self.canvas = add_banner(
            image,
            self.banner + [f"frame {frame}, t = {stamp:.2f} s, {len(people)} people"],
            self.stand_in,
            out=self.canvas,
        )
        rendered = self.canvas
        draw_people(rendered[-image.shape[0] :], people, self.faces, described.camera)
        drawn = time.perf_counter()
        self.drawing_s += drawn - started
        if self.writer is None:
            self.files.video = self.out_dir / "overlay.mp4"
            height, width = rendered.shape[:2]
            self.writer = cv2.VideoWriter(
                str(self.files.video), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height)
            )
        self.writer.write(rendered)
        thumbnail = cv2.resize(
            rendered, (THUMBNAIL_WIDTH, int(rendered.shape[0] * THUMBNAIL_WIDTH / rendered.shape[1]))
        )
        title = f"frame {frame}: {described.detected} detected, {len(people)} with a body"
        self.thumbnails.append((title, cv2.imencode(".jpg", thumbnail)[1].tobytes(), bool(people)))
        if people and (self.best is None or len(people) > len(self.best[2])):
            self.best = (frame, f"{stamp:.3f}", people)
        self.encoding_s += time.perf_counter() - drawn

    def close(self) -> dict[str, Path]:
        if self.writer is not None:
            self.writer.release()
        if self.thumbnails:
            chosen = sheet_frames([with_people for _, _, with_people in self.thumbnails])
            images = [cv2.imdecode(np.frombuffer(self.thumbnails[i][1], np.uint8), cv2.IMREAD_COLOR) for i in chosen]
            sheet = add_banner(
                contact_sheet(images, [self.thumbnails[i][0] for i in chosen], width=THUMBNAIL_WIDTH),
                self.banner,
                self.stand_in,
            )
            self.files.contact_sheet = self.out_dir / "contact_sheet.png"
            cv2.imwrite(str(self.files.contact_sheet), sheet)
        if self.best is not None:
            frame, stamp, people = self.best
            folder = self.out_dir / "meshes"
            folder.mkdir(exist_ok=True)
            for person in people:
                comments = [
                    f"pmce_ros mesh of person {person.track_id}, frame {frame} (t = {stamp} s)",
                    "camera optical frame (x right, y down, z forward), metres",
                    f"weights: {self.weights}",
                ]
                if self.stand_in:
                    comments.insert(0, STAND_IN_MESH_COMMENT)
                self.files.meshes.append(
                    write_obj(
                        folder / f"frame{frame:05d}_person{person.track_id}.obj", person.mesh, self.faces, comments
                    )
                )
        written = {"overlay video": self.files.video, "contact sheet": self.files.contact_sheet}
        if self.files.meshes:
            written["meshes"] = self.files.meshes[0].parent
        return {label: path for label, path in written.items() if path is not None}
