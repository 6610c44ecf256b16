"""Frames from a video file, still images or a ROS 2 bag, without ROS: what camera_replay publishes and what
pmce-process reads. Each frame comes as (stamp in seconds, BGR uint8 image).

Bags (a rosbag2 folder, .mcap or .db3) are read with rosbags; the image topic may be sensor_msgs/Image (any
encoding image_encodings supports) or sensor_msgs/CompressedImage (JPEG / PNG). `read_ahead` decodes the next
frames on a thread of its own while the caller works on the current one.
"""

import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from pmce_ros.perception.image_encodings import image_to_bgr

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
Item = TypeVar("Item")


class SourceError(ValueError):
    """A source that cannot be read, with what to do about it."""


def bag_folder(path: Path) -> Path | None:
    """The rosbag2 folder of `path` (the folder itself, or the one holding a .mcap / .db3 file), else None."""
    for candidate in (path, path.parent):
        if candidate.is_dir() and (candidate / "metadata.yaml").is_file():
            return candidate
    return None


def bag_image_topics(bag: Path) -> dict[str, str]:
    from rosbags.highlevel import AnyReader

    with AnyReader([bag]) as reader:
        return {c.topic: c.msgtype for c in reader.connections if c.msgtype in IMAGE_TYPES}


class FrameSource:
    """Iterates (stamp_s, image) over a source; `fps` is the source's frame rate where it has one."""

    def __init__(self, paths: list[str | Path], topic: str | None = None, loop: bool = False):
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise SourceError("no source given")
        missing = [str(p) for p in self.paths if not p.exists()]
        if missing:
            raise SourceError(f"not found: {', '.join(missing)}")
        self.loop = loop
        self.topic = topic
        first = self.paths[0]
        self.bag = bag_folder(first)
        if self.bag is not None:
            self.kind = "bag"
            topics = bag_image_topics(self.bag)
            if not topics:
                raise SourceError(f"{first} holds no sensor_msgs Image or CompressedImage topic")
            if topic is None and len(topics) > 1:
                raise SourceError(f"{first} holds several image topics, choose one: {', '.join(sorted(topics))}")
            self.topic = topic or next(iter(topics))
            if self.topic not in topics:
                raise SourceError(
                    f"{first} has no image topic {self.topic}; its image topics: {', '.join(sorted(topics)) or 'none'}"
                )
            self.fps = 0.0
        elif first.suffix in (".mcap", ".db3"):
            raise SourceError(f"{first} is not inside a rosbag2 folder (one with metadata.yaml): pass the folder")
        elif first.suffix.lower() in IMAGE_SUFFIXES:
            self.kind, self.fps = "images", 10.0
        else:
            capture = cv2.VideoCapture(str(first))
            if not capture.isOpened() or not capture.read()[0]:
                raise SourceError(f"cannot read {first} as a video (is it a video file OpenCV can decode?)")
            self.kind, self.fps = "video", capture.get(cv2.CAP_PROP_FPS) or 10.0
            self.frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            capture.release()

    def __len__(self) -> int:
        if self.kind == "video":
            return self.frame_count
        if self.kind == "images":
            return len(self.paths)
        from rosbags.highlevel import AnyReader

        with AnyReader([self.bag]) as reader:
            return sum(c.msgcount for c in reader.connections if c.topic == self.topic)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        while True:
            yield from {"video": self._video, "images": self._images, "bag": self._bag}[self.kind]()
            if not self.loop:
                return

    def _video(self):
        capture = cv2.VideoCapture(str(self.paths[0]))
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            yield index / self.fps, frame
            index += 1
        capture.release()

    def _images(self):
        for index, path in enumerate(self.paths):
            frame = cv2.imread(str(path))
            if frame is None:
                raise SourceError(f"cannot read image {path}")
            yield index / self.fps, frame

    def _bag(self):
        from rosbags.highlevel import AnyReader

        with AnyReader([self.bag]) as reader:
            connections = [c for c in reader.connections if c.topic == self.topic]
            for connection, _, raw in reader.messages(connections=connections):
                msg = reader.deserialize(raw, connection.msgtype)
                stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
                if connection.msgtype.endswith("CompressedImage"):
                    frame = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_COLOR)
                    if frame is None:
                        continue
                else:
                    frame = image_to_bgr(
                        msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data
                    )
                yield stamp, frame


def read_ahead(items: Iterable[Item], depth: int = 4) -> Iterator[Item]:
    """`items` in order, with up to `depth` of them read in advance by a thread: OpenCV decodes without holding the
    GIL, so decoding the next frame overlaps the caller's work on this one. An error while reading is raised here,
    after the items read before it; stopping early (break, close) stops and joins the reader."""
    iterator = iter(items)
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def offer(entry) -> bool:
        while not stopped.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def read() -> None:
        try:
            for item in iterator:
                if not offer((item, None)):
                    return
            offer((ready, None))  # the queue itself marks the end: no item can be it
        except Exception as error:
            offer((None, error))
        finally:
            getattr(iterator, "close", lambda: None)()

    reader = threading.Thread(target=read, name="read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is ready:
                return
            yield item
    finally:
        stopped.set()
        reader.join()
