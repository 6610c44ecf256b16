"""What an offline run does with each described frame: one interface (`FrameSink`) for every consumer of
results, shared by pmce-process (frames from the pipeline) and pmce-demo's recorder (frames from messages).

A sink is handed every described frame, people or not, in order, and closed once at the end; `close` returns the
files it wrote by label. Sinks here: the results file and quality figures; the renders are
pmce_ros.output.run_outputs.RenderedRun. `SinksThread` runs a list of sinks on a thread of their own.
"""

import json
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from pmce_ros.output.files import ResultsWriter
from pmce_ros.output.quality import QualityMeter
from pmce_ros.perception.placement import Intrinsics
from pmce_ros.pipeline import PendingPerson, PersonEstimate
from pmce_ros.pipeline.results import NOT_SEEN


@dataclass(frozen=True, kw_only=True)
class DescribedFrame:
    index: int  # the frame's position in the source (0-based; -1 when unknown)
    stamp: float  # seconds
    image: np.ndarray  # BGR, as the camera gave it
    camera: Intrinsics  # what the people were placed with
    people: list[PersonEstimate] = field(default_factory=list)
    pending: list[PendingPerson] = field(default_factory=list)  # the other tracked people, with why

    @property
    def detected(self) -> int:
        """People the detector found in this frame: those with a body and those whose window was not ready."""
        return len(self.people) + sum(p.reason != NOT_SEEN for p in self.pending)


class FrameSink(Protocol):
    def add(self, frame: DescribedFrame) -> None: ...

    def close(self) -> dict[str, Path]: ...


class ResultsFile:
    """results.npz (format: pmce_ros.output.files); `metadata` may be completed until close."""

    def __init__(self, path: Path, faces: np.ndarray, metadata: dict):
        self.path, self.faces, self.metadata = Path(path), faces, metadata
        self.writer = ResultsWriter()

    def add(self, frame: DescribedFrame) -> None:
        for person in frame.people:
            self.writer.add(frame.index, person)

    def close(self) -> dict[str, Path]:
        return {"results": self.writer.write(self.path, self.faces, self.metadata)}


class QualityFile:
    """quality.json: the figures of pmce_ros.output.quality, with `labels` (weights, stand-in) beside them."""

    def __init__(self, path: Path, labels: dict):
        self.path, self.labels = Path(path), labels
        self.meter = QualityMeter()
        self.figures: dict = {}

    def add(self, frame: DescribedFrame) -> None:
        for p in frame.people:
            self.meter.add(frame.index, p.track_id, p.joints, p.joints_h36m, p.keypoints, p.box, frame.camera)

    def close(self) -> dict[str, Path]:
        self.figures = {**self.meter.summary(), **self.labels}
        self.path.write_text(json.dumps(self.figures, indent=2))
        return {"quality": self.path}


def close_all(sinks: list[FrameSink]) -> dict[str, Path]:
    files = {}
    for sink in sinks:
        files.update(sink.close())
    return files


class SinksThread:
    """A frame sink that hands every frame to `sinks`, in order, on a thread of its own: drawing and encoding
    (OpenCV, which releases the GIL) overlap the caller's next frames. At most `depth` frames wait. The first
    error in a sink stops the others' work and is raised by the next `add`, by `finish` or by `close`."""

    def __init__(self, sinks: list[FrameSink], depth: int = 4):
        self.sinks = sinks
        self.waiting: queue.Queue = queue.Queue(maxsize=depth)
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, name="frame-sinks", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (frame := self.waiting.get()) is not None:
            if self.error is not None:
                continue  # keep taking frames so that add never blocks for good
            try:
                for sink in self.sinks:
                    sink.add(frame)
            except Exception as error:
                self.error = error

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def add(self, frame: DescribedFrame) -> None:
        self._raise_error()
        self.waiting.put(frame)

    def finish(self) -> None:
        """Returns once every frame handed over has been added to every sink; no frame may come after."""
        if self.thread.is_alive():
            self.waiting.put(None)
            self.thread.join()
        self._raise_error()

    def close(self) -> dict[str, Path]:
        self.finish()
        return close_all(self.sinks)
