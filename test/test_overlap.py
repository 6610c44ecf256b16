"""read_ahead and SinksThread, the two threads pmce-process overlaps with its pipeline: order, errors, stopping."""

import threading
import time
from pathlib import Path

import pytest

from pmce_ros.output.sinks import SinksThread
from pmce_ros.sources import SourceError, read_ahead


def test_read_ahead_gives_every_item_in_order_to_a_slow_reader():
    seen = []
    for item in read_ahead(range(40), depth=2):
        seen.append(item)
        if item % 10 == 0:
            time.sleep(0.01)  # lets the reader fill the queue and wait on it
    assert seen == list(range(40))


def test_read_ahead_raises_a_reading_error_after_the_items_before_it():
    def frames():
        yield from range(5)
        raise SourceError("cannot read image broken.png")

    seen = []
    with pytest.raises(SourceError, match="broken.png"):
        for item in read_ahead(frames()):
            seen.append(item)
    assert seen == list(range(5))


def test_stopping_early_closes_the_source_and_joins_the_reader():
    closed = threading.Event()

    def endless():
        try:
            index = 0
            while True:
                yield index
                index += 1
        finally:
            closed.set()

    items = read_ahead(endless(), depth=3)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    assert closed.is_set()
    assert not any(t.name == "read-ahead" and t.is_alive() for t in threading.enumerate())


class RecordingSink:
    def __init__(self, name: str, fail_at: int | None = None):
        self.name, self.fail_at, self.frames = name, fail_at, []

    def add(self, frame) -> None:
        if frame == self.fail_at:
            raise ValueError(f"{self.name} cannot take frame {frame}")
        time.sleep(0.001)
        self.frames.append(frame)

    def close(self) -> dict[str, Path]:
        return {self.name: Path(f"{self.name}.out")}


def test_sinks_thread_hands_every_frame_in_order_to_every_sink():
    first, second = RecordingSink("results"), RecordingSink("renders")
    sinks = SinksThread([first, second], depth=2)
    for frame in range(30):
        sinks.add(frame)
    sinks.finish()
    assert first.frames == second.frames == list(range(30))
    assert sinks.close() == {"results": Path("results.out"), "renders": Path("renders.out")}


def test_an_error_in_a_sink_reaches_the_caller_and_stops_the_work():
    failing, later = RecordingSink("renders", fail_at=3), RecordingSink("live view")
    sinks = SinksThread([failing, later], depth=2)
    with pytest.raises(ValueError, match="renders cannot take frame 3"):
        for frame in range(50):
            sinks.add(frame)
        sinks.close()
    assert later.frames == [0, 1, 2] and failing.frames == [0, 1, 2]
